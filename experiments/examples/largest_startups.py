"""How large does each city's largest startup grow? (pattern 13; docs/design/superstar-firms.md)

For each run (seeds, optionally posterior draws): the largest live, unlisted startup of each
city at years 3, 5 and 10 (and at the last year asked), its share of the city's startup staff
and of its sector's startup revenue in the city (its nest), and the loop gain g = η (α + β) of
the run's parameters (quality elasticity of demand times the compute and talent elasticities of
capability: the feedback from revenue to staff and compute to quality and back). Prints one
line per run and the median [min, max] of the leaders' sizes.

    .venv/bin/python experiments/examples/largest_startups.py [hangzhou] [--seeds 8]
        [--param-draws 8] [--set startups.catchup_ceiling=16 ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ecosystem import AIEcosystem, load_scenario  # noqa: E402
from ecosystem.scenario import loop_gain  # noqa: E402
from ecosystem.scenario.loading import parse_overrides  # noqa: E402

YEARS = (3, 5, 10)


def leaders(model: AIEcosystem) -> dict[str, tuple[int, float, float]]:
    """Each city's largest live, unlisted startup: (people, share of the city's startup staff,
    share of its nest's startup revenue)."""
    s, keys = model.state.startups, model.params.region_keys
    alive = model.state.alive_startups()
    alive = alive[~s.listed[alive]]
    out = {}
    for r in np.unique(s.region[alive]):
        rows = alive[s.region[alive] == r]
        top = rows[np.argmax(s.headcount[rows])]
        nest = rows[s.sector[rows] == s.sector[top]]
        staff = s.headcount[rows].sum()
        revenue = s.revenue[nest].sum()
        out[keys[int(r)]] = (
            int(s.headcount[top]),
            float(s.headcount[top] / staff) if staff else 0.0,
            float(s.revenue[top] / revenue) if revenue > 0 else 0.0,
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("preset", nargs="?", default="hangzhou")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--param-draws", type=int, default=0, help="posterior draws (0: the preset)")
    ap.add_argument(
        "--posterior", default="preset", help="where draws come from: preset, prior or a FILE"
    )
    ap.add_argument("--set", dest="sets", action="append", default=[], help="key=value")
    ap.add_argument("--years", type=int, default=10)
    args = ap.parse_args(argv)

    draws: list[dict] = [{}]
    if args.param_draws:
        from experiments.compare import _preset_document
        from experiments.uncertainty import make_design

        design = make_design(
            _preset_document(args.preset), args.param_draws, 1, 0, posterior=args.posterior
        )
        draws = [design.overrides(m) for m in range(args.param_draws)]
        print(design.label())
    sizes: dict[int, list[int]] = {}
    for d, over in enumerate(draws):
        scenario = load_scenario(args.preset, {**over, **parse_overrides(args.sets)} or None)
        last = min(args.years, scenario.months // 12)
        for seed in range(args.seeds):
            model = AIEcosystem(scenario, rng=seed)
            seen = {}
            for year in range(1, last + 1):
                model.run_for(12)
                if year in YEARS or year == last:
                    seen[year] = leaders(model)
                    sizes.setdefault(year, [])
            end = seen[last]
            city = max(end, key=lambda c: end[c][0])
            for y, by_city in seen.items():
                sizes[y].append(max(v[0] for v in by_city.values()))
            people, share, nest = end[city]
            path = " / ".join(f"{max(v[0] for v in seen[y].values()):,}" for y in sorted(seen))
            print(
                f"draw {d if args.param_draws else '-'} seed {seed}: g = "
                f"{loop_gain(scenario):.2f}; largest startup at years {'/'.join(map(str, seen))}"
                f": {path} people; at the end in {city}: {share:.0%} of its startup staff, "
                f"{nest:.0%} of its nest's startup revenue",
                flush=True,
            )
    for y, v in sorted(sizes.items()):
        print(f"year {y}: largest startup median {np.median(v):,.0f} [{min(v):,}, {max(v):,}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
