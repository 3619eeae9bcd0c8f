"""Shared fixtures: one full 10-year Hangzhou run, reused by the tests that only read results."""

from __future__ import annotations

import pytest

from ecosystem import load_scenario
from ecosystem.run import run_scenario


@pytest.fixture(scope="session")
def hangzhou():
    return load_scenario("hangzhou")


@pytest.fixture(scope="session")
def full_run(hangzhou):
    """The 10-year Hangzhou baseline, seed 1."""
    return run_scenario(hangzhou, seed=1)
