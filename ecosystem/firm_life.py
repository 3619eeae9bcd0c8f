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
from ecosystem.people import reassign, staff_of, startup_talent
from ecosystem.state import Params, State
from ecosystem.tables import Employer, Stage, Status


def innovate(state: State, params: Params, rng: np.random.Generator) -> None:
    """Capability grows with training compute (diminishing returns, more per GPU-h as the
    efficiency trend advances) and skill-weighted staff, and depreciates (docs/ODD.md 7.5)."""
    s, st = state.startups, params.config.startups
    alive = state.alive_startups()
    if alive.size == 0:
        return
    talent = startup_talent(state, params)
    growth = economics.capability_gain(
        params,
        state.month,
        s.training_effective_gpu_h[alive],
        talent[alive],
        s.data_multiplier[alive],
    )
    k = s.capability[alive]
    spill = state.networks.spillover(alive, s.capability, s.n) * st.partnership_spillover
    keep = economics.catchup_factor(params, state.month, k)  # gains shrink near the ceiling
    kept = k * (1 - st.capability_depreciation_per_month)
    new = kept + growth * keep + spill * keep
    ceiling = economics.quality_ceiling(params, state.month)
    if np.isfinite(ceiling):  # a month's gain larger than the room left stops at the ceiling
        new = np.minimum(new, np.maximum(ceiling, kept))
    s.capability[alive] = new


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
    """A month of sales and what it teaches (docs/ODD.md 7.6), in the design's order: markets
    move (the true fit drifts), revenue moves toward each firm's nested-logit target at the
    drifted fit times this month's sales shock, and the new business won updates each firm's
    belief about its fit (Kalman)."""
    s = state.startups
    alive = state.alive_startups()
    economics.drift_fit(state, params, alive, rng)
    before = s.revenue[alive].copy()
    economics.update_revenue(state, params, shock=economics.sales_shock(params, alive.size, rng))
    economics.learn_fit(state, params, alive, economics.sales_signal(state, params, alive, before))
    s.revenue_year[alive] += s.revenue[alive]
    s.revenue_avg12[alive] += (s.revenue[alive] - s.revenue_avg12[alive]) / 12.0
    state.count("revenue_yuan", s.region[alive].astype(np.int64), s.revenue[alive])


