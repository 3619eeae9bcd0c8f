"""What a startup's staff cost, what it can afford, what its capability is worth and what its
market pays it.

Pure functions of the state that several phases share (hiring, funding, costs, the compute
market, capability, demand); they change nothing except ``advance_adoption`` (the Bass step of
each region's adoption share) and ``update_revenue`` (revenue moves toward its target).

Demand (docs/ODD.md 7.6) is a nested logit with one "startup products" nest per region and
sector and an outside option: a firm's attraction is its quality against the moving frontier,
q = K / F(t), raised to η; startups as a group win the share S = I^ρ / (I^ρ + V0) of the
region-sector's AI spending, where I is the sum of their attractions; each firm gets its
attraction's share of that. AI spending is the adopted part of the market potential, plus big
firms' procurement and the purchases adoption programmes subsidise.
"""

from __future__ import annotations

import numpy as np

from ecosystem.scenario import SECTORS
from ecosystem.state import Params, State


def reference_price(state: State, params: Params, region: np.ndarray) -> np.ndarray:
    """Cheapest list price of a data center in each region (the firm's planning price).

    A region without data centers plans with the cheapest price anywhere; with none anywhere,
    with ``compute.reference_price_without_centers_yuan``.
    """
    prices = np.full(params.n_regions, np.inf)
    for dc in state.data_centers:
        prices[dc.region] = min(prices[dc.region], dc.price)
    finite = prices[np.isfinite(prices)]
    fallback = params.config.compute.reference_price_without_centers_yuan
    prices[~np.isfinite(prices)] = finite.min() if finite.size else fallback
    return prices[region]


def cost_per_head(state: State, params: Params, rows: np.ndarray) -> np.ndarray:
    """Monthly cost of one more employee: wage, overheads and their training compute."""
    s, st = state.startups, params.config.startups
    region = s.region[rows]
    compute = params.sector_training[s.sector[rows]] * reference_price(state, params, region)
    return state.wage[region] * (1 + st.other_opex_share) + compute


def monthly_costs(state: State, params: Params, rows: np.ndarray) -> np.ndarray:
    """Wages with overheads, plus this month's own compute spending, plus the plan's spending
    beyond staff (:func:`plan_spending`; 0 unless the round's plan is on)."""
    s, st = state.startups, params.config.startups
    wages = s.headcount[rows] * state.wage[s.region[rows]] * (1 + st.other_opex_share)
    base = wages + s.compute_spend[rows]
    return base + plan_spending(state, params, rows, base + s.data_spend[rows])


def planning(state: State, rows: np.ndarray) -> np.ndarray:
    """Firms whose last round's plan is running: a plan burn the layoff point has not reset."""
    return state.startups.plan_burn[rows] > 0.0


def plan_spending(state: State, params: Params, rows: np.ndarray, spent: np.ndarray) -> np.ndarray:
    """The plan's spending beyond staff, compute and data (docs/ODD.md §7.8): φ × (b −
    ``spent``)⁺ for a firm whose plan is running (b its plan burn, φ =
    ``plan_unstaffed_spend_share``): burn ahead of revenue that does not wait for the labour
    market, and buys nothing the model represents."""
    st = params.config.startups
    if st.plan_unstaffed_spend_share <= 0 or st.round_plan_months <= 0:
        return np.zeros(rows.size)
    gap = np.maximum(state.startups.plan_burn[rows] - spent, 0.0)
    return np.where(planning(state, rows), st.plan_unstaffed_spend_share * gap, 0.0)


