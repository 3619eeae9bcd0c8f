"""The three networks of an ecosystem: spinoff genealogy, talent flows and partnerships.

They are kept as arrays while the model runs (the genealogy is the startups table's parent
columns; flows are logged per month; partnerships are an edge list) and turned into networkx
graphs only for export and summaries.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pandas as pd

from ecosystem.tables import Employer, Status

if TYPE_CHECKING:
    from ecosystem.state import Params, State

#: Node kinds in the flow log (0–3 are ``Employer`` values; for 0, 5 and 6 the id is a region).
NODE_KINDS = {
    0: "job_market",
    1: "startup",
    2: "big_firm",
    3: "university",
    5: "outside",
    6: "retired",
}
_BITS = 27  # a node code is kind (3 bits) and id (24 bits); a (from, to) pair fits an int64
_SHIFT = np.int64(1) << np.int64(_BITS - 3)
_MASK = (np.int64(1) << np.int64(_BITS)) - 1


class FlowLog:
    """Monthly counts of people moving between organisations, aggregated per (month, from, to)."""

    def __init__(self) -> None:
        #: This month's moves so far, as (from, to) pair codes; aggregated by ``close_month``.
        self._pending: list[np.ndarray] = []
        self._months: list[tuple[int, np.ndarray, np.ndarray]] = []  # (month, pair codes, counts)

    @staticmethod
    def _pairs(src_kind, src_id, dst_kind, dst_id) -> np.ndarray:
        """(from, to) pair code of each move (scalars broadcast against arrays), one dimension."""
        src = np.asarray(src_kind, dtype=np.int64) * _SHIFT + np.asarray(src_id, dtype=np.int64)
        dst = np.asarray(dst_kind, dtype=np.int64) * _SHIFT + np.asarray(dst_id, dtype=np.int64)
        return ((src << np.int64(_BITS)) | dst).reshape(-1)

    def add(self, month: int, src_kind, src_id, dst_kind, dst_id) -> None:
        """Log one move per element (scalars broadcast against arrays)."""
        pairs = self._pairs(src_kind, src_id, dst_kind, dst_id)
        if pairs.size:
            self._pending.append(pairs)

    def add_counts(self, src_kind, src_id, dst_kind, dst_id, count: int) -> None:
        """Log ``count`` identical moves."""
        if count > 0:
            self._pending.append(np.repeat(self._pairs(src_kind, src_id, dst_kind, dst_id), count))

    def close_month(self, month: int) -> None:
        if not self._pending:
            return
        pairs, counts = np.unique(np.concatenate(self._pending), return_counts=True)
        self._pending.clear()
        self._months.append((month, pairs, counts))

    def table(self) -> pd.DataFrame:
        """All logged moves: month, from (kind, id), to (kind, id), number of people."""
        if not self._months:
            return pd.DataFrame(
                columns=["month", "src_kind", "src_id", "dst_kind", "dst_id", "people"]
            )
        month = np.concatenate([np.full(p.size, m) for m, p, _ in self._months])
        pairs = np.concatenate([p for _, p, _ in self._months])
        s, d = pairs >> np.int64(_BITS), pairs & _MASK
        return pd.DataFrame(
            {
                "month": month,
                "src_kind": s // _SHIFT,
                "src_id": s % _SHIFT,
                "dst_kind": d // _SHIFT,
                "dst_id": d % _SHIFT,
                "people": np.concatenate([c for _, _, c in self._months]),
            }
        )


def parent_nodes(state: State) -> np.ndarray:
    """Node name of each startup's parent organisation ('' where unknown)."""
    s = state.startups
    kind, pid = s.view("parent_kind"), s.view("parent_id")
    out = np.full(s.n, "", dtype=object)
    for k, orgs in (
        (Employer.BIG_FIRM, state.big_firms),
        (Employer.UNIVERSITY, state.universities),
    ):
        sel = (kind == k) & (pid >= 0)
        names = np.array([o.node for o in orgs], dtype=object)
        out[sel] = names[pid[sel]]
    sel = (kind == Employer.STARTUP) & (pid >= 0)
    out[sel] = np.char.add("startup:", pid[sel].astype(str)).astype(object)
    return out


