"""A yearly budget paid out first come, first served, never beyond what is left."""

from __future__ import annotations

from enum import StrEnum

import numpy as np


class Instrument(StrEnum):
    """A government's budgeted policy instruments (one yearly ``Budget`` each)."""

    VOUCHER = "voucher"
    DATA_VOUCHER = "data_voucher"
    TALENT_SUBSIDY = "talent_subsidy"
    STARTUP_GRANT = "startup_grant"
    GUIDANCE_FUND = "guidance_fund"
    DC_INVESTMENT = "dc_investment"
    ADOPTION = "adoption"


class Budget:
    """One instrument's money for the current calendar year.

    ``grant`` takes requests in the order they arrive and pays each in full while money lasts;
    the request that crosses the line gets the remainder, later ones get nothing.
    """

    __slots__ = ("annual", "remaining", "spent_total", "spent_this_month", "month_cap")

    def __init__(self, annual: float):
        self.annual = float(annual)
        self.remaining = float(annual)
        self.spent_total = 0.0
        self.spent_this_month = 0.0
        self.month_cap = float("inf")

    def pace(self, months_left: int) -> None:
        """Release only an even share of what is left this month (for money that flows all year)."""
        self.month_cap = self.remaining / max(months_left, 1)

    @property
    def available(self) -> float:
        """What may still be paid this month."""
        return max(min(self.remaining, self.month_cap - self.spent_this_month), 0.0)

    def new_year(self) -> None:
        self.remaining = self.annual

    def new_month(self) -> None:
        self.spent_this_month = 0.0

    def grant(self, requests: np.ndarray) -> np.ndarray:
        """Pay requests in order (FCFS); return the amounts paid (at most ``remaining`` in all)."""
        requests = np.maximum(np.asarray(requests, dtype=np.float64), 0.0)
        available = self.available
        if requests.size == 0 or available <= 0.0:
            return np.zeros_like(requests)
        before = np.cumsum(requests) - requests
        paid = np.clip(available - before, 0.0, requests)
        total = float(paid.sum())
        # Floating-point sums can exceed the remainder by a few ulps; trim the last payments,
        # latest first, none below zero (a last payment smaller than the excess would go
        # negative if it alone were trimmed).
        excess = total - available
        if excess > 0.0:
            for i in np.flatnonzero(paid)[::-1]:
                cut = min(paid[i], excess)
                paid[i] -= cut
                excess -= cut
                if excess <= 0.0:
                    break
            total = available
        self.remaining = max(self.remaining - total, 0.0)
        self.spent_total += total
        self.spent_this_month += total
        return paid

    def grant_one(self, amount: float) -> float:
        return float(self.grant(np.array([amount]))[0])