def round_terms(
    state: State, params: Params, rows: np.ndarray, post: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The round each firm would raise now: (size, post-money valuation) (docs/ODD.md 7.7).

    The post-money is the VC's value V̂ (``economics.vc_value``: 0 for a firm below the
    viability line). The round buys the VC's target ownership d*[next stage] of V̂
    (``target_ownership``); the firm's need (``economics.funding_need``: its plan to the next
    round) is a floor, so size = max(need, d* × V̂) for a firm with a need or at its milestone
    (:func:`at_milestone`: the round buys the next stage, not runway), and 0 (no round) for
    any other firm whose cash covers its plan. ``post``: V̂ for the round each firm seeks when
    it is already known (:func:`applicants_and_values`), else computed here.
    """
    st = params.config.startups
    nxt = next_round(state, rows)
    need = economics.funding_need(state, params, rows)
    if post is None:
        post = economics.vc_value(state, params, rows, nxt)
    target = np.asarray(st.target_ownership)[nxt] * post
    raising = (need > 0) | at_milestone(state, params, rows, post)
    return np.where(raising, np.maximum(need, target), need), post


def justified(size: np.ndarray, post: np.ndarray, params: Params) -> np.ndarray:
    """Rounds whose valuation justifies them: a need, a value, and size / value ≤ d_max (a
    round sized at the target ownership d* ≤ d_max passes; one sized by a larger need may
    not)."""
    d_max = params.config.startups.max_dilution_per_round
    return (size > 0) & (post > 0) & (size <= d_max * post)


def growth_limited(state: State, params: Params, rows: np.ndarray) -> np.ndarray:
    """Firms whose growth capital limits: the staff their expected revenue justifies exceed
    what their cash and revenue pay by more than ``raise_for_growth_gap`` (and by one)."""
    st = params.config.startups
    plan = economics.planned_headcount(state, params, rows)
    funded = economics.desired_headcount(state, params, rows)
    return (plan >= (1.0 + st.raise_for_growth_gap) * funded) & (plan >= funded + 1)


def round_applicants(state: State, params: Params, limited=None) -> np.ndarray:
    """The firms that apply for a round this month (docs/ODD.md 7.7): live, unlisted, of the
    venture type (``venture_share``), their next-raise month come, and either short of runway,
    limited in growth by their cash
    (``limited``: a function (state, params, rows) -> mask, default :func:`growth_limited`), or
    at the milestone their last round priced (:func:`at_milestone`).
    Firms whose cash covers their plan are left out by :func:`raise_funding`, not here (unless
    at their milestone: :func:`round_terms`)."""
    return applicants_and_values(state, params, limited)[0]


def applicants_and_values(
    state: State, params: Params, limited=None
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`round_applicants` and, when the milestone motive is on (μ > 0: it needs them),
    their V̂ for the round each seeks (None when off), so that :func:`round_terms` does not
    value the same firms twice in a month."""
    s, st = state.startups, params.config.startups
    limited = growth_limited if limited is None else limited
    alive = state.alive_startups()
    due = alive[(s.next_raise_month[alive] <= state.month) & ~s.listed[alive] & s.venture[alive]]
    if due.size == 0:
        return due, None
    burn = np.maximum(economics.monthly_costs(state, params, due) - s.revenue[due], 1.0)
    short = s.cash[due] / burn < st.raise_below_runway_months
    post = None
    if st.milestone_step_up > 0:
        post = economics.vc_value(state, params, due, next_round(state, due))
    keep = short | limited(state, params, due) | at_milestone(state, params, due, post)
    return due[keep], None if post is None else post[keep]


def next_round(state: State, rows: np.ndarray) -> np.ndarray:
    """The round each firm would seek next, 0 seed ... 4 D+ (a firm at D+ raises D+ again)."""
    return np.minimum(state.startups.stage[rows].astype(np.int64), Stage.SERIES_D_PLUS - 1)


def at_milestone(
    state: State, params: Params, rows: np.ndarray, post: np.ndarray | None = None
) -> np.ndarray:
    """Firms at the milestone their last round priced (raising on milestones, docs/ODD.md 7.7):
    they have raised a round and the VC would now value them (``post``, V̂ for the round they
    would seek; computed when not given) at least μ × their last post-money, μ =
    ``milestone_step_up`` (0: nobody)."""
    mu = params.config.startups.milestone_step_up
    if mu <= 0:
        return np.zeros(rows.size, dtype=bool)
    if post is None:
        post = economics.vc_value(state, params, rows, next_round(state, rows))
    last = state.startups.post_money[rows]
    return (state.startups.stage[rows] >= Stage.SEED) & (last > 0) & (post >= mu * last)


