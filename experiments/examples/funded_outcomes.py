"""What becomes of the firms that raise venture money, beside those that never do.

Why it exists: docs/design/later-failure.md asks whether a stricter round (a milestone test, a
deadline that binds) would give the model Carta's outcomes for venture-backed firms and the
hazard by age of validation pattern 14. This prints, for each variant (the preset at the
posterior's medians, then each ``--variant``), over seeds 1..N:

- survival of the run's own cohorts at 1, 2 and 5 years (Kaplan–Meier, validation pattern 1);
- the venture funnel as the calibration counts it (venture-track firms founded in the run's
  first two years: the shares that reached seed, Series A and B);
- pattern 14's values: the median seed → A gap, the year of the highest hazard, and the funded /
  unfunded hazard ratios in the five years after the first round and after;
- the first year's deals and money ([S39]'s targets), the shares of that year's deals and money
  in seed and Series A rounds ([S39]: about 70% of China's AI deals in 2024 were early stage),
  and the shares of the first and second years' money raised by the 2025 stock (the rest goes
  to the run's own firms, whose funnel is calibrated),
  and the median round size at seed, Series A and B over the run (millions of yuan);
- validation pattern 15's values: the share of down rounds and the Series A ÷ seed ratios of the
  median pre-money and round (``experiments.validation.valuation_steps``);
- Carta's outcome for venture-backed firms [S37]: of the firms founded in the run's first three
  years that raised a priced round by age 6.5 years, the shares shut and acquired by that age
  (Carta's 2018 cohort on 1 January 2025: 61.9% shut, 5.5% acquired), and the share of the
  cohort that raised such a round;
- the firms founded in the run by the stage they reached and how they ended (first seed).

    .venv/bin/python experiments/examples/funded_outcomes.py [--preset hangzhou] [--seeds 3]
        [--years 10] [--posterior FILE|none] [--set PATH=VALUE ...] [--variant PATH=VALUE ...]

Each ``--variant`` is one more row with that one change on top of the base (``--set``).
"""

from __future__ import annotations

import argparse
import sys

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np
import pandas as pd

from ecosystem.run import run_scenario
from experiments import validation as val
from experiments.inference import median_run_scenarios
from experiments.options import add_median_run_arguments, one_line_errors

#: Carta's cohort is followed from incorporation to 1 January 2025: about 6.5 years [S37].
CARTA_MONTHS, CARTA_COHORT_YEARS = 78, 3


def carta_outcome(firms: pd.DataFrame, rounds: pd.DataFrame) -> dict[str, float]:
    """Of the firms founded in the run's first ``CARTA_COHORT_YEARS`` years, the share that raised
    a priced round by age ``CARTA_MONTHS`` months (``backed``), and of those the shares shut
    (failed or closed) and acquired by that age; written tables (``firms``, ``rounds``)."""
    f = firms[(firms["founded_month"] >= 0) & (firms["founded_month"] < 12 * CARTA_COHORT_YEARS)]
    first = val.first_rounds(rounds, f).min(axis=1).to_numpy()
    backed = np.isfinite(first) & (first - f["founded_month"].to_numpy() <= CARTA_MONTHS)
    b = f[backed]
    age = b["exit_month"].to_numpy(dtype=float) - b["founded_month"].to_numpy(dtype=float)
    status = b["status"].astype(str).to_numpy()
    by_then = age <= CARTA_MONTHS  # NaN (still alive) is False
    nan = float("nan")
    return {
        "backed": float(backed.mean()) if len(f) else nan,
        "shut": float((np.isin(status, val.SHUT) & by_then).mean()) if len(b) else nan,
        "acquired": float(((status == "acquired") & by_then).mean()) if len(b) else nan,
    }


#: The calibration's funnel statistics (experiments.calibrate: venture-track firms founded in
#: the run's first two years, the shares that reached seed, Series A and B).
FUNNEL = {"seed": "venture_reached_seed", "series_a": "venture_reached_a",
          "series_b": "venture_reached_b"}  # fmt: skip


#: The calibration's money statistics ([S39]: deals and money of the run's first year).
MONEY = {"deals_y1": "vc_deals_y1", "money_y1_bn": "vc_money_yuan_y1"}
#: Stages whose median round size is printed (¥m, every round of the run at that stage).
SIZED = ("seed", "series_a", "series_b")


def round_sizes(rounds: pd.DataFrame) -> dict[str, float]:
    """The median size of the run's rounds at each stage of ``SIZED``, millions of yuan (NaN
    where no round of that stage closed): whether rounds grow from stage to stage
    (docs/design/later-failure.md §6.3)."""
    sizes = val.stage_medians(rounds, "amount_yuan", SIZED)
    return {f"{name}_size_m": size / 1e6 for name, size in sizes.items()}


