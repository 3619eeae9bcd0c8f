"""The compute market: startups choose training projects, apply for vouchers, and buy compute
from data centers, east and west.

Each month (docs/ODD.md §7.4; design docs/design/causal-core.md §2):

1. Voucher entitlements that reached their expiry, or whose firm exited, lapse (**unused**).
2. Every live startup draws J candidate training projects: GPU-h ``c`` from its headcount and
   sector intensity (log-normal spread) and a productivity ``z`` (log-normal, mean 1). Sorted
   by z, each project's value is the first-order gain in target revenue from the capability it
   adds (``economics.capability_gain`` on the cumulated productive compute, so returns diminish
   across projects), over the months the gain lasts. Inference (revenue × sector intensity,
   falling with the efficiency trend) is bought whatever the price.
3. Vouchers are entitlements: a firm without one applies to the programme that would pay it most
   when the expected subsidy over the validity exceeds its application cost (take-up emerges);
   programmes award first come, first served from their yearly budget (``Budget.grant``).
4. A firm buys, best value per yuan first, the projects worth what it pays for them
   (price × (1 − rate) for compute, less the data voucher on their data) within its liquidity.
   The same arrays with every rate at 0 give what it would have bought without vouchers:
   projects bought only with them are **additional**, the rest (and all inference) **deadweight**.
   With ``compute.choice_rule = "marginal"`` steps 2 and 4 are the limit of many small projects
   (``marginal_compute``): one productivity draw a month, GPU-hours bought until the last one is
   worth its price; the additional GPU-hours are those above the no-voucher choice.
5. Startups' requests are split over the centers by a logit on the effective price; background
   users ask their own center; a center asked for more than it has rations every buyer in
   proportion (``split_and_ration``).
6. Programmes pay rate × cost at the centers where they are valid, up to the entitlement left
   (data vouchers: rate × data cost, first come, first served from their budget).

After the market, ``set_prices`` moves every center's price part of the way toward the price at
which its utilisation would be on target: ``p ← clip(p·exp(k·(u − u*)), floor, cap)``. A logit
demand has a bounded price elasticity, so this converges without a cobweb when
``2·k·(λ·p_cap + ε_bg) < 1`` (checked by scenario validation; docs/ODD.md §7.4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents import Budget
from ecosystem import economics
from ecosystem.people import startup_talent
from ecosystem.state import Params, State
from ecosystem.tables import Status

NATIONAL = -2  # payer code of the national voucher programme (V7)
NO_PAYER = -1
#: Fields of one programme-year in ``State.voucher_ledger`` (yuan unless named otherwise).
LEDGER = (
    "awarded_yuan",
    "additional_yuan",
    "deadweight_yuan",
    "inference_yuan",  # the part of deadweight_yuan that paid for inference
    "unused_yuan",
    "additional_gpu_h",
    "eligible_firms",
    "applicants",
    "awards",
)
_F = {name: i for i, name in enumerate(LEDGER)}


# --------------------------------------------------------------------------------------------
# Row arithmetic of the (firms × projects) and (firms × centers) arrays
# --------------------------------------------------------------------------------------------
# numpy reduces or accumulates a 2-D array along axis 1 with one inner-loop call per row: for
# the few columns here (J projects, the centers) the calls cost 4-8 times the arithmetic. Adding
# column by column does the same additions in the same order (numpy adds the entries of a row
# shorter than 8 one after the other, from +0.0 for a sum), so it gives the same bits; arrays
# of 8 or more columns, or not C-ordered floats, take numpy's own path.
def _few_columns(x: np.ndarray) -> bool:
    return x.ndim == 2 and 0 < x.shape[1] < 8 and x.flags.c_contiguous and x.dtype.kind == "f"


def row_sums(x: np.ndarray) -> np.ndarray:
    """``x.sum(axis=1)``, bit for bit."""
    if not _few_columns(x):
        return x.sum(axis=1)
    out = x[:, 0] + 0.0  # from +0.0, as numpy: a row of -0.0 sums to +0.0
    for j in range(1, x.shape[1]):
        out += x[:, j]
    return out


def row_cumsums(x: np.ndarray) -> np.ndarray:
    """``np.cumsum(x, axis=1)``, bit for bit."""
    if not _few_columns(x):
        return np.cumsum(x, axis=1)
    out = x.copy()
    for j in range(1, x.shape[1]):
        out[:, j] += out[:, j - 1]
    return out


def row_prefix_all(ok: np.ndarray) -> np.ndarray:
    """Whether each entry and all before it in its row are true (boolean, 2-D)."""
    out = ok.copy()
    for j in range(1, ok.shape[1]):
        out[:, j] &= out[:, j - 1]
    return out


# --------------------------------------------------------------------------------------------
# Choice of projects (pure functions: the tests call them on random arrays)
# --------------------------------------------------------------------------------------------
def choose(
    value: np.ndarray,
    price: np.ndarray,
    liquid: np.ndarray,
    rate: np.ndarray | float = 0.0,
    entitlement: np.ndarray | float = 0.0,
    free_rate: np.ndarray | float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Projects bought, (firms × J), and the subsidy each gets.

    Columns must be in the firm's order of value per yuan (best first). The entitlement pays
    ``rate`` × price of each project until ``entitlement`` is used up (the project that crosses
    it gets the remainder, later ones nothing); ``free_rate`` × price is paid on top without a
    limit (the data voucher on the project's data). A firm buys the longest prefix of projects
    each worth more than what it pays for it and together within ``liquid``.
    """
    price = np.asarray(price, dtype=np.float64)
    n = price.shape[0]
    rate = np.broadcast_to(np.asarray(rate, dtype=np.float64), (n,))
    ent = np.broadcast_to(np.asarray(entitlement, dtype=np.float64), (n,))
    free = np.broadcast_to(np.asarray(free_rate, dtype=np.float64), (n,))
    want = price * rate[:, None]
    before = row_cumsums(want) - want  # what earlier projects took of the entitlement
    sub = np.minimum(want, np.maximum(ent[:, None] - before, 0.0)) + price * free[:, None]
    pay = np.maximum(price - sub, 0.0)
    ok = (value > pay) & (row_cumsums(pay) <= np.asarray(liquid)[..., None])
    buy = row_prefix_all(ok)
    return buy, np.where(buy, sub, 0.0)