def raise_funding(state: State, params: Params, rng: np.random.Generator) -> None:
    """Firms short of runway, or whose growth their cash limits, apply for their next round;
    VCs value them (nothing below the viability line) and each round buys the VC's target
    ownership of that value (at least the firm's need); the city's VCs fund the rounds the
    value justifies, best value for money first, while the city's monthly VC money lasts, then
    the justified rounds still unfunded in every city, ranked nationally the same way, while
    the national mobile pool's monthly money lasts; the guidance fund co-invests its share
    (docs/ODD.md 7.7)."""
    s, st = state.startups, params.config.startups
    want, post = applicants_and_values(state, params)
    if want.size == 0:
        return
    size, post = round_terms(state, params, want, post)
    want, size, post = want[size > 0], size[size > 0], post[size > 0]  # cash covers the plan
    if want.size == 0:
        return
    order = rng.permutation(want.size)  # ties in the ranking are broken at random
    want, size, post = want[order], size[order], post[order]
    # Against the stage's norm: exactly 1 for a round sized at its target d* × V̂ (round_terms'
    # own product, so ties are exact and broken only by the random order above), the target
    # share over the share sold for one a firm's need sizes above it.
    target = np.asarray(st.target_ownership)[next_round(state, want)]
    norm = np.where(size <= target * post, 1.0, target * post / size)
    value = norm if st.round_ranking == "stage_norm" else norm / target  # or V̂ / size
    s.sought_round[want] = True
    passes = justified(size, post, params)
    if st.min_step_up > 0:  # the growth the last round priced must show (no down round)
        follow_on = s.stage[want] >= Stage.SEED
        passes &= ~follow_on | (post >= st.min_step_up * s.post_money[want])
    closes = np.zeros(want.size, dtype=bool)
    region = s.region[want].astype(np.int64)

    def best_first(idx: np.ndarray) -> np.ndarray:
        """Applicants ``idx`` by value for money, best first (stable: ties stay in the random
        order above): V̂ / size, or against the stage's norm d* (``round_ranking``)."""
        return idx[np.argsort(-value[idx], kind="stable")]

    # The cities' own money first: each city's passing applicants, best first.
    for r in np.unique(region[passes]):
        idx = best_first(np.flatnonzero(passes & (region == r)))
        gov = state.governments[r]
        private = size[idx] * (1.0 - gov.guidance_fund_share_on_offer())
        fits = whole_rounds(private, state.vc_pools[r].available)
        idx, private = idx[fits], private[fits]
        vc = state.vc_pools[r].grant(private)
        closes[idx] = close_rounds(state, r, want[idx], size[idx], post[idx], private, vc)
    # Then the national mobile pool: the justified rounds still unfunded in every city, ranked
    # nationally by the same value for money (design §6.2).
    rest = best_first(np.flatnonzero(passes & ~closes))
    closes[rest] = fund_from_mobile_pool(state, want[rest], size[rest], post[rest])
    start_plan(state, params, want[closes])
    state.count("rounds_closed", region[closes])
    state.count("rounds_failed", region[~closes])
    state.count("rounds_screened_out", region[~passes])
    state.count("rounds_passed_unfunded", region[passes & ~closes])
    s.next_raise_month[want[~closes]] = state.month + st.retry_months
    s.next_raise_month[want[closes]] = state.month + st.months_between_rounds


def fund_from_mobile_pool(
    state: State, firms: np.ndarray, size: np.ndarray, post: np.ndarray
) -> np.ndarray:
    """The national mobile VC pool funds justified rounds its cities' own pools left unfunded,
    in the order given (nationally ranked), whole rounds while its monthly money lasts; each
    firm's city's guidance fund co-invests its share. Returns which rounds raised money; what
    the pool paid is counted as ``vc_mobile_yuan`` of the firm's city."""
    got = np.zeros(firms.size, dtype=bool)
    mobile = state.vc_mobile
    if firms.size == 0 or mobile.available <= 0:
        return got
    region = state.startups.region[firms].astype(np.int64)
    share = np.array([g.guidance_fund_share_on_offer() for g in state.governments])
    private = size * (1.0 - share[region])
    idx = np.flatnonzero(whole_rounds(private, mobile.available))
    vc = mobile.grant(private[idx])
    for r in np.unique(region[idx]):
        k = region[idx] == r
        i = idx[k]
        got[i] = close_rounds(state, r, firms[i], size[i], post[i], private[i], vc[k], True)
        state.counters["vc_mobile_yuan"][r] += vc[k].sum()
    return got


