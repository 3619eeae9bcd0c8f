"""The files `aieco run` and `aieco compare` write match docs/outputs.md, column for column."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import networkx as nx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ecosystem.run import TABLE_FILES
from experiments.cli import main

DOC = Path(__file__).resolve().parent.parent / "docs" / "outputs.md"


def documented_tables() -> dict[str, list[tuple[str, str]]]:
    """``### file.parquet`` sections of docs/outputs.md -> [(column, type), ...] in order."""
    tables: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^###\s+(\S+\.parquet)\s*$", line)
        if m:
            current = m.group(1)
            tables[current] = []
            continue
        if line.startswith("## "):
            current = None
        if current and line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cells[0] == "column":
                continue
            tables[current].append((cells[0], cells[1]))
    return tables


def arrow_type_name(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        return f"dictionary<{arrow_type_name(t.value_type)}>"
    if pa.types.is_date32(t):
        return "date32"
    return {"large_string": "string"}.get(str(t), str(t))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    base = tmp_path_factory.mktemp("schema")
    run, cmp = base / "run", base / "cmp"
    assert (
        main(["run", "hangzhou", "--years", "2", "--seed", "5", "--out", str(run), "--quiet"]) == 0
    )
    assert (
        main(
            [
                "compare",
                "hangzhou",
                "--years",
                "1",
                "--replicates",
                "2",
                "--out",
                str(cmp),
                "--quiet",
                "--workers",
                "1",
            ]
        )
        == 0
    )
    return run, cmp


def _files(written) -> dict[str, Path]:
    run, cmp = written
    files = {name: run / name for name in TABLE_FILES}
    files.update(
        {
            "comparison.parquet": cmp / "comparison.parquet",
            "trajectories.parquet": cmp / "trajectories.parquet",
        }
    )
    return files


def test_every_written_table_is_documented_exactly(written):
    doc = documented_tables()
    files = _files(written)
    assert set(doc) == set(files), "docs/outputs.md and the written tables name different files"
    for name, path in files.items():
        schema = pq.read_schema(path)
        got = [(f.name, arrow_type_name(f.type)) for f in schema]
        assert got == doc[name], f"{name}: written {got} but documented {doc[name]}"


def test_conventions_hold(written):
    reserved = {
        r[0].lower()
        for r in duckdb.sql(
            "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'"
        ).fetchall()
    }
    for name, path in _files(written).items():
        t = pq.read_table(path)
        assert t.column_names[:2] == ["run_id", "seed"], name
        assert t.column("run_id").null_count == 0 and t.column("seed").null_count == 0, name
        assert not set(t.column_names) & reserved, (name, set(t.column_names) & reserved)
        for field in t.schema:
            col = t.column(field.name)
            if pa.types.is_floating(field.type):
                nan = pc.any(pc.is_nan(col.drop_null())).as_py()
                assert not nan, f"{name}.{field.name} holds NaN instead of NULL"
            if pa.types.is_string(field.type) or pa.types.is_dictionary(field.type):
                values = set(col.cast(pa.string()).drop_null().to_pylist())
                assert "" not in values, f"{name}.{field.name} holds '' instead of NULL"
            if field.name.endswith("_month") and field.name != "founded_month":
                assert (col.drop_null().to_numpy() >= 0).all(), f"{name}.{field.name} holds -1"
            if field.name.endswith("_month") or field.name == "month":
                date = field.name.replace("month", "date")
                assert date in t.column_names, f"{name}.{field.name} has no {date}"
                assert t.column(date).null_count == col.null_count


def test_one_organisation_id_scheme_across_tables_and_graphml(written):
    run, _ = written
    firms = pq.read_table(run / "firms.parquet").to_pandas()
    flows = pq.read_table(run / "talent_flows.parquet").to_pandas()
    parts = pq.read_table(run / "partnerships.parquet").to_pandas()
    gen = nx.read_graphml(run / "networks" / "genealogy.graphml")
    talent = nx.read_graphml(run / "networks" / "talent_flows.graphml")
    partner = nx.read_graphml(run / "networks" / "partnerships.graphml")
    pattern = re.compile(r"^(startup|big_firm|university|data_center|job_market|outside|retired):")
    assert set(firms["org_id"]) <= set(gen.nodes)
    assert set(firms["parent_org_id"].dropna()) <= set(gen.nodes)
    assert set(firms["acquirer_org_id"].dropna()) <= set(gen.nodes)
    assert set(parts["org_a"]) | set(parts["org_b"]) <= set(partner.nodes)
    ids = set(flows["src"].astype(str)) | set(flows["dst"].astype(str))
    assert all(pattern.match(i) for i in ids)
    orgs = {i for i in ids if i.startswith(("big_firm:", "university:", "job_market:"))}
    assert orgs <= set(talent.nodes) | set(gen.nodes)
    assert set(flows["src_kind"].astype(str)) <= {
        "job_market",
        "startup",
        "big_firm",
        "university",
        "outside",
        "retired",
    }
    assert gen.graph["run_id"] == firms["run_id"].iloc[0]
    ended = [d for *_, d in partner.edges(data=True) if "end_month" in d]
    assert all(d["end_month"] >= 0 for d in ended)
    assert all("end" not in d and "start" not in d for *_, d in partner.edges(data=True))


def test_duckdb_reads_the_tables_with_labels(written):
    run, _ = written
    con = duckdb.connect()
    q = f"SELECT src_kind, sum(people) FROM '{run / 'talent_flows.parquet'}' GROUP BY 1 ORDER BY 1"
    kinds = [r[0] for r in con.sql(q).fetchall()]
    assert "big_firm" in kinds and "startup" in kinds
    q = f"SELECT count(*) FROM '{run / 'partnerships.parquet'}' WHERE end_month IS NULL"
    assert con.execute(q).fetchone()[0] >= 0
    q = f"SELECT min(date), max(date) FROM '{run / 'kpis.parquet'}'"
    lo, hi = con.execute(q).fetchone()
    assert (lo.year, lo.month, hi.year, hi.month) == (2025, 1, 2026, 12)
