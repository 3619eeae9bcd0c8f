"""The round's plan (docs/ODD.md §7.7, §7.8): a round buys burn and a deadline. Mechanisms, not
sizes."""

from __future__ import annotations

import numpy as np
import pytest
from applicants import make_applicants
from paired import TINY

from ecosystem import AIEcosystem, economics, firm_life, load_scenario
from ecosystem.tables import Stage, Status


@pytest.fixture()
def tiny():
    return load_scenario(TINY)


def _with(scenario, **startups):
    sc = scenario.model_copy(deep=True)
    for k, v in startups.items():
        setattr(sc.startups, k, v)
    return sc


def test_the_plan_is_off_by_default(tiny):
    st = tiny.startups
    assert st.round_plan_months == 0 and st.plan_unstaffed_spend_share == 0
    assert st.wind_down_below_staff_share == 0 and st.min_step_up == 0


def test_a_round_buys_a_burn_that_does_not_wait_for_staff(tiny):
    """After a round the firm plans to spend its cash over P months; with φ = 1 it spends the
    plan burn b = cash / P whether or not the labour market supplied the staff."""
    model = AIEcosystem(_with(tiny, round_plan_months=18.0, plan_unstaffed_spend_share=1.0), rng=5)
    model.run_for(2)
    st, s, par = model.state, model.startups, model.params
    alive = make_applicants(model, revenue_target=1e6)
    s.stage[alive] = Stage.BOOTSTRAP
    firm_life.raise_funding(st, par, model.rng)
    funded = alive[s.stage[alive] == Stage.SEED]
    assert funded.size
    np.testing.assert_allclose(s.plan_burn[funded], s.cash[funded] / 18.0, rtol=1e-12)
    assert economics.planning(st, funded).all()
    spent = economics.monthly_costs(st, par, funded) + s.data_spend[funded]
    assert (spent >= s.plan_burn[funded] * (1 - 1e-12)).all()
    # ... and it hires ahead of revenue toward the plan burn
    per_head = economics.cost_per_head(st, par, funded)
    want = economics.desired_headcount(st, par, funded)
    assert (want >= np.floor(s.plan_burn[funded] / per_head)).all()


@pytest.mark.parametrize("psi", [0.0, 0.9])
def test_a_default_dead_venture_backed_firm_is_wound_down_not_shrunk(tiny, psi):
    """At the layoff point a firm that raised a round and whose revenue pays for less than ψ of
    its staff is wound down (closed); with ψ = 0 it shrinks to what revenue pays (main)."""
    model = AIEcosystem(_with(tiny, wind_down_below_staff_share=psi), rng=7)
    model.run_for(12)
    st, s, par = model.state, model.startups, model.params
    alive = st.alive_startups()
    rows = alive[(s.headcount[alive] >= 3) & ~s.listed[alive]]
    assert rows.size
    s.stage[rows] = Stage.SEED
    s.revenue[rows] = 0.0  # revenue pays for nobody: default dead ...
    s.revenue_target[rows], s.log_fit[rows] = 1e9, 0.0  # ... yet viable: founders would not close
    s.fit_mean[rows] = -0.5 / s.fit_precision[rows]
    cost = economics.monthly_costs(st, par, rows) + s.data_spend[rows]
    s.cash[rows] = 3.0 * cost  # after this month's costs: two months left, below the layoff point
    before, staff = st.counters["startups_wound_down"].sum(), s.headcount[rows].copy()
    firm_life.pay_costs_and_exit(st, par, model.rng)
    wound = st.counters["startups_wound_down"].sum() - before
    if psi > 0:
        assert (s.status[rows] == Status.CLOSED).all()
        assert wound == rows.size
    else:
        assert wound == 0
        assert (s.status[rows] == Status.ALIVE).all()
        # laid off toward the founder (staff who leave to found a firm count until it is founded)
        assert (s.headcount[rows] < staff).all()


@pytest.mark.parametrize("step_up", [0.0, 1.0])
def test_a_follow_on_round_below_the_last_post_money_is_screened_out_with_a_step_up(tiny, step_up):
    """With s = ``min_step_up`` > 0 a follow-on round needs V̂ ≥ s × the last post-money (no
    down round); a first (seed) round has no last price and is not screened by it."""
    model = AIEcosystem(_with(tiny, min_step_up=step_up), rng=5)
    model.run_for(2)
    st, s, par = model.state, model.startups, model.params
    alive = make_applicants(model, revenue_target=1e6)
    half = alive.size // 2
    follow, first = alive[:half], alive[half:]
    s.stage[follow] = Stage.SEED
    s.post_money[follow] = 1e15  # far above any value a VC puts on these firms now
    s.stage[first] = Stage.BOOTSTRAP
    firm_life.raise_funding(st, par, model.rng)
    assert (s.stage[first] == Stage.SEED).any()  # seed rounds close either way
    raised = s.stage[follow] > Stage.SEED
    if step_up > 0:
        assert not raised.any()
    else:
        assert raised.any()
