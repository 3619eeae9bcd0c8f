"""The files `aieco run` and `aieco compare` write match docs/outputs.md, column for column."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import experiments.runner as runner
from ecosystem.run import TABLE_FILES
from experiments.cli import main

DOC = Path(__file__).resolve().parent.parent / "docs" / "outputs.md"


def documented_sections() -> dict[str, dict]:
    """Every ``### heading`` of docs/outputs.md with a table -> {"chapter": the ``## `` heading
    it sits under, "rows": [(first cell, second cell), ...] in order}."""
    sections: dict[str, dict] = {}
    chapter = current = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            chapter, current = line[3:].strip(), None
            continue
        if line.startswith("### "):
            current = line[4:].strip()
            sections[current] = {"chapter": chapter, "rows": [], "meanings": []}
            continue
        if current and line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[0] in ("column", "key"):
                continue
            sections[current]["rows"].append((cells[0], cells[1]))
            sections[current]["meanings"].append(cells[-1])
    return sections


def documented_tables(*chapters: str) -> dict[str, list[tuple[str, str]]]:
    """``### file.parquet`` sections (of the chapters starting with ``chapters``, default
    ``aieco run`` and ``aieco compare``) -> [(column, type), ...] in order."""
    chapters = chapters or ("aieco run", "aieco compare")
    return {
        name: sec["rows"]
        for name, sec in documented_sections().items()
        if name.endswith(".parquet") and sec["rows"] and sec["chapter"].startswith(chapters)
    }


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
                "--param-draws",
                "0",
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
            "reach.parquet": cmp / "reach.parquet",
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


def reserved_words() -> set[str]:
    rows = duckdb.sql(
        "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'"
    ).fetchall()
    return {r[0].lower() for r in rows}


def check_conventions(name: str, t: pa.Table, reserved: set[str]) -> None:
    """run_id and seed first and never NULL; no SQL reserved word; NULL (not NaN, '' or -1) for
    missing; a date beside every month."""
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


def test_conventions_hold(written):
    reserved = reserved_words()
    for name, path in _files(written).items():
        check_conventions(name, pq.read_table(path), reserved)


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


# --------------------------------------------------------------------------------------------
# Sweeps: aieco sweep, aieco policy and aieco sensitivity (every SALib method) on the tiny preset
# --------------------------------------------------------------------------------------------
TINY = DOC.parent.parent / "tests" / "presets" / "tiny.toml"
PARAM_TYPES = {"float": "double", "int": "int64", "bool": "bool", "str": "string"}
#: a factorial sweep with a float and a boolean lever, a month outcome (its _date column), an
#: outcome with no value (year 5 of a 13-month run), chosen KPI columns and every firm table
SWEEP = f"""
[experiment]
name = "schema_sweep"
scenario = "{TINY}"
replicates = 1
root_seed = 3
months = 13

[levers.voucher_rate]
path = "regions.ningbo.policy.voucher_rate"
values = [0.0, 0.8]

[levers.voucher_portable]
path = "regions.ningbo.policy.voucher_portable"
values = [false, true]

[design]
method = "factorial"

[outcomes]
summary = ["startups_alive_end", "month_target_reached", "startups_alive_y5",
           "voucher_spent_yuan_total"]
kpis = ["voucher_spent_yuan", "startups_alive", "dc_utilization"]
tables = ["firms", "firm_years", "data_centers", "talent_flows", "partnerships",
          "voucher_programmes", "rounds"]
"""
#: a policy file (list design, baseline) that keeps every KPI column
POLICY = f"""
[experiment]
name = "schema_policy"
scenario = "{TINY}"
replicates = 2
root_seed = 4
months = 3

[levers.voucher_rate]
path = "regions.ningbo.policy.voucher_rate"

[design]
method = "list"

[[design.points]]
name = "none"
voucher_rate = 0.0

[[design.points]]
name = "high"
voucher_rate = 0.8

[policy]
baseline = "none"

