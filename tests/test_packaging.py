"""The built wheel works on its own: installed in a fresh venv it runs the main commands and the
app finds its Info page (issue 13, point 1).

The wheel is built offline from a copy of the source tree (``pip wheel --no-build-isolation``
with the test environment's setuptools) and installed with ``--no-deps`` into a fresh venv whose
only other packages are this environment's dependencies (a ``.pth`` line; the editable install
of the checkout is not visible there). The commands run outside the checkout, so every import
and every data file comes from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _run(cmd, cwd, timeout=300):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert r.returncode == 0, f"{cmd} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    keep = ["pyproject.toml", "README.md", "ecosystem", "agents", "experiments", "viz", "docs"]
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in keep:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(p, src / name)
    env = base / "env"
    _run([sys.executable, "-m", "venv", str(env)], cwd=base)
    py = env / "bin" / "python"
    site = Path(
        _run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=base
        ).stdout.strip()
    )
    # This environment's packages (dependencies, setuptools) without its editable aieco.
    (site / "_aieco_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    dist = base / "dist"
    _run(
        [
            str(py),
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(src),
        ],
        cwd=base,
    )
    wheels = list(dist.glob("aieco-*.whl"))
    assert len(wheels) == 1
    _run(
        [str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheels[0])], cwd=base
    )
    work = base / "work"
    work.mkdir()
    return env, work, wheels[0]


def test_wheel_carries_the_data_files(installed):
    _, _, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for p in (ROOT / "ecosystem" / "presets").rglob("*.toml"):
        assert p.relative_to(ROOT).as_posix() in names, p
    # experiment specs: examples, calibration/ and the global-sensitivity specs of gsa/
    for p in (ROOT / "experiments").rglob("*.toml"):
        assert p.relative_to(ROOT).as_posix() in names, p
    for p in (
        "viz/file_input.vue",
        "viz/things_to_try.md",
        "viz/ODD.md",
        "experiments/examples/voucher_rate_sweep.toml",
    ):
        assert p in names, p


def test_installed_wheel_runs_the_main_commands(installed):
    env, work, _ = installed
    aieco = str(env / "bin" / "aieco")
    py = str(env / "bin" / "python")
    where = _run(
        [py, "-c", "import ecosystem, viz; print(ecosystem.__file__, viz.__file__)"], cwd=work
    ).stdout
    assert all(Path(p).is_relative_to(env) for p in where.split()), where
    presets = _run([aieco, "presets"], cwd=work).stdout
    assert "hangzhou" in presets and "chengdu" in presets and "china" in presets
    _run([aieco, "run", "hangzhou", "--years", "1", "--out", "r", "--quiet"], cwd=work)
    assert (work / "r" / "kpis.parquet").is_file() and (work / "r" / "manifest.json").is_file()
    _run(
        [
            aieco,
            "compare",
            "hangzhou",
            "chengdu",
            "--years",
            "1",
            "--replicates",
            "1",
            "--param-draws",
            "2",
            "--out",
            "c",
            "--quiet",
            "--workers",
            "1",
        ],
        cwd=work,
    )
    assert (work / "c" / "comparison.parquet").is_file()
    # parameter draws need the calibration spec (experiments/calibration/*.toml) as package data
    drawn = pd.read_parquet(work / "c" / "comparison.parquet")
    assert (drawn["param_draws"] == 2).all()
    # the global-sensitivity spec loads from the installed package (with its calibration spec)
    gsa = _run(
        [
            py,
            "-c",
            "from pathlib import Path\n"
            "import experiments\n"
            "from experiments.global_sensitivity import load_gsa\n"
            "g = load_gsa(Path(experiments.__file__).parent / 'gsa' / 'hangzhou.toml')\n"
            "print(g.name, len(g.factors), g.source)",
        ],
        cwd=work,
    ).stdout.split()
    assert gsa[0] == "hangzhou_global" and int(gsa[1]) > 10 and Path(gsa[2]).is_relative_to(env)
    info = _run(
        [
            py,
            "-c",
            "from viz.components import read_info\n"
            "tips, odd = read_info()\n"
            "assert tips and odd is not None\n"
            "import sys; sys.stdout.write(odd)",
        ],
        cwd=work,
    ).stdout
    assert info == (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")


def test_repository_odd_link_is_the_document():
    """viz/ODD.md is the Info page's source in the checkout: the same file as docs/ODD.md."""
    link = ROOT / "viz" / "ODD.md"
    assert link.resolve() == (ROOT / "docs" / "ODD.md").resolve()
    from viz.components import read_info

    assert read_info()[1] == (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
