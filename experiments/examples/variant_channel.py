"""Through which channel does a policy lever move the startup count? Re-run a policy page's runs
with every KPI kept.

Why it exists: the policy pages (``experiments/examples/policy_effects.py --out DIR``) keep only
their outcomes per run, so a surprising effect there (docs/calibration.md, "Three defects
mended": the ¥500m adoption programme lowering the 2034 count in the screened design) cannot be
traced from the page. This picks the parameter draws whose paired effect of ``--variant`` on
the startup count at the end (from the page's kept runs, ``DIR/runs``) is the most negative
(or, with ``--largest``, the most positive),
rebuilds each of their runs from the page's manifest and summary (scenario, constants, drawn
parameters, levers, seed), runs the baseline and the variant again, checks that the baseline
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

from ecosystem.run import run_scenario
from ecosystem.scenario import ScenarioError, scenario_from_dict
from ecosystem.scenario.loading import apply_overrides

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


def rebuild(manifest: dict, row: pd.Series, variant: str) -> dict:
    """The scenario document of one run of the page, with ``variant``'s lever values."""
    info = {p["name"]: p for p in manifest["parameter_info"]}
    sets = {
        p["path"]: _plain(row[name], p.get("dtype", "float"))
        for name, p in info.items()
        if p["kind"] != "lever" and name in row and not pd.isna(row[name])
    }
    points = {p["variant"]: p for p in manifest["points"]}
    if variant not in points:
        raise ScenarioError("--variant", variant, f"must be one of {', '.join(points)}")
    for name, value in points[variant].items():
        if name in info and info[name]["kind"] == "lever":
            sets[info[name]["path"]] = value
    return apply_overrides(manifest["scenario"], sets)


def kpi_totals(result, region: str) -> dict[str, float]:
    k = result.kpis[result.kpis["region"] == region].sort_values("month")
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


def pick_runs(summary: pd.DataFrame, counts: pd.Series, baseline: str, variant: str, draws: int,
              largest: bool):  # fmt: skip
    """The page's runs (replicate index) of the ``draws`` draws with the most extreme paired
    effect of ``variant`` on the end count, and each draw's effect."""
    base = summary[summary["variant"] == baseline].set_index("replicate")
    diff = (counts.loc[variant] - counts.loc[baseline]).dropna()
    by_draw = diff.groupby(base.loc[diff.index, "point_draw"]).mean()
    chosen = by_draw.sort_values(ascending=not largest).index[:draws]
    runs = diff.index[base.loc[diff.index, "point_draw"].isin(chosen)]
    return base, list(runs), by_draw.loc[chosen]


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
    per_draw = int(manifest["param_draws"].get("seeds_per_draw", 1) or 1)
    summary = summary.assign(point_draw=summary["replicate"] // per_draw)
    months = int(manifest["horizon_months"])
    try:
        rebuild(manifest, summary.iloc[0], args.variant)  # an unknown variant is refused here
    except ScenarioError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    base, runs, effects = pick_runs(
        summary, counts, manifest["baseline"], args.variant, args.draws, args.largest
    )
    region = args.region
    rows = []
    for rep in runs:
        row = base.loc[rep]
        got = {}
        for arm in (manifest["baseline"], args.variant):
            sc = scenario_from_dict(rebuild(manifest, row, arm))
            got[arm] = kpi_totals(run_scenario(sc, seed=int(row["seed"]), months=months), region)
        same = (
            got[manifest["baseline"]]["startups_alive"] == counts.loc[(manifest["baseline"], rep)]
        )
        d = {c: got[args.variant][c] - got[manifest["baseline"]][c] for c in got[args.variant]}
        rows.append({"draw": int(row["point_draw"]), "run": int(rep), "reproduced": same, **d})
    table = pd.DataFrame(rows).set_index(["draw", "run"])
    print(f"{args.variant} − {manifest['baseline']} in {region}, {months} months; the draws' mean")
    print(
        f"effects on {OUTCOME} on the page: "
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
