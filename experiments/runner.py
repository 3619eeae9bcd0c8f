"""Layer 5 of ``experiments``: executing an experiment's runs on one process, local processes or a
Dask cluster, resumably, trusting nothing already on disk.

Results directory (queryable by anyone with DuckDB, pandas or Arrow)::

    DIR/manifest.json          experiment, resolved scenario, command line, design hash, seeds,
                               every installed package version, status counts
    DIR/runs/<run_id>.parquet  one file per run: monthly KPIs + run_id, design_hash, point,
                               replicate, variant, seed, status and parameter columns; the run's
                               outcome summary, error, timing and the worker's aieco version and
                               git revision sit in the file's metadata (key ``aieco.run``)
    DIR/tables/<table>/<run_id>.parquet  firm-level tables, when ``[outcomes] tables`` asks
    DIR/summary.parquet        one row per run, rebuilt from runs/
    DIR/damaged/<time>/...     files found damaged or foreign on --resume, moved aside (never
                               deleted) and their runs done again

Run ids start with the design hash, so they are unique across sweeps. Each run file is written
to a temporary name and renamed into place (``os.replace``), after its tables; ``--resume``
counts a run as done only if its file reads back whole and names this sweep's design hash, the
run id and the seed the design gives it. Workers return tables to the client, which alone writes
files: workers need no shared disk, and a killed worker loses only its in-flight run, which Dask
gives to another worker; a run whose worker dies ``ALLOWED_FAILURES + 1`` times is recorded as
failed with the reason (``tasks.run_on_dask``), on a local cluster and a hand-started one alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ecosystem.outputs import (
    can_create_in,
    check_out_dir,
    mark,
    read_marker,
    write_parquet,
    write_text,
)
from ecosystem.scenario import ScenarioError
from experiments.spec import Experiment, RunTask, command_line
from experiments.tasks import (  # noqa: F401 - execute_run/run_one re-exported
    execute_run,
    failed_record,
    run_on_dask,
    run_one,
    worker_identity,
)

META_KEY = b"aieco.run"
ID_COLUMNS = ["run_id", "seed", "point", "variant", "replicate", "status", "error", "elapsed_s"]
#: Times a run may lose its Dask worker (the process dies while running it) and be tried again;
#: one more loss and it is recorded as failed with the reason (see ``tasks.run_on_dask``).
ALLOWED_FAILURES = 2
#: Seconds a sweep waits without any usable Dask worker before it gives up.
NO_WORKER_TIMEOUT_S = 30.0
#: seconds to fetch a finished run's result; longer means its worker died holding it
GATHER_TIMEOUT_S = 10.0
#: seconds between two looks for finished runs when none was there
POLL_S = 0.05
EXIT_CLUSTER = 3
#: ``kind`` of a sweep's ``.aieco-output.json`` marker (``ecosystem.outputs.mark``)
SWEEP_KIND = "sweep"
#: top-level entries a sweep writes in its results directory
SWEEP_ENTRIES = ("manifest.json", "summary.parquet", "runs", "tables", "damaged")


class SweepError(Exception):
    """The sweep cannot go on (no usable worker, a worker with other code): one line, exit 3."""


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------
def _jsonable(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None
    if isinstance(x, pd.Timestamp):
        return x.isoformat()
    return x


#: Arrow type of a parameter column, by ``Parameter.dtype``.
PARAM_TYPES = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64(), "str": pa.string()}


def _param_types(params) -> dict[str, str]:
    """{name: dtype} from an Experiment's parameters, a manifest's ``parameter_info`` or names
    (whose type is then inferred)."""
    if isinstance(params, dict):
        return params
    out = {}
    for p in params or []:
        if isinstance(p, str):
            out[p] = ""
        elif isinstance(p, dict):
            out[p["name"]] = p.get("dtype") or ""
        else:
            out[p.name] = p.dtype
    return out


def _typed(values: list, dtype: str) -> pa.Array:
    """A parameter column: NULL where a point leaves the parameter unset."""
    if dtype in PARAM_TYPES:
        return pa.array(values, type=PARAM_TYPES[dtype])
    return pa.array(values)


def month_outcomes() -> set[str]:
    """Outcomes measured in model months: the summary gives each a ``<name>_date`` beside it."""
    from ecosystem import outcomes

    return {name for name, o in outcomes.OUTCOMES.items() if o.unit == "month"}


def _start_year(kpis: pd.DataFrame | None) -> int | None:
    """The scenario's first calendar year, read off a run's monthly KPIs (month 0 = January)."""
    if kpis is None or not len(kpis) or "date" not in kpis or "month" not in kpis:
        return None
    first = kpis.iloc[0]
    return int(pd.Timestamp(first["date"]).year - int(first["month"]) // 12)


def _kpi_columns(kpis: pd.DataFrame) -> dict[str, pa.Array]:
    """The monthly part of a run file, as ``aieco run``'s kpis.parquet types it (date32 dates,
    region as a dictionary, NaN as NULL)."""
    from ecosystem.output_tables import arrow_table

    cols = {}
    for name in kpis.columns:
        if name == "date":
            days = pd.to_datetime(kpis["date"]).to_numpy().astype("datetime64[D]")
            cols[name] = pa.array(days, type=pa.date32())
        else:
            cols[name] = kpis[name]
    table = arrow_table(cols, "", 0, categories=["region"])
    return {name: table.column(name) for name in table.column_names[2:]}


def run_table(record: dict, params, design_hash: str = "") -> pa.Table:
    """runs/<run_id>.parquet of one run (``docs/outputs.md``): the run's identity, status and
    parameters on every row, then its monthly KPIs (one row per month and region). A failed
    run has one row and no monthly columns."""
    from ecosystem.output_tables import arrow_table

    task: RunTask = record["task"]
    kpis = record.get("kpis")
    monthly = _kpi_columns(kpis) if kpis is not None and len(kpis) else {}
    n = len(next(iter(monthly.values()))) if monthly else 1
    error = record["error"] if record["status"] != "ok" else None
    cols: dict = {
        "design_hash": pa.array([design_hash] * n, type=pa.string()),
        "point": pa.array([task.point] * n, type=pa.int64()),
        "variant": pa.array([task.variant] * n, type=pa.string()),
        "replicate": pa.array([task.replicate] * n, type=pa.int64()),
        "status": pa.array([record["status"]] * n, type=pa.string()),
        "error": pa.array([error] * n, type=pa.string()),
    }
    for name, dtype in _param_types(params).items():
        cols[name] = _typed([task.params.get(name)] * n, dtype)
    cols.update(monthly)
    return arrow_table(cols, task.run_id, task.seed, categories=["status"])


def write_run(out: Path, record: dict, params, design_hash: str = "") -> Path:
    """Write one run: its tables first, then runs/<run_id>.parquet (each atomically).

    ``params``: the experiment's parameters (or {name: dtype})."""
    out = Path(out)
    runs_dir = out / "runs"
    task: RunTask = record["task"]
    for name, table in (record.get("tables") or {}).items():
        folder = out / "tables" / name
        folder.mkdir(parents=True, exist_ok=True)
        write_parquet(table, folder / f"{task.run_id}.parquet")
    table = run_table(record, params, design_hash)
    meta = {
        "run_id": task.run_id,
        "design_hash": design_hash,
        "point": task.point,
        "variant": task.variant,
        "replicate": task.replicate,
        "seed": task.seed,
        "status": record["status"],
        "error": record["error"],
        "elapsed_s": record.get("elapsed_s"),
        "cpu_s": record.get("cpu_s"),
        "params": task.params,
        "outcomes": {k: _jsonable(v) for k, v in record.get("outcomes", {}).items()},
        "start_year": _start_year(record.get("kpis")),
        "host": record.get("host"),
        "pid": record.get("pid"),
        "aieco": record.get("aieco"),
        "code": record.get("code"),
        "git_revision": record.get("git_revision"),
        "tables": sorted(record.get("tables") or {}),
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    blob = json.dumps(meta, default=_jsonable).encode()
    table = table.replace_schema_metadata({META_KEY: blob})
    final = runs_dir / f"{task.run_id}.parquet"
    write_parquet(table, final)
    return final


def read_run_meta(path: Path) -> dict | None:
    """The metadata record of a run file, or None if it is not a whole, readable run file."""
    try:
        if not Path(path).is_file():
            return None
        pf = pq.ParquetFile(path)  # reads the footer: a truncated file fails here
        meta = json.loads((pf.schema_arrow.metadata or {})[META_KEY])
    except Exception:  # noqa: BLE001 - any unreadable file is a damaged run
        return None
    return meta if isinstance(meta, dict) else None


def existing_runs(out: Path, design_hash: str | None = None) -> dict[str, dict]:
    """Whole run files of ``out`` (of one design, when given), by run id."""
    runs = Path(out) / "runs"
    if not runs.is_dir():
        return {}
    found = {}
    for path in sorted(runs.glob("*.parquet")):
        meta = read_run_meta(path)
        if meta is None or meta.get("run_id") != path.stem:
            continue
        if design_hash is not None and meta.get("design_hash") != design_hash:
            continue
        found[path.stem] = meta
    return found


def summary_frame(
    out: Path, params, outcome_names: list[str], design_hash: str | None = None
) -> pd.DataFrame:
    """One row per run, from the metadata of every run file (``docs/outputs.md``).

    ``params``: parameter names, {name: dtype}, or a manifest's ``parameter_info``."""
    types = _param_types(params)
    dated = month_outcomes()
    rows = []
    for meta in existing_runs(out, design_hash).values():
        row = {k: meta.get(k) for k in ID_COLUMNS}
        if row["status"] == "ok":
            row["error"] = None
        p = meta.get("params") if isinstance(meta.get("params"), dict) else {}
        o = meta.get("outcomes") if isinstance(meta.get("outcomes"), dict) else {}
        for name in types:
            row[name] = p.get(name)
        for name in outcome_names:
            v = o.get(name)
            row[name] = np.nan if v is None else v
            if name in dated:
                row[f"{name}_date"] = _month_date(row[name], meta.get("start_year"))
        rows.append(row)
    names = [*ID_COLUMNS, *types]
    for name in outcome_names:
        names += [name, f"{name}_date"] if name in dated else [name]
    df = pd.DataFrame(rows, columns=names)
    if len(df):
        df = df.sort_values(["point", "replicate"]).reset_index(drop=True)
    for name in ("seed", "point", "replicate"):
        df[name] = df[name].astype("int64")
    for name in outcome_names:
        df[name] = pd.to_numeric(df[name], errors="coerce").astype(float)
    df["elapsed_s"] = pd.to_numeric(df["elapsed_s"], errors="coerce").astype(float)
    df["status"] = df["status"].astype("category")
    return df


def _month_date(month, start_year) -> pd.Timestamp | None:
    """First day of a model month (month 0 = January of ``start_year``); None if either is."""
    try:
        m = float(month)
    except (TypeError, ValueError):
        return None
    if start_year is None or not np.isfinite(m):
        return None
    year, mon = divmod(int(m), 12)
    return pd.Timestamp(int(start_year) + year, mon + 1, 1)


def summary_table(df: pd.DataFrame, params) -> pa.Table:
    """summary.parquet with the types of ``docs/outputs.md`` (NULL for every missing value)."""
    from ecosystem.output_tables import arrow_table

    types = _param_types(params)
    cols: dict = {}
    for name in df.columns[2:]:
        values = df[name]
        if name in types:
            cols[name] = _typed([None if pd.isna(v) else v for v in values], types[name])
        elif name.endswith("_date"):
            days = pd.to_datetime(values).to_numpy().astype("datetime64[D]")
            cols[name] = pa.array(days, type=pa.date32(), mask=values.isna().to_numpy())
        elif name in ("point", "replicate"):
            cols[name] = pa.array(values, type=pa.int64())
        elif name in ("variant", "status", "error"):
            cols[name] = pa.array(
                [None if pd.isna(v) else str(v) for v in values], type=pa.string()
            )
        else:
            cols[name] = pa.array(values.to_numpy(dtype=float), type=pa.float64(), from_pandas=True)
    table = arrow_table(cols, "", 0, categories=["status"])
    ids = {
        "run_id": pa.array(df["run_id"].astype(str), type=pa.string()),
        "seed": pa.array(df["seed"], type=pa.int64()),
    }
    return pa.table({**ids, **{n: table.column(n) for n in table.column_names[2:]}})


def build_summary(
    out: Path,
    params=None,
    outcome_names: list[str] | None = None,
    design_hash: str | None = None,
) -> pd.DataFrame:
    """Rebuild DIR/summary.parquet from the metadata of every run file (one row per run)."""
    out = Path(out)
    if params is None or outcome_names is None or design_hash is None:
        manifest, _ = inspect_manifest(out)
        manifest = manifest or {}
        if params is None:
            params = manifest.get("parameter_info") or manifest.get("parameters", [])
        outcome_names = outcome_names if outcome_names is not None else manifest.get("outcomes", [])
        design_hash = design_hash if design_hash is not None else manifest.get("design_hash")
    table = summary_table(summary_frame(out, params, outcome_names, design_hash), params)
    write_parquet(table, out / "summary.parquet")
    return table.to_pandas()  # as pandas.read_parquet gives it back


def inspect_manifest(out: Path) -> tuple[dict | None, str | None]:
    """(manifest, None), (None, None) when there is none, or (None, why it is damaged)."""
    path = Path(out) / "manifest.json"
    if not path.exists() and not path.is_symlink():
        return None, None
    if not path.is_file():
        return None, "manifest.json is not a file"
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except PermissionError:
        raise ScenarioError(
            "DIR", str(out), "manifest.json cannot be read (permission denied)"
        ) from None
    except UnicodeDecodeError:
        return None, "manifest.json is not UTF-8 text"
    except (OSError, ValueError) as exc:
        return None, f"manifest.json is not valid JSON ({type(exc).__name__})"
    if not isinstance(data, dict):
        return None, f"manifest.json holds a JSON {type(data).__name__}, not an object"
    return data, None


def read_manifest(out: Path) -> dict:
    """The manifest of a results directory ({} if none); ScenarioError if it is damaged."""
    manifest, problem = inspect_manifest(out)
    if problem:
        raise ScenarioError(
            "DIR", str(out), f"{problem}; rerun the sweep with --resume to repair it"
        )
    return manifest or {}


def installed_versions() -> dict[str, str]:
    """Every installed distribution and its version (sorted by name)."""
    from importlib import metadata

    out = {}
    for dist in metadata.distributions():
        # one parse of each METADATA file (``dist.version`` is ``dist.metadata["Version"]``,
        # parsed again: that second parse was half the cost of every manifest write)
        meta = dist.metadata
        name = meta.get("Name")
        if name:
            out[name] = meta["Version"]
    return dict(sorted(out.items(), key=lambda kv: kv[0].lower()))


def _manifest(
    exp: Experiment, status: str, counts: dict, engine: str, started: str, extra: dict
) -> dict:
    from ecosystem.run import git_revision

    return {
        "experiment": exp.name,
        "description": exp.spec.experiment.description,
        "source": exp.source,
        "command": extra.get("command") or command_line(),
        "cwd": extra.get("cwd") or os.getcwd(),
        "spec": exp.spec.model_dump(mode="json"),
        "scenario": exp.base_document,
        "design_hash": exp.design_hash,
        "method": exp.method,
        "samples": exp.samples,
        "notes": exp.notes,
        "root_seed": exp.root_seed,
        "replicates": exp.replicates,
        "seeds": exp.seeds,
        "horizon_months": exp.horizon_months,
        # a sweep over parameter draws (``aieco policy --param-draws``): where they came from,
        # every drawn value and, with --screen, the screen's verdict
        "param_draws": design.describe() if (design := getattr(exp, "design", None)) else None,
        "parameters": exp.param_names,
        "parameter_info": [
            {
                "name": p.name,
                "kind": p.kind,
                "path": p.path,
                "dtype": p.dtype,
                "values": list(p.values) if p.values is not None else None,
                "range": list(p.range) if p.range is not None else None,
            }
            for p in exp.parameters
        ],
        "points": [
            {"point": i, "variant": n, **pt}
            for i, (n, pt) in enumerate(zip(exp.point_names, exp.points, strict=True))
        ],
        "baseline": exp.spec.policy.baseline if exp.spec.policy else None,
        "outcomes": exp.summary_outcomes,
        "outcome_kinds": exp.outcome_kinds,
        "kpis": exp.kpi_outcomes,
        "tables": list(exp.tables),
        "runs_total": len(exp.tasks),
        "status": status,
        "counts": counts,
        "engine": engine,
        "workers": extra.get("workers", {}),
        "repaired": extra.get("repaired", []),
        "started": started,
        "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        "aieco": worker_identity()["aieco"],
        "code": worker_identity()["code"],
        "git_revision": git_revision(),
        "python": platform.python_version(),
        "versions": installed_versions(),
    }


# --------------------------------------------------------------------------------------------
# Checking a results directory before any run
# --------------------------------------------------------------------------------------------
@dataclass
class OutPlan:
    """What a results directory holds: runs done, and damaged or foreign entries to move aside."""

    done: dict[str, dict] = field(default_factory=dict)
    damaged: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)
    started: str | None = None


