"""Stage A's targets at several shares of venture-type founders (``startups.venture_share`` v).

Why it exists: the sources' deals, money and Carta funnel agree at 72–106 venture-track firms a
year in Hangzhou, while every firm short of runway applied for a round until v existed (v = 1:
~190 a year); no prior simulation met Series A, deals and money together
(docs/calibration-method.md, "Why no simulation meets them together"). This script runs the
calibration spec's scenario at each v with everything else as the preset has it, and prints each
target statistic's mean over seeds (seed noise only: no parameter is drawn) beside its band, and
how many of the targets the mean meets; then what became of the firms of the first two years
that raised a seed round and no other (``stopped_at_seed``). It measures whether the type can
reconcile the targets; it sets nothing (the presets keep v = 1; since 6 December 2026 v is a
stage-A parameter, docs/calibration.md "The venture type calibrated").
``--path`` varies another parameter the same way (``--path labour.matching_efficiency --shares
0.2,0.5,0.8``: whether funded firms find the staff to spend their rounds on).

    .venv/bin/python experiments/examples/venture_share.py [--spec hangzhou] [--shares 1,0.5,0.3]
        [--path PATH] [--seeds 4] [--posterior FILE|none] [--set PATH=VALUE ...] [--csv FILE]

``--posterior FILE`` runs every arm at that posterior's medians (then ``--set``), as the other
example scripts do (``experiments.inference.median_run_changes``); the default, ``none``, is the
preset's values.

Seeds are 1..N; the runs are the spec's length (7 years for Hangzhou). The western utilisation
without vouchers (a second run) is left out: v does not act before a firm's first round.
"""

from __future__ import annotations

import argparse
import copy
import sys

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np
import pandas as pd

from ecosystem import economics
from ecosystem.outputs import write_csv
from ecosystem.run import run_scenario
from ecosystem.scenario import apply_overrides, scenario_from_dict
from ecosystem.tables import Stage, Status
from experiments.calibrate import load_spec, resolve_spec_path, run_statistics
from experiments.inference import median_run_changes
from experiments.options import one_line_errors

LEFT_OUT = ("west_utilization_no_vouchers",)
PATH = "startups.venture_share"


def measure(
    spec_name: str,
    shares: list[float],
    seeds: int,
    overrides: list[str] | None = None,
    path: str = PATH,
) -> pd.DataFrame:
    """One row per (value, seed): the spec's statistics of the preset run with ``path`` (default
    v) at that value (with ``overrides``, ``PATH=VALUE`` strings as ``--set`` takes them, in
    every arm). The first column, named by the path's last part, holds the value."""
    spec = load_spec(resolve_spec_path(spec_name))
    names = tuple(n for n in spec.statistics if n not in LEFT_OUT)
    rows = []
    scenarios = []  # every value's scenario before the first run: a bad value fails first
    for v in shares:
        document = apply_overrides(copy.deepcopy(spec.base_document), overrides or [])
        scenarios.append(scenario_from_dict(apply_overrides(document, {path: v})))
    for v, scenario in zip(shares, scenarios, strict=True):
        for seed in range(1, seeds + 1):
            result = run_scenario(scenario, seed=seed, months=spec.meta.months)
            stats = run_statistics(result, scenario, names)
            extra = {**rounds(result), **stopped_at_seed(result), **exits(result)}
            rows.append({label(path): v, "seed": seed, **stats, **extra})
    return pd.DataFrame(rows)


def label(path: str) -> str:
    """The column, and the table's heading, of the varied parameter: its path's last part."""
    return path.rsplit(".", 1)[-1]


def first_city(result) -> tuple[int, str]:
    """(region index, name) of the scenario's first city: the spec's city."""
    regions = list(result.scenario.regions.items())
    return next((i, name) for i, (name, r) in enumerate(regions) if r.kind == "city")


def rounds(result) -> dict[str, float]:
    """Applications of the run's first city that passed the VCs' screen but found the money
    spent (the pool binds) and that the screen turned down, over the whole run."""
    k = result.kpis[result.kpis["region"] == first_city(result)[1]]
    return {c: float(k[c].sum()) for c in ("rounds_passed_unfunded", "rounds_screened_out")}


def exits(result, cohort_months: int = 24, within_months: int = 60) -> dict[str, float]:
    """How the firms founded in the first ``cohort_months`` (first city) that ended within
    ``within_months`` of their founding ended, as shares of the cohort: failed (insolvent: cash
    below zero, or no staff left: founders leave by turnover like anyone, docs/ODD.md 7.1 and 7.8),
    closed by their founders, acquired; and the run's costs left unpaid by failed firms (zero
    means no firm failed for want of cash: every failure was a firm whose staff all left)."""
    s = result.model.startups
    city, name = first_city(result)
    founded = s.view("founded_month")
    cohort = (founded >= 0) & (founded < cohort_months) & (s.view("region") == city)
    ended = cohort & (s.view("exit_month") >= 0)
    ended &= s.view("exit_month") - founded < within_months
    status = s.view("status")
    n = max(int(cohort.sum()), 1)
    out = {f"exit5y_{st.name.lower()}": float((ended & (status == st)).sum()) / n for st in Status}
    del out["exit5y_alive"]
    k = result.kpis[result.kpis["region"] == name]
    out["exit5y_unpaid_costs_yuan_run"] = float(k["unpaid_costs_yuan"].sum())
    return out


