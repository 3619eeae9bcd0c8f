"""Compute projects and vouchers as entitlements (step 10.4; docs/ODD.md §7.4).

Additionality, deadweight and unused vouchers are measured inside the model (the same firm, the
same month, the same project draws, without the voucher), not typed in; these tests check the
accounting identity, the properties of the choice rule and the mechanisms issue 10 names.
"""

from __future__ import annotations

import numpy as np
import pytest
from paired import TINY, PairedEffect

from ecosystem.compute_market import choose, programmes
from ecosystem.run import run_scenario
from ecosystem.scenario import ScenarioError, load_scenario
from experiments.cli import main

#: Ningbo (the tiny city) gets a Hangzhou-style programme; the hubs' programmes are off so that
#: every entitlement is the city's.
PROGRAMME = {
    "regions.ningbo.policy.voucher_rate": 0.3,
    "regions.ningbo.policy.voucher_rate_sme": 0.5,
    "regions.ningbo.policy.voucher_sme_contract_max_yuan": 5e5,
    "regions.ningbo.policy.voucher_budget_yuan": 3e7,
    "regions.ningbo.policy.voucher_start_year": 2025,
    "regions.qingyang.policy.voucher_budget_yuan": 0.0,
    "regions.gui_an.policy.voucher_budget_yuan": 0.0,
}

#: The same programme under the projects rule, for the tests that spy on its choice.
PROJECTS = {**PROGRAMME, "compute.choice_rule": "projects"}


def _random_choice_inputs(rng: np.random.Generator, n: int = 50, j: int = 4):
    price = rng.lognormal(8.0, 1.0, (n, j))
    ratio = -np.sort(-rng.lognormal(0.0, 1.0, (n, j)), axis=1)  # value per yuan, best first
    value = ratio * price
    order = np.argsort(-(value / price), axis=1)
    price, value = np.take_along_axis(price, order, 1), np.take_along_axis(value, order, 1)
    liquid = rng.lognormal(9.0, 1.5, n) * (rng.random(n) < 0.9)
    return value, price, liquid


def _record_choices(monkeypatch) -> tuple[list, list]:
    """Spy on ``compute_market.choose`` for a run: (value, price, liquid) of each month's
    choice without vouchers (called with no rates) and with them, in call order."""
    import ecosystem.compute_market as cm

    plain, voucher = [], []

    def spy(value, price, liquid, *args, **kw):
        seen = (np.array(value), np.array(price), np.array(liquid, copy=True))
        (voucher if args or kw else plain).append(seen)
        return choose(value, price, liquid, *args, **kw)

    monkeypatch.setattr(cm, "choose", spy)
    return plain, voucher


def test_higher_rate_buys_a_superset():
    """Property over random arrays (seeded loop; hypothesis is not installed): with an
    entitlement that does not bind, buy(r₂) ⊇ buy(r₁) for r₂ > r₁, and buy(0) ⊆ buy(r)."""
    rng = np.random.default_rng(10_4)
    for _ in range(300):
        value, price, liquid = _random_choice_inputs(rng)
        r1, r2 = np.sort(rng.random(2))
        rates1 = r1 * rng.random(value.shape[0])
        rates2 = rates1 + (r2 - r1) * rng.random(value.shape[0])
        b1, _ = choose(value, price, liquid, rate=rates1, entitlement=np.inf)
        b2, _ = choose(value, price, liquid, rate=rates2, entitlement=np.inf)
        b0, _ = choose(value, price, liquid)
        assert not (b1 & ~b2).any()
        assert not (b0 & ~b1).any()
        # purchases are a prefix of the firm's order
        assert (np.diff(b2.astype(int), axis=1) <= 0).all()


def test_zero_rate_buys_what_it_would_anyway():
    rng = np.random.default_rng(3)
    value, price, liquid = _random_choice_inputs(rng)
    with_zero, sub = choose(value, price, liquid, rate=0.0, entitlement=1e12)
    without, _ = choose(value, price, liquid)
    assert (with_zero == without).all() and (sub == 0).all()


