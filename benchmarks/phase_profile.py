"""Where a month's time goes: milliseconds per month of every phase of ``AIEcosystem.step``,
year by year, for one run (wall time of the phases as the step calls them; the rest of the step,
events between months and the Mesa scheduler are the ``rest`` row).

    .venv/bin/python benchmarks/phase_profile.py [--preset hangzhou] [--years 10] [--seed 0]

Read it with ``benchmarks/model_speed.py`` (the ratio to Mesa's BoltzmannWealth): a phase whose
cost grows with the years is bound by the size of the people or startup tables, one that is flat
by the number of numpy calls it makes a month. Run it on an idle machine; figures under load are
inflated.
"""

from __future__ import annotations

import argparse
import collections
import functools
import inspect
import time

from ecosystem import AIEcosystem, load_scenario
from ecosystem import model as model_module


def phase_functions() -> list[tuple[object, str]]:
    """(module, function name) of every module-level function the monthly step calls by
    ``module.function`` (read from the step's source, so a new phase is timed too)."""
    source = inspect.getsource(model_module.AIEcosystem.step)
    found = []
    for name, mod in vars(model_module).items():
        if not inspect.ismodule(mod) or not mod.__name__.startswith("ecosystem."):
            continue
        for fn, obj in vars(mod).items():
            if inspect.isfunction(obj) and f"{name}.{fn}" in source:
                found.append((mod, fn))
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="hangzhou")
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    spent: collections.Counter[str] = collections.Counter()

    def timed(mod, name):
        f = getattr(mod, name)

        @functools.wraps(f)
        def wrapper(*a, **k):
            start = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                spent[f"{mod.__name__.removeprefix('ecosystem.')}.{name}"] += (
                    time.perf_counter() - start
                )

        return wrapper

    originals = phase_functions()
    for mod, name in originals:
        setattr(mod, name, timed(mod, name))
    try:
        model = AIEcosystem(load_scenario(args.preset), rng=args.seed)
        by_year, totals = [], []
        for _ in range(args.years):
            spent.clear()
            start = time.perf_counter()
            model.run_for(12)
            totals.append(time.perf_counter() - start)
            by_year.append(dict(spent))
    finally:
        for mod, name in originals:
            setattr(mod, name, getattr(mod, name).__wrapped__)
    names = sorted({k for y in by_year for k in y}, key=lambda k: -by_year[-1].get(k, 0.0))
    width = max(len(n) for n in [*names, "total"])
    print(f"{args.preset}, seed {args.seed}: ms per month, by year of the run")
    print(f"{'phase':<{width}} " + " ".join(f"{'y' + str(y):>6}" for y in range(args.years)))

    def row(label, values):
        print(f"{label:<{width}} " + " ".join(f"{v * 1000 / 12:6.2f}" for v in values))

    for n in names:
        row(n, [y.get(n, 0.0) for y in by_year])
    row("rest", [t - sum(y.values()) for t, y in zip(totals, by_year, strict=True)])
    row("total", totals)
    print(f"people rows at the end: {model.people.n:,}; startup rows: {model.state.startups.n:,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
