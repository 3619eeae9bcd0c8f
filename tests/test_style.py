"""House style is enforced, not hoped for: ``ruff format`` and ``ruff check`` (with the
100-character line rule, E501) over the whole repository, with the settings in ``pyproject.toml``.

ruff is pinned to one minor version in the ``test`` extra, because its formatter's output may change
between minor versions; upgrading it is one commit that also reformats.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    "args",
    [("format", "--check", "."), ("check", "--output-format", "concise", ".")],
    ids=["format", "lint"],
)
def test_ruff_is_clean(args):
    proc = _ruff(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_line_length_rule_is_on():
    import tomllib

    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert "E501" not in lint.get("ignore", [])
    assert "E" in lint["select"]
