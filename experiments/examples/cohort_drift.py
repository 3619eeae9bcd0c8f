"""Survival by founding cohort, and what a firm of each cohort faces at the end of its first year.

Why it exists: later cohorts survive less (one-year survival 84.5% for Hangzhou's 2025 cohort,
69.7% for 2033; docs/calibration.md), and the compute-balance change (3d35d39) lowered the
preset's end count. This script shows which exit grows (failed: cash below zero; closed: the
founders shut a firm whose expected revenue R̂* is below the viability line, docs/ODD.md 7.8;
acquired) and the two sides of the closure test for a firm twelve months old: the line (it moves
with the city's wage) and R̂*, with the firm's capability against the incumbents' (firms aged
3 years or more). ``--against PATH=VALUE`` runs the same seeds again with that change and prints
the paired differences of the end count, births by founder origin and exits by kind.

    .venv/bin/python experiments/examples/cohort_drift.py [--preset hangzhou] [--seeds 20]
        [--years 10] [--region CITY] [--set PATH=VALUE ...] [--against PATH=VALUE ...]

Seeds are 1..N. The survival columns are ``aieco calibrate SCENARIO --check``'s cohort table
(``ecosystem.calibration.Survival``, pooled over seeds, the region's firms only): an acquired
firm counts as a survivor, as in the calibration targets.
"""

from __future__ import annotations

import argparse
import sys

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np
import pandas as pd

from ecosystem import economics, load_scenario
from ecosystem.calibration import Survival
from ecosystem.run import run_scenario
from ecosystem.tables import Status
from experiments.policy import mean_ci

#: Age (months completed) at which a firm is probed: the end of its first year.
PROBE_AGE = 12
#: Firms at least this old (months) are the incumbents a probed firm is compared with.
INCUMBENT_AGE = 36
#: What the probe records of each firm it reads.
PROBE_COLUMNS = ["cohort", "wage", "line", "expected", "capability_vs_incumbents"]
#: KPI counters compared by ``paired``: births by founder origin, then exits by kind.
COUNTERS = (
    "startups_founded", "founders_big_firm", "founders_university", "founders_startup",
    "founders_other", "mobile_founders", "startups_failed", "startups_closed", "startups_acquired",
)  # fmt: skip


class Probe:
    """An ``on_month`` hook: each month, the firms of ``region`` that have just completed their
    first year, with the two sides of the closure test (the model's own functions)."""

    def __init__(self, region: int):
        self.region = region
        self.rows: list[pd.DataFrame] = []

    def __call__(self, model) -> None:
        state, params = model.state, model.params
        s = state.startups
        founded = s.view("founded_month")
        alive = (s.view("status") == Status.ALIVE) & (s.view("region") == self.region)
        age = state.month - founded  # months completed (the hook runs after the step)
        firms = np.flatnonzero(alive & (age == PROBE_AGE) & (founded >= 0))
        if firms.size == 0:
            return
        old = alive & (age >= INCUMBENT_AGE)
        incumbent = s.capability[: s.n][old].mean() if old.any() else np.nan
        self.rows.append(
            pd.DataFrame(
                {
                    "cohort": founded[firms] // 12,
                    "wage": state.wage[self.region],
                    "line": economics.viability_line(state, params, firms),
                    "expected": economics.expected_revenue(state, firms),
                    "capability_vs_incumbents": s.capability[firms] / incumbent,
                },
                columns=PROBE_COLUMNS,
            )
        )

    def table(self) -> pd.DataFrame:
        rows = self.rows or [pd.DataFrame(columns=PROBE_COLUMNS)]
        return pd.concat(rows, ignore_index=True)


def cohort_table(
    survival: Survival, probes: pd.DataFrame, start_year: int, months: int
) -> pd.DataFrame:
    """Per founding cohort: the pooled survival shares and first-year exits by kind of
    ``Survival`` (the cohort table of ``aieco calibrate --check``), and the medians of the firms
    probed at the end of their first year (only for cohorts whose December founders were
    probed too, as ``Survival`` leaves a cohort's cell empty until then)."""
    probes = probes[12 * probes["cohort"] + 11 + PROBE_AGE <= months]
    c = pd.DataFrame.from_dict(survival.cohorts, orient="index").sort_index()
    t = pd.DataFrame({"founded": c[0]}, index=c.index.rename("cohort"))
    for k, years in enumerate((1, 2, 5)):
        t[f"survive_{years}y"] = c[2 + 2 * k] / c[1 + 2 * k].where(c[1 + 2 * k] > 0)
    for j, kind in enumerate(("failed", "closed", "acquired")):
        t[f"{kind}_1y"] = c[7 + j] / c[1].where(c[1] > 0)
    key = start_year + probes["cohort"]
    g = probes.groupby(key)
    t["wage"] = g["wage"].mean()
    t["line"] = g["line"].median()
    t["expected_R"] = g["expected"].median()
    t["below_line"] = (probes["expected"] < probes["line"]).groupby(key).mean()
    t["capability_vs_incumbents"] = g["capability_vs_incumbents"].median()
    return t


