"""Failure hazard by age and survival by cohort at the calibrated posterior: the tables of
``aieco calibrate CITY --check`` (``ecosystem.calibration.survival_report``), pooled over every
posterior draw × seed instead of seeds of the preset's defaults, and each age's Kaplan–Meier
survival also per draw (its seeds pooled), so the spread the posterior leaves is shown beside
the pooled value, and which drawn parameters that spread follows (Spearman over the draws).

    .venv/bin/python experiments/examples/posterior_life_table.py [--preset hangzhou]
        [--posterior preset|NAME|FILE] [--draws 32] [--seeds 2] [--root-seed 0] [--years 10]
        [--workers 2] [--doc docs/calibration.md]

``--doc`` rewrites the part of the file between ``<!-- posterior-life-table -->`` and
``<!-- /posterior-life-table -->`` (atomically), with the command that made it. The tables do not
depend on ``--workers``: counts are summed per draw, and sums of counts do not depend on order.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np
import pandas as pd

from ecosystem.calibration import SURVIVAL_BENCHMARKS, Survival, survival_report
from ecosystem.outputs import write_text
from ecosystem.run import run_scenario
from ecosystem.scenario import ScenarioError, apply_overrides, scenario_from_dict
from experiments.uncertainty import parameter_table, preset_designs

MARK, END = "<!-- posterior-life-table -->", "<!-- /posterior-life-table -->"


def _run(task: tuple) -> tuple[int, Survival]:
    """One draw × seed: the run's survival counts."""
    m, seed, doc = task
    scenario = scenario_from_dict(doc)
    result = run_scenario(scenario, seed=seed)
    survival = Survival.empty(max(scenario.meta.years, 1))
    survival.add(result.firms, result.months, scenario.meta.start_year)
    return m, survival


def measure(preset, posterior, draws, seeds, root_seed, years, workers=2) -> dict[int, Survival]:
    """Each draw's survival counts, its seeds pooled."""
    ((_, doc, design),) = preset_designs(preset, [posterior], draws, seeds, root_seed, years)
    todo = [(m, seed, apply_overrides(doc, design.overrides(m))) for m, _, seed in design.pairs()]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            done = list(pool.map(_run, todo))
    else:
        done = [_run(t) for t in todo]
    per_draw: dict[int, Survival] = {}
    for m, survival in done:
        if m in per_draw:
            per_draw[m].merge(survival)
        else:
            per_draw[m] = survival
    return per_draw


#: Ages (years) whose per-draw survival :func:`drivers` ranks the parameters by.
DRIVER_AGES = (2, 4, 10)


def drivers(per_draw: dict[int, Survival], params: pd.DataFrame, top: int = 6) -> str:
    """The drawn parameters the spread of survival over draws follows: each parameter's
    Spearman correlation over the draws with each draw's Kaplan–Meier survival at the ages of
    ``DRIVER_AGES`` the runs reach, the ``top`` whose largest |ρ| over those ages is largest
    first (a table; empty when fewer than three draws or no such age). ``params``: one row per
    draw, its column ``draw`` and one per parameter (``uncertainty.parameter_table``)."""
    km = {m: s.hazard()["km_survival"].to_numpy() for m, s in per_draw.items()}
    ages = [a for a in DRIVER_AGES if a <= min(len(v) for v in km.values())]
    if len(per_draw) < 3 or not ages:
        return ""
    surv = [f"survival at {a} years" for a in ages]
    df = params.set_index("draw").loc[list(km)].copy()
    for s, a in zip(surv, ages, strict=True):
        df[s] = [km[m][a - 1] for m in km]
    numeric = [
        c for c in df.columns
        if c not in surv and pd.api.types.is_numeric_dtype(df[c]) and df[c].nunique() > 1
    ]  # fmt: skip
    rho = df[numeric + surv].corr(method="spearman").loc[numeric, surv]
    rho = rho.reindex(rho.abs().max(axis=1).sort_values(ascending=False).index)[:top]
    bar = 1.96 / np.sqrt(len(df) - 1)
    head = " | ".join(f"ρ with {s}" for s in surv)
    lines = [
        f"Which drawn parameters the spread over draws follows (Spearman over the {len(df)} "
        f"draws, the {top} with the largest |ρ| at any of these ages; |ρ| above {bar:.2f} is "
        "unlikely without a relation, at about 5%):",
        "",
        f"| parameter | {head} |",
        "|---|" + "---|" * len(ages),
    ]
    for name, row in rho.iterrows():
        lines.append(f"| `{name}` | " + " | ".join(f"{v:+.2f}" for v in row) + " |")
    return "\n".join(lines)


