"""``aieco report DIR``: figures (PNG) and one HTML page for a results directory.

* outcomes against each numeric lever or uncertainty: mean across replicates with a band
  (the t-interval of the mean, and the min–max range of replicates lighter);
* monthly trajectories of the first KPI per design point (up to 12 points) with min–max bands;
* policy effects (``policy_effects.parquet``) as a forest plot with confidence intervals (with
  parameter draws also the 90% ranges of seed noise, parameter uncertainty and the total), and
  with parameter draws the outcomes of every design point by source of uncertainty;
* the sensitivity ranking (``sensitivity_<method>.parquet``).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ecosystem.outputs import write_text
from experiments.policy import format_effects, mean_ci
from experiments.results import check_results_dir, refresh_summary
from experiments.runner import read_manifest


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _grid(n: int, w: float = 4.4, h: float = 3.2):
    plt = _plt()
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(w * cols, h * rows), squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    return plt, fig, axes


def lever_figures(summary: pd.DataFrame, manifest: dict, fig_dir: Path) -> list[tuple[str, Path]]:
    """Outcomes against levers: lines with bands (factorial), points with CIs (list), scatter
    (samples)."""
    ok = summary[summary["status"] == "ok"]
    outcomes = [o for o in manifest.get("outcomes", []) if o in ok and ok[o].notna().any()]
    if not outcomes or ok.empty:
        return []
    method = manifest.get("method")
    if method == "list":
        return [_variant_figure(ok, outcomes, fig_dir)]
    out = []
    for info in manifest.get("parameter_info", []):
        name = info["name"]
        if name not in ok or info["dtype"] == "str" or ok[name].nunique() < 2:
            continue
        plt, fig, axes = _grid(len(outcomes))
        if method == "factorial":
            others = [
                p["name"]
                for p in manifest["parameter_info"]
                if p["name"] != name and ok[p["name"]].nunique() > 1
            ]
            few = others and ok.groupby(others).ngroups <= 6
            groups = list(ok.groupby(others)) if few else [(None, ok)]
            title = f"Outcomes against {name}: mean, 95% CI (dark) and replicate range (light)"
            if others and not few:
                title += ", averaged over the other parameters"
            for ax, outcome in zip(axes.flat, outcomes, strict=False):
                for key, g in groups:
                    s = []
                    for x, gx in g.groupby(name):
                        vals = gx[outcome].to_numpy(dtype=float)
                        m, lo, hi, n = mean_ci(vals)
                        fin = vals[np.isfinite(vals)]
                        s.append(
                            (
                                float(x),
                                m,
                                lo,
                                hi,
                                fin.min() if n else np.nan,
                                fin.max() if n else np.nan,
                            )
                        )
                    s = np.array(s, dtype=float)
                    keys = key if isinstance(key, tuple) else (key,)
                    label = (
                        None
                        if key is None
                        else ", ".join(f"{o}={k}" for o, k in zip(others, keys, strict=False))
                    )
                    (line,) = ax.plot(s[:, 0], s[:, 1], marker="o", ms=3, label=label)
                    ax.fill_between(
                        s[:, 0], s[:, 4], s[:, 5], color=line.get_color(), alpha=0.12, lw=0
                    )
                    ax.fill_between(
                        s[:, 0], s[:, 2], s[:, 3], color=line.get_color(), alpha=0.3, lw=0
                    )
                if few and ax is axes.flat[0]:
                    ax.legend(fontsize=6)
                ax.set_title(outcome, fontsize=9)
                ax.set_xlabel(name, fontsize=8)
                ax.tick_params(labelsize=7)
        else:  # sampled designs: one dot per design point (mean over replicates)
            title = f"Outcomes against {name}: one dot per design point (mean over replicates)"
            means = ok.groupby("point")[[name, *outcomes]].mean(numeric_only=True)
            for ax, outcome in zip(axes.flat, outcomes, strict=False):
                ax.scatter(means[name].astype(float), means[outcome], s=10, alpha=0.7)
                ax.set_title(outcome, fontsize=9)
                ax.set_xlabel(name, fontsize=8)
                ax.tick_params(labelsize=7)
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        path = fig_dir / f"lever_{name}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        out.append((f"Outcomes against {name}", path))
    return out


def _variant_figure(ok: pd.DataFrame, outcomes: list[str], fig_dir: Path) -> tuple[str, Path]:
    variants = list(dict.fromkeys(ok.sort_values("point")["variant"]))
    plt, fig, axes = _grid(len(outcomes), 4.6, 0.8 + 0.3 * len(variants))
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        for y, v in enumerate(reversed(variants)):
            vals = ok.loc[ok["variant"] == v, outcome].to_numpy(dtype=float)
            m, lo, hi, n = mean_ci(vals)
            fin = vals[np.isfinite(vals)]
            if n:
                ax.plot(
                    [fin.min(), fin.max()], [y, y], color="#9ecae1", lw=5, solid_capstyle="butt"
                )
                if np.isfinite(lo):
                    ax.plot([lo, hi], [y, y], color="#3182bd", lw=2)
                ax.plot([m], [y], "o", color="#08519c", ms=4)
        ax.set_yticks(range(len(variants)), list(reversed(variants)), fontsize=7)
        ax.set_title(outcome, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(
        "Outcomes by variant: mean, 95% CI (dark) and replicate range (light)", fontsize=10
    )
    fig.tight_layout()
    path = fig_dir / "outcomes_by_variant.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return ("Outcomes by variant", path)


def trajectory_figure(out_dir: Path, manifest: dict, fig_dir: Path) -> list[tuple[str, Path]]:
    import duckdb

    kpis = manifest.get("kpis") or []
    if not kpis or not any((out_dir / "runs").glob("*.parquet")):
        return []
    kpi = kpis[0]
    con = duckdb.connect()
    try:
        pattern = str(out_dir / "runs" / "*.parquet").replace("'", "''")
        df = con.execute(
            f"""SELECT point, variant, replicate, month, sum("{kpi}") AS v
                FROM read_parquet('{pattern}', union_by_name = true)
                WHERE status = 'ok' AND point < 12 GROUP BY ALL"""
        ).df()
    except duckdb.Error:
        return []
    finally:
        con.close()
    if df.empty:
        return []
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for (_point, variant), g in df.groupby(["point", "variant"]):
        band = g.groupby("month")["v"].agg(["mean", "min", "max"])
        (line,) = ax.plot(band.index, band["mean"], lw=1.3, label=str(variant))
        ax.fill_between(
            band.index, band["min"], band["max"], color=line.get_color(), alpha=0.15, lw=0
        )
    ax.set_xlabel("month")
    ax.set_ylabel(f"{kpi} (all regions)")
    ax.set_title(f"{kpi} by design point: mean and replicate range")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path = fig_dir / f"trajectory_{kpi}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [(f"Monthly {kpi}", path)]


def effects_figure(effects: pd.DataFrame, fig_dir: Path) -> list[tuple[str, Path]]:
    plt = _plt()
    eff = effects[effects["n"] > 0]
    outcomes = list(dict.fromkeys(eff["outcome"]))
    if not outcomes:
        return []
    cols = min(3, len(outcomes))
    rows = math.ceil(len(outcomes) / cols)
    nvar = eff["variant"].nunique()
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.6 * cols, (0.6 + 0.32 * nvar) * rows + 0.6), squeeze=False
    )
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        g = eff[eff["outcome"] == outcome].iloc[::-1]
        y = np.arange(len(g))
        lo = (g["effect"] - g["ci_low"]).to_numpy(dtype=float)
        hi = (g["ci_high"] - g["effect"]).to_numpy(dtype=float)
        err = np.nan_to_num(np.vstack([lo, hi]))
        if "param_low" in g and g["param_low"].notna().any():
            for key, colour, dy, label in (
                ("total", "#bbbbbb", 0.0, "total (90%)"),
                ("param", "#4c72b0", 0.22, "parameter uncertainty (90%)"),
                ("seed", "#55a868", -0.22, "seed noise (90%)"),
            ):
                ax.hlines(
                    y + dy,
                    g[f"{key}_low"].to_numpy(dtype=float),
                    g[f"{key}_high"].to_numpy(dtype=float),
                    color=colour,
                    lw=2.5 if key == "total" else 1.5,
                    label=label if ax is axes.flat[0] else None,
                )
        ax.errorbar(g["effect"], y, xerr=err, fmt="o", ms=4, capsize=3, color="#c44e52")
        ax.axvline(0, color="#888", lw=0.8)
        ax.set_yticks(y, g["variant"], fontsize=7)
        ax.set_title(outcome, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    for ax in list(axes.flat)[len(outcomes) :]:
        ax.axis("off")
    if axes.flat[0].get_legend_handles_labels()[0]:
        axes.flat[0].legend(fontsize=6, loc="lower right")
    draws = int(eff["draws"].max()) if "draws" in eff and eff["draws"].notna().any() else 0
    how = (
        f"{draws} parameter draws × {int(eff['seeds_per_draw'].max())} seeds, common draws and "
        "seeds; dot and caps: CI of the mean"
        if draws
        else "paired by replicate, CI; seed noise only"
    )
    fig.suptitle(f"Policy effects against the baseline ({how})", fontsize=10)
    fig.tight_layout()
    path = fig_dir / "policy_effects.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [("Policy effects", path)]


def write_report(out_dir: str | Path, dest: str | Path | None = None) -> Path:
    """Write DIR/report/index.html and its PNG figures; return the HTML path."""
    from experiments.sensitivity import format_ranking
    from experiments.sensitivity import plot as plot_sensitivity

    out_dir = check_results_dir(out_dir)
    refresh_summary(out_dir)
    manifest = read_manifest(out_dir)
    summary = pd.read_parquet(out_dir / "summary.parquet")
    report_dir = Path(dest) if dest else out_dir / "report"
    fig_dir = report_dir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    _remove_own_figures(report_dir)

    figures: list[tuple[str, Path]] = []
    sections: list[str] = []
    counts = summary["status"].value_counts().to_dict() if len(summary) else {}
    sections.append(
        f"<p>{html.escape(manifest.get('description') or '')}</p>"
        f"<p>Runs: {len(summary)} of {manifest.get('runs_total')} "
        f"({', '.join(f'{k}: {v}' for k, v in counts.items()) or 'none'}); "
        f"design {html.escape(str(manifest.get('method')))}, "
        f"{manifest.get('replicates')} replicates per point, "
        f"root seed {manifest.get('root_seed')}, horizon {manifest.get('horizon_months')} months; "
        f"model revision {html.escape(str(manifest.get('git_revision')))}.</p>"
    )
    figures += lever_figures(summary, manifest, fig_dir)
    figures += trajectory_figure(out_dir, manifest, fig_dir)

    ok = summary[summary["status"] == "ok"]
    outcomes = [o for o in manifest.get("outcomes", []) if o in ok]
    if len(ok) and outcomes:
        table = ok.groupby("variant", sort=False)[outcomes].agg(["mean", "std"])
        table.columns = [f"{a} {b}" for a, b in table.columns]
        sections.append(
            "<h2>Outcomes by design point (mean and sd across replicates)</h2>"
            + table.to_html(float_format=lambda x: f"{x:,.4g}", classes="t", border=0)
        )

    eff_path = out_dir / "policy_effects.parquet"
    if eff_path.is_file():
        effects = pd.read_parquet(eff_path)
        figures += effects_figure(effects, fig_dir)
        levels = levels_by_source(ok, outcomes, effects)
        if levels is not None:
            sections.append(
                "<h2>Outcomes by design point: seed noise and parameter uncertainty apart (90% "
                "ranges; docs/outputs.md, 'Parameter uncertainty')</h2>"
                + levels.to_html(index=False, classes="t", border=0)
            )
        baseline = manifest.get("baseline") or "baseline"
        sections.append(
            "<h2>Policy effects</h2><pre>"
            + html.escape(
                format_effects(
                    effects,
                    baseline,
                    manifest.get("spec", {}).get("policy", {}).get("confidence", 0.95)
                    if manifest.get("spec", {}).get("policy")
                    else 0.95,
                )
            )
            + "</pre>"
        )
    for method in ("morris", "sobol", "fast", "delta", "pawn"):
        sp = out_dir / f"sensitivity_{method}.parquet"
        if sp.is_file():
            table = pd.read_parquet(sp)
            if len(table):
                path = plot_sensitivity(table, method, fig_dir / f"sensitivity_{method}.png")
                figures.append((f"Sensitivity ranking ({method})", path))
                sections.append(
                    f"<h2>Sensitivity ranking ({method})</h2><pre>"
                    + html.escape(format_ranking(table, method))
                    + "</pre>"
                )

    figs_html = "\n".join(
        f'<figure><img src="{html.escape(p.relative_to(report_dir).as_posix())}" '
        f'alt="{html.escape(t)}">'
        f"<figcaption>{html.escape(t)}</figcaption></figure>"
        for t, p in figures
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(manifest.get("experiment", "experiment"))} – aieco report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; }}
img {{ max-width: 100%; border: 1px solid #ddd; }} figure {{ margin: 1.5em 0; }}
table.t {{ border-collapse: collapse; font-size: 0.8em; }}
table.t td, table.t th {{ padding: 2px 6px; border-bottom: 1px solid #eee; text-align: right; }}
pre {{ background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }}
</style></head><body>
<h1>{html.escape(manifest.get("experiment", "experiment"))}</h1>
{"".join(sections[:1])}
<h2>Figures</h2>
{figs_html or "<p>No figures: no completed runs with varying parameters.</p>"}
{"".join(sections[1:])}
<p><small>Query the runs with
<code>aieco query {html.escape(str(out_dir))} "SELECT * FROM summary"</code>.</small></p>
</body></html>
"""
    index = report_dir / "index.html"
    write_text(index, page)
    listing = [str(p.relative_to(report_dir)) for _, p in figures]
    write_text(report_dir / REPORT_LIST, json.dumps(listing))
    return index


