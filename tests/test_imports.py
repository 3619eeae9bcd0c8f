"""Dependencies point one way: every module of the project imports alone, in a fresh interpreter.

An import cycle (``agents`` -> ``ecosystem.model`` -> ``agents``) only shows when the module is
the first thing imported; the test suite imports ``ecosystem`` early, so each module is checked
in its own process. Also checked: ``ecosystem`` and ``agents`` import nothing from
``experiments`` or ``viz``, and nothing imports ``viz``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ecosystem", "agents", "experiments", "viz")


def _modules() -> list[str]:
    out = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts[-1] == "__main__":
                continue
            out.append(".".join(parts))
    return out


MODULES = _modules()


_ALONE = """
import importlib, sys, traceback
mods = sys.argv[1:]
failed = 0
for m in mods:
    for name in [n for n in sys.modules if n.split(".")[0] in {packages!r}]:
        del sys.modules[name]
    try:
        importlib.import_module(m)
    except BaseException as e:
        failed += 1
        print(f"{{m}}: {{type(e).__name__}}: {{e}}")
sys.exit(1 if failed else 0)
"""


def test_each_package_imports_alone_in_a_fresh_interpreter():
    for pkg in PACKAGES:
        r = subprocess.run(
            [sys.executable, "-c", f"import {pkg}"], cwd=ROOT, capture_output=True, text=True
        )
        assert r.returncode == 0, f"import {pkg}: " + r.stderr.strip().splitlines()[-1]


def test_every_module_imports_first():
    """Each module is imported with no module of the project loaded before it (third-party
    libraries stay loaded, so one interpreter serves all modules): an import cycle shows."""
    script = _ALONE.format(packages=set(PACKAGES))
    r = subprocess.run(
        [sys.executable, "-c", script, *MODULES], cwd=ROOT, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr[-2000:]


def test_an_import_cycle_is_caught(tmp_path):
    """The check above can fail: a two-module cycle entered from the 'wrong' side is reported."""
    pkg = tmp_path / "cyc"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from cyc.a import A\n")
    (pkg / "a.py").write_text("from cyc.b import B\nA = 1\n")
    (pkg / "b.py").write_text("from cyc import A\nB = 2\n")
    script = _ALONE.format(packages={"cyc"})
    r = subprocess.run(
        [sys.executable, "-c", script, "cyc.b"], cwd=tmp_path, capture_output=True, text=True
    )
    assert r.returncode == 1 and "cyc.b: ImportError" in r.stdout


def _imported(path: Path) -> set[str]:
    """Top-level package names a module imports (at any level of the file)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("pkg", PACKAGES)
def test_dependencies_point_one_way(pkg):
    forbidden = {"viz"} | ({"experiments"} if pkg in ("ecosystem", "agents") else set())
    forbidden.discard(pkg)
    bad = {
        str(p.relative_to(ROOT)): sorted(_imported(p) & forbidden)
        for p in (ROOT / pkg).rglob("*.py")
        if _imported(p) & forbidden
    }
    assert not bad, bad


def test_agents_import_the_model_only_for_type_annotations():
    """``agents`` never imports ``ecosystem`` at run time (only under ``TYPE_CHECKING``)."""
    for path in (ROOT / "agents").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module-level statements only; TYPE_CHECKING blocks are ``If``
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("ecosystem"), f"{path.name}: {node.module}"


def test_torch_and_sbi_are_imported_only_by_inference():
    """torch and sbi (the optional extra ``calibrate``, ~5.5 GB, a cold import of many seconds)
    are imported inside the functions of ``experiments.inference`` that train or sample: the
    model, the agents, every module of the project and the CLI's parser start without them."""
    script = (
        "import sys, importlib\n"
        f"for m in {MODULES!r}:\n"
        "    importlib.import_module(m)\n"
        "from experiments.cli import main\n"
        "try:\n"
        "    main(['calibrate', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sbi'))\n"
        "print(bad[:5])\n"
        "sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
