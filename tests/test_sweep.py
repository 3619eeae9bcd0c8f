"""Sweeps: results directory, reproducibility on 1 process, N processes and Dask, failures, resume.

The Dask tests start a real scheduler and workers on 127.0.0.1 as subprocesses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from clusters import TINY_RUNS, TINY_SWEEP, dask_cluster, kill, start_sweep, wait_for_runs

import experiments.runner as runner
import experiments.tasks as tasks
from experiments.cli import main
from experiments.spec import load_experiment

SWEEP, N_RUNS = TINY_SWEEP, TINY_RUNS
IGNORE = ["elapsed_s"]


def outcomes(summary: pd.DataFrame) -> pd.DataFrame:
    return summary.drop(columns=IGNORE).sort_values("run_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("exp") / "tiny_sweep.toml"
    path.write_text(SWEEP)
    return path


@pytest.fixture(scope="module")
def serial(sweep_file, tmp_path_factory) -> Path:
    """An uninterrupted sweep on one process: the reference for every other engine."""
    out = tmp_path_factory.mktemp("serial") / "res"
    report = runner.run_experiment(load_experiment(sweep_file), out, workers=1, progress=False)
    assert report.ok == N_RUNS and report.failed == 0
    return out


def test_results_directory_is_complete_and_queryable(serial, sweep_file, capsys):
    files = sorted((serial / "runs").glob("*.parquet"))
    assert [f.stem for f in files] == sorted(t.run_id for t in load_experiment(sweep_file).tasks)
    assert len(files) == N_RUNS
    run = pq.read_table(files[0]).to_pandas()
    for col in (
        "run_id",
        "seed",
        "status",
        "replicate",
        "variant",
        "voucher_rate",
        "voucher_portable",
        "month",
        "region",
        "startups_alive",
    ):
        assert col in run.columns
    assert run["month"].nunique() == 24 and (run["status"] == "ok").all()
    meta = runner.read_run_meta(files[0])
    assert (
        meta["status"] == "ok"
        and meta["seed"] == int(run["seed"].iloc[0])
        and "startups_alive_end" in meta["outcomes"]
    )

    summary = pd.read_parquet(serial / "summary.parquet")
    assert len(summary) == N_RUNS and summary["run_id"].is_unique
    assert (summary["status"] == "ok").all()
    assert {
        "voucher_rate",
        "voucher_portable",
        "seed",
        "startups_alive_y1",
        "public_spending_yuan_total",
    } <= set(summary.columns)
    # common random numbers: every design point uses the same seed at the same replicate
    assert summary.groupby("replicate")["seed"].nunique().eq(1).all()
    manifest = json.loads((serial / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["runs_total"] == N_RUNS
    assert manifest["counts"] == {"ok": N_RUNS, "failed": 0, "pending": 0}
    marker = json.loads((serial / ".aieco-output.json").read_text())
    assert marker["kind"] == "sweep" and {"manifest.json", "runs"} <= set(marker["files"])

    assert (
        main(
            [
                "query",
                str(serial),
                "SELECT count(*) AS n, count(DISTINCT run_id) AS runs FROM runs",
                "--format",
                "json",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {"n": N_RUNS * 24 * run["region"].nunique(), "runs": N_RUNS}
    ]  # a row per month and region
    assert (
        main(
            [
                "query",
                str(serial),
                "SELECT voucher_rate, avg(startups_alive_end) AS alive FROM summary "
                "GROUP BY 1 ORDER BY 1",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "voucher_rate,alive" and len(lines) == 3
    assert main(["query", str(serial), "SELECT nope FROM summary"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: SQL") and err.count("\n") == 1


def test_report_of_a_factorial_sweep(serial, tmp_path):
    assert main(["report", str(serial), "--html-dir", str(tmp_path / "rep")]) == 0
    html = (tmp_path / "rep" / "index.html").read_text()
    for name in (
        "lever_voucher_rate.png",
        "lever_voucher_portable.png",
        "trajectory_startups_alive.png",
    ):
        assert (
            tmp_path / "rep" / "figures" / name
        ).stat().st_size > 1000 and f"figures/{name}" in html
    assert "Outcomes by design point" in html


def test_local_processes_give_the_same_numbers_as_serial(serial, sweep_file, tmp_path):
    report = runner.run_experiment(
        load_experiment(sweep_file), tmp_path / "res", workers=2, progress=False
    )
    assert report.engine == "local:2" and report.ok == N_RUNS
    pd.testing.assert_frame_equal(
        outcomes(report.summary), outcomes(pd.read_parquet(serial / "summary.parquet"))
    )
    name = next((serial / "runs").glob("*-p00003-r001.parquet")).name
    a = pq.read_table(serial / "runs" / name).to_pandas()
    b = pq.read_table(tmp_path / "res" / "runs" / name).to_pandas()
    pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------------------------
# A real Dask cluster: scheduler and workers as subprocesses on 127.0.0.1
# --------------------------------------------------------------------------------------------
def test_sweep_on_a_dask_cluster_gives_the_same_numbers(serial, sweep_file, tmp_path, capsys):
    with dask_cluster(tmp_path) as (address, _):
        out = tmp_path / "res"
        assert (
            main(["sweep", str(sweep_file), "--out", str(out), "--scheduler", address, "--quiet"])
            == 0
        )
    assert "8 ok, 0 failed" in capsys.readouterr().out
    summary = pd.read_parquet(out / "summary.parquet")
    pd.testing.assert_frame_equal(
        outcomes(summary), outcomes(pd.read_parquet(serial / "summary.parquet"))
    )
    assert json.loads((out / "manifest.json").read_text())["engine"] == f"dask:{address}"


# --------------------------------------------------------------------------------------------
# Interrupted local sweep, failures, resume
# --------------------------------------------------------------------------------------------
def test_killed_local_sweep_resumes_without_repeating_a_run(serial, sweep_file, tmp_path, capsys):
    out = tmp_path / "res"
    proc = start_sweep(sweep_file, out, "--workers", "2", stdout=subprocess.DEVNULL)
    try:
        wait_for_runs(proc, out, n=2, timeout=120)
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker processes
        proc.wait(timeout=30)
    finally:
        kill(proc)
        proc.stderr.close()
    before = {
        p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / "runs").glob("*.parquet")
    }
    assert 2 <= len(before) < N_RUNS, "the sweep finished before it could be killed"
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"

    # without --resume the directory is protected
    assert main(["sweep", str(sweep_file), "--out", str(out), "--quiet"]) == 2
    assert "--resume" in capsys.readouterr().err

    assert (
        main(["sweep", str(sweep_file), "--out", str(out), "--resume", "--workers", "1", "--quiet"])
        == 0
    )
    assert f"{len(before)} already done" in capsys.readouterr().out
    after = {
        p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / "runs").glob("*.parquet")
    }
    assert sorted(after) == sorted(
        p.name for p in (serial / "runs").glob("*.parquet")
    )  # every run once
    assert all(after[name] == stamp for name, stamp in before.items())  # none repeated
    assert not list((out / "runs").glob(".*"))  # no temporary files left
    summary = pd.read_parquet(out / "summary.parquet")
    pd.testing.assert_frame_equal(
        outcomes(summary), outcomes(pd.read_parquet(serial / "summary.parquet"))
    )
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"

    # a second resume has nothing to do
    assert (
        main(["sweep", str(sweep_file), "--out", str(out), "--resume", "--workers", "1", "--quiet"])
        == 0
    )
    assert f"0 ok, 0 failed, {N_RUNS} already done" in capsys.readouterr().out


def test_resume_refuses_a_changed_experiment(serial, sweep_file, tmp_path, capsys):
    changed = tmp_path / "changed.toml"
    changed.write_text(sweep_file.read_text().replace("root_seed = 11", "root_seed = 12"))
    assert main(["sweep", str(changed), "--out", str(serial), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --resume") and "changed" in err


def test_a_failed_run_is_recorded_and_the_sweep_goes_on(sweep_file, tmp_path, monkeypatch, capsys):
    real = tasks.execute_run

    def flaky(task, doc, kpis, tables=()):
        if task.point == 1:
            raise RuntimeError("boom in the model")
        return real(task, doc, kpis, tables)

    monkeypatch.setattr(tasks, "execute_run", flaky)
    out = tmp_path / "res"
    assert main(["sweep", str(sweep_file), "--out", str(out), "--workers", "1", "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "6 ok, 2 failed" in captured.out and "boom in the model" in captured.err
    summary = pd.read_parquet(out / "summary.parquet")
    failed = summary[summary["status"] == "failed"]
    assert list(failed["point"]) == [1, 1]
    assert failed["error"].str.contains("RuntimeError: boom in the model").all()
    assert list(failed["seed"]) == load_experiment(sweep_file).seeds
    assert failed["startups_alive_end"].isna().all()
    assert len(list((out / "runs").glob("*.parquet"))) == N_RUNS
    run = pq.read_table(next((out / "runs").glob("*-p00001-r000.parquet"))).to_pandas()
    assert run.loc[0, "status"] == "failed" and "boom" in run.loc[0, "error"]
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete_with_failures"

    monkeypatch.setattr(
        tasks, "execute_run", real
    )  # the bug is fixed: resume reruns failed runs only
    assert (
        main(["sweep", str(sweep_file), "--out", str(out), "--resume", "--workers", "1", "--quiet"])
        == 0
    )
    assert "2 ok, 0 failed, 6 already done" in capsys.readouterr().out
    assert (pd.read_parquet(out / "summary.parquet")["status"] == "ok").all()


# --------------------------------------------------------------------------------------------
# Reproduction: a sweep from its manifest alone
# --------------------------------------------------------------------------------------------
def test_rerun_reproduces_a_sweep_from_its_manifest(tmp_path, capsys):
    """The manifest embeds the resolved scenario, the design and the command line: ``aieco
    rerun`` rebuilds the experiment from it (the experiment file may be gone) and finds every
    outcome and monthly KPI identical."""
    f = tmp_path / "gone.toml"
    text = SWEEP.replace("months = 24", "months = 6").replace(
        "values = [false, true]", "values = [true]"
    )
    f.write_text(text.replace('name = "tiny_sweep"', 'name = "rerun_sweep"'))
    out = tmp_path / "res"
    assert main(["sweep", str(f), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario"]["meta"]["name"] == "hangzhou" and "regions" in manifest["scenario"]
    assert "sweep" in manifest["command"] and manifest["versions"]["numpy"]
    f.unlink()
    capsys.readouterr()
    assert main(["rerun", str(out), "--workers", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "identical (4 runs, every outcome and monthly KPI)" in printed
    again = tmp_path / "res-rerun"
    assert sorted(p.name for p in (again / "runs").glob("*.parquet")) == sorted(
        p.name for p in (out / "runs").glob("*.parquet")
    )
    # a changed number is found
    victim = next((again / "runs").glob("*.parquet"))
    table = pq.read_table(victim)
    meta = json.loads(table.schema.metadata[b"aieco.run"])
    meta["outcomes"]["startups_alive_end"] += 1
    pq.write_table(table.replace_schema_metadata({b"aieco.run": json.dumps(meta).encode()}), victim)
    from experiments.commands import compare_sweeps

    same, detail = compare_sweeps(out, again, manifest)
    assert not same and "outcomes differ" in detail
    assert main(["rerun", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.startswith("error: DIR")


def test_a_sweep_can_keep_every_kpi_column_and_the_firm_tables(tmp_path, capsys):
    f = tmp_path / "tables.toml"
    text = SWEEP.replace("months = 24", "months = 3").replace("replicates = 2", "replicates = 1")
    text = text.replace(
        'kpis = ["startups_alive", "voucher_spent_yuan"]',
        'kpis = ["*"]\ntables = ["firms", "data_centers"]',
    )
    f.write_text(text.replace("values = [false, true]", "values = [false]"))
    out = tmp_path / "res"
    assert main(["sweep", str(f), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    run = pq.read_table(next((out / "runs").glob("*.parquet"))).to_pandas()
    assert {"date", "startups_alive", "partnerships_formed", "revenue_yuan"} <= set(run.columns)
    for table in ("firms", "data_centers"):
        files = sorted((out / "tables" / table).glob("*.parquet"))
        assert [p.stem for p in files] == sorted(p.stem for p in (out / "runs").glob("*.parquet"))
    capsys.readouterr()
    assert (
        main(
            [
                "query",
                str(out),
                "SELECT count(DISTINCT run_id) AS runs, min(seed) > 0 AS seeded FROM firms",
                "--format",
                "json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out) == [{"runs": 2, "seeded": True}]


def test_the_sweep_checks_its_folder_with_the_shared_output_check(
    sweep_file, tmp_path, monkeypatch, capsys
):
    """``prepare_out_dir`` refuses what every aieco output refuses (``check_out_dir``), then
    what only a sweep refuses; nothing runs and nothing is written."""
    from ecosystem.outputs import read_marker, write_dir

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    run_out = write_dir(tmp_path / "run", lambda d: (d / "kpis.parquet").write_text("x"), "run")
    monkeypatch.chdir(tmp_path)
    cases = {
        str(foreign): "is a non-empty folder that aieco did not write; choose another --out",
        str(run_out): "holds an aieco run output, not a sweep; choose another --out",
        ".": "is the current folder",
        str(foreign / "notes.txt"): "exists and is not a folder",
    }
    for out, why in cases.items():
        for resume in ([], ["--resume"]):
            assert main(["sweep", str(sweep_file), "--out", out, "--quiet", *resume]) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and why in err, (out, err)
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    assert read_marker(run_out)["kind"] == "run"


def test_the_code_fingerprint_not_the_git_revision_decides_whether_a_worker_matches():
    ref = {"aieco": "1", "code": "abc", "git_revision": "r1"}
    assert runner._same_code({**ref, "git_revision": "r2"}, ref) is None  # a docs commit
    assert "other code" in runner._same_code({**ref, "code": "xyz"}, ref)
    assert "has aieco 2" in runner._same_code({**ref, "aieco": "2"}, ref)
    older = {"aieco": "1", "git_revision": "r2"}  # a worker from before fingerprints
    assert "git revision r2" in runner._same_code(older, ref)


def test_the_code_fingerprint_follows_the_source_and_nothing_else(tmp_path, monkeypatch):
    pkg = tmp_path / "fingerprinted"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("X = 1\n")
    (pkg / "notes.md").write_text("a document\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(tasks, "CODE_PACKAGES", ("fingerprinted",))

    def fingerprint():
        tasks.code_fingerprint.cache_clear()
        return tasks.code_fingerprint()

    try:
        first = fingerprint()
        (pkg / "notes.md").write_text("another document\n")
        assert fingerprint() == first
        (pkg / "__init__.py").write_text("X = 2\n")
        assert fingerprint() != first
    finally:
        tasks.code_fingerprint.cache_clear()
    assert len(first) == 16
