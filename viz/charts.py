"""Matplotlib figures of the app: KPI charts, the organisation network and a genealogy.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot state, safe per session) with a
fixed layout, which keeps one chart at about 40 ms on this machine. The same builders make the
PNG files the app exports (at a higher resolution).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from viz.graphs import Genealogy, OrgNetwork  # noqa: E402
from viz.session import RunFrames  # noqa: E402

Series = dict[str, np.ndarray]
SCREEN_DPI = 72
EXPORT_DPI = 150
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    ylabel: str
    series: Callable[[RunFrames], Series]  # label -> values by month


def _col(f: RunFrames, col: str, scale: float = 1.0) -> np.ndarray:
    if f.totals.empty or col not in f.totals:
        return np.zeros(0)
    return f.totals[col].to_numpy(dtype=float) / scale


def _alive(f: RunFrames) -> Series:
    o = f.origin_alive
    out = {
        "big-firm alumni": o["big_firm"].to_numpy(float),
        "university": o["university"].to_numpy(float),
        "startup alumni": o["startup"].to_numpy(float),
        "other": o["other"].to_numpy(float),
    }
    out["all"] = _col(f, "startups_alive")
    return out


def _births(f: RunFrames) -> Series:
    return {
        "founded": _col(f, "startups_founded"),
        "failed": _col(f, "startups_failed"),
        "acquired": _col(f, "startups_acquired"),
    }


def _employment(f: RunFrames) -> Series:
    return {
        "startups": _col(f, "employment_startups", 1e3),
        "big firms": _col(f, "employment_big_firms", 1e3),
        "universities": _col(f, "employment_universities", 1e3),
        "job seekers": _col(f, "job_seekers", 1e3),
    }


def _utilisation(f: RunFrames) -> Series:
    d = f.dcs
    if d.empty:
        return {}
    out = {}
    for key, part in d.groupby("data_center", sort=False):
        where = "west" if bool(part["hub"].iloc[0]) else "east"
        out[f"{key} ({where})"] = 100 * part["utilization"].to_numpy(float)
    return out


def _voucher(f: RunFrames) -> Series:
    k = f.kpis
    if k.empty:
        return {}
    return {
        str(region): part["voucher_budget_left_yuan"].to_numpy(float) / 1e6
        for region, part in k.groupby("region", sort=False)
    }


CHARTS: tuple[Chart, ...] = (
    Chart("alive", "Startups alive, by founder origin", "startups", _alive),
    Chart("births", "Births and exits per month", "startups per month", _births),
    Chart("employment", "Employment", "thousand people", _employment),
    Chart("utilisation", "Data-center utilisation (east and west)", "% of capacity sold", _utilisation),
    Chart("voucher", "Compute-voucher budget left this year", "¥ million", _voucher),
)
CHART_KEYS = tuple(c.key for c in CHARTS)


def chart(key: str) -> Chart:
    return next(c for c in CHARTS if c.key == key)


def _years(n: int, start_year: int) -> np.ndarray:
    return start_year + (np.arange(n) + 1) / 12.0


def kpi_figure(key: str, current: RunFrames, baseline: RunFrames | None, start_year: int,
               width: float = 5.4) -> Figure:
    """One KPI chart; with a baseline, its dashed trajectories and a difference panel below."""
    painter = KpiPainter(key, width)
    painter.update(current, baseline, start_year)
    return painter.fig


class KpiPainter:
    """A KPI chart kept between steps: only line data change, so a redraw costs little.

    (Building axes and ticks is most of the cost of a new matplotlib figure.)
    """

    def __init__(self, key: str, width: float = 5.4):
        self.spec = chart(key)
        self.width = width
        self.fig: Figure | None = None
        self._shape: tuple | None = None

    def _build(self, labels: tuple[str, ...], with_base: bool, start_year: int) -> None:
        spec = self.spec
        fig = Figure(figsize=(self.width, 4.4 if with_base else 2.9), dpi=SCREEN_DPI)
        if with_base:
            fig.subplots_adjust(left=0.14, right=0.98, top=0.91, bottom=0.07, hspace=0.15)
            gs = fig.add_gridspec(2, 1, height_ratios=[1.6, 1])
            axes = [fig.add_subplot(gs[0]), fig.add_subplot(gs[1])]
        else:
            fig.subplots_adjust(left=0.14, right=0.98, top=0.9, bottom=0.1)
            axes = [fig.add_subplot(1, 1, 1)]
        ax = axes[0]
        # Titles and axis labels as figure text: Axes.set_title/set_ylabel re-measure the tick
        # labels at every draw to place themselves, which costs more than the lines.
        fig.text(0.01, 0.99, spec.title, fontsize=11, va="top", ha="left")
        fig.text(0.005, 0.5, spec.ylabel, fontsize=9, rotation=90, va="center", ha="left")
        self.lines: dict[str, list] = {}
        for i, label in enumerate(labels):
            color = "black" if label == "all" else COLORS[i % len(COLORS)]
            trio = [ax.plot([], [], color=color, lw=1.6, label=label)[0]]
            if with_base:
                trio.append(ax.plot([], [], color=color, lw=1.1, ls="--", alpha=0.8)[0])
                trio.append(axes[1].plot([], [], color=color, lw=1.3)[0])
            self.lines[label] = trio
        self.hint = ax.text(0.5, 0.5, "press Step or Play", transform=ax.transAxes, ha="center",
                            va="center", color="grey", fontsize=10)
        if labels:
            ax.legend(fontsize=7, loc="upper left", ncol=2, frameon=False)
        if with_base:
            fig.text(0.99, 0.955, "solid: your settings · dashed: baseline", ha="right",
                     va="top", fontsize=7, color="grey")
            axes[1].text(0.01, 0.97, "difference (yours − baseline)", fontsize=8, va="top",
                         transform=axes[1].transAxes, color="dimgrey")
            axes[1].axhline(0, color="grey", lw=0.8)
        for a in axes:
            a.tick_params(labelsize=8)
            a.grid(alpha=0.25)
            a.xaxis.get_major_locator().set_params(integer=True)
        self.fig, self.axes = fig, axes

    def update(self, current: RunFrames, baseline: RunFrames | None, start_year: int) -> Figure:
        cur = self.spec.series(current)
        base = self.spec.series(baseline) if baseline is not None else None
        shape = (tuple(cur), base is not None, start_year)
        if shape != self._shape:
            self._build(tuple(cur), base is not None, start_year)
            self._shape = shape
        n = max((len(y) for y in cur.values()), default=0)
        self.hint.set_visible(n == 0)
        for label, y in cur.items():
            trio = self.lines[label]
            trio[0].set_data(_years(len(y), start_year), y)
            if base is not None:
                yb = base.get(label, np.zeros(0))
                m = min(len(y), len(yb))
                trio[1].set_data(_years(len(yb), start_year), yb)
                trio[2].set_data(_years(m, start_year), y[:m] - yb[:m])
        months = max(n, 12)
        for a in self.axes:
            a.relim()
            a.autoscale_view(scalex=False)
            a.set_xlim(start_year, start_year + months / 12.0)
        return self.fig

    def png(self, dpi: int | None = None) -> bytes:
        buf = io.BytesIO()
        # Fast zlib level: the screen PNGs are small and encoding is a tenth of the redraw.
        self.fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1 if dpi is None else 6})
        return buf.getvalue()


KIND_STYLE = {
    "big_firm": ("#d62728", "s", "big firm"),
    "university": ("#1f77b4", "^", "university"),
    "sector": ("#ff7f0e", "o", "startups by sector"),
    "data_center": ("#2ca02c", "D", "data center"),
}
EDGE_STYLE = {
    "talent": ("#1f77b4", "talent flows (people)"),
    "spinoff": ("#d62728", "spinoffs (startups founded)"),
    "compute": ("#2ca02c", "compute purchases (GPU-h)"),
}


def network_figure(net: OrgNetwork, kinds: tuple[str, ...] = ("talent", "spinoff", "compute"),
                   width: float = 9.0) -> Figure:
    fig = Figure(figsize=(width, width * 0.62), dpi=SCREEN_DPI)
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.93))
    fig.text(0.01, 0.97, f"Organisations and their links ({net.window})", fontsize=12, va="top")
    pos = {n.id: (n.x, n.y) for n in net.nodes}
    e = net.edges[net.edges["kind"].isin(kinds)]
    offsets = {"talent": 0.0, "spinoff": 0.05, "compute": -0.05}
    for kind, part in e.groupby("kind"):
        color, _ = EDGE_STYLE[kind]
        wmax = part["weight"].max()
        for row in part.itertuples(index=False):
            (x0, y0), (x1, y1) = pos[row.src], pos[row.dst]
            off = offsets.get(kind, 0.0)
            lw = 0.4 + 5.0 * np.sqrt(row.weight / wmax)
            ax.plot([x0 + off, x1 + off], [y0 + off, y1 + off], color=color, lw=lw, alpha=0.45,
                    solid_capstyle="round", zorder=1)
    for kind, (color, marker, _) in KIND_STYLE.items():
        nodes = [n for n in net.nodes if n.kind == kind]
        if not nodes:
            continue
        sizes = np.array([n.size for n in nodes], dtype=float)
        area = 120 + 900 * np.sqrt(sizes / sizes.max()) if sizes.max() > 0 else np.full(len(nodes), 120.0)
        ax.scatter([n.x for n in nodes], [n.y for n in nodes], s=area, c=color, marker=marker,
                   edgecolors="white", linewidths=1.2, zorder=3)
        for n in nodes:
            ha = "right" if kind == "big_firm" else "left" if kind == "university" else "center"
            dx = -0.22 if kind == "big_firm" else 0.22 if kind == "university" else 0.0
            dy = -0.3 if kind in ("sector", "data_center") else 0.0
            ax.text(n.x + dx, n.y + dy, f"{n.label}\n{n.size_label}", fontsize=7.5, ha=ha,
                    va="center", zorder=4, linespacing=1.1)
    handles = [matplotlib.lines.Line2D([], [], color=EDGE_STYLE[k][0], lw=3, alpha=0.6, label=EDGE_STYLE[k][1])
               for k in EDGE_STYLE if k in kinds]
    handles += [matplotlib.lines.Line2D([], [], color=c, marker=m, ls="", ms=8, label=lbl)
                for c, m, lbl in KIND_STYLE.values()]
    ax.legend(handles=handles, fontsize=7.5, loc="upper center", ncol=4, frameon=False,
              bbox_to_anchor=(0.5, 1.02))
    ax.set_xlim(-5.2, 5.2)
    ax.set_ylim(-2.35, 2.15)
    ax.axis("off")
    return fig


STATUS_COLORS = {"alive": "#2ca02c", "failed": "#9e9e9e", "acquired": "#9467bd", "root": "#d62728"}


def genealogy_figure(g: Genealogy, label: str, width: float = 9.0) -> Figure:
    t = g.nodes
    fig = Figure(figsize=(width, 4.6), dpi=SCREEN_DPI)
    ax = fig.add_axes((0.02, 0.04, 0.96, 0.84))
    total = sum(g.generations.values())
    gens = ", ".join(f"generation {k}: {v}" for k, v in sorted(g.generations.items())) or "none yet"
    fig.text(0.01, 0.98, f"Founder genealogy of {label}", fontsize=12, va="top")
    fig.text(0.01, 0.92, f"{total} startups descend from it ({gens})"
             + (f"; {g.truncated} not drawn" if g.truncated else ""), fontsize=8.5, va="top", color="dimgrey")
    xy = {int(i): (x, y) for i, x, y in zip(t["id"], t["x"], t["y"], strict=True)}
    segs_x, segs_y = [], []
    for i, p in zip(t["id"], t["parent"], strict=True):
        if p in xy and i != -1:
            (x0, y0), (x1, y1) = xy[p], xy[int(i)]
            segs_x += [x0, x1, np.nan]
            segs_y += [y0, y1, np.nan]
    ax.plot(segs_x, segs_y, color="#bbbbbb", lw=0.7, zorder=1)
    for status, color in STATUS_COLORS.items():
        part = t[t["status"] == status]
        if part.empty:
            continue
        ax.scatter(part["x"], part["y"], s=160 if status == "root" else 22, c=color,
                   label=status if status != "root" else label, zorder=2, edgecolors="none")
    ax.legend(fontsize=8, loc="lower right", frameon=False)
    depth = int(t["generation"].max()) if len(t) else 0
    ax.set_ylim(-depth - 0.6, 0.6)
    ax.set_yticks([-k for k in range(depth + 1)], ["origin"] + [f"gen {k}" for k in range(1, depth + 1)],
                  fontsize=8)
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    if len(t) == 1:
        ax.text(0.5, 0.5, "no startups founded by its alumni yet", transform=ax.transAxes,
                ha="center", color="grey")
    return fig


def empty_figure(text: str, width: float = 5.4) -> Figure:
    fig = Figure(figsize=(width, 2.0), dpi=SCREEN_DPI)
    fig.text(0.5, 0.5, text, ha="center", va="center", color="grey")
    return fig