def stopped_at_seed(result, cohort_months: int = 24) -> dict[str, float]:
    """The fate at the end of the firms founded in the first ``cohort_months`` (in the first
    city of the scenario) that raised a seed round and no other: how many are alive, failed,
    closed or acquired, and for the live ones the median months since their next-raise month
    came (a firm applies only when it comes and it is short of runway or of growth capital),
    the median of their plan over the staff their cash funds, the share whose revenue pays their
    costs, and their median seed round (¥m)."""
    s = result.model.startups
    city = first_city(result)[0]
    founded = s.view("founded_month")
    rows = np.flatnonzero(
        (founded >= 0)
        & (founded < cohort_months)
        & (s.view("region") == city)
        & (s.view("stage") == Stage.SEED)
    )
    status = s.status[rows]
    out = {f"seed_only_{st.name.lower()}": float((status == st).sum()) for st in Status}
    alive = rows[status == Status.ALIVE]

    def median(x: np.ndarray) -> float:
        return float(np.median(x)) if x.size else np.nan

    out["seed_only_alive_months_past_due"] = median(result.months - s.next_raise_month[alive])
    # Why they do not apply again: the live ones' plan against the staff their cash funds (a
    # round is sought at plan >= (1 + γ) × funded), whether revenue pays their costs, and the
    # size of their seed round.
    state, params = result.model.state, result.model.params
    plan = economics.planned_headcount(state, params, alive)
    funded = np.maximum(economics.desired_headcount(state, params, alive), 1)
    cost = economics.monthly_costs(state, params, alive)
    out["seed_only_alive_plan_over_funded"] = median(plan / funded)
    # ... whether they hold the staff their cash funds (a firm below it did not find the people:
    # its cash is not spent, so its runway stays long) and the runway of those losing money (a
    # round is also sought below ``raise_below_runway_months``).
    out["seed_only_alive_staff_over_funded"] = median(s.headcount[alive] / funded)
    losing = s.revenue[alive] < cost
    runway = s.cash[alive][losing] / (cost[losing] - s.revenue[alive][losing])
    out["seed_only_losing_runway_months"] = median(runway)
    profitable = s.revenue[alive] >= cost
    out["seed_only_alive_profitable_share"] = float(profitable.mean()) if alive.size else np.nan
    out["seed_only_alive_seed_round_myuan"] = median(s.vc_invested[alive]) / 1e6
    return out


def table(df: pd.DataFrame, spec_name: str) -> str:
    spec = load_spec(resolve_spec_path(spec_name))
    bands = {t.name: (t.low, t.high) for t in spec.targets if t.has_target and t.name in df.columns}
    name = df.columns[0]  # the varied parameter (measure's first column)
    means = df.drop(columns="seed").groupby(name, sort=False).mean()
    short = "v" if name == label(PATH) else name
    head = "| statistic | band | " + " | ".join(f"{short} = {v:g}" for v in means.index) + " |"
    lines = [head, "|---|---|" + "---|" * len(means.index)]
    for name, (lo, hi) in bands.items():
        cells = []
        for v in means.index:
            x = means.loc[v, name]
            mark = "" if np.isnan(x) or lo <= x <= hi else " ✗"
            cells.append(f"{x:.4g}{mark}")
        lines.append(f"| {name} | [{lo:g}, {hi:g}] | " + " | ".join(cells) + " |")
    met = [sum(lo <= means.loc[v, n] <= hi for n, (lo, hi) in bands.items()) for v in means.index]
    lines.append(f"| targets met (of {len(bands)}) | | " + " | ".join(map(str, met)) + " |")
    lines += [
        "",
        "Rounds over the run; firms of the first two years that stopped at seed; exits within"
        " five years of the firms of the first two years (shares of them):",
        "",
    ]
    fates = [c for c in means.columns if c.startswith(("rounds_", "seed_only_", "exit5y_"))]
    lines.append("| | " + " | ".join(f"{short} = {v:g}" for v in means.index) + " |")
    lines.append("|---|" + "---|" * len(means.index))
    for c in fates:
        cells = " | ".join(f"{means.loc[v, c]:.4g}" for v in means.index)
        lines.append(f"| {c.removeprefix('seed_only_').replace('_', ' ')} | {cells} |")
    return "\n".join(lines)


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default="hangzhou")
    ap.add_argument("--shares", default="1,0.5,0.3", help="the values of --path to run")
    ap.add_argument("--path", default=PATH, help=f"the parameter to vary (default {PATH})")
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument(
        "--posterior", default="none", help="posterior whose medians set the parameters, or none"
    )
    ap.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")
    ap.add_argument("--csv", help="also write every run's statistics here")
    args = ap.parse_args(argv)
    shares = [float(x) for x in args.shares.split(",")]
    df = measure(args.spec, shares, args.seeds, median_run_changes(args), args.path)
    print(table(df, args.spec))
    if args.csv:
        write_csv(df, args.csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