def marginal_compute(
    scale: np.ndarray,
    alpha: float,
    price: np.ndarray,
    liquid: np.ndarray,
    rate: np.ndarray | float = 0.0,
    entitlement: np.ndarray | float = 0.0,
    free_rate: np.ndarray | float = 0.0,
) -> np.ndarray:
    """GPU-hours of training each firm buys when it buys until the last one is worth its price.

    The value of c GPU-hours is ``scale`` × c^α / α (0 < α < 1), so the last GPU-hour is worth
    scale × c^(α−1) and c*(u) = (scale / u)^(1/(1−α)) at a price u per GPU-hour. The entitlement
    pays ``rate`` × ``price`` per GPU-hour until ``entitlement`` is used up, ``free_rate`` ×
    ``price`` is paid without a limit: the firm pays u₁ = price (1 − rate − free_rate) up to the
    kink c_k = entitlement / (rate · price) and u₂ = price (1 − free_rate) beyond it, so it buys
    c*(u₁) if that is below the kink, else the larger of c_k and c*(u₂) (a subsidy that ends
    below the firm's own choice changes nothing at the margin). Spending stops at ``liquid``.
    With α ≤ 0 compute adds nothing and nothing is bought; demand stays bounded at a 100% rate
    (the kink, or the liquidity, binds).
    """
    price = np.asarray(price, dtype=np.float64)
    n = price.shape[0]
    if alpha <= 0.0:
        return np.zeros(n)
    scale = np.asarray(scale, dtype=np.float64)
    rate = np.broadcast_to(np.asarray(rate, dtype=np.float64), (n,))
    ent = np.broadcast_to(np.asarray(entitlement, dtype=np.float64), (n,))
    free = np.broadcast_to(np.asarray(free_rate, dtype=np.float64), (n,))
    u1 = price * np.maximum(1.0 - rate - free, 0.0)
    u2 = price * np.maximum(1.0 - free, 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):

        def best(u: np.ndarray) -> np.ndarray:
            c = np.where(u > 0, (scale / u) ** (1.0 / (1.0 - alpha)), np.inf)
            return np.where(scale > 0, c, 0.0)

        paid = rate * price
        kink = np.where(paid > 0, np.maximum(ent, 0.0) / paid, np.inf)
        c1 = best(u1)
        c = np.where(c1 <= kink, c1, np.maximum(kink, best(u2)))
        # What the budget buys: at u₁ up to the kink, at u₂ beyond it.
        liquid = np.maximum(np.asarray(liquid, dtype=np.float64), 0.0)
        at_kink = np.where(np.isfinite(kink), u1 * kink, np.inf)
        below = np.where(u1 > 0, liquid / u1, np.inf)
        beyond = kink + np.where(u2 > 0, (liquid - at_kink) / u2, np.inf)
        afford = np.where(liquid <= at_kink, below, beyond)
    return np.minimum(c, afford)


def project_values(
    params: Params,
    month: float,
    gpu_h: np.ndarray,
    productivity: np.ndarray,
    talent: np.ndarray,
    data: np.ndarray,
    yuan_per_capability: np.ndarray,
) -> np.ndarray:
    """Value in yuan of each project when a firm buys them in column order.

    Project j adds the capability ``capability_gain`` gives the firm's productive compute
    X_j = Σ_{k≤j} z_k c_k beyond X_{j−1}, so returns diminish across projects as within them;
    ``yuan_per_capability`` turns capability into yuan (first-order revenue gain × horizon).
    """
    cum = row_cumsums(productivity * gpu_h)
    t, d = talent[:, None], data[:, None]
    gain = economics.capability_gain(params, month, cum, t, d)
    base = economics.capability_gain(params, month, np.zeros_like(cum[:, :1]), t, d)
    return yuan_per_capability[:, None] * np.diff(gain, axis=1, prepend=base)


