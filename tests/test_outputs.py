"""Output folders: aieco never deletes what it did not write, refuses dangerous paths before any
run, writes atomically, and re-runs a run bit for bit from its manifest (issues 8 and 13)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ecosystem import outputs
from ecosystem.outputs import OutputError, check_out_dir, write_dir
from experiments.cli import main

AIECO = [sys.executable, "-m", "experiments.cli"]
TABLES = [
    "kpis", "data_centers", "firms", "firm_years", "talent_flows", "partnerships",
    "voucher_programmes", "rounds",
]  # fmt: skip


def aieco(*args, cwd=None):
    cmd = [*AIECO, *args]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=600, env=env)


def one_error_line(r) -> str:
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One real one-year run written by the command line."""
    out = tmp_path_factory.mktemp("run") / "r"
    r = aieco("run", "hangzhou", "--years", "1", "--seed", "3", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture
def no_model_run(monkeypatch):
    """Makes any model run fail loudly: a refusal must come before the model runs."""
    import ecosystem.run

    def boom(*a, **k):
        raise AssertionError("the model ran although the output folder was refused")

    monkeypatch.setattr(ecosystem.run, "run_scenario", boom)


# --------------------------------------------------------------------------------------------
# Issue 8's reproducers
# --------------------------------------------------------------------------------------------
def test_foreign_folder_is_refused_and_kept(tmp_path, capsys, no_model_run):
    d = tmp_path / "d"
    d.mkdir()
    (d / "keep.txt").write_text("keep")
    assert main(["run", "hangzhou", "--years", "1", "--out", str(d), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--overwrite" in err and "did not write" in err
    assert sorted(p.name for p in d.iterdir()) == ["keep.txt"]
    assert (d / "keep.txt").read_text() == "keep"
    assert [p.name for p in tmp_path.iterdir()] == ["d"]  # no temporary folder left behind


def test_overwrite_replaces_only_aiecos_files(tmp_path, run_dir):
    d = tmp_path / "d"
    d.mkdir()
    (d / "keep.txt").write_text("keep")
    (d / "kpis.parquet").write_text("an old file of the same name")
    r = aieco(
        "run", "hangzhou", "--years", "1", "--seed", "3", "--out", str(d), "--quiet", "--overwrite"
    )
    assert r.returncode == 0, r.stderr
    assert (d / "keep.txt").read_text() == "keep"
    assert pq.read_table(d / "kpis.parquet").equals(pq.read_table(run_dir / "kpis.parquet"))
    marker = json.loads((d / outputs.MARKER).read_text())
    assert "keep.txt" not in marker["files"] and "kpis.parquet" in marker["files"]
    # Now an aieco output: a second run needs no --overwrite and still keeps the user's file.
    r = aieco("run", "hangzhou", "--years", "1", "--seed", "4", "--out", str(d), "--quiet")
    assert r.returncode == 0, r.stderr
    assert (d / "keep.txt").read_text() == "keep"
    assert json.loads((d / "manifest.json").read_text())["seed"] == 4


def test_rewriting_an_aieco_output_drops_its_stale_files(tmp_path):
    d = tmp_path / "o"

    def first(tmp: Path) -> None:
        (tmp / "a.txt").write_text("1")
        (tmp / "old.txt").write_text("1")

    def second(tmp: Path) -> None:
        (tmp / "a.txt").write_text("2")

    write_dir(d, first, kind="test")
    write_dir(d, second, kind="test")
    assert sorted(p.name for p in d.iterdir()) == [outputs.MARKER, "a.txt"]
    assert (d / "a.txt").read_text() == "2"
    (d / "mine.txt").write_text("user")  # a user's file inside an aieco output survives
    write_dir(d, first, kind="test")
    assert sorted(p.name for p in d.iterdir()) == [outputs.MARKER, "a.txt", "mine.txt", "old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["o"]


def test_a_failing_writer_leaves_the_old_output(tmp_path):
    d = tmp_path / "o"
    write_dir(d, lambda tmp: (tmp / "a.txt").write_text("1"), kind="test")

    def broken(tmp: Path) -> None:
        (tmp / "a.txt").write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_dir(d, broken, kind="test")
    assert (d / "a.txt").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["o"]


@pytest.mark.parametrize("target", [".", "..", "/", "~", "HOME", "FILE", "LINK"])
def test_dangerous_targets_are_refused_before_running(
    tmp_path, monkeypatch, capsys, target, no_model_run
):
    work = tmp_path / "work"
    work.mkdir()
    (work / "mine.txt").write_text("mine")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "x").write_text("x")
    (work / "f").write_text("a file")
    (work / "link").symlink_to(tmp_path / "home")
    out = {"HOME": str(tmp_path / "home"), "FILE": "f", "LINK": "link"}.get(target, target)
    rc = main(["run", "hangzhou", "--years", "1", "--out", out, "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: --out") and "\n" not in err, err
    assert sorted(p.name for p in work.iterdir()) == ["f", "link", "mine.txt"]
    assert (work / "f").read_text() == "a file" and (tmp_path / "home" / "x").exists()


def test_compare_refuses_a_foreign_folder_before_running(tmp_path, capsys):
    d = tmp_path / "d"
    d.mkdir()
    (d / "keep.txt").write_text("keep")
    from experiments import compare as cmp

    with pytest.raises(OutputError, match="did not write"):
        cmp.compare(["hangzhou"], years=1, replicates=1, out=d)
    rc = main(
        ["compare", "hangzhou", "--years", "1", "--replicates", "1", "--out", str(d), "--quiet"]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err and "--overwrite" in err
    assert [p.name for p in d.iterdir()] == ["keep.txt"]


def _make_read_only(folder: Path) -> list[str]:
    """Make a folder unwritable for this process; returns the command that undoes it."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return ["chmod", "755", str(folder)]
    # root ignores permission bits: use the immutable attribute instead.
    if shutil.which("chattr") is None:
        pytest.fail("running as root needs chattr to make a folder read-only")
    subprocess.run(["chattr", "+i", str(folder)], check=True)
    return ["chattr", "-i", str(folder)]


def test_read_only_output_folder_is_one_line(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "keep.txt").write_text("keep")
    undo = _make_read_only(ro)
    try:
        for out in (ro, ro / "sub"):
            r = aieco(
                "run", "hangzhou", "--years", "1", "--out", str(out), "--quiet", "--overwrite"
            )
            line = one_error_line(r)
            assert "writable" in line, line
        assert sorted(p.name for p in ro.iterdir()) == ["keep.txt"]
    finally:
        subprocess.run(undo, check=True)


def test_check_out_dir_accepts_new_and_empty_folders(tmp_path):
    assert check_out_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    (tmp_path / "empty").mkdir()
    assert check_out_dir(tmp_path / "empty") == tmp_path / "empty"
    with pytest.raises(OutputError, match="needs a folder name"):
        check_out_dir("")


def test_atomic_file_keeps_the_old_content_on_error(tmp_path):
    p = tmp_path / "x.json"
    outputs.write_text(p, "old")
    with pytest.raises(ValueError), outputs.atomic_file(p) as tmp:
        tmp.write_text("half")
        raise ValueError("boom")
    assert p.read_text() == "old" and [q.name for q in tmp_path.iterdir()] == ["x.json"]


# --------------------------------------------------------------------------------------------
# Re-running from a manifest (issue 13 point 6)
# --------------------------------------------------------------------------------------------
def test_rerun_from_manifest_is_bit_for_bit(run_dir, tmp_path):
    again = tmp_path / "again"
    r = aieco("run", str(run_dir / "manifest.json"), "--out", str(again), "--quiet")
    assert r.returncode == 0, r.stderr
    for name in TABLES:
        a, b = pq.read_table(run_dir / f"{name}.parquet"), pq.read_table(again / f"{name}.parquet")
        assert a.equals(b), name
    for name in ("genealogy", "talent_flows", "partnerships"):
        assert (run_dir / "networks" / f"{name}.graphml").read_bytes() == (
            again / "networks" / f"{name}.graphml"
        ).read_bytes()
    m1 = json.loads((run_dir / "manifest.json").read_text())
    m2 = json.loads((again / "manifest.json").read_text())
    assert m1["run_id"] == m2["run_id"] and m1["summary"] == m2["summary"]
    assert "hangzhou" in m1["command"] and "--years" in m1["command"]
    assert {"numpy", "mesa", "pandas", "pyarrow"} <= set(m1["versions"])
    assert len(m1["versions"]) > 20  # every installed package, not a hand-picked few
    assert m1["months"] == 12 and m1["seed"] == 3


def test_rerun_function_and_folder_argument(run_dir, tmp_path):
    from ecosystem.run import rerun

    result = rerun(run_dir, tmp_path / "f")
    assert pq.read_table(tmp_path / "f" / "firms.parquet").equals(
        pq.read_table(run_dir / "firms.parquet")
    )
    assert result.months == 12 and result.seed == 3


def test_aieco_rerun_of_a_single_run_checks_every_file(run_dir, tmp_path, capsys):
    again = tmp_path / "again"
    assert main(["rerun", str(run_dir), "--out", str(again)]) == 0
    out = capsys.readouterr().out
    assert "identical" in out and "differ" not in out, out
    assert (again / "firms.parquet").read_bytes() == (run_dir / "firms.parquet").read_bytes()
    # a table changed by hand (in a copy: run_dir is shared) is found
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    (copy / "firms.parquet").write_bytes(b"changed")
    assert main(["rerun", str(copy), "--out", str(tmp_path / "third")]) != 0
    assert "firms.parquet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"seed": 1', "not a readable JSON manifest"),
        ("[1, 2]", "not the manifest of an `aieco run`"),
        ('{"seed": 1, "months": 12}', "lacks scenario"),
        (b"\xff\xfe not utf-8", "not a readable JSON manifest"),
    ],
)
def test_bad_manifest_is_one_line(tmp_path, capsys, content, needle):
    d = tmp_path / "bad"
    d.mkdir()
    m = d / "manifest.json"
    m.write_bytes(content if isinstance(content, bytes) else content.encode())
    rc = main(["run", str(m), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err and needle in err, err
    assert not (tmp_path / "o").exists()


def test_a_run_shorter_than_a_year_writes_typed_empty_firm_years():
    import pyarrow as pa
    from paired import TINY

    from ecosystem import load_scenario
    from ecosystem.run import run_scenario

    result = run_scenario(load_scenario(TINY), seed=1, months=3)
    table = result.tables()["firm_years.parquet"]
    assert table.num_rows == 0
    for name in ("revenue_yuan", "compute_gpu_h", "capability", "cash_yuan"):
        assert table.schema.field(name).type == pa.float64(), name