[outcomes]
summary = ["startups_alive_end", "voucher_spent_yuan_total"]
kpis = ["*"]
"""
#: global sensitivity over two ranges (SALib methods take the design from the command line)
SENSITIVITY = f"""
[experiment]
name = "schema_sa"
scenario = "{TINY}"
replicates = 1
root_seed = 5
months = 6

[levers.voucher_rate]
path = "regions.ningbo.policy.voucher_rate"
range = [0.0, 0.8]

[uncertainties.founding_cash_yuan]
path = "startups.founding_cash_yuan"
range = [5.0e5, 3.0e6]

[outcomes]
summary = ["startups_alive_end"]
kpis = ["startups_alive"]
"""
#: the smallest sample each method accepts (fast: N > 4·M² = 64)
SA_SAMPLES = {"morris": 2, "sobol": 2, "fast": 65, "delta": 20, "pawn": 20}


def fake_delta(problem, X, Y, **kwargs):
    """What SALib's ``delta.analyze(..., method="all")`` returns, with made-up numbers."""
    d = len(problem["names"])
    keys = ("delta_raw", "delta_raw_conf", "delta_balanced", "delta_balanced_conf", "S1", "S1_conf")
    return {k: np.linspace(0.1, 0.2, d) for k in keys} | {"names": problem["names"]}


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """The folders of a real sweep (one design point failing), a policy sweep, a real Sobol'
    analysis with second-order indices, and the other SALib methods' tables as the sensitivity
    command writes them (from a synthetic outcome over each method's real sample: no runs)."""
    import experiments.tasks as tasks
    from experiments.commands import _write_analysis
    from experiments.sensitivity import analyse
    from experiments.spec import load_experiment

    base = tmp_path_factory.mktemp("sweeps")
    monkeypatch = pytest.MonkeyPatch()
    for name, text in (("sweep", SWEEP), ("policy", POLICY), ("sa", SENSITIVITY)):
        (base / f"{name}.toml").write_text(text)
    real = tasks.execute_run

    def fail_point_1(task, *args, **kwargs):
        if task.point == 1:
            raise RuntimeError("a model error")
        return real(task, *args, **kwargs)

    tasks.execute_run = fail_point_1
    try:
        argv = ["sweep", str(base / "sweep.toml"), "--out", str(base / "sweep"), "--workers", "1"]
        assert main([*argv, "--quiet"]) == 1  # 1: some runs failed
    finally:
        tasks.execute_run = real
    argv = ["policy", str(base / "policy.toml"), "--out", str(base / "policy"), "--workers", "1"]
    assert main([*argv, "--quiet"]) == 0
    argv = ["sensitivity", str(base / "sa.toml"), "--method", "sobol", "--second-order"]
    argv += ["--samples", "2", "--out", str(base / "sobol"), "--workers", "1", "--quiet"]
    assert main(argv) == 0
    for method, n in SA_SAMPLES.items():
        if method == "sobol":
            continue
        if method == "delta":  # SALib's delta takes minutes on a busy machine; its numbers are
            # checked against SALib in test_salib.py: here only the written form matters
            monkeypatch.setattr("SALib.analyze.delta.analyze", fake_delta)
        exp = load_experiment(base / "sa.toml", method=method, samples=n)
        x = exp.sample_matrix
        y = np.sin(x[:, 0] * 4) + x[:, 1] / 3e6 + 0.1 * x[:, 0] * x[:, 1] / 3e6
        summary = pd.DataFrame(
            {"point": np.arange(len(x)), "replicate": 0, "status": "ok"}
            | {o: y * (k + 1) for k, o in enumerate(exp.summary_outcomes)}
        )
        table, _ = analyse(exp, summary, method)
        (base / method).mkdir()
        _write_analysis(exp, base / method, f"sensitivity_{method}", table)
    monkeypatch.undo()
    return base


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def expected(section: str, manifest: dict, failed: bool = False) -> list[tuple[str, str]]:
    """The documented columns of a sweep file, placeholders expanded for this sweep."""
    from ecosystem.outcomes import OUTCOMES

    sections = documented_sections()
    sec = sections[section]
    kpi_types = dict(sections["kpis.parquet"]["rows"])
    out = []
    for (name, typ), meaning in zip(sec["rows"], sec["meanings"], strict=True):
        if failed and "absent in a failed run's file" in meaning:
            continue
        if name == "<parameter>":
            out += [(p["name"], PARAM_TYPES[p["dtype"]]) for p in manifest["parameter_info"]]
        elif name == "<outcome>":
            for o in manifest["outcomes"]:
                out.append((o, typ))
                if OUTCOMES[o].unit == "month":
                    out.append((f"{o}_date", "date32"))
        elif name == "<outcome>_date":
            continue  # placed after each month outcome above
        elif name == "<kpi>":
            kpis = list(kpi_types)[list(kpi_types).index("region") + 1 :]
            chosen = kpis if manifest["kpis"] == ["*"] else manifest["kpis"]
            out += [(k, kpi_types[k]) for k in chosen]
        else:
            assert not name.startswith("<"), f"unknown placeholder {name} in {section}"
            out.append((name, typ))
    return out


