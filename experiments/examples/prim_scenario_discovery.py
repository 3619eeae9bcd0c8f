"""Scenario discovery with EMA Workbench's PRIM: when does a city reach 5,000 AI startups?

    pip install 'aieco[ema]'
    python experiments/examples/prim_scenario_discovery.py [FILE] [--scenarios N] [--workers W]

Runs the experiment file (default ``prim_5000.toml`` next to this script) through EMA
Workbench: the file's Latin hypercube over its uncertainties and levers (N points with
``--scenarios N``), every experiment with the file's replicate seeds. An experiment "reaches
the target" when at least half of its
replicates reach ``meta.target_startups``. PRIM then finds the box of conditions where that is
most likely; the script prints the peeling trade-off, the chosen box and its statistics, and
writes the experiments table (one row per replicate, with its seed) as Parquet.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    from ema_workbench import MultiprocessingEvaluator, SequentialEvaluator
    from ema_workbench.analysis import prim

    from experiments.ema import design_samples, ema_model, prim_inputs, replicate_table
    from experiments.spec import load_experiment

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", default=str(HERE / "prim_5000.toml"))
    ap.add_argument(
        "--scenarios", type=int, help="experiments (default: the file's design.samples)"
    )
    ap.add_argument(
        "--target", type=float, help="startups to reach (default: meta.target_startups)"
    )
    ap.add_argument(
        "--target-quantile",
        type=float,
        help="target = this quantile (0-1) of the experiments' peak startup counts: a split PRIM "
        "can use whatever the core gives (overrides --target)",
    )
    ap.add_argument("--workers", type=int, default=1, help="EMA multiprocessing workers")
    ap.add_argument("--coverage", type=float, default=0.5, help="least coverage of the box shown")
    ap.add_argument("--out", default="results/prim_5000_experiments.parquet")
    args = ap.parse_args(argv)

    exp = load_experiment(args.file, samples=args.scenarios)
    # levers and assumptions together: every parameter is sampled (the file's seeded Latin
    # hypercube, so the experiments are the same every time)
    model = ema_model(exp, levers_as_uncertainties=True)
    target = args.target or exp.base_document["meta"]["target_startups"]
    warnings.simplefilter("ignore", FutureWarning)
    evaluator = (
        MultiprocessingEvaluator(model, n_processes=args.workers)
        if args.workers > 1
        else SequentialEvaluator(model)
    )
    with evaluator as ev:
        experiments, outcomes = ev.perform_experiments(scenarios=design_samples(exp, "all"))

    # reached: in at least half of the replicates (the model's own target_reached), or, with
    # --target, when the replicates' mean monthly count touches that target
    reached = np.asarray(outcomes["target_reached"], dtype=float) >= 0.5
    peak = np.asarray(outcomes["startups_alive"], dtype=float).max(axis=1)
    if args.target_quantile is not None:
        if not 0.0 < args.target_quantile < 1.0:
            print(f"--target-quantile: {args.target_quantile} is not between 0 and 1")
            return 2
        target = float(np.quantile(peak, args.target_quantile))
    if args.target or args.target_quantile is not None:
        reached = peak >= target
    print(
        f"{int(reached.sum())} of {len(reached)} experiments reach {target:,.0f} startups "
        "in most replicates"
    )
    if reached.all() or not reached.any():
        print(
            "PRIM needs both outcomes; widen the ranges or change meta.target_startups "
            f"(peak startups across the experiments: {peak.min():,.0f}-{peak.max():,.0f})"
        )
        return 1
    x = prim_inputs(experiments)  # booleans as 0/1: EMA 3.0's box.inspect fails on booleans
    box = prim.Prim(x, reached).find_box()
    trajectory = box.peeling_trajectory
    print(trajectory[["coverage", "density", "mass", "res_dim"]].to_string())
    # the densest box that still covers enough of the experiments that reach the target
    ok = trajectory[trajectory["coverage"] >= args.coverage]
    choice = int(ok["density"].idxmax()) if len(ok) else len(trajectory) - 1
    box.select(choice)
    print(
        f"box {choice}: coverage {trajectory.loc[choice, 'coverage']:.2f}, "
        f"density {trajectory.loc[choice, 'density']:.2f}"
    )
    box.inspect()
    table = replicate_table(experiments, outcomes, exp)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(out, index=False)
    print(f"experiments table (one row per replicate, with its seed): {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
