"""Value from capability and compute (issue 10, step 10.3; docs/ODD.md 7.5 and 7.6).

Each test asserts a mechanism's sign or a closed form, never a size: quality raises startups'
total revenue, entry partly expands the market, adoption programmes grow it, compute has value,
the efficiency trend lowers the compute a unit of quality needs, and the application-led and
infrastructure-led strategies act through their own channels. Model-level tests pair runs on
common seeds (``tests/paired.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
from paired import TINY, paired_effect, paired_effects

from ecosystem import economics, load_scenario
from ecosystem.state import Params

SEEDS = range(1, 9)


def params(**overrides) -> Params:
    return Params.from_scenario(load_scenario(TINY, overrides=overrides or None))


def one_market(par: Params, n: int = 50, seed: int = 0, budget: float = 1e8):
    """n firms in one (region, sector) market with spread-out capabilities."""
    rng = np.random.default_rng(seed)
    k = rng.lognormal(np.log(0.05), 0.8, n)
    return k, np.zeros(n, dtype=np.int64), np.array([budget])


def total(par: Params, k, key, spending, month: int = 0) -> float:
    v = economics.attraction(par, k, month)
    return float(economics.target_revenue(v, key, spending, par).sum())


# --- demand: closed forms on the nested logit ---------------------------------------------------
@pytest.mark.parametrize("rho", [0.2, 0.5, 0.8])
@pytest.mark.parametrize("eta", [0.5, 1.0, 2.0])
def test_quality_raises_total_revenue(rho, eta):
    par = params(**{"demand.nest_rho": rho, "demand.quality_elasticity": eta})
    k, key, spending = one_market(par)
    base = total(par, k, key, spending)
    assert total(par, 1.5 * k, key, spending) > base
    # d log ΣR* / d log K (common to all firms) = ρ η (1 − S)
    h = 1e-4
    slope = (np.log(total(par, k * (1 + h), key, spending)) - np.log(base)) / np.log1p(h)
    inclusive = economics.attraction(par, k, 0).sum()
    share = float(economics.startup_share(np.array([inclusive]), par)[0])
    assert 0 < share < 1
    assert slope == pytest.approx(rho * eta * (1 - share), abs=1e-3)


def test_the_frontier_erodes_a_standing_firms_revenue():
    par = params()
    k, key, spending = one_market(par)
    assert total(par, k, key, spending, month=24) < total(par, k, key, spending, month=0)


@pytest.mark.parametrize("rho", [0.2, 0.8])
def test_entry_partly_expands_market(rho):
    """Duplicating every firm raises startups' total revenue but lowers revenue per firm."""
    par = params(**{"demand.nest_rho": rho})
    k, key, spending = one_market(par)
    n = k.size
    before = total(par, k, key, spending)
    after = total(par, np.concatenate([k, k]), np.concatenate([key, key]), spending)
    assert after > before  # entry brings customers (not a fixed pool)
    assert after / (2 * n) < before / n  # but each firm gets less: it also steals
    # The more dissimilar the nest (higher ρ), the more entry expands the market.
    low = params(**{"demand.nest_rho": rho / 2})
    gain_low = total(low, np.concatenate([k, k]), np.concatenate([key, key]), spending) / total(
        low, k, key, spending
    )
    assert after / before > gain_low


def test_revenue_follows_attraction_within_a_market_without_an_even_split():
    """No niche pool: a firm's target is proportional to its quality^η, so a weak firm gets a
    proportionally small share instead of an even slice."""
    par = params(**{"demand.quality_elasticity": 1.5})
    k, key, spending = one_market(par, n=20)
    v = economics.attraction(par, k, 0)
    target = economics.target_revenue(v, key, spending, par)
    np.testing.assert_allclose(target / target.sum(), v / v.sum(), rtol=1e-12)


def test_markets_are_separate_and_empty_markets_earn_nothing():
    par = params()
    k = np.array([0.1, 0.2, 0.3])
    key = np.array([0, 0, 2])
    spending = np.array([1e8, 5e7, 2e8])
    v = economics.attraction(par, k, 0)
    target = economics.target_revenue(v, key, spending, par)
    assert target[2] == pytest.approx(2e8 * economics.startup_share(v[2:], par)[0])
    assert target[:2].sum() < 1e8 and np.all(target > 0)