def _check_runs_access(out: Path) -> None:
    """An unreadable or read-only runs/ folder: one line, before any run."""
    runs = out / "runs"
    if not runs.is_dir():
        return
    try:
        next(iter(runs.iterdir()), None)
    except OSError as exc:
        raise ScenarioError("--out", str(out), f"runs/ cannot be read ({exc.strerror})") from None
    if not can_create_in(runs):
        raise ScenarioError("--out", str(out), "runs/ cannot be written: permission denied")


def _scan_runs(exp: Experiment, out: Path) -> tuple[dict[str, dict], list[tuple[str, str]]]:
    """Verify every entry of runs/ against the sweep; return (runs done or failed, damaged)."""
    runs = out / "runs"
    if not runs.exists() and not runs.is_symlink():
        return {}, []
    if not runs.is_dir():
        return {}, [("runs", "runs is not a directory")]
    expected = {t.run_id: t for t in exp.tasks}
    done, damaged = {}, []
    for path in sorted(runs.iterdir()):
        if path.name.startswith(".") or not path.name.endswith(".parquet"):
            continue
        rel = f"runs/{path.name}"
        if not path.is_file():
            damaged.append((rel, "is not a file"))
            continue
        meta = read_run_meta(path)
        if meta is None:
            damaged.append((rel, "cannot be read as a run file (truncated or damaged)"))
            continue
        task = expected.get(path.stem)
        if meta.get("design_hash") != exp.design_hash:
            damaged.append((rel, f"belongs to another sweep (design {meta.get('design_hash')})"))
        elif task is None or meta.get("run_id") != path.stem:
            damaged.append((rel, f"names run {meta.get('run_id')!r}, which this design lacks"))
        elif meta.get("seed") != task.seed or meta.get("point") != task.point:
            damaged.append((rel, f"has seed {meta.get('seed')}, the design gives {task.seed}"))
        else:
            done[path.stem] = meta
    return done, damaged


