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

The mean is weighted by the posterior's ``weight`` column (equal in a rejection-ABC posterior;
the rows' 5–95% range is not). Each row's values are what ``aieco run`` gives a draw of that
row (``DrawDesign.every_row``: the stage-A spec's parameters, the cities' own inputs joined,
pooled copies filled); a parameter that would come from its prior is refused before any run,
since a row fixes no value for it. Row r runs the seeds a design gives draw r, so the numbers
do not depend on ``--workers``. The N-draw ranges are of an N-draw × ``--seeds`` design whose
rows are drawn by weight with replacement (a row drawn twice would rerun its seeds; the seeds'
share of the spread is small). It reports the mean over the posterior's rows: as an estimate of
the posterior those rows still carry their own sampling error.
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
from experiments.uncertainty import preset_designs

OUTCOMES = ("startups_alive_y5", "startups_alive_end")
#: the resampling behind "an N-draw design's mean" (fixed: the table is the same every time)
RESAMPLES, RESAMPLE_SEED = 4000, 0


def plan(preset: str, posterior: str, seeds: int, root_seed: int, years: int, first=None):
    """(scenario document, [(row, k, seed, overrides)], row weights): every posterior row × seed,
    each row's values as ``aieco run`` would give a draw of it (the cities' own inputs joined,
    pooled copies filled: ``DrawDesign.every_row``). ScenarioError when a drawn parameter is not
    in the posterior, or there is no posterior."""
    ((_, doc, design),) = preset_designs(preset, [posterior], 1, seeds, root_seed, years)
    rows = design.every_row(first)
    tasks = [(m, k, seed, rows.overrides(m)) for m, k, seed in rows.pairs()]
    return doc, tasks, rows.posterior_weights[: rows.draws]


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
    from seed noise alone, the per-row means' 5–95% range (unweighted) and maximum, and the
    5–95% range of the mean an N-draw design (rows drawn by weight with replacement, as
    ``aieco run`` draws them) would report, from the per-row means."""
    rng = np.random.default_rng(RESAMPLE_SEED)
    w = weight / weight.sum()
    out = []
    for name in [c for c in df.columns if c not in ("row", "k", "seed")]:
        by_row = df.groupby("row")[name].agg(["mean", "count", "var"])  # var: NaN with one seed
        per, n_seeds, within = (by_row[c].to_numpy() for c in ("mean", "count", "var"))
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