# --------------------------------------------------------------------------------------------
# Voucher programmes
# --------------------------------------------------------------------------------------------
@dataclass(eq=False)
class Programme:
    """A compute-voucher programme running this year: a city's, a hub's or the national one."""

    payer: int  # region index of the paying government, or NATIONAL
    rate: float
    sme_rate: float
    sme_contract_max: float
    sme_months: int
    sme_only: bool
    sme_max_headcount: int
    cap: float
    validity: int
    pays_inference: bool
    budget: Budget
    #: (home region × center): where the programme pays for a firm of that home region.
    valid: np.ndarray
    #: Home regions whose firms may apply.
    eligible_home: np.ndarray

    def rates(self, state: State, rows: np.ndarray) -> np.ndarray:
        """Rate the programme pays each firm now: the SME rate while its contracts this year are
        below the SME threshold and (with a duration) before ``sme_until``; 0 if ineligible."""
        s = state.startups
        sme = s.contract_year[rows] < self.sme_contract_max
        if self.sme_months > 0:
            until = s.sme_until[rows]
            sme &= (until < 0) | (state.month < until)
        r = np.where(sme, max(self.sme_rate, self.rate), self.rate)
        if self.sme_only:
            r = np.where(s.headcount[rows] <= self.sme_max_headcount, r, 0.0)
        return np.where(self.eligible_home[s.region[rows]], r, 0.0)


def programmes(state: State, params: Params) -> list[Programme]:
    """Compute-voucher programmes paying this year (a rate above 0 and past their start year),
    whether or not their budget has money left for new awards."""
    dcs = state.data_centers
    n = params.n_regions
    year = params.config.meta.start_year + state.month // 12
    dc_region = np.array([dc.region for dc in dcs], dtype=np.int64)
    hub = np.array([dc.is_hub for dc in dcs], dtype=bool)
    homes = np.arange(n)[:, None]
    out = []
    for g in state.governments:
        pol = g.policy
        if year < pol.voucher_start_year or max(pol.voucher_rate, pol.voucher_rate_sme) <= 0:
            continue
        if pol.voucher_claimants == "any_buyer":
            valid = np.broadcast_to(dc_region[None, :] == g.region, (n, dc_region.size))
            eligible = np.ones(n, dtype=bool)
        else:
            at = (dc_region[None, :] == g.region) | (pol.voucher_portable & hub[None, :])
            valid = (homes == g.region) & at
            eligible = np.arange(n) == g.region
        out.append(
            Programme(
                g.region,
                pol.voucher_rate,
                pol.voucher_rate_sme,
                pol.voucher_sme_contract_max_yuan,
                pol.voucher_sme_months,
                pol.voucher_sme_only,
                pol.voucher_sme_max_headcount,
                pol.voucher_cap_per_firm_yuan,
                pol.voucher_validity_months,
                pol.voucher_pays_inference,
                g.voucher_budget,
                valid,
                eligible,
            )  # fmt: skip
        )
    nat = params.config.national
    if nat.voucher_rate > 0 and year >= nat.voucher_start_year:
        out.append(
            Programme(
                NATIONAL,
                nat.voucher_rate,
                nat.voucher_rate,
                0.0,
                0,
                False,
                0,
                nat.voucher_cap_per_firm_yuan,
                nat.voucher_validity_months,
                nat.voucher_pays_inference,
                state.national_vouchers,
                np.ones((n, dc_region.size), dtype=bool),
                np.ones(n, dtype=bool),
            )  # fmt: skip
        )
    return out


