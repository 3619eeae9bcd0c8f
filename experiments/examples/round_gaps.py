"""How long firms take from one round to the next, read from the round log (``rounds.parquet``).

Why it exists: Carta's median gap from seed to Series A was 1.2 years in 2021 and 2.1 years in
2024, and a firm whose seed round lasts longer survives its first years whatever happens
(docs/design/later-failure.md). This prints, for the firms founded during the run, the gaps
between their seed and Series A rounds and between A and B (median and quartiles, pooled over
seeds), and the share of firms seeded in the first five years that raise an A within five years.
By default the parameters are the medians of the preset's calibrated posterior (the pages run
the posterior, where the round's plan is on); ``--posterior none`` runs the preset as it is.

    .venv/bin/python experiments/examples/round_gaps.py [--preset hangzhou] [--seeds 4]
        [--years 10] [--posterior FILE|none] [--set PATH=VALUE ...]

Seeds are 1..N.
"""

from __future__ import annotations

import argparse
import sys

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import pandas as pd

from ecosystem import load_scenario
from ecosystem.run import run_scenario
from experiments.inference import median_run_changes
from experiments.options import add_median_run_arguments, one_line_errors
from experiments.validation import RunTables, first_rounds, round_gaps

#: Firms seeded within this many months of the start are followed for as long for their A.
WINDOW = 60


def gaps(rounds: pd.DataFrame, firms: pd.DataFrame) -> tuple[pd.Series, pd.Series, float]:
    """(seed-to-A gaps, A-to-B gaps, in months, as validation pattern 14a counts them; share of
    firms seeded in the first WINDOW months that raise an A within WINDOW months) for the firms
    founded during the run, from the written tables (``rounds.parquet``, ``firms.parquet``)."""
    seed_a, a_b = round_gaps(rounds, firms)
    first = first_rounds(rounds, firms)
    early = first[first["seed"] <= WINDOW]
    within = (early["series_a"] - early["seed"]) <= WINDOW  # NaN (no A) is False
    return seed_a, a_b, float(within.mean()) if len(early) else float("nan")


def describe(name: str, months: pd.Series) -> str:
    y = months / 12
    return (
        f"{name}: median {y.median():.2f} years, quartiles {y.quantile(0.25):.2f}–"
        f"{y.quantile(0.75):.2f}, {y.size} firms"
    )


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_median_run_arguments(ap, seeds=4)
    args = ap.parse_args(argv)
    changes = median_run_changes(args)
    sc = load_scenario(args.preset, changes)
    sa, ab, share = [], [], []
    for seed in range(1, args.seeds + 1):
        r = run_scenario(sc, seed=seed, months=12 * args.years)
        t = RunTables.from_result(r)
        a, b, s = gaps(t.rounds, t.firms)
        sa.append(a), ab.append(b), share.append(s)
    where = "the posterior's medians" if args.posterior != "none" else "the preset's values"
    print(f"{args.preset} at {where}, seeds 1–{args.seeds}, {args.years} years:")
    print(describe("seed → Series A", pd.concat(sa)))
    print(describe("Series A → B", pd.concat(ab)))
    print(
        f"firms seeded in the first {WINDOW // 12} years that raise an A within {WINDOW // 12} "
        f"years: {', '.join(f'{x:.0%}' for x in share)} (by seed)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