def desired_headcount(state: State, params: Params, rows: np.ndarray) -> np.ndarray:
    """Staff a startup can afford while keeping its runway target.

    Founders accept a shorter runway to assemble their founding team: up to ``founding_team``
    people as long as ``founding_team_runway_months`` of wages are in the bank (at least the
    founder).
    """
    s, st = state.startups, params.config.startups
    per_head = cost_per_head(state, params, rows)
    cash = np.maximum(s.cash[rows], 0)
    budget = cash / st.runway_target_months + s.revenue[rows] * (1 - st.target_margin)
    team = np.clip(
        np.floor(cash / (st.founding_team_runway_months * per_head)), 1, st.founding_team
    )
    # The round's plan (§7.7): while it runs, the firm hires ahead of revenue toward the
    # burn its last round bought (b = cash at the round / P, ``round_plan_months``).
    plan = np.where(planning(state, rows), s.plan_burn[rows], 0.0)
    budget = np.maximum(budget, np.minimum(plan, cash))
    return np.maximum(np.floor(budget / per_head), team).astype(np.int64)


def frontier(params: Params, month: float) -> float:
    """Frontier quality index F(t) = (1 + g_F)^(t/12); a firm's quality is K / F."""
    return (1.0 + params.config.demand.frontier_growth_per_year) ** (month / 12.0)


def efficiency(params: Params, month: float) -> float:
    """Capability per unit of compute, E(t) = (1 + g_E)^(t/12) (H10: faster under export
    controls, see ``Params.efficiency_gain``)."""
    return (1.0 + params.efficiency_gain) ** (month / 12.0)


def capability_gain(
    params: Params, month: float, gpu_h: np.ndarray, talent: np.ndarray, data: np.ndarray
) -> np.ndarray:
    """Monthly capability produced: σ_K · E(t) · (c / c₀)^α · T^β · D.

    ``gpu_h`` is training compute bought (c), ``talent`` skill-weighted staff (T), ``data`` the
    data multiplier (D); c₀ = ``capability_compute_unit_gpu_h``. α < 1: diminishing returns.
    """
    st = params.config.startups
    c = np.asarray(gpu_h, dtype=np.float64) / st.capability_compute_unit_gpu_h
    return (
        st.capability_scale
        * efficiency(params, month)
        * c**st.compute_elasticity
        * np.asarray(talent, dtype=np.float64) ** st.talent_elasticity
        * data
    )


def quality_ceiling(params: Params, month: float) -> float:
    """C = κ · F(t) · σ_K/δ: the capability no firm grows past, κ times a unit firm's steady
    state at the frontier (infinite without a ceiling, κ = ``catchup_ceiling`` = 0)."""
    st = params.config.startups
    if st.catchup_ceiling <= 0:
        return np.inf
    unit = st.capability_scale / st.capability_depreciation_per_month
    return st.catchup_ceiling * frontier(params, month) * unit


def catchup_factor(params: Params, month: float, capability: np.ndarray) -> np.ndarray | float:
    """max(0, 1 − K / C) (:func:`quality_ceiling`): the share of its capability gains a firm
    keeps as it nears the ceiling; exactly 1.0 without one, so multiplying by it changes
    nothing."""
    ceiling = quality_ceiling(params, month)
    if not np.isfinite(ceiling):
        return 1.0
    return np.maximum(0.0, 1.0 - np.asarray(capability, dtype=np.float64) / ceiling)


def compute_to_hold_quality(
    params: Params, month: float, quality: float, talent: float = 1.0, data: float = 1.0
) -> float:
    """Training GPU-h a month at which a firm's steady-state quality K/F is ``quality`` (without
    the quality ceiling, ``catchup_ceiling`` = 0).

    Steady state of K ← K(1 − δ) + gain: K* = gain / δ, so c = c₀ · (q·F·δ / (σ·E·T^β·D))^(1/α).
    It falls as the efficiency trend E rises and grows with the frontier F.
    """
    st = params.config.startups
    if st.compute_elasticity <= 0:
        raise ValueError("compute_elasticity is 0: no amount of compute changes quality")
    base = capability_gain(params, month, st.capability_compute_unit_gpu_h, talent, data)
    need = quality * frontier(params, month) * st.capability_depreciation_per_month / base
    return float(st.capability_compute_unit_gpu_h * need ** (1.0 / st.compute_elasticity))


