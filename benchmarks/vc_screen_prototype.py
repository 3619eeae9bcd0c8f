"""THROWAWAY prototype of docs/design/vc-screen.md's proposals: monkeypatches of firm_life,
not model code; nothing imports it and the repo's model is untouched.

**M1 (P4) is now the model** (docs/ODD.md 7.7: ``economics.vc_value`` carries the viability
step and ``firm_life.round_terms`` the target ownership). The variants below still patch
``round_terms`` and the ranking, but they run on the new ``vc_value``: every variant now has the
viability screen, and ``base`` is P3 (viability without ownership sizing), not the old rule.
The figures in docs/design/vc-screen.md were made before, on the mains it names.

P1 'ownership': a round sells the VC's target ownership d*[stage] of V̂ (size = max(need, d*·V̂)),
the screen stays need ≤ d_max·V̂, and scarce money goes to the largest V̂ first (fund returners).
  nice -n 10 .venv/bin/python benchmarks/vc_screen_prototype.py --variant P4 --seeds 0 1 2 \\
      --out /tmp/vcd/P4

Variants: base (the model before M1, through this copy, when it was written), P1 (ownership
sizing, largest V̂ first), P1r (ownership sizing, existing V̂/size ranking), P1f (follow-ons first,
then largest V̂), P2/P2r (P1f/P1r + raise whenever the next round is an up round), P3 (viability
screen only), P4 (ownership sizing + viability, existing ranking: M1, the recommended mechanism),
P4s (P4 with a smooth probability of viability), P5 (P4 + plan for the priced growth), P6 (P4 +
up-round raises), P7 (P4 + growth expectations learned from the portfolio: M2), P8 (P4 with
rounds capped at what the firm can deploy), P9 (P8 + M2). --growth g1..g5 overrides
stage_growth (P4G: P4 with G = 1.2 at every stage); --scenario, --pool-scale, --dstar-scale.
"""

import argparse
import sys
import time

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np
import pandas as pd

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import vc_screen_probe as probe

from ecosystem import economics, firm_life, load_scenario, outcomes
from ecosystem.calibration import Survival, funnel
from ecosystem.run import run_scenario
from ecosystem.tables import Stage

D_STAR = np.array([0.205, 0.195, 0.172, 0.126, 0.103])  # Carta 2023 US median dilution by round
VARIANT = {"rank": "value", "own": True, "t_months": None}
LEARN = {"rounds": [], "kappa": 1.0 / 12.0, "lag": 24}  # M2: closed rounds (month, firms, s, R̂*)


def learn_growth(state, params):
    """M2 (throwaway): the VCs' growth expectation per stage is an exponential average of the
    realised growth of R̂* of the firms they funded ``lag`` months ago (failed or closed firms
    count 0, acquired ones 1); it replaces stage_growth in V̂ (and in the marks)."""
    st, s = params.config.startups, state.startups
    g = np.asarray(st.stage_growth, dtype=float)
    for month, firms, stage, r0 in LEARN["rounds"]:
        if month != state.month - LEARN["lag"]:
            continue
        alive = s.status[firms] == 0
        ratio = np.where(alive, 0.0, np.where(s.status[firms] == 2, 1.0, 0.0))
        ratio[alive] = economics.expected_revenue(state, firms[alive]) / np.maximum(r0[alive], 1.0)
        for k in np.unique(stage):
            obs = ratio[stage == k].mean()
            g[k] = (1 - LEARN["kappa"]) * g[k] + LEARN["kappa"] * obs
    st.stage_growth = [float(x) for x in g]