def prepare_out_dir(exp: Experiment, out: Path, resume: bool) -> OutPlan:
    """Check the results directory before any run (nothing is changed here).

    The checks every aieco output gets (``ecosystem.outputs.check_out_dir``: not a file, the
    current, home or root folder, writable, not someone else's non-empty folder) and then the
    sweep's own: an existing sweep needs ``--resume`` and the same design."""
    out = Path(out)
    check_out_dir(out, option="--out", foreign="choose another --out")
    if not out.exists() or not any(out.iterdir()):
        return OutPlan()
    _check_runs_access(out)
    manifest, problem = inspect_manifest(out)
    kind = (read_marker(out) or {}).get("kind")
    if kind not in (SWEEP_KIND, "legacy") or (
        manifest is not None and "design_hash" not in manifest
    ):
        what = f"an aieco {kind} output" if kind not in (None, "legacy") else "another output"
        raise ScenarioError("--out", str(out), f"holds {what}, not a sweep; choose another --out")
    if not resume:
        raise ScenarioError(
            "--out",
            str(out),
            "already holds a sweep; pass --resume to complete it or choose another --out",
        )
    plan = OutPlan()
    if problem:
        plan.damaged.append(("manifest.json", problem))
    elif manifest is None:
        pass  # marked as a sweep, stopped before its first manifest: runs/ is checked below
    elif manifest.get("design_hash") != exp.design_hash:
        raise ScenarioError(
            "--resume",
            str(out),
            f"holds experiment {manifest.get('experiment')!r} with design "
            f"{manifest.get('design_hash')}, not {exp.design_hash}: the experiment file or its "
            "scenario changed; use another --out",
        )
    else:
        plan.started = manifest.get("started")
    plan.done, damaged = _scan_runs(exp, out)
    plan.damaged += damaged
    return plan


