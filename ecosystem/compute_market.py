"""The compute market: startups' demand meets data centers, east and west, with vouchers.

Each month:

1. Every live startup wants training compute (staff × sector intensity; halved when its runway is
   short) and inference compute (revenue × sector intensity). A firm that expects a voucher scales
   both up by ``1 + a·r/(1−r)``: with additionality a = 1 it spends the same own money on more
   compute; with a = 0 it buys what it would anyway and keeps the saving.
2. Background demand (users outside the model) takes capacity first, at each center's price.
3. Startups split each request over the data centers with capacity left by a multinomial logit on
   the effective price: price × (1 − voucher rate where the voucher is valid), plus a friction for
   buying outside the home region (reduced by the unified-network lever) and, for inference only,
   a latency penalty. A center asked for more than it has left sells its capacity in proportion to
   the requests (proportional rationing); what was not served is split again over the centers that
   still have capacity; demand nobody can serve stays unmet.
4. Vouchers are claimed per firm and paying government, capped per firm and year, and paid from
   the yearly budget first come, first served (startups in random order); the firm pays the rest.
5. Data vouchers pay part of each firm's data spending (a share of its training spend); extra
   data raises capability growth.

After the market, ``set_prices`` moves every center's price part of the way toward the price at
which its utilisation would be on target: ``p ← clip(p·exp(k·(u − u*)), floor, cap)``. A logit
demand has a bounded price elasticity, so this converges without a cobweb when
``2·k·(λ·p_cap + ε_bg) < 1`` (checked by scenario validation; docs/ODD.md §7.4).
"""

from __future__ import annotations

import numpy as np

from ecosystem import economics
from ecosystem.state import Params, State

NATIONAL = -2  # payer code of the national voucher programme (V7)


def voucher_rates(state: State, firms: np.ndarray) -> np.ndarray:
    """Rate each firm's home programme would pay now (0 if closed, ineligible or not claiming)."""
    s = state.startups
    rates = np.zeros(firms.size)
    for g in state.governments:
        pol = g.policy
        if pol.voucher_claimants != "local_firms" or not g.vouchers_paying:
            continue
        m = s.region[firms] == g.region
        if not m.any():
            continue
        f = firms[m]
        sme_rate = max(pol.voucher_rate_sme, pol.voucher_rate)
        small = s.contract_year[f] < pol.voucher_sme_contract_max_yuan
        r = np.where(small, sme_rate, pol.voucher_rate)
        if pol.voucher_sme_only:
            r = np.where(s.headcount[f] <= pol.voucher_sme_max_headcount, r, 0.0)
        r = np.where(s.voucher_year[f] < pol.voucher_cap_per_firm_yuan, r, 0.0)
        rates[m] = r
    return rates * s.claims_vouchers[firms]


