"""The quality ceiling near the frontier (docs/ODD.md 7.5, ``startups.catchup_ceiling`` κ;
docs/design/cohort-drift.md, candidate A): capability gains shrink by max(0, 1 − K / ceiling),
ceiling = κ × F(t) × σ_K / δ, and a firm values the capability it buys with the same factor.
Off (κ = 0) in every preset until it is calibrated; the golden tests hold the default fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
from paired import TINY

from ecosystem import AIEcosystem, compute_market, economics, load_scenario
from ecosystem.state import Params


def quality(model: AIEcosystem) -> tuple[np.ndarray, np.ndarray]:
    """Live firms' quality in units of a unit firm's steady state at the frontier, and age."""
    st, par = model.state, model.params
    c = par.config.startups
    unit = c.capability_scale / c.capability_depreciation_per_month  # κ = 1's ceiling at t = 0
    alive = st.alive_startups()
    q = st.startups.capability[alive] / (unit * economics.frontier(par, st.month))
    return q, st.month - st.startups.founded_month[alive]


def run(kappa: float, seed: int) -> AIEcosystem:
    scenario = load_scenario(TINY, {"startups.catchup_ceiling": kappa})
    model = AIEcosystem(scenario, rng=seed)
    model.run_for(scenario.months)
    return model


def test_the_factor_is_one_without_a_ceiling_and_falls_to_zero_at_it():
    par = Params.from_scenario(load_scenario(TINY))
    assert economics.catchup_factor(par, 24, np.array([0.0, 1e6])) == 1.0
    assert economics.quality_ceiling(par, 24) == np.inf
    par = Params.from_scenario(load_scenario(TINY, {"startups.catchup_ceiling": 4.0}))
    c = par.config.startups
    ceiling = economics.quality_ceiling(par, 24)
    assert ceiling == pytest.approx(
        4.0 * economics.frontier(par, 24) * c.capability_scale / c.capability_depreciation_per_month
    )
    k = np.array([0.0, 0.5 * ceiling, ceiling, 2 * ceiling])
    assert economics.catchup_factor(par, 24, k) == pytest.approx([1.0, 0.5, 0.0, 0.0])


@pytest.mark.parametrize("seed", [1, 2])
def test_no_firm_outgrows_the_ceiling_and_incumbents_stay_nearer_entrants(seed):
    free, capped = quality(run(0.0, seed)), quality(run(2.0, seed))
    assert free[0].max() > 2.0  # without a ceiling some firm compounds past it (the test can fail)
    assert capped[0].max() <= 2.0
    old = lambda q_age: q_age[0][q_age[1] >= 36].mean()  # noqa: E731
    assert old(capped) < old(free)


def test_a_firm_at_its_ceiling_values_no_more_capability():
    model = run(2.0, 1)
    st, par = model.state, model.params
    firms = st.alive_startups()
    firms = firms[st.startups.revenue[firms] > 0][:5]
    assert firms.size == 5
    st.startups.capability[firms[0]] = economics.quality_ceiling(par, st.month)
    worth = compute_market.yuan_per_capability(st, par, firms)
    assert worth[0] == 0.0 and (worth[1:] > 0).all()


def test_steady_state_under_the_ceiling_matches_the_closed_form():
    """K ← K(1 − δ) + g · factor(K) at a fixed gain g tends to g C / (δ C + g) (docs/ODD.md 7.5)."""
    par = Params.from_scenario(load_scenario(TINY, {"startups.catchup_ceiling": 3.0}))
    delta, month = par.config.startups.capability_depreciation_per_month, 0
    ceiling = economics.quality_ceiling(par, month)
    for g in (0.1 * ceiling * delta, ceiling * delta, 10 * ceiling * delta):
        k = 0.0
        for _ in range(20000):
            k = k * (1 - delta) + g * float(economics.catchup_factor(par, month, np.array([k]))[0])
        assert k == pytest.approx(g * ceiling / (delta * ceiling + g), rel=1e-6)
