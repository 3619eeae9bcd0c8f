"""Through which channel does a policy lever move the startup count? Re-run a policy page's runs
with every KPI kept.

Why it exists: the policy pages (``experiments/examples/policy_effects.py --out DIR``) keep only
their outcomes per run, so a surprising effect there (docs/calibration.md, "Three defects
mended": the ¥500m adoption programme lowering the 2034 count in the screened design) cannot be
traced from the page. This picks the parameter draws whose paired effect of ``--variant`` on
the startup count at the end (from the page's kept runs, ``DIR/runs``) is the most negative
(or, with ``--largest``, the most positive), re-runs the baseline and the variant of each of
their seeds as the sweep ran them (``experiments.tasks.execute_run`` on the page's scenario with
the overrides each run's summary row records), checks that the baseline
reproduces the page's count, and prints the paired differences of the KPIs that carry births,
exits and the labour market, per run and on average.

    .venv/bin/python experiments/examples/variant_channel.py DIR --variant adoption_500m
        [--draws 2] [--largest] [--region hangzhou]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np
import pandas as pd

from experiments.parameters import RunTask
from experiments.tasks import execute_run

OUTCOME = "startups_alive"
#: KPIs summed over the run (flows), the mean over months, or the value in the last month.
SUMS = (
    "startups_founded", "founders_big_firm", "founders_university", "founders_startup",
    "founders_other", "startups_failed", "startups_closed", "startups_acquired", "hires",
    "leavers", "arrivals", "departures",
)  # fmt: skip
MEANS = ("job_seekers",)
ENDS = ("startups_alive", "employment_startups", "wage_yuan")


def _plain(value, dtype: str):
    """A summary cell as the scenario wants it (numpy scalars out)."""
    if dtype == "bool":
        return bool(value)
    if dtype == "int":
        return int(value)
    return float(value)


def overrides(manifest: dict, row: pd.Series) -> dict:
    """A run's overrides as the sweep gave them to its task: every parameter of the design
    (levers and drawn parameters) at the value the run's summary row records."""
    return {
        p["path"]: _plain(row[p["name"]], p.get("dtype", "float"))
        for p in manifest["parameter_info"]
        if p["name"] in row and not pd.isna(row[p["name"]])
    }


def kpi_totals(kpis: pd.DataFrame, region: str) -> dict[str, float]:
    k = kpis[kpis["region"] == region].sort_values("month")
    out = {c: float(k[c].sum()) for c in SUMS}
    out.update({c: float(k[c].mean()) for c in MEANS})
    out.update({c: float(k[c].iloc[-1]) for c in ENDS})
    return out


def end_counts(runs: Path, region: str) -> pd.Series:
    """Each kept run's startup count in ``region`` in its last month (``runs/*.parquet``)."""
    k = pd.read_parquet(runs, columns=["variant", "replicate", "month", "region", OUTCOME])
    k = k[k["region"] == region]
    last = k[k["month"] == k["month"].max()]
    return last.set_index(["variant", "replicate"])[OUTCOME].astype(float)


def pick_runs(counts: pd.Series, baseline: str, variant: str, draws: int, largest: bool, per: int):
    """The page's runs (replicate index) of the ``draws`` draws (``per`` seeds each) with the
    most extreme paired effect of ``variant`` on the end count, and each draw's effect."""
    diff = (counts.loc[variant] - counts.loc[baseline]).dropna()
    by_draw = diff.groupby(diff.index // per).mean()
    chosen = by_draw.sort_values(ascending=not largest).index[:draws]
    return [int(r) for r in diff.index if r // per in chosen], by_draw.loc[chosen]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", type=Path, help="a policy page's --out folder")
    ap.add_argument("--variant", required=True)
    ap.add_argument("--draws", type=int, default=2)
    ap.add_argument("--largest", action="store_true", help="the most positive effects instead")
    ap.add_argument("--region", default="hangzhou", help="the region whose KPIs are compared")
    args = ap.parse_args(argv)
    if args.draws < 1:
        print(f"error: --draws = {args.draws}: must be at least 1", file=sys.stderr)
        return 2
    try:
        manifest = json.loads((args.results / "manifest.json").read_text(encoding="utf-8"))
        summary = pd.read_parquet(args.results / "summary.parquet")
        counts = end_counts(args.results / "runs", args.region)
    except FileNotFoundError as e:
        print(f"error: {args.results}: no policy page results ({e.filename})", file=sys.stderr)
        return 2
    per = int(manifest["param_draws"].get("seeds_per_draw", 1) or 1)
    months = int(manifest["horizon_months"])
    baseline = manifest["baseline"]
    if args.variant not in set(summary["variant"]) - {baseline}:
        allowed = ", ".join(sorted(set(summary["variant"]) - {baseline}))
        print(f"error: --variant = {args.variant!r}: must be one of {allowed}", file=sys.stderr)
        return 2
    runs, effects = pick_runs(counts, baseline, args.variant, args.draws, args.largest, per)
    rows_of = summary.set_index(["variant", "replicate"])
    rows = []
    for rep in runs:
        got = {}
        for arm in (baseline, args.variant):
            row = rows_of.loc[(arm, rep)]
            task = RunTask("", int(row["point"]), rep, arm, int(row["seed"]), {},
                           overrides(manifest, row), months)  # fmt: skip
            _, kpis, _ = execute_run(task, manifest["scenario"], ["*"])
            got[arm] = kpi_totals(kpis, args.region)
        same = got[baseline]["startups_alive"] == counts.loc[(baseline, rep)]
        d = {c: got[args.variant][c] - got[baseline][c] for c in got[args.variant]}
        rows.append({"draw": rep // per, "run": rep, "reproduced": same, **d})
    table = pd.DataFrame(rows).set_index(["draw", "run"])
    print(f"{args.variant} − {baseline} in {args.region}, {months} months; the draws' mean")
    print(
        "effects on the end count on the page (per draw): "
        + ", ".join(f"{d}: {v:+.0f}" for d, v in effects.items())
    )
    print("sums over the run (flows), the monthly mean (job_seekers), the last month (stocks):")
    with pd.option_context("display.width", 250, "display.max_columns", 50):
        print(table.round(1).T.to_string())
        print("\nmean over the runs:")
        print(table.drop(columns="reproduced").mean().round(1).to_string())
    if not table["reproduced"].all():
        print("warning: some baselines do not reproduce the page's count", file=sys.stderr)
    return 0 if np.all(table["reproduced"]) else 1


if __name__ == "__main__":
    sys.exit(main())