def whole_rounds(asks: np.ndarray, available: float) -> np.ndarray:
    """Whole rounds only: the money available funds, in the order given, every ask that still
    fits in what is left (a round larger than the rest is passed over, not a barrier)."""
    fits, left = np.zeros(asks.size, dtype=bool), available
    for k, ask in enumerate(asks):  # passing applicants of one month: few
        if ask <= left:
            fits[k], left = True, left - ask
    return fits


def close_rounds(
    state: State,
    r: int,
    firms: np.ndarray,
    size: np.ndarray,
    post: np.ndarray,
    private: np.ndarray,
    vc: np.ndarray,
    mobile: bool = False,
) -> np.ndarray:
    """City ``r``'s firms close their rounds: the VC money ``vc`` (from the national mobile pool
    if ``mobile``) paid for the private part ``private`` of each, and city r's guidance fund
    co-invests the rest of the size while its budget lasts. Returns which rounds raised money;
    those are logged in ``state.rounds``."""
    s = state.startups
    gf = state.governments[r].guidance_fund(size - private)
    amount = vc + gf
    pre = post - size
    new_post = pre + amount
    sold = np.divide(amount, new_post, out=np.zeros_like(amount), where=new_post > 0)
    s.vc_share[firms] = s.vc_share[firms] * (1.0 - sold) + sold
    s.post_money[firms] = new_post
    s.vc_invested[firms] += amount
    s.cash[firms] += amount
    s.funding_total[firms] += amount
    s.stage[firms] = np.minimum(s.stage[firms] + 1, Stage.SERIES_D_PLUS)
    state.counters["vc_raised_yuan"][r] += amount.sum()
    state.counters["vc_private_yuan"][r] += vc.sum()
    state.counters["guidance_fund_spent_yuan"][r] += gf.sum()
    raised = amount > 0
    if raised.any():
        k = firms[raised]
        state.rounds.append(
            (state.month, k, s.stage[k], amount[raised], pre[raised], new_post[raised],
             vc[raised], gf[raised], mobile)
        )  # fmt: skip
    return raised


def start_plan(state: State, params: Params, firms: np.ndarray) -> None:
    """The round's plan (docs/ODD.md §7.7): a firm that just closed a round plans to spend the
    cash it holds over ``round_plan_months`` P (burn b = cash / P): by then it must have raised
    again (its deadline). The plan runs until the next round replaces it or the layoff point
    abandons it (:func:`pay_costs_and_exit`), not to a fixed month: a firm that spent less than
    planned keeps spending at b. Nothing when P = 0."""
    P = params.config.startups.round_plan_months
    if P <= 0 or firms.size == 0:
        return
    s = state.startups
    s.plan_burn[firms] = np.maximum(s.cash[firms], 0.0) / P  # running while > 0


