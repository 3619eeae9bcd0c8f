"""What a startup's staff cost, what it can afford, and what its market pays it.

Pure functions of the state that several phases share (hiring, funding, costs, the compute
market); they change nothing except ``update_revenue``, which moves revenue toward market share.
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
    return params.wage[region] * (1 + st.other_opex_share) + compute


def monthly_costs(state: State, params: Params, rows: np.ndarray) -> np.ndarray:
    """Wages with overheads, plus this month's own compute spending."""
    s, st = state.startups, params.config.startups
    wages = s.headcount[rows] * params.wage[s.region[rows]] * (1 + st.other_opex_share)
    return wages + s.compute_spend[rows]


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
    return np.maximum(np.floor(budget / per_head), team).astype(np.int64)


def sector_demand(state: State, params: Params) -> np.ndarray:
    """Local demand for startups' products by region and sector, yuan per month."""
    out = np.zeros((params.n_regions, len(SECTORS)))
    years = state.month / 12.0
    for r in range(params.n_regions):
        market = params.region(r).market
        if market is None:
            continue
        growth = (1 + market.demand_growth_per_year) ** years
        base = market.startup_demand_yuan_per_year / 12 * growth
        base += sum(b.procurement_per_month for b in state.big_firms if b.region == r)
        base += state.adoption_demand[r]
        out[r] = base * params.sector_shares[r]
    return out


def update_revenue(state: State, params: Params, adjust: float | None = None) -> None:
    """Revenue moves toward each firm's share of its sector's local demand (K^gamma shares)."""
    s, st = state.startups, params.config.startups
    lam = st.revenue_adjust_per_month if adjust is None else adjust
    alive = state.alive_startups()
    if alive.size == 0:
        return
    demand = sector_demand(state, params)  # (regions, sectors) yuan per month
    key = s.region[alive].astype(np.int64) * len(SECTORS) + s.sector[alive]
    w = s.capability[alive] ** st.revenue_share_exponent
    total = np.bincount(key, weights=w, minlength=demand.size)
    # A niche share of demand is split evenly among firms that have found product-market fit
    # (capability at least ``fit_threshold`` × their sector's median); the rest goes by
    # capability.
    k = s.capability[alive]
    median = np.zeros(demand.size)
    order = np.lexsort((k, key))
    sk, kk = key[order], k[order]
    first = np.searchsorted(sk, np.arange(demand.size), side="left")
    last = np.searchsorted(sk, np.arange(demand.size), side="right")
    has = last > first
    median[has] = kk[(first[has] + last[has] - 1) // 2]
    fit = k >= st.fit_threshold * median[key]
    count = np.bincount(key, weights=fit, minlength=demand.size)
    niche = st.niche_demand_share
    share = (1 - niche) * w / np.maximum(total[key], 1e-12)
    share = share + niche * fit / np.maximum(count[key], 1)
    target = demand.ravel()[key] * share
    s.revenue[alive] += lam * (target - s.revenue[alive])
