"""A preset's outcomes over every row of its posterior, each row once: the posterior mean without
the noise of sampling rows.

Why it exists: ``aieco run`` and ``aieco compare`` draw ``--param-draws`` rows of the posterior
with replacement (``experiments.draws.draw_table``), so with a skewed outcome a 32- or 64-draw
mean moves by hundreds with the root seed, and two commands at the same posterior disagree by
more than their seeds explain. A rejection-ABC posterior is a finite set of rows; running each
once (× ``--seeds``) gives its mean with seed noise only, and resampling the per-row means says
how far an N-draw design's mean strays from it.

    .venv/bin/python experiments/examples/posterior_all_rows.py [--preset hangzhou]
        [--posterior preset|NAME|FILE] [--seeds 2] [--root-seed 0] [--years 10]
        [--outcome NAME ...] [--first N] [--designs 32,64] [--rows FILE.parquet] [--workers 2]

Rows are weighted by the posterior's ``weight`` column (equal in a rejection-ABC posterior).
Every drawn parameter must come from the posterior (the stage-A spec's, as ``aieco run`` draws
them); one that would come from its prior is refused before any run, since a row fixes no value
for it. The numbers do not depend on ``--workers``: row r, seed k runs seed
``replicate_seeds(root_seed, rows × seeds)[r · seeds + k]``.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np
import pandas as pd

from ecosystem import outcomes
from ecosystem.outputs import write_parquet
from ecosystem.run import run_scenario
from ecosystem.scenario import ScenarioError, apply_overrides, scenario_from_dict
from experiments.draws import _value
from experiments.parameters import replicate_seeds
from experiments.uncertainty import preset_designs

OUTCOMES = ("startups_alive_y5", "startups_alive_end")
#: the resampling behind "an N-draw design's mean" (fixed: the table is the same every time)
RESAMPLES, RESAMPLE_SEED = 4000, 0


def plan(preset: str, posterior: str, seeds: int, root_seed: int, years: int, first=None):
    """(scenario document, [(row, k, seed, overrides)], row weights): every posterior row × seed.
    ScenarioError when a drawn parameter is not in the posterior, or there is no posterior."""
    ((_, doc, design),) = preset_designs(preset, [posterior], 1, 1, root_seed, years)
    table = design._posterior_table
    if table is None:
        raise ScenarioError("--posterior", posterior, "gives no posterior rows (the priors)")
    missing = [p.name for p in design.priors if p.name not in set(design.posterior_names)]
    if missing:
        raise ScenarioError(
            "--posterior",
            posterior,
            "lacks drawn parameters a row must fix: " + ", ".join(missing[:5]),
        )
    n = len(table) if first is None else min(int(first), len(table))
    seed_of = replicate_seeds(root_seed, n * seeds)
    tasks = []
    for r in range(n):
        row = {p.path: _value(p, float(table[p.name].iloc[r])) for p in design.priors}
        tasks += [(r, k, seed_of[r * seeds + k], row) for k in range(seeds)]
    return doc, tasks, table["weight"].to_numpy(dtype=float)[:n]


def _run(task: tuple, doc: dict, which: tuple[str, ...]) -> dict:
    r, k, seed, row = task
    result = run_scenario(scenario_from_dict(apply_overrides(doc, row)), seed=seed)
    values = outcomes.compute(outcomes.RunData.from_result(result), which)
    return {"row": r, "k": k, "seed": seed, **values}


def measure(preset, posterior, seeds, root_seed, years, which=OUTCOMES, first=None, workers=2):
    """One row per (posterior row, seed) with the outcomes ``which``, and the rows' weights."""
    doc, tasks, weight = plan(preset, posterior, seeds, root_seed, years, first)
    run = partial(_run, doc=doc, which=tuple(which))
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            rows = list(pool.map(run, tasks))
    else:
        rows = [run(t) for t in tasks]
    return pd.DataFrame(rows), weight


def summary(df: pd.DataFrame, weight: np.ndarray, designs=(32, 64)) -> pd.DataFrame:
    """Per outcome: the weighted mean over rows (each row's seeds averaged), its standard error
    from seed noise alone, the per-row means' 5–95% range and maximum, and the 5–95% range of
    the mean an N-draw design (rows drawn by weight with replacement, as ``aieco run`` draws
    them) would report, from the per-row means."""
    rng = np.random.default_rng(RESAMPLE_SEED)
    w = weight / weight.sum()
    out = []
    for name in [c for c in df.columns if c not in ("row", "k", "seed")]:
        per = df.groupby("row")[name].mean().to_numpy()
        n_seeds = df.groupby("row")[name].count().to_numpy()
        within = df.groupby("row")[name].var(ddof=1).to_numpy()  # NaN with one seed
        mean = float(np.dot(w, per))
        se = (
            float(np.sqrt(np.nansum(w**2 * within / n_seeds)))
            if np.isfinite(within).any()
            else np.nan
        )
        rec = {
            "outcome": name,
            "mean": mean,
            "seed_se": se,
            "row_p05": float(np.quantile(per, 0.05)),
            "row_p95": float(np.quantile(per, 0.95)),
            "row_max": float(per.max()),
        }
        for n in designs:
            picks = rng.choice(len(per), size=(RESAMPLES, n), p=w)
            means = per[picks].mean(axis=1)
            rec[f"design_{n}_p05"] = float(np.quantile(means, 0.05))
            rec[f"design_{n}_p95"] = float(np.quantile(means, 0.95))
        out.append(rec)
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="hangzhou")
    ap.add_argument("--posterior", default="preset", metavar="preset|NAME|FILE")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--root-seed", type=int, default=0)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--outcome", action="append", default=None, metavar="NAME")
    ap.add_argument("--first", type=int, default=None, metavar="N", help="only rows 0..N-1")
    ap.add_argument("--designs", default="32,64", help="N-draw designs to compare (commas)")
    ap.add_argument("--rows", default=None, metavar="FILE.parquet", help="also write every run")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    if args.seeds < 1:
        ap.error(f"--seeds {args.seeds}: at least 1")
    if args.first is not None and args.first < 1:
        ap.error(f"--first {args.first}: at least 1")
    if args.rows and not args.rows.endswith(".parquet"):
        ap.error(f"--rows {args.rows}: the file must end in .parquet")
    try:
        designs = tuple(int(x) for x in args.designs.split(",") if x.strip())
    except ValueError:
        ap.error(f"--designs {args.designs}: comma-separated whole numbers, e.g. 32,64")
    if any(n < 1 for n in designs):
        ap.error(f"--designs {args.designs}: each at least 1")
    try:
        asked = dict.fromkeys(args.outcome or OUTCOMES)
        which = tuple(outcomes.get(n).name for n in asked)
    except outcomes.UnknownOutcome as e:
        ap.error(f"--outcome {e.name}: {e.message}")
    try:
        df, weight = measure(
            args.preset, args.posterior, args.seeds, args.root_seed, args.years, which,
            args.first, args.workers,
        )  # fmt: skip
    except ScenarioError as e:  # a bad --preset or --posterior: before any run
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = df["row"].nunique()
    print(
        f"{args.preset}: every posterior row once ({rows} rows) x {args.seeds} seeds, root seed "
        f"{args.root_seed}, {args.years} years; weighted mean over rows, its standard error "
        "from seed noise alone, the rows' own means, and the 5-95% range of an N-draw design's "
        "mean (rows drawn with replacement, as aieco run draws them)"
    )
    table = summary(df, weight, designs)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(3).to_string(index=False))
    if args.rows:
        write_parquet(df, args.rows)
        print(f"written: {args.rows}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