class Networks:
    """Partnerships and collaborations as edge lists; builders for the three graphs.

    ``firms`` builds the firms table (``AIEcosystem.firms``); the graphs label startups with it.
    """

    def __init__(self, state: State, params: Params, firms: Callable[[], pd.DataFrame]):
        self.state, self.params, self.firms = state, params, firms
        self._a = np.zeros(0, dtype=np.int64)
        self._b = np.zeros(0, dtype=np.int64)
        self._start = np.zeros(0, dtype=np.int32)
        self._end = np.zeros(0, dtype=np.int32)
        self._collab: list[tuple[int, np.ndarray, int]] = []

    # --- partnerships --------------------------------------------------------------------------
    def add_partnerships(self, a: np.ndarray, b: np.ndarray, month: int) -> None:
        self._a = np.concatenate([self._a, a.astype(np.int64)])
        self._b = np.concatenate([self._b, b.astype(np.int64)])
        self._start = np.concatenate([self._start, np.full(a.size, month, dtype=np.int32)])
        self._end = np.concatenate([self._end, np.full(a.size, -1, dtype=np.int32)])

    def end_partnerships(self, firms: np.ndarray, month: int) -> None:
        """Partnerships end when either partner exits."""
        if self._a.size == 0 or firms.size == 0:
            return
        exits = np.zeros(self.state.startups.n, dtype=bool)
        exits[firms] = True
        hit = (self._end < 0) & (exits[self._a] | exits[self._b])
        self._end[hit] = month

    def current_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(a, b): the firm rows of every partnership still running (neither partner exited)."""
        active = self._end < 0
        return self._a[active], self._b[active]

    def partners_sum(self, values: np.ndarray) -> np.ndarray:
        """Σ over each firm's current partners of ``values`` (one per firm row; 0 without)."""
        a, b = self.current_pairs()
        n = values.size
        return np.bincount(a, weights=values[b], minlength=n) + np.bincount(
            b, weights=values[a], minlength=n
        )

    def spillover(self, alive: np.ndarray, capability: np.ndarray, n: int) -> np.ndarray:
        """Knowledge each live firm absorbs from better-placed current partners (SKIN-style)."""
        a, b = self.current_pairs()
        if a.size == 0:
            return np.zeros(alive.size)
        diff = capability[b] - capability[a]
        gain = np.bincount(a, weights=np.maximum(diff, 0), minlength=n)
        gain += np.bincount(b, weights=np.maximum(-diff, 0), minlength=n)
        return gain[alive]

    def add_collaborations(self, university: int, firms: np.ndarray, month: int) -> None:
        self._collab.append((university, firms.copy(), month))

    # --- graphs --------------------------------------------------------------------------------
    def genealogy(self) -> nx.DiGraph:
        """Parent organisation -> startup, for every startup with a known parent."""
        state, keys = self.state, self.params.region_keys
        s = state.startups
        g = nx.DiGraph(name="spinoff genealogy")
        for org in [*state.big_firms, *state.universities]:
            kind = org.node.split(":")[0]
            g.add_node(org.node, kind=kind, name=org.name, region=keys[org.region])
        firms = self.firms()
        for row in firms.itertuples(index=False):
            g.add_node(
                f"startup:{row.firm_id}",
                kind="startup",
                region=row.region,
                sector=row.sector,
                founded_month=int(row.founded_month),
                status=row.exit_reason,
                origin=row.origin,
            )
        parents = parent_nodes(state)
        for i in np.flatnonzero(parents != ""):
            g.add_edge(parents[i], f"startup:{i}", month=int(s.founded_month[i]))
        return g

    def talent_graph(self) -> nx.DiGraph:
        """Organisations (startups grouped by sector) linked by the people who moved between."""
        state = self.state
        flows = state.flows.table()
        g = nx.DiGraph(name="talent flows")
        if flows.empty:
            return g
        sector = self.firms()["sector"].to_numpy()
        regions = np.array(self.params.region_keys, dtype=object)

        def names(kind: np.ndarray, ident: np.ndarray) -> np.ndarray:
            out = np.empty(kind.size, dtype=object)
            for k, label in NODE_KINDS.items():
                sel = kind == k
                if not sel.any():
                    continue
                ids = ident[sel]
                if k == Employer.STARTUP:
                    out[sel] = "startups:" + sector[ids]
                elif k == Employer.BIG_FIRM:
                    out[sel] = np.array([b.node for b in state.big_firms], dtype=object)[ids]
                elif k == Employer.UNIVERSITY:
                    out[sel] = np.array([u.node for u in state.universities], dtype=object)[ids]
                else:
                    out[sel] = f"{label}:" + regions[ids]
            return out

        df = pd.DataFrame(
            {
                "month": flows["month"].to_numpy(),
                "src": names(flows["src_kind"].to_numpy(), flows["src_id"].to_numpy()),
                "dst": names(flows["dst_kind"].to_numpy(), flows["dst_id"].to_numpy()),
                "people": flows["people"].to_numpy(),
            }
        )
        df = df[df["src"] != df["dst"]]
        agg = (
            df.groupby(["src", "dst"])
            .agg(weight=("people", "sum"), months=("month", "nunique"))
            .reset_index()
        )
        for row in agg.itertuples(index=False):
            g.add_edge(row.src, row.dst, weight=int(row.weight), months=int(row.months))
        for node in g.nodes:
            g.nodes[node]["kind"] = node.split(":")[0]
        return g

    def partnership_graph(self) -> nx.Graph:
        """Startup partnerships (H9) and university collaborations, with start and end months."""
        unis = self.state.universities
        g = nx.MultiGraph(name="partnerships")
        for a, b, start, end in zip(self._a, self._b, self._start, self._end, strict=True):
            g.add_edge(
                f"startup:{a}", f"startup:{b}", kind="partnership", start=int(start), end=int(end)
            )
        for uni, firms, month in self._collab:
            for f in firms:
                g.add_edge(
                    unis[uni].node, f"startup:{f}", kind="collaboration", start=int(month), end=-1
                )
        return g

    def partnerships(self) -> pd.DataFrame:
        return pd.DataFrame({"a": self._a, "b": self._b, "start": self._start, "end": self._end})

    def write_graphml(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        out = []
        for name, graph in (
            ("genealogy", self.genealogy()),
            ("talent_flows", self.talent_graph()),
            ("partnerships", self.partnership_graph()),
        ):
            path = directory / f"{name}.graphml"
            nx.write_graphml(graph, path)
            out.append(path)
        return out

    # --- summaries -----------------------------------------------------------------------------
    def genealogy_depth(self) -> np.ndarray:
        """Generations of startup ancestry for each startup (0 = parent is not a startup)."""
        s = self.state.startups
        kind, pid = s.view("parent_kind"), s.view("parent_id")
        has = (kind == Employer.STARTUP) & (pid >= 0)
        depth = np.zeros(s.n, dtype=np.int64)
        for _ in range(s.n):
            new = np.where(has, depth[np.maximum(pid, 0)] + 1, 0)
            if np.array_equal(new, depth):
                break
            depth = new
        return depth

    def summary(self) -> dict[str, float]:
        """Headline facts of the three networks."""
        s = self.state.startups
        founded = s.view("founded_month") >= 0
        kind, pid = s.view("parent_kind"), s.view("parent_id")
        region = s.view("region")
        largest = self.params.largest_firm[region]
        from_largest = founded & (kind == Employer.BIG_FIRM) & (pid == largest)
        known = founded & (kind != Employer.NONE)
        depth = self.genealogy_depth()
        flows = self.state.flows.table()
        moved = int(flows["people"].sum()) if not flows.empty else 0
        active = self._end < 0
        alive = s.view("status") == Status.ALIVE
        partnered = np.zeros(s.n, dtype=bool)
        partnered[self._a[active]] = True
        partnered[self._b[active]] = True
        return {
            "startups_founded_in_run": int(founded.sum()),
            "share_founders_from_largest_firm": float(from_largest.sum() / max(founded.sum(), 1)),
            "share_known_founders_from_largest_firm": float(
                from_largest.sum() / max(known.sum(), 1)
            ),
            "genealogy_max_depth": int(depth.max()) if depth.size else 0,
            "genealogy_mean_depth_founded": float(depth[founded].mean()) if founded.any() else 0.0,
            "talent_moves": moved,
            "partnerships_formed": int(self._a.size),
            "share_alive_with_partner": float(partnered[alive].mean()) if alive.any() else 0.0,
            "university_collaborations": int(sum(len(f) for _, f, _ in self._collab)),
        }
