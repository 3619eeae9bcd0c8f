"""Test helper: turn a model's live firms into round applicants with a chosen expected revenue
(tests of the VC screen and the clearing rule, docs/ODD.md 7.7)."""

from __future__ import annotations

import numpy as np


def make_applicants(model, revenue_target: float, money: float = 1e15) -> np.ndarray:
    """Every live firm short of runway, due to raise, burning cash, with expected revenue
    ``revenue_target`` a month (believed fit θ̂ = 1 = true fit); every city's VC pool holds
    ``money`` this month. Returns the live rows."""
    st, s = model.state, model.startups
    alive = st.alive_startups()
    s.cash[alive] = 1.0
    s.revenue[alive] = 0.0  # every one burns cash: each needs a round
    s.next_raise_month[alive] = 0
    s.revenue_target[alive] = revenue_target
    s.log_fit[alive] = 0.0
    s.fit_mean[alive] = -0.5 / s.fit_precision[alive]  # believed fit θ̂ = 1 = true fit
    for pool in st.vc_pools:
        pool.annual = pool.remaining = pool.month_cap = money
    return alive