def _move_aside(out: Path, damaged: list[tuple[str, str]]) -> list[dict]:
    """Move damaged entries to DIR/damaged/<time>/ (never delete them); return what was moved."""
    if not damaged:
        return []
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    moved = []
    for rel, reason in damaged:
        src = out / rel
        dest = out / "damaged" / stamp / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        n = 1
        while dest.exists():
            dest = dest.with_name(f"{dest.name}.{n}")
            n += 1
        os.replace(src, dest)
        moved.append({"path": rel, "reason": reason, "moved_to": str(dest.relative_to(out))})
    return moved


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
    repaired: list[dict] = field(default_factory=list)
    workers: dict = field(default_factory=dict)
    summary: pd.DataFrame | None = None


def _same_code(identity: dict, reference: dict) -> str | None:
    """Why a worker's code differs from the client's, or None. The code fingerprints decide
    (``tasks.code_fingerprint``: a commit of documents does not stop a sweep, an uncommitted
    edit does); the git revisions only where one side has no fingerprint (an older aieco)."""
    if identity.get("aieco") != reference.get("aieco"):
        return f"has aieco {identity.get('aieco')}, the client {reference.get('aieco')}"
    a, b = identity.get("git_revision"), reference.get("git_revision")
    code_a, code_b = identity.get("code"), reference.get("code")
    if code_a and code_b:
        if code_a != code_b:
            return f"runs other code (fingerprint {code_a} at git {a}, the client {code_b} at {b})"
        return None
    if a != b and "unknown" not in (a, b):
        return f"runs git revision {a}, the client {b}"
    return None


