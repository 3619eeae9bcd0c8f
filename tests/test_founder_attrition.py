"""Founders' own departure rate ρ_f (``startups.founder_attrition_ratio``, docs/ODD.md 7.1
"Turnover"): a startup's lead founder, while at the firm, carries ρ_f times its employees'
hazards of leaving the firm and the region. Mechanisms, not sizes."""

from __future__ import annotations

import numpy as np
import pytest
from paired import TINY

from ecosystem import AIEcosystem, load_scenario
from ecosystem.people import founders_at_their_firm
from ecosystem.tables import Employer, PersonStatus, Status


@pytest.fixture(scope="module")
def tiny():
    return load_scenario(TINY)


def _with(scenario, ratio):
    sc = scenario.model_copy(deep=True)
    sc.startups.founder_attrition_ratio = ratio
    return sc


def _run(scenario, ratio, months=24, seed=3):
    model = AIEcosystem(_with(scenario, ratio), rng=seed)
    model.run_for(months)
    return model


def test_founders_leave_like_employees_by_default(tiny):
    assert tiny.startups.founder_attrition_ratio == 1.0


@pytest.mark.parametrize("ratio", [0.25, 2.0])
def test_a_founder_at_the_firm_carries_rho_times_the_employees_hazards(tiny, ratio):
    model = _run(tiny, ratio)
    st, p, s = model.state, model.state.people, model.startups
    at_startups = np.flatnonzero(
        (p.view("employer_kind") == Employer.STARTUP) & (p.view("status") == PersonStatus.ACTIVE)
    )
    own = founders_at_their_firm(st, at_startups)
    founders, staff = at_startups[own], at_startups[~own]
    assert founders.size > 10 and staff.size > 10
    region = p.region[at_startups]
    assert np.unique(region).size == 1  # tiny: one city, so every employee has one hazard pair
    out_e, move_e = p.out_hazard[staff], p.move_hazard[staff]
    assert np.unique(out_e).size == 1 and np.unique(move_e).size == 1
    np.testing.assert_allclose(p.out_hazard[founders], ratio * out_e[0], rtol=1e-6)
    np.testing.assert_allclose(p.move_hazard[founders], ratio * move_e[0], rtol=1e-6)
    # every founder of a live firm that still works there is found, and nobody else
    alive = np.flatnonzero(s.view("status") == Status.ALIVE)
    f = s.founder[alive]
    there = (p.employer_kind[f] == Employer.STARTUP) & (p.employer_id[f] == alive)
    assert set(f[there]) == set(founders)


def test_founders_who_never_leave_stay_with_every_live_firm(tiny):
    """ρ_f = 0: a lead founder leaves only when the firm ends or on retirement; with ρ_f = 1 some
    live firms have lost theirs (so the check can fail)."""

    def lost(model):
        p, s = model.state.people, model.startups
        alive = np.flatnonzero(s.view("status") == Status.ALIVE)
        f = s.founder[alive]
        gone = (p.employer_kind[f] != Employer.STARTUP) | (p.employer_id[f] != alive)
        return int((gone & (p.status[f] != PersonStatus.RETIRED)).sum())

    assert lost(_run(tiny, 0.0, months=36)) == 0
    assert lost(_run(tiny, 1.0, months=36)) > 0
