"""The map of China: cities and western hubs at their places, with flows of talent, compute and
money over the last 12 months (an ECharts ``geo`` figure drawn by :mod:`viz.livechart`).

The outline ships with the package (``viz/data/china_outline.json``, made from the world-atlas
npm package, see its header); the places of the regions are in ``viz/data/places.toml``. Nothing
is fetched at run time.

What the flows show (the model reports totals per region, not who moved to whom):
- compute: GPU-hours a city's firms bought at western hubs, split over the hubs by each hub's
  sales to startups;
- money: vouchers paid by hub programmes (which pay any buyer at their data centers), split over
  the cities by the same purchases; a city's own vouchers are in its circle's tooltip;
- talent: people moving between the modelled regions, drawn from regions that lost people to
  regions that gained them, in proportion (net moves, not individual routes).
"""

from __future__ import annotations

import json
import tomllib
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from viz.charts import ITEM_TOOLTIP, stamp_graphic, title
from viz.session import Session

DATA = Path(__file__).resolve().parent / "data"
WINDOW = 12  # months summed for the flows
#: A map of ten cities and four hubs has up to 40 routes per kind: only the largest are drawn,
#: the fewest that carry FLOW_SHARE of the kind's total, at most MAX_LINES (the rest stay in the
#: circles' tooltips), so a projector shows routes rather than a tangle.
FLOW_SHARE = 0.8
MAX_LINES = 8
FLOW_COLORS = {"compute": "#2e7d32", "money": "#f9a825", "talent": "#1565c0"}
FLOW_NAMES = {
    "compute": "Compute bought in the west (GPU-h)",
    "money": "Vouchers from hub programmes (¥)",
    "talent": "People moving between regions",
}


@cache
def outline() -> dict:
    return json.loads((DATA / "china_outline.json").read_text(encoding="utf-8"))


@cache
def places() -> dict[str, tuple[float, float]]:
    doc = tomllib.loads((DATA / "places.toml").read_text(encoding="utf-8"))
    return {k: (float(v["lon"]), float(v["lat"])) for k, v in doc["places"].items()}


def _fmt(x: float, unit: str = "") -> str:
    if not np.isfinite(x):
        return "–"
    for div, suffix in ((1e9, " bn"), (1e6, " m"), (1e3, " k")):
        if abs(x) >= div:
            return f"{x / div:,.1f}{suffix}{unit}"
    return f"{x:,.0f}{unit}"


#: KPI columns the map sums over the last ``WINDOW`` months, by region.
RECENT_COLUMNS = (
    "voucher_spent_yuan",
    "moved_in",
    "moved_out",
    "compute_bought_west_gpu_h",
)


def _sums(table, rows, columns) -> dict[str, dict[str, float]]:
    """{column: {region: sum over the rows that ``rows(table)`` selects}} (a region without
    rows or a column the table lacks sums to 0; missing values count as 0)."""
    if table.empty:
        return {c: {} for c in columns}
    mask = rows(table).to_numpy(dtype=bool)
    codes, keys = pd.factorize(table["region"].to_numpy()[mask])
    out = {}
    for c in columns:
        if c not in table:
            out[c] = {}
            continue
        values = np.nan_to_num(table[c].to_numpy(dtype=float, na_value=0.0)[mask])
        sums = np.bincount(codes, weights=values, minlength=len(keys))
        out[c] = dict(zip(keys.tolist(), sums.tolist(), strict=True))
    return out


