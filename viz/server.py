"""Start the browser app as a Solara server process (what ``aieco viz`` runs).

The front end is served from the ``solara-assets`` package, so nothing is fetched from a CDN.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"


def command(host: str = "127.0.0.1", port: int = 8765, production: bool = True) -> list[str]:
    """The command line that serves the app."""
    cmd = [sys.executable, "-m", "solara", "run", str(APP), "--host", host, "--port", str(int(port)),
           "--no-open", "--no-check-version"]
    if production:
        cmd.append("--production")
    return cmd


def environment() -> dict[str, str]:
    """Environment for the server: the repository importable, no telemetry, no CDN."""
    env = dict(os.environ)
    root = str(APP.parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    env.setdefault("SOLARA_TELEMETRY_SENTRY_ENABLE", "False")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def start(host: str = "127.0.0.1", port: int = 8765, production: bool = True, **popen) -> subprocess.Popen:
    """Start the server in the background (tests use this); the caller stops it."""
    return subprocess.Popen(command(host, port, production), env=environment(), **popen)


def serve(host: str = "127.0.0.1", port: int = 8765, production: bool = True) -> int:
    """Serve the app until interrupted; returns the server's exit code."""
    print(f"aieco viz: http://{host}:{port}  (Ctrl+C stops it)", flush=True)
    try:
        return subprocess.call(command(host, port, production), env=environment())
    except KeyboardInterrupt:
        return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m viz", description="Serve the aieco browser app.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--dev", action="store_true", help="auto-reload on code changes")
    args = parser.parse_args(argv)
    return serve(args.host, args.port, production=not args.dev)
