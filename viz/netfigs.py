"""Matplotlib figures of the network views: the organisation network and a genealogy."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.lines  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from viz.graphs import Genealogy, OrgNetwork  # noqa: E402

SCREEN_DPI = 72

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


def network_figure(
    net: OrgNetwork, kinds: tuple[str, ...] = ("talent", "spinoff", "compute"), width: float = 9.0
) -> Figure:
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
            ax.plot(
                [x0 + off, x1 + off],
                [y0 + off, y1 + off],
                color=color,
                lw=lw,
                alpha=0.45,
                solid_capstyle="round",
                zorder=1,
            )
    for kind, (color, marker, _) in KIND_STYLE.items():
        nodes = [n for n in net.nodes if n.kind == kind]
        if not nodes:
            continue
        sizes = np.array([n.size for n in nodes], dtype=float)
        area = (
            120 + 900 * np.sqrt(sizes / sizes.max())
            if sizes.max() > 0
            else np.full(len(nodes), 120.0)
        )
        ax.scatter(
            [n.x for n in nodes],
            [n.y for n in nodes],
            s=area,
            c=color,
            marker=marker,
            edgecolors="white",
            linewidths=1.2,
            zorder=3,
        )
        for n in nodes:
            ha = "right" if kind == "big_firm" else "left" if kind == "university" else "center"
            dx = -0.22 if kind == "big_firm" else 0.22 if kind == "university" else 0.0
            dy = -0.3 if kind in ("sector", "data_center") else 0.0
            ax.text(
                n.x + dx,
                n.y + dy,
                f"{n.label}\n{n.size_label}",
                fontsize=7.5,
                ha=ha,
                va="center",
                zorder=4,
                linespacing=1.1,
            )
    handles = [
        matplotlib.lines.Line2D(
            [], [], color=EDGE_STYLE[k][0], lw=3, alpha=0.6, label=EDGE_STYLE[k][1]
        )
        for k in EDGE_STYLE
        if k in kinds
    ]
    handles += [
        matplotlib.lines.Line2D([], [], color=c, marker=m, ls="", ms=8, label=lbl)
        for c, m, lbl in KIND_STYLE.values()
    ]
    ax.legend(
        handles=handles,
        fontsize=7.5,
        loc="upper center",
        ncol=4,
        frameon=False,
        bbox_to_anchor=(0.5, 1.02),
    )
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
    fig.text(
        0.01,
        0.92,
        f"{total} startups descend from it ({gens})"
        + (f"; {g.truncated} not drawn" if g.truncated else ""),
        fontsize=8.5,
        va="top",
        color="dimgrey",
    )
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
        ax.scatter(
            part["x"],
            part["y"],
            s=160 if status == "root" else 22,
            c=color,
            label=status if status != "root" else label,
            zorder=2,
            edgecolors="none",
        )
    ax.legend(fontsize=8, loc="lower right", frameon=False)
    depth = int(t["generation"].max()) if len(t) else 0
    ax.set_ylim(-depth - 0.6, 0.6)
    ax.set_yticks(
        [-k for k in range(depth + 1)],
        ["origin"] + [f"gen {k}" for k in range(1, depth + 1)],
        fontsize=8,
    )
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    if len(t) == 1:
        ax.text(
            0.5,
            0.5,
            "no startups founded by its alumni yet",
            transform=ax.transAxes,
            ha="center",
            color="grey",
        )
    return fig


def empty_figure(text: str, width: float = 5.4) -> Figure:
    fig = Figure(figsize=(width, 2.0), dpi=SCREEN_DPI)
    fig.text(0.5, 0.5, text, ha="center", va="center", color="grey")
    return fig