def rate_matrix(
    state: State, params: Params, firms: np.ndarray, home_rate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Voucher rate and paying government for each (firm, data center).

    A firm's home programme is valid at home data centers, and at hub data centers if portable.
    A hub's own ``any_buyer`` programme is valid at its data centers for everyone; the national
    programme (V7) everywhere for everyone. Where several are valid the highest rate applies
    (programmes do not stack).
    """
    s = state.startups
    dcs = state.data_centers
    home = s.region[firms].astype(np.int64)
    portable = np.array([g.policy.voucher_portable for g in state.governments])[home]
    dc_region = np.array([dc.region for dc in dcs])
    hub = np.array([dc.is_hub for dc in dcs])
    valid = (home[:, None] == dc_region[None, :]) | (portable[:, None] & hub[None, :])
    rate = np.where(valid, home_rate[:, None], 0.0)
    payer = np.where(valid & (home_rate > 0)[:, None], home[:, None], -1)
    for j, dc in enumerate(dcs):
        g = state.governments[dc.region]
        pol = g.policy
        if pol.voucher_claimants == "any_buyer" and g.vouchers_paying:
            under_cap = s.voucher_year[firms] < pol.voucher_cap_per_firm_yuan
            hub_rate = np.where(under_cap, pol.voucher_rate, 0.0) * s.claims_vouchers[firms]
            better = hub_rate > rate[:, j]
            rate[better, j] = hub_rate[better]
            payer[better, j] = dc.region
    nat = params.config.national
    year = params.config.meta.start_year + state.month // 12
    running = nat.voucher_rate > 0 and state.national_vouchers.remaining > 0
    if running and year >= nat.voucher_start_year:
        under_cap = s.national_voucher_year[firms] < nat.voucher_cap_per_firm_yuan
        nat_rate = np.where(under_cap, nat.voucher_rate, 0.0)
        nat_rate = (nat_rate * s.claims_vouchers[firms])[:, None]
        better = nat_rate > rate
        rate = np.where(better, nat_rate, rate)
        payer = np.where(better, NATIONAL, payer)
    return rate, payer


def background_demand(
    base: np.ndarray,
    growth: np.ndarray,
    years: float,
    price: np.ndarray,
    initial_price: np.ndarray,
    elasticity: float,
) -> np.ndarray:
    """Demand from users outside the model at each center: grows on trend, falls as the price
    rises (constant elasticity). A price driven to zero (no cost floor) gives a large but finite
    demand (the price ratio is floored at 1e-9)."""
    rel_price = np.maximum(price / initial_price, 1e-9)
    return base * (1.0 + growth) ** years * rel_price ** (-elasticity)


def split_and_ration(
    demand: np.ndarray, eff_price: np.ndarray, capacity: np.ndarray, sensitivity: float
) -> np.ndarray:
    """Requests (rows) split over centers (columns) by a logit on effective prices, rationed.

    Each round, every unserved request is split over the centers with capacity left in shares
    ``exp(−λ·p̃_ij) / Σ_k exp(−λ·p̃_ik)``. A center asked for more than it has left sells all of it
    in proportion to the requests (proportional rationing) and closes; the unserved rest is split
    again over the centers still open. Each round closes a center or serves everything, so at most
    as many rounds as centers. Returns GPU-h bought, (requests, centers); never more than
    ``capacity`` per center (up to rounding), never more than ``demand`` per row.
    """
    n, m = eff_price.shape
    bought = np.zeros((n, m))
    rows = np.flatnonzero(demand > 0)
    if rows.size == 0 or m == 0:
        return bought
    wanted = demand[rows].astype(np.float64)
    price = eff_price[rows]
    # Requests facing the same effective prices get the same shares and the same rationing, so
    # the market is solved once per distinct price row (home region × voucher rates × kind) and
    # each request gets its group's fractions. Rows are grouped by a fixed linear key and the
    # grouping is checked exactly; if two different rows ever shared a key, rows are kept apart.
    key = price @ np.linspace(1.0, 2.0, m) ** np.pi
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    if np.array_equal(price[first][group], price):
        price, pending = price[first], np.bincount(group, weights=wanted)
    else:
        group, pending = np.arange(rows.size), wanted.copy()
    total = pending.copy()
    avail = np.maximum(capacity.astype(np.float64), 0.0)
    got_rows = np.zeros((price.shape[0], m))
    for _ in range(m):
        open_ = np.flatnonzero(avail > 0)
        if open_.size == 0:
            break
        z = -sensitivity * price[:, open_]
        w = np.exp(z - z.max(axis=1, keepdims=True))
        request = pending[:, None] * (w / w.sum(axis=1, keepdims=True))
        asked = request.sum(axis=0)
        short = asked > avail[open_]
        fill = np.where(short, avail[open_] / np.where(short, asked, 1.0), 1.0)
        got = request * fill
        got_rows[:, open_] += got
        sold = got.sum(axis=0)
        avail[open_] = np.where(short, 0.0, np.maximum(avail[open_] - sold, 0.0))
        if not short.any():
            break
        pending = np.maximum(pending - got.sum(axis=1), 0.0)
        if not (pending > 0).any():
            break
    bought[rows] = wanted[:, None] * (got_rows / total[:, None])[group]
    return bought


def clear_market(state: State, params: Params, rng: np.random.Generator) -> None:
    """One month of the compute market (steps 1–5 of the module docstring)."""
    s, st, cm = state.startups, params.config.startups, params.config.compute
    dcs = state.data_centers
    m = len(dcs)
    alive = state.alive_startups()
    for col in ("training_gpu_h", "inference_gpu_h", "compute_spend", "data_spend"):
        s.view(col)[:] = 0.0
    s.view("data_multiplier")[:] = 1.0
    capacity = np.array([dc.capacity for dc in dcs])
    price = np.array([dc.price for dc in dcs])
    # Background users take capacity first.
    wanted = background_demand(
        np.array([dc.background_base for dc in dcs]),
        np.array([dc.spec.background_growth_per_year for dc in dcs]),
        state.month / 12.0,
        price,
        np.array([dc.spec.price_yuan_per_gpu_h for dc in dcs]),
        cm.background_price_elasticity,
    )
    background = np.minimum(wanted, capacity)
    capacity -= background
    if alive.size == 0 or m == 0:
        for j, dc in enumerate(dcs):
            dc.record_sales(background[j], 0.0, dc.revenue_startups)
        return
    firms = rng.permutation(alive)  # arrival order (first come, first served for budgets)
    region = s.region[firms].astype(np.int64)
    sector = s.sector[firms]
    # Demand (GPU-h): training from staff, inference from revenue.
    train = s.headcount[firms] * params.sector_training[sector]
    burn = np.maximum(economics.monthly_costs(state, params, firms) - s.revenue[firms], 1.0)
    short = s.cash[firms] / burn < st.raise_below_runway_months
    train = np.where(short, cm.training_share_when_short * train, train)
    infer = s.revenue[firms] * params.sector_inference[sector]
    home_rate = voucher_rates(state, firms)
    rate, payer = rate_matrix(state, params, firms, home_rate)
    best_rate = rate.max(axis=1)
    # Additionality is the firm's behaviour; its home government's estimate applies.
    additionality = np.array([g.policy.voucher_additionality for g in state.governments])[region]
    uplift = 1.0 + additionality * best_rate / np.maximum(1.0 - best_rate, cm.voucher_uplift_floor)
    train, infer = train * uplift, infer * uplift
    # Effective prices.
    dc_region = np.array([dc.region for dc in dcs])
    outside = region[:, None] != dc_region[None, :]
    friction = cm.cross_region_friction_yuan * (1.0 - cm.unified_network)
    base = price[None, :] * (1.0 - rate) + outside * friction
    # Inference and training requests meet the centers together (one logit split, one rationing).
    n = firms.size
    latency = outside * cm.inference_latency_penalty_yuan
    both = split_and_ration(
        np.concatenate([infer, train]),
        np.vstack([base + latency, base]),
        capacity,
        cm.center_choice_sensitivity,
    )
    bought_i, bought_t = both[:n], both[n:]
    bought = bought_i + bought_t
    cost = bought * price[None, :]
    # Vouchers: claims per (firm, paying government), capped per firm and year, FCFS budgets.
    claim = cost * rate
    local_paid = np.zeros(firms.size)
    # Claims per firm and payer in one pass: column 0 national, 1 none, 2 + g government g.
    n_payers = params.n_regions + 2
    key = np.arange(firms.size)[:, None] * n_payers + (payer - NATIONAL)
    claims = np.bincount(key.ravel(), weights=claim.ravel(), minlength=firms.size * n_payers)
    claims = claims.reshape(firms.size, n_payers)
    for g in state.governments:
        c = claims[:, g.region - NATIONAL]
        if not c.any():
            continue
        cap_left = np.maximum(g.policy.voucher_cap_per_firm_yuan - s.voucher_year[firms], 0.0)
        paid = g.compute_vouchers(np.minimum(c, cap_left))
        local_paid += paid
        state.counters["voucher_spent_yuan"][g.region] += paid.sum()
    voucher = local_paid.copy()
    c = claims[:, 0]
    if c.any():
        nat_cap = params.config.national.voucher_cap_per_firm_yuan
        cap_left = np.maximum(nat_cap - s.national_voucher_year[firms], 0.0)
        paid = state.national_vouchers.grant(np.minimum(c, cap_left))
        voucher += paid
        s.national_voucher_year[firms] += paid
        state.count("national_voucher_spent_yuan", region, paid)
    total_cost = cost.sum(axis=1)
    s.training_gpu_h[firms] = bought_t.sum(axis=1)
    s.inference_gpu_h[firms] = bought_i.sum(axis=1)
    s.compute_spend[firms] = total_cost - voucher
    s.voucher_year[firms] += local_paid
    s.contract_year[firms] += total_cost
    s.compute_year[firms] += bought.sum(axis=1)
    # Additional compute attributable to vouchers: what the uplift bought, in the proportion of
    # the expected voucher that was actually paid.
    paid_share = np.clip(voucher / np.maximum(claim.sum(axis=1), 1e-9), 0.0, 1.0)
    extra = bought.sum(axis=1) * (1.0 - 1.0 / uplift) * paid_share
    hub = np.array([dc.is_hub for dc in dcs])
    state.count("compute_demand_gpu_h", region, train + infer)
    state.count("compute_sold_gpu_h", region, bought.sum(axis=1))
    state.count("compute_bought_outside_gpu_h", region, (bought * outside).sum(axis=1))
    state.count("compute_bought_west_gpu_h", region, bought[:, hub].sum(axis=1))
    state.count("voucher_additional_gpu_h", region, extra)
    for j, dc in enumerate(dcs):
        dc.record_sales(background[j], float(bought[:, j].sum()), float(cost[:, j].sum()))
    ref_price = economics.reference_price(state, params, region)
    buy_data(state, params, firms, s.training_gpu_h[firms] * ref_price)


def adjust_prices(
    price: np.ndarray,
    utilization: np.ndarray,
    floor: np.ndarray,
    cap: float,
    adjust: float,
    target: float,
) -> np.ndarray:
    """Clipped partial adjustment: ``clip(p·exp(k·(u − u*)), floor, cap)`` per center.

    The exponential form keeps prices positive whatever the gap; the floor wins where it is above
    the cap (a center never sells below its cost floor).
    """
    return np.maximum(np.minimum(price * np.exp(adjust * (utilization - target)), cap), floor)


def price_floors(state: State, params: Params) -> np.ndarray:
    """Each center's cost floor now: its initial floor falling with the cost of capacity, never
    below its power cost per GPU-hour."""
    dcs = state.data_centers
    decline = params.config.national.compute_cost_decline_per_year
    initial = np.array([dc.floor for dc in dcs])
    power = np.array([dc.power_cost_per_gpu_h for dc in dcs])
    return np.maximum(initial * (1.0 - decline) ** (state.month / 12.0), power)


def set_prices(state: State, params: Params, rng: np.random.Generator | None = None) -> None:
    """Every data center posts next month's price (``adjust_prices``, vectorised over centers)."""
    dcs = state.data_centers
    if not dcs:
        return
    cm = params.config.compute
    new = adjust_prices(
        np.array([dc.price for dc in dcs]),
        np.array([dc.utilization for dc in dcs]),
        price_floors(state, params),
        cm.price_cap_yuan_per_gpu_h,
        cm.price_adjust_per_month,
        cm.target_utilization,
    )
    for dc, p in zip(dcs, new, strict=True):
        dc.post_price(float(p))


def public_investment(gov, state: State, params: Params, rng: np.random.Generator) -> None:
    """A government's month of data-center investment (``Government.invest_in_data_centers``)."""
    state.counters["dc_investment_spent_yuan"][gov.region] += gov.invest_in_data_centers()


def buy_data(state: State, params: Params, firms: np.ndarray, training_spend: np.ndarray) -> None:
    """Data spending (a share of training spend); data vouchers pay part and buy extra data."""
    s, st = state.startups, params.config.startups
    floor = params.config.compute.voucher_uplift_floor
    spend = st.data_spend_share * training_spend
    paid = np.zeros(firms.size)
    data_index = np.ones(firms.size)
    for g in state.governments:
        pol = g.policy
        if pol.data_voucher_rate <= 0 or not g.data_vouchers_paying:
            continue
        m = np.flatnonzero(s.region[firms] == g.region)
        if m.size == 0:
            continue
        f = firms[m]
        r = pol.data_voucher_rate
        expected = 1.0 + pol.voucher_additionality * r / max(1.0 - r, floor)
        cap_left = np.maximum(pol.data_voucher_cap_per_firm_yuan - s.data_voucher_year[f], 0.0)
        claim = np.minimum(r * spend[m] * expected, cap_left)
        got = g.data_vouchers(claim)
        paid[m] = got
        # Extra data (the additional share) in proportion to the voucher actually paid.
        frac = np.where(claim > 0, got / np.maximum(claim, 1e-9), 0.0)
        data_index[m] = 1.0 + (expected - 1.0) * frac
        s.data_voucher_year[f] += got
        state.counters["data_voucher_spent_yuan"][g.region] += got.sum()
    s.data_multiplier[firms] = 1.0 + st.data_capability_boost * np.log2(data_index)
    s.data_spend[firms] = spend * data_index - paid