# --- adoption ------------------------------------------------------------------------------------
def test_bass_adoption_rises_stays_bounded_and_a_programme_speeds_it():
    par = params()
    a = np.array([0.0, 0.25, 0.9999])
    nxt = economics.bass_step(a, np.zeros(3), par)
    assert np.all(nxt >= a) and np.all(nxt <= 1.0)
    with_programme = economics.bass_step(a, np.full(3, 0.01), par)
    assert np.all(with_programme[:2] > nxt[:2])
    no_pull = params(**{"demand.adoption_programme_pull": 0.0})
    np.testing.assert_array_equal(economics.bass_step(a, np.full(3, 0.01), no_pull), nxt)


def test_hangzhou_spending_grows_as_the_sources_say_in_year_one():
    """Derived check of the preset (not a fit): market growth per adopter and year-1 Bass adoption
    growth together give Hangzhou's +30% AI core revenue of 2025 ([S104][S68])."""
    sc = load_scenario("hangzhou")
    par = Params.from_scenario(sc)
    a = economics.initial_adoption(par)
    r = par.region_keys.index("hangzhou")
    start = economics.market_potential(par, 0)[r] * a[r]
    for _ in range(12):
        a = economics.bass_step(a, np.zeros_like(a), par)
    growth = economics.market_potential(par, 12)[r] * a[r] / start - 1
    assert 0.25 < growth < 0.35


def test_hangzhou_startup_share_in_2025_is_inside_the_prior():
    """The national outside option V0 gives Hangzhou's 2025 stock a startup share of AI spending
    inside the prior range S₀ ∈ [3%, 30%] (the derivation in common/national.toml)."""
    from ecosystem import AIEcosystem

    m = AIEcosystem(load_scenario("hangzhou", overrides={"meta.years": 1}), rng=1)
    st, par = m.state, m.params
    r = par.region_keys.index("hangzhou")
    s = st.startups
    alive = st.alive_startups()
    economics.update_revenue(st, par, adjust=1.0)
    share = s.revenue[alive].sum() / st.ai_spending[r]
    assert 0.03 < share < 0.30


# --- capability ----------------------------------------------------------------------------------
def test_more_compute_more_capability_with_diminishing_returns():
    par = params()
    c = np.array([100.0, 200.0, 400.0])
    gain = economics.capability_gain(par, 0, c, np.ones(3), np.ones(3))
    assert gain[1] > gain[0] and gain[2] > gain[1]
    assert gain[1] < 2 * gain[0]
    assert (gain[2] - gain[1]) / 200 < (gain[1] - gain[0]) / 100  # per GPU-h


def test_efficiency_lowers_compute_needed_to_hold_quality():
    slow = params(**{"national.efficiency_gain_per_year": 0.1})
    fast = params(**{"national.efficiency_gain_per_year": 0.4})
    for month in (12, 60):
        assert economics.compute_to_hold_quality(
            fast, month, 0.2
        ) < economics.compute_to_hold_quality(slow, month, 0.2)
    # Export controls speed the efficiency trend (H10): less compute for the same quality.
    free = params(**{"national.export_control_strength": 0.0})
    controlled = params(**{"national.export_control_strength": 1.0})
    assert economics.compute_to_hold_quality(
        controlled, 36, 0.2
    ) < economics.compute_to_hold_quality(free, 36, 0.2)
    # The frontier moves: holding quality needs more compute when it grows faster.
    par = params()
    quick = params(**{"demand.frontier_growth_per_year": 0.6})
    assert economics.compute_to_hold_quality(quick, 36, 0.2) > economics.compute_to_hold_quality(
        par, 36, 0.2
    )


def test_capability_steady_state_matches_the_closed_form():
    """Iterating K ← K(1 − δ) + gain at fixed inputs converges to the quality the closed form
    ``compute_to_hold_quality`` inverts."""
    par = params()
    month, quality = 0, 0.2
    c = economics.compute_to_hold_quality(par, month, quality)
    gain = economics.capability_gain(par, month, np.array([c]), np.ones(1), np.ones(1))[0]
    k = 0.0
    for _ in range(5000):
        k = k * (1 - par.config.startups.capability_depreciation_per_month) + gain
    assert k / economics.frontier(par, month) == pytest.approx(quality, rel=1e-6)


# --- model level: paired on common seeds ---------------------------------------------------------
def startup_revenue(result) -> float:
    return float(result.kpis["revenue_yuan"].sum())


def capability(result) -> float:
    k = result.kpis
    last = k[k["month"] == k["month"].max()]
    return float((last["capability_mean"] * last["startups_alive"]).sum())


