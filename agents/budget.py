"""A yearly budget paid out first come, first served, never beyond what is left."""

from __future__ import annotations

import numpy as np


class Budget:
    """One instrument's money for the current calendar year.

    ``grant`` takes requests in the order they arrive and pays each in full while money lasts;
    the request that crosses the line gets the remainder, later ones get nothing.
    """

    __slots__ = ("annual", "remaining", "spent_total", "spent_this_month")

    def __init__(self, annual: float):
        self.annual = float(annual)
        self.remaining = float(annual)
        self.spent_total = 0.0
        self.spent_this_month = 0.0

    def new_year(self) -> None:
        self.remaining = self.annual

    def new_month(self) -> None:
        self.spent_this_month = 0.0

    def grant(self, requests: np.ndarray) -> np.ndarray:
        """Pay requests in order (FCFS); return the amounts paid, summing to at most ``remaining``."""
        requests = np.maximum(np.asarray(requests, dtype=np.float64), 0.0)
        if requests.size == 0 or self.remaining <= 0.0:
            return np.zeros_like(requests)
        before = np.cumsum(requests) - requests
        paid = np.clip(self.remaining - before, 0.0, requests)
        total = float(paid.sum())
        # Floating-point sums can exceed the remainder by an ulp; trim the last payment.
        if total > self.remaining:
            last = np.flatnonzero(paid)[-1]
            paid[last] -= total - self.remaining
            total = self.remaining
        self.remaining = max(self.remaining - total, 0.0)
        self.spent_total += total
        self.spent_this_month += total
        return paid

    def grant_one(self, amount: float) -> float:
        return float(self.grant(np.array([amount]))[0])