#: Early stage as [S39] counts it: seed (angel) and Series A rounds.
EARLY = ("seed", "series_a")


def early_stage_shares(rounds: pd.DataFrame) -> dict[str, float]:
    """Of the first year's rounds (months 0–11), the shares of deals and of money at an
    ``EARLY`` stage (NaN without rounds): who the city's money goes to."""
    first = rounds[rounds["month"] < 12]
    early = first["stage"].astype(str).isin(EARLY)
    if first.empty:
        return {"early_deals_y1": float("nan"), "early_money_y1": float("nan")}
    money = first["amount_yuan"]
    return {
        "early_deals_y1": float(early.mean()),
        "early_money_y1": float(money[early].sum() / money.sum()),
    }


def stock_money_share(rounds: pd.DataFrame, firms: pd.DataFrame, years: int = 2) -> dict:
    """Of each of the first ``years`` years' VC money (rounds closed in months 12y..12y+11),
    the share raised by the 2025 stock (firms founded before the run, ``founded_month`` < 0;
    NaN for a year without rounds): the city's VC money is one budget, so what the stock's
    follow-on rounds take the run's own cohorts, whose funnel is calibrated, do not get
    (docs/design/later-failure.md §6.7)."""
    stock = rounds["org_id"].map(firms.set_index("org_id")["founded_month"]) < 0
    out = {}
    for y in range(years):
        in_year = (rounds["month"] // 12) == y
        money = rounds["amount_yuan"][in_year]
        total = money.sum()
        out[f"stock_money_y{y + 1}"] = (
            float(money[stock[in_year]].sum() / total) if total > 0 else float("nan")
        )
    return out


def measure(result, t: val.RunTables) -> dict[str, float]:
    """Every figure of one row, for one run (an ``ecosystem.run.RunResult`` and its written
    tables ``t``)."""
    from experiments.calibrate import own_statistics

    f, m = t.firms, t.months
    s = val.km_survival(f, m, [12, 24, 60], cohorts_only=True)
    early, late = val.funded_hazard_ratios(f, t.rounds, m)
    reached = own_statistics(result, {*FUNNEL.values(), *MONEY.values()})
    return {
        "S1": s[12],
        "S2": s[24],
        "S5": s[60],
        **{stage: reached[name] for stage, name in FUNNEL.items()},
        "deals_y1": reached[MONEY["deals_y1"]],
        "money_y1_bn": reached[MONEY["money_y1_bn"]] / 1e9,
        **early_stage_shares(t.rounds),
        **stock_money_share(t.rounds, f),
        **round_sizes(t.rounds),
        **val.valuation_steps(t.rounds),
        "gap_y": val.seed_to_a_years(t.rounds, f),
        "peak_y": val.hazard_peak_age(f, m),
        "hr_5y": early,
        "hr_after": late,
        **{f"carta_{k}": v for k, v in carta_outcome(f, t.rounds).items()},
    }


def fates(firms: pd.DataFrame) -> pd.DataFrame:
    """The firms founded in the run: stage reached × how they ended (counts)."""
    born = firms[firms["founded_month"] >= 0]
    stage = pd.Categorical(born["stage"].astype(str), categories=val.STAGES)
    return pd.crosstab(stage, born["status"].astype(str)).rename_axis(index="stage", columns=None)


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_median_run_arguments(ap, seeds=3, variants=True)
    args = ap.parse_args(argv)
    rows, first_fates = [], None
    for variant, sc in median_run_scenarios(args):  # all loaded before the first run
        runs = []
        for seed in range(1, args.seeds + 1):
            result = run_scenario(sc, seed=seed, months=12 * args.years)
            tables = val.RunTables.from_result(result)
            runs.append(measure(result, tables))
            if first_fates is None:
                first_fates = fates(tables.firms)
        rows.append({"variant": variant, **pd.DataFrame(runs).mean().to_dict()})
    where = "the posterior's medians" if args.posterior != "none" else "the preset's values"
    print(f"{args.preset} at {where}, seeds 1–{args.seeds}, {args.years} years (means over seeds):")
    table = pd.DataFrame(rows).set_index("variant")
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table.round(3).to_string())
        print("\nfirms founded in the run (base, seed 1): stage reached × end")
        print(first_fates.to_string())
    print(
        "\nCarta's 2018 cohort [S37]: 61.9% shut, 5.5% acquired by 1 January 2025; funnel 56.4% "
        "seed, 36.4% A, 14.8% B"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
