"""Loud, bounded failure on a Dask cluster, with real scheduler and worker processes on 127.0.0.1.

* a worker that cannot import aieco, or runs another aieco, stops the sweep before any run with
  one line naming it (exit 3);
* a sweep whose workers all die exits non-zero within a minute with one line, and so does
  one that loses its scheduler (no run is recorded as failed for it);
* Ctrl-C on a local sweep prints one line, with no port warning although 8787 is taken;
* every run records the aieco version and git revision of the worker that ran it;
* a worker killed in the middle of a run loses nothing: its run finishes on the other worker,
  with the serial sweep's numbers bit for bit;
* a run that kills its worker every time is tried ``ALLOWED_FAILURES + 1`` times, then recorded
  as failed with its seed and the reason, while the other runs finish.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from clusters import TINY_RUNS, dask_cluster, start_sweep, tiny_sweep, wait_for_runs

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


#: Runs of the sweep that the tests below interrupt after its first run: far more than can finish
#: between that first run file and the interruption, however loaded the machine (with 8 runs, a
#: starved sweep process once wrote all 8 before the test's Ctrl-C landed: "finished before").
LONG_RUNS = 4 * 50


@pytest.fixture
def long_sweep_file(tmp_path) -> Path:
    return tiny_sweep(tmp_path, months=12, replicates=LONG_RUNS // 4)


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


def interrupted_sweep(sweep_file: Path, out: Path, interrupt, *options: str):
    """Start a sweep, ``interrupt()`` it after its first run, and return (exit code, stderr,
    seconds from the interruption to the exit); fails the test if every run finished first."""
    proc = start_sweep(sweep_file, out, *options)
    try:
        wait_for_runs(proc, out)
        interrupt(proc)
        at = time.monotonic()
        _, err = proc.communicate(timeout=120)
        elapsed = time.monotonic() - at
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if len(list((out / "runs").glob("*.parquet"))) == LONG_RUNS:
        pytest.fail("the sweep finished before it could be interrupted")
    return proc.returncode, err.decode(), elapsed


def test_killing_every_worker_ends_the_sweep_with_one_line(long_sweep_file, tmp_path):
    out = tmp_path / "res"
    with dask_cluster(tmp_path, n_workers=2) as (address, workers):

        def kill_workers(_):
            for w in workers:
                os.killpg(w.pid, signal.SIGKILL)

        # a short wait for a worker to come back (the default is 30 s), as a user may ask
        code, err, elapsed = interrupted_sweep(
            long_sweep_file, out, kill_workers, "--scheduler", address, "--no-worker-timeout", "5"
        )
    assert code == 3, err
    assert err.count("\n") == 1 and "no Dask worker left for 5 s" in err, err
    assert "--resume" in err
    assert elapsed < 60 + 5
    assert json.loads((out / "manifest.json").read_text())["status"] == "incomplete"


def test_losing_the_scheduler_stops_the_sweep_with_one_line(long_sweep_file, tmp_path):
    """The client cancels every future when its scheduler goes: the runs left are not recorded
    as failed; the sweep stops with one line saying how to complete it."""
    from distributed import Client

    out = tmp_path / "res"
    with dask_cluster(tmp_path, n_workers=2) as (address, _):
        with Client(address, timeout="30s") as client:
            scheduler_pid = client.run_on_scheduler(os.getpid)
        code, err, _ = interrupted_sweep(
            long_sweep_file,
            out,
            lambda _: os.kill(scheduler_pid, signal.SIGKILL),
            "--scheduler",
            address,
        )
    assert code == 3, err
    assert err.count("\n") == 1 and "lost the connection to the Dask scheduler" in err, err
    assert "--resume" in err
    manifest = json.loads((out / "manifest.json").read_text())
    summary = pd.read_parquet(out / "summary.parquet")
    failed = summary.loc[summary["status"] != "ok", "error"].tolist()
    assert manifest["status"] == "incomplete" and manifest["counts"]["failed"] == 0, failed


def test_ctrl_c_on_a_local_sweep_prints_one_line_and_no_port_warning(long_sweep_file, tmp_path):
    """Two local workers, port 8787 taken by someone else: one line on stderr, exit 130."""
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        blocker.bind(("127.0.0.1", 8787))
        blocker.listen()
    except OSError:
        pass  # already taken: just as good
    out = tmp_path / "res"
    try:
        code, err, _ = interrupted_sweep(
            long_sweep_file,
            out,
            lambda proc: os.killpg(proc.pid, signal.SIGINT),  # what a terminal's Ctrl-C does
            "--workers",
            "2",
        )
    finally:
        blocker.close()
    assert code == 130, err
    assert err.splitlines() == ["interrupted; rerun the same command with --resume to complete it"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "incomplete"


def test_quieting_dask_silences_its_critical_shutdown_reports_too():
    """The scheduler's "Closed comm ... while trying to write" report after a Ctrl-C is logged at
    CRITICAL: quieting Dask must drop it, and restoring the levels must bring logging back."""
    import logging

    import distributed  # noqa: F401 (its logging set up, as in a sweep)

    names = ("distributed.scheduler", "distributed.batched", "distributed.comm")
    levels = runner._quiet_dask()
    try:
        assert not any(logging.getLogger(n).isEnabledFor(logging.CRITICAL) for n in names)
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    assert all(logging.getLogger(n).isEnabledFor(logging.CRITICAL) for n in names)


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


# --------------------------------------------------------------------------------------------
# Lost workers: a killed worker's runs finish elsewhere; a run that keeps killing its worker is
# failed after the bound (ALLOWED_FAILURES), on a hand-started scheduler.
# --------------------------------------------------------------------------------------------
#: Preload for worker w0: when it starts its second run, it SIGKILLs its own process group (the
#: nanny and the worker), so that run is lost mid-way with the worker, which never comes back.
KILL_WORKER_MID_RUN = """
import os, signal
from pathlib import Path

