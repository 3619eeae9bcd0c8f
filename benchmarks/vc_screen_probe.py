"""Probe of the VC seed screen (docs/design/vc-screen.md): what applicants for a round look like.

Wraps ``firm_life.raise_funding`` WITHOUT changing what it does: before the phase runs it
recomputes the applicants exactly as the phase does (no random numbers are drawn for that), and
records, per applicant, the round it would raise (need, V̂), its expected and actual revenue,
headcount, costs, true and believed fit; after the phase it records which of them closed and
what each city's VC pool paid out against what it had available that month.

    nice -n 10 .venv/bin/python benchmarks/vc_screen_probe.py --seeds 0 1 2 --out /tmp/vcd

Writes ``applicants_seed{N}.parquet`` and ``pools_seed{N}.parquet`` and prints quantile tables.
Measurement only; runs are bit-for-bit the unwrapped runs (same counters).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np
import pandas as pd

from ecosystem import economics, firm_life, load_scenario
from ecosystem.calibration import Survival, funnel
from ecosystem.run import run_scenario

ORIGINAL = firm_life.raise_funding
APPS: list[dict] = []
POOLS: list[dict] = []


def applicants(state, params):
    """The applicants of ``raise_funding`` this month, before its random ordering, and whether
    each is short of runway (the rest apply because cash limits their growth)."""
    s, st = state.startups, params.config.startups
    want = firm_life.round_applicants(state, params)
    burn = np.maximum(economics.monthly_costs(state, params, want) - s.revenue[want], 1.0)
    return want, s.cash[want] / burn < st.raise_below_runway_months


def probe(state, params, rng):
    s = state.startups
    got = applicants(state, params)
    all_pools = [*state.vc_pools, *([state.vc_mobile] if hasattr(state, "vc_mobile") else [])]
    pools_before = [p.available for p in all_pools]
    spent_before = [p.spent_total for p in all_pools]
    want, short = got
    if want.size:
        size, post = firm_life.round_terms(state, params, want)
        stage0 = s.stage[want].copy()
        r_hat = economics.expected_revenue(state, want)
        cph = economics.cost_per_head(state, params, want)
        plan = economics.planned_headcount(state, params, want)
        rows = dict(
            month=state.month,
            region=s.region[want].astype(int),
            firm=want,
            age_m=state.month - s.founded_month[want],
            stage=stage0.astype(int),
            short_runway=short,
            r_hat=r_hat,
            revenue=s.revenue[want].copy(),
            revenue_target=s.revenue_target[want].copy(),
            need=economics.funding_need(state, params, want),
            size=size,
            v_hat=post,
            headcount=s.headcount[want].astype(int),
            planned_headcount=plan,
            wage=state.wage[s.region[want]],
            cost_per_head=cph,
            compute_spend=s.compute_spend[want].copy(),
            monthly_costs=economics.monthly_costs(state, params, want),
            cash=s.cash[want].copy(),
            log_fit=s.log_fit[want].copy(),
            believed_log_fit=np.log(economics.believed_fit(state, want)),
            fit_sd=1.0 / np.sqrt(s.fit_precision[want]),
            capability=s.capability[want].copy(),
            sector=s.sector[want].astype(int),
        )
        ORIGINAL(state, params, rng)
        rows["closed"] = s.stage[want] > stage0
        APPS.append(rows)
    else:
        ORIGINAL(state, params, rng)
    for r, p in enumerate(all_pools):  # index n_regions: the national mobile pool
        POOLS.append(
            dict(
                month=state.month,
                region=r,
                available=pools_before[r],
                spent=p.spent_total - spent_before[r],
                annual=p.annual,
            )
        )


def q(x, qs=(0.1, 0.25, 0.5, 0.75, 0.9)):
    x = np.asarray(x, float)
    return [np.nan] * len(qs) if x.size == 0 else list(np.quantile(x, qs))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--scenario", default="hangzhou")
    ap.add_argument("--out", default="/tmp/vcd")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    firm_life.raise_funding = probe
    sc = load_scenario(a.scenario)
    surv = Survival.empty(max(sc.meta.years, 1))
    for seed in a.seeds:
        APPS.clear()
        POOLS.clear()
        t0 = time.process_time()
        res = run_scenario(sc, seed)
        cpu = time.process_time() - t0
        df = pd.concat([pd.DataFrame(r) for r in APPS], ignore_index=True)
        pools = pd.DataFrame(POOLS)
        names = [*sc.regions, "mobile"]
        df["region"] = [names[i] for i in df["region"]]
        pools["region"] = [names[i] for i in pools["region"]]
        df.to_parquet(out / f"applicants_seed{seed}.parquet")
        pools.to_parquet(out / f"pools_seed{seed}.parquet")
        surv.add(res.firms, res.months, sc.meta.start_year)
        f = funnel(res.firms, res.months)
        print(
            f"seed {seed}: cpu {cpu:.0f}s; funnel "
            + ", ".join(f"{k} {v:.3f}" for k, v in f.items())
        )
    print(surv.hazard().to_string())


if __name__ == "__main__":
    main()
