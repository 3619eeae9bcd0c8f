"""How fast is a whole ecosystem compared with Mesa's own toy model at the same agent count?

Times the 10-year Hangzhou run against Mesa's ``BoltzmannWealth`` example run for 120 steps with
as many agents as the Hangzhou run ends with alive startups (at least 5,000), alternating the two
in one process so that both see the same machine load, and prints the ratio (goal: <= 0.5).
Also prints the peak memory of a Hangzhou run (goal: < 1 GB) and the time per month. Both
wall and process CPU time are timed: on a machine shared with other work, wall time is inflated
by waiting for a core and the CPU-time ratio is the one to read (both models run single-threaded
in this one process; memory-bandwidth contention still inflates both).

    .venv/bin/python benchmarks/model_speed.py [--repeats 3] [--preset hangzhou]
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import resource
import statistics
import sys
import time
import tracemalloc

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
from mesa.examples import BoltzmannWealth
from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannScenario

from ecosystem import AIEcosystem, load_scenario


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    """(wall, CPU) seconds since ``start``."""
    wall, cpu = _clocks()
    return wall - start[0], cpu - start[1]


def time_ecosystem(preset: str, seed: int) -> tuple[tuple[float, float], int, int]:
    scenario = load_scenario(preset)
    gc.collect()
    start = _clocks()
    model = AIEcosystem(scenario, rng=seed)
    model.run_for(scenario.months)
    elapsed = _since(start)
    alive = int(model.kpis().groupby("month")["startups_alive"].sum().iloc[-1])
    return elapsed, alive, model.people.n


def time_boltzmann(n: int, seed: int, steps: int = 120) -> tuple[float, float]:
    side = math.ceil(math.sqrt(n))
    gc.collect()
    start = _clocks()
    model = BoltzmannWealth(BoltzmannScenario(n=n, width=side, height=side, rng=seed))
    for _ in range(steps):
        model.step()
    return _since(start)


def peak_memory(preset: str) -> float:
    """Peak Python-heap memory (MB) of one run, measured with tracemalloc."""
    scenario = load_scenario(preset)
    tracemalloc.start()
    model = AIEcosystem(scenario, rng=1)
    model.run_for(scenario.months)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del model
    return peak / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--preset", default="hangzhou")
    args = ap.parse_args(argv)

    eco_times, bz_times, ratios, cpu_ratios = [], [], [], []
    alive = people = 0
    for i in range(args.repeats):
        (t_eco, c_eco), alive, people = time_ecosystem(args.preset, seed=i)
        n = max(alive, 5000)
        t_bz, c_bz = time_boltzmann(n, seed=i)
        eco_times.append(t_eco)
        bz_times.append(t_bz)
        ratios.append(t_eco / t_bz)
        cpu_ratios.append(c_eco / c_bz)
        print(
            f"repeat {i}: {args.preset} 120 months {t_eco:.2f} s wall, {c_eco:.2f} s CPU "
            f"({alive:,} startups alive, {people:,} people rows); BoltzmannWealth n={n:,} 120 "
            f"steps {t_bz:.2f} s wall, {c_bz:.2f} s CPU; ratio {t_eco / t_bz:.2f} wall, "
            f"{c_eco / c_bz:.2f} CPU",
            flush=True,
        )
    eco = statistics.median(eco_times)
    print(
        f"\nmedian: ecosystem {eco:.2f} s ({eco / 120 * 1000:.1f} ms per month), "
        f"BoltzmannWealth {statistics.median(bz_times):.2f} s (wall)"
    )
    print(
        f"ratio ecosystem / Boltzmann (median): {statistics.median(ratios):.2f} wall, "
        f"{statistics.median(cpu_ratios):.2f} CPU  (goal <= 0.5; load average "
        f"{os.getloadavg()[0]:.1f}: read the CPU ratio when the machine is shared)"
    )
    # The machine's speed drifts by ±10% within minutes (both models alike, not always in step):
    # the spread over repeats says how far one median can be trusted.
    print(
        f"CPU ratio over the {len(cpu_ratios)} repeats: {min(cpu_ratios):.2f}–"
        f"{max(cpu_ratios):.2f} (seeds 0–{len(cpu_ratios) - 1}; each seed's run differs too)"
    )
    mem = peak_memory(args.preset)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak traced memory of one run: {mem:,.0f} MB; process max RSS so far: {rss:,.0f} MB "
        f"(goal < 1,000 MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
