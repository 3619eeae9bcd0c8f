"""Sweep throughput: runs per minute serial, on N local processes and on an N-worker Dask cluster.

    .venv/bin/python benchmarks/sweep_throughput.py        # 12 ten-year Hangzhou runs per engine
    .venv/bin/python benchmarks/sweep_throughput.py --runs 8 --months 60

Goals (issue): local processes at least 1.7x serial on 2 cores; Dask's overhead per run under 5% of
a run's time. Overhead per run = (workers x sweep wall time − time spent inside runs) / runs, with
cluster start-up reported separately (a cluster is started once per sweep, not per run). The script
also checks that every engine gives the same numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the shared Dask-process helper, tests/clusters.py


def experiment(runs: int, months: int | None):
    from experiments.spec import experiment_from_dict

    exp = {"name": "throughput", "scenario": "hangzhou", "replicates": runs, "root_seed": 1}
    if months:
        exp["months"] = months
    return experiment_from_dict(
        {
            "experiment": exp,
            "levers": {
                "voucher_rate": {"path": "regions.hangzhou.policy.voucher_rate", "values": [0.25]}
            },
            "design": {"method": "factorial"},
        }
    )


def between_runs(records: list[dict]) -> float:
    by_worker: dict = {}
    for r in records:
        if r.get("started") is not None:
            by_worker.setdefault((r.get("host"), r.get("pid")), []).append(
                (r["started"], r["finished"])
            )
    gaps = []
    for spans in by_worker.values():
        spans.sort()
        gaps += [b[0] - a[1] for a, b in zip(spans, spans[1:], strict=False)]
    return sum(gaps) / len(gaps) if gaps else float("nan")


def _raw_chunk(args) -> float:
    """Runs without any sweep machinery (the reference for what the machine can do in parallel)."""
    from experiments.tasks import execute_run

    exp_args, ids = args
    exp = experiment(*exp_args)
    t0 = time.perf_counter()
    for t in exp.tasks:
        if t.run_id in ids:
            execute_run(t, exp.base_document, exp.kpi_outcomes)
    return time.perf_counter() - t0


def raw_parallel(runs: int, months: int | None, workers: int) -> float:
    import multiprocessing as mp

    exp = experiment(runs, months)
    ids = [t.run_id for t in exp.tasks]
    chunks = [((runs, months), set(ids[i::workers])) for i in range(workers)]
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers) as pool:
        pool.map(_raw_chunk, [((runs, months), set()) for _ in range(workers)])  # warm-up imports
        t0 = time.perf_counter()
        pool.map(_raw_chunk, chunks)
        return time.perf_counter() - t0


def main() -> None:
    from clusters import dask_cluster

    from experiments.runner import run_experiment

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument(
        "--months", type=int, default=None, help="horizon (default: the preset's 10 years)"
    )
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    print(
        f"load average at start: {os.getloadavg()[0]:.2f} "
        "(other processes on the machine slow every engine)"
    )
    exp = experiment(args.runs, args.months)
    horizon = args.months or exp.horizon_months
    print(f"{args.runs} runs of the Hangzhou preset, {horizon} months each, {os.cpu_count()} cores")
    results, timings = {}, {}

    def sweep(name, out, **kw):
        seen = []
        rep = run_experiment(exp, out, progress=False, on_record=seen.append, **kw)
        results[name] = rep
        timings[name] = seen

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sweep("serial", tmp / "serial", workers=1)
        sweep(f"local {args.workers} processes", tmp / "local", workers=args.workers)
        t0 = time.perf_counter()
        with dask_cluster(tmp, args.workers, logs=False) as (address, _):
            cluster_start = time.perf_counter() - t0
            sweep(f"dask {args.workers} workers", tmp / "dask", scheduler=address)
        sums = {k: r.summary.drop(columns=["elapsed_s"]).to_json() for k, r in results.items()}

    serial = results["serial"]
    run_time = serial.run_seconds / serial.ran
    print(f"mean run time (serial): {run_time:.2f} s")
    print(
        f"{'engine':<22} {'wall s':>8} {'runs/min':>9} {'speed-up':>9} {'start-up s':>11} "
        f"{'runs/min excl. start-up':>24} {'gap between runs':>17}"
    )
    for name, r in results.items():
        startup = cluster_start if name.startswith("dask") else r.startup_s
        busy = r.wall_s - r.startup_s
        gap = between_runs(timings[name])
        print(
            f"{name:<22} {r.wall_s:8.1f} {60 * r.ran / r.wall_s:9.1f} "
            f"{serial.wall_s / r.wall_s:9.2f}x "
            f"{startup:11.1f} {60 * r.ran / busy:24.1f} {gap:9.3f} s ({100 * gap / run_time:.1f}%)"
        )
    shares = {
        name: sum(r.get("cpu_s", 0) for r in recs)
        / max(1e-9, sum(r.get("elapsed_s") or 0 for r in recs))
        for name, recs in timings.items()
    }
    cpu = {
        name: sum(r.get("cpu_s", 0) for r in recs) / max(1, len(recs))
        for name, recs in timings.items()
    }
    print(
        "CPU share of a core the runs got: "
        + ", ".join(f"{k} {v:.0%}" for k, v in shares.items())
        + " (below ~95%: other processes competed for the cores)"
    )
    print(
        "CPU seconds per run: "
        + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items())
        + " (higher in parallel: the runs slow each other down, e.g. shared cache or memory "
        "bandwidth)"
    )
    print(
        "gap between runs: mean time a worker spends between the end of one run and the start "
        "of its next "
        "(dispatch, result transfer, writing): the per-run overhead of the engine"
    )
    raw = raw_parallel(args.runs, args.months, args.workers)
    print(
        f"{'reference: bare ' + str(args.workers) + ' procs':<22} {raw:8.1f} "
        f"{60 * args.runs / raw:9.1f} {serial.wall_s / raw:9.2f}x"
        "   (model runs split over processes, no results written: the machine's parallel ceiling)"
    )
    print("same numbers on every engine:", len(set(sums.values())) == 1)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
