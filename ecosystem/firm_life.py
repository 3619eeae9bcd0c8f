"""The life of startups after founding: capability, revenue, funding, costs, layoffs and exit;
acquisitions by big firms and collaborations with universities.

Startups are rows in :class:`~ecosystem.tables.Startups`; every phase here is a vectorised
operation over the live rows.
"""

from __future__ import annotations

import numpy as np

from ecosystem import economics
from ecosystem.founding import found_from_employer
from ecosystem.labour import release
from ecosystem.people import current_skill, even_if_zero, reassign, staff_of
from ecosystem.state import Params, State
from ecosystem.tables import Employer, Stage, Status


def innovate(state: State, params: Params, rng: np.random.Generator) -> None:
    """Capability grows with training compute (diminishing returns, more per GPU-h as the
    efficiency trend advances) and skill-weighted staff, and depreciates (docs/ODD.md 7.5)."""
    s, st, p = state.startups, params.config.startups, state.people
    alive = state.alive_startups()
    if alive.size == 0:
        return
    staff = np.flatnonzero(p.view("employer_kind") == Employer.STARTUP)
    skill = current_skill(state, params, staff)
    talent = np.bincount(p.employer_id[staff], weights=skill, minlength=s.n)
    growth = economics.capability_gain(
        params, state.month, s.training_gpu_h[alive], talent[alive], s.data_multiplier[alive]
    )
    k = s.capability[alive]
    spill = state.networks.spillover(alive, s.capability, s.n) * st.partnership_spillover
    s.capability[alive] = k * (1 - st.capability_depreciation_per_month) + growth + spill


def adopt(state: State, params: Params, rng: np.random.Generator) -> None:
    """Governments spend on adoption programmes: the subsidised purchases are demand this month
    (× ``adoption_multiplier``), and the programme raises the Bass adoption hazard (persistent)."""
    spent = np.zeros(params.n_regions)
    state.adoption_demand = np.zeros(params.n_regions)
    for g in state.governments:
        spent[g.region] = g.adoption_spending()
        state.adoption_demand[g.region] = spent[g.region] * g.policy.adoption_multiplier
    state.counters["adoption_spent_yuan"] += spent
    economics.advance_adoption(state, params, spent)


def earn_revenue(state: State, params: Params, rng: np.random.Generator) -> None:
    """Revenue moves toward each firm's nested-logit target (``economics.update_revenue``)."""
    economics.update_revenue(state, params)
    s = state.startups
    alive = state.alive_startups()
    s.revenue_year[alive] += s.revenue[alive]
    state.count("revenue_yuan", s.region[alive].astype(np.int64), s.revenue[alive])


def raise_funding(state: State, params: Params, rng: np.random.Generator) -> None:
    """Firms short of runway seek their next round; VC money and the guidance fund are finite."""
    s, st = state.startups, params.config.startups
    alive = state.alive_startups()
    if alive.size == 0:
        return
    burn = np.maximum(economics.monthly_costs(state, params, alive) - s.revenue[alive], 1.0)
    runway = s.cash[alive] / burn
    due = s.next_raise_month[alive] <= state.month
    want = alive[(runway < st.raise_below_runway_months) & due]
    if want.size == 0:
        return
    want = rng.permutation(want)  # first come, first served for VC money
    # Capability percentile among local live firms: better firms close rounds more often.
    pct = np.empty(want.size)
    for r in np.unique(s.region[want]):
        local = alive[s.region[alive] == r]
        mine = s.region[want] == r
        ranks = np.searchsorted(np.sort(s.capability[local]), s.capability[want[mine]], "right")
        pct[mine] = ranks / local.size
    stage = s.stage[want].astype(np.int64)
    nxt = np.minimum(stage, 4)  # index into round tables: next round (D+ repeats)
    lo, hi = st.round_rank_factor_min, st.round_rank_factor_max
    prob = np.array(st.round_success)[nxt] * np.clip(st.round_rank_factor * pct, lo, hi)
    size = np.array(st.round_size_yuan)[nxt] * rng.lognormal(0, st.round_size_sd, want.size)
    gf_share = np.zeros(want.size)
    for g in state.governments:
        m = s.region[want] == g.region
        gf_share[m] = g.guidance_fund_share_on_offer()
    prob = np.clip(prob * (1 + gf_share), 0, 1)
    closes = rng.random(want.size) < prob
    # Money, first come first served: venture money for the private part (a round falls
    # through once this month's VC money is gone), then the guidance fund's share.
    region = s.region[want]
    for r in np.unique(region[closes]):
        idx = np.flatnonzero(closes & (region == r))
        vc = state.vc_pools[r].grant(size[idx] * (1 - gf_share[idx]))
        funded = vc > 0
        closes[idx[~funded]] = False
        idx, vc = idx[funded], vc[funded]
        gf = state.governments[r].guidance_fund(size[idx] * gf_share[idx])
        amount = vc + gf
        firms = want[idx]
        s.cash[firms] += amount
        s.funding_total[firms] += amount
        s.stage[firms] = np.minimum(s.stage[firms] + 1, Stage.SERIES_D_PLUS)
        state.counters["vc_raised_yuan"][r] += amount.sum()
        state.counters["guidance_fund_spent_yuan"][r] += gf.sum()
    state.count("rounds_closed", s.region[want[closes]].astype(np.int64))
    state.count("rounds_failed", s.region[want[~closes]].astype(np.int64))
    s.next_raise_month[want[~closes]] = state.month + st.retry_months
    s.next_raise_month[want[closes]] = state.month + st.months_between_rounds


