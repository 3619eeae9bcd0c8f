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
import warnings
from importlib import metadata
from pathlib import Path

import pandas as pd

from ecosystem.scenario import ScenarioWarning
from experiments.parameters import RunTask

#: Firm-level tables a sweep can keep per run (``[outcomes] tables = [...]``).
RUN_TABLES = (
    "firms",
    "firm_years",
    "data_centers",
    "talent_flows",
    "partnerships",
    "voucher_programmes",
    "rounds",
)
#: where ``RunResult`` keeps a table named differently on disk (as ``aieco run`` names it)
RESULT_ATTRIBUTE = {"data_centers": "dc_kpis"}


#: The packages whose source a run executes (their ``.py`` files make :func:`code_fingerprint`).
CODE_PACKAGES = ("ecosystem", "agents", "experiments")


@functools.cache
def code_fingerprint() -> str:
    """SHA-256 (16 hex digits) of the source every run executes: the ``.py`` files of
    :data:`CODE_PACKAGES`, by path relative to the package and content.

    What decides whether two processes compute the same numbers, which a git revision does not:
    a commit of documents changes the revision but not one number, and an edit not yet
    committed changes numbers under the same revision ("-dirty" says only that something
    changed). Scenario documents are not part of it: the client sends them with every task.
    """
    import hashlib
    import importlib

    digest = hashlib.sha256()
    for name in CODE_PACKAGES:
        root = Path(importlib.import_module(name).__file__).resolve().parent
        for path in sorted(root.rglob("*.py")):
            digest.update(f"{name}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:16]


@functools.cache
def worker_identity() -> dict:
    """aieco's version, code fingerprint and git revision on this process (cached: computed
    once per process)."""
    from ecosystem.run import git_revision

    try:
        version = metadata.version("aieco")
    except metadata.PackageNotFoundError:
        version = "not installed"
    return {
        "aieco": version,
        "code": code_fingerprint(),
        "git_revision": git_revision(),
        "host": socket.gethostname(),
    }


def execute_run(
    task: RunTask, base_document: dict, kpi_columns: list[str], tables: tuple[str, ...] = ()
) -> tuple[dict, pd.DataFrame, dict[str, pd.DataFrame]]:
    """Run the model for one task: (outcomes, monthly KPI table, requested run tables as Arrow
    tables in the written schema).

    Raises on model errors. ``kpi_columns = ["*"]`` keeps every KPI column.
    """
    from ecosystem.run import run_scenario
    from ecosystem.scenario import apply_overrides, scenario_from_dict

    scenario = scenario_from_dict(apply_overrides(base_document, task.overrides))
    result = run_scenario(scenario, seed=task.seed, months=task.months)
    if task.measure:
        outcomes = resolve(task.measure)(result, scenario, *task.measure_args)
    else:
        outcomes = result.summary()
    if list(kpi_columns) == ["*"]:
        cols = list(result.kpis.columns)
    else:
        cols = ["month", "region", *[c for c in kpi_columns if c in result.kpis.columns]]
        if "date" in result.kpis.columns:
            cols.insert(1, "date")
    extra = {name: kept_table(result, name, task.run_id, task.seed) for name in tables}
    return outcomes, result.kpis[cols].reset_index(drop=True), extra


def resolve(name: str):
    """The function named ``"package.module:function"`` (imported on the process that runs)."""
    import importlib

    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)


def kept_table(result, name: str, run_id: str, seed: int):
    """A run table a sweep keeps, exactly as ``aieco run`` writes ``<name>.parquet`` (an Arrow
    table in the schema of ``docs/outputs.md``), with the sweep's run id."""
    from ecosystem import output_tables as ot

    start = result.scenario.meta.start_year
    if name == "talent_flows":
        return ot.talent_flows_table(result.talent_flows, result.orgs, run_id, seed, start)
    frame = getattr(result, RESULT_ATTRIBUTE.get(name, name))
    return getattr(ot, f"{name}_table")(frame, run_id, seed, start)


def failed_record(task: RunTask, error: str) -> dict:
    """The record of a run that failed (or never ran) for ``error``, from this process."""
    return {
        "task": task,
        "pid": os.getpid(),
        **worker_identity(),
        "status": "failed",
        "error": error.replace("\n", " "),
        "outcomes": {},
        "kpis": None,
        "tables": {},
        "elapsed_s": None,
    }


def run_one(
    task: RunTask, base_document: dict, kpi_columns: list[str], tables: tuple[str, ...] = ()
) -> dict:
    """Run one task and never raise: a failure comes back as a record with its error and seed."""
    t0, c0 = time.perf_counter(), time.process_time()
    record = {"task": task, "pid": os.getpid(), "started": time.time(), **worker_identity()}
    try:
        # The command showed the scenario's warnings once when it loaded the scenario; a run
        # (often in a worker process) repeating them would print them once per run.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScenarioWarning)
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


def lost_worker_error(times: int, allowed: int) -> str:
    return (
        f"lost its worker {times} times (the worker process died while running it each time; "
        f"a run is tried at most {allowed + 1} times)"
    )


def run_on_dask(
    task: RunTask,
    base_document: dict,
    kpi_columns: list[str],
    tables: tuple[str, ...] = (),
    allowed_failures: int = 2,
) -> dict:
    """:func:`run_one` as a Dask task, failed without running once it has lost its worker more
    than ``allowed_failures`` times, on any scheduler.

    Each start is counted on the scheduler, in the task metadata under the task's own key
    (``Client.set_metadata``; the scheduler drops it when the task is forgotten). A run that
    started before and is started again never returned: the process running it died. Dask's
    ``retries=`` does not cover that (it retries exceptions, and a lost worker is not one) and
    the scheduler's own bound (``distributed.scheduler.allowed-failures``, default 3) is set
    by whoever started it and also counts tasks merely queued on a dying worker; this bound is
    the sweep's own, the same on a local cluster and a hand-started one.

    A start counts only until the run returns: a run that finished on a worker that then died
    before its result was gathered is computed again by Dask, and that is not a crash of its own
    (on a loaded machine a run finished just before its neighbour killed the worker was
    otherwise recorded as failed after losing its result three times).
    """
    from distributed import get_client, get_worker

    key = get_worker().get_current_task()
    client = get_client()
    started = int(client.get_metadata(key, 0) or 0)
    if started > allowed_failures:
        return failed_record(task, lost_worker_error(started, allowed_failures))
    client.set_metadata(key, started + 1)
    record = run_one(task, base_document, kpi_columns, tables)
    client.set_metadata(key, started)  # it returned: this start did not kill its worker
    return record
