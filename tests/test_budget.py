"""Budgets pay first come, first served and never beyond what is left."""

import numpy as np
import pytest

from agents import Budget


def test_requests_are_paid_in_order_until_the_money_runs_out():
    b = Budget(100.0)
    paid = b.grant(np.array([30.0, 50.0, 40.0, 10.0]))
    assert paid.tolist() == [30.0, 50.0, 20.0, 0.0]
    assert b.remaining == 0.0
    assert b.grant(np.array([5.0])).tolist() == [0.0]
    b.new_year()
    assert b.remaining == 100.0


@pytest.mark.parametrize("seed", range(20))
def test_random_requests_never_overspend(seed):
    rng = np.random.default_rng(seed)
    b = Budget(rng.uniform(0, 1e6))
    total = 0.0
    for _ in range(50):
        total += b.grant(rng.exponential(1e4, rng.integers(0, 30))).sum()
        assert b.remaining >= 0.0
    assert total <= b.annual + 1e-6


def test_rounding_trim_never_makes_a_payment_negative():
    """96 requests of 1/3 and a last one, with two ulps more money than the 96 sum to in order:
    the last request gets that sliver, and the payments' (pairwise) sum exceeds the money by
    more than the sliver, so trimming the last payment alone turned it into -3.6e-14."""
    req = np.append(np.full(96, 1 / 3), 1.0)
    available = float(np.cumsum(req[:-1])[-1])
    available += 2 * np.spacing(available)
    b = Budget(available)
    paid = b.grant(req)
    assert (paid >= 0.0).all()
    assert paid.sum() <= available * (1 + 1e-15)
    assert b.remaining == 0.0


def test_paced_money_releases_an_even_share_each_month():
    b = Budget(1200.0)
    b.pace(12)
    assert b.grant(np.array([500.0]))[0] == pytest.approx(100.0)
    b.new_month()
    b.pace(11)
    assert b.available == pytest.approx(100.0)
