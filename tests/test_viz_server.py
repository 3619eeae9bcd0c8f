"""``aieco viz``: loopback unless asked, and stopping it stops the server it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest

from viz import server


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_hosts_need_no_flag(host):
    assert server.check_host(host, allow_remote=False) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.org"])
def test_other_hosts_need_allow_remote(host):
    problem = server.check_host(host, allow_remote=False)
    assert problem and "--allow-remote" in problem and "\n" not in problem
    assert server.check_host(host, allow_remote=True) is None


def test_aieco_viz_refuses_all_interfaces_without_the_flag():
    out = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "viz", "--host", "0.0.0.0", "--port", "8799"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "--allow-remote" in out.stderr and "Traceback" not in out.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sigterm_stops_the_server_process_too():
    port = _free_port()
    launcher = subprocess.Popen(
        [sys.executable, "-m", "experiments.cli", "viz", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=server.environment(),
    )
    try:
        deadline = time.time() + 120
        children: list[psutil.Process] = []
        while time.time() < deadline and not children:
            children = psutil.Process(launcher.pid).children(recursive=True)
            time.sleep(0.3)
        assert children, "aieco viz started no server process"
        os.kill(launcher.pid, signal.SIGTERM)
        assert launcher.wait(30) == 0
        gone, alive = psutil.wait_procs(children, timeout=30)
        assert not alive, f"left running: {[p.pid for p in alive]}"
    finally:
        if launcher.poll() is None:
            launcher.kill()
        for p in psutil.Process().children(recursive=True):
            p.kill()
