"""Shared fixtures: one full 10-year Hangzhou run, reused by the tests that only read results.

Also how the suite is spread over processes. The README's test command runs it with pytest-xdist
(``-n 2 --dist loadfile``): each test module is sent whole to one worker, so a module-scoped
fixture (a store, a sweep, the browser tests' Solara server) is built once. (``--dist loadgroup``
with ``xdist_group`` marks does nothing with pytest 9.2 and xdist 3.8 here: every test went its
own way.) The modules are queued longest first (measured: the simulation-based calibration
test alone takes ~8 minutes), so the other worker is never left waiting for it at the end.
"""

from __future__ import annotations

import pytest

from ecosystem import load_scenario
from ecosystem.run import run_scenario

#: Modules queued first under xdist, longest first (seconds measured serially on 2 cores, one
#: full suite: tests/test_sbc.py 480, tests/e2e 300, tests/test_dask.py 230, tests/test_sweep.py
#: 100); the others follow in collection order.
FIRST = ("test_sbc.py", "test_viz_browser.py", "test_dask.py", "test_sweep.py")


def pytest_collection_modifyitems(config, items):
    # on an xdist worker (the order it collects is the order the controller queues the modules)
    if hasattr(config, "workerinput"):
        rank = {name: i for i, name in enumerate(FIRST)}
        items.sort(key=lambda item: rank.get(item.path.name, len(FIRST)))


def pytest_configure(config):
    if getattr(config.option, "dist", "no") == "loadfile":
        # keep the order above (xdist would otherwise queue the modules with most tests first)
        config.option.loadscopereorder = False


@pytest.fixture(scope="session")
def hangzhou():
    return load_scenario("hangzhou")


@pytest.fixture(scope="session")
def full_run(hangzhou):
    """The 10-year Hangzhou baseline, seed 1."""
    return run_scenario(hangzhou, seed=1)
