"""Mobile founders (design §6.2, step 10.8): one national flow Φ of founders a year chooses
among cities with weight X^ε_C · (VC per startup)^ε_VC · (1 + grant / founding cash); the flow is
conserved; a single city sees its expected share against the other cities' derived weight."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from paired import paired_effect

from ecosystem import founding
from ecosystem.model import AIEcosystem
from ecosystem.scenario import ScenarioError, load_scenario

DUO = str(Path(__file__).parent / "presets" / "duo.toml")
#: Many mobile founders, so that six months of a small country show the split clearly.
MANY = {"national.mobile_founders_per_year": 3000}
SEEDS = range(1, 7)


def mobile_founders_in(city: str):
    def outcome(result) -> float:
        k = result.kpis
        return float(k.loc[k.region == city, "mobile_founders"].sum())

    outcome.__name__ = f"mobile_founders_{city}"
    return outcome


def effect_on_wenzhou(change: dict, base_change: dict | None = None):
    return paired_effect(
        DUO, change, SEEDS, mobile_founders_in("wenzhou"), months=6,
        base_change={**MANY, **(base_change or {})},
    )  # fmt: skip


def test_grant_draws_mobile_founders():
    """A startup grant as large as a founder's savings draws more mobile founders."""
    eff = effect_on_wenzhou(
        {"regions.wenzhou.policy.startup_grant_yuan": 7e5},
        {"regions.wenzhou.policy.startup_grant_yuan": 0.0,
         "regions.wenzhou.policy.startup_grant_budget_yuan": 1e10},
    )  # fmt: skip
    assert eff.p_greater < 0.05, eff


def test_vc_per_startup_draws_mobile_founders():
    """More venture money per startup draws more mobile founders; not when neither ε_VC nor the
    cluster pull (whose index counts VC raised) lets money matter."""
    more_vc = {"regions.wenzhou.market.vc_pool_yuan_per_year": 2e9}
    eff = effect_on_wenzhou(more_vc)
    assert eff.p_greater < 0.05, eff
    deaf = {"national.founder_vc_elasticity": 0.0, "labour.cluster_elasticity": 0.0,
            "regions.wenzhou.policy.startup_grant_yuan": 0.0,
            "regions.ningbo.policy.startup_grant_yuan": 0.0}  # fmt: skip
    flat = effect_on_wenzhou(more_vc, deaf)
    assert flat.p_greater > 0.05, flat


def test_cluster_draws_mobile_founders():
    """A larger cluster (here a larger AI workforce) draws more mobile founders (ε_VC = 0 in
    both arms: more people also found more firms, which crowds the VC per startup)."""
    eff = effect_on_wenzhou(
        {"regions.wenzhou.talent.initial_job_seekers": 20000},
        {"national.founder_vc_elasticity": 0.0},
    )
    assert eff.p_greater < 0.05, eff


def test_weight_has_each_elasticity():
    """Each term of the weight, alone: X^ε_C, (VC per startup)^ε_VC and 1 + grant / cash."""
    model = AIEcosystem(load_scenario(DUO), rng=1)
    model.step()
    st, par = model.state, model.params
    r = model.region_keys.index("wenzhou")
    w0 = founding.mobile_founder_weights(st, par)[r]
    x0 = founding.cluster_index(st, par)[r]
    lab, nat = par.config.labour, par.config.national
    # Workforce × 4: X rises by 4^w_L (weights normalised), the weight by that ^ε_C.
    st.people_by_kind[r] *= 4
    w_l = lab.cluster_weight_workforce / (
        lab.cluster_weight_startups + lab.cluster_weight_workforce + lab.cluster_weight_vc
    )
    assert founding.cluster_index(st, par)[r] == pytest.approx(x0 * 4**w_l)
    w1 = founding.mobile_founder_weights(st, par)[r]
    assert w1 == pytest.approx(w0 * 4 ** (w_l * lab.cluster_elasticity))
    st.people_by_kind[r] //= 4
    # VC pool: v = (pool + seed round) / (N + 1) scales the weight by its ratio ^ε_VC.
    pool = st.vc_pools[r]
    seed = par.config.startups.round_size_yuan[0]
    before = pool.annual
    pool.annual = 3 * before + 2 * seed  # (pool + seed) × 3
    w2 = founding.mobile_founder_weights(st, par)[r]
    assert w2 == pytest.approx(w0 * 3**nat.founder_vc_elasticity)
    pool.annual = before
    # A grant equal to the founder's own cash doubles the grant term while its budget lasts.
    gov, cash = st.governments[r], par.config.startups.founding_cash_yuan
    g0 = gov.startup_grant_on_offer()
    gov.policy = gov.policy.model_copy(update={"startup_grant_yuan": cash})
    assert gov.startup_grant_on_offer() == cash  # the budget has money left in month 1
    w3 = founding.mobile_founder_weights(st, par)[r]
    assert w3 == pytest.approx(w0 / (1 + g0 / cash) * 2)


def test_national_flow_is_conserved():
    """Every founder of the month's national draw lands somewhere: in the national run (no
    unmodelled cities) all in modelled cities, in a single-city preset the rest elsewhere."""
    for scenario in (DUO, "hangzhou"):
        model = AIEcosystem(load_scenario(scenario, MANY), rng=3)
        model.step()
        phi = model.params.config.national.mobile_founders_per_year / 12
        for seed in range(20):
            counts = founding.mobile_founder_destinations(
                model.state, model.params, np.random.default_rng(seed)
            )
            assert counts.sum() == np.random.default_rng(seed).poisson(phi)
            if scenario == DUO:
                assert counts[-1] == 0
            hubs = [r for r, k in enumerate(model.region_kinds) if k == "hub"]
            assert counts[hubs].sum() == 0
    # Over a run, the duo's cities receive Φ a year between them (Poisson).
    model = AIEcosystem(load_scenario(DUO, MANY), rng=1)
    for _ in range(12):
        model.step()
    got = model.kpis()["mobile_founders"].sum()
    assert abs(got - 3000) < 4 * np.sqrt(3000), got


def test_single_city_sees_its_expected_share():
    """A single city with weight w against the others' derived weight W receives Φ·w/(w + W)."""
    model = AIEcosystem(load_scenario("hangzhou", MANY), rng=2)
    model.step()
    nat = model.params.config.national
    assert nat.mobile_founder_rival_weight > 0  # derived by aieco derive-background
    w = founding.mobile_founder_weights(model.state, model.params)
    rival = founding.rival_weight(model.params, model.state.month)
    r = model.region_keys.index("hangzhou")
    expected = nat.mobile_founders_per_year / 12 * w[r] / (w.sum() + rival)
    rng = np.random.default_rng(0)
    draws = [founding.mobile_founder_destinations(model.state, model.params, rng)[r]
             for _ in range(2000)]  # fmt: skip
    assert np.mean(draws) == pytest.approx(expected, rel=0.05)


def test_migrant_founder_share_is_gone():
    """The per-city founding share of migrants (once set so that 5,000 was open) is deleted."""
    with pytest.raises(ScenarioError, match="migrant_founder_share"):
        load_scenario("hangzhou", {"regions.hangzhou.talent.migrant_founder_share": 0.016})
