"""Loud, bounded failure on a Dask cluster, with real scheduler and worker processes on 127.0.0.1.

* a worker that cannot import aieco, or runs another aieco, stops the sweep before any run with
  one line naming it (exit 3);
* a sweep whose workers all die exits non-zero within a minute with one line;
* Ctrl-C on a local sweep prints one line, with no port warning although 8787 is taken;
* every run records the aieco version and git revision of the worker that ran it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clusters import ROOT, dask_cluster, tiny_sweep

import experiments.runner as runner
from experiments.cli import main
from experiments.spec import load_experiment
from experiments.tasks import worker_identity

BLOCK_AIECO = """
import importlib.abc, sys

class _NoAieco(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("ecosystem", "experiments", "agents", "viz"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, _NoAieco())
"""

OTHER_AIECO = """
from importlib import metadata

if not hasattr(metadata, "real_version"):  # Dask may run a preload file twice
    metadata.real_version = metadata.version
    metadata.version = lambda n: "0.0.0+other" if n == "aieco" else metadata.real_version(n)
"""


@pytest.fixture
def sweep_file(tmp_path) -> Path:
    return tiny_sweep(tmp_path, months=12)


def test_workers_that_cannot_import_aieco_or_run_another_version_stop_the_sweep(
    sweep_file, tmp_path, capsys
):
    (tmp_path / "block_aieco.py").write_text(BLOCK_AIECO)
    (tmp_path / "other_aieco.py").write_text(OTHER_AIECO)
    extra = {
        0: ["--preload", str(tmp_path / "block_aieco.py")],
        1: ["--preload", str(tmp_path / "other_aieco.py")],
    }
    with dask_cluster(tmp_path, n_workers=2, extra=extra) as (address, _):
        out = tmp_path / "res"
        t0 = time.monotonic()
        code = main(
            ["sweep", str(sweep_file), "--out", str(out), "--scheduler", address, "--quiet"]
        )
        elapsed = time.monotonic() - t0
    err = capsys.readouterr().err
    assert code == 3, err
    assert err.count("\n") == 1 and err.startswith("error: worker")
    assert "w0 (tcp://127.0.0.1:" in err and "cannot import aieco" in err
    assert "w1 (tcp://127.0.0.1:" in err and "has aieco 0.0.0+other" in err
    assert f"every worker needs aieco {worker_identity()['aieco']}" in err
    assert elapsed < 60
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "incomplete" and manifest["counts"]["ok"] == 0
    assert not list((out / "runs").glob("*.parquet"))


def test_a_scheduler_without_workers_fails_within_a_minute(sweep_file, tmp_path, capsys):
    with dask_cluster(tmp_path, n_workers=0) as (address, _):
        t0 = time.monotonic()
        exp = load_experiment(sweep_file)
        with pytest.raises(runner.SweepError, match="no Dask worker joined"):
            runner.run_experiment(
                exp, tmp_path / "res", scheduler=address, progress=False, no_worker_timeout=5
            )
        assert time.monotonic() - t0 < 60


def test_killing_every_worker_ends_the_sweep_with_one_line(sweep_file, tmp_path):
    with dask_cluster(tmp_path, n_workers=2) as (address, workers):
        out = tmp_path / "res"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "experiments.cli",
                "sweep",
                str(sweep_file),
                "--out",
                str(out),
                "--scheduler",
                address,
                "--quiet",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 300
            while not list((out / "runs").glob("*.parquet")):
                assert proc.poll() is None, proc.communicate()[1].decode()
                assert time.monotonic() < deadline
                time.sleep(0.05)
            for w in workers:
                os.killpg(w.pid, signal.SIGKILL)
            killed = time.monotonic()
            _, err = proc.communicate(timeout=120)
            elapsed = time.monotonic() - killed
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    err = err.decode()
    done = len(list((out / "runs").glob("*.parquet")))
    if done == 8:
        pytest.fail("the sweep finished before its workers could be killed")
    assert proc.returncode == 3, err
    assert err.count("\n") == 1 and "no Dask worker left" in err and "--resume" in err, err
    assert elapsed < 60 + runner.NO_WORKER_TIMEOUT_S
    assert json.loads((out / "manifest.json").read_text())["status"] == "incomplete"


def test_ctrl_c_on_a_local_sweep_prints_one_line_and_no_port_warning(sweep_file, tmp_path):
    """Two local workers, port 8787 taken by someone else: one line on stderr, exit 130."""
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        blocker.bind(("127.0.0.1", 8787))
        blocker.listen()
    except OSError:
        pass  # already taken: just as good
    out = tmp_path / "res"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "experiments.cli",
            "sweep",
            str(sweep_file),
            "--out",
            str(out),
            "--workers",
            "2",
            "--quiet",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not list((out / "runs").glob("*.parquet")):
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        _, err = proc.communicate(timeout=120)
    finally:
        blocker.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    err = err.decode()
    if proc.returncode == 0:
        pytest.fail("the sweep finished before Ctrl-C")
    assert proc.returncode == 130, err
    assert err.splitlines() == ["interrupted; rerun the same command with --resume to complete it"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "incomplete"


def test_runs_record_the_workers_aieco_version_and_git_revision(sweep_file, tmp_path):
    with dask_cluster(tmp_path, n_workers=1) as (address, _):
        report = runner.run_experiment(
            load_experiment(sweep_file), tmp_path / "res", scheduler=address, progress=False
        )
    assert report.ok == 8
    me = worker_identity()
    for path in (tmp_path / "res" / "runs").glob("*.parquet"):
        meta = runner.read_run_meta(path)
        assert meta["aieco"] == me["aieco"] and meta["git_revision"] == me["git_revision"]
        assert meta["pid"] != os.getpid()
    manifest = json.loads((tmp_path / "res" / "manifest.json").read_text())
    assert [w["aieco"] for w in manifest["workers"].values()] == [me["aieco"]]
    assert "numpy" in manifest["versions"] and len(manifest["versions"]) > 20


def test_the_dashboard_is_asked_for_explicitly_and_checked(
    sweep_file, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "res"
    assert main(["sweep", str(sweep_file), "--out", str(out), "--dashboard", "nope"]) == 2
    assert "must be PORT or HOST:PORT" in capsys.readouterr().err
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "bokeh" else real(name, *a)
    )
    assert main(["sweep", str(sweep_file), "--out", str(out), "--dashboard", "8787"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'aieco[cluster]'" in err
    assert not out.exists()
