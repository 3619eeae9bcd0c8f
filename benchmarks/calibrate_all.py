"""How long ``aieco calibrate all`` takes on this machine at its default budgets (issue 11 point 1:
all cities together ≤ 8 hours on 2 cores).

    .venv/bin/python benchmarks/calibrate_all.py              # 6 simulations per spec, 1 worker
    .venv/bin/python benchmarks/calibrate_all.py --sims 10 --cores 2

Times a small store of every spec ``calibrate all`` simulates (stage A, Hangzhou, and each
calibrated stage-B city; the cities with no observed quantity simulate nothing) with the
production runner in this process, reads each simulation's CPU seconds from the store
(``cpu_s``, the runner's own clock), and extrapolates:

    hours = Σ_spec (budget + ppc) × CPU-s per simulation / cores  +  Σ_spec training CPU-s

(simulations run on ``--cores`` workers; the networks train on one thread). The training cost
per spec is the shipped Hangzhou posterior's (5 NPEs on 2,000 simulations, from its record): an
upper bound for a city's 600. Stage A is counted twice: when the shipped posterior is fresh
(it is reused: not counted) and when it is stale (it runs). Simulations under load are slower
(memory contention): the load average is printed; re-run on an idle machine before trusting a
margin.
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

BAR_HOURS = 8.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=6, help="simulations timed per spec (default 6)")
    ap.add_argument("--cores", type=int, default=2, help="cores the estimate assumes (default 2)")
    ap.add_argument("--ppc", type=int, default=None, help="checks per city (default: all's)")
    args = ap.parse_args()

    import experiments.calibrate_all as call
    from experiments.calibrate import load_spec, read_store, write_store
    from experiments.inference import read_posterior
    from experiments.runner import run_experiment

    ppc = call.DEFAULT_PPC if args.ppc is None else args.ppc
    hz = load_spec(call.STAGE_A)
    fresh, why = call.stage_a_freshness(call.shipped_posterior(), hz)
    _, rec = read_posterior(call.shipped_posterior())
    train_cpu = sum(float(m.get("cpu_s") or 0.0) for m in rec.get("ensemble", []))
    specs = [(call.STAGE_A, hz, call._raw_budget(call.STAGE_A, call.DEFAULT_STAGE_A_BUDGET))]
    for name in call.stage_b_names():
        spec = load_spec(name)
        if spec.calibrated:
            specs.append((name, spec, spec.default_budget or call.DEFAULT_CITY_BUDGET))
    load0 = os.getloadavg()
    rows = []
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec, budget in specs:
            out = Path(tmp) / name
            exp = spec.experiment(args.sims)
            t0 = time.perf_counter()
            run_experiment(exp, out, workers=1, progress=False)
            wall = time.perf_counter() - t0
            write_store(out, spec)
            df, _ = read_store(out)
            ok = df[df["status"] == "ok"]
            cpu = float(ok["cpu_s"].mean()) if len(ok) else float("nan")
            rows.append((name, spec, budget, len(ok), len(df), cpu, wall))
            print(
                f"{name:10s} {spec.meta.months} months: {len(ok)}/{len(df)} ok, "
                f"{cpu:.2f} CPU-s per simulation (median {ok['cpu_s'].median():.2f}, max "
                f"{ok['cpu_s'].max():.2f}), {wall:.1f} s wall",
                flush=True,
            )
    load1 = os.getloadavg()
    print(
        f"\nmeasured {sum(r[4] for r in rows)} simulations in {time.perf_counter() - t_all:.0f} s; "
        f"load average {load0[0]:.1f} -> {load1[0]:.1f}; training per spec {train_cpu:.0f} CPU-s "
        f"(the shipped Hangzhou posterior's 5 NPEs)"
    )
    print(
        f"\n| spec | budget + ppc | CPU-s / sim | CPU-hours | hours on {args.cores} free cores | "
        f"hours at this load (wall / sim) |"
    )
    print("|---|---|---|---|---|---|")
    total_a = total_b = loaded = 0.0
    for name, _spec, budget, _ok, n, cpu, wall in rows:
        sims = budget + ppc
        hours = (sims * cpu / args.cores + train_cpu) / 3600
        at_load = (sims * wall / max(n, 1) / args.cores + train_cpu) / 3600
        loaded += at_load
        if name == call.STAGE_A:
            total_a = hours
        else:
            total_b += hours
        print(
            f"| {name} | {budget} + {ppc} | {cpu:.2f} | {sims * cpu / 3600:.2f} | {hours:.2f} | "
            f"{at_load:.2f} |"
        )
    print(
        f"\nstage B (every city; {len(rows) - 1} calibrated, the others simulate nothing): "
        f"{total_b:.2f} h"
    )
    print(f"stage A when stale ({hz.name}, {rows[0][2]} + {ppc}): {total_a:.2f} h")
    print(
        f"calibrate all: {total_b:.2f} h with the shipped stage A ({'fresh' if fresh else why}); "
        f"{total_a + total_b:.2f} h if stage A must run; bar {BAR_HOURS:.0f} h: "
        f"{'met' if total_a + total_b <= BAR_HOURS else 'NOT met'} in the worst case"
    )
    print(
        f"at this machine's load (each simulation's wall time as measured, {args.cores} "
        f"workers): {loaded:.2f} h with stage A run (the worst case)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
