"""Data behind the two network views: the aggregated organisation network and a genealogy.

The organisation network has one node per university, big firm, startup sector and data center
(a few dozen nodes whatever the number of startups), with positions that depend only on the
scenario's structure, so they stay put while the model runs and after a reset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ecosystem import AIEcosystem
from ecosystem.networks import NODE_KINDS
from ecosystem.scenario import SECTORS
from ecosystem.tables import Employer, Status

SECTOR_LABELS = {
    "manufacturing": "Manufacturing",
    "autonomous_driving": "Autonomous driving",
    "robotics": "Robotics",
    "health": "Health",
    "finance": "Finance",
    "consumer_ecommerce": "Consumer / e-commerce",
    "foundation_models": "Foundation models",
}


@dataclass
class Node:
    id: str
    label: str
    kind: str  # university, big_firm, sector, data_center
    size: float  # the number the node's area shows
    size_label: str
    x: float = 0.0
    y: float = 0.0


@dataclass
class OrgNetwork:
    nodes: list[Node]
    edges: pd.DataFrame  # src, dst, kind (talent, spinoff, compute), weight
    window: str
    notes: list[str] = field(default_factory=list)


def layout(model: AIEcosystem) -> dict[str, tuple[float, float]]:
    """Fixed positions: big firms left, universities right, sectors in a ring in the middle,
    data centers along the bottom (east to west, left to right)."""
    pos: dict[str, tuple[float, float]] = {}

    def column(nodes: list[str], x: float, top: float = 1.6, bottom: float = -0.6) -> None:
        n = len(nodes)
        for i, node in enumerate(nodes):
            y = (top + bottom) / 2 if n == 1 else top - i * (top - bottom) / (n - 1)
            pos[node] = (x, y)

    column([b.node for b in model.big_firms], -3.0)
    column([u.node for u in model.universities], 3.0)
    for i, s in enumerate(SECTORS):
        a = math.pi / 2 + 2 * math.pi * i / len(SECTORS)
        pos[f"startups:{s.value}"] = (1.25 * math.cos(a), 0.5 + 1.05 * math.sin(a))
    dcs = sorted(model.data_centers, key=lambda d: (d.is_hub, d.index))
    n = len(dcs)
    for i, d in enumerate(dcs):
        x = 0.0 if n == 1 else -2.4 + i * 4.8 / (n - 1)
        pos[d.node] = (x, -1.75)
    return pos


def _flow_node_names(
    model: AIEcosystem, kind: np.ndarray, ident: np.ndarray, sector: np.ndarray
) -> np.ndarray:
    out = np.full(kind.size, "", dtype=object)
    bf = np.array([b.node for b in model.big_firms] + [""], dtype=object)
    un = np.array([u.node for u in model.universities] + [""], dtype=object)
    for k in NODE_KINDS:
        sel = kind == k
        if not sel.any():
            continue
        ids = ident[sel]
        if k == Employer.STARTUP:
            ok = ids < sector.size
            names = np.full(ids.size, "", dtype=object)
            names[ok] = "startups:" + sector[ids[ok]].astype(object)
            out[sel] = names
        elif k == Employer.BIG_FIRM:
            out[sel] = bf[np.minimum(ids, bf.size - 1)]
        elif k == Employer.UNIVERSITY:
            out[sel] = un[np.minimum(ids, un.size - 1)]
    return out


def org_network(
    model: AIEcosystem, firms: pd.DataFrame, window_months: int | None = 12
) -> OrgNetwork:
    """Nodes and weighted edges over the last ``window_months`` (None: since the start)."""
    pos = layout(model)
    month = model.month
    start = 0 if window_months is None else max(0, month - window_months)
    window = (
        "since the start" if window_months is None else f"last {min(window_months, month)} months"
    )
    nodes: list[Node] = []
    alive = firms[firms["exit_reason"] == "alive"]
    by_sector = alive["sector"].value_counts()
    for b in model.big_firms:
        nodes.append(
            Node(b.node, b.name, "big_firm", b.spec.headcount, f"{b.spec.headcount:,} staff")
        )
    for u in model.universities:
        nodes.append(
            Node(
                u.node,
                u.name,
                "university",
                u.spec.graduates_per_year,
                f"{u.spec.graduates_per_year:,} grads/yr",
            )
        )
    for s in SECTORS:
        n = int(by_sector.get(s.value, 0))
        nodes.append(
            Node(
                f"startups:{s.value}",
                SECTOR_LABELS.get(s.value, s.value),
                "sector",
                n,
                f"{n} alive",
            )
        )
    for d in model.data_centers:
        where = "west hub" if d.is_hub else "east"
        nodes.append(
            Node(
                d.node,
                d.name,
                "data_center",
                d.capacity,
                f"{where}, {100 * d.utilization:.0f}% used",
            )
        )
    for node in nodes:
        node.x, node.y = pos.get(node.id, (0.0, 0.0))

    edges = []
    # Talent flows between organisations (startups grouped by sector).
    flows = model.flows.table()
    sector = firms["sector"].to_numpy(dtype=object)
    if not flows.empty:
        f = flows[flows["month"] >= start]
        src = _flow_node_names(model, f["src_kind"].to_numpy(), f["src_id"].to_numpy(), sector)
        dst = _flow_node_names(model, f["dst_kind"].to_numpy(), f["dst_id"].to_numpy(), sector)
        t = pd.DataFrame({"src": src, "dst": dst, "weight": f["people"].to_numpy()})
        t = t[(t["src"] != "") & (t["dst"] != "") & (t["src"] != t["dst"])]
        # One directed edge per pair and direction: who sends people to whom.
        t = t.groupby(["src", "dst"], as_index=False)["weight"].sum()
        t["kind"] = "talent"
        edges.append(t)
    # Spinoffs: parent organisation -> sector of the new startup.
    founded = firms[(firms["founded_month"] >= start) & (firms["parent_id"] != "")]
    if not founded.empty:
        parent = founded["parent_id"].to_numpy(dtype=object)
        is_startup = np.char.startswith(parent.astype(str), "startup:")
        parent_node = parent.copy()
        if is_startup.any():
            ids = np.array([int(p.split(":", 1)[1]) for p in parent[is_startup]])
            parent_node[is_startup] = "startups:" + sector[ids].astype(object)
        sp = pd.DataFrame(
            {"src": parent_node, "dst": "startups:" + founded["sector"].to_numpy(dtype=object)}
        )
        sp = sp[sp["src"] != sp["dst"]]
        sp = sp.groupby(["src", "dst"], as_index=False).size().rename(columns={"size": "weight"})
        sp["kind"] = "spinoff"
        edges.append(sp)
    # Compute purchases: each data center's sales to startups, split by the sectors' shares of
    # the startups' compute this month (the model reports sales per center, not per sector).
    dc = model.dc_kpis()
    if not dc.empty:
        sold = dc[dc["month"] >= start].groupby("data_center")["sold_startups_gpu_h"].sum()
        s = model.startups
        n = s.n
        live = s.view("status") == Status.ALIVE
        use = (s.training_gpu_h[:n] + s.inference_gpu_h[:n]) * live
        per_sector = np.bincount(s.sector[:n], weights=use, minlength=len(SECTORS))
        if per_sector.sum() > 0:
            share = per_sector / per_sector.sum()
            rows = []
            for d in model.data_centers:
                total = float(sold.get(d.key, 0.0))
                for i, sec in enumerate(SECTORS):
                    if total * share[i] > 0:
                        rows.append((f"startups:{sec.value}", d.node, total * share[i]))
            edges.append(
                pd.DataFrame(rows, columns=["src", "dst", "weight"]).assign(kind="compute")
            )
        notes = [
            "Compute edges split each center's startup sales by the sectors' current shares of "
            "startup compute."
        ]
    else:
        notes = []
    table = (
        pd.concat(edges, ignore_index=True)
        if edges
        else pd.DataFrame(columns=["src", "dst", "weight", "kind"])
    )
    known = {nd.id for nd in nodes}
    table = table[table["src"].isin(known) & table["dst"].isin(known) & (table["weight"] > 0)]
    return OrgNetwork(nodes, table.reset_index(drop=True), window, notes)


# ----------------------------------------------------------------------------------------------
# Genealogy of one organisation
# ----------------------------------------------------------------------------------------------
@dataclass
class Genealogy:
    root: str
    nodes: pd.DataFrame  # id (firm_id or -1 for root), parent, generation, status, sector, x, y
    generations: dict[int, int]  # generation -> startups
    truncated: int  # startups left out of the drawing


def genealogy(
    firms: pd.DataFrame, root: str, max_nodes: int = 400, max_depth: int = 8
) -> Genealogy:
    """Startups founded by the root organisation's alumni, their spinoffs, and so on."""
    parent = firms["parent_id"].to_numpy(dtype=object)
    children: dict[str, list[int]] = {}
    for i, p in enumerate(parent):
        if p:
            children.setdefault(p, []).append(i)
    rows = [(-1, -2, 0)]  # (firm, parent firm, generation); root is -1
    frontier = [(root, -1)]
    counts: dict[int, int] = {}
    total = 0
    gen = 0
    drawn = {-1}
    while frontier and gen < max_depth:
        gen += 1
        nxt = []
        for node, pid in frontier:
            for c in children.get(node, []):
                total += 1
                counts[gen] = counts.get(gen, 0) + 1
                if pid in drawn and len(rows) <= max_nodes:
                    rows.append((c, pid, gen))
                    drawn.add(c)
                nxt.append((f"startup:{c}", c))
        frontier = nxt
    t = pd.DataFrame(rows, columns=["id", "parent", "generation"])
    status = firms["exit_reason"].to_numpy(dtype=object)
    sector = firms["sector"].to_numpy(dtype=object)
    ids = t["id"].to_numpy()
    t["status"] = np.where(ids >= 0, status[np.maximum(ids, 0)], "root")
    t["sector"] = np.where(ids >= 0, sector[np.maximum(ids, 0)], "")
    _tidy_positions(t)
    return Genealogy(root, t, counts, total - (len(t) - 1))


def _tidy_positions(t: pd.DataFrame) -> None:
    """Leaves get consecutive x slots (depth first); parents sit above their children's middle."""
    kids: dict[int, list[int]] = {}
    for idx, p in zip(t["id"], t["parent"], strict=True):
        kids.setdefault(int(p), []).append(int(idx))
    xs: dict[int, float] = {}
    slot = [0.0]

    def place(node: int) -> float:
        stack = [(node, False)]
        while stack:
            n, done = stack.pop()
            ch = kids.get(n, [])
            if not ch:
                xs[n] = slot[0]
                slot[0] += 1
            elif done:
                xs[n] = (xs[ch[0]] + xs[ch[-1]]) / 2
            else:
                stack.append((n, True))
                stack.extend((c, False) for c in reversed(ch))
        return xs[node]

    place(-1)
    t["x"] = [xs[int(i)] for i in t["id"]]
    t["y"] = -t["generation"].astype(float)
