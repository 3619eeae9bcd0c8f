"""Running an experiment's runs on one process, local processes or a Dask cluster, resumably.

Results directory (queryable by anyone with DuckDB, pandas or Arrow)::

    DIR/manifest.json        experiment, design hash, seeds, versions, status counts
    DIR/runs/<run_id>.parquet one file per run: monthly KPIs + run_id, point, replicate, variant,
                              seed, status and parameter columns; the run's outcome summary, error
                              and timing sit in the file's metadata (key ``aieco.run``)
    DIR/summary.parquet      one row per run, rebuilt from runs/: run_id, variant, parameters,
                              seed, status, error, outcome summaries

Each run file is written to a temporary name and renamed into place (``os.replace``), so a file
under ``runs/`` is always complete; ``--resume`` skips every run whose file says ``status = ok``
and reruns failed or missing ones. Workers return tables to the client, which alone writes files:
workers need no shared disk, and a killed worker loses only its in-flight run (Dask resubmits it).
"""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ecosystem.outputs import write_parquet, write_text
from ecosystem.run import run_scenario
from ecosystem.scenario import ScenarioError, apply_overrides, scenario_from_dict
from experiments.spec import Experiment, RunTask

META_KEY = b"aieco.run"
ID_COLUMNS = ["run_id", "point", "variant", "replicate", "seed", "status", "error", "elapsed_s"]


# --------------------------------------------------------------------------------------------
# One run (executed on a worker)
# --------------------------------------------------------------------------------------------
def execute_run(task: RunTask, base_document: dict, kpi_columns: list[str]) -> tuple[dict, pd.DataFrame]:
    """Run the model for one task; return (outcomes, monthly KPI table). Raises on model errors."""
    scenario = scenario_from_dict(apply_overrides(base_document, task.overrides))
    result = run_scenario(scenario, seed=task.seed, months=task.months)
    outcomes = result.summary()  # every outcome of the registry (ecosystem.outcomes)
    cols = ["month", "region", *[c for c in kpi_columns if c in result.kpis.columns]]
    return outcomes, result.kpis[cols].reset_index(drop=True)


def run_one(task: RunTask, base_document: dict, kpi_columns: list[str]) -> dict:
    """Run one task and never raise: a failure comes back as a record with its error and seed."""
    t0, c0 = time.perf_counter(), time.process_time()
    record = {"task": task, "host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
    try:
        outcomes, kpis = execute_run(task, base_document, kpi_columns)
        record.update(status="ok", error="", outcomes=outcomes, kpis=kpis)
    except Exception as exc:  # noqa: BLE001 - the run is recorded as failed, the sweep goes on
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}{where}".replace("\n", " "),
                      outcomes={}, kpis=None)
    record["elapsed_s"] = time.perf_counter() - t0
    record["cpu_s"] = time.process_time() - c0
    record["finished"] = time.time()
    return record


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------
def _jsonable(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def write_run(runs_dir: Path, record: dict, param_names: list[str]) -> Path:
    """Write one run atomically as runs/<run_id>.parquet (temporary file, then os.replace)."""
    task: RunTask = record["task"]
    kpis = record.get("kpis")
    df = kpis.copy() if kpis is not None and len(kpis) else pd.DataFrame(index=[0])
    ident = {"run_id": task.run_id, "point": task.point, "variant": task.variant,
             "replicate": task.replicate, "seed": task.seed, "status": record["status"]}
    for i, (k, v) in enumerate(ident.items()):
        df.insert(i, k, v)
    for name in param_names:
        df[name] = task.params.get(name)
    if record["status"] != "ok":
        df["error"] = record["error"]
    df["seed"] = df["seed"].astype("int64")
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = {
        "run_id": task.run_id, "point": task.point, "variant": task.variant, "replicate": task.replicate,
        "seed": task.seed, "status": record["status"], "error": record["error"],
        "elapsed_s": record.get("elapsed_s"), "params": task.params,
        "outcomes": {k: _jsonable(v) for k, v in record.get("outcomes", {}).items()},
        "host": record.get("host"), "pid": record.get("pid"),
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), META_KEY: json.dumps(meta, default=_jsonable).encode()})
    return write_parquet(table, runs_dir / f"{task.run_id}.parquet")


def read_run_meta(path: Path) -> dict | None:
    """The metadata record of a run file, or None if it is not a readable run file."""
    try:
        md = pq.read_schema(path).metadata or {}
        return json.loads(md[META_KEY])
    except Exception:  # noqa: BLE001 - unreadable files are treated as missing runs
        return None


