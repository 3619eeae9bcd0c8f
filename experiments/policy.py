"""Counterfactual policies: each variant's effect against the baseline, with confidence intervals.

Every variant runs with the same seeds as the baseline (common random numbers), so the effect is
estimated from replicate pairs: d_r = variant_r − baseline_r, effect = mean(d), and the interval
is mean ± t(1 − α/2, n − 1) · sd(d)/√n across replicates.

``yuan_per_additional_startup_yX`` = (variant's public spending to year X − baseline's) /
(variant's startups alive at year X − baseline's), computed per replicate pair (pairs with no
change in alive startups are left out and counted in ``n_excluded``) with the same t-interval;
``ratio_of_means`` gives mean(Δspending)/mean(Δalive), which is steadier when changes are small.

**With parameter draws** (``aieco policy FILE --param-draws D``, :mod:`experiments.uncertainty`)
every arm runs the same D parameter draws × S seeds (replicate = draw · S + seed index; each
draw its own seeds), so the pairs share both the random numbers and the parameters. The mean
effect's interval is then a t interval over the D per-draw mean effects (each draw's S seeds
averaged first: the draws, with their own seeds, are the independent units), and three 90%
ranges of the paired difference are shown apart: seed noise (the pooled within-draw spread),
parameter uncertainty (the spread of the per-draw mean effects) and the total (every pair),
with the parameters' share of the variance (law of total variance, ``docs/outputs.md``).
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pandas as pd
from scipy import stats

from experiments.formatting import short_number
from experiments.options import posterior_choice
from experiments.spec import RATIO_OUTCOMES
from experiments.uncertainty import LEVEL, spread

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
    "draws",
    "seeds_per_draw",
    "seed_low",
    "seed_high",
    "param_low",
    "param_high",
    "total_low",
    "total_high",
    "param_share",
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


def _draw_columns(
    rep: np.ndarray, d: np.ndarray, seeds_per_draw: int | None, confidence: float
) -> tuple[dict, tuple[float, float, float, int] | None]:
    """The seed / parameter / total ranges of paired differences ``d`` (replicates ``rep``),
    and with draws the mean's t interval over per-draw means (None without draws)."""
    if not seeds_per_draw:
        s = spread(d, np.full(len(d), -1), LEVEL)
        cols = {"draws": 0, "seeds_per_draw": int(np.isfinite(d).sum())}
        cols.update({k: v for k, v in s.as_dict().items() if k != "mean"})
        return _keep(cols), None
    draw = rep // seeds_per_draw
    s = spread(d, draw, LEVEL)
    cols = {"draws": s.draws, "seeds_per_draw": seeds_per_draw}
    cols.update({k: v for k, v in s.as_dict().items() if k != "mean"})
    fin = np.isfinite(d)
    means = pd.Series(d[fin]).groupby(draw[fin]).mean().to_numpy()
    m, lo, hi, _ = mean_ci(means, confidence)
    return _keep(cols), (m, lo, hi, int(fin.sum()))


def _keep(cols: dict) -> dict:
    return {k: v for k, v in cols.items() if k in EFFECT_COLUMNS}


def policy_effects(
    summary: pd.DataFrame,
    baseline: str,
    outcomes: list[str],
    confidence: float = 0.95,
    seeds_per_draw: int | None = None,
) -> pd.DataFrame:
    """Effects of every variant against ``baseline``, paired by replicate (common random
    numbers; with ``seeds_per_draw`` also common parameter draws, replicate = draw · S + seed
    index)."""
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
            rep = np.asarray(b.index[both], dtype=np.int64)
            extra, by_draw = _draw_columns(rep, d, seeds_per_draw, confidence)
            if by_draw is not None:
                m, lo, hi, n = by_draw
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
                    **extra,
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
            rep = np.asarray(cw.index, dtype=np.int64)[usable]
            extra, by_draw = _draw_columns(rep, r[usable], seeds_per_draw, confidence)
            if by_draw is not None:
                m, lo, hi, n = by_draw
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
                    **extra,
                }
            )
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)


