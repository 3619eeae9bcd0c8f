"""Start the browser app as a Solara server process (what ``aieco viz`` runs).

The front end is served from the ``solara-assets`` package, so nothing is fetched from a CDN.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"


def command(host: str = "127.0.0.1", port: int = 8765, production: bool = True) -> list[str]:
    """The command line that serves the app."""
    cmd = [
        sys.executable,
        "-m",
        "solara",
        "run",
        str(APP),
        "--host",
        host,
        "--port",
        str(int(port)),
        "--no-open",
        "--no-check-version",
    ]
    if production:
        cmd.append("--production")
    return cmd


#: How long the server keeps the session of a tab whose connection dropped without the tab closing
#: (network loss, a laptop put to sleep) so that it can reconnect; a closed tab's session is freed
#: at once (the browser says so as it closes).
CULL_TIMEOUT = "120s"


def environment(cull_timeout: str | None = None) -> dict[str, str]:
    """Environment for the server: the repository importable, no telemetry, no CDN.

    ``cull_timeout`` (e.g. ``"10s"``) replaces :data:`CULL_TIMEOUT` (tests); without it an
    exported ``SOLARA_KERNEL_CULL_TIMEOUT`` is kept."""
    env = dict(os.environ)
    root = str(APP.parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    env.setdefault("SOLARA_TELEMETRY_SENTRY_ENABLE", "False")
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("SOLARA_THEME_SHOW_BANNER", "False")  # the badge covered the charts
    env.setdefault("SOLARA_THEME_TITLE", "aieco")
    # Reacton's tree walk that descends only into components whose state or arguments changed
    # (opt-in in reacton 1.11, tested there against the default walk): without it every Step
    # walked and reconciled the whole page (~400 elements, ~30 ms of a ~110 ms Step on a busy
    # machine). REACTON_FAST=0 in the environment turns it off.
    env.setdefault("REACTON_FAST", "1")
    # Solara's default keeps a disconnected tab's session (its models) for 24 hours.
    if cull_timeout is not None:
        env["SOLARA_KERNEL_CULL_TIMEOUT"] = cull_timeout
    env.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", CULL_TIMEOUT)
    return env


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, allow_remote: bool) -> str | None:
    """None if the address may be bound; else a one-line reason.

    The app runs models on the server for anyone who can reach it: an address other than the
    loopback one needs ``--allow-remote`` (and then a warning is printed)."""
    if is_loopback(host) or allow_remote:
        return None
    return (
        f"--host {host}: serves the app beyond this machine; add --allow-remote if that is "
        "what you want (anyone who can reach the address can run models here)"
    )


def start(
    host: str = "127.0.0.1",
    port: int = 8765,
    production: bool = True,
    cull_timeout: str | None = None,
    **popen,
) -> subprocess.Popen:
    """Start the server in the background (tests use this); the caller stops it."""
    return subprocess.Popen(command(host, port, production), env=environment(cull_timeout), **popen)


def serve(host: str = "127.0.0.1", port: int = 8765, production: bool = True) -> int:
    """Serve the app until interrupted (Ctrl+C, SIGTERM or SIGHUP stop the server process too);
    returns the server's exit code."""
    if not is_loopback(host):
        print(
            f"aieco viz: WARNING: serving on {host}, reachable from other machines; anyone who "
            "can reach it can run models on this computer.",
            file=sys.stderr,
            flush=True,
        )
    print(f"aieco viz: http://{host}:{port}  (Ctrl+C stops it)", flush=True)
    child = subprocess.Popen(command(host, port, production), env=environment())

    def stop(signum, frame):  # noqa: ARG001
        if child.poll() is None:
            child.terminate()
        raise SystemExit(0)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    try:
        return child.wait()
    except (KeyboardInterrupt, SystemExit):
        return 0
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m viz", description="Serve the aieco browser app."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other than 127.0.0.1 (prints a warning)",
    )
    parser.add_argument("--dev", action="store_true", help="auto-reload on code changes")
    args = parser.parse_args(argv)
    problem = check_host(args.host, args.allow_remote)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    return serve(args.host, args.port, production=not args.dev)