def existing_runs(out: Path) -> dict[str, dict]:
    runs = out / "runs"
    if not runs.is_dir():
        return {}
    found = {}
    for path in sorted(runs.glob("*.parquet")):
        meta = read_run_meta(path)
        if meta is not None and meta.get("run_id") == path.stem:
            found[path.stem] = meta
    return found


def build_summary(out: Path, param_names: list[str] | None = None, outcome_names: list[str] | None = None) -> pd.DataFrame:
    """Rebuild DIR/summary.parquet from the metadata of every run file (one row per run)."""
    out = Path(out)
    if param_names is None or outcome_names is None:
        manifest = read_manifest(out)
        param_names = param_names if param_names is not None else manifest.get("parameters", [])
        outcome_names = outcome_names if outcome_names is not None else manifest.get("outcomes", [])
    rows = []
    for meta in existing_runs(out).values():
        row = {k: meta.get(k) for k in ID_COLUMNS}
        for name in param_names:
            row[name] = meta.get("params", {}).get(name)
        outcomes = meta.get("outcomes", {})
        for name in outcome_names:
            v = outcomes.get(name)
            row[name] = float("nan") if v is None else v
        rows.append(row)
    columns = [*ID_COLUMNS, *param_names, *outcome_names]
    df = pd.DataFrame(rows, columns=columns)
    if len(df):
        df = df.sort_values(["point", "replicate"]).reset_index(drop=True)
        for name in outcome_names:
            df[name] = pd.to_numeric(df[name], errors="coerce").astype(float)
        df["seed"] = df["seed"].astype("int64")
        df["point"] = df["point"].astype("int64")
        df["replicate"] = df["replicate"].astype("int64")
    df["elapsed_s"] = pd.to_numeric(df["elapsed_s"], errors="coerce").astype(float)
    write_parquet(df, out / "summary.parquet")
    return df


def read_manifest(out: Path) -> dict:
    path = Path(out) / "manifest.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _manifest(exp: Experiment, status: str, counts: dict, engine: str, started: str) -> dict:
    from ecosystem.run import git_revision, package_versions

    return {
        "experiment": exp.name,
        "description": exp.spec.experiment.description,
        "source": exp.source,
        "spec": exp.spec.model_dump(mode="json"),
        "design_hash": exp.design_hash,
        "method": exp.method,
        "root_seed": exp.root_seed,
        "replicates": exp.replicates,
        "seeds": exp.seeds,
        "horizon_months": exp.horizon_months,
        "parameters": exp.param_names,
        "parameter_info": [
            {"name": p.name, "kind": p.kind, "path": p.path, "dtype": p.dtype,
             "values": list(p.values) if p.values is not None else None,
             "range": list(p.range) if p.range is not None else None}
            for p in exp.parameters
        ],
        "points": [{"point": i, "variant": n, **pt} for i, (n, pt) in enumerate(zip(exp.point_names, exp.points, strict=True))],
        "baseline": exp.spec.policy.baseline if exp.spec.policy else None,
        "outcomes": exp.summary_outcomes,
        "kpis": exp.kpi_outcomes,
        "runs_total": len(exp.tasks),
        "status": status,
        "counts": counts,
        "engine": engine,
        "started": started,
        "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": package_versions(),
        "git_revision": git_revision(),
        "python": platform.python_version(),
    }


# --------------------------------------------------------------------------------------------
# Executors
# --------------------------------------------------------------------------------------------
@dataclass
class SweepReport:
    out: Path
    total: int
    skipped: int
    ran: int
    ok: int
    failed: int
    wall_s: float
    engine: str
    run_seconds: float = 0.0
    startup_s: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    summary: pd.DataFrame | None = None


