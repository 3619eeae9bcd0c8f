"""Querying a results directory with DuckDB: ``summary`` and ``runs`` as tables.

    aieco query results/voucher_rate_sweep \\
        "SELECT voucher_rate, avg(startups_alive_y10) FROM summary WHERE status = 'ok' GROUP BY 1"

Tables: ``summary`` (one row per run), ``runs`` (monthly KPIs of every run, with run_id, variant,
replicate, seed, status and parameter columns), and, when present, ``policy_effects`` and
``sensitivity`` (written by ``aieco policy`` / ``aieco sensitivity``).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from ecosystem.scenario import ScenarioError
from experiments.runner import build_summary, read_manifest


def check_results_dir(out: str | Path) -> Path:
    out = Path(out)
    if not out.is_dir():
        raise ScenarioError("DIR", str(out), "is not a directory")
    if not (out / "manifest.json").is_file():
        raise ScenarioError("DIR", str(out), "holds no sweep (no manifest.json); run aieco sweep first")
    return out


def refresh_summary(out: Path) -> Path:
    """Rebuild summary.parquet if any run file is newer (e.g. after an interrupted sweep)."""
    summary = out / "summary.parquet"
    runs = list((out / "runs").glob("*.parquet"))
    newest = max((p.stat().st_mtime_ns for p in runs), default=0)
    if not summary.is_file() or summary.stat().st_mtime_ns < newest:
        manifest = read_manifest(out)
        build_summary(out, manifest.get("parameters", []), manifest.get("outcomes", []))
    return summary


def connect(out: str | Path) -> duckdb.DuckDBPyConnection:
    out = check_results_dir(out)
    refresh_summary(out)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW summary AS SELECT * FROM read_parquet({_lit(out / 'summary.parquet')})")
    if any((out / "runs").glob("*.parquet")):
        pattern = str(out / "runs" / "*.parquet")
        con.execute(f"CREATE VIEW runs AS SELECT * FROM read_parquet({_lit(pattern)}, union_by_name = true)")
    else:
        con.execute("CREATE VIEW runs AS SELECT * FROM summary WHERE false")
    for name in ("policy_effects", "sensitivity_morris", "sensitivity_sobol"):
        if (out / f"{name}.parquet").is_file():
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_lit(out / f'{name}.parquet')})")
    for name in ("sensitivity_morris", "sensitivity_sobol"):
        if (out / f"{name}.parquet").is_file():
            con.execute(f"CREATE VIEW sensitivity AS SELECT * FROM {name}")
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