def pay_costs_and_exit(state: State, params: Params, rng: np.random.Generator) -> None:
    """Pay wages and compute; cut staff when runway is short; close when the business founders
    believe in cannot pay a minimal team and no round is in prospect; fail when cash runs out."""
    s, st = state.startups, params.config.startups
    alive = state.alive_startups()
    if alive.size == 0:
        return
    cost = economics.monthly_costs(state, params, alive) + s.data_spend[alive]
    s.cash[alive] += s.revenue[alive] - cost
    # Layoffs: firms losing money with little runway left shrink to what revenue pays.
    burn = np.maximum(cost - s.revenue[alive], 1.0)
    runway = s.cash[alive] / burn
    losing = cost > s.revenue[alive]
    short = (runway < st.layoff_below_runway_months) & losing & (s.cash[alive] >= 0)
    if short.any():
        rows = alive[short]
        per_head = economics.cost_per_head(state, params, rows)
        keep = np.floor(s.revenue[rows] * (1 - st.target_margin) / per_head)
        # The round's deadline (§7.8): a venture-backed firm whose revenue pays for less
        # than ψ of its staff is default dead; with no round it is wound down, not shrunk.
        psi = st.wind_down_below_staff_share
        dead = (s.stage[rows] >= Stage.SEED) & ~s.listed[rows] & (keep < psi * s.headcount[rows])
        end_firms(state, params, rng, rows[dead], Status.CLOSED, "startups_closed")
        state.count("startups_wound_down", s.region[rows[dead]].astype(np.int64))
        rows, keep = rows[~dead], keep[~dead]
        s.plan_burn[rows] = 0.0  # the plan is abandoned
        lay_off(state, params, rng, rows, np.maximum(keep, 1).astype(np.int64))
    going = s.status[alive] == int(Status.ALIVE)  # not wound down above
    failed = alive[going & ((s.cash[alive] < 0) | (s.headcount[alive] <= 0))]
    end_firms(state, params, rng, failed, Status.FAILED, "startups_failed")
    # Closure: the opportunity-cost exit (design docs/design/causal-core.md §3.2).
    # (a firm that failed above is no candidate: liquidation left it cash 0 and, while staff it
    # released wait to found their own firm, a headcount)
    # Founders look at the line when runway runs short, and (h_rev > 0) at a review, on
    # average h_rev times a year, whatever the runway: a firm below the line is closed then
    # even if it pays its way (founders' outside options, ODD 7.8).
    looks = runway < st.raise_below_runway_months
    if st.closure_review_per_year > 0:
        looks |= rng.random(alive.size) < st.closure_review_per_year / 12.0
    cand = alive[
        (s.status[alive] == Status.ALIVE)
        & (s.cash[alive] >= 0)
        & (s.headcount[alive] > 0)
        & ~s.listed[alive]
        & (state.month - s.founded_month[alive] >= st.closure_min_age_months)
        & looks
    ]
    if cand.size:
        # below the viability line no VC values the firm (economics.vc_value), so no round is
        # in prospect: the founders' line and the VCs' are one
        hopeless = ~economics.viable(state, params, cand)
        end_firms(state, params, rng, cand[hopeless], Status.CLOSED, "startups_closed")


def end_firms(
    state: State, params: Params, rng: np.random.Generator, rows: np.ndarray, status, counter: str
) -> None:
    """Firms exit with ``status``: staff (founders too) are released, partnerships end."""
    if rows.size == 0:
        return
    s = state.startups
    s.status[rows] = status
    s.changes += 1  # the live startups change (State.alive_startups)
    s.exit_month[rows] = state.month
    region = s.region[rows].astype(np.int64)
    state.count(counter, region)
    # Liquidation: what is left goes back to the owners (investors ς, founders 1 − ς) and is the
    # exit value; a deficit is costs left unpaid (written off by creditors). No cash stays.
    left = s.cash[rows]
    unlisted = rows[~s.listed[rows]]  # a listed firm's investors exited at the listing
    s.exit_value[unlisted] = np.maximum(s.cash[unlisted], 0.0)
    state.count("liquidation_yuan", region, np.maximum(left, 0.0))
    state.count("liquidation_to_investors_yuan", region, np.maximum(left, 0.0) * s.vc_share[rows])
    state.count("unpaid_costs_yuan", region, np.maximum(-left, 0.0))
    s.cash[rows] = 0.0
    staff = staff_of(state, rows)
    if state.founding:  # staff laid off this month who will found a firm are already released
        queued = np.concatenate([f for f, _, _ in state.founding])
        staff = staff[~np.isin(staff, queued)]
    release(state, params, rng, staff)
    state.networks.end_partnerships(rows, state.month)


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