def levels_by_source(
    ok: pd.DataFrame, outcomes: list[str], effects: pd.DataFrame
) -> pd.DataFrame | None:
    """Per design point and outcome: mean, seed-noise, parameter and total 90% ranges, when the
    sweep ran parameter draws (``aieco policy --param-draws``; S read from the effects table)."""
    from experiments.uncertainty import fmt_range, spread

    if "draws" not in effects or not effects["draws"].fillna(0).gt(0).any() or ok.empty:
        return None
    S = int(effects["seeds_per_draw"].max())
    rows = []
    for variant, g in ok.groupby("variant", sort=False):
        draw = g["replicate"].to_numpy(dtype=np.int64) // S
        for o in outcomes:
            sp = spread(g[o].to_numpy(dtype=float), draw)
            if not sp.n:
                continue
            f = lambda v: f"{v:,.4g}"  # noqa: E731
            rows.append(
                {
                    "design point": variant,
                    "outcome": o,
                    "mean": f(sp.mean),
                    "seed noise": fmt_range(*sp.seed, f),
                    "parameter uncertainty": fmt_range(*sp.param, f),
                    "total": fmt_range(*sp.total, f),
                    "param. share of variance": (
                        f"{sp.param_share:.0%}" if np.isfinite(sp.param_share) else "n/a"
                    ),
                }
            )
    return pd.DataFrame(rows) if rows else None


REPORT_LIST = ".aieco-report.json"


def _remove_own_figures(report_dir: Path) -> None:
    """Remove the figures an earlier ``aieco report`` wrote here, and only those."""
    try:
        listing = json.loads((report_dir / REPORT_LIST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(listing, list):
        return
    for rel in listing:
        path = report_dir / str(rel)
        if path.suffix == ".png" and path.parent.name == "figures" and path.is_file():
            path.unlink()
