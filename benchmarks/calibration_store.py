"""Calibration store throughput: simulations per CPU-second and wall time for a small Hangzhou
budget of the shipped spec (``experiments/calibration/hangzhou.toml``: 7-year runs, 11
parameters, 14 statistics including a 12-month no-voucher run per simulation).

    .venv/bin/python benchmarks/calibration_store.py                  # 40 simulations, 2 workers
    .venv/bin/python benchmarks/calibration_store.py --budget 20 --workers 1

Prints the CPU seconds spent inside simulations (the workers' own clocks, from the store's
``cpu_s``), the client's wall time, simulations per CPU-second and per wall-hour, and what a
3,500-simulation Hangzhou store (design §9.3) would take at that rate. A short budget is
dominated by start-up (the cluster, the first imports), so the steady rate between the first and
the last finished simulation is printed too, and the extrapolation adds the start-up once. On a
machine shared with other work, CPU-seconds are the figure to plan with; wall time depends on
the load (printed).
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default="hangzhou", help="CITY or SPEC.toml (default hangzhou)")
    ap.add_argument("--budget", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None, help="store directory (default: a temporary one)")
    args = ap.parse_args()

    from experiments.calibrate import load_spec, read_store
    from experiments.cli import main as aieco

    spec = load_spec(args.spec)
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "store"
        argv = ["calibrate", args.spec, "--budget", str(args.budget), "--out", str(out)]
        argv += ["--workers", str(args.workers), "--quiet"]
        t0, c0 = time.perf_counter(), time.process_time()
        code = aieco(argv)
        wall = time.perf_counter() - t0
        client_cpu = time.process_time() - c0
        df, _ = read_store(out)
        # Steady state: the rate between the first and the last finished simulation (each run's
        # file is written when it finishes), which leaves out the cluster's start-up and the
        # first simulations' import cost; a long store runs at this rate after its first minute.
        done = sorted(f.stat().st_mtime for f in (out / "runs").glob("*.parquet"))
        steady = (len(done) - 1) / (done[-1] - done[0]) if len(done) > 2 else float("nan")
    load1 = os.getloadavg()
    ok = df[df["status"] == "ok"]
    sim_cpu = float(df["cpu_s"].sum())
    n = len(ok)
    print(
        f"spec {spec.name} ({spec.meta.months} months, {len(spec.priors)} parameters, "
        f"{len(spec.statistics)} statistics), budget {args.budget}, workers {args.workers}, "
        f"exit {code}"
    )
    print(f"simulations ok / failed: {n} / {len(df) - n}")
    print(
        f"CPU-s per simulation (workers' clocks): mean {ok['cpu_s'].mean():.2f}, "
        f"median {ok['cpu_s'].median():.2f}, max {ok['cpu_s'].max():.2f}"
    )
    print(f"simulations per CPU-second: {n / sim_cpu:.3f}")
    print(f"wall time: {wall:.1f} s (client CPU {client_cpu:.1f} s, start-up included)")
    print(f"simulations per wall-hour: {3600 * n / wall:,.0f}")
    print(
        f"steady state (first to last finished simulation): {3600 * steady:,.0f} simulations "
        f"per wall-hour; start-up and the first simulations took {wall - (n - 1) / steady:.1f} s"
    )
    print(
        f"a 3,500-simulation store at the end-to-end wall rate: "
        f"{3500 * wall / max(n, 1) / 3600:.2f} h; at the steady rate plus this start-up: "
        f"{(3500 / steady + wall - (n - 1) / steady) / 3600:.2f} h; "
        f"at this CPU cost on {args.workers} free cores: "
        f"{3500 * sim_cpu / max(n, 1) / args.workers / 3600:.2f} h"
    )
    print(
        f"load average before / after: {load0[0]:.1f} / {load1[0]:.1f} on {os.cpu_count()} "
        "cores (a loaded machine inflates both figures)"
    )
    return 0 if code in (0, 1) else code


if __name__ == "__main__":
    sys.exit(main())