def map_data(session: Session) -> dict:
    """Circles and flows of the current month (plain numbers, tested without a browser)."""
    model = session.model
    regions = session.scenario.regions
    where = places()
    f = session.frames("current")
    k = f.kpis
    month = session.month
    d = f.dcs
    # Every sum a region needs, in one aggregation per table (filtering the tables region by
    # region took ~10 ms of each Step while the map is shown).
    recent = _sums(k, lambda t: t["month"] >= month - WINDOW, RECENT_COLUMNS)
    last = _sums(k, lambda t: t["month"] == month - 1, ("startups_alive", "employment_startups"))
    dc_last = _sums(d, lambda t: t["month"] == month - 1, ("capacity_gpu_h", "sold_gpu_h"))
    dc_recent = _sums(d, lambda t: t["month"] >= month - WINDOW, ("sold_startups_gpu_h",))
    cities, hubs, missing = [], [], []
    for rid, r in regions.items():
        if rid not in where:
            missing.append(r.name)
            continue
        lon, lat = where[rid]

        def get(col: str, table=recent, rid=rid) -> float:
            return table[col].get(rid, 0.0)

        if r.kind == "city":
            alive = get("startups_alive", last)
            cities.append(
                {
                    "id": rid,
                    "name": r.name,
                    "lon": lon,
                    "lat": lat,
                    "startups": alive,
                    "jobs": get("employment_startups", last),
                    "vouchers": get("voucher_spent_yuan"),
                    "moved_in": get("moved_in"),
                    "moved_out": get("moved_out"),
                    "west": get("compute_bought_west_gpu_h"),
                }
            )
        else:
            cap = get("capacity_gpu_h", dc_last)
            sold = get("sold_gpu_h", dc_last)
            if cap == 0 and model is not None:
                cap = float(
                    sum(
                        dc.capacity
                        for dc in model.data_centers
                        if model.region_keys[dc.region] == rid
                    )
                )
            hubs.append(
                {
                    "id": rid,
                    "name": r.name,
                    "lon": lon,
                    "lat": lat,
                    "capacity": cap,
                    "utilisation": sold / cap if cap > 0 else float("nan"),
                    "startup_sales": get("sold_startups_gpu_h", dc_recent),
                    "vouchers": get("voucher_spent_yuan"),
                }
            )
    flows: list[dict] = []
    total_sales = sum(h["startup_sales"] for h in hubs)
    for c in cities:
        for h in hubs:
            share = h["startup_sales"] / total_sales if total_sales > 0 else 0.0
            gpu = c["west"] * share
            if gpu > 0:
                flows.append({"kind": "compute", "src": c["id"], "dst": h["id"], "value": gpu})
    total_west = sum(c["west"] for c in cities)
    for h in hubs:
        for c in cities:
            money = h["vouchers"] * (c["west"] / total_west) if total_west > 0 else 0.0
            if money > 0:
                flows.append({"kind": "money", "src": h["id"], "dst": c["id"], "value": money})
    gain = {c["id"]: c["moved_in"] - c["moved_out"] for c in cities}
    losers = {i: -g for i, g in gain.items() if g < 0}
    winners = {i: g for i, g in gain.items() if g > 0}
    lost = sum(losers.values())
    for src, out in losers.items():
        for dst, into in winners.items():
            people = out * into / max(sum(winners.values()), 1e-9) if lost > 0 else 0.0
            if people >= 1:
                flows.append({"kind": "talent", "src": src, "dst": dst, "value": people})
    return {"cities": cities, "hubs": hubs, "flows": flows, "missing": missing, "month": month}


def figure(data: dict, base: str, stamp: str, filename: str, kinds: tuple[str, ...]) -> dict:
    """The ECharts option of the map (series ids: cities, hubs and one per flow kind)."""
    pos = {p["id"]: [p["lon"], p["lat"]] for p in data["cities"] + data["hubs"]}
    return {
        "aieco_base": base,
        "aieco_map": True,
        "aieco_filename": filename,
        "animation": False,
        "title": title(
            "Cities, western hubs and what flows between them",
            f"circles: startups alive · squares: data-center capacity · "
            f"flows: last {WINDOW} months, the largest routes that carry "
            f"{FLOW_SHARE:.0%} of each kind",
        ),
        "tooltip": ITEM_TOOLTIP,
        "legend": {
            "bottom": 26,
            "left": 8,
            "textStyle": {"fontSize": 13},
            "data": ["Cities (startups alive)", "Western hubs (capacity)"]
            + [FLOW_NAMES[k] for k in kinds],
        },
        "geo": {
            "map": "china",
            "roam": True,
            "top": 64,
            "bottom": 80,
            "left": 10,
            "right": 10,
            "silent": True,
            "itemStyle": {"areaColor": "#eceff1", "borderColor": "#90a4ae"},
            "emphasis": {"disabled": True},
        },
        "graphic": [stamp_graphic(stamp)],
        "series": [
            {
                "id": "cities",
                "name": "Cities (startups alive)",
                "type": "scatter",
                "coordinateSystem": "geo",
                "color": "#6a1b9a",
                "data": city_points(data),
                "label": {"show": True, "formatter": "{b}", "position": "right", "fontSize": 13},
                "labelLayout": {"hideOverlap": True},
                "itemStyle": {"opacity": 0.75},
            },
            {
                "id": "hubs",
                "name": "Western hubs (capacity)",
                "type": "scatter",
                "coordinateSystem": "geo",
                "symbol": "rect",
                "color": "#e65100",
                "data": hub_points(data),
                "label": {"show": True, "formatter": "{b}", "position": "bottom", "fontSize": 12},
                "labelLayout": {"hideOverlap": True},
                "itemStyle": {"opacity": 0.8},
            },
            *[
                {
                    "id": f"flow:{k}",
                    "name": FLOW_NAMES[k],
                    "type": "lines",
                    "coordinateSystem": "geo",
                    "color": FLOW_COLORS[k],
                    "zlevel": 1,
                    "effect": {
                        "show": True,
                        "period": 5,
                        "trailLength": 0.1,
                        "symbolSize": 6,
                        "symbol": "arrow",
                    },
                    "lineStyle": {"curveness": 0.2 + 0.1 * i, "opacity": 0.6},
                    "data": flow_lines(data, k, pos),
                }
                for i, k in enumerate(kinds)
            ],
        ],
    }


