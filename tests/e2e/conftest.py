"""Browser tests: Debian's Chromium driven by Playwright against ``aieco viz`` in a subprocess."""

from __future__ import annotations

import os
import shutil
import socket
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("AIECO_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config, items):
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        # In CI a missing browser is a broken install, not a reason to skip (.ci/run installs it).
        raise pytest.UsageError(f"CI: no Chromium at {CHROMIUM}; .ci/run should have installed it")
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": LAUNCH_ARGS,
        "headless": True,
    }


@pytest.fixture(scope="package")
def browser(launch_browser):
    """pytest-playwright's browser, closed after the last browser test (with the pages a test
    opened on it) instead of at the end of the whole suite: an idle Chromium still holding Solara
    sessions costs CPU that the other tests need."""
    browser = launch_browser()
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": {"width": 1440, "height": 900},
        "accept_downloads": True,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


viz_server_pid = [0]


@pytest.fixture(scope="package")
def server_pid(viz_url) -> int:
    """Process id of the Solara server (for memory measurements)."""
    return viz_server_pid[0]


def start_server(log, **options):
    """``aieco viz`` (through ``viz.server``) on a free port, writing to ``log``; returns the
    process and its address once it answers. ``options`` go to ``viz.server.start``."""
    from viz import server

    port = _free_port()
    proc = server.start("127.0.0.1", port, stdout=log, stderr=log, **options)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 240
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"viz server exited with {proc.returncode}; see {log.name}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return proc, url
        except OSError:
            if time.time() > deadline:
                proc.terminate()
                raise RuntimeError("viz server did not start in 240 s") from None
            time.sleep(0.5)


def stop_server(proc) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except Exception:  # noqa: BLE001
        proc.kill()


@pytest.fixture(scope="package")
def viz_url():
    """``aieco viz`` on a free port for the browser tests (stopped after the last of them, not at
    the end of the whole suite: an idle Solara server still costs CPU)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "server.log", "w") as log:
        proc, url = start_server(log)
        viz_server_pid[0] = proc.pid
        yield url
        stop_server(proc)


#: Seconds a disconnected tab's session lives on the server of :func:`fresh_server` (120 s in use).
FRESH_CULL_S = 20


@pytest.fixture
def fresh_server():
    """(address, process id, cull seconds) of a server of its own for one test, so what it
    measures does not depend on what earlier tests did; a disconnected tab's session lives
    ``FRESH_CULL_S``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "server-fresh.log", "w") as log:
        proc, url = start_server(log, cull_timeout=f"{FRESH_CULL_S}s")
        yield url, proc.pid, FRESH_CULL_S
        stop_server(proc)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