def adoption_end(result) -> float:
    k = result.kpis
    return float(k[k["month"] == k["month"].max()]["adoption_share"].max())


def price_mean(result) -> float:
    """Mean list price of the city's data centers over the run."""
    k = result.kpis
    return float(k[k["region"] == "ningbo"]["dc_price_yuan"].astype(float).mean())


def test_higher_quality_raises_total_startup_revenue_in_a_run():
    sigma = load_scenario(TINY).startups.capability_scale
    eff = paired_effect(
        TINY, {"startups.capability_scale": sigma * 1.5}, SEEDS, startup_revenue, months=36
    )
    assert eff.p_greater < 0.05, eff


def test_adoption_programme_raises_total_startup_revenue():
    base = {"regions.ningbo.policy.adoption_programme_yuan_per_year": 0.0}
    change = {"regions.ningbo.policy.adoption_programme_yuan_per_year": 2.0e8}
    eff = paired_effect(TINY, change, SEEDS, startup_revenue, base_change=base)
    assert eff.p_greater < 0.05, eff


def test_compute_has_value():
    """Taking training compute away (candidate projects a millionth of the sector intensity)
    lowers capability and startups' revenue. Since step 10.4 firms choose projects: where
    compute is irrelevant to capability (α = 0) they stop buying it and keep the money, so α = 0
    no longer isolates compute's value (and with α = 0 every firm produces as if it bought
    ``capability_compute_unit_gpu_h``)."""
    change = {"compute.candidate_scale": 1e-6}
    for eff in paired_effects(TINY, change, SEEDS, (capability, startup_revenue), months=36):
        assert eff.p_less < 0.05, eff


def test_application_led_strategy_acts_through_adoption():
    """Hangzhou's channel (H7): an adoption programme raises adoption and revenue; it reaches
    compute prices only through the firms' later growth (second order)."""
    base = {"regions.ningbo.policy.adoption_programme_yuan_per_year": 0.0}
    change = {"regions.ningbo.policy.adoption_programme_yuan_per_year": 2.0e8}
    adoption = paired_effect(TINY, change, range(1, 3), adoption_end, months=24, base_change=base)
    assert np.all(adoption.diffs > 0), adoption
    prices = paired_effect(TINY, change, range(1, 3), price_mean, months=12, base_change=base)
    assert np.all(np.abs(prices.diffs) < 0.01 * prices.base), prices


def test_infrastructure_led_strategy_acts_through_compute_prices():
    """Beijing's channel (H7): public data-centre investment lowers compute prices and leaves
    adoption exactly where it was."""
    change = {"regions.ningbo.policy.dc_investment_yuan_per_year": 2.0e9}
    prices, adoption = paired_effects(TINY, change, range(1, 4), (price_mean, adoption_end), 36)
    assert np.all(prices.diffs < 0), prices
    np.testing.assert_array_equal(adoption.diffs, 0.0)


# --- the capability loop: subcritical over the documented ranges --------------------------------
LOOP = ("demand.quality_elasticity", "startups.compute_elasticity", "startups.talent_elasticity")


def test_documented_ranges_keep_the_capability_loop_subcritical():
    """g = η(α + β) at every corner of the three documented ranges stays at most 0.9, so no
    draw of the calibration prior, the assumption draws or the GSA has firms without a finite
    size (docs/design/superstar-firms.md, recommendation B)."""
    import itertools

    from ecosystem.scenario import load_document

    doc = load_document("hangzhou")
    ranges = [doc[section][name]["range"] for section, name in (p.split(".") for p in LOOP)]
    corners = [eta * (a + b) for eta, a, b in itertools.product(*ranges)]
    assert max(corners) <= 0.9 + 1e-12
    assert min(corners) > 0


def test_a_supercritical_loop_warns():
    import warnings

    from ecosystem.scenario import ScenarioWarning, loop_gain, supercritical_capability_loop

    with warnings.catch_warnings():
        warnings.simplefilter("error", ScenarioWarning)
        sc = load_scenario(TINY)
    assert loop_gain(sc) == pytest.approx(1.0 * (0.3 + 0.5))
    assert supercritical_capability_loop(sc) == []
    with pytest.warns(ScenarioWarning, match=r"= 1\.2 ≥ 1: the revenue → staff → capability"):
        hot = load_scenario(TINY, overrides={"demand.quality_elasticity": 1.5})
    assert loop_gain(hot) == pytest.approx(1.2)