def ledger_add(
    state: State, kind: str, payer: np.ndarray, year: np.ndarray, **fields: np.ndarray
) -> None:
    """Add each of ``fields`` (a LEDGER field name: values per row) to the programme-years
    (``kind``, payer, award year) of the rows. The rows are grouped once for every field; a
    field adds only to the programme-years where one of its values is not zero (so no empty
    programme-year is created), and sums its non-zero values in row order."""
    if payer.size == 0:
        return
    key = (payer.astype(np.int64) + 2) * 10_000 + year
    uniq, inv = np.unique(key, return_inverse=True)
    for field, values in fields.items():
        keep = values != 0
        if not keep.any():
            continue
        sums = np.bincount(inv[keep], weights=values[keep], minlength=uniq.size)
        present = np.bincount(inv[keep], minlength=uniq.size) > 0
        column = _F[field]
        for k, v in zip(uniq[present].tolist(), sums[present].tolist(), strict=True):
            row = state.voucher_ledger.setdefault(
                (kind, k // 10_000 - 2, k % 10_000), np.zeros(len(LEDGER))
            )
            row[column] += v


def expire_entitlements(state: State, params: Params) -> None:
    """Entitlements past their validity, or of firms that exited, lapse: the rest is unused
    (it does not return to the programme's budget)."""
    s = state.startups
    rows = np.flatnonzero(s.view("ent_expiry") >= 0)
    if rows.size == 0:
        return
    done = (s.ent_expiry[rows] <= state.month) | (s.status[rows] != Status.ALIVE)
    rows = rows[done]
    if rows.size == 0:
        return
    left = s.ent_remaining[rows].copy()
    payer = s.ent_payer[rows].astype(np.int64)
    ledger_add(state, "compute", payer, s.ent_year[rows], unused_yuan=left)
    where = np.where(payer == NATIONAL, s.region[rows], payer)
    state.count("voucher_unused_yuan", where, left)
    s.ent_remaining[rows] = 0.0
    s.ent_payer[rows] = NO_PAYER
    s.ent_expiry[rows] = -1


# --------------------------------------------------------------------------------------------
# The month's market
# --------------------------------------------------------------------------------------------
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


def logit_shares(eff_price: np.ndarray, sensitivity: float) -> np.ndarray:
    """Shares exp(−λ·p̃_ij) / Σ_k exp(−λ·p̃_ik) of each row's demand over the columns."""
    z = -sensitivity * eff_price
    w = np.exp(z - z.max(axis=1, keepdims=True))
    return w / w.sum(axis=1, keepdims=True)


def split_and_ration(
    demand: np.ndarray,
    eff_price: np.ndarray,
    capacity: np.ndarray,
    sensitivity: float,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """Requests (rows) split over centers (columns) by a logit on effective prices, rationed.

    Each round, every unserved request is split over the centers with capacity left in shares
    ``exp(−λ·p̃_ij) / Σ_k exp(−λ·p̃_ik)`` (over the centers ``allowed[i]`` may buy at, if given:
    a request with no allowed center left goes unserved). A center asked for more than it has
    left sells all of it in proportion to the requests (proportional rationing) and closes; the
    unserved rest is split again over the centers still open. Each round closes a center or
    serves everything, so at most as many rounds as centers. Returns GPU-h bought, (requests,
    centers); never more than ``capacity`` per center (up to rounding), never more than
    ``demand`` per row.
    """
    n, m = eff_price.shape
    bought = np.zeros((n, m))
    rows = np.flatnonzero(demand > 0)
    if rows.size == 0 or m == 0:
        return bought
    wanted = demand[rows].astype(np.float64)
    # np.take copies whole rows several times faster than fancy indexing does these 2-D arrays.
    price = np.take(eff_price, rows, axis=0)
    ok = np.ones((rows.size, m), dtype=bool) if allowed is None else np.take(allowed, rows, axis=0)
    # Requests facing the same effective prices get the same shares and the same rationing, so
    # the market is solved once per distinct price row (home region × voucher rates × kind) and
    # each request gets its group's fractions. Rows are grouped by a fixed linear key and the
    # grouping is checked exactly; if two different rows ever shared a key, rows are kept apart.
    # The key is summed by einsum, not a matrix product: BLAS would wake its threads for it
    # (about 0.3 ms a month, most of the key's cost), and only the key's order matters.
    key = np.einsum("ij,j->i", price, np.linspace(1.0, 2.0, m) ** np.pi) + np.einsum(
        "ij,j->i", ok, np.linspace(3.0, 4.0, m) ** np.e
    )
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    like = first[group]  # the first request of each request's group
    same = np.array_equal(np.take(price, like, axis=0), price) and np.array_equal(
        np.take(ok, like, axis=0), ok
    )
    if same:
        price, ok = np.take(price, first, axis=0), np.take(ok, first, axis=0)
        pending = np.bincount(group, weights=wanted)
    else:
        group, pending = np.arange(rows.size), wanted.copy()
    total = pending.copy()
    avail = np.maximum(capacity.astype(np.float64), 0.0)
    got_rows = np.zeros((price.shape[0], m))
    for _ in range(m):
        open_ = np.flatnonzero(avail > 0)
        if open_.size == 0:
            break
        z = np.where(ok[:, open_], -sensitivity * price[:, open_], -np.inf)
        top = z.max(axis=1, keepdims=True)
        w = np.exp(z - np.where(np.isfinite(top), top, 0.0))  # 0 where not allowed
        total_w = w.sum(axis=1, keepdims=True)
        request = pending[:, None] * np.divide(w, total_w, out=np.zeros_like(w), where=total_w > 0)
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
    bought[rows] = wanted[:, None] * np.take(got_rows / total[:, None], group, axis=0)
    return bought


def split_with_background(
    demand: np.ndarray,
    eff_price: np.ndarray,
    background: np.ndarray,
    price: np.ndarray,
    capacity: np.ndarray,
    sensitivity: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Startups' requests (rows of ``demand`` at ``eff_price``, split over every center) and the
    background users of each center (``background[j]``, buying at center j only, at its price)
    meet the capacity together: a center asked for more than it has rations every buyer in
    proportion (``split_and_ration``). Returns (GPU-h bought by each request at each center,
    GPU-h sold to each center's background users)."""
    m = price.size
    allowed = np.vstack([np.ones((demand.size, m), dtype=bool), np.eye(m, dtype=bool)])
    both = split_and_ration(
        np.concatenate([demand, background]),
        np.vstack([eff_price, np.broadcast_to(price, (m, m))]),
        capacity,
        sensitivity,
        allowed=allowed,
    )
    return both[: demand.size], both[demand.size :].sum(axis=1)


def yuan_per_capability(state: State, params: Params, firms: np.ndarray) -> np.ndarray:
    """η · R̂*/K · horizon: the yuan a unit of capability earns a firm over the months it lasts
    (R̂* its nested-logit target revenue at its believed fit, what its capability would earn;
    horizon 1 / (δ + g_F/12 + d): depreciation, the moving frontier and discounting), times
    the share of its gains a firm near the quality ceiling keeps (``economics.catchup_factor``;
    the firm knows its own production)."""
    s, st, cm = state.startups, params.config.startups, params.config.compute
    dem = params.config.demand
    alive, now = economics.targets_now(state, params, economics.sector_spending(state, params))
    target = np.zeros(s.n)
    target[alive] = now
    # R̂*: this month's target with the firm's believed fit in place of its true fit (§7.6).
    believed = target[firms] * economics.believed_fit(state, firms) * np.exp(-s.log_fit[firms])
    k = s.capability[firms]
    per_k = np.divide(believed, k, out=np.zeros(firms.size), where=k > 0)
    horizon = 1.0 / (
        st.capability_depreciation_per_month
        + dem.frontier_growth_per_year / 12.0
        + cm.discount_per_month
    )
    keep = economics.catchup_factor(params, state.month, k)
    return dem.quality_elasticity * per_k * horizon * keep


def clear_market(state: State, params: Params, rng: np.random.Generator) -> None:
    """One month of the compute market (steps 1–6 of the module docstring)."""
    s, st, cm = state.startups, params.config.startups, params.config.compute
    dcs = state.data_centers
    m = len(dcs)
    expire_entitlements(state, params)
    alive = state.alive_startups()
    for col in ("training_gpu_h", "inference_gpu_h", "compute_spend", "data_spend"):
        s.view(col)[:] = 0.0
    s.view("training_effective_gpu_h")[:] = 0.0
    capacity = np.array([dc.capacity for dc in dcs])
    price = np.array([dc.price for dc in dcs])
    # Background users' demand at each center (rationed with the startups' requests below).
    wanted = background_demand(
        np.array([dc.background_base for dc in dcs]),
        np.array([dc.spec.background_growth_per_year for dc in dcs]),
        state.month / 12.0,
        price,
        np.array([dc.spec.price_yuan_per_gpu_h for dc in dcs]),
        cm.background_price_elasticity,
    )
    state.sales_by_region = np.zeros((params.n_regions, m))
    if alive.size == 0 or m == 0:
        background = np.minimum(wanted, capacity)  # the only buyers: served up to capacity
        for j, dc in enumerate(dcs):
            dc.record_sales(background[j], 0.0, 0.0)
        return
    firms = rng.permutation(alive)  # arrival order (first come, first served for budgets)
    n, n_reg = firms.size, params.n_regions
    region = s.region[firms].astype(np.int64)
    sector = s.sector[firms]
    # What a GPU-hour costs a firm of each home region before vouchers: the logit split over
    # the centers at list price plus friction (and latency, for inference).
    dc_region = np.array([dc.region for dc in dcs], dtype=np.int64)
    outside = np.arange(n_reg)[:, None] != dc_region[None, :]
    friction = cm.cross_region_friction_yuan * (1.0 - cm.unified_network)
    p_train = price[None, :] + outside * friction
    p_infer = p_train + outside * cm.inference_latency_penalty_yuan
    s_train = logit_shares(p_train, cm.center_choice_sensitivity)
    s_infer = logit_shares(p_infer, cm.center_choice_sensitivity)
    unit_train = (s_train * p_train).sum(axis=1)  # yuan per GPU-h, by home region
    unit_infer = (s_infer * p_infer).sum(axis=1)
    # Inference is bought whatever the price; the rest of the firm's money may buy projects.
    # GPU-h per yuan served fall with the efficiency trend (pass-through φ).
    serving = economics.efficiency(params, state.month) ** -cm.inference_efficiency_pass_through
    infer = s.revenue[firms] * params.sector_inference[sector] * serving
    infer_cost = infer * unit_infer[region]
    wages = s.headcount[firms] * state.wage[region] * (1.0 + st.other_opex_share)
    free_cash = (
        cm.compute_liquidity_share * np.maximum(s.cash[firms], 0.0) / st.runway_target_months
        + (1.0 - st.target_margin) * s.revenue[firms]
        - wages
        - infer_cost
    )
    liquid = np.maximum(free_cash, 0.0)
    talent = startup_talent(state, params)[firms]
    worth = yuan_per_capability(state, params, firms)
    data_share = st.data_spend_share
    sz = cm.project_return_sigma
    marginal = cm.choice_rule == "marginal"
    if marginal:
        unit = unit_train[region] * (1.0 + data_share)  # yuan per GPU-h of training with data
        # One productivity draw a month; the firm buys GPU-hours until the last one is worth
        # its price: value of c is W · G(z c) with G ∝ c^α, so scale = α W G(z c₀) / c₀^α.
        alpha = st.compute_elasticity
        z = rng.lognormal(-0.5 * sz * sz, sz, n)
        c0 = st.capability_compute_unit_gpu_h
        unit_gain = economics.capability_gain(
            params, state.month, c0, talent, s.data_multiplier[firms]
        )
        scale = alpha * worth * unit_gain * z**alpha / c0**alpha
        train0 = marginal_compute(scale, alpha, unit, liquid)
        spend_now = train0 * unit + infer_cost
    else:
        # Candidate projects, sorted by productivity (= value per yuan, best first).
        j = cm.projects_per_month
        mean_size = params.sector_training[sector] * s.headcount[firms] * cm.candidate_scale / j
        size = mean_size[:, None] * rng.lognormal(0.0, cm.project_size_sigma, (n, j))
        z = -np.sort(-rng.lognormal(-0.5 * sz * sz, sz, (n, j)), axis=1)
        value = project_values(
            params, state.month, size, z, talent, s.data_multiplier[firms], worth
        )
        price_full = size * unit_train[region][:, None] * (1.0 + data_share)
        buy0, _ = choose(value, price_full, liquid)
        spend_now = row_sums(buy0 * price_full) + infer_cost
    # Vouchers: applications, awards (FCFS), then the rate each firm's entitlement pays.
    progs = programmes(state, params)
    apply_for_vouchers(state, params, firms, progs, s_train, p_train, spend_now, infer_cost)
    rate, valid, pays_inf = entitlement_rates(state, params, firms, progs, s_train, p_train)
    ent = s.ent_remaining[firms]
    # The entitlement pays first for inference at valid centers (what the firm buys anyway),
    # unless its programme pays for training only.
    # Each firm's row of the (home region × center) arrays, copied with np.take: fancy indexing
    # is 2-3 times slower for these (firms × centers) arrays.
    home_i, home_t = np.take(s_infer, region, axis=0), np.take(s_train, region, axis=0)
    infer_valid = np.where(pays_inf, row_sums(home_i * price[None, :] * valid) * infer, 0.0)
    # ent >= 0: awards are positive and redemption takes at most what is left (the model's
    # invariant test checks it every month).
    infer_saved = np.minimum(rate * infer_valid, ent)
    ent_projects = ent - infer_saved
    # What the entitlement pays for inference is cash the firm keeps: it loosens the budget
    # its projects must fit (the no-voucher choice above keeps the full inference bill).
    liquid_v = np.maximum(free_cash + infer_saved, 0.0)
    train_valid = row_sums(home_t * price[None, :] * valid) / unit_train[region]
    data_rate = data_voucher_rates(state, firms)
    rho = rate * train_valid / (1.0 + data_share)
    free = data_rate * data_share / (1.0 + data_share)
    if marginal:
        train = marginal_compute(scale, alpha, unit, liquid_v, rho, ent_projects, free)
        add_gpu = np.maximum(train - train0, 0.0)
        productive = z * train
    else:
        buy, _ = choose(
            value, price_full, liquid_v, rate=rho, entitlement=ent_projects, free_rate=free
        )
        train = row_sums(buy * size)
        add_gpu = row_sums((buy & ~buy0) * size)
        productive = row_sums(buy * size * z)
    # Effective prices: each firm's voucher rate at the centers where its entitlement is valid.
    rate_ij = rate[:, None] * valid
    away = np.take(outside, region, axis=0)  # centers outside each firm's home region
    base = price[None, :] * (1.0 - rate_ij) + away * friction
    latency = away * cm.inference_latency_penalty_yuan
    base_i = np.where(pays_inf[:, None], base, price[None, :] + away * friction)
    both, background = split_with_background(
        np.concatenate([infer, train]),
        np.vstack([base_i + latency, base]),
        wanted,
        price,
        capacity,
        cm.center_choice_sensitivity,
    )
    bought_i, bought_t = both[:n], both[n:]
    bought = bought_i + bought_t
    cost = bought * price[None, :]
    total_cost = row_sums(cost)
    # Redemption: the entitlement pays rate × cost at valid centers (of training only, if its
    # programme does not pay for inference), up to what is left.
    claim_t = row_sums(bought_t * price[None, :] * rate_ij)
    claim = np.where(pays_inf, row_sums(cost * rate_ij), claim_t)
    paid = np.minimum(claim, ent)
    s.ent_remaining[firms] = ent - paid
    bought_t_f, bought_f = row_sums(bought_t), row_sums(bought)  # GPU-h each firm got
    fill = np.divide(bought_t_f, train, out=np.zeros(n), where=train > 0)
    add_share = np.divide(add_gpu, train, out=np.zeros(n), where=train > 0)
    paid_t = np.divide(paid * claim_t, claim, out=np.zeros(n), where=claim > 0)
    add_yuan = paid_t * add_share
    infer_paid = np.where(pays_inf, np.maximum(paid - paid_t, 0.0), 0.0)  # paid for inference
    payer = s.ent_payer[firms].astype(np.int64)
    year = s.ent_year[firms].astype(np.int64)
    has = paid > 0
    add_bought = add_gpu * fill * (add_yuan > 0)
    ledger_add(
        state,
        "compute",
        payer[has],
        year[has],
        additional_yuan=add_yuan[has],
        deadweight_yuan=(paid - add_yuan)[has],
        inference_yuan=infer_paid[has],
        additional_gpu_h=add_bought[has],
    )
    where = np.where(payer == NATIONAL, region, payer)
    state.count("voucher_additional_yuan", where[has], add_yuan[has])
    state.count("voucher_deadweight_yuan", where[has], (paid - add_yuan)[has])
    state.count("voucher_inference_yuan", where[has], infer_paid[has])
    national = has & (payer == NATIONAL)
    local = has & (payer >= 0)
    state.count("voucher_spent_yuan", payer[local], paid[local])
    state.count("national_voucher_spent_yuan", region[national], paid[national])
    s.voucher_year[firms[local]] += paid[local]
    s.national_voucher_year[firms[national]] += paid[national]
    # Data: each bought project's data costs data_spend_share × its compute at list price.
    data_cost = data_share * row_sums(bought_t * price[None, :])
    data_paid = pay_data_vouchers(state, params, firms, data_rate * data_cost, add_share)
    s.training_gpu_h[firms] = bought_t_f
    s.training_effective_gpu_h[firms] = fill * productive
    s.inference_gpu_h[firms] = row_sums(bought_i)
    s.compute_spend[firms] = total_cost - paid
    s.data_spend[firms] = data_cost - data_paid
    s.contract_year[firms] += total_cost
    s.compute_year[firms] += bought_f
    s.spend_avg[firms] += (total_cost + data_cost - s.spend_avg[firms]) / cm.spend_memory_months
    hub = np.array([dc.is_hub for dc in dcs])
    state.count("compute_demand_gpu_h", region, train + infer)
    state.count("compute_sold_gpu_h", region, bought_f)
    state.count("compute_bought_outside_gpu_h", region, row_sums(bought * away))
    state.count("compute_bought_west_gpu_h", region, row_sums(bought[:, hub]))
    state.count("voucher_additional_gpu_h", region, add_bought)
    for jj, dc in enumerate(dcs):
        dc.record_sales(background[jj], float(bought[:, jj].sum()), float(cost[:, jj].sum()))
        state.sales_by_region[:, jj] = np.bincount(region, weights=bought[:, jj], minlength=n_reg)


def apply_for_vouchers(
    state: State,
    params: Params,
    firms: np.ndarray,
    progs: list[Programme],
    s_train: np.ndarray,
    p_train: np.ndarray,
    spend_now: np.ndarray,
    infer_now: np.ndarray,
) -> None:
    """Firms without an entitlement apply to the programme that would pay them most, if its
    expected subsidy over the validity exceeds their application cost; awards are first come,
    first served (``firms`` is in arrival order) from each programme's yearly budget. A
    programme that does not pay for inference expects the firm's bill less this month's
    inference (``infer_now``)."""
    s, cm = state.startups, params.config.compute
    if not progs:
        return
    free = s.ent_expiry[firms] < 0  # no entitlement, or it lapsed (a used-up one still runs)
    rows = firms[free]
    if rows.size == 0:
        return
    region = s.region[rows].astype(np.int64)
    price = np.array([dc.price for dc in state.data_centers])
    unit = (s_train * p_train).sum(axis=1)
    yearly = 12.0 * np.maximum(s.spend_avg[rows], spend_now[free])
    training = np.maximum(yearly - 12.0 * infer_now[free], 0.0)
    best = np.zeros(rows.size)
    choice = np.full(rows.size, -1)
    ask_best = np.zeros(rows.size)  # the yearly subsidy the chosen programme would pay
    for k, prog in enumerate(progs):
        valid_share = (s_train * price[None, :] * prog.valid).sum(axis=1) / unit
        r = prog.rates(state, rows)
        ask = r * valid_share[region] * (yearly if prog.pays_inference else training)
        expected = ask * prog.validity / 12.0
        open_ = prog.budget.available > 0
        better = open_ & (expected > best)
        best = np.where(better, expected, best)
        choice = np.where(better, k, choice)
        ask_best = np.where(better, ask, ask_best)
    year = params.config.meta.start_year + state.month // 12
    eligible = choice >= 0
    applies = eligible & (best > s.app_cost[rows])
    for k, prog in enumerate(progs):
        mine = choice == k
        if not mine.any():
            continue
        key = year * 1000 + k  # programmes are listed in a fixed order within a year
        new_elig = mine & (s.elig_key[rows] != key)
        s.elig_key[rows[new_elig]] = key
        app = mine & applies
        new_app = app & (s.app_key[rows] != key)
        s.app_key[rows[new_app]] = key
        idx = np.flatnonzero(app)
        request = np.minimum(prog.cap, ask_best[idx] * (1.0 + cm.award_planning_margin))
        granted = prog.budget.grant(request)
        got = idx[granted > 0]
        f = rows[got]
        s.ent_remaining[f] = granted[granted > 0]
        s.ent_expiry[f] = state.month + prog.validity
        s.ent_payer[f] = prog.payer
        s.ent_year[f] = year
        if prog.sme_months > 0:
            first = f[s.sme_until[f] < 0]
            s.sme_until[first] = state.month + prog.sme_months
        counts = {
            "eligible_firms": float(new_elig.sum()),
            "applicants": float(new_app.sum()),
            "awards": float(got.size),
            "awarded_yuan": float(granted.sum()),
        }
        row = state.voucher_ledger.setdefault(("compute", prog.payer, year), np.zeros(len(LEDGER)))
        for name, v in counts.items():
            row[_F[name]] += v
        where = region[got] if prog.payer == NATIONAL else np.full(got.size, prog.payer)
        state.count("voucher_awarded_yuan", where, granted[granted > 0])


def entitlement_rates(
    state: State,
    params: Params,
    firms: np.ndarray,
    progs: list[Programme],
    s_train: np.ndarray,
    p_train: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rate each firm's entitlement pays now, where it is valid, (firms × centers), and
    whether it pays for inference; 0 and nowhere for firms without an entitlement (or whose
    programme stopped paying)."""
    s = state.startups
    n, m = firms.size, len(state.data_centers)
    rate = np.zeros(n)
    valid = np.zeros((n, m), dtype=bool)
    inference = np.ones(n, dtype=bool)
    payer = s.ent_payer[firms]
    holds = s.ent_remaining[firms] > 0
    region = s.region[firms].astype(np.int64)
    for prog in progs:
        mine = np.flatnonzero(holds & (payer == prog.payer))
        if mine.size == 0:
            continue
        rate[mine] = prog.rates(state, firms[mine])
        valid[mine] = np.take(prog.valid, region[mine], axis=0)
        inference[mine] = prog.pays_inference
    return rate, valid, inference


def data_voucher_rates(state: State, firms: np.ndarray) -> np.ndarray:
    """Rate of its home data-voucher programme each firm can expect (0 once the budget or its
    cap is used up)."""
    s = state.startups
    out = np.zeros(firms.size)
    region = s.region[firms]
    for g in state.governments:
        pol = g.policy
        if pol.data_voucher_rate <= 0 or not g.data_vouchers_paying:
            continue
        m = region == g.region
        under = s.data_voucher_year[firms] < pol.data_voucher_cap_per_firm_yuan
        out[m & under] = pol.data_voucher_rate
    return out


def pay_data_vouchers(
    state: State, params: Params, firms: np.ndarray, claim: np.ndarray, add_share: np.ndarray
) -> np.ndarray:
    """Data vouchers pay their rate × each firm's data cost, capped per firm and year, first come
    first served from the yearly budget; additional and deadweight are split as the firm's
    voucher-bought projects (awarded = paid: there is no entitlement to lapse)."""
    s = state.startups
    paid = np.zeros(firms.size)
    year = params.config.meta.start_year + state.month // 12
    region = s.region[firms]
    for g in state.governments:
        pol = g.policy
        m = np.flatnonzero((region == g.region) & (claim > 0))
        if m.size == 0:
            continue
        f = firms[m]
        cap_left = np.maximum(pol.data_voucher_cap_per_firm_yuan - s.data_voucher_year[f], 0.0)
        got = g.data_vouchers(np.minimum(claim[m], cap_left))
        paid[m] = got
        s.data_voucher_year[f] += got
        total = float(got.sum())
        if total <= 0:
            continue
        add = float((got * add_share[m]).sum())
        row = state.voucher_ledger.setdefault(("data", g.region, year), np.zeros(len(LEDGER)))
        row[_F["awarded_yuan"]] += total
        row[_F["additional_yuan"]] += add
        row[_F["deadweight_yuan"]] += total - add
        row[_F["awards"]] += float((got > 0).sum())
        state.counters["data_voucher_spent_yuan"][g.region] += total
    return paid


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
