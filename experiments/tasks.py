"""Layer 2 of ``experiments``: one run of the model for one task, on whichever process runs it.

:func:`run_one` never raises: a model error comes back as a record with ``status = "failed"``
and its reason, so a sweep goes on. Every record names the process that ran it (host, pid) and
the aieco version and git revision there, so a sweep on a cluster shows which code made each
number.
"""

from __future__ import annotations

import functools
import os
import socket
import time
import traceback
from importlib import metadata
from pathlib import Path

import pandas as pd

from experiments.parameters import RunTask

#: Firm-level tables a sweep can keep per run (``[outcomes] tables = [...]``).
RUN_TABLES = ("firms", "firm_years", "data_centers", "talent_flows", "partnerships")
#: where ``RunResult`` keeps a table named differently on disk (as ``aieco run`` names it)
RESULT_ATTRIBUTE = {"data_centers": "dc_kpis"}


@functools.cache
def worker_identity() -> dict:
    """aieco's version and git revision on this process (cached: git runs once per process)."""
    from ecosystem.run import git_revision

    try:
        version = metadata.version("aieco")
    except metadata.PackageNotFoundError:
        version = "not installed"
    return {"aieco": version, "git_revision": git_revision(), "host": socket.gethostname()}


def execute_run(
    task: RunTask, base_document: dict, kpi_columns: list[str], tables: tuple[str, ...] = ()
) -> tuple[dict, pd.DataFrame, dict[str, pd.DataFrame]]:
    """Run the model for one task: (outcomes, monthly KPI table, requested run tables).

    Raises on model errors. ``kpi_columns = ["*"]`` keeps every KPI column.
    """
    from ecosystem.run import run_scenario
    from ecosystem.scenario import apply_overrides, scenario_from_dict

    scenario = scenario_from_dict(apply_overrides(base_document, task.overrides))
    result = run_scenario(scenario, seed=task.seed, months=task.months)
    outcomes = result.summary()
    if list(kpi_columns) == ["*"]:
        cols = list(result.kpis.columns)
    else:
        cols = ["month", "region", *[c for c in kpi_columns if c in result.kpis.columns]]
        if "date" in result.kpis.columns:
            cols.insert(1, "date")
    extra = {
        name: getattr(result, RESULT_ATTRIBUTE.get(name, name)).reset_index(drop=True)
        for name in tables
    }
    return outcomes, result.kpis[cols].reset_index(drop=True), extra


def run_one(
    task: RunTask, base_document: dict, kpi_columns: list[str], tables: tuple[str, ...] = ()
) -> dict:
    """Run one task and never raise: a failure comes back as a record with its error and seed."""
    t0, c0 = time.perf_counter(), time.process_time()
    record = {"task": task, "pid": os.getpid(), "started": time.time(), **worker_identity()}
    try:
        outcomes, kpis, extra = execute_run(task, base_document, kpi_columns, tables)
        record.update(status="ok", error="", outcomes=outcomes, kpis=kpis, tables=extra)
    except Exception as exc:  # noqa: BLE001 - the run is recorded as failed, the sweep goes on
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
        error = f"{type(exc).__name__}: {exc}{where}".replace("\n", " ")
        record.update(status="failed", error=error, outcomes={}, kpis=None, tables={})
    record["elapsed_s"] = time.perf_counter() - t0
    record["cpu_s"] = time.process_time() - c0
    record["finished"] = time.time()
    return record
