"""The talent ledger (``ecosystem.talent``): every startup's skill-weighted staff without a pass
over the table, equal bit for bit to the pass while it is kept."""

from __future__ import annotations

import numpy as np
import pytest

from ecosystem import AIEcosystem, compute_market, firm_life, people
from ecosystem.tables import Employer, People
from ecosystem.talent import _STARTUP, UNIT, TalentLedger


def test_the_ledgers_startup_code_is_the_tables():
    assert _STARTUP == int(Employer.STARTUP)


def checked_talent(monkeypatch) -> dict[str, int]:
    """Make every phase's ``startup_talent`` assert that the ledger equals the table's pass."""
    seen = {"asked": 0}
    kept = people.startup_talent

    def checked(state, params):
        got = kept(state, params)
        np.testing.assert_array_equal(got, people.talent_from_table(state, params))
        seen["asked"] += 1
        return got

    for module in (people, compute_market, firm_life):
        monkeypatch.setattr(module, "startup_talent", checked)
    return seen


@pytest.mark.parametrize(
    "preset, months, overrides",
    [
        ("hangzhou", 36, []),
        ("china", 12, []),
        # Fast learning: people reach skill 1 within the run, so the schedule is exercised.
        ("hangzhou", 30, ["population.learning_per_month=0.02"]),
        ("hangzhou", 12, ["population.learning_per_month=0.0"]),
    ],
)
def test_ledger_equals_a_pass_over_the_table_every_month(monkeypatch, preset, months, overrides):
    from ecosystem import load_scenario

    seen = checked_talent(monkeypatch)
    model = AIEcosystem(load_scenario(preset, overrides=overrides), rng=11)
    model.run_for(months)
    assert seen["asked"] >= months
    ledger = model.state.talent
    assert ledger.exact and ledger.started
    if overrides and "0.02" in overrides[0]:
        assert ledger.capped.sum() > 0  # people did reach 1 and were counted so


def test_a_learning_rate_that_is_not_whole_units_falls_back_to_the_table(monkeypatch):
    """λ below 2⁻¹⁷ is no whole number of ledger units: the ledger stops, the pass serves."""
    from ecosystem import load_scenario

    seen = checked_talent(monkeypatch)
    scenario = load_scenario("hangzhou", overrides=["population.learning_per_month=1e-7"])
    model = AIEcosystem(scenario, rng=3)
    model.run_for(4)
    assert seen["asked"] >= 4 and not model.state.talent.exact


class _Table:
    """The few people columns the ledger reads."""

    def __init__(self, n: int):
        self.people = People(capacity=n)
        self.people.append(n)

    def move(self, rows, firm, skill, month):
        p = self.people
        p.employer_kind[rows] = Employer.STARTUP if firm >= 0 else Employer.NONE
        p.employer_id[rows] = firm
        p.skill[rows] = skill
        p.since[rows] = month


def _staff(table: _Table) -> np.ndarray:
    return np.flatnonzero(table.people.view("employer_kind") == Employer.STARTUP)


def _expected(table: _Table, learning: np.float32, month: int, n: int) -> np.ndarray:
    p, rows = table.people, _staff(table)
    skill = np.minimum(p.skill[rows] + learning * (month - p.since[rows]).astype(float), 1.0)
    return np.bincount(p.employer_id[rows], weights=skill, minlength=n)


def test_skills_reaching_one_are_counted_once_even_after_moves_in_their_first_month():
    """Someone who joins a startup, moves to another in the same month and reaches skill 1
    while there is counted once, at the second (the schedule lists them twice); leavers'
    terms go with them, whether they had reached 1 or not."""
    lam = np.float32(0.25)  # whole months to 1 from skill 0.5: two
    t = _Table(6)
    ledger = TalentLedger(lam)
    staff = lambda: _staff(t)  # noqa: E731
    t.move(np.array([0, 1]), 0, np.float32(0.5), 0)
    np.testing.assert_array_equal(ledger.talent(0, t.people, 3, staff), [1.0, 0, 0])
    # Month 1: row 2 joins firm 1 and moves on to firm 2 in the same month.
    t.move(np.array([2]), 1, np.float32(0.5), 1)
    ledger.join(np.array([2]), 1, np.float32([0.5]), 1)
    ledger.leave(np.array([1]), np.float32([0.5]), np.array([1]))
    t.move(np.array([2]), 2, np.float32(0.5), 1)
    ledger.join(np.array([2]), 2, np.float32([0.5]), 1)
    for month in range(1, 6):
        got = ledger.talent(month, t.people, 3, staff)
        np.testing.assert_array_equal(got, _expected(t, lam, month, 3), err_msg=str(month))
    assert ledger.capped.tolist()[:3] == [2, 0, 1]
    # A capped person leaves; another joins at skill 1 in a month already counted.
    t.move(np.array([0]), -1, np.float32(1.0), 5)
    ledger.leave(np.array([0]), np.float32([0.5]), np.array([0]))
    t.move(np.array([3]), 1, np.float32(1.0), 5)
    ledger.join(np.array([3]), 1, np.float32([1.0]), 5)
    got = ledger.talent(6, t.people, 3, staff)
    np.testing.assert_array_equal(got, _expected(t, lam, 6, 3))
    assert ledger.base.dtype == np.int64 and UNIT == 2**40


def test_a_skill_below_the_smallest_whole_unit_stops_the_ledger():
    ledger = TalentLedger(np.float32(0.001))
    assert ledger.exact
    ledger.usable(np.float32([0.5, 1.0, 0.0, 2.0**-17]))
    assert ledger.exact
    ledger.usable(np.float32([1e-7]))
    assert not ledger.exact
    assert not TalentLedger(np.float32(1e-7)).exact


def test_a_changed_learning_rate_starts_a_new_ledger_from_the_table(hangzhou):
    """Parameters are fixed for a run, but a caller that swaps them mid-run (λ included) must not
    get talent from a ledger kept at the old λ: a new one starts from the table."""
    import dataclasses

    model = AIEcosystem(hangzhou, rng=2)
    model.run_for(3)
    old = model.state.talent
    cfg = model.params.config
    population = cfg.population.model_copy(update={"learning_per_month": 0.004})
    model.params = dataclasses.replace(
        model.params, config=cfg.model_copy(update={"population": population})
    )
    model.state.people.cache.pop("talent", None)
    got = people.startup_talent(model.state, model.params)
    assert model.state.talent is not old and model.state.talent.rate == np.float32(0.004)
    np.testing.assert_array_equal(got, people.talent_from_table(model.state, model.params))
