"""The paired-effect helper that mechanism tests rely on (``tests/paired.py``)."""

from __future__ import annotations

import numpy as np
import pytest
from paired import TINY, PairedEffect, paired_effect

from ecosystem import load_scenario


def test_tiny_preset_is_small_and_valid():
    sc = load_scenario(TINY)
    assert [k for k, r in sc.regions.items() if r.kind == "city"] == ["ningbo"]
    assert len([r for r in sc.regions.values() if r.kind == "hub"]) == 2
    assert sc.months == 60
    assert sc.regions["ningbo"].initial_startups == 60


def test_a_no_op_change_gives_exactly_zero_with_common_seeds():
    eff = paired_effect(TINY, {}, seeds=range(1, 4), months=12)
    assert np.all(eff.diffs == 0)
    assert eff.interval == (0.0, 0.0)
    assert eff.p_greater == 1.0 and eff.p_less == 1.0


def test_a_larger_starting_stock_is_detected_with_its_sign():
    eff = paired_effect(
        TINY,
        {"regions.ningbo.initial_startups": 120},
        seeds=range(1, 11),  # five seeds no longer exclude 0 since VC money binds (M1)
        months=12,
        outcome="startups_alive_y1",
    )
    assert eff.p_greater < 0.05, eff
    assert eff.p_less > 0.5, eff
    lo, hi = eff.interval
    assert 0 < lo <= eff.mean <= hi


def test_outcome_may_be_a_function_of_the_run_and_base_change_applies_to_both():
    def founded(result):
        return float(result.kpis["startups_founded"].sum())

    eff = paired_effect(
        TINY,
        {"regions.ningbo.initial_startups": 61},
        seeds=[1, 2],
        months=6,
        outcome=founded,
        base_change={"regions.ningbo.initial_startups": 61},
    )
    assert np.all(eff.diffs == 0) and eff.outcome == "founded"


@pytest.mark.parametrize(
    ("diffs", "greater", "less"), [([2.0, 2.0], 0.0, 1.0), ([-1.0, -1.0], 1.0, 0.0)]
)
def test_constant_differences_give_certain_signs(diffs, greater, less):
    eff = PairedEffect("x", (1, 2), np.zeros(2), np.array(diffs))
    assert (eff.p_greater, eff.p_less) == (greater, less)
    assert "paired seeds" in str(eff)
