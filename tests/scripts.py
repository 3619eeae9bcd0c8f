"""Load a script of the repository (an example, a benchmark) as a module, so that a test can
call the functions behind a page the script writes.

    from scripts import load_script   # tests/ is on sys.path under pytest
    mod = load_script("experiments/examples/compute_balance.py")
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def load_script(path: str) -> ModuleType:
    """The script at ``path`` (relative to the repository root), executed as a fresh module."""
    file = ROOT / path
    spec = importlib.util.spec_from_file_location(file.stem, file)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