def run_experiment(
    exp: Experiment,
    out: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    on_record: Callable[[dict], None] | None = None,
    dashboard: str | None = None,
    no_worker_timeout: float | None = None,
    command: str | None = None,
) -> SweepReport:
    """Run every task of ``exp`` not yet completed in ``out``; write files as runs finish.

    ``scheduler`` (``tcp://host:port``) uses an existing Dask cluster; otherwise ``workers`` local
    processes (a Dask LocalCluster; ``workers=1`` runs in this process). ``dashboard``
    (``HOST:PORT``) serves the local cluster's dashboard (loopback unless a host is named).
    Raises :class:`SweepError` when no usable worker is left for ``no_worker_timeout`` seconds
    (default :data:`NO_WORKER_TIMEOUT_S`).
    """
    if no_worker_timeout is None:
        no_worker_timeout = NO_WORKER_TIMEOUT_S
    out = Path(out)
    plan = prepare_out_dir(exp, out, resume)
    out.mkdir(parents=True, exist_ok=True)
    mark(out, SWEEP_KIND, SWEEP_ENTRIES)
    repaired = _move_aside(out, plan.damaged)
    completed = {rid for rid, m in plan.done.items() if m.get("status") == "ok"}
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
    started = plan.started or datetime.now(UTC).isoformat(timespec="seconds")
    extra = {"command": command, "cwd": os.getcwd(), "repaired": repaired, "workers": {}}

    def write_manifest(status: str, counts: dict) -> None:
        text = json.dumps(
            _manifest(exp, status, counts, engine, started, extra), indent=2, default=_jsonable
        )
        write_text(out / "manifest.json", text)

    write_manifest("running", {"ok": len(completed), "failed": 0, "pending": len(todo)})
    report = SweepReport(out, len(exp.tasks), len(exp.tasks) - len(todo), 0, 0, 0, 0.0, engine)
    report.repaired = repaired
    client_identity = worker_identity()
    t0 = time.perf_counter()
    bar = _progress(len(todo), exp.name, progress)

    def handle(record: dict) -> None:
        if record["status"] == "ok":
            differs = _same_code(record, client_identity)
            if differs:
                host = f"{record.get('host')}:{record.get('pid')}"
                record.update(status="failed", error=f"worker {host} {differs}", tables={})
        key = f"{record.get('host')}:{record.get('pid')}"
        if record.get("aieco") is not None:
            extra["workers"][key] = {k: record.get(k) for k in ("aieco", "code", "git_revision")}
        write_run(out, record, exp.parameters, exp.design_hash)
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
                    handle(run_one(task, exp.base_document, exp.kpi_outcomes, exp.tables))
            else:
                report.startup_s = _run_dask(
                    exp, todo, handle, workers, scheduler, dashboard, no_worker_timeout, extra
                )
    finally:
        bar.close()
        report.wall_s = time.perf_counter() - t0
        report.workers = extra["workers"]
        summary = build_summary(out, exp.parameters, exp.summary_outcomes, exp.design_hash)
        ok = int((summary["status"] == "ok").sum()) if len(summary) else 0
        failed = int((summary["status"] != "ok").sum()) if len(summary) else 0
        counts = {"ok": ok, "failed": failed, "pending": len(exp.tasks) - ok - failed}
        if counts["pending"]:
            status = "incomplete"
        else:
            status = "complete_with_failures" if failed else "complete"
        write_manifest(status, counts)
        report.summary = summary
    return report


