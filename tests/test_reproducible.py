"""The same seed gives the same run on every x86-64 machine (ecosystem/reproducible.py): numpy's
AVX-512 paths, whose last bits differ from the AVX2 ones, are switched off before numpy loads."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from ecosystem import reproducible


def _environment_after(code: str, env: dict[str, str] | None = None) -> str:
    """What NPY_DISABLE_CPU_FEATURES is in a fresh interpreter after ``code`` ran."""
    clean = {k: v for k, v in os.environ.items() if k != reproducible.VARIABLE}
    show = f"import os; print(os.environ.get('{reproducible.VARIABLE}'))"
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\n{show}"],
        capture_output=True,
        text=True,
        check=True,
        env={**clean, **(env or {})},
    )
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("package", ["ecosystem", "experiments", "experiments.cli", "viz"])
def test_every_entry_package_pins_numpy_before_numpy_loads(package):
    pinned = " ".join(reproducible.DISABLED)
    assert _environment_after(f"import {package}\nimport numpy") == pinned


def test_a_users_own_setting_and_an_earlier_numpy_are_left_alone():
    assert _environment_after("import ecosystem", {reproducible.VARIABLE: "X86_V3"}) == "X86_V3"
    # numpy loaded first: too late to pin; the model warns instead (on an AVX-512 machine)
    assert _environment_after("import numpy\nimport ecosystem") == "None"


def test_this_test_process_runs_the_machine_independent_paths():
    """The suite (and the golden outputs it compares) ran with the AVX-512 paths off: pytest's
    plugins and conftest did not load numpy before ``ecosystem`` could pin it."""
    assert os.environ.get(reproducible.VARIABLE), "numpy was imported before ecosystem"
    assert reproducible.avx512_paths_active() == []


def test_a_model_warns_once_when_numpy_runs_avx512_paths(monkeypatch):
    from ecosystem import AIEcosystem, load_scenario

    tiny = load_scenario(str(Path(__file__).parent / "presets" / "tiny.toml"))

    monkeypatch.setattr(reproducible, "avx512_paths_active", lambda: ["X86_V4"])
    monkeypatch.setattr(reproducible, "_warned", False)
    with pytest.warns(reproducible.MachineDependentWarning, match="X86_V4.*bit-wise"):
        AIEcosystem(tiny, rng=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", reproducible.MachineDependentWarning)
        AIEcosystem(tiny, rng=1)  # once per process


def test_a_runs_manifest_says_which_numpy_paths_it_ran():
    from ecosystem import load_scenario
    from ecosystem.run import run_scenario

    tiny = load_scenario(str(Path(__file__).parent / "presets" / "tiny.toml"))
    manifest = run_scenario(tiny, seed=1, months=1).manifest()
    assert manifest["numpy_avx512_paths"] == []  # the pinned, machine-independent ones


OURS = {"ecosystem", "experiments", "viz"}  # each pins numpy's paths on import
ROOT = Path(__file__).resolve().parents[1]


def _scripts() -> list[Path]:
    """The files people run as ``python FILE`` (benchmarks, examples, the golden regenerator, the
    app's data maker): outside a package's ``__init__``, nothing pins numpy for them."""
    found = [*ROOT.glob("benchmarks/*.py"), *ROOT.glob("experiments/examples/*.py")]
    extra = ("tests/golden/regenerate.py", "viz/data/make_china_outline.py")
    return sorted([*found, *(ROOT / p for p in extra)])


def _first_outside_import(path: Path) -> str | None:
    """The top-level package of the script's first import that is neither the standard library
    nor the script's own folder's helpers, in the order Python runs them."""
    import ast

    local = {p.stem for p in path.parent.glob("*.py")}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top not in local and top != "__future__":
                return top
    return None


@pytest.mark.parametrize("script", _scripts(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_script_imports_aieco_before_numpy(script):
    """A script whose first import is numpy (or pandas, mesa, ... which load it) runs numpy's
    AVX-512 paths on machines that have them, and its figures differ from other machines'."""
    first = _first_outside_import(script)
    assert first is None or first in OURS, (
        f"{script.relative_to(ROOT)} imports {first} first: put `import ecosystem.reproducible` "
        "(or any ecosystem/experiments/viz import) above it"
    )