def round_terms(state, params, rows):
    s = state.startups
    nxt = np.minimum(s.stage[rows].astype(np.int64), Stage.SERIES_D_PLUS - 1)
    need = economics.funding_need(state, params, rows)
    post = economics.vc_value(state, params, rows, nxt)
    if VARIANT.get("viable"):
        # VC method with the founders' own viability test: a firm whose believed business
        # cannot pay chi x a minimal team is worth nothing to a VC (P(success) = 0)
        st = params.config.startups
        minimal = st.startup_min_team * state.wage[s.region[rows]] * (1 + st.other_opex_share)
        line = st.closure_revenue_share * minimal
        r_hat = economics.expected_revenue(state, rows)
        if VARIANT.get("smooth"):
            # P = Phi((log R̂* - log line) / s), s² = belief variance + drift over the round
            from scipy.special import ndtr

            sd = np.sqrt(1.0 / s.fit_precision[rows] + st.fit_drift_sigma**2 * 12.0)
            with np.errstate(divide="ignore"):
                z = (np.log(np.maximum(r_hat, 1e-300)) - np.log(line)) / sd
            post = post * ndtr(z)
        else:
            post = np.where(r_hat < line, 0.0, post)
    if VARIANT["own"]:
        target = D_STAR[nxt] * post
        if VARIANT.get("deployable"):
            # P8: a round no larger than the firm can deploy before its runway target: the team
            # growing at the hiring speed limit for T = runway_target_months, less revenue
            st = params.config.startups
            T = int(st.runway_target_months)
            k = np.arange(1, T + 1)
            heads = np.maximum(s.headcount[rows], 1)[:, None] * (1 + st.max_growth_per_month) ** k
            per_head = economics.cost_per_head(state, params, rows)
            deploy = heads.sum(axis=1) * per_head - T * s.revenue[rows]
            target = np.minimum(target, np.maximum(deploy, 0.0))
        size = np.where(need > 0, np.maximum(need, target), need)
    else:
        size = need
    return size, post


def growth_limited_priced(state, params, rows):
    """P5: a VC-backed firm plans the team for the growth its last round priced (G[next stage]),
    not for today's expected revenue, and raises when its cash cannot pay that team."""
    s, st = state.startups, params.config.startups
    nxt = np.minimum(s.stage[rows].astype(np.int64), Stage.SERIES_D_PLUS - 1)
    growth = np.where(
        s.stage[rows] >= Stage.SEED,
        np.asarray(st.stage_growth)[nxt] * st.stage_growth_scale,
        1.0,
    )
    per_head = economics.cost_per_head(state, params, rows)
    r_hat = economics.expected_revenue(state, rows)
    plan = np.floor(r_hat * growth * (1 - st.target_margin) / per_head)
    funded = economics.desired_headcount(state, params, rows)
    return (plan >= (1.0 + st.raise_for_growth_gap) * funded) & (plan >= funded + 1)


def applicants(state, params):
    """The variant's applicants this month and whether each is short of runway (the probe
    records exactly these)."""
    s, st = state.startups, params.config.startups
    limited = growth_limited_priced if VARIANT.get("priced_plan") else firm_life.growth_limited
    due = state.alive_startups()
    due = due[(s.next_raise_month[due] <= state.month) & ~s.listed[due]]
    burn = np.maximum(economics.monthly_costs(state, params, due) - s.revenue[due], 1.0)
    short = s.cash[due] / burn < st.raise_below_runway_months
    motive = np.isin(due, firm_life.round_applicants(state, params, limited))
    if VARIANT.get("up_round"):
        # VC-backed firms raise as soon as the next round is an up round (V̂ > last post-money)
        backed = due[s.stage[due] >= Stage.SEED]
        nxt = np.minimum(s.stage[backed].astype(np.int64), Stage.SERIES_D_PLUS - 1)
        up = economics.vc_value(state, params, backed, nxt) > s.post_money[backed]
        motive[np.isin(due, backed[up])] = True
    return due[motive], short[motive]


