"""experiments/examples/round_gaps.py, which docs/design/later-failure.md quotes for the time
between rounds: its gaps are the months between a firm's first seed and A (and A and B) rounds in
the round log, for firms founded during the run only."""

from __future__ import annotations

import pandas as pd
import pytest
from paired import TINY
from scripts import load_script

SCRIPT = "experiments/examples/round_gaps.py"


def test_gaps_are_months_between_first_rounds_of_firms_founded_in_the_run():
    mod = load_script(SCRIPT)
    ids = [f"startup:{i}" for i in range(4)]
    firms = pd.DataFrame({"org_id": ids, "founded_month": [-30, 0, 5, 70]})
    stages = ["seed", "series_a", "series_b"]
    rounds = pd.DataFrame(
        {
            "org_id": [ids[i] for i in (0, 0, 1, 1, 1, 2, 3, 3)],
            "month": [3, 10, 4, 40, 70, 20, 75, 80],
            "stage": [stages[i - 1] for i in (2, 3, 1, 2, 3, 1, 1, 2)],
        }
    )
    seed_a, a_b, share = mod.gaps(rounds, firms)
    # firm 0 is the 2025 stock (left out); firm 3 was seeded after month 60 (gap, not share)
    assert sorted(seed_a.tolist()) == [5, 36] and a_b.tolist() == [30]
    assert share == pytest.approx(1 / 2)  # firms 1 (A after 36 months) and 2 (no A)


def test_the_script_runs_on_a_small_scenario(capsys):
    mod = load_script(SCRIPT)
    assert (
        mod.main(["--preset", str(TINY), "--seeds", "1", "--years", "3", "--posterior", "none"])
        == 0
    )
    out = capsys.readouterr().out
    assert "seed → Series A: median" in out and "Series A → B" in out
