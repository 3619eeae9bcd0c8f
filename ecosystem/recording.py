"""Recording: the month's state kept as small arrays, and the result tables built from them.

``record`` runs at the end of every step; the tables (``kpis``, ``dc_kpis``, ``firms``,
``firm_years``) are built on demand. No KPI holds NaN or inf: where a ratio has no denominator
(utilisation of a region without data-center capacity, the price where a region has no data
center) the value is missing (pandas ``<NA>`` in a nullable ``Float64`` column).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecosystem import economics
from ecosystem.compute_market import LEDGER, NATIONAL
from ecosystem.networks import parent_nodes
from ecosystem.outcomes import micro_firm_mask, startup_mask
from ecosystem.scenario import SECTORS, Origin
from ecosystem.state import COUNTERS, Params, State
from ecosystem.tables import Employer, Status

#: Columns of the firm-year panel (also those of its empty table).
FIRM_YEAR_COLUMNS = [
    "firm_id", "year", "region", "headcount", "revenue_yuan", "compute_gpu_h", "capability",
    "cash_yuan", "stage", "alive",
]  # fmt: skip
#: ``firms.exit_reason`` by ``Status`` (failed: insolvent; closed: shut by its founders); a
#: live firm that listed is ``listed`` (its exit month is the month it listed).
EXIT_REASONS = ("alive", "failed", "acquired", "closed")
_DC_FIELDS = 5  # capacity, sold, sold to startups, sold to background users, price


def date(params: Params, month: int) -> pd.Timestamp:
    """First day of model month ``month``."""
    start = params.config.meta.start_year
    return pd.Timestamp(year=start + month // 12, month=month % 12 + 1, day=1)


def record(state: State, params: Params, rng: np.random.Generator | None = None) -> None:
    """Keep this month's state as per-region and per-data-center arrays; close the flow log;
    snapshot the startups in December; start the next month's counters."""
    s = state.startups
    alive = state.alive_startups()
    region = s.region[alive].astype(np.int64)
    n = params.n_regions
    # Every live independent firm (the cluster index counts them all); the KPI counts startups.
    state.alive_by_region = np.bincount(region, minlength=n)
    min_team, listed = params.config.startups.startup_min_team, s.listed[alive]
    team = startup_mask(s.status[alive], s.headcount[alive], min_team, listed)
    micro = micro_firm_mask(s.status[alive], s.headcount[alive], min_team, listed)
    largest = np.zeros(n, dtype=np.int64)  # each region's largest startup (pattern 13)
    np.maximum.at(largest, region[team], s.headcount[alive[team]])
    dcs = state.data_centers
    dc = [[d.capacity, d.sold, d.sold_startups, d.sold_background, d.price] for d in dcs]
    state.history.append(
        {
            "counters": state.counters,
            "alive": np.bincount(region[team], minlength=n),
            "micro": np.bincount(region[micro], minlength=n),
            "listed": np.bincount(region[listed], minlength=n),
            "largest": largest,
            "people_by_kind": state.people_by_kind.copy(),
            "capability_sum": np.bincount(
                region[team], weights=s.capability[alive[team]], minlength=n
            ),
            "cash": np.bincount(region, weights=s.cash[alive], minlength=n),
            "voucher_left": np.array([g.voucher_budget_left for g in state.governments]),
            "adoption": state.adoption.copy(),
            "ai_spending": state.ai_spending.copy(),
            "wage": state.wage.copy(),
            "vacancies": state.vacancies_last.copy(),
            "dc": np.array(dc).reshape(len(dcs), _DC_FIELDS),
        }
    )
    state.flows.close_month(state.month)
    if state.month % 12 == 11:
        state.year_rows.append(firm_year_snapshot(state, params))
    state.new_counters()


def firm_year_snapshot(state: State, params: Params) -> dict[str, np.ndarray]:
    """Startups alive now or exited this calendar year, with their yearly totals (the columns
    of ``firm_years``, which makes one table of every year's)."""
    s = state.startups
    month = state.month
    year = params.config.meta.start_year + month // 12
    exit_m = s.view("exit_month")
    rows = np.flatnonzero((s.view("status") == Status.ALIVE) | (exit_m >= month - 11))
    return {
        "firm_id": rows,
        "year": np.full(rows.size, year, dtype=np.int64),
        "region": np.array(params.region_keys)[s.region[rows]],
        "headcount": s.headcount[rows],
        "revenue_yuan": s.revenue_year[rows],
        "compute_gpu_h": s.compute_year[rows],
        "capability": s.capability[rows],
        "cash_yuan": s.cash[rows],
        "stage": s.stage[rows],
        "alive": s.status[rows] == Status.ALIVE,
    }