def raise_funding(state, params, rng):
    if VARIANT.get("learn"):
        learn_growth(state, params)
    s, st = state.startups, params.config.startups
    want, _ = applicants(state, params)
    if want.size == 0:
        return
    size, post = round_terms(state, params, want)
    need = economics.funding_need(state, params, want)
    want, size, post, need = want[size > 0], size[size > 0], post[size > 0], need[size > 0]
    if want.size == 0:
        return
    order = rng.permutation(want.size)
    want, size, post, need = want[order], size[order], post[order], need[order]
    s.sought_round[want] = True
    passes = firm_life.justified(need, post, params) & (size <= st.max_dilution_per_round * post)
    closes = np.zeros(want.size, dtype=bool)
    region = s.region[want].astype(np.int64)

    def ranked(idx):
        if VARIANT["rank"] == "value":
            return idx[np.argsort(-post[idx], kind="stable")]
        if VARIANT["rank"] == "follow_on":  # later stages first, then the largest V̂
            return idx[np.lexsort((-post[idx], -s.stage[want[idx]].astype(np.int64)))]
        return idx[np.argsort(-(post[idx] / size[idx]), kind="stable")]

    for r in np.unique(region[passes]):
        idx = ranked(np.flatnonzero(passes & (region == r)))
        gov = state.governments[r]
        private = size[idx] * (1.0 - gov.guidance_fund_share_on_offer())
        pool = state.vc_pools[r]
        fits, left = np.zeros(idx.size, dtype=bool), pool.available
        for k, ask in enumerate(private):
            if ask <= left:
                fits[k], left = True, left - ask
        idx, private = idx[fits], private[fits]
        vc = pool.grant(private)
        closes[idx] = firm_life.close_rounds(state, r, want[idx], size[idx], post[idx], private, vc)
        if VARIANT.get("learn") and idx.size:
            firms_k = want[idx][closes[idx]]
            nxt_k = np.minimum(s.stage[firms_k].astype(np.int64) - 1, Stage.SERIES_D_PLUS - 1)
            LEARN["rounds"].append(
                (state.month, firms_k, nxt_k, economics.expected_revenue(state, firms_k))
            )
    # then the national mobile pool, ranked nationally the same way
    rest = np.flatnonzero(passes & ~closes)
    if VARIANT.get("mobile_rank") == "value":  # P4m: the mobile pool backs the largest V̂
        rest = rest[np.argsort(-post[rest], kind="stable")]
    else:
        rest = ranked(rest)
    got = firm_life.fund_from_mobile_pool(state, want[rest], size[rest], post[rest])
    closes[rest] = got
    if VARIANT.get("learn") and got.any():
        firms_k = want[rest][got]
        nxt_k = np.minimum(s.stage[firms_k].astype(np.int64) - 1, Stage.SERIES_D_PLUS - 1)
        LEARN["rounds"].append(
            (state.month, firms_k, nxt_k, economics.expected_revenue(state, firms_k))
        )
    state.count("rounds_closed", region[closes])
    state.count("rounds_failed", region[~closes])
    state.count("rounds_screened_out", region[~passes])
    state.count("rounds_passed_unfunded", region[passes & ~closes])
    s.next_raise_month[want[~closes]] = state.month + st.retry_months
    s.next_raise_month[want[closes]] = state.month + st.months_between_rounds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="P1")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--out", default="/tmp/vcd/P1")
    ap.add_argument("--scenario", default="hangzhou")
    ap.add_argument("--pool-scale", type=float, default=1.0, help="× every city's VC pool")
    ap.add_argument("--dstar-scale", type=float, default=1.0, help="× the target ownership d*")
    ap.add_argument("--growth", type=float, nargs=5, default=None, help="override stage_growth")
    a = ap.parse_args()
    if a.variant == "P1r":  # ownership sizing, old value-for-money ranking
        VARIANT["rank"] = "ratio"
    if a.variant == "P1f":  # ownership sizing, follow-ons first, then largest V̂
        VARIANT["rank"] = "follow_on"
    if a.variant == "P2":  # P1f + up-round raises
        VARIANT["rank"] = "follow_on"
        VARIANT["up_round"] = True
    if a.variant == "P2r":  # P1r + up-round raises
        VARIANT["rank"] = "ratio"
        VARIANT["up_round"] = True
    if a.variant == "P3":  # base sizing and ranking + viability screen
        VARIANT["own"] = False
        VARIANT["rank"] = "ratio"
        VARIANT["viable"] = True
    if a.variant == "P4":  # ownership sizing, existing ranking, viability screen
        VARIANT["rank"] = "ratio"
        VARIANT["viable"] = True
    if a.variant == "P5":  # P4 + VC-backed firms plan (and raise) for the priced growth
        VARIANT["rank"] = "ratio"
        VARIANT["viable"] = True
        VARIANT["priced_plan"] = True
    if a.variant == "P6":  # P4 + raise whenever the next round is an up round
        VARIANT["rank"] = "ratio"
        VARIANT["viable"] = True
        VARIANT["up_round"] = True
    if a.variant == "P4s":  # P4 with the smooth probability of viability
        VARIANT["rank"] = "ratio"
        VARIANT["viable"] = True
        VARIANT["smooth"] = True
    if a.variant == "P7":  # P4 + M2: growth expectations learned from the portfolio
        VARIANT["rank"] = "ratio"
        VARIANT["viable"] = True
        VARIANT["learn"] = True
    if a.variant == "P8":  # P4 + rounds capped at what the firm can deploy
        VARIANT["rank"] = "ratio"
        VARIANT["viable"] = True
        VARIANT["deployable"] = True
    if a.variant == "P9":  # P8 + M2 learned growth
        VARIANT["rank"] = "ratio"
        VARIANT["viable"] = True
        VARIANT["deployable"] = True
        VARIANT["learn"] = True
    if a.variant == "P4m":  # P4, the national mobile pool ranked by V̂ (largest outcome first)
        VARIANT["rank"] = "ratio"
        VARIANT["viable"] = True
        VARIANT["mobile_rank"] = "value"
    if a.variant == "base":
        VARIANT["own"] = False
        VARIANT["rank"] = "ratio"
    firm_life.round_terms = round_terms
    probe.ORIGINAL = raise_funding
    probe.applicants = applicants
    firm_life.raise_funding = probe.probe
    from pathlib import Path

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    sc = load_scenario(a.scenario).model_copy(deep=True)
    D_STAR[:] = D_STAR * a.dstar_scale
    for region in sc.regions.values():
        if region.market is not None:
            region.market.vc_pool_yuan_per_year *= a.pool_scale
    if a.growth:
        sc = sc.model_copy(deep=True)
        sc.startups.stage_growth = list(a.growth)
    surv = Survival.empty(10)
    rows = []
    for seed in a.seeds:
        probe.APPS.clear()
        probe.POOLS.clear()
        t0 = time.process_time()
        LEARN["rounds"].clear()
        res = run_scenario(sc.model_copy(deep=True), seed)
        df = pd.concat([pd.DataFrame(r) for r in probe.APPS], ignore_index=True)
        names = [*sc.regions, "mobile"]
        df["region"] = [names[i] for i in df["region"]]
        pools = pd.DataFrame(probe.POOLS)
        pools["region"] = [names[i] for i in pools["region"]]
        df.to_parquet(out / f"applicants_seed{seed}.parquet")
        pools.to_parquet(out / f"pools_seed{seed}.parquet")
        surv.add(res.firms, res.months, sc.meta.start_year)
        if VARIANT.get("learn"):
            g_end = res.model.params.config.startups.stage_growth
            print(f"seed {seed}: learned growth expectations at the end", np.round(g_end, 3))
        f = funnel(res.firms, res.months)
        o = outcomes.compute(
            outcomes.RunData.from_result(res),
            [
                "survival_1y",
                "survival_5y",
                "startups_alive_end",
                "compute_sold_gpu_h_total",
                "startups_founded_total",
                "vc_raised_yuan_total",
                "revenue_yuan_total",
                "voucher_additional_share",
                "voucher_deadweight_share",
                "capability_mean_end",
                "micro_firms_alive_end",
            ],
        )
        rows.append({"seed": seed, **f, **o, "cpu_s": time.process_time() - t0})
    t = pd.DataFrame(rows)
    pd.set_option("display.width", 250)
    print(t.T.to_string())
    print(surv.hazard().to_string())
    t.to_csv(out / "summary.csv")
    surv.hazard().to_csv(out / "hazard.csv")


if __name__ == "__main__":
    main()
