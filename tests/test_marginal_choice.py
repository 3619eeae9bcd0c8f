"""The marginal compute choice (``compute.choice_rule = "marginal"``; docs/ODD.md §7.4 step 5).

A firm buys training GPU-hours until the last one is worth what it pays for it; with a value
∝ c^α the additional share of a voucher that does not run out is 1 − (1 − r)^(1/(1−α)), an
entitlement used up below the firm's own choice is a transfer (nothing additional at the
margin) and demand stays bounded at a 100% rate. These tests check the pure function on
random arrays and the rule inside the model.
"""

from __future__ import annotations

import numpy as np
import pytest
from paired import TINY
from test_vouchers import PROGRAMME

from ecosystem.compute_market import marginal_compute
from ecosystem.run import run_scenario
from ecosystem.scenario import ScenarioError, load_scenario

ALPHA = 0.3
MARGINAL = {"compute.choice_rule": "marginal"}
PROJECTS = {"compute.choice_rule": "projects"}


def _inputs(rng: np.random.Generator, n: int = 200):
    scale = rng.lognormal(3.0, 1.0, n)
    price = rng.lognormal(2.3, 0.3, n)
    return scale, price


def _pay(c, price, rate, ent, free=0.0):
    """What a firm pays for c GPU-hours: the entitlement pays rate × price until it is used."""
    subsidy = np.minimum(rate * price * c, ent) + free * price * c
    return price * c - subsidy


def test_the_last_gpu_hour_is_worth_its_price():
    rng = np.random.default_rng(1)
    scale, price = _inputs(rng)
    c = marginal_compute(scale, ALPHA, price, np.inf)
    assert np.allclose(scale * c ** (ALPHA - 1.0), price)
    # and a firm that buys a bit more or less is worse off (value scale c^α / α less cost)
    net = lambda x: scale * x**ALPHA / ALPHA - price * x  # noqa: E731
    assert (net(c) >= net(1.01 * c)).all() and (net(c) >= net(0.99 * c)).all()


def test_additional_share_of_a_voucher_that_does_not_run_out():
    """c(r) / c(0) = (1 − r)^(−1/(1−α)): the share of voucher-paid GPU-hours that is additional
    is 1 − (1 − r)^(1/(1−α)) — 8.5% at r = 0.06, 33.7% at r = 0.25 for α = 0.3."""
    rng = np.random.default_rng(2)
    scale, price = _inputs(rng)
    c0 = marginal_compute(scale, ALPHA, price, np.inf)
    for r, share in ((0.06, 0.085), (0.25, 0.337)):
        c = marginal_compute(scale, ALPHA, price, np.inf, rate=r, entitlement=np.inf)
        assert np.allclose(1.0 - c0 / c, 1.0 - (1.0 - r) ** (1.0 / (1.0 - ALPHA)))
        assert 1.0 - c0[0] / c[0] == pytest.approx(share, abs=5e-4)


def test_an_entitlement_used_up_below_the_choice_adds_nothing_at_the_margin():
    rng = np.random.default_rng(3)
    scale, price = _inputs(rng)
    c0 = marginal_compute(scale, ALPHA, price, np.inf)
    small = 0.3 * 0.5 * price * c0  # pays for 30% of what the firm buys anyway at r = 0.5
    c = marginal_compute(scale, ALPHA, price, np.inf, rate=0.5, entitlement=small)
    assert np.allclose(c, c0)


def test_an_entitlement_between_the_two_choices_is_spent_exactly():
    """Between c*(list) and c*(list × (1 − r)) the firm buys up to the kink where the
    entitlement ends: every yuan of it is spent and the last GPU-hour costs less than it is
    worth at list price but more than at the voucher price."""
    rng = np.random.default_rng(4)
    scale, price = _inputs(rng)
    r = 0.5
    lo = marginal_compute(scale, ALPHA, price, np.inf)
    hi = marginal_compute(scale, ALPHA, price, np.inf, rate=r, entitlement=np.inf)
    ent = r * price * (lo + hi) / 2
    c = marginal_compute(scale, ALPHA, price, np.inf, rate=r, entitlement=ent)
    assert np.allclose(r * price * c, ent)
    assert ((c > lo) & (c < hi)).all()


def test_liquidity_caps_what_a_firm_pays():
    rng = np.random.default_rng(5)
    scale, price = _inputs(rng)
    want = marginal_compute(scale, ALPHA, price, np.inf, rate=0.4, entitlement=np.inf)
    liquid = rng.random(scale.size) * 1.5 * 0.6 * price * want
    ent = rng.random(scale.size) * 0.4 * price * want
    free = 0.05
    c = marginal_compute(scale, ALPHA, price, liquid, rate=0.4, entitlement=ent, free_rate=free)
    pay = _pay(c, price, 0.4, ent, free)
    assert (pay <= liquid * (1 + 1e-9) + 1e-9).all()
    bound = c < marginal_compute(scale, ALPHA, price, np.inf, 0.4, ent, free) * (1 - 1e-9)
    assert bound.any() and np.allclose(pay[bound], liquid[bound])  # spends it all where it binds