#: Effects are written with thousands separators from 10,000 up (three significant digits below).
_fmt = partial(short_number, separators_from=1e4)


def format_effects(effects: pd.DataFrame, baseline: str, confidence: float) -> str:
    """A plain-text table: one block per outcome, one line per variant (and, when the effects
    table has the ranges, a second line with seed noise, parameter uncertainty and total)."""
    draws = (
        int(effects["draws"].max()) if "draws" in effects and effects["draws"].notna().any() else 0
    )
    if draws:
        s = int(effects["seeds_per_draw"].max())
        how = (
            f"paired by (parameter draw, seed): {draws} draws × {s} seeds, common random numbers "
            f"and common parameter draws; {confidence:.0%} CI of the mean over draws"
        )
    else:
        how = (
            f"paired by replicate, {confidence:.0%} CI; seed noise only: no parameter draws "
            "(--param-draws 0), parameter uncertainty NOT included"
        )
    lines = [f"Effects against baseline {baseline!r} ({how})"]
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
            if "seed_low" in r:
                lines.append(f"  {'':<{width}}  {ranges_line(r, draws)}")
    return "\n".join(lines)


def ranges_line(r, draws: int) -> str:
    """``90% range: seed noise [a, b] | parameter uncertainty [c, d] | total [e, f]``."""

    def rng(lo, hi) -> str:
        return f"[{_fmt(lo)}, {_fmt(hi)}]"

    seed = f"seed noise {rng(r['seed_low'], r['seed_high'])}"
    if not draws:
        return f"{LEVEL:.0%} range of the paired effect: {seed} | parameter uncertainty: not run"
    share = r.get("param_share", math.nan)
    share = f" ({share:.0%} of the variance)" if np.isfinite(share) else ""
    return (
        f"{LEVEL:.0%} range of the paired effect: {seed} | parameter uncertainty "
        f"{rng(r['param_low'], r['param_high'])}{share} | total "
        f"{rng(r['total_low'], r['total_high'])}"
    )


# --------------------------------------------------------------------------------------------
# Parameter draws for ``aieco policy`` (and any sweep of a list design)
# --------------------------------------------------------------------------------------------
def apply_draws(exp, args):
    """``exp`` run over parameter draws when ``args.param_draws`` > 0 (else ``exp``, with
    ``--seeds`` as its replicates). ScenarioError on bad options."""
    from pathlib import Path

    from experiments.assumptions import parse_selection
    from experiments.screen import check_screen_options, screen_draws
    from experiments.spec import (
        _resolve_scenario,
        apply_constants,
        build_experiment,
        load_scenario_document,
    )
    from experiments.uncertainty import check_draw_options, make_design, with_draws

    draws = int(getattr(args, "param_draws", 0) or 0)
    seeds = args.seeds if getattr(args, "seeds", None) is not None else exp.replicates
    assumptions = parse_selection(getattr(args, "assumptions", None))
    check_draw_options(draws, seeds, posterior_choice(args), assumptions)
    screen = bool(getattr(args, "screen", False))
    check_screen_options(screen, assumptions)
    if draws == 0:
        if seeds == exp.replicates:
            return exp
        spec = exp.spec.model_copy(deep=True)
        spec.experiment.replicates = seeds
        return build_experiment(spec, exp.source, exp.base_dir)
    meta = exp.spec.experiment
    name = _resolve_scenario(meta.scenario, Path(exp.base_dir))
    doc = load_scenario_document(name, "experiment.scenario", meta.scenario)
    doc, _, _ = apply_constants(doc, exp.spec.constants)
    design = make_design(
        doc, draws, seeds, exp.root_seed, args.param_spec, posterior_choice(args), None, assumptions
    )
    if screen:
        screen_draws([design], getattr(args, "workers", 1), not getattr(args, "quiet", False))
    return with_draws(exp, design)
