"""Global sensitivity analysis with SALib: Morris elementary effects and Sobol indices.

The sample is drawn from the experiment's parameters (levers and uncertainties with a ``range``)
with the experiment's root seed, so it is the same every time and a sweep of it can be resumed.
With several replicates per point, each point's outcome is the mean over its replicates (the
seeds are common to all points, so replicate noise does not masquerade as parameter effects).

Run counts for D parameters: Morris r·(D+1) with r = ``samples`` trajectories; Sobol N·(D+2)
(N·(2D+2) with ``second_order = true``), N = ``samples`` (a power of 2 is best).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.spec import Experiment


def problem(exp: Experiment) -> dict:
    return {
        "num_vars": len(exp.parameters),
        "names": exp.param_names,
        "bounds": [list(p.range) for p in exp.parameters],
    }


def salib_sample(exp: Experiment, method: str, samples: int) -> np.ndarray:
    prob = problem(exp)
    seed = int(exp.root_seed % (2**32))
    if method == "morris":
        from SALib.sample import morris

        return morris.sample(prob, samples, num_levels=exp.spec.design.num_levels, seed=seed)
    if method == "sobol":
        from SALib.sample import sobol

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "N should be a power of 2": documented above
            return sobol.sample(prob, samples, calc_second_order=exp.spec.design.second_order, seed=seed)
    raise ValueError(f"unknown method {method!r}")


def point_outcomes(exp: Experiment, summary: pd.DataFrame) -> pd.DataFrame:
    """One row per design point (in design order): outcomes averaged over ok replicates."""
    ok = summary[summary["status"] == "ok"]
    means = ok.groupby("point")[exp.summary_outcomes].mean()
    return means.reindex(range(len(exp.points)))


def analyse(exp: Experiment, summary: pd.DataFrame, method: str, confidence: float = 0.95) -> tuple[pd.DataFrame, list[str]]:
    """Indices for every outcome. Returns (table, notes about outcomes left out)."""
    X = exp.sample_matrix
    prob = problem(exp)
    Y_all = point_outcomes(exp, summary)
    rows, notes = [], []
    seed = int(exp.root_seed % (2**32))
    for outcome in exp.summary_outcomes:
        Y = Y_all[outcome].to_numpy(dtype=float)
        if not np.isfinite(Y).all():
            bad = int((~np.isfinite(Y)).sum())
            notes.append(f"{outcome}: left out ({bad} of {len(Y)} points have no value, e.g. failed runs or a target never reached)")
            continue
        if np.ptp(Y) == 0:
            notes.append(f"{outcome}: left out (the same value at every point)")
            continue
        rows += indices(prob, X, Y, method, outcome, confidence, seed,
                        num_levels=exp.spec.design.num_levels, second_order=exp.spec.design.second_order)
    table = pd.DataFrame(rows)
    if len(table):
        key = "mu_star" if method == "morris" else "ST"
        table["rank"] = table.groupby("outcome")[key].rank(ascending=False, method="min").astype(int)
        table = table.sort_values(["outcome", "rank"]).reset_index(drop=True)
    return table, notes


def indices(prob: dict, X: np.ndarray, Y: np.ndarray, method: str, outcome: str, confidence: float = 0.95,
            seed: int = 0, num_levels: int = 4, second_order: bool = False) -> list[dict]:
    """SALib indices of one outcome Y over sample X (one row per parameter)."""
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "morris":
            from SALib.analyze import morris

            res = morris.analyze(prob, X, Y, conf_level=confidence, num_levels=num_levels, seed=seed)
            for i, name in enumerate(prob["names"]):
                rows.append({
                    "outcome": outcome, "parameter": name, "mu_star": float(res["mu_star"][i]),
                    "mu_star_conf": float(res["mu_star_conf"][i]), "mu": float(res["mu"][i]),
                    "sigma": float(res["sigma"][i]),
                })
        else:
            from SALib.analyze import sobol

            res = sobol.analyze(prob, Y, calc_second_order=second_order, conf_level=confidence, seed=seed)
            for i, name in enumerate(prob["names"]):
                rows.append({
                    "outcome": outcome, "parameter": name, "S1": float(res["S1"][i]),
                    "S1_conf": float(res["S1_conf"][i]), "ST": float(res["ST"][i]),
                    "ST_conf": float(res["ST_conf"][i]),
                })
    return rows


def format_ranking(table: pd.DataFrame, method: str) -> str:
    if table.empty:
        return "no outcome could be analysed"
    key, conf = ("mu_star", "mu_star_conf") if method == "morris" else ("ST", "ST_conf")
    lines = []
    for outcome, g in table.groupby("outcome", sort=False):
        lines.append(outcome)
        width = max(len(p) for p in g["parameter"])
        for _, r in g.iterrows():
            extra = f"  sigma {r['sigma']:.4g}" if method == "morris" else f"  S1 {r['S1']:.3f} ± {r['S1_conf']:.3f}"
            lines.append(f"  {int(r['rank'])}. {r['parameter']:<{width}}  {key} {r[key]:.4g} ± {r[conf]:.3g}{extra}")
        lines.append("")
    return "\n".join(lines).rstrip()


def plot(table: pd.DataFrame, method: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key, conf = ("mu_star", "mu_star_conf") if method == "morris" else ("ST", "ST_conf")
    outcomes = list(dict.fromkeys(table["outcome"]))
    n = max(1, len(outcomes))
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 0.5 + 0.45 * rows * max(3, table["parameter"].nunique())), squeeze=False)
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        g = table[table["outcome"] == outcome].sort_values(key)
        ax.barh(g["parameter"], g[key], xerr=g[conf], color="#4c72b0", ecolor="#333", capsize=3)
        if method == "sobol":
            ax.scatter(g["S1"], g["parameter"], color="#dd8452", zorder=3, label="S1")
            ax.legend(loc="lower right", fontsize=7)
        ax.set_title(outcome, fontsize=9)
        ax.set_xlabel("μ* (Morris)" if method == "morris" else "total-order index ST", fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(outcomes):]:
        ax.axis("off")
    fig.suptitle(f"Sensitivity ranking ({method}, bars: {key} with confidence interval)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