def pay_costs_and_exit(state: State, params: Params, rng: np.random.Generator) -> None:
    """Pay wages and compute; cut staff when runway is short; fail when cash runs out."""
    s, st = state.startups, params.config.startups
    alive = state.alive_startups()
    if alive.size == 0:
        return
    cost = economics.monthly_costs(state, params, alive) + s.data_spend[alive]
    s.cash[alive] += s.revenue[alive] - cost
    # Layoffs: firms losing money with little runway left shrink to what revenue pays.
    burn = np.maximum(cost - s.revenue[alive], 1.0)
    losing = cost > s.revenue[alive]
    short = (s.cash[alive] / burn < st.layoff_below_runway_months) & losing & (s.cash[alive] >= 0)
    if short.any():
        rows = alive[short]
        per_head = economics.cost_per_head(state, params, rows)
        keep = np.floor(s.revenue[rows] * (1 - st.target_margin) / per_head)
        lay_off(state, params, rng, rows, np.maximum(keep, 1).astype(np.int64))
    failed = alive[(s.cash[alive] < 0) | (s.headcount[alive] <= 0)]
    if failed.size:
        s.status[failed] = Status.FAILED
        s.exit_month[failed] = state.month
        state.count("startups_failed", s.region[failed].astype(np.int64))
        release(state, params, rng, staff_of(state, failed))
        state.networks.end_partnerships(failed, state.month)


def lay_off(
    state: State, params: Params, rng: np.random.Generator, rows: np.ndarray, keep: np.ndarray
) -> None:
    """Release staff of the given firms beyond ``keep`` each (founders stay)."""
    s, p = state.startups, state.people
    excess = s.headcount[rows] - keep
    rows, excess = rows[excess > 0], excess[excess > 0]
    if rows.size == 0:
        return
    emp = p.view("employer_id")
    staff = staff_of(state, rows)
    staff = staff[staff != s.founder[emp[staff]]]
    staff = staff[rng.permutation(staff.size)]
    firm = emp[staff]
    order = np.argsort(firm, kind="stable")
    staff, firm = staff[order], firm[order]
    # Rank of each employee within their firm; release while rank < excess.
    starts = np.searchsorted(firm, firm, side="left")
    rank = np.arange(firm.size) - starts
    limit = np.zeros(s.n, dtype=np.int64)
    limit[rows] = excess
    release(state, params, rng, staff[rank < limit[firm]])


def acquire(state: State, params: Params, rng: np.random.Generator, firm, n: int) -> int:
    """Big firm ``firm`` buys up to n local startups, favouring high capability; staff join it."""
    s, st = state.startups, params.config.startups
    alive = state.alive_startups()
    cand = alive[(s.region[alive] == firm.region) & (s.stage[alive] >= Stage.SEED)]
    if cand.size == 0:
        return 0
    w = s.capability[cand] ** st.acquisition_capability_exponent
    n = min(n, cand.size)
    chosen = rng.choice(cand, size=n, replace=False, p=even_if_zero(w))
    s.status[chosen] = Status.ACQUIRED
    s.exit_month[chosen] = state.month
    s.acquirer[chosen] = firm.index
    staff = staff_of(state, chosen)
    src = state.people.employer_id[staff]
    state.flows.add(state.month, Employer.STARTUP, src, Employer.BIG_FIRM, firm.index)
    reassign(state, params, staff, Employer.BIG_FIRM, firm.index)
    state.counters["startups_acquired"][firm.region] += n
    state.networks.end_partnerships(chosen, state.month)
    return n


def collaborate(
    state: State, params: Params, rng: np.random.Generator, uni, n: int, gain: float
) -> int:
    """University ``uni`` starts collaborations with n random local startups (capability up)."""
    s = state.startups
    alive = state.alive_startups()
    cand = alive[s.region[alive] == uni.region]
    if cand.size == 0:
        return 0
    chosen = rng.choice(cand, size=min(n, cand.size), replace=False)
    s.capability[chosen] *= 1.0 + gain
    state.networks.add_collaborations(uni.index, chosen, state.month)
    return int(chosen.size)


def acquisitions(firm, state: State, params: Params, rng: np.random.Generator) -> None:
    """A big firm's month: it decides how many startups to buy; they are bought (best first)."""
    n = firm.acquisitions_wanted(rng)
    if n:
        firm.record_acquisitions(acquire(state, params, rng, firm, n))


def university_links(uni, state: State, params: Params, rng: np.random.Generator) -> None:
    """A university's month: researcher spinoffs, then collaborations with local startups."""
    n = uni.spinoffs_wanted(rng)
    if n:
        uni.record_spinoffs(found_from_employer(state, rng, Employer.UNIVERSITY, uni.index, n))
    n = uni.collaborations_wanted(rng)
    if n:
        uni.record_collaborations(collaborate(state, params, rng, uni, n, uni.collaboration_gain))
