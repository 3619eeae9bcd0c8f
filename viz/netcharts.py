"""ECharts figures of the network views: the directed organisation network and a genealogy on a
time axis (drawn by :mod:`viz.livechart`; hover any node or arrow for its numbers).

The organisation network keeps one node per big firm, university, startup sector and data center
at fixed places (big firms left, universities right, sectors in the middle, data centers along
the bottom) and draws each flow as an arrow from who sends to who receives: people (talent),
founders (spinoffs) and money for compute (startups paying data centers). Labels that would
overlap are hidden until the user zooms in (ECharts ``labelLayout.hideOverlap``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from viz.charts import ITEM_TOOLTIP, stamp_graphic, title
from viz.graphs import SECTOR_LABELS, OrgNetwork

KIND_STYLE = {  # node kind -> (colour, symbol, legend name)
    "big_firm": ("#c62828", "rect", "Big firms (staff)"),
    "university": ("#1565c0", "triangle", "Universities (graduates a year)"),
    "sector": ("#ef6c00", "circle", "Startups by sector (alive)"),
    "data_center": ("#2e7d32", "diamond", "Data centers (capacity)"),
}
EDGE_STYLE = {  # edge kind -> (colour, legend name, unit)
    "talent": ("#1565c0", "People moving (who sends whom)", "people"),
    "spinoff": ("#c62828", "Founders leaving to start up", "startups"),
    "compute": ("#2e7d32", "Startups buying compute", "GPU-h"),
}
COLOR_WORDS = {"talent": "blue", "spinoff": "red", "compute": "green"}
SECTOR_COLORS = ["#1565c0", "#e65100", "#2e7d32", "#6a1b9a", "#c62828", "#00838f", "#795548"]


def _short(name: str) -> str:
    return name.split(" (")[0]


def _fmt(x: float) -> str:
    for div, suffix in ((1e9, " bn"), (1e6, " m"), (1e3, " k")):
        if abs(x) >= div:
            return f"{x / div:,.1f}{suffix}"
    return f"{x:,.0f}"


def network_option(
    net: OrgNetwork, kinds: tuple[str, ...], base: str, stamp: str, filename: str
) -> dict:
    names = {n.id: _short(n.label) for n in net.nodes}
    nodes = []
    for kind, (color, symbol, legend) in KIND_STYLE.items():
        group = [n for n in net.nodes if n.kind == kind]
        top = max((n.size for n in group), default=0.0) or 1.0
        for i, n in enumerate(group):
            # data centers sit in one row: labels alternate above and below
            position = (
                ("bottom" if i % 2 else "top")
                if kind == "data_center"
                else "left"
                if kind == "big_firm"
                else "right"
                if kind == "university"
                else "top"
            )
            nodes.append(
                {
                    "id": n.id,
                    "name": names[n.id],
                    "category": legend,
                    "x": float(n.x) * 100,
                    "y": -float(n.y) * 100,
                    "symbol": symbol,
                    "symbolSize": 14 + 30 * (n.size / top) ** 0.5,
                    "itemStyle": {"color": color},
                    "label": {"show": True, "position": position, "fontSize": 13},
                    "tip": f"<b>{n.label}</b><br/>{n.size_label}",
                }
            )
    links = []
    e = net.edges[net.edges["kind"].isin(kinds)] if len(net.edges) else net.edges
    for kind, part in e.groupby("kind") if len(e) else []:
        color, legend, unit = EDGE_STYLE[kind]
        top = float(part["weight"].max()) or 1.0
        for row in part.itertuples(index=False):
            # a pair with flows both ways gets two arrows bent apart
            both = ((part["src"] == row.dst) & (part["dst"] == row.src)).any()
            links.append(
                {
                    "source": row.src,
                    "target": row.dst,
                    "value": float(row.weight),
                    "lineStyle": {
                        "color": color,
                        "width": 1 + 7 * (row.weight / top) ** 0.5,
                        "opacity": 0.55,
                        "curveness": 0.25 if both else 0.08,
                    },
                    "tip": f"{legend}<br/>{names.get(row.src, row.src)} → "
                    f"{names.get(row.dst, row.dst)}: <b>{_fmt(row.weight)}</b> {unit} "
                    f"({net.window})",
                }
            )
    return {
        "aieco_base": base,
        "aieco_item_tip": True,
        "aieco_filename": filename,
        "animation": False,
        "title": title(f"Who sends people, founders and money where ({net.window})"),
        "tooltip": ITEM_TOOLTIP,
        "legend": [
            {
                "data": [v[2] for v in KIND_STYLE.values()],
                "bottom": 30,
                "left": 8,
                "textStyle": {"fontSize": 13},
            }
        ],
        "graphic": [
            stamp_graphic(stamp),
            {
                "id": "key",
                "type": "text",
                "left": 10,
                "top": 34,
                "style": {
                    "text": "Arrows: "
                    + " · ".join(f"{EDGE_STYLE[k][1]} ({COLOR_WORDS[k]})" for k in kinds),
                    "fontSize": 12,
                    "fill": "#455a64",
                },
            },
        ],
        "series": [
            {
                "id": "network",
                "type": "graph",
                "layout": "none",
                "roam": True,
                "top": 70,
                "bottom": 70,
                "left": 130,
                "right": 150,
                "categories": [
                    {"name": v[2], "itemStyle": {"color": v[0]}, "symbol": v[1]}
                    for v in KIND_STYLE.values()
                ],
                "data": nodes,
                "links": links,
                "edgeSymbol": ["none", "arrow"],
                "edgeSymbolSize": [0, 10],
                "labelLayout": {"hideOverlap": True},
                "emphasis": {"focus": "adjacency", "lineStyle": {"opacity": 0.9}},
            }
        ],
    }


def genealogy_option(
    firms: pd.DataFrame,
    root: str,
    root_label: str,
    start_year: int,
    base: str,
    stamp: str,
    filename: str,
    max_nodes: int = 800,
) -> dict:
    """Startups descending from ``root`` on a time axis: x = founding month, y = generation;
    colour = sector, filled = alive, hollow = closed, diamond = acquired; a line joins each
    startup to its parent. Clicking a startup makes it the root (to explore its own family)."""
    from viz import charts
    from viz.graphs import genealogy

    g = genealogy(firms, root, max_nodes=max_nodes, max_depth=12)
    t = g.nodes
    founded = firms["founded_month"].to_numpy()
    months = np.where(t["id"].to_numpy() >= 0, founded[np.maximum(t["id"].to_numpy(), 0)], 0)
    times = charts.month_times(start_year, int(max(months.max(initial=0), 0)) + 1)
    sectors = list(SECTOR_LABELS)
    rng = np.random.default_rng(0)  # fixed jitter: the same drawing each time
    jitter = rng.uniform(-0.3, 0.3, len(t))
    xy = {}
    series = []
    by_sector: dict[str, list] = {s: [] for s in sectors}
    for i, row in enumerate(t.itertuples(index=False)):
        if row.id < 0:
            continue
        m = int(max(months[i], 0))
        y = float(row.generation) + float(jitter[i])
        x = int(times[m])
        xy[int(row.id)] = (x, y)
        status = str(row.status)
        sec = str(row.sector)
        by_sector.setdefault(sec, []).append(
            {
                "value": [x, y],
                "id": f"startup:{int(row.id)}",
                "symbol": "diamond" if status == "acquired" else "circle",
                "itemStyle": {
                    "opacity": 1.0 if status == "alive" else 0.35,
                    "borderWidth": 1.5 if status == "failed" else 0,
                },
                "tip": (
                    f"<b>Startup {int(row.id)}</b> ({SECTOR_LABELS.get(sec, sec)})<br/>"
                    f"founded {pd.Timestamp(x, unit='ms'):%b %Y}, generation {row.generation}"
                    f"<br/>{status}<br/>click: show its own family"
                ),
            }
        )
    links = []
    for row in t.itertuples(index=False):
        if row.id >= 0 and row.parent >= 0 and int(row.parent) in xy:
            links.append({"coords": [list(xy[int(row.parent)]), list(xy[int(row.id)])]})
        elif row.id >= 0:
            x, y = xy[int(row.id)]
            links.append({"coords": [[x, 0], [x, y]]})
    series.append(
        {
            "id": "links",
            "name": "founded by staff of",
            "type": "lines",
            "coordinateSystem": "cartesian2d",
            "data": links,
            "silent": True,
            "lineStyle": {"color": "#b0bec5", "width": 0.8, "opacity": 0.7},
        }
    )
    for j, sec in enumerate(sectors):
        series.append(
            {
                "id": f"sector:{sec}",
                "name": SECTOR_LABELS[sec],
                "type": "scatter",
                "data": by_sector.get(sec, []),
                "symbolSize": 9,
                "color": SECTOR_COLORS[j % len(SECTOR_COLORS)],
            }
        )
    total = sum(g.generations.values())
    gens = ", ".join(f"generation {k}: {v}" for k, v in sorted(g.generations.items())) or "none yet"
    depth = max(g.generations, default=1)
    return {
        "aieco_base": base,
        "aieco_item_tip": True,
        "aieco_filename": filename,
        "aieco_time": False,
        "animation": False,
        "title": title(
            f"Startups founded by former staff of {root_label}",
            f"{total} startups ({gens})"
            + (f"; {g.truncated} not drawn" if g.truncated else "")
            + " · filled: alive, faint: closed, diamond: acquired",
        ),
        "tooltip": ITEM_TOOLTIP,
        "legend": {
            "bottom": 28,
            "left": 8,
            "textStyle": {"fontSize": 13},
            "data": [SECTOR_LABELS[s] for s in sectors],
        },
        "grid": {"left": 110, "right": 20, "top": 70, "bottom": 90},
        "xAxis": {"type": "time", "name": "founded", "axisLabel": {"fontSize": 13}},
        "yAxis": {
            "type": "value",
            "min": -0.5,
            "max": depth + 0.5,
            "interval": 1,
            "inverse": True,
            "axisLabel": {"fontSize": 13},
            "aieco_generations": True,
            "name": "generation",
        },
        "dataZoom": [{"type": "inside", "xAxisIndex": 0, "zoomOnMouseWheel": "shift"}],
        "toolbox": {"right": 10, "top": 0, "feature": {"dataZoom": {}, "restore": {}}},
        "graphic": [stamp_graphic(stamp)],
        "series": series,
    }