def written_columns(path: Path) -> list[tuple[str, str]]:
    return [(f.name, arrow_type_name(f.type)) for f in pq.read_schema(path)]


def test_sweep_files_are_documented_exactly(sweeps):
    folder = sweeps / "sweep"
    manifest = manifest_of(folder)
    assert written_columns(folder / "summary.parquet") == expected("summary.parquet", manifest)
    summary = pq.read_table(folder / "summary.parquet").to_pandas()
    assert set(summary["status"]) == {"ok", "failed"}
    for path in sorted((folder / "runs").glob("*.parquet")):
        failed = runner.read_run_meta(path)["status"] == "failed"
        want = expected("runs/<run_id>.parquet", manifest, failed=failed)
        assert written_columns(path) == want, path.name
    run_tables = documented_tables("aieco run")
    ok_runs = sorted(summary.loc[summary["status"] == "ok", "run_id"])
    for table in manifest["tables"]:
        files = sorted((folder / "tables" / table).glob("*.parquet"))
        assert [p.stem for p in files] == ok_runs, table
        for path in files:
            assert written_columns(path) == run_tables[f"{table}.parquet"], (table, path.name)
            ids = pq.read_table(path, columns=["run_id"])["run_id"]
            # a 13-month tiny run may form no partnership: an empty table is still a table
            assert len(ids) == 0 or ids[0].as_py() == path.stem
    keys = [k for k, _ in documented_sections()["manifest.json (sweep)"]["rows"]]
    assert list(manifest) == keys
    marker = json.loads((folder / ".aieco-output.json").read_text())
    assert marker["kind"] == "sweep"


def test_policy_and_sensitivity_files_are_documented_exactly(sweeps):
    policy = sweeps / "policy"
    manifest = manifest_of(policy)
    assert manifest["kpis"] == ["*"]
    want = expected("policy_effects.parquet", manifest)
    assert written_columns(policy / "policy_effects.parquet") == want
    header = (policy / "policy_effects.csv").read_text().splitlines()[0].split(",")
    assert header == [c for c, _ in want]
    for path in (policy / "runs").glob("*.parquet"):  # kpis = ["*"]: every kpis.parquet column
        assert written_columns(path) == expected("runs/<run_id>.parquet", manifest)
    for method in SA_SAMPLES:
        name = f"sensitivity_{method}.parquet"
        want = expected(name, {})
        assert written_columns(sweeps / method / name) == want, method
        table = pq.read_table(sweeps / method / name)
        assert table.num_rows > 0, method
        header = (sweeps / method / name).with_suffix(".csv").read_text().splitlines()[0]
        assert header.split(",") == [c for c, _ in want], method
    sobol = pq.read_table(sweeps / "sobol" / "sensitivity_sobol.parquet").to_pandas()
    pairs = sobol["parameter"].str.contains(" × ")
    assert pairs.any() and sobol.loc[pairs, "S2"].notna().all()
    assert sobol.loc[~pairs, "S2"].isna().all() and sobol.loc[pairs, "ST"].isna().all()