def acquire(state: State, params: Params, firm, rows: np.ndarray, price: np.ndarray) -> int:
    """Big firm ``firm`` buys the given startups at ``price``: they exit as acquired, their staff
    join it, their investors receive their share of the price."""
    s = state.startups
    if rows.size == 0:
        return 0
    s.status[rows] = Status.ACQUIRED
    s.changes += 1  # the live startups change (State.alive_startups)
    s.exit_month[rows] = state.month
    s.acquirer[rows] = firm.index
    s.exit_value[rows] = price
    staff = staff_of(state, rows)
    src = state.people.employer_id[staff]
    state.flows.add(state.month, Employer.STARTUP, src, Employer.BIG_FIRM, firm.index)
    reassign(state, params, staff, Employer.BIG_FIRM, firm.index)
    state.counters["startups_acquired"][firm.region] += rows.size
    state.counters["ma_paid_yuan"][firm.region] += float(price.sum())
    state.networks.end_partnerships(rows, state.month)
    return int(rows.size)


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
    """A big firm's month of M&A (docs/ODD.md 7.3): each local independent firm at seed stage or
    later is a candidate with monthly hazard h_A × (q / q̄)^ζ × (1 + m_stall × stalled); the firm
    buys the hits, in random order, while its yearly M&A budget covers each whole price."""
    firm.open_month(state.month)
    if firm.ma_budget.available <= 0:
        return
    s, st = state.startups, params.config.startups
    alive = state.alive_startups()
    cand = alive[
        (s.region[alive] == firm.region) & (s.stage[alive] >= Stage.SEED) & ~s.listed[alive]
    ]
    if cand.size == 0:
        return
    q = np.maximum(s.capability[cand], 0.0)
    qbar = q.mean()
    rel = q / qbar if qbar > 0 else np.ones(cand.size)
    burn = np.maximum(economics.monthly_costs(state, params, cand) - s.revenue[cand], 1.0)
    stalled = (s.revenue[cand] <= s.revenue_avg12[cand]) & (
        s.cash[cand] / burn < st.raise_below_runway_months
    )
    hazard = (
        st.acquisition_hazard
        * rel**st.acquisition_quality_elasticity
        * (1.0 + st.acquisition_stall_multiplier * stalled)
    )
    hit = np.flatnonzero(rng.random(cand.size) < np.minimum(hazard, 1.0))
    if hit.size == 0:
        return
    hit = rng.permutation(hit)
    price = np.maximum(
        s.post_money[cand[hit]] * (1.0 - st.distress_haircut * stalled[hit]),
        12.0 * s.revenue[cand[hit]] * st.acquisition_revenue_multiple_floor,
    )
    bought = np.array([firm.pay_for(float(p)) for p in price], dtype=bool)
    firm.record_acquisitions(acquire(state, params, firm, cand[hit[bought]], price[bought]))


def list_ipos(state: State, params: Params, rng: np.random.Generator) -> None:
    """Late-stage firms with enough revenue and value list (docs/ODD.md 7.7): they stay alive,
    employ and buy compute, but are no longer startups, raise no rounds and are not acquired."""
    s, st = state.startups, params.config.startups
    alive = state.alive_startups()
    ok = (
        ~s.listed[alive]
        & (s.stage[alive] >= Stage.SERIES_C)
        & (12.0 * s.revenue[alive] >= st.ipo_min_revenue_yuan)
        & (s.post_money[alive] >= st.ipo_min_value_yuan)
    )
    cand = alive[ok]
    if cand.size == 0:
        return
    lists = cand[rng.random(cand.size) < st.ipo_hazard]
    s.listed[lists] = True
    s.listed_month[lists] = state.month
    s.exit_value[lists] = st.ipo_revenue_multiple * 12.0 * s.revenue[lists]
    state.count("startups_listed", s.region[lists].astype(np.int64))


def university_links(uni, state: State, params: Params, rng: np.random.Generator) -> None:
    """A university's month: researcher spinoffs, then collaborations with local startups."""
    n = uni.spinoffs_wanted(rng)
    if n:
        uni.record_spinoffs(found_from_employer(state, rng, Employer.UNIVERSITY, uni.index, n))
    n = uni.collaborations_wanted(rng)
    if n:
        uni.record_collaborations(collaborate(state, params, rng, uni, n, uni.collaboration_gain))
