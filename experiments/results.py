"""Querying a results directory with DuckDB: ``summary`` and ``runs`` as tables.

    aieco query results/voucher_rate_sweep \\
        "SELECT voucher_rate, avg(startups_alive_y10) FROM summary WHERE status = 'ok' GROUP BY 1"

Tables: ``summary`` (one row per run), ``runs`` (monthly KPIs of every run, with run_id, variant,
replicate, seed, status and parameter columns), the firm tables a sweep kept (``firms``,
``firm_years``, ``data_centers``, ``talent_flows``, ``partnerships``; one row set per run, with
run_id and seed), and, when present, ``policy_effects`` and ``sensitivity`` (written by
``aieco policy`` / ``aieco sensitivity``).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd

from ecosystem.scenario import ScenarioError
from experiments.runner import build_summary, read_manifest, summary_frame

SA_TABLES = ("morris", "sobol", "fast", "delta", "pawn")


def check_results_dir(out: str | Path) -> Path:
    out = Path(out)
    if not out.is_dir():
        raise ScenarioError("DIR", str(out), "is not a directory")
    if not (out / "manifest.json").is_file():
        raise ScenarioError(
            "DIR", str(out), "holds no sweep (no manifest.json); run aieco sweep first"
        )
    return out


def refresh_summary(out: Path) -> Path | pd.DataFrame:
    """Rebuild summary.parquet if any run file is newer (e.g. after an interrupted sweep).

    In a folder aieco may not write (read-only), the fresh summary is returned as a table
    instead of written."""
    summary = out / "summary.parquet"
    runs = list((out / "runs").glob("*.parquet")) if (out / "runs").is_dir() else []
    newest = max((p.stat().st_mtime_ns for p in runs), default=0)
    if not summary.is_file() or summary.stat().st_mtime_ns < newest:
        manifest = read_manifest(out)
        params = manifest.get("parameter_info") or manifest.get("parameters", [])
        args = (params, manifest.get("outcomes", []))
        if not os.access(out, os.W_OK):
            return summary_frame(out, *args, manifest.get("design_hash"))
        build_summary(out, *args, manifest.get("design_hash"))
    return summary


def connect(out: str | Path) -> duckdb.DuckDBPyConnection:
    out = check_results_dir(out)
    fresh = refresh_summary(out)
    manifest = read_manifest(out)
    con = duckdb.connect()
    if isinstance(fresh, pd.DataFrame):
        con.register("summary_frame", fresh)
        con.execute("CREATE VIEW summary AS SELECT * FROM summary_frame")
    else:
        path = _lit(out / "summary.parquet")
        con.execute(f"CREATE VIEW summary AS SELECT * FROM read_parquet({path})")
    runs = sorted((out / "runs").glob("*.parquet")) if (out / "runs").is_dir() else []
    design = manifest.get("design_hash")
    if runs:
        pattern = _lit(out / "runs" / "*.parquet")
        where = f" WHERE design_hash = {_lit(design)}" if design else ""
        con.execute(
            f"CREATE VIEW runs AS SELECT * FROM read_parquet({pattern}, union_by_name = true)"
            + where
        )
    else:
        con.execute("CREATE VIEW runs AS SELECT * FROM summary WHERE false")
    for table in manifest.get("tables", []):
        folder = out / "tables" / table
        if folder.is_dir() and any(folder.glob("*.parquet")):
            pattern = _lit(folder / "*.parquet")
            source = f"read_parquet({pattern}, union_by_name = true)"
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM {source}")
    analyses = ["policy_effects", *(f"sensitivity_{m}" for m in SA_TABLES)]
    for name in analyses:
        if (out / f"{name}.parquet").is_file():
            path = _lit(out / f"{name}.parquet")
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({path})")
    for m in SA_TABLES:
        if (out / f"sensitivity_{m}.parquet").is_file():
            con.execute(f"CREATE VIEW sensitivity AS SELECT * FROM sensitivity_{m}")
            break
    return con


def _lit(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def query(out: str | Path, sql: str) -> pd.DataFrame:
    """Run SQL over a results directory; raises ScenarioError with DuckDB's message on bad SQL."""
    con = connect(out)
    try:
        return con.execute(sql).df()
    except duckdb.Error as exc:
        msg = str(exc).strip().splitlines()[0]
        raise ScenarioError("SQL", sql if len(sql) < 80 else sql[:77] + "...", msg) from None
    finally:
        con.close()
