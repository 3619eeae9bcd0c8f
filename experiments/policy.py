"""Counterfactual policies: each variant's effect against the baseline, with confidence intervals.

Every variant runs with the same seeds as the baseline (common random numbers), so the effect is
estimated from replicate pairs: d_r = variant_r − baseline_r, effect = mean(d), and the interval
is mean ± t(1 − α/2, n − 1) · sd(d)/√n across replicates.

``yuan_per_additional_startup_yX`` = (variant's public spending to year X − baseline's) /
(variant's startups alive at year X − baseline's), computed per replicate pair (pairs with no
change in alive startups are left out and counted in ``n_excluded``) with the same t-interval;
``ratio_of_means`` gives mean(Δspending)/mean(Δalive), which is steadier when changes are small.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from experiments.spec import RATIO_OUTCOMES

EFFECT_COLUMNS = [
    "variant",
    "outcome",
    "baseline_mean",
    "variant_mean",
    "effect",
    "ci_low",
    "ci_high",
    "relative_effect",
    "n",
    "n_excluded",
    "ratio_of_means",
]


def mean_ci(x: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float, int]:
    """(mean, low, high, n) of the finite values of x; a t-interval across them."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    m = float(x.mean())
    if n == 1:
        return m, math.nan, math.nan, 1
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return m, m - half, m + half, n


def policy_effects(
    summary: pd.DataFrame, baseline: str, outcomes: list[str], confidence: float = 0.95
) -> pd.DataFrame:
    """Effects of every variant against ``baseline``, paired by replicate (common random
    numbers)."""
    ok = summary[summary["status"] == "ok"]
    if baseline not in set(summary["variant"]):
        raise ValueError(f"baseline {baseline!r} has no runs")
    ratio_inputs = [c for pair in RATIO_OUTCOMES.values() for c in pair]
    wide = {
        o: ok.pivot_table(
            index="replicate", columns="variant", values=o, aggfunc="first", dropna=False
        )
        for o in dict.fromkeys([*outcomes, *ratio_inputs])
        if o in ok
    }
    variants = [v for v in dict.fromkeys(summary.sort_values("point")["variant"]) if v != baseline]
    rows = []
    for v in variants:
        for o, w in wide.items():
            if o not in outcomes:
                continue
            if baseline not in w or v not in w:
                rows.append({"variant": v, "outcome": o, "n": 0, "n_excluded": 0})
                continue
            b, x = w[baseline], w[v]
            both = b.notna() & x.notna()
            d = (x - b)[both].to_numpy(dtype=float)
            m, lo, hi, n = mean_ci(d, confidence)
            bm = float(b[both].mean()) if n else math.nan
            rows.append(
                {
                    "variant": v,
                    "outcome": o,
                    "baseline_mean": bm,
                    "variant_mean": float(x[both].mean()) if n else math.nan,
                    "effect": m,
                    "ci_low": lo,
                    "ci_high": hi,
                    "relative_effect": m / bm if n and bm else math.nan,
                    "n": n,
                    "n_excluded": int(len(b) - both.sum()),
                    "ratio_of_means": math.nan,
                }
            )
        for ratio, (cost, alive) in RATIO_OUTCOMES.items():
            if cost not in wide or alive not in wide:
                continue
            cw, aw = wide[cost], wide[alive]
            if baseline not in cw or v not in cw:
                continue
            dc = (cw[v] - cw[baseline]).to_numpy(dtype=float)
            da = (aw[v] - aw[baseline]).to_numpy(dtype=float)
            finite = np.isfinite(dc) & np.isfinite(da)
            usable = finite & (da != 0)
            r = np.where(usable, dc / np.where(da == 0, 1, da), np.nan)
            m, lo, hi, n = mean_ci(r[usable], confidence)
            rom = (
                float(dc[finite].mean() / da[finite].mean())
                if finite.any() and da[finite].mean() != 0
                else math.nan
            )
            rows.append(
                {
                    "variant": v,
                    "outcome": ratio,
                    "baseline_mean": math.nan,
                    "variant_mean": math.nan,
                    "effect": m,
                    "ci_low": lo,
                    "ci_high": hi,
                    "relative_effect": math.nan,
                    "n": n,
                    "n_excluded": int(len(r) - usable.sum()),
                    "ratio_of_means": rom,
                }
            )
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)


def _fmt(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:.3g}bn"
    if a >= 1e6:
        return f"{x / 1e6:.3g}m"
    if a >= 1e4:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def format_effects(effects: pd.DataFrame, baseline: str, confidence: float) -> str:
    """A plain-text table: one block per outcome, one line per variant."""
    lines = [f"Effects against baseline {baseline!r} (paired by replicate, {confidence:.0%} CI)"]
    alive_ci = {
        (r["variant"], r["outcome"]): (r["ci_low"], r["ci_high"]) for _, r in effects.iterrows()
    }
    for outcome, group in effects.groupby("outcome", sort=False):
        lines.append("")
        lines.append(outcome)
        width = max(len(str(v)) for v in group["variant"])
        for _, r in group.iterrows():
            if not r["n"]:
                lines.append(
                    f"  {r['variant']:<{width}}  n/a (no replicate with a value in both runs)"
                )
                continue
            base = (
                ""
                if not np.isfinite(r["baseline_mean"])
                else f"  baseline {_fmt(r['baseline_mean'])} -> {_fmt(r['variant_mean'])}"
            )
            rom = (
                ""
                if not np.isfinite(r["ratio_of_means"])
                else f"  ratio of means {_fmt(r['ratio_of_means'])}"
            )
            excl = f"  ({int(r['n_excluded'])} pairs left out)" if r["n_excluded"] else ""
            if outcome in RATIO_OUTCOMES:
                lo, hi = alive_ci.get(
                    (r["variant"], RATIO_OUTCOMES[outcome][1]), (math.nan, math.nan)
                )
                if not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0 <= hi:
                    excl += "  (change in alive startups not significant: ratio unreliable)"
            lines.append(
                f"  {r['variant']:<{width}}  effect {_fmt(r['effect'])}  "
                f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]  n={int(r['n'])}{base}{rom}{excl}"
            )
    return "\n".join(lines)