def test_demand_is_bounded_at_a_full_rate():
    """At r = 1 a firm buys at most every candidate with a positive value: no 1/(1 − r)."""
    rng = np.random.default_rng(4)
    value, price, liquid = _random_choice_inputs(rng)
    value[:, -1] = 0.0  # a worthless project is not bought even when it is free
    buy, sub = choose(value, price, liquid, rate=1.0, entitlement=np.inf)
    assert buy.sum() <= buy.size and not buy[:, -1].any()
    assert np.allclose(sub[buy], price[buy])  # the voucher pays all, nothing more


def test_entitlement_caps_the_subsidy():
    rng = np.random.default_rng(5)
    value, price, liquid = _random_choice_inputs(rng)
    ent = rng.random(value.shape[0]) * price.sum(axis=1) * 0.3
    buy, sub = choose(value, price, liquid, rate=0.8, entitlement=ent)
    assert (sub.sum(axis=1) <= ent + 1e-6).all()


@pytest.fixture(scope="module")
def tiny_run():
    return run_scenario(load_scenario(TINY, PROGRAMME), seed=3)


def test_awarded_is_additional_plus_deadweight_plus_unused(tiny_run):
    vp = tiny_run.voucher_programmes
    assert not vp.empty and (vp["programme"] == "compute").any()
    parts = vp[["additional_yuan", "deadweight_yuan", "unused_yuan", "outstanding_yuan"]]
    assert np.allclose(parts.sum(axis=1), vp["awarded_yuan"], rtol=1e-9, atol=1e-3)
    last = tiny_run.scenario.meta.start_year + tiny_run.scenario.meta.years - 1
    expired = vp[(vp["programme"] == "compute") & (vp["award_year"] < last - 1)]
    assert not expired.empty and (expired["outstanding_yuan"] == 0).all()
    shares = expired[["additional_share", "deadweight_share", "unused_share"]].sum(axis=1)
    assert np.allclose(shares, 1.0)
    # inference is a part of the deadweight, and the model's firms do buy inference with vouchers
    assert (vp["inference_yuan"] <= vp["deadweight_yuan"] * (1 + 1e-9) + 1e-6).all()
    assert (vp["inference_yuan"] >= 0).all() and vp["inference_yuan"].sum() > 0
    assert (vp.loc[vp["programme"] == "data", "inference_yuan"] == 0).all()
    assert ((vp["take_up"].dropna() >= 0) & (vp["take_up"].dropna() <= 1)).all()
    # the KPI counters add up to the same money
    k = tiny_run.kpis
    assert k["voucher_awarded_yuan"].sum() == pytest.approx(
        vp.loc[vp["programme"] == "compute", "awarded_yuan"].sum()
    )
    compute = vp["programme"] == "compute"
    for part in ("additional", "deadweight", "inference"):
        assert k[f"voucher_{part}_yuan"].sum() == pytest.approx(
            vp.loc[compute, f"{part}_yuan"].sum()
        )


def test_a_training_only_programme_pays_nothing_for_inference(tiny_run):
    """voucher_pays_inference = false: the entitlement pays only for training projects, so none
    of its money is inference; it still pays (the firms train), and the default programme of the
    same run does pay for inference (test above)."""
    only = run_scenario(
        load_scenario(TINY, {**PROGRAMME, "regions.ningbo.policy.voucher_pays_inference": False}),
        seed=3,
    )
    vp = only.voucher_programmes
    compute = vp[vp["programme"] == "compute"]
    assert (compute["inference_yuan"] == 0).all() and only.kpis["voucher_inference_yuan"].sum() == 0
    paid = compute["additional_yuan"] + compute["deadweight_yuan"]
    assert paid.sum() > 0
    parts = compute[["additional_yuan", "deadweight_yuan", "unused_yuan", "outstanding_yuan"]]
    assert np.allclose(parts.sum(axis=1), compute["awarded_yuan"], rtol=1e-9, atol=1e-3)
    # firms expect less from it (their bill less inference), so they ask for less: seen where
    # the budget does not run out (the tiny run's ¥30m a year does under the marginal rule)
    ample = {**PROGRAMME, "regions.ningbo.policy.voucher_budget_yuan": 3e9}
    asked = {}
    for pays in (True, False):
        change = {**ample, "regions.ningbo.policy.voucher_pays_inference": pays}
        vp = run_scenario(load_scenario(TINY, change), seed=3, months=12).voucher_programmes
        asked[pays] = vp.loc[vp["programme"] == "compute", "awarded_yuan"].sum()
    assert 0 < asked[False] < asked[True] < 3e9