def report(per_draw: dict[int, Survival], runs: int, params: pd.DataFrame | None = None) -> str:
    """The pooled tables of ``survival_report`` and Kaplan–Meier survival by age: pooled, the
    median and the 5–95% range over draws; with ``params`` (a table of the draws' parameters,
    ``experiments.uncertainty.parameter_table``), the drawn parameters that spread follows
    (:func:`drivers`)."""
    pooled = Survival.empty(len(next(iter(per_draw.values())).at_risk) // 12)
    for survival in per_draw.values():
        pooled.merge(survival)
    km = np.array([s.hazard()["km_survival"].to_numpy() for s in per_draw.values()])
    whole = pooled.hazard()["km_survival"].to_numpy()

    def pct(v: float) -> str:
        return f"{v:.1%}" if np.isfinite(v) else "–"

    lines = [
        survival_report(pooled, runs),
        "",
        f"Kaplan–Meier survival at the end of each age year over the {len(per_draw)} posterior "
        "draws (each draw's seeds pooled; the spread is the posterior's, with a little seed "
        "noise):",
        "",
        "| age year | pooled | median of draws | 5–95% over draws | benchmark |",
        "|---|---|---|---|---|",
    ]
    for y in range(km.shape[1]):
        col = km[:, y][np.isfinite(km[:, y])]
        if col.size == 0:
            continue
        lo, mid, hi = np.quantile(col, [0.05, 0.5, 0.95])
        bench = SURVIVAL_BENCHMARKS.get(y + 1, "")
        lines.append(f"| {y + 1} | {pct(whole[y])} | {pct(mid)} | {pct(lo)}–{pct(hi)} | {bench} |")
    table = drivers(per_draw, params) if params is not None else ""
    return "\n".join(lines + (["", table] if table else []))


def doc_problem(path: Path) -> str | None:
    """Why ``path`` cannot take the tables (one line), or None: it must exist and hold the
    marked block, opening before closing."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        return f"--doc {path}: cannot read it ({e.strerror or e})"
    start, end = text.find(MARK), text.find(END)
    if start < 0 or end < start:
        return f"--doc {path}: no {MARK} ... {END} block to replace"
    return None


def write_doc(path: Path, text: str) -> None:
    """Replace the marked block of ``path`` with ``text`` (atomically; ``doc_problem`` first)."""
    old = path.read_text(encoding="utf-8")
    head, rest = old.split(MARK, 1)
    _, tail = rest.split(END, 1)
    write_text(path, f"{head}{MARK}\n{text}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="hangzhou")
    ap.add_argument("--posterior", default="preset", metavar="preset|NAME|FILE")
    ap.add_argument("--draws", type=int, default=32)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--root-seed", type=int, default=0)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--doc", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.draws < 1:
        ap.error(f"--draws {args.draws}: at least 1 (a life table needs runs)")
    problem = doc_problem(args.doc) if args.doc is not None else None
    if problem:  # before any run
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        per_draw = measure(
            args.preset,
            args.posterior,
            args.draws,
            args.seeds,
            args.root_seed,
            args.years,
            args.workers,
        )
    except ScenarioError as e:  # a bad --posterior or --against: before any run
        print(f"error: {e}", file=sys.stderr)
        return 2
    runs = args.draws * args.seeds
    params = parameter_table(
        preset_designs(
            args.preset, [args.posterior], args.draws, args.seeds, args.root_seed, args.years
        )
    )
    source = (
        "the posterior the preset names"
        if args.posterior == "preset"
        else f"posterior `{args.posterior}`"
    )
    command = "python experiments/examples/posterior_life_table.py " + shlex.join(
        argv if argv is not None else sys.argv[1:]
    )
    text = (
        f"`{args.preset}` at {source}: {args.draws} draws × {args.seeds} "
        f"seeds (root seed {args.root_seed}), {args.years} years; made by `{command}`.\n\n"
        + report(per_draw, runs, params)
    )
    print(text)
    if args.doc is not None:
        write_doc(args.doc, text)
        print(f"\nwritten: {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
