"""The app's live charts as ECharts figures: series by month, human names, units, bands.

Each chart is built in two parts: :func:`series` (the points of every line, recomputed from the
session's tables, cheap) and :func:`figure` (axes, legend, colours, tooltips: rebuilt only when the
figure's structure changes). The browser receives the figure once and then only the new months
(see :mod:`viz.livechart`). Times are milliseconds since 1970 (the first day of each month).

Data-center utilisation is shown as an east band and a west band (lowest to highest center, with
the capacity-weighted mean as a line); the per-center lines are a detail the user turns on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from viz.session import RunFrames

Points = list[list[float]]
COLORS = [
    "#1565c0",
    "#e65100",
    "#2e7d32",
    "#6a1b9a",
    "#c62828",
    "#00838f",
    "#795548",
    "#ad1457",
    "#455a64",
    "#9e9d24",
]
EAST, WEST = "#1565c0", "#e65100"


@dataclass(frozen=True)
class Line:
    id: str
    name: str
    unit: str
    digits: int
    color: str
    points: Points
    band: bool = False  # points are [t, width, low, high] stacked on a hidden lower edge
    dashed: bool = False
    width: float = 2.2


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    unit: str  # axis name
    lines: Callable[[RunFrames, dict], list[Line]]
    stack_area: bool = False


def title(text: str, subtext: str | None = None) -> dict:
    """The title block every figure of the app uses (16 px bold, top left; 12 px subtext)."""
    out: dict = {
        "text": text,
        "left": 8,
        "top": 4,
        "textStyle": {"fontSize": 16, "fontWeight": 600},
    }
    if subtext is not None:
        out.update(subtext=subtext, subtextStyle={"fontSize": 12})
    return out


def stamp_graphic(stamp: str) -> dict:
    """The scenario/seed/month stamp at the bottom right of every figure (kept in exports)."""
    return {
        "id": "stamp",
        "type": "text",
        "right": 10,
        "bottom": 6,
        "style": {"text": stamp, "fontSize": 11, "fill": "#757575"},
    }


ITEM_TOOLTIP = {"trigger": "item", "aieco": True, "confine": True}
"""Tooltip of figures whose items (nodes, points, routes) carry their own text."""


def month_times(start_year: int, n: int) -> np.ndarray:
    """Milliseconds since 1970 of the first day of months 0..n-1."""
    months = np.datetime64(f"{start_year}-01", "M") + np.arange(n)
    return months.astype("datetime64[ms]").astype(np.int64)


def _pts(t: np.ndarray, y: np.ndarray, digits: int) -> Points:
    y = np.round(np.asarray(y, dtype=float), digits + 1)
    # tolist() makes Python ints and floats in one go (per-item int()/float() was most of a
    # chart's cost on every Step)
    ys = y.tolist()
    if not np.isfinite(y).all():
        ys = [b if math.isfinite(b) else None for b in ys]
    return [[a, b] for a, b in zip(np.asarray(t).tolist(), ys, strict=False)]


def _total(f: RunFrames, col: str) -> np.ndarray:
    if f.totals.empty or col not in f.totals:
        return np.zeros(0)
    return f.totals[col].to_numpy(dtype=float)


def _alive(f: RunFrames, ctx: dict) -> list[Line]:
    t = ctx["times"](len(f.origin_alive))
    o = f.origin_alive
    u = "startups"
    lines = [
        Line(
            "all",
            "All startups",
            u,
            0,
            "#212121",
            _pts(t, _total(f, "startups_alive"), 0),
            width=3.0,
        )
    ]
    names = (
        ("big_firm", "Founded by big-firm alumni"),
        ("university", "From universities"),
        ("startup", "Founded by startup alumni"),
        ("other", "Other founders"),
    )
    for i, (col, name) in enumerate(names):
        lines.append(Line(col, name, u, 0, COLORS[i + 1], _pts(t, o[col].to_numpy(float), 0)))
    return lines


def _births(f: RunFrames, ctx: dict) -> list[Line]:
    n = len(f.totals)
    t = ctx["times"](n)
    u = "startups per month"
    return [
        Line("founded", "Founded", u, 0, COLORS[2], _pts(t, _total(f, "startups_founded"), 0)),
        Line(
            "failed",
            "Failed (out of cash)",
            u,
            0,
            COLORS[4],
            _pts(t, _total(f, "startups_failed"), 0),
        ),
        Line(
            "closed",
            "Closed by founders",
            u,
            0,
            COLORS[6],
            _pts(t, _total(f, "startups_closed"), 0),
        ),
        Line("acquired", "Acquired", u, 0, COLORS[3], _pts(t, _total(f, "startups_acquired"), 0)),
    ]


def _employment(f: RunFrames, ctx: dict) -> list[Line]:
    t = ctx["times"](len(f.totals))
    u = "thousand people"
    cols = (
        ("employment_startups", "Working at startups"),
        ("employment_big_firms", "At big firms"),
        ("employment_universities", "At universities"),
        ("job_seekers", "Looking for work"),
    )
    return [
        Line(col, name, u, 1, COLORS[i], _pts(t, _total(f, col) / 1e3, 1))
        for i, (col, name) in enumerate(cols)
    ]


def _utilisation(f: RunFrames, ctx: dict) -> list[Line]:
    d = f.dcs
    if d.empty:
        return []
    months = int(d["month"].max()) + 1
    t = ctx["times"](months)
    u = "% of capacity sold"
    lines: list[Line] = []
    names = ctx.get("dc_names", {})
    n_dc = int((d["month"] == d["month"].iloc[0]).sum())
    keys = d["data_center"].to_numpy()[:n_dc]
    hubs = d["hub"].to_numpy()[:n_dc].astype(bool)
    shape = (months, n_dc)  # dc_kpis: one row per month and center, centers in a fixed order
    util_all = d["utilization"].to_numpy(float).reshape(shape) * 100
    cap_all = d["capacity_gpu_h"].to_numpy(float).reshape(shape)
    sold_all = d["sold_gpu_h"].to_numpy(float).reshape(shape)
    for hub, label, color in ((False, "East", EAST), (True, "West (hubs)", WEST)):
        sel = hubs == hub
        if not sel.any():
            continue
        util = util_all[:, sel]
        lo, hi = util.min(axis=1), util.max(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = 100 * sold_all[:, sel].sum(axis=1) / cap_all[:, sel].sum(axis=1)
        key = "west" if hub else "east"
        n_centers = int(sel.sum())
        if n_centers > 1:
            lines.append(Line(f"{key}_lo", "", u, 0, color, _pts(t, lo, 0)))
            band = [
                [int(a), float(round(h - low, 1)), float(round(low, 1)), float(round(h, 1))]
                for a, low, h in zip(t, lo, hi, strict=False)
            ]
            lines.append(
                Line(
                    f"{key}_band",
                    f"{label}: range of {n_centers} centers",
                    u,
                    0,
                    color,
                    band,
                    band=True,
                )
            )
        lines.append(
            Line(
                f"{key}_mean",
                f"{label}: all centers together",
                u,
                0,
                color,
                _pts(t, mean, 0),
                width=3.0,
            )
        )
        if ctx.get("detail"):
            for j, dc in enumerate(keys[sel]):
                lines.append(
                    Line(
                        f"dc:{dc}",
                        names.get(dc, dc),
                        u,
                        0,
                        COLORS[(j + 3) % 10],
                        _pts(t, util[:, j], 0),
                        width=1.2,
                        dashed=hub,
                    )
                )
    return lines


def _voucher(f: RunFrames, ctx: dict) -> list[Line]:
    k = f.kpis
    if k.empty:
        return []
    names = ctx.get("region_names", {})
    out = []
    for i, (region, part) in enumerate(k.groupby("region", sort=False)):
        y = part["voucher_budget_left_yuan"].to_numpy(float) / 1e6
        t = ctx["times"](len(y))
        out.append(
            Line(
                f"r:{region}",
                names.get(region, str(region)),
                "¥ million",
                1,
                COLORS[i % 10],
                _pts(t, y, 1),
            )
        )
    return out


CHARTS: tuple[Chart, ...] = (
    Chart("alive", "Startups alive, by where the founder worked before", "startups", _alive),
    Chart("births", "Startups founded and closed each month", "startups per month", _births),
    Chart("employment", "Who works where", "thousand people", _employment),
    Chart("utilisation", "Data centers: share of capacity sold, east vs west", "%", _utilisation),
    Chart("voucher", "Compute-voucher money left this year", "¥ million", _voucher),
)
CHART_KEYS = tuple(c.key for c in CHARTS)


def chart(key: str) -> Chart:
    return next(c for c in CHARTS if c.key == key)


def series(key: str, current: RunFrames, baseline: RunFrames | None, ctx: dict) -> list[Line]:
    """Every line of a chart; baseline lines (dashed, "(baseline)") follow the current ones."""
    spec = chart(key)
    lines = spec.lines(current, ctx)
    if baseline is not None:
        for line in spec.lines(baseline, ctx):
            if line.band or line.id.endswith("_lo") or line.id.startswith("dc:"):
                continue
            lines.append(
                Line(
                    "b:" + line.id,
                    f"{line.name} (baseline)",
                    line.unit,
                    line.digits,
                    line.color,
                    line.points,
                    dashed=True,
                    width=1.6,
                )
            )
    return lines


def points_by_id(lines: list[Line]) -> dict[str, Points]:
    return {line.id: line.points for line in lines}


def figure(key: str, lines: list[Line], base: str, stamp: str, filename: str) -> dict:
    """The ECharts option of a chart (with the points it has now)."""
    spec = chart(key)
    series_out, units = [], {}
    legend = []
    empty = all(not line.points for line in lines)
    for line in lines:
        s: dict = {
            "id": line.id,
            "name": line.name,
            "type": "line",
            "showSymbol": False,
            "data": line.points,
            "color": line.color,
            "lineStyle": {"width": line.width, "type": "dashed" if line.dashed else "solid"},
            "emphasis": {"focus": "series"},
            "animation": False,
        }
        if line.id.endswith("_lo"):
            s.update(stack=line.id[:-3], lineStyle={"opacity": 0}, silent=True)
            units[line.id] = {"hidden": True}
        elif line.band:
            s.update(
                stack=line.id[: -len("_band")],
                lineStyle={"opacity": 0},
                areaStyle={"color": line.color, "opacity": 0.18},
                encode={"x": 0, "y": 1},
            )
            units[line.id] = {"band": True, "unit": line.unit, "digits": line.digits}
        else:
            units[line.id] = {"unit": line.unit, "digits": line.digits}
        if line.name:
            legend.append(line.name)
        series_out.append(s)
    # Legend below the plot, wrapped over as many rows as its names need (about 7 px a letter
    # in a chart about 480 px wide).
    width = sum(40 + 7 * len(name) for name in legend)
    rows = max(1, -(-width // 470))
    graphic = [stamp_graphic(stamp)]
    if empty:
        graphic.append(
            {
                "id": "hint",
                "type": "text",
                "left": "center",
                "top": "middle",
                "style": {"text": "press Step or Play", "fontSize": 16, "fill": "#9e9e9e"},
            }
        )
    return {
        "aieco_base": base,
        "aieco_time": True,
        "aieco_units": units,
        "aieco_filename": filename,
        "animation": False,
        "title": title(spec.title),
        "legend": {
            "data": legend,
            "type": "plain",
            "bottom": 24,
            "left": 8,
            "right": 8,
            "textStyle": {"fontSize": 13},
            "itemWidth": 22,
            "itemGap": 12,
        },
        "grid": {"left": 62, "right": 18, "top": 52, "bottom": 62 + 22 * rows},
        "tooltip": {
            "trigger": "axis",
            "aieco": True,
            "confine": True,
            "axisPointer": {"type": "line"},
        },
        "toolbox": {
            "right": 10,
            "top": 0,
            "itemSize": 16,
            "feature": {
                "dataZoom": {
                    "yAxisIndex": "none",
                    "title": {"zoom": "zoom (drag a box)", "back": "undo zoom"},
                },
                "restore": {"title": "reset view"},
            },
        },
        "dataZoom": [{"type": "inside", "zoomOnMouseWheel": "shift", "moveOnMouseMove": True}],
        "xAxis": {
            "type": "time",
            "minInterval": 28 * 86_400_000,
            "axisLabel": {"fontSize": 13, "hideOverlap": True},
            "splitLine": {"show": False},
        },
        "yAxis": {
            "type": "value",
            "name": spec.unit,
            "nameTextStyle": {"fontSize": 13, "align": "left"},
            "axisLabel": {"fontSize": 13},
            "aieco_compact": True,
            "scale": False,
        },
        "graphic": graphic,
        "series": series_out,
    }