import experiments.tasks as tasks

if not hasattr(tasks, "real_execute_run"):  # Dask may run a preload file twice
    tasks.real_execute_run = tasks.execute_run
    started = []

    def execute_run(task, *args, **kwargs):
        started.append(task.run_id)
        if len(started) == 2:
            Path({log!r}).write_text(f"{{task.run_id}} {{os.getpid()}}")
            os.killpg(os.getpgid(0), signal.SIGKILL)
        return tasks.real_execute_run(task, *args, **kwargs)

    tasks.execute_run = execute_run
"""

#: Preload for every worker: the run named ``victim`` SIGKILLs the worker process running it
#: (its nanny starts a new one), every time it is tried; each death is logged.
KILL_WORKER_ON_RUN = """
import os, signal

import experiments.tasks as tasks

if not hasattr(tasks, "real_execute_run"):
    tasks.real_execute_run = tasks.execute_run

    def execute_run(task, *args, **kwargs):
        if task.run_id.endswith({victim!r}):
            with open({log!r}, "a") as f:
                f.write(f"{{os.getpid()}}\\n")
            os.kill(os.getpid(), signal.SIGKILL)
        return tasks.real_execute_run(task, *args, **kwargs)

    tasks.execute_run = execute_run
"""


@pytest.fixture(scope="module")
def short_sweep(tmp_path_factory) -> tuple[Path, Path]:
    """The tiny sweep over 6 months and its serial results: the reference for every engine."""
    folder = tmp_path_factory.mktemp("short")
    path = tiny_sweep(folder, months=6)
    report = runner.run_experiment(
        load_experiment(path), folder / "serial", workers=1, progress=False
    )
    assert report.ok == TINY_RUNS
    return path, folder / "serial"


def same_as_serial(serial: Path, out: Path, skip: set[str] = frozenset()) -> None:
    """Every run of ``out`` (but ``skip``) equals the serial sweep's, outcomes and monthly KPIs
    bit for bit."""
    ref = pd.read_parquet(serial / "summary.parquet").drop(columns=["elapsed_s"])
    got = pd.read_parquet(out / "summary.parquet").drop(columns=["elapsed_s"])
    ref, got = (
        df[~df["run_id"].isin(skip)].astype({"status": str}).reset_index(drop=True)
        for df in (ref, got)
    )
    pd.testing.assert_frame_equal(got, ref)
    for run_id in ref["run_id"]:
        a = pq.read_table(serial / "runs" / f"{run_id}.parquet").replace_schema_metadata()
        b = pq.read_table(out / "runs" / f"{run_id}.parquet").replace_schema_metadata()
        assert a.equals(b), run_id


def test_a_worker_killed_mid_run_loses_no_run(short_sweep, tmp_path):
    """Two workers; w0 is killed (nanny and all) in the middle of its second run: that run and
    every other finish on w1, with the serial sweep's numbers."""
    path, serial = short_sweep
    log = tmp_path / "killed.txt"
    (tmp_path / "kill.py").write_text(KILL_WORKER_MID_RUN.format(log=str(log)))
    extra = {0: ["--preload", str(tmp_path / "kill.py")]}
    with dask_cluster(tmp_path, n_workers=2, extra=extra) as (address, workers):
        out = tmp_path / "res"
        report = runner.run_experiment(
            load_experiment(path), out, scheduler=address, progress=False
        )
        assert workers[0].wait(timeout=30) is not None  # w0's nanny is gone too
        survivor = [w for w in workers[1:] if w.poll() is None]
        assert survivor
    assert log.is_file(), "w0 was never killed"
    lost, w0 = log.read_text().split()
    assert report.ok == TINY_RUNS and report.failed == 0, report.failures
    pids = {runner.read_run_meta(p)["pid"] for p in (out / "runs").glob("*.parquet")}
    survivor = runner.read_run_meta(out / "runs" / f"{lost}.parquet")["pid"]
    # the lost run finished on w1; so did w0's finished run if its result was still on w0
    assert survivor != int(w0) and pids <= {survivor, int(w0)}
    same_as_serial(serial, out)