def execute_tasks(
    tasks: list, documents: list[dict], kpis: list[str], workers: int | None, bar
) -> dict[tuple[int, int], dict]:
    """Run ``tasks`` (``task.point`` indexes ``documents``) through ``experiments.runner.run_one``
    in this process (``workers`` 1) or on local spawned processes; records keyed by (point,
    replicate), so results do not depend on the number of workers. ``bar`` (a tqdm) is
    advanced per run and closed. A worker that dies leaves a failed record, never an exception."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    records: dict[tuple[int, int], dict] = {}
    try:
        if workers <= 1 or len(tasks) <= 1:
            for t in tasks:
                bar.set_postfix_str(t.variant, refresh=False)
                records[(t.point, t.replicate)] = run_one(t, documents[t.point], kpis)
                bar.update(1)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx) as pool:
                futures = {pool.submit(run_one, t, documents[t.point], kpis): t for t in tasks}
                try:
                    for fut in as_completed(futures):
                        t = futures[fut]
                        try:
                            records[(t.point, t.replicate)] = fut.result()
                        except Exception as exc:  # noqa: BLE001 - a worker died; record the run as failed
                            records[(t.point, t.replicate)] = {
                                "status": "failed",
                                "kpis": None,
                                "error": f"{type(exc).__name__}: {exc}",
                            }
                        bar.update(1)
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
    finally:
        bar.close()
    return records


def _progress(total: int, name: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=name,
        unit="run",
        disable=not enabled or total == 0,
        file=sys.stderr,
        dynamic_ncols=True,
        smoothing=0.1,
    )


def check_workers(
    client, reference: dict | None = None, timeout: float = NO_WORKER_TIMEOUT_S
) -> dict:
    """Ask every Dask worker to import aieco and name its version; SweepError naming bad ones.

    Returns {worker address: identity}.
    """
    import cloudpickle

    from experiments import probe

    cloudpickle.register_pickle_by_value(probe)  # workers without aieco can still answer
    reference = reference or worker_identity()
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (TimeoutError, OSError):
        raise SweepError(
            f"no Dask worker joined the scheduler within {timeout:.0f} s; start workers with "
            "`dask worker <scheduler address>` where aieco is installed"
        ) from None
    info = client.scheduler_info().get("workers", {})
    answers = client.run(probe.probe_worker)
    bad, good = [], {}
    for addr, answer in answers.items():
        name = info.get(addr, {}).get("name", addr)
        label = f"{addr}" if str(name) == addr else f"{name} ({addr})"
        if "error" in answer:
            bad.append(f"worker {label} cannot import aieco ({answer['error']})")
            continue
        differs = _same_code(answer, reference)
        if differs:
            bad.append(f"worker {label} {differs}")
        else:
            good[addr] = answer
    if bad:
        need = (
            f"aieco {reference['aieco']} (code {reference.get('code')}, "
            f"git {reference['git_revision']})"
        )
        raise SweepError("; ".join(bad) + f"; every worker needs {need}")
    return good


@contextlib.contextmanager
def _ctrl_c_between_waits():
    """Ctrl-C while the sweep waits on Dask sets a flag that the wait loop turns into
    KeyboardInterrupt between two waits (at most a second later), instead of interrupting
    Dask's client mid-call, which logs a tornado traceback from its event-loop thread; a
    second Ctrl-C interrupts at once. Yields ``interrupted() -> bool``."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    hits = []

    def on_sigint(signum, frame):
        hits.append(signum)
        if len(hits) > 1:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield lambda: bool(hits)
    finally:
        signal.signal(signal.SIGINT, previous)