def market_potential(params: Params, month: float) -> np.ndarray:
    """Yearly market potential M_r · (1 + g_M)^(t/12) of every region (0 without a market)."""
    out = np.zeros(params.n_regions)
    for r in range(params.n_regions):
        market = params.region(r).market
        if market is not None:
            growth = (1 + market.market_growth_per_year) ** (month / 12.0)
            out[r] = market.market_potential_yuan_per_year * growth
    return out


def initial_adoption(params: Params) -> np.ndarray:
    """Adoption share A_r(0) of every region with a market (0 elsewhere)."""
    has_market = market_potential(params, 0) > 0
    return np.where(has_market, params.config.demand.adoption_initial, 0.0)


def bass_step(adoption: np.ndarray, programme_share: np.ndarray, params: Params) -> np.ndarray:
    """One month of Bass diffusion with a programme term.

    A ← A + (p_B + π_A · a + q_B · A) · (1 − A) / 12, where a is programme spending as a share of
    the year's market potential (at this month's pace, per year).
    """
    d = params.config.demand
    hazard = d.bass_innovation_per_year + d.adoption_programme_pull * programme_share
    hazard = hazard + d.bass_imitation_per_year * adoption
    return np.clip(adoption + hazard * (1.0 - adoption) / 12.0, 0.0, 1.0)


def advance_adoption(state: State, params: Params, spent: np.ndarray) -> None:
    """Move each region's adoption share one month (``spent``: programme yuan this month)."""
    potential = market_potential(params, state.month)
    share = np.where(potential > 0, 12.0 * spent / np.maximum(potential, 1e-300), 0.0)
    state.adoption = np.where(potential > 0, bass_step(state.adoption, share, params), 0.0)


def sector_spending(state: State, params: Params) -> np.ndarray:
    """AI spending B_rs by region and sector, yuan per month: the adopted part of the market
    potential, big firms' procurement and the adoption programmes' subsidised purchases."""
    base = market_potential(params, state.month) * state.adoption / 12.0
    for b in state.big_firms:
        base[b.region] += b.procurement_per_month
    base = base + state.adoption_demand
    return base[:, None] * params.sector_shares


def attraction(
    params: Params, capability: np.ndarray, month: float, log_fit: np.ndarray | float = 0.0
) -> np.ndarray:
    """v_i = θ_i · q_i^η with q_i = K_i / F(t) and θ_i the firm's true product-market fit
    (``log_fit`` = log θ; 0 = average fit), before partner bundles (:func:`bundled`)."""
    q = np.maximum(capability, 0.0) / frontier(params, month)
    return np.exp(log_fit) * q**params.config.demand.quality_elasticity


def bundled(state: State, params: Params, alive: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Partner bundles (H9, customers shared; docs/ODD.md 7.6): v_i (1 + ω P_i) with
    P_i = min(Σ_partners v_j / v_i, 1), ω = ``partnership_customer_share``: a firm sold
    together with its current partners' products gains up to ω of its own attraction (all of
    it once its partners together are as attractive as it is; a firm with v = 0 gains
    nothing). ``v`` are the bare attractions of the live rows ``alive``."""
    omega = params.config.startups.partnership_customer_share
    if omega == 0.0:
        return v
    full = np.zeros(state.startups.n)
    full[alive] = v
    partners = state.networks.partners_sum(full)[alive]
    share = np.minimum(np.divide(partners, v, out=np.zeros(v.size), where=v > 0), 1.0)
    return v * (1.0 + omega * share)


def startup_share(inclusive: np.ndarray, params: Params) -> np.ndarray:
    """S = I^ρ / (I^ρ + V0): the share of spending startups' products win from the outside
    option (0 where no startup sells)."""
    d = params.config.demand
    i_rho = np.maximum(inclusive, 0.0) ** d.nest_rho
    return i_rho / (i_rho + d.outside_option)


def target_revenue(
    v: np.ndarray, key: np.ndarray, spending: np.ndarray, params: Params
) -> np.ndarray:
    """Target monthly revenue R*_i = B · S · v_i / I of firms with attraction ``v`` in markets
    ``key`` (flat indices into ``spending``, yuan per month)."""
    inclusive = np.bincount(key, weights=v, minlength=spending.size)
    share = startup_share(inclusive, params)
    per_unit = np.where(inclusive > 0, spending * share / np.where(inclusive > 0, inclusive, 1), 0)
    return per_unit[key] * v


def targets_now(
    state: State, params: Params, spending: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Every live firm's nested-logit target revenue at its capability and true fit now, given
    AI spending by (region, sector): (live rows, targets)."""
    s = state.startups
    alive = state.alive_startups()
    key = s.region[alive].astype(np.int64) * len(SECTORS) + s.sector[alive]
    v = attraction(params, s.capability[alive], state.month, s.log_fit[alive])
    v = bundled(state, params, alive, v)
    return alive, target_revenue(v, key, spending.ravel(), params)


