"""Partnerships between startups (H9): formed at random, most within a sector, more often in a
larger cluster; until either partner exits they share knowledge (``firm_life.innovate``) and
customers (partner bundles, ``economics.bundled``)."""

from __future__ import annotations

import numpy as np

from ecosystem.founding import cluster_pull
from ecosystem.state import Params, State


def cooperate(state: State, params: Params, rng: np.random.Generator) -> None:
    """Each region's live startups form a Poisson number of new partnerships: the rate per firm
    times the cluster pull (more potential partners nearby, ``founding.cluster_pull``)."""
    s, st = state.startups, params.config.startups
    every = state.alive_startups()
    pull = cluster_pull(state, params)  # forming partnerships changes none of its inputs
    for r in range(params.n_regions):
        alive = every[s.region[every] == r]
        if alive.size < 2:
            continue
        rate = st.partnership_rate_per_year / 12 * pull[r]
        n = int(rng.poisson(rate * alive.size / 2))
        if n == 0:
            continue
        a = rng.choice(alive, n)
        b = rng.choice(alive, n)
        # Some partners are sought in the same sector: a uniform draw within a's sector.
        same = np.flatnonzero(rng.random(n) < st.same_sector_partner_share)
        by_sector = alive[np.argsort(s.sector[alive], kind="stable")]
        sectors = s.sector[by_sector]
        first = np.searchsorted(sectors, s.sector[a[same]], side="left")
        size = np.searchsorted(sectors, s.sector[a[same]], side="right") - first
        b[same] = by_sector[first + (rng.random(same.size) * size).astype(np.int64)]
        ok = a != b
        state.networks.add_partnerships(a[ok], b[ok], state.month)
        state.counters["partnerships_formed"][r] += int(ok.sum())
