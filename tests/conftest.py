"""Shared fixtures: one full 10-year Hangzhou run, reused by the tests that only read results.

Also how the suite is spread over processes. The README's test command runs it with pytest-xdist
(``-n 2 --dist loadfile``): each test module is sent whole to one worker, so a module-scoped
fixture (a store, a sweep, the browser tests' Solara server) is built once. (``--dist loadgroup``
with ``xdist_group`` marks does nothing with pytest 9.2 and xdist 3.8 here: every test went its
own way.) The modules are queued longest first (measured: the browser tests take ~5 minutes
and the simulation-based calibration test ~2 on an idle machine), so the other worker is never
left waiting for one of them at the end.
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread per process, set before numpy is first imported here (this file loads
# before any test module, in the controller and in each xdist worker; processes the tests start
# inherit it). Two workers on two cores that each wake OpenBLAS's threads for small matrices
# oversubscribe the cores, and OpenBLAS's spinning threads then cost far more than they save:
# measured 6 December 2026 with the machine busy, SALib's delta test took 48.8 s with OpenBLAS's
# default threads and 2.4 s with one. The model itself calls no BLAS (compute_market says why);
# a user's own setting is kept.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import pytest  # noqa: E402

from ecosystem import load_scenario  # noqa: E402
from ecosystem.run import run_scenario  # noqa: E402

#: Modules queued first under xdist, longest first, so that no long module starts last and leaves
#: the other worker idle. Wall seconds measured module by module on 2 December 2026 (each alone
#: on 2 cores, lightly loaded; 3f4da97 + the ci2 speed-ups): tests/test_sbc.py 180 (its store
#: uses two processes), tests/e2e 160-190, tests/test_dask.py 73-82 (30 s of it waiting for the
#: no-worker timeout), tests/test_sweep.py 31-33; the 41 other modules took 304 CPU-s in all,
#: those listed 10-25 CPU-s each (test_cluster the most), the rest under 10 s each, in
#: collection order. Since 6 December 2026 the browser tests come first: test_sbc.py keeps its
#: store in the repository and takes ~110 s alone (~430 s in CI before), while the browser tests
#: took ~300 s of the last clean-clone run.
FIRST = (
    "test_viz_browser.py",
    "test_sbc.py",
    "test_dask.py",
    "test_sweep.py",
    "test_cluster.py",
    "test_sensitivity_global.py",
    "test_labour.py",
    "test_inference.py",
    "test_cli.py",
    "test_demand.py",
    "test_calibration_store.py",
    "test_compare.py",
    "test_packaging.py",
    "test_compute_market.py",
    "test_cities.py",
)


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
