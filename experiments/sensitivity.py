"""Analysis layer: global sensitivity indices with SALib (Morris, Sobol', eFAST, delta, PAWN).

The sample comes from ``experiments.samplers`` with the experiment's root seed, so it is the same
every time and a sweep of it can be resumed. With several replicates per point, each point's
outcome is the mean over its replicates (the seeds are common to all points, so replicate noise
does not masquerade as parameter effects).

Every table records how it was computed: ``method``, ``N`` (samples), ``conf_level`` and the
``bootstrap_seed`` SALib used for its confidence intervals, so a reader can recompute it with
SALib's own functions. Second-order Sobol' indices (``second_order = true``) come as rows with
``parameter = "a × b"`` and columns ``S2``, ``S2_conf``.

Reliability: SALib returns numbers at any N, even meaningless ones (ST of 2 ± 1.5, negative S1).
:func:`reliability_warnings` flags an outcome when N is below the method's usual minimum or
when the widest confidence interval exceeds ``MAX_CONF`` (indices live on [0, 1]); it names the
N at which that interval should fall under the limit (intervals shrink like 1/√N).
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.samplers import MIN_SAMPLES, next_power_of_two, problem
from experiments.spec import Experiment

#: The widest confidence half-width of a [0, 1] index that still ranks parameters usefully.
MAX_CONF = 0.1
KEYS = {
    "morris": ("mu_star", "mu_star_conf"),
    "sobol": ("ST", "ST_conf"),
    "fast": ("ST", "ST_conf"),
    "delta": ("delta", "delta_conf"),
    "pawn": ("median", None),
}


def bootstrap_seed(exp: Experiment) -> int:
    return int(exp.root_seed % (2**32))


def point_outcomes(exp: Experiment, summary: pd.DataFrame) -> pd.DataFrame:
    """One row per design point (in design order): outcomes averaged over ok replicates."""
    ok = summary[summary["status"] == "ok"]
    means = ok.groupby("point")[exp.summary_outcomes].mean()
    return means.reindex(range(len(exp.points)))


def analyse(
    exp: Experiment, summary: pd.DataFrame, method: str, confidence: float = 0.95
) -> tuple[pd.DataFrame, list[str]]:
    """Indices for every outcome. Returns (table, notes about outcomes left out or unreliable)."""
    X = exp.sample_matrix
    prob = problem(exp.parameters)
    Y_all = point_outcomes(exp, summary)
    rows = []
    seed = bootstrap_seed(exp)
    n = exp.samples or 0
    usable, notes = analysable(Y_all, exp.summary_outcomes)
    for outcome, Y in usable:
        rows += indices(
            prob,
            X,
            Y,
            method,
            outcome,
            confidence,
            seed,
            num_levels=exp.spec.design.num_levels,
            second_order=exp.spec.design.second_order,
        )
    table = pd.DataFrame(rows, columns=table_columns(method))
    if len(table):
        key = KEYS[method][0]
        first = table[~table["parameter"].str.contains(" × ")]
        ranks = first.groupby("outcome")[key].rank(ascending=False, method="min")
        table["rank"] = ranks.reindex(table.index).astype("Int64")
        table = table.sort_values(["outcome", "rank"], na_position="last").reset_index(drop=True)
        notes += reliability_warnings(table, method, n)
    table["method"] = method
    table["N"] = n
    table["conf_level"] = confidence
    table["bootstrap_seed"] = seed
    return table, notes


def analysable(
    values: pd.DataFrame, outcomes: list[str], *, fill_missing: bool = False, label: str = ""
) -> tuple[list[tuple[str, np.ndarray]], list[str]]:
    """The outcomes ``indices`` can be computed from, as (outcome, values over the design points)
    in ``outcomes``' order, and one note for each outcome left out or patched (``label``, e.g.
    a stage, begins each note).

    An outcome with the same value at every point has no indices. One with no value at some
    point (a failed run, a target never reached) is left out; with ``fill_missing`` its missing
    points take the outcome's median instead and are counted (Morris differences and Sobol'
    matrices need every point), unless no point has a value."""
    usable, notes = [], []
    for outcome in outcomes:
        Y = values[outcome].to_numpy(dtype=float)
        bad = ~np.isfinite(Y)
        if bad.any() and not fill_missing:
            notes.append(
                f"{label}{outcome}: left out ({int(bad.sum())} of {len(Y)} points have no value, "
                "e.g. failed runs or a target never reached)"
            )
            continue
        if bad.all():
            notes.append(f"{label}{outcome}: no point has a value")
            continue
        if bad.any():
            Y = np.where(bad, np.nanmedian(Y), Y)
            notes.append(
                f"{label}{outcome}: {int(bad.sum())} of {len(Y)} points had no value "
                "(replaced by the median)"
            )
        if np.ptp(Y) == 0:
            notes.append(
                f"{label}{outcome}: the same value ({Y[0]:g}) at every point"
                if fill_missing
                else f"{label}{outcome}: left out (the same value at every point)"
            )
            continue
        usable.append((outcome, Y))
    return usable, notes


def table_columns(method: str) -> list[str]:
    """The columns of a method's table, in order (Sobol' always has S2 and S2_conf, NULL on
    first-order rows and without ``second_order``)."""
    pairs = ["S2", "S2_conf"] if method == "sobol" else []
    return ["outcome", "parameter", *RESULT_COLUMNS[method], *pairs, "rank"]


def reliability_warnings(table: pd.DataFrame, method: str, n: int) -> list[str]:
    """One warning per outcome whose indices are not to be trusted, naming the minimum N."""
    out = []
    key, conf = KEYS[method]
    floor = MIN_SAMPLES[method]
    for outcome, g in table.groupby("outcome", sort=False):
        g = g[~g["parameter"].str.contains(" × ")]
        reasons, need = [], floor
        if n < floor:
            reasons.append(f"N = {n} is below the usual minimum of {floor} for {method}")
        if conf is not None and method != "morris":
            widest = float(np.nanmax(g[conf].to_numpy(dtype=float)))
            if np.isfinite(widest) and widest > MAX_CONF:
                reasons.append(f"a {key} interval is ±{widest:.2g} (> ±{MAX_CONF})")
                need = max(need, math.ceil(n * (widest / MAX_CONF) ** 2))
        if method in ("sobol", "fast"):
            vals = g[["S1", "ST"]].to_numpy(dtype=float)
            if (vals < -MAX_CONF).any() or (vals > 1 + MAX_CONF).any():
                reasons.append("indices fall outside [0, 1]")
        if reasons:
            if method == "sobol":
                need = next_power_of_two(need)
            out.append(
                f"warning: {outcome}: indices unreliable ({'; '.join(reasons)}); "
                f"use at least N = {need} (--samples {need})"
            )
    return out


#: The columns of each method's table (column name -> SALib result key), in order.
RESULT_COLUMNS: dict[str, dict[str, str]] = {
    "morris": {"mu_star": "mu_star", "mu_star_conf": "mu_star_conf", "mu": "mu", "sigma": "sigma"},
    "sobol": {"S1": "S1", "S1_conf": "S1_conf", "ST": "ST", "ST_conf": "ST_conf"},
    "fast": {"S1": "S1", "S1_conf": "S1_conf", "ST": "ST", "ST_conf": "ST_conf"},
    # Borgonovo's delta as first estimated (SALib's "raw"), and SALib's bias-corrected
    # ("balanced") estimate beside it
    "delta": {
        "delta": "delta_raw",
        "delta_conf": "delta_raw_conf",
        "delta_balanced": "delta_balanced",
        "delta_balanced_conf": "delta_balanced_conf",
        "S1": "S1",
        "S1_conf": "S1_conf",
    },
    "pawn": {k: k for k in ("minimum", "mean", "median", "maximum", "CV")},
}


def indices(
    prob: dict,
    X: np.ndarray,
    Y: np.ndarray,
    method: str,
    outcome: str,
    confidence: float = 0.95,
    seed: int = 0,
    num_levels: int = 4,
    second_order: bool = False,
) -> list[dict]:
    """SALib indices of one outcome Y over sample X (one row per parameter, then pairs).

    With ``prob["groups"]`` (SALib's grouped designs) the rows are the groups, in order of
    first appearance, as SALib orders its results."""
    names = list(dict.fromkeys(prob["groups"])) if prob.get("groups") else prob["names"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "morris":
            from SALib.analyze import morris

            res = morris.analyze(
                prob, X, Y, conf_level=confidence, num_levels=num_levels, seed=seed
            )
        elif method == "sobol":
            from SALib.analyze import sobol

            res = sobol.analyze(
                prob, Y, calc_second_order=second_order, conf_level=confidence, seed=seed
            )
        elif method == "fast":
            from SALib.analyze import fast

            res = fast.analyze(prob, Y, M=4, conf_level=confidence, seed=seed)
        elif method == "delta":
            from SALib.analyze import delta

            with contextlib.redirect_stdout(io.StringIO()):  # bin-merge notices
                res = delta.analyze(prob, X, Y, conf_level=confidence, seed=seed, method="all")
        elif method == "pawn":
            from SALib.analyze import pawn

            res = pawn.analyze(prob, X, Y, S=10, seed=seed)
        else:
            raise ValueError(f"unknown method {method!r}")
    rows = [
        {
            "outcome": outcome,
            "parameter": name,
            **{col: float(res[key][i]) for col, key in RESULT_COLUMNS[method].items()},
        }
        for i, name in enumerate(names)
    ]
    if method == "sobol" and second_order:
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                rows.append(
                    {
                        "outcome": outcome,
                        "parameter": f"{names[i]} × {names[j]}",
                        "S2": float(res["S2"][i, j]),
                        "S2_conf": float(res["S2_conf"][i, j]),
                    }
                )
    return rows


def format_ranking(table: pd.DataFrame, method: str) -> str:
    if table.empty:
        return "no outcome could be analysed"
    key, conf = KEYS[method]
    lines = []
    for outcome, g in table.groupby("outcome", sort=False):
        lines.append(outcome)
        width = max(len(p) for p in g["parameter"])
        for _, r in g.iterrows():
            if " × " in r["parameter"]:
                lines.append(
                    f"     {r['parameter']:<{width}}  S2 {r['S2']:.3f} ± {r['S2_conf']:.3f}"
                )
                continue
            value = f"{key} {r[key]:.4g}" + (f" ± {r[conf]:.3g}" if conf else "")
            if method == "morris":
                extra = f"  sigma {r['sigma']:.4g}"
            elif method in ("sobol", "fast", "delta"):
                extra = f"  S1 {r['S1']:.3f} ± {r['S1_conf']:.3f}"
            else:
                extra = f"  max {r['maximum']:.3f}"
            lines.append(f"  {int(r['rank'])}. {r['parameter']:<{width}}  {value}{extra}")
        lines.append("")
    return "\n".join(lines).rstrip()


def plot(table: pd.DataFrame, method: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key, conf = KEYS[method]
    table = table[~table["parameter"].str.contains(" × ")]
    outcomes = list(dict.fromkeys(table["outcome"]))
    n = max(1, len(outcomes))
    cols = min(3, n)
    rows = math.ceil(n / cols)
    height = 0.5 + 0.45 * rows * max(3, table["parameter"].nunique())
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, height), squeeze=False)
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        g = table[table["outcome"] == outcome].sort_values(key)
        err = g[conf] if conf else None
        ax.barh(g["parameter"], g[key], xerr=err, color="#4c72b0", ecolor="#333", capsize=3)
        if method in ("sobol", "fast"):
            ax.scatter(g["S1"], g["parameter"], color="#dd8452", zorder=3, label="S1")
            ax.legend(loc="lower right", fontsize=7)
        ax.set_title(outcome, fontsize=9)
        ax.set_xlabel(key, fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(outcomes) :]:
        ax.axis("off")
    label = f"{key} with confidence interval" if conf else key
    fig.suptitle(f"Sensitivity ranking ({method}, bars: {label})", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