def test_sweep_files_follow_the_conventions(sweeps):
    """The conventions of ``aieco run``'s files, in every sweep file; run ids unique across
    sweeps; booleans are booleans."""
    reserved = reserved_words()
    files = [
        p
        for p in sweeps.rglob("*.parquet")
        if not p.name.startswith(".") and "damaged" not in p.parts
    ]
    assert len(files) > 30
    for path in files:
        check_conventions(str(path.relative_to(sweeps)), pq.read_table(path), reserved)
    ids: dict[str, set] = {}
    for folder in ("sweep", "policy", "sobol"):
        summary = pq.read_table(sweeps / folder / "summary.parquet")
        ids[folder] = set(summary.column("run_id").to_pylist())
        assert summary.column("run_id").to_pylist() and len(ids[folder]) == summary.num_rows
    everything = [i for s in ids.values() for i in s]
    assert len(everything) == len(set(everything)), "run ids repeat across sweeps"
    summary = pq.read_table(sweeps / "sweep" / "summary.parquet")
    assert summary.schema.field("voucher_portable").type == pa.bool_()
    failed = summary.filter(pc.equal(summary.column("status").cast(pa.string()), "failed"))
    ok = summary.filter(pc.equal(summary.column("status").cast(pa.string()), "ok"))
    assert failed.num_rows == 1 and ok.column("error").null_count == ok.num_rows
    assert failed.column("startups_alive_end").null_count == failed.num_rows
    assert all("a model error" in e for e in failed.column("error").to_pylist())
    assert ok.column("startups_alive_y5").null_count == ok.num_rows  # beyond the horizon: NULL
    # DuckDB stacks the runs of a sweep with failed runs: NULL months for those
    con = duckdb.connect()
    q = f"""SELECT status, count(*) AS n, count(month) AS months
        FROM read_parquet('{sweeps / "sweep" / "runs" / "*.parquet"}', union_by_name = true)
        GROUP BY 1 ORDER BY 1"""
    rows = con.sql(q).fetchall()
    assert rows[0][0] == "failed" and rows[0][1] == 1 and rows[0][2] == 0


# --------------------------------------------------------------------------------------------
# The calibration store: aieco calibrate SPEC --budget N (docs/outputs.md, its own chapter)
# --------------------------------------------------------------------------------------------
CALIBRATION_SPEC = Path(__file__).resolve().parent / "calibration" / "tiny.toml"


def test_calibration_store_is_documented_exactly(tmp_path):
    from experiments.calibrate import load_spec

    out = tmp_path / "store"
    argv = ["calibrate", str(CALIBRATION_SPEC), "--budget", "2", "--out", str(out)]
    assert main([*argv, "--workers", "1", "--quiet", "--store-only"]) == 0
    spec = load_spec(CALIBRATION_SPEC)
    sec = documented_sections()["store.parquet"]
    assert sec["chapter"].startswith("aieco calibrate")
    want = []
    for name, typ in sec["rows"]:
        if name == "<theta>":
            want += [(p.name, "int64" if p.integer else typ) for p in spec.priors]
        elif name == "<statistic>":
            want += [(s, typ) for s in spec.statistics]
        else:
            assert not name.startswith("<"), name
            want.append((name, typ))
    assert written_columns(out / "store.parquet") == want
    check_conventions("store.parquet", pq.read_table(out / "store.parquet"), reserved_words())
    info = json.loads((out / "calibration.json").read_text())
    assert info["spec_hash"] == spec.spec_hash and info["target_set"] == spec.target_set
    marker = json.loads((out / ".aieco-output.json").read_text())
    assert marker["kind"] == "sweep" and {"store.parquet", "calibration.json"} <= set(
        marker["files"]
    )