def _quiet_dask():
    """Silence Dask's own logging (shutdown chatter, tracebacks from stopped workers).

    Above CRITICAL, not at it: a scheduler shut down while it still answers a client that has
    gone logs "Closed comm ... while trying to write" with a traceback *at* CRITICAL (seen
    after a Ctrl-C on a local sweep), which the user's one line must not be buried under."""
    import logging

    names = ("distributed", "tornado", "asyncio")
    levels = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.CRITICAL + 1)
    return levels


def _drop_orphaned_gathers(client) -> None:
    """Keep Dask's orphaned gather helpers out of the user's terminal.

    A gather that times out (``fut.result(timeout=...)`` on a result whose worker died) is
    cancelled, and ``distributed.utils.All`` then leaves its per-key helper tasks behind: its
    clean-up catches ``Exception``, and cancellation is not one. When the client closes, each
    such helper ends with Dask's internal ``AllExit``, which nobody retrieves, and asyncio logs
    "Task exception was never retrieved" with a traceback whenever the task is collected, often
    after the sweep's one-line error. The client's event loop drops exactly those reports and
    passes every other one on. The handler stays: the helpers may be collected at exit."""
    from distributed.client import AllExit

    loop = client.loop.asyncio_loop
    previous = loop.get_exception_handler()
    if getattr(previous, "drops_all_exit", False):
        return

    def handler(loop, context):
        if isinstance(context.get("exception"), AllExit):
            return
        if previous is None:
            loop.default_exception_handler(context)
        else:
            previous(loop, context)

    handler.drops_all_exit = True
    loop.set_exception_handler(handler)


