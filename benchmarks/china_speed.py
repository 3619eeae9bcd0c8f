"""Speed of the `china` preset (ten cities, four western hubs) and how it scales.

Prints the 10-year wall time on one core (goal < 30 s) and the scaling curve: milliseconds per
month against the number of live startups, month by month, binned; if time grows at most
linearly with live startups, the last column (µs per live startup per month) does not rise.

    .venv/bin/python benchmarks/china_speed.py [--years 10] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np

from ecosystem import AIEcosystem, load_scenario


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--preset", default="china")
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    scenario = load_scenario(args.preset, [f"meta.years={args.years}"])
    start = time.perf_counter()
    model = AIEcosystem(scenario, rng=args.seed)
    init = time.perf_counter() - start
    times, alive, people = [], [], []
    for _ in range(scenario.months):
        t = time.perf_counter()
        model.step()
        times.append(time.perf_counter() - t)
        alive.append(int(model.alive_by_region.sum()))
        people.append(model.people_now())
    total = time.perf_counter() - start
    times, alive = np.array(times), np.array(alive)
    print(
        f"{args.preset}: {scenario.months} months on one core in {total:.1f} s "
        f"(set-up {init:.1f} s; goal < 30 s); {alive[-1]:,} startups alive, "
        f"{people[-1]:,} people at the end"
    )
    print("\nscaling curve (months binned by live startups):")
    print(f"{'live startups':>16} {'months':>7} {'ms / month':>11} {'µs / startup / month':>21}")
    edges = np.unique(np.quantile(alive, np.linspace(0, 1, 7)).round())
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (alive >= lo) & (alive <= hi)
        if not sel.any():
            continue
        ms = times[sel].mean() * 1000
        per_startup = ms * 1000 / alive[sel].mean()
        print(f"{int(lo):>7,}–{int(hi):<7,} {sel.sum():>7} {ms:>11.1f} {per_startup:>21.1f}")
    slope, intercept = np.polyfit(alive, times * 1000, 1)
    print(
        f"\nlinear fit: ms per month ≈ {intercept:.1f} + {slope * 1000:.2f}"
        " × (live startups / 1,000)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