def _missing_where(values: np.ndarray, missing: np.ndarray) -> pd.arrays.FloatingArray:
    """A nullable float column: ``values`` where defined, ``<NA>`` where ``missing``."""
    filled = np.where(missing, 0.0, values).astype(np.float64)
    return pd.arrays.FloatingArray(filled, missing.astype(bool))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den where den > 0, else 0 (no division by zero)."""
    return np.divide(num, den, out=np.zeros(np.shape(num)), where=den > 0)


def kpis(state: State, params: Params) -> pd.DataFrame:
    """Monthly KPIs, one row per month and region (column meanings: docs/ODD.md, section 7)."""
    h = state.history
    n, r = len(h), params.n_regions
    if n == 0:
        return pd.DataFrame(columns=["month", "date", "region", "startups_alive"])
    months = np.repeat(np.arange(n), r)
    by_kind = np.stack([x["people_by_kind"] for x in h]).reshape(n * r, -1)
    alive = np.concatenate([x["alive"] for x in h])
    workforce = by_kind[:, : Employer.GONE].sum(axis=1)
    dcs = state.data_centers
    dc_region = np.array([d.region for d in dcs], dtype=np.int64)
    dc = np.stack([x["dc"] for x in h]) if dcs else np.zeros((n, 0, _DC_FIELDS))
    per_region = np.zeros((n, r, 3))  # capacity, sold, price sum
    n_dcs = np.tile(np.bincount(dc_region, minlength=r), n)
    for j, reg in enumerate(dc_region):
        per_region[:, reg, 0] += dc[:, j, 0]
        per_region[:, reg, 1] += dc[:, j, 1]
        per_region[:, reg, 2] += dc[:, j, 4]
    cap, sold = per_region[:, :, 0].ravel(), per_region[:, :, 1].ravel()
    price_sum = per_region[:, :, 2].ravel()
    counters = {k: np.concatenate([x["counters"][k] for x in h]) for k in COUNTERS}
    capability = np.concatenate([x["capability_sum"] for x in h])
    net = counters["arrivals"] - counters["departures"]
    growth = net + counters["graduates"] - counters["retirements"]
    out = {
        "month": months,
        "date": [date(params, int(m)) for m in months],
        "region": np.tile(np.array(params.region_keys, dtype=object), n),
        "startups_alive": alive,
        "micro_firms_alive": np.concatenate([x["micro"] for x in h]),
        "listed_firms_alive": np.concatenate([x["listed"] for x in h]),
        "largest_startup_staff": np.concatenate([x["largest"] for x in h]),
        "employment_startups": by_kind[:, Employer.STARTUP],
        "employment_big_firms": by_kind[:, Employer.BIG_FIRM],
        "employment_universities": by_kind[:, Employer.UNIVERSITY],
        "job_seekers": by_kind[:, Employer.NONE],
        "people": workforce,
        "wage_yuan": np.concatenate([x["wage"] for x in h]),
        "vacancies": np.concatenate([x["vacancies"] for x in h]).astype(np.int64),
        "dc_capacity_gpu_h": cap,
        "dc_sold_gpu_h": sold,
        "dc_utilization": _missing_where(_ratio(sold, cap), cap <= 0),
        "dc_price_yuan": _missing_where(price_sum / np.maximum(n_dcs, 1), n_dcs == 0),
        "voucher_budget_left_yuan": np.concatenate([x["voucher_left"] for x in h]),
        "talent_net_inflow": np.where(workforce > 0, net / np.maximum(workforce, 1), 0.0),
        "workforce_growth": np.where(workforce > 0, growth / np.maximum(workforce, 1), 0.0),
        "capability_mean": np.where(alive > 0, capability / np.maximum(alive, 1), 0.0),
        "cash_yuan": np.concatenate([x["cash"] for x in h]),
        "adoption_share": np.concatenate([x["adoption"] for x in h]),
        "ai_spending_yuan": np.concatenate([x["ai_spending"] for x in h]),
    }
    for k, v in counters.items():
        out[k] = v if k.endswith(("_yuan", "_gpu_h")) else v.astype(np.int64)
    return pd.DataFrame(out)


def dc_kpis(state: State, params: Params) -> pd.DataFrame:
    """Monthly state of every data center (utilisation 0 while a center has no capacity)."""
    h = state.history
    dcs = state.data_centers
    if not h or not dcs:
        return pd.DataFrame(columns=["month", "data_center", "utilization"])
    n, m = len(h), len(dcs)
    dc = np.stack([x["dc"] for x in h]).reshape(n * m, _DC_FIELDS)
    months = np.repeat(np.arange(n), m)
    cap = dc[:, 0]
    util = _ratio(dc[:, 1], cap)
    return pd.DataFrame(
        {
            "month": months,
            "date": [date(params, int(x)) for x in months],
            "data_center": np.tile(np.array([d.key for d in dcs], dtype=object), n),
            "region": np.tile(
                np.array([params.region_keys[d.region] for d in dcs], dtype=object), n
            ),
            "hub": np.tile(np.array([d.is_hub for d in dcs]), n),
            "capacity_gpu_h": cap,
            "sold_gpu_h": dc[:, 1],
            "sold_startups_gpu_h": dc[:, 2],
            "sold_background_gpu_h": dc[:, 3],
            "utilization": util,
            "price_yuan_per_gpu_h": dc[:, 4],
        }
    )


def firms(state: State, params: Params) -> pd.DataFrame:
    """One row per startup ever founded."""
    s = state.startups
    n = s.n
    exit_reason = np.array(EXIT_REASONS, dtype=object)[s.status[:n]]
    listed = s.listed[:n] & (s.status[:n] == Status.ALIVE)
    exit_reason[listed] = "listed"
    alive = (s.status[:n] == Status.ALIVE) & ~listed
    # Alive firms are marked as a VC values them at their last round's stage (V̂, G included);
    # exits at their exit value (price, value at listing, liquidation proceeds).
    rows = np.arange(n)
    mark = economics.vc_mark(state, params, rows)
    value = np.where(alive, mark, s.exit_value[:n])
    kinds = np.array(["none", "startup", "big_firm", "university"], dtype=object)
    big_firm_keys = [b.key for b in state.big_firms]
    alumni_labels = np.array([*big_firm_keys, "elsewhere", ""], dtype=object)
    acquirers = np.array([*big_firm_keys, ""], dtype=object)
    exit_month = np.where(listed, s.listed_month[:n], s.exit_month[:n])
    return pd.DataFrame(
        {
            "firm_id": np.arange(n),
            "region": np.array(params.region_keys, dtype=object)[s.region[:n]],
            "sector": np.array([x.value for x in SECTORS], dtype=object)[s.sector[:n]],
            "founded_month": s.founded_month[:n],
            "exit_month": pd.Series(exit_month, dtype="Int64").mask(exit_month < 0),
            "exit_reason": exit_reason,
            "origin": np.array([o.name.lower() for o in Origin], dtype=object)[s.origin[:n]],
            "parent_kind": kinds[s.parent_kind[:n]],
            "parent_id": parent_nodes(state),
            "founder_alumni": alumni_labels[s.founder_alumni_of[:n]],
            "founder_left_alumni_month": s.founder_alumni_since[:n],
            "parent_famous": s.parent_famous[:n],
            "acquirer": np.where(s.acquirer[:n] >= 0, acquirers[s.acquirer[:n]], None),
            "stage": s.stage[:n],
            "capability": s.capability[:n],
            "headcount": s.headcount[:n],
            "cash_yuan": s.cash[:n],
            "funding_total_yuan": s.funding_total[:n],
            "revenue_yuan": s.revenue[:n],
            "fit": np.exp(s.log_fit[:n]),
            "fit_belief": np.exp(s.fit_mean[:n] + 0.5 / s.fit_precision[:n]),
            "fit_belief_sd": 1.0 / np.sqrt(s.fit_precision[:n]),
            "venture_track": s.sought_round[:n],
            "post_money_yuan": s.post_money[:n],
            "vc_share": s.vc_share[:n],
            "vc_invested_yuan": s.vc_invested[:n],
            "value_yuan": value,
        }
    )


#: Columns of the voucher-programme table (also those of its empty table).
VOUCHER_PROGRAMME_COLUMNS = [
    "programme", "payer", "award_year", "awarded_yuan", "additional_yuan", "deadweight_yuan",
    "inference_yuan", "unused_yuan", "outstanding_yuan", "additional_share", "deadweight_share",
    "inference_share", "unused_share", "additional_gpu_h", "yuan_per_additional_gpu_h",
    "eligible_firms", "applicants", "awards", "take_up",
]  # fmt: skip


def voucher_programmes(state: State, params: Params) -> pd.DataFrame:
    """One row per voucher programme (kind and paying government) and award year.

    ``awarded = additional + deadweight + unused + outstanding``: outstanding is what live
    entitlements of that year still hold (0 once they have all expired). Shares are of the
    awarded money; take-up is applicants / eligible firms (compute vouchers only: data vouchers
    are paid on purchase, without an application).
    """
    s = state.startups
    live = np.flatnonzero(s.view("ent_remaining") > 0)
    outstanding: dict[tuple[int, int], float] = {}
    for payer, year, left in zip(
        s.ent_payer[live].tolist(),
        s.ent_year[live].tolist(),
        s.ent_remaining[live].tolist(),
        strict=True,
    ):
        outstanding[(payer, year)] = outstanding.get((payer, year), 0.0) + left
    rows = []
    for (kind, payer, year), v in sorted(state.voucher_ledger.items()):
        f = dict(zip(LEDGER, v.tolist(), strict=True))
        awarded = f["awarded_yuan"]
        out = outstanding.get((payer, year), 0.0) if kind == "compute" else 0.0
        paid = f["additional_yuan"] + f["deadweight_yuan"]
        share = {
            k: f[f"{k}_yuan"] / awarded if awarded > 0 else np.nan
            for k in ("additional", "deadweight", "inference", "unused")
        }
        rows.append(
            {
                "programme": kind,
                "payer": "national" if payer == NATIONAL else params.region_keys[payer],
                "award_year": year,
                "awarded_yuan": awarded,
                "additional_yuan": f["additional_yuan"],
                "deadweight_yuan": f["deadweight_yuan"],
                "inference_yuan": f["inference_yuan"],
                "unused_yuan": f["unused_yuan"],
                "outstanding_yuan": out,
                "additional_share": share["additional"],
                "deadweight_share": share["deadweight"],
                "inference_share": share["inference"],
                "unused_share": share["unused"],
                "additional_gpu_h": f["additional_gpu_h"],
                "yuan_per_additional_gpu_h": (
                    paid / f["additional_gpu_h"] if f["additional_gpu_h"] > 0 else np.nan
                ),
                "eligible_firms": int(f["eligible_firms"]),
                "applicants": int(f["applicants"]),
                "awards": int(f["awards"]),
                "take_up": (
                    f["applicants"] / f["eligible_firms"]
                    if kind == "compute" and f["eligible_firms"] > 0
                    else np.nan
                ),
            }
        )
    return pd.DataFrame(rows, columns=VOUCHER_PROGRAMME_COLUMNS)


#: Columns of the round log (also those of its empty table).
ROUND_COLUMNS = [
    "firm_id", "region", "month", "age_months", "stage", "amount_yuan", "pre_money_yuan",
    "post_money_yuan", "vc_yuan", "guidance_fund_yuan", "mobile_pool",
]  # fmt: skip


def rounds(state: State, params: Params) -> pd.DataFrame:
    """One row per round a startup closed during the run (``firm_life.close_rounds``), in the
    order they closed: the stage it reached, the money raised (VC plus guidance fund), the
    valuation before and after, and whether the national mobile pool paid the VC part. The
    2025 stock's earlier rounds are not in it (their stage is in ``firms``)."""
    if not state.rounds:
        return pd.DataFrame(columns=ROUND_COLUMNS)
    month, firms_, stage, amount, pre, post, vc, gf, mobile = zip(*state.rounds, strict=True)
    ids = np.concatenate(firms_)
    sizes = [f.size for f in firms_]
    months = np.repeat(np.array(month, dtype=np.int64), sizes)
    s = state.startups
    return pd.DataFrame(
        {
            "firm_id": ids.astype(np.int64),
            "region": np.array(params.region_keys, dtype=object)[s.region[ids]],
            "month": months,
            "age_months": months - s.founded_month[ids],
            "stage": np.concatenate(stage).astype(np.int8),
            "amount_yuan": np.concatenate(amount),
            "pre_money_yuan": np.concatenate(pre),
            "post_money_yuan": np.concatenate(post),
            "vc_yuan": np.concatenate(vc),
            "guidance_fund_yuan": np.concatenate(gf),
            "mobile_pool": np.repeat(np.array(mobile, dtype=bool), sizes),
        }
    )


def firm_years(state: State) -> pd.DataFrame:
    """Annual panel of startups (December snapshots)."""
    if not state.year_rows:
        return pd.DataFrame(columns=FIRM_YEAR_COLUMNS)
    return pd.DataFrame(
        {c: np.concatenate([year[c] for year in state.year_rows]) for c in FIRM_YEAR_COLUMNS}
    )