def test_budget_is_first_come_first_served_and_never_over_committed():
    small = {**PROGRAMME, "regions.ningbo.policy.voucher_budget_yuan": 5e5}
    run = run_scenario(load_scenario(TINY, small), seed=4, months=24)
    vp = run.voucher_programmes.query("programme == 'compute'")
    assert (vp["awarded_yuan"] <= 5e5 * (1 + 1e-12)).all()
    assert (vp["awarded_yuan"] > 0.99 * 5e5).any()  # the budget is committed ...
    assert (vp["applicants"] > vp["awards"]).any()  # ... and later applicants go unserved
    spent = run.kpis.query("region == 'ningbo'")["voucher_spent_yuan"].sum()
    assert spent <= vp["awarded_yuan"].sum() + 1e-6


def test_take_up_falls_with_the_application_cost():
    cheap = run_scenario(
        load_scenario(TINY, {**PROGRAMME, "compute.application_cost_yuan": 1e3}), seed=2, months=12
    )
    dear = run_scenario(
        load_scenario(TINY, {**PROGRAMME, "compute.application_cost_yuan": 3e5}), seed=2, months=12
    )
    take = [r.voucher_programmes.query("programme == 'compute'")["take_up"].iloc[0]
            for r in (cheap, dear)]  # fmt: skip
    assert take[0] > take[1]


def test_sme_rate_ends_at_sme_until():
    sme = {**PROGRAMME, "regions.ningbo.policy.voucher_sme_months": 12}
    model = run_scenario(load_scenario(TINY, sme), seed=1, months=14).model
    state, params = model.state, model.params
    s = state.startups
    firm = np.flatnonzero(s.view("sme_until") >= 0)
    assert firm.size, "no firm got an SME award"
    rows = firm[:1]
    until = int(s.sme_until[rows[0]])
    s.contract_year[rows] = 0.0  # a small contract: the SME tier applies by size
    prog = next(p for p in programmes(state, params) if p.payer == 0)
    state.month = until - 1
    assert prog.rates(state, rows)[0] == 0.5
    state.month = until
    assert prog.rates(state, rows)[0] == 0.3


def test_vouchers_raise_subsidised_firms_compute():
    """Issue 10's bar: compute bought in the first year by the firms that got an entitlement is
    higher than what the same firms bought without the programme (common random numbers over
    20 seeds; the initial stock's rows are the same firms in both runs). The effect is small —
    about +0.9% of the holders' GPU-hours for ~¥20m of vouchers, most of the money pays for
    compute they would have bought anyway — so 10 seeds (p = 0.05) are too few to see it.

    Money is made abundant (a ¥20bn pool) to isolate the voucher channel: when VC money rations
    (``national.vc_home_bias`` = 1, the default since 8b283be) a voucher's cash changes which
    rounds close, and the firms' paths then differ by more than the voucher moves them
    (measured at Ningbo's ¥0.5bn pool: +0.2% mean, 2.0% sd over 20 seeds, p = 0.45; at ¥20bn:
    +0.9%, 1.6% sd).

    So is local capacity (10 times Ningbo's): the voucher is valid only at Ningbo's own center,
    which is sold out in the first year. Since background users are rationed with the startups
    (3d35d39) the effect there falls to +0.3% (1.7% sd, p = 0.2; with background served first it
    was +0.9%; measured 3 December 2026). A likely reading, not yet traced: holders get less of
    a sold-out center than they ask, and the voucher pays only for what they get there. This
    test is of the channel; the policy page measures vouchers on the presets."""
    base, changed = [], []
    seeds = range(1, 21)
    programme = {
        **PROGRAMME,
        "regions.ningbo.market.vc_pool_yuan_per_year": 2e10,
        "regions.ningbo.data_centers.ningbo_compute.capacity_gpu_h": 1.46e7,
    }
    for seed in seeds:
        on = run_scenario(load_scenario(TINY, programme), seed=seed, months=12).model
        off_sc = load_scenario(
            TINY, {**programme, "regions.ningbo.policy.voucher_budget_yuan": 0.0}
        )
        off = run_scenario(off_sc, seed=seed, months=12).model
        s_on, s_off = on.state.startups, off.state.startups
        n0 = int((s_on.view("founded_month") < 0).sum())
        held = np.flatnonzero(s_on.view("ent_year")[:n0] > 0)
        assert held.size
        changed.append(float(s_on.compute_year[held].sum()))
        base.append(float(s_off.compute_year[held].sum()))
    eff = PairedEffect("compute_of_voucher_holders", tuple(seeds), np.array(base),
                       np.array(changed))  # fmt: skip
    assert eff.p_greater < 0.05, eff


