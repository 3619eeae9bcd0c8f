"""Real Dask processes on 127.0.0.1 and a tiny sweep, shared by the sweep and Dask tests and by
``benchmarks/sweep_throughput.py``.

    from clusters import TINY_SWEEP, dask_cluster   # tests/ is on sys.path under pytest

    with dask_cluster(tmp_path, n_workers=2) as (address, workers):
        run_experiment(exp, out, scheduler=address)  # workers: their Popen objects (nanny groups)

The scheduler and every worker are started as ``dask scheduler`` / ``dask worker`` commands, each
in its own process group (a worker's group holds its nanny and the worker process), exactly as a
researcher starts a cluster by hand; everything is killed on exit.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DASK = Path(sys.executable).with_name("dask")

#: 2 voucher rates x 2 portability values x 2 replicates = 8 runs of the Hangzhou preset.
TINY_SWEEP = """
[experiment]
name = "tiny_sweep"
scenario = "hangzhou"
replicates = 2
root_seed = 11
months = 24

[levers.voucher_rate]
path = "regions.hangzhou.policy.voucher_rate"
values = [0.0, 0.8]

[levers.voucher_portable]
path = "regions.hangzhou.policy.voucher_portable"
values = [false, true]

[design]
method = "factorial"

[outcomes]
summary = ["startups_alive_y1", "startups_alive_end", "voucher_spent_yuan_total",
           "voucher_additional_gpu_h_total", "west_utilization_end", "public_spending_yuan_total"]
kpis = ["startups_alive", "voucher_spent_yuan"]
"""
TINY_RUNS = 8


def tiny_sweep(
    folder: Path, months: int = 24, name: str = "tiny_sweep.toml", replicates: int = 2
) -> Path:
    """Write :data:`TINY_SWEEP` with another horizon (and number of replicates: 4 runs each) to
    ``folder/name``; return its path."""
    path = Path(folder) / name
    text = TINY_SWEEP.replace("months = 24", f"months = {months}")
    path.write_text(text.replace("replicates = 2", f"replicates = {replicates}"))
    return path


def start_sweep(sweep_file: Path, out: Path, *options: str, stdout=subprocess.PIPE):
    """``aieco sweep FILE --out OUT --quiet OPTIONS`` as its own process group (stderr piped)."""
    return subprocess.Popen(
        [sys.executable, "-m", "experiments.cli", "sweep", str(sweep_file), "--out", str(out)]
        + ["--quiet", *options],
        cwd=ROOT,
        stdout=stdout,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def wait_for_runs(proc: subprocess.Popen, out: Path, n: int = 1, timeout: float = 300) -> None:
    """Wait until ``out`` holds ``n`` run files; fail with the sweep's stderr if it stopped."""
    deadline = time.monotonic() + timeout
    while len(list((out / "runs").glob("*.parquet"))) < n:
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < deadline, f"fewer than {n} runs after {timeout} s"
        time.sleep(0.05)


def spawn(args: list[str], log: Path | None = None) -> subprocess.Popen:
    """Start a command in its own process group (its output to ``log``, or nowhere)."""
    out = log.open("wb") if log is not None else subprocess.DEVNULL
    return subprocess.Popen(
        args,
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "True"},
    )


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL a process group started by :func:`spawn` and reap its leader."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)


@contextmanager
def dask_cluster(
    tmp: Path,
    n_workers: int = 2,
    extra: dict[int, list[str]] | None = None,
    wait: int | None = None,
    logs: bool = True,
) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """A scheduler and ``n_workers`` workers (one thread each, with a nanny); ``extra[i]`` adds
    arguments to worker i; waits for ``wait`` workers (default: all). Yields (address, workers).
    """
    from distributed import Client

    procs: list[subprocess.Popen] = []
    sched_file = tmp / "scheduler.json"

    def log(name: str) -> Path | None:
        return tmp / name if logs else None

    try:
        procs.append(
            spawn(
                [
                    str(DASK),
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(sched_file),
                ],
                log("scheduler.log"),
            )
        )
        deadline = time.monotonic() + 60
        while not sched_file.exists() or not sched_file.read_text().strip():
            assert procs[0].poll() is None, "the Dask scheduler exited at start"
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        workers = []
        for i in range(n_workers):
            w = spawn(
                [
                    str(DASK),
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    "--name",
                    f"w{i}",
                    "--death-timeout",
                    "60",
                    *(extra or {}).get(i, []),
                ],
                log(f"worker{i}.log"),
            )
            procs.append(w)
            workers.append(w)
        if n_workers:
            with Client(address, timeout="30s") as client:
                client.wait_for_workers(n_workers if wait is None else wait, timeout=120)
        yield address, workers
    finally:
        for p in reversed(procs):
            kill(p)