def _run_dask(
    exp: Experiment,
    todo: list[RunTask],
    handle: Callable[[dict], None],
    workers: int,
    scheduler: str | None,
    dashboard: str | None,
    no_worker_timeout: float,
    extra: dict,
) -> float:
    """Submit every task to Dask and handle results as they complete. Returns start-up time."""
    import logging
    from concurrent.futures import CancelledError

    import dask
    from distributed import Client, LocalCluster, as_completed

    t0 = time.perf_counter()
    cluster = None
    levels = None
    # the scheduler's own bound stays above the sweep's (run_on_dask), which then decides
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES + 1}):
        if scheduler:
            try:
                client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise ScenarioError(
                    "--scheduler", scheduler, f"no Dask scheduler answers there ({exc})"
                ) from None
        else:
            http = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}
            if dashboard:
                http = {"dashboard": True, "dashboard_address": dashboard}
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                scheduler_kwargs=http,
                silence_logs=logging.ERROR,
                worker_dashboard_address=None,
                # import the model while the cluster starts; workers ignore Ctrl-C (the client
                # stops them), so an interrupted sweep prints one line, not their tracebacks
                preload=["experiments.dask_worker"],
            )
            client = Client(cluster)
    startup = time.perf_counter() - t0
    _drop_orphaned_gathers(client)
    # A result lost with its worker is the wait loop's business (it waits for Dask to compute it
    # again, or ends the sweep with one line): Dask's own warning about it ("Couldn't gather 1
    # keys, rescheduling") is not for the user and broke the one-line error when every worker
    # was killed mid-gather. So are the client's error log (a traceback) and its connections'
    # notes (``distributed.batched``, at INFO) when it loses the scheduler: the loop stops the
    # sweep with one line then.
    quiet = {"distributed": logging.ERROR, "distributed.client": logging.CRITICAL}
    loop_levels = {name: logging.getLogger(name).level for name in quiet}
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)
    scheduler_lost = False
    try:
        extra["workers_checked"] = check_workers(client, timeout=no_worker_timeout)
        by_key = {}
        # Runs come back through ``as_completed``, which follows each future once: waiting on
        # the whole pending set after every result (``distributed.wait``) costs the client
        # O(pending) a result, quadratic in the sweep (8.9 against 2.9 CPU-s for 800 runs of
        # 0.02 s on 2 workers, taken from the workers' cores). It holds the only reference to a
        # future until its result is handled and released.
        pending = as_completed(loop=client.loop)
        for i, task in enumerate(todo):
            fut = client.submit(
                run_on_dask,
                task,
                exp.base_document,
                exp.kpi_outcomes,
                exp.tables,
                allowed_failures=ALLOWED_FAILURES,
                key=f"aieco-{task.run_id}",
                pure=False,
                priority=-i,
            )
            by_key[fut.key] = task
            pending.add(fut)
        del fut
        alone_since = None
        last_check = 0.0
        handled_runs = 0
        with _ctrl_c_between_waits() as interrupted:
            while not pending.is_empty():
                if interrupted():
                    raise KeyboardInterrupt
                done = pending.next_batch(block=False)
                handled = False
                for fut in done:
                    task = by_key[fut.key]
                    try:
                        record = fut.result(timeout=GATHER_TIMEOUT_S)
                    except TimeoutError:
                        # finished on a worker that died before its result was gathered: Dask
                        # computes it again elsewhere, or no worker is left (checked below)
                        pending.add(fut)
                        continue
                    except Exception as exc:  # noqa: BLE001 - e.g. the scheduler's KilledWorker
                        # The client lost the scheduler if it cancels the futures, or if a
                        # gather's connection closed and the client then stops running (it
                        # notices a moment later): the runs did not fail; the sweep stops and
                        # --resume completes it. Runs never raise (run_one records failures), so
                        # anything else is the cluster's and the run is recorded as failed.
                        if isinstance(exc, OSError):  # CommClosedError is one
                            time.sleep(1.0)
                        if isinstance(exc, CancelledError) or client.status != "running":
                            scheduler_lost = True
                            raise SweepError(
                                "lost the connection to the Dask scheduler with "
                                f"{len(todo) - handled_runs} runs to do; rerun with --resume"
                            ) from None
                        record = failed_record(task, f"{type(exc).__name__}: {exc}")
                        record.update(pid=None, host=None, aieco=None, git_revision=None)
                    handle(record)
                    fut.release()
                    handled = True
                    handled_runs += 1
                if handled:
                    alone_since = None
                    continue
                # nothing new (or only results still being recomputed): do not spin; look for
                # workers at most once a second
                time.sleep(0.2 if done else POLL_S)
                if time.monotonic() - last_check < 1.0:
                    continue
                last_check = time.monotonic()
                if client.scheduler_info().get("workers"):
                    alone_since = None
                elif alone_since is None:
                    alone_since = time.monotonic()
                elif time.monotonic() - alone_since > no_worker_timeout:
                    raise SweepError(
                        f"no Dask worker left for {no_worker_timeout:g} s with {pending.count()} "
                        "runs to do; restart workers and rerun with --resume"
                    )
    except BaseException:
        levels = _quiet_dask()
        raise
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=5)
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close(timeout=5)
        # A client that lost its scheduler logs a traceback when its reconnection gives up
        # (20 s later, even once closed): Dask's logs stay quiet in this process then.
        if not scheduler_lost:
            for name, level in {**(levels or {}), **loop_levels}.items():  # the originals last
                logging.getLogger(name).setLevel(level)
    return startup