def simulate(preset: str, overrides: list[str], seeds: list[int], region: str | None):
    """(per seed: the run's end count and counters; the cohort table; the region)."""
    scenario = load_scenario(preset, overrides)
    keys = list(scenario.regions)
    region = region or next(k for k, r in scenario.regions.items() if r.kind == "city")
    if region not in keys:
        raise SystemExit(f"--region {region}: not a region of {preset} (has {', '.join(keys)})")
    start = scenario.meta.start_year
    runs, probes, survival = [], [], Survival.empty(scenario.meta.years)
    for seed in seeds:
        probe = Probe(keys.index(region))
        result = run_scenario(scenario, seed=seed, on_month=probe)
        k = result.kpis[result.kpis["region"] == region]
        row = {"seed": seed, "startups_alive_end": float(k["startups_alive"].iloc[-1])}
        row.update({c: float(k[c].sum()) for c in COUNTERS})
        runs.append(row)
        survival.add(result.firms[result.firms["region"] == region], result.months, start)
        probes.append(probe.table())
    probed = pd.concat(probes, ignore_index=True)
    return runs, cohort_table(survival, probed, start, scenario.months), region


def paired(a: list[dict], b: list[dict]) -> pd.DataFrame:
    """Mean of each headline over the seeds in both arms, and the mean paired difference
    (b − a) with its 95% t interval (``experiments.policy.mean_ci``, as ``aieco policy``)."""
    da, db = pd.DataFrame(a).set_index("seed"), pd.DataFrame(b).set_index("seed")
    diff = db - da
    ci = pd.DataFrame([mean_ci(diff[c]) for c in diff.columns], index=diff.columns)
    return pd.DataFrame(
        {
            "base": da.mean(),
            "against": db.mean(),
            "difference": ci[0],
            "low_95": ci[1],
            "high_95": ci[2],
            "seeds_lower": (diff < 0).sum(),
        }
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="hangzhou")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--region", default=None, help="default: the preset's first city")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")
    ap.add_argument("--against", action="append", default=[], metavar="PATH=VALUE")
    args = ap.parse_args(argv)
    seeds = list(range(1, args.seeds + 1))
    base = [f"meta.years={args.years}", *args.set]
    runs, table, region = simulate(args.preset, base, seeds, args.region)
    pd.set_option("display.width", 200)
    print(f"{args.preset}, {region}, seeds 1-{args.seeds}, {args.years} years {args.set or ''}")
    print("survival by founding cohort (pooled; exits within the first year by kind); a firm")
    print(f"aged {PROBE_AGE} months: the city's wage, the viability line and expected revenue R^*")
    print("(medians, yuan a month), the share below the line, capability / incumbents' mean:")
    shares = [c for c in table.columns if c.endswith(("_1y", "_2y", "_5y")) or c == "below_line"]
    shown = table.copy()
    for c in shares:
        shown[c] = shown[c].map(lambda x: "" if pd.isna(x) else f"{x:.1%}")
    for c in ("wage", "line", "expected_R"):
        shown[c] = shown[c].map(lambda x: "" if pd.isna(x) else f"{x:,.0f}")
    ratio = shown["capability_vs_incumbents"]
    shown["capability_vs_incumbents"] = ratio.map(lambda x: "" if pd.isna(x) else f"{x:.3f}")
    print(shown.to_string())
    if args.against:
        other, _, _ = simulate(args.preset, [*base, *args.against], seeds, region)
        print(f"\npaired over the same seeds: base vs {' '.join(args.against)} (sums over the run)")
        diffs = paired(runs, other)
        print(diffs.to_string(float_format=lambda x: f"{x:,.1f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