def update_revenue(
    state: State, params: Params, adjust: float | None = None, shock: np.ndarray | None = None
) -> None:
    """Revenue moves ``revenue_adjust_per_month`` of the way toward its nested-logit target.

    ``shock`` (one factor per live firm, mean 1) scales this month's new business: revenue moves
    toward R* × shock, the noise through which a month of sales reveals the fit (``learn_fit``).
    """
    s, st = state.startups, params.config.startups
    lam = st.revenue_adjust_per_month if adjust is None else adjust
    spending_rs = sector_spending(state, params)
    state.ai_spending = spending_rs.sum(axis=1)
    alive, target = targets_now(state, params, spending_rs)
    s.revenue_target[alive] = target
    toward = target if shock is None else target * shock
    s.revenue[alive] += lam * (toward - s.revenue[alive])


def believed_fit(state: State, rows: np.ndarray) -> np.ndarray:
    """θ̂ = E[θ | sales so far] = exp(μ + 1/(2τ)) (log-normal posterior mean)."""
    s = state.startups
    return np.exp(s.fit_mean[rows] + 0.5 / s.fit_precision[rows])


def expected_revenue(state: State, rows: np.ndarray) -> np.ndarray:
    """R̂*: the target revenue the firm (and a VC) expects, its nested-logit target with the
    believed fit θ̂ in place of the unknown true fit θ (R* is linear in θ at a given market)."""
    s = state.startups
    return s.revenue_target[rows] * believed_fit(state, rows) * np.exp(-s.log_fit[rows])


def viability_line(state: State, params: Params, rows: np.ndarray) -> np.ndarray:
    """The expected revenue a business must reach to pay a minimal team: χ × H_min × w_r ×
    (1 + opex) (χ = ``closure_revenue_share``, H_min = ``startup_min_team``). Founders close a
    firm below it (docs/ODD.md 7.8) and a VC values it at nothing (7.7): one line for both."""
    s, st = state.startups, params.config.startups
    minimal = st.startup_min_team * state.wage[s.region[rows]] * (1 + st.other_opex_share)
    return st.closure_revenue_share * minimal


def viable(state: State, params: Params, rows: np.ndarray) -> np.ndarray:
    """Firms whose expected revenue R̂* reaches the :func:`viability_line`."""
    return expected_revenue(state, rows) >= viability_line(state, params, rows)


