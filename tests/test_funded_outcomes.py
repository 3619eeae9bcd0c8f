"""experiments/examples/funded_outcomes.py, which docs/design/later-failure.md quotes for what
becomes of venture-backed firms: Carta's outcome is counted over the run's first three years'
firms that raised a priced round by age 6.5 years, at that age."""

from __future__ import annotations

import pandas as pd
import pytest
from paired import TINY
from scripts import load_script

SCRIPT = "experiments/examples/funded_outcomes.py"


def test_carta_outcome_counts_backed_firms_of_the_first_three_years_at_six_and_a_half():
    mod = load_script(SCRIPT)
    rows = [  # founded, exit month, status, month of first round (None: never)
        (0, 30, "failed", 5),  # backed, shut at 30 months: counts
        (0, 100, "closed", 5),  # backed, shut at 100 months: after 78, not counted
        (10, 40, "acquired", 12),  # backed, acquired
        (20, None, "alive", 90),  # first round at age 70: backed
        (20, None, "alive", 110),  # first round at age 90: not backed
        (5, 20, "failed", None),  # never raised
        (40, 50, "failed", 41),  # founded after the first three years: not in the cohort
        (-12, 30, "failed", 0),  # the 2025 stock: not in the cohort
    ]
    firms = pd.DataFrame(
        {
            "org_id": [f"startup:{i}" for i in range(len(rows))],
            "founded_month": [r[0] for r in rows],
            "exit_month": pd.array([r[1] for r in rows], dtype="Int64"),
            "status": [r[2] for r in rows],
        }
    )
    rounds = pd.DataFrame(
        [{"org_id": f"startup:{i}", "month": r[3], "stage": "seed"}
         for i, r in enumerate(rows) if r[3] is not None]
    )  # fmt: skip
    out = mod.carta_outcome(firms, rounds)
    assert out["backed"] == pytest.approx(4 / 6)
    assert out["shut"] == pytest.approx(1 / 4) and out["acquired"] == pytest.approx(1 / 4)


def test_the_script_runs_on_a_small_scenario_with_a_variant(capsys):
    mod = load_script(SCRIPT)
    argv = ["--preset", str(TINY), "--seeds", "1", "--years", "3", "--posterior", "none"]
    assert mod.main([*argv, "--variant", "startups.min_step_up=1.0"]) == 0
    out = capsys.readouterr().out
    assert "startups.min_step_up=1.0" in out and "carta_shut" in out and "stage reached" in out
    assert "deals_y1" in out and "seed_size_m" in out and "down_share" in out
    assert "early_deals_y1" in out and "stock_money_y1" in out


def test_the_stock_s_share_of_each_year_s_money_counts_firms_founded_before_the_run():
    mod = load_script(SCRIPT)
    firms = pd.DataFrame({"org_id": ["a", "b", "c"], "founded_month": [-30, 0, -1]})
    rounds = pd.DataFrame(
        {
            "org_id": ["a", "b", "c", "b", "a"],
            "month": [0, 4, 11, 12, 40],  # the last is in year four: in neither share
            "amount_yuan": [3e6, 4e6, 1e6, 5e6, 9e9],
        }
    )
    out = mod.stock_money_share(rounds, firms)
    assert out["stock_money_y1"] == pytest.approx(4 / 8)
    assert out["stock_money_y2"] == pytest.approx(0.0)
    y3 = mod.stock_money_share(rounds, firms, years=3)["stock_money_y3"]
    assert y3 != y3  # NaN: no round closed in year three


def test_early_stage_shares_count_the_first_year_s_seed_and_a_rounds():
    mod = load_script(SCRIPT)
    rounds = pd.DataFrame(
        {
            "month": [0, 3, 5, 11, 12, 30],
            "stage": ["seed", "series_a", "series_b", "series_d_plus", "seed", "seed"],
            "amount_yuan": [1e6, 3e6, 4e6, 2e6, 9e9, 9e9],  # the last two are in year two
        }
    )
    out = mod.early_stage_shares(rounds)
    assert out["early_deals_y1"] == pytest.approx(2 / 4)
    assert out["early_money_y1"] == pytest.approx(4 / 10)
    empty = mod.early_stage_shares(rounds[rounds["month"] > 100])
    assert all(v != v for v in empty.values())


def test_round_sizes_are_medians_by_stage_in_millions():
    mod = load_script(SCRIPT)
    rounds = pd.DataFrame(
        {"stage": ["seed", "seed", "seed", "series_a"], "amount_yuan": [1e6, 3e6, 9e6, 2e7]}
    )
    out = mod.round_sizes(rounds)
    assert out["seed_size_m"] == pytest.approx(3.0) and out["series_a_size_m"] == pytest.approx(20)
    assert out["series_b_size_m"] != out["series_b_size_m"]  # NaN: no B round
    assert all(v != v for v in mod.round_sizes(rounds.iloc[:0]).values())