def prepare_out_dir(exp: Experiment, out: Path, resume: bool) -> dict[str, dict]:
    """Check the results directory before any run; return the runs already done (for --resume)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ScenarioError("--out", str(out), "exists and is not a directory")
    manifest = read_manifest(out)
    nonempty = out.is_dir() and any(out.iterdir())
    if nonempty and not manifest:
        raise ScenarioError("--out", str(out), "is a non-empty directory without a sweep manifest; choose another")
    if manifest and not resume:
        raise ScenarioError("--out", str(out), "already holds a sweep; pass --resume to complete it or choose another --out")
    if manifest and manifest.get("design_hash") != exp.design_hash:
        raise ScenarioError(
            "--resume", str(out),
            f"holds experiment {manifest.get('experiment')!r} with design {manifest.get('design_hash')}, not "
            f"{exp.design_hash}: the experiment file or its scenario changed; use another --out")
    return existing_runs(out) if manifest else {}


def run_experiment(
    exp: Experiment,
    out: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    on_record: Callable[[dict], None] | None = None,
) -> SweepReport:
    """Run every task of ``exp`` not yet completed in ``out``; write files as runs finish.

    ``scheduler`` (``tcp://host:port``) uses an existing Dask cluster; otherwise ``workers`` local
    processes (a Dask LocalCluster; ``workers=1`` runs in this process).
    """
    out = Path(out)
    done = prepare_out_dir(exp, out, resume)
    completed = {rid for rid, m in done.items() if m.get("status") == "ok"}
    todo = [t for t in exp.tasks if t.run_id not in completed]
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if scheduler:
        engine = f"dask:{scheduler}"
    elif workers <= 1 or len(todo) <= 1:
        engine = "serial"
    else:
        engine = f"local:{workers}"
    (out / "runs").mkdir(parents=True, exist_ok=True)
    for stale in (out / "runs").glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    started = read_manifest(out).get("started") or datetime.now(UTC).isoformat(timespec="seconds")
    counts = {"ok": len(completed), "failed": 0, "pending": len(todo)}
    write_text(out / "manifest.json", json.dumps(_manifest(exp, "running", counts, engine, started), indent=2, default=_jsonable))

    report = SweepReport(out, len(exp.tasks), len(exp.tasks) - len(todo), 0, 0, 0, 0.0, engine)
    t0 = time.perf_counter()
    bar = _progress(len(todo), exp.name, progress)

    def handle(record: dict) -> None:
        write_run(out / "runs", record, exp.param_names)
        report.ran += 1
        report.run_seconds += float(record.get("elapsed_s") or 0.0)
        if record["status"] == "ok":
            report.ok += 1
        else:
            report.failed += 1
            report.failures.append((record["task"].run_id, record["error"]))
            bar.set_postfix(failed=report.failed)
        bar.update(1)
        if on_record is not None:
            on_record(record)

    try:
        if todo:
            if engine == "serial":
                for task in todo:
                    handle(run_one(task, exp.base_document, exp.kpi_outcomes))
            else:
                report.startup_s = _run_dask(exp, todo, handle, workers, scheduler)
    finally:
        bar.close()
        report.wall_s = time.perf_counter() - t0
        summary = build_summary(out, exp.param_names, exp.summary_outcomes)
        ok = int((summary["status"] == "ok").sum()) if len(summary) else 0
        failed = int((summary["status"] != "ok").sum()) if len(summary) else 0
        counts = {"ok": ok, "failed": failed, "pending": len(exp.tasks) - ok - failed}
        status = "complete" if counts["pending"] == 0 and failed == 0 else ("incomplete" if counts["pending"] else "complete_with_failures")
        write_text(out / "manifest.json", json.dumps(_manifest(exp, status, counts, engine, started), indent=2, default=_jsonable))
        report.summary = summary
    return report


def _progress(total: int, name: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=name, unit="run", disable=not enabled or total == 0,
                file=sys.stderr, dynamic_ncols=True, smoothing=0.1)


def _run_dask(exp: Experiment, todo: list[RunTask], handle: Callable[[dict], None], workers: int, scheduler: str | None) -> float:
    """Submit every task to Dask and handle results as they complete. Returns cluster start-up time."""
    import logging

    from distributed import Client, LocalCluster, as_completed

    t0 = time.perf_counter()
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ScenarioError("--scheduler", scheduler, f"no Dask scheduler answers there ({exc})") from None
    else:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=logging.ERROR,
            worker_dashboard_address=None,
            preload=["experiments.runner"],  # import the model while the cluster starts, not in the first run
        )
        client = Client(cluster)
    startup = time.perf_counter() - t0
    try:
        by_key = {}
        futures = []
        for i, task in enumerate(todo):
            fut = client.submit(
                run_one, task, exp.base_document, exp.kpi_outcomes,
                key=f"aieco-{exp.design_hash}-{task.run_id}", pure=False, priority=-i, retries=2,
            )
            by_key[fut.key] = task
            futures.append(fut)
        for fut in as_completed(futures):
            task = by_key[fut.key]
            try:
                record = fut.result()
            except Exception as exc:  # noqa: BLE001 - infrastructure failure (e.g. worker killed 3x)
                record = {"task": task, "status": "failed", "outcomes": {}, "kpis": None, "elapsed_s": None,
                          "error": f"{type(exc).__name__}: {exc}".replace("\n", " ")}
            handle(record)
            fut.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return startup


def iter_records(exp: Experiment) -> Iterable[dict]:  # pragma: no cover - convenience for notebooks
    for task in exp.tasks:
        yield run_one(task, exp.base_document, exp.kpi_outcomes)