def vc_value(state: State, params: Params, rows: np.ndarray, stage: np.ndarray) -> np.ndarray:
    """V̂ = P̂ × m_VC × 12 × R_VC × G[stage] × g × D[stage]: what a VC thinks a firm is worth,
    post-money (design §3.3; docs/design/vc-screen.md, M1; docs/ODD.md 7.7). P̂, the VC method's
    probability that the firm lasts to an exit, is a step at the :func:`viability_line`: 1
    above, 0 below. The revenue priced, R_VC = (1 − ω) R̂* + ω R, weighs the expected revenue
    R̂* against the run-rate R the firm shows this month (its traction), ω =
    ``vc_traction_weight`` (0: R̂* alone). ``stage`` indexes ``stage_growth`` (0 seed ... 4 D+):
    the round sought for a raise, the last round for a mark; g = ``stage_growth_scale``; D is
    the :func:`stage_discount`."""
    st = params.config.startups
    growth = np.asarray(st.stage_growth)[stage] * st.stage_growth_scale
    growth = growth * stage_discount(params)[stage]
    expected = expected_revenue(state, rows)
    omega = st.vc_traction_weight
    priced = (1.0 - omega) * expected + omega * state.startups.revenue[rows]
    value = st.vc_revenue_multiple * 12.0 * priced * growth
    return np.where(expected >= viability_line(state, params, rows), value, 0.0)


def vc_mark(state: State, params: Params, rows: np.ndarray) -> np.ndarray:
    """The mark of firms ``rows``: :func:`vc_value` at the stage of their last round (a firm
    that raised none: at seed), so the post-money on the day of a round, and 0 below the
    viability line (docs/ODD.md 7.7: VC returns; §5: the 2025 stock's last post-money)."""
    return vc_value(
        state, params, rows, np.maximum(state.startups.stage[rows].astype(np.int64) - 1, 0)
    )


def stage_discount(params: Params) -> np.ndarray:
    """D[k] = TM_A / TM_k by stage k (0 seed ... 4 D+), TM_k = (1 + r_k)^H_k the VC method's
    target multiple: the exit value a VC needs per yuan of post-money at the return it targets,
    r_k = ``vc_target_return``, over H_k = (5 − k) × y years to an exit, y =
    ``vc_years_per_round``. Relative to Series A (D[A] = 1), so m_VC and g keep their meaning
    there; y = 0 gives 1 at every stage (no stage discount)."""
    st = params.config.startups
    rate = np.asarray(st.vc_target_return, dtype=float)
    horizon = (rate.size - np.arange(rate.size)) * st.vc_years_per_round
    log_tm = horizon * np.log1p(rate)
    return np.exp(log_tm[1] - log_tm)  # index 1: the Series A round


def planned_headcount(state: State, params: Params, rows: np.ndarray) -> np.ndarray:
    """H_plan: the staff a firm's expected revenue R̂* pays for with its target margin (its
    growth plan; compare ``desired_headcount``, what its cash and revenue pay now)."""
    st = params.config.startups
    per_head = cost_per_head(state, params, rows)
    return np.floor(expected_revenue(state, rows) * (1 - st.target_margin) / per_head)


def funding_need(state: State, params: Params, rows: np.ndarray) -> np.ndarray:
    """The cash a round must bring to carry the firm's plan to its next round: T × (this month's
    costs + the cost of the planned staff it lacks − revenue) − cash, T =
    ``months_between_rounds`` (≤ 0: it needs nothing)."""
    s, st = state.startups, params.config.startups
    missing = np.maximum(planned_headcount(state, params, rows) - s.headcount[rows], 0.0)
    plan = monthly_costs(state, params, rows) + missing * cost_per_head(state, params, rows)
    net = np.maximum(plan - s.revenue[rows], 0.0)
    return st.months_between_rounds * net - np.maximum(s.cash[rows], 0.0)