def city_points(data: dict) -> list[dict]:
    top = max((c["startups"] for c in data["cities"]), default=0.0) or 1.0
    return [
        {
            "name": c["name"].split(" (")[0],
            "value": [c["lon"], c["lat"], c["startups"]],
            "symbolSize": 10 + 40 * (c["startups"] / top) ** 0.5,
            "tip": (
                f"<b>{c['name']}</b><br/>startups alive: {c['startups']:,.0f}<br/>"
                f"startup jobs: {c['jobs']:,.0f}<br/>vouchers it paid (12 months): "
                f"¥{_fmt(c['vouchers'])}<br/>compute bought in the west: "
                f"{_fmt(c['west'])} GPU-h<br/>people moved in / out: "
                f"{c['moved_in']:,.0f} / {c['moved_out']:,.0f}"
            ),
        }
        for c in data["cities"]
    ]


def hub_points(data: dict) -> list[dict]:
    top = max((h["capacity"] for h in data["hubs"]), default=0.0) or 1.0
    out = []
    for h in data["hubs"]:
        util = h["utilisation"]
        util_text = "–" if not np.isfinite(util) else f"{100 * util:.0f}%"
        out.append(
            {
                "name": h["name"].split(" (")[0],
                "value": [h["lon"], h["lat"], h["capacity"]],
                "symbolSize": 10 + 30 * (h["capacity"] / top) ** 0.5,
                "tip": (
                    f"<b>{h['name']}</b><br/>capacity: {_fmt(h['capacity'])} GPU-h a "
                    f"month<br/>sold: {util_text}<br/>vouchers its programme paid "
                    f"(12 months): ¥{_fmt(h['vouchers'])}"
                ),
            }
        )
    return out


def largest_flows(flows: list[dict]) -> list[dict]:
    """The fewest largest flows that carry ``FLOW_SHARE`` of the total, at most ``MAX_LINES``."""
    ranked = sorted(flows, key=lambda f: -f["value"])
    total = sum(f["value"] for f in ranked)
    kept, carried = [], 0.0
    for f in ranked[:MAX_LINES]:
        if carried >= FLOW_SHARE * total:
            break
        kept.append(f)
        carried += f["value"]
    return kept


def flow_lines(data: dict, kind: str, pos: dict) -> list[dict]:
    flows = largest_flows([f for f in data["flows"] if f["kind"] == kind])
    top = max((f["value"] for f in flows), default=0.0) or 1.0
    unit = {"compute": " GPU-h", "money": "", "talent": " people"}[kind]
    names = {p["id"]: p["name"].split(" (")[0] for p in data["cities"] + data["hubs"]}
    out = []
    for f in flows:
        value = _fmt(f["value"], unit) if kind != "money" else "¥" + _fmt(f["value"])
        out.append(
            {
                "coords": [pos[f["src"]], pos[f["dst"]]],
                "value": f["value"],
                "lineStyle": {"width": 1 + 7 * (f["value"] / top) ** 0.5},
                "tip": f"{FLOW_NAMES[kind]}<br/>{names[f['src']]} → {names[f['dst']]}: "
                f"<b>{value}</b> (last {WINDOW} months)",
            }
        )
    return out


def series_data(data: dict, kinds: tuple[str, ...]) -> dict[str, list]:
    """Each series' data (what a month's update sends)."""
    pos = {p["id"]: [p["lon"], p["lat"]] for p in data["cities"] + data["hubs"]}
    out = {"cities": city_points(data), "hubs": hub_points(data)}
    for k in kinds:
        out[f"flow:{k}"] = flow_lines(data, k, pos)
    return out