def test_a_run_that_keeps_killing_its_worker_fails_after_the_bound(short_sweep, tmp_path):
    """A hand-started scheduler (allowed-failures left at Dask's default, 3) and two workers
    whose nannies restart them: the run that kills its worker is tried ALLOWED_FAILURES + 1
    times, then recorded as failed with its seed and the reason; the other runs finish."""
    path, serial = short_sweep
    exp = load_experiment(path)
    victim = next(t for t in exp.tasks if t.point == 1 and t.replicate == 0)
    log = tmp_path / "deaths.txt"
    (tmp_path / "kill.py").write_text(KILL_WORKER_ON_RUN.format(victim=victim.run_id, log=str(log)))
    preload = ["--preload", str(tmp_path / "kill.py")]
    with dask_cluster(tmp_path, n_workers=2, extra={0: preload, 1: preload}) as (address, _):
        out = tmp_path / "res"
        code = main(["sweep", str(path), "--out", str(out), "--scheduler", address, "--quiet"])
    assert code == 1
    deaths = log.read_text().split()
    assert len(deaths) == runner.ALLOWED_FAILURES + 1 and len(set(deaths)) == len(deaths)
    summary = pd.read_parquet(out / "summary.parquet")
    failed = summary[summary["status"] == "failed"]
    assert list(failed["run_id"]) == [victim.run_id]
    assert list(failed["seed"]) == [victim.seed]
    reason = failed["error"].iloc[0]
    assert f"lost its worker {runner.ALLOWED_FAILURES + 1} times" in reason, reason
    assert (summary["status"] == "ok").sum() == TINY_RUNS - 1
    same_as_serial(serial, out, skip={victim.run_id})
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete_with_failures"
    assert manifest["counts"] == {"ok": TINY_RUNS - 1, "failed": 1, "pending": 0}


def test_a_run_whose_result_was_lost_with_its_worker_is_not_counted_as_a_crash(monkeypatch):
    """``tasks.run_on_dask`` counts a start as a death only while the run has not returned: a
    run that finished on a worker that then died (its result lost before the client gathered
    it, so Dask computes it again) may be computed any number of times; a run that dies each
    time it starts fails after the bound. Seen on a loaded machine: a finished neighbour of the
    run that kills its worker was recorded as failed."""
    import distributed

    import experiments.tasks as tasks

    class Scheduler:  # the task metadata the scheduler keeps, under the task's key
        def __init__(self):
            self.meta = {}

        def get_metadata(self, key, default=None):
            return self.meta.get(key, default)

        def set_metadata(self, key, value):
            self.meta[key] = value

    class Worker:
        def get_current_task(self):
            return "aieco-run"

    sched = Scheduler()
    monkeypatch.setattr(distributed, "get_client", lambda: sched)
    monkeypatch.setattr(distributed, "get_worker", lambda: Worker())
    task = type("Task", (), {"run_id": "run", "seed": 7})()
    monkeypatch.setattr(tasks, "run_one", lambda task, *a: {"run_id": task.run_id, "status": "ok"})
    for _ in range(runner.ALLOWED_FAILURES + 3):  # finished, result lost, computed again ...
        assert (
            tasks.run_on_dask(task, {}, [], allowed_failures=runner.ALLOWED_FAILURES)["status"]
            == "ok"
        )

    def dies(task, *a):
        raise SystemExit("the worker process died")  # run_one never returns

    monkeypatch.setattr(tasks, "run_one", dies)
    monkeypatch.setattr(
        tasks, "failed_record", lambda task, error: {"status": "failed", "e": error}
    )
    for _ in range(runner.ALLOWED_FAILURES + 1):
        with pytest.raises(SystemExit):
            tasks.run_on_dask(task, {}, [], allowed_failures=runner.ALLOWED_FAILURES)
    record = tasks.run_on_dask(task, {}, [], allowed_failures=runner.ALLOWED_FAILURES)
    assert record["status"] == "failed" and "3 times" in record["e"], record


def test_gather_helpers_orphaned_by_a_timeout_are_not_reported(caplog):
    """A gather that times out on a result lost with its worker leaves Dask's per-key helpers
    behind; they end with Dask's internal ``AllExit`` once the client closes, and asyncio
    reported that with a traceback after the sweep's one-line error (seen once in CI, in
    ``test_killing_every_worker_ends_the_sweep_with_one_line``). The sweep's client drops
    exactly those reports; any other unretrieved error is still reported."""
    import asyncio
    import gc
    import logging

    from distributed import Client
    from distributed.client import AllExit

    def orphan(client, exc):
        async def helper():
            raise exc

        async def start():
            asyncio.ensure_future(helper())  # nobody awaits it, like All's helpers
            await asyncio.sleep(0.05)

        client.sync(start)
        gc.collect()

    caplog.set_level(logging.ERROR, logger="asyncio")
    with Client(processes=False, n_workers=0, dashboard_address=None) as client:
        orphan(client, AllExit())
        assert "AllExit" in caplog.text  # what a user saw
        caplog.clear()
        runner._drop_orphaned_gathers(client)
        runner._drop_orphaned_gathers(client)  # a second sweep in the same process
        orphan(client, AllExit())
        assert "never retrieved" not in caplog.text
        orphan(client, ValueError("a real error"))
        assert "never retrieved" in caplog.text and "a real error" in caplog.text