def prior_fit(params: Params, n: int, rng: np.random.Generator, ages: np.ndarray | None = None):
    """True log fit and the belief (mean, precision) of n new firms.

    log θ ~ N(−σ_θ²/2, σ_θ²) and the prior belief is that distribution (μ = −σ_θ²/2, τ =
    1/σ_θ²). With ``ages`` (months of sales already seen: the 2025 stock), the precision is
    the Kalman recursion run that many months; the belief mean is drawn first, from the
    distribution of posterior means (N(−σ_θ²/2, σ_θ² − 1/τ)), and the truth around it, log θ =
    μ + N(0, 1/τ): beliefs are unbiased given the firm's information (E[log θ | μ] = μ) and
    log θ keeps its N(−σ_θ²/2, σ_θ²) distribution.
    """
    st = params.config.startups
    sig = st.fit_sigma
    log_fit = rng.normal(-0.5 * sig**2, sig, n)
    precision = np.full(n, 1.0 / sig**2)
    mean = np.full(n, -0.5 * sig**2)
    if ages is not None:
        ages = np.asarray(ages, dtype=np.int64)
        for _ in range(int(ages.max(initial=0))):
            grow = ages > 0
            precision[grow] = kalman_precision(precision[grow], st)
            ages = ages - 1
        spread = np.sqrt(np.maximum(sig**2 - 1.0 / precision, 0.0))
        mean = -0.5 * sig**2 + spread * (log_fit + 0.5 * sig**2) / sig  # reuse the draw
        log_fit = mean + rng.normal(0.0, 1.0, n) / np.sqrt(precision)
    return log_fit, mean, precision


def kalman_precision(precision: np.ndarray, st) -> np.ndarray:
    """τ after one month: the drift widens the belief, one month of sales narrows it."""
    return 1.0 / (1.0 / precision + st.fit_drift_sigma**2) + 1.0 / st.sales_noise_sigma**2


def drift_fit(state: State, params: Params, rows: np.ndarray, rng: np.random.Generator) -> None:
    """Markets move: the true log fit of the given firms drifts by N(−σ_w²/2, σ_w²) (E θ stays
    1), before this month's sales, which it then shapes."""
    st = params.config.startups
    w = st.fit_drift_sigma
    state.startups.log_fit[rows] += rng.normal(-0.5 * w**2, w, rows.size)


def sales_shock(params: Params, n: int, rng: np.random.Generator) -> np.ndarray:
    """This month's noise on new business, exp(ε), ε ~ N(−σ_y²/2, σ_y²) (mean 1)."""
    y = params.config.startups.sales_noise_sigma
    return np.exp(rng.normal(-0.5 * y**2, y, n))


def sales_signal(state: State, params: Params, rows: np.ndarray, before: np.ndarray) -> np.ndarray:
    """What this month's sales reveal about log θ, per row (NaN: no new business, no signal).

    Revenue moved from ``before`` toward R* × shock, and R* = θ × m with m = R* / θ the demand
    at average fit, which the firm knows (its quality, the market). The new business it won,
    R − (1 − λ)·before = λ·θ·m·shock, against λ·m gives y = log θ + ε + σ_y²/2 = log θ +
    N(0, σ_y²): the realised revenue relative to what a fit of 1 predicts.
    """
    s, st = state.startups, params.config.startups
    lam = st.revenue_adjust_per_month
    won = s.revenue[rows] - (1.0 - lam) * before
    per_fit = lam * s.revenue_target[rows] * np.exp(-s.log_fit[rows])
    ok = (won > 0) & (per_fit > 0)
    y = np.full(rows.size, np.nan)
    y[ok] = np.log(won[ok] / per_fit[ok]) + 0.5 * st.sales_noise_sigma**2
    return y


def learn_fit(state: State, params: Params, rows: np.ndarray, y: np.ndarray) -> None:
    """Kalman update of the belief about log θ from this month's sales signal ``y`` (the fit
    drifted before the sales, ``drift_fit``): prior variance 1/τ + σ_w², prior mean μ − σ_w²/2;
    a firm without a signal (NaN) keeps the prior."""
    s, st = state.startups, params.config.startups
    w2, y2 = st.fit_drift_sigma**2, st.sales_noise_sigma**2
    prior_var = 1.0 / s.fit_precision[rows] + w2
    prior_mean = s.fit_mean[rows] - 0.5 * w2
    seen = np.isfinite(y)
    precision = 1.0 / prior_var + seen / y2
    s.fit_mean[rows] = (prior_mean / prior_var + np.where(seen, y, 0.0) / y2) / precision
    s.fit_precision[rows] = precision