@pytest.mark.parametrize(
    "path, value",
    [
        ("compute.projects_per_month", 0),
        ("compute.project_return_sigma", -0.5),
        ("regions.ningbo.policy.voucher_validity_months", 0),
        ("regions.ningbo.policy.voucher_sme_months", -1),
    ],
)
def test_bad_project_and_voucher_values_are_one_line_errors(path, value, capsys, tmp_path):
    with pytest.raises(ScenarioError):
        load_scenario(TINY, {path: value})
    rc = main(["run", str(TINY), "--years", "1", "--set", f"{path}={value}",
               "--out", str(tmp_path / "r"), "--quiet"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and path.split(".")[-1] in err[0]


def test_price_elasticity_of_project_demand_keeps_prices_stable(monkeypatch):
    """Training demand now falls with the price level (project choice): its elasticity ε_P,
    measured by finite differences on the project arrays of a Hangzhou month, must keep the
    no-cobweb condition 2·k·(λ·p_cap + ε_bg + ε_P) < 1 (docs/ODD.md §7.4). Under the projects
    rule; the marginal rule's ε_P is at most 1/(1 − α), which scenario validation adds to the
    condition (tests/test_marginal_choice.py)."""
    plain, _ = _record_choices(monkeypatch)
    sc = load_scenario("hangzhou", {"compute.choice_rule": "projects"})
    run_scenario(sc, seed=1, months=13)
    value, price, liquid = plain[-1]
    size = price  # GPU-h are proportional to the price within a firm's month
    h = 0.01
    base = (choose(value, price, liquid)[0] * size).sum()
    dear = (choose(value, price * (1 + h), liquid)[0] * size).sum()
    eps_p = -np.log(dear / base) / np.log1p(h)
    c = sc.compute
    assert eps_p >= 0
    slope = c.center_choice_sensitivity * c.price_cap_yuan_per_gpu_h
    assert 2 * c.price_adjust_per_month * (slope + c.background_price_elasticity + eps_p) < 1
    print(f"ε_P = {eps_p:.3f}")


@pytest.mark.parametrize("pays_inference", [True, False])
def test_voucher_paid_inference_frees_project_liquidity(monkeypatch, pays_inference):
    """What the entitlement pays for a firm's inference is cash the firm keeps, so the choice
    with vouchers sees a budget L^v >= the no-voucher budget L, larger for firms whose voucher
    pays inference; a training-only programme leaves the budget as it is (docs/ODD.md §7.4,
    step 5)."""
    plain, voucher = _record_choices(monkeypatch)
    change = {**PROJECTS, "regions.ningbo.policy.voucher_pays_inference": pays_inference}
    run_scenario(load_scenario(TINY, change), seed=3, months=36)
    assert len(plain) == len(voucher) > 0
    freed = np.concatenate([v[2] - p[2] for p, v in zip(plain, voucher, strict=True)])
    assert (freed >= 0).all()
    if pays_inference:
        assert (freed > 0).sum() > 0
    else:
        assert (freed == 0).all()
