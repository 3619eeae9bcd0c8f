"""Why seeded firms stop at seed: what the funding phase does with each of them, month by month.

Why it exists: docs/design/later-failure.md §6.4 asks why venture-type firms that raised a seed
round so rarely raise a Series A (the worst-fitted target of every posterior). Every month, just
before the funding phase (``firm_life.raise_funding``) runs, each live venture-type firm founded
in the run whose last round is its seed is put in one class:

- ``not_due``: its next-raise month has not come (within ``months_between_rounds`` of the round);
- ``due_no_motive``: due, but not among ``firm_life.round_applicants`` (its runway is not short,
  its growth is not capital-limited and it is not at its milestone), so it does not apply;
- ``covered``: applies, but its cash covers its plan and it is not at its milestone (no round:
  ``round_terms`` size 0);
- ``screened``: applies, and the VC screen does not justify the round (below the viability
  line, or a need above d_max × V̂: ``firm_life.justified``);
- ``unfunded``: justified, but the month's VC money did not fund it;
- ``raised_a``: it raised its Series A.

Printed as shares of the firm-months at seed, per variant (the preset at the posterior's
medians, then each ``--variant``), summed over seeds 1..N.

    .venv/bin/python experiments/examples/seed_stall.py [--preset hangzhou] [--seeds 1]
        [--years 10] [--posterior FILE|none] [--set PATH=VALUE ...] [--variant PATH=VALUE ...]

The phase is observed by wrapping ``firm_life.raise_funding`` for the script's own runs (and
restored after them): the classes are read from the state the phase itself sees.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np
import pandas as pd

from ecosystem import AIEcosystem, firm_life
from ecosystem.tables import Stage
from experiments.inference import median_run_scenarios
from experiments.options import add_median_run_arguments, one_line_errors

CLASSES = ("not_due", "due_no_motive", "covered", "screened", "unfunded", "raised_a")


def seeded_firms(state) -> np.ndarray:
    """Rows of the live, unlisted venture-type firms founded in the run whose last round is
    their seed."""
    s = state.startups
    alive = state.alive_startups()
    keep = (s.stage[alive] == Stage.SEED) & s.venture[alive] & ~s.listed[alive]
    return alive[keep & (s.founded_month[alive] >= 0)]


def classify_before(state, params, firms: np.ndarray) -> np.ndarray:
    """Each firm's class as far as the state before the funding phase tells (``not_due``,
    ``due_no_motive``, ``covered``, ``screened``, or ``applies`` for a justified round)."""
    s = state.startups
    out = np.full(firms.size, "due_no_motive", dtype=object)
    out[s.next_raise_month[firms] > state.month] = "not_due"
    applying = np.isin(firms, firm_life.round_applicants(state, params))
    size, post = firm_life.round_terms(state, params, firms)
    out[applying & (size <= 0)] = "covered"
    justified = firm_life.justified(size, post, params)
    out[applying & (size > 0) & ~justified] = "screened"
    out[applying & (size > 0) & justified] = "applies"
    return out


@contextmanager
def observed_funding(counts: dict[str, int]):
    """While open, every call of ``firm_life.raise_funding`` adds the month's classes of the
    seeded firms to ``counts``."""
    phase = firm_life.raise_funding

    def observed(state, params, rng):
        firms = seeded_firms(state)
        before = classify_before(state, params, firms)
        phase(state, params, rng)
        raised = state.startups.stage[firms] > Stage.SEED
        after = np.where(before == "applies", np.where(raised, "raised_a", "unfunded"), before)
        for name, n in zip(*np.unique(after.astype(str), return_counts=True), strict=True):
            counts[name] = counts.get(name, 0) + int(n)

    firm_life.raise_funding = observed
    try:
        yield counts
    finally:
        firm_life.raise_funding = phase


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_median_run_arguments(ap, seeds=1, variants=True)
    args = ap.parse_args(argv)
    rows = []
    for variant, sc in median_run_scenarios(args):  # all loaded before the first run
        with observed_funding({}) as counts:
            for seed in range(1, args.seeds + 1):
                AIEcosystem(sc, rng=seed).run_for(12 * args.years)
        total = sum(counts.values())
        shares = {name: counts.get(name, 0) / total if total else float("nan") for name in CLASSES}
        rows.append({"variant": variant, "firm_months": total, **shares})
    where = "the posterior's medians" if args.posterior != "none" else "the preset's values"
    print(
        f"{args.preset} at {where}, seeds 1–{args.seeds}, {args.years} years: months of "
        "venture-type firms at seed, by what the funding phase did with them (shares)"
    )
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(pd.DataFrame(rows).set_index("variant").round(4).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