def test_more_rate_entitlement_or_cash_never_buys_less():
    """Property over random arrays (seeded loop): c is non-decreasing in the entitlement and
    the budget, and in the rate while the entitlement does not run out; zero rate is the
    no-voucher choice. (With a fixed entitlement a higher rate can buy less: the entitlement
    ends at fewer GPU-hours, below the firm's own choice, and the margin is at list price.)"""
    rng = np.random.default_rng(6)
    for _ in range(200):
        scale, price = _inputs(rng, 50)
        liquid = rng.lognormal(8.0, 1.5, 50) * (rng.random(50) < 0.9)
        ent = rng.lognormal(6.0, 2.0, 50)
        r1 = rng.random(50) * 0.8
        r2 = r1 + rng.random(50) * (1.0 - r1)
        base = marginal_compute(scale, ALPHA, price, liquid)
        assert np.array_equal(marginal_compute(scale, ALPHA, price, liquid, 0.0, ent), base)
        c1 = marginal_compute(scale, ALPHA, price, liquid, r1, ent)
        assert (c1 >= base * (1 - 1e-12)).all()
        u1 = marginal_compute(scale, ALPHA, price, liquid, r1, np.inf)
        assert (marginal_compute(scale, ALPHA, price, liquid, r2, np.inf) >= u1 * (1 - 1e-12)).all()
        assert (
            marginal_compute(scale, ALPHA, price, liquid, r1, 2 * ent) >= c1 * (1 - 1e-12)
        ).all()
        assert (
            marginal_compute(scale, ALPHA, price, 2 * liquid, r1, ent) >= c1 * (1 - 1e-12)
        ).all()


def test_demand_is_bounded_at_a_full_rate():
    """At r = 1 the entitlement, not the price, bounds what is bought: the firm takes the free
    GPU-hours up to the kink and buys beyond it only what is worth the list price."""
    rng = np.random.default_rng(7)
    scale, price = _inputs(rng)
    ent = rng.lognormal(8.0, 1.0, scale.size)
    c = marginal_compute(scale, ALPHA, price, np.inf, rate=1.0, entitlement=ent)
    c_list = marginal_compute(scale, ALPHA, price, np.inf)
    assert np.isfinite(c).all()
    assert np.allclose(c, np.maximum(ent / price, c_list))


def test_no_return_to_compute_buys_nothing():
    rng = np.random.default_rng(8)
    scale, price = _inputs(rng)
    assert (marginal_compute(scale, 0.0, price, np.inf, rate=0.5, entitlement=1e9) == 0).all()
    assert (marginal_compute(0.0 * scale, ALPHA, price, np.inf) == 0).all()


@pytest.fixture(scope="module")
def marginal_run():
    return run_scenario(load_scenario(TINY, {**PROGRAMME, **MARGINAL}), seed=3, months=36)


def test_the_ledger_adds_up_and_vouchers_are_partly_additional(marginal_run):
    """Inside the model: awarded = additional + deadweight + unused + outstanding, and under the
    marginal rule part of what the entitlement pays for training is additional."""
    vp = marginal_run.voucher_programmes
    compute = vp[vp["programme"] == "compute"]
    parts = compute[["additional_yuan", "deadweight_yuan", "unused_yuan", "outstanding_yuan"]]
    assert np.allclose(parts.sum(axis=1), compute["awarded_yuan"], rtol=1e-9, atol=1e-3)
    assert compute["additional_yuan"].sum() > 0
    assert marginal_run.kpis["voucher_additional_gpu_h"].sum() > 0


def test_the_rule_changes_what_firms_train():
    """The two rules differ (training from value vs. the sector-sized pool) and the marginal run
    is reproducible from its seed."""
    projects = run_scenario(load_scenario(TINY, {**PROGRAMME, **PROJECTS}), seed=3, months=12)
    marginal = run_scenario(load_scenario(TINY, {**PROGRAMME, **MARGINAL}), seed=3, months=12)
    again = run_scenario(load_scenario(TINY, {**PROGRAMME, **MARGINAL}), seed=3, months=12)
    col = "compute_sold_gpu_h"
    assert marginal.kpis[col].sum() != projects.kpis[col].sum()
    assert marginal.kpis[col].equals(again.kpis[col])


@pytest.mark.parametrize(
    "change, field",
    [
        ({"startups.compute_elasticity": 1.0}, "compute_elasticity"),
        ({"compute.price_adjust_per_month": 0.045}, "price_adjust_per_month"),
        ({"compute.choice_rule": "continuous"}, "choice_rule"),
    ],
)
def test_unstable_or_unknown_settings_are_rejected(change, field):
    """0.045 passes the projects rule's condition (2·0.045·9.8 = 0.88) but not the marginal
    rule's, whose training demand adds 1/(1 − α) to the slope."""
    load_scenario(TINY, {**PROJECTS, **{k: v for k, v in change.items() if "choice" not in k}})
    with pytest.raises(ScenarioError, match=field):
        load_scenario(TINY, {**MARGINAL, **change})


def test_voucher_paid_inference_frees_liquidity_under_the_marginal_rule(monkeypatch):
    """As under the projects rule (tests/test_vouchers.py): the budget of the with-voucher call
    is the no-voucher budget plus what the entitlement pays for inference, never less."""
    import ecosystem.compute_market as cm

    calls = []

    def spy(scale, alpha, price, liquid, *args, **kw):
        calls.append(np.array(liquid, dtype=np.float64, copy=True))
        return marginal_compute(scale, alpha, price, liquid, *args, **kw)

    monkeypatch.setattr(cm, "marginal_compute", spy)
    run_scenario(load_scenario(TINY, {**PROGRAMME, **MARGINAL}), seed=3, months=36)
    assert len(calls) % 2 == 0 and calls
    freed = np.concatenate([v - p for p, v in zip(calls[::2], calls[1::2], strict=True)])
    assert (freed >= 0).all() and (freed > 0).sum() > 0
