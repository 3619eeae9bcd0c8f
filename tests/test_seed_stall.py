"""experiments/examples/seed_stall.py, which docs/design/later-failure.md §6.4 quotes for why
seeded firms stop at seed: observing the funding phase must not change the run, every month of
a seeded firm falls in exactly one class, and the phase is restored afterwards."""

from __future__ import annotations

import pandas as pd
from paired import TINY
from scripts import load_script

from ecosystem import AIEcosystem, firm_life, load_scenario

SCRIPT = "experiments/examples/seed_stall.py"


def test_observing_the_funding_phase_changes_nothing_and_counts_every_seeded_month():
    mod = load_script(SCRIPT)
    sc = load_scenario(str(TINY))
    plain = AIEcosystem(sc, rng=3)
    plain.run_for(36)
    phase = firm_life.raise_funding
    seen = []  # the seeded firms the phase saw, each month
    find = mod.seeded_firms
    mod.seeded_firms = lambda state: seen.append(find(state).size) or find(state)
    try:
        with mod.observed_funding({}) as counts:
            watched = AIEcosystem(sc, rng=3)
            watched.run_for(36)
    finally:
        mod.seeded_firms = find
    assert firm_life.raise_funding is phase  # restored
    pd.testing.assert_frame_equal(plain.kpis(), watched.kpis())
    assert set(counts) <= set(mod.CLASSES)
    # every seeded firm is counted once a month, in one class
    assert len(seen) == 36 and sum(seen) > 0 and sum(counts.values()) == sum(seen)


def test_the_script_runs_on_a_small_scenario(capsys):
    mod = load_script(SCRIPT)
    argv = ["--preset", str(TINY), "--seeds", "1", "--years", "2", "--posterior", "none"]
    assert mod.main(argv) == 0
    out = capsys.readouterr().out
    assert "due_no_motive" in out and "raised_a" in out and "firm_months" in out
