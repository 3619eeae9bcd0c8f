"""The aieco command line: a real run writes its files; bad input exits 2 with one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

AIECO = [sys.executable, "-m", "experiments.cli"]


def aieco(*args, cwd=None):
    return subprocess.run([*AIECO, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_run_writes_all_outputs(tmp_path):
    out = tmp_path / "run"
    r = aieco("run", "hangzhou", "--years", "2", "--seed", "4", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "startups alive" in r.stdout
    for name in (
        "kpis.parquet",
        "firms.parquet",
        "firm_years.parquet",
        "manifest.json",
        "networks/genealogy.graphml",
        "networks/talent_flows.graphml",
        "networks/partnerships.graphml",
    ):
        assert (out / name).exists(), name
    k = pd.read_parquet(out / "kpis.parquet")
    assert k["month"].max() == 23
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 4
    assert manifest["scenario"]["meta"]["name"] == "hangzhou"
    assert "mesa" in manifest["versions"] and manifest["git_revision"]


def test_git_revision_is_dirty_for_changed_tracked_files_only(tmp_path):
    """A worktree's untracked link to a shared venv (or a results folder) does not make the
    stamp ``-dirty``; a changed tracked file does."""
    from ecosystem.run import git_revision

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "model.py").write_text("x = 1\n")
    git("add", "model.py")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    (tmp_path / ".venv").symlink_to(tmp_path)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "a.parquet").write_bytes(b"x")
    assert git_revision(tmp_path) == head
    (tmp_path / "model.py").write_text("x = 2\n")
    assert git_revision(tmp_path) == head + "-dirty"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["run", "hangzhou", "--set", "regions.hangzhou.policy.voucher_budget_yuan=-5"],
            "voucher_budget_yuan = -5",
        ),
        (
            ["run", "hangzhou", "--set", "regions.hangzhou.policy.voucher_rate=1.5"],
            "voucher_rate = 1.5",
        ),
        (["run", "atlantis"], "unknown preset"),
        (
            ["run", "hangzhou", "--set", 'regions.hangzhou.policy.voucher_rate="high"'],
            "voucher_rate = 'high'",
        ),
        (["run", "hangzhou", "--set", "regions.hangzhou.policy.voucher_ratee=0.3"], "unknown key"),
        (["run", "hangzhou", "--years", "-3"], "--years = -3"),
        (["run", "hangzhou", "--seed", "x"], "--seed"),
        # a seed must fit the int64 `seed` column of the outputs: refused before the run
        (["run", "hangzhou", "--seed", str(2**64)], "--seed = '18446744073709551616'"),
        (["validate", "nonexistent.toml"], "file not found"),
        (["calibrate", "hangzhou", "--budget", "0"], "--budget = 0"),
        (["calibrate", "hangzhou", "--check", "--budget", "5"], "not used by --check"),
        (["calibrate", "hangzhou", "--check", "--seeds", "0"], "--seeds = 0"),
        (["calibrate", "atlantis", "--budget", "5"], "CITY = 'atlantis'"),
        (["sweep", "x.toml", "--no-worker-timeout", "0"], "--no-worker-timeout = 0.0"),
        (["sweep", "x.toml", "--no-worker-timeout", "nan"], "--no-worker-timeout = nan"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, args, needle):
    out = tmp_path / "out"
    extra = ["--out", str(out)] if args[0] == "run" or "--budget" in args[2:3] else []
    r = aieco(*args, *extra)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and needle in lines[0]
    assert "Traceback" not in r.stderr
    assert not out.exists()


def test_presets_show_and_validate(tmp_path):
    r = aieco("presets")
    assert r.returncode == 0 and "hangzhou" in r.stdout
    r = aieco("show", "hangzhou")
    assert r.returncode == 0 and "[S67]" in r.stdout
    f = tmp_path / "resolved.toml"
    f.write_text(r.stdout)
    r = aieco("validate", str(f))
    assert r.returncode == 0 and r.stdout.startswith("ok:")


def test_calibrate_check_compares_a_scenario_with_its_targets(tmp_path):
    """Today's hand-calibration check, now ``aieco calibrate SCENARIO --check --seeds N``
    (``--seeds`` alone still means the check)."""
    from paired import TINY

    csv = tmp_path / "measures.csv"
    args = ("calibrate", str(TINY), "--seeds", "1", "--set", "meta.years=1", "--csv", str(csv))
    for extra in (["--check"], []):
        r = aieco(*args, *extra)
        assert r.returncode == 0, r.stderr
        assert "| target |" in r.stdout and "startups alive 1 year" in r.stdout
    assert len(pd.read_csv(csv)) == 1


def test_a_scenario_warning_is_printed_once_per_command(tmp_path, capsys):
    """Henan's graduates warn (ScenarioWarning); three replicates in this process, and a
    parameter draw per replicate, still print it once, as one line."""
    from experiments.cli import main as aieco

    argv = ["run", "henan", "--years", "1", "--replicates", "3", "--param-draws", "1",
            "--workers", "1", "--out", str(tmp_path / "r"), "--quiet"]  # fmt: skip
    assert aieco(argv) == 0
    err = capsys.readouterr().err
    assert err.count("regions.henan:") == 1
    assert "aieco: warning: regions.henan:" in err and "pydantic" not in err


def test_scenario_warnings_once_shows_each_message_once(capsys, monkeypatch):
    """Even when something resets the warning filters between two warnings (which makes Python
    show a warning again), each distinct ScenarioWarning is printed once; others pass through."""
    import warnings

    from ecosystem.scenario import ScenarioWarning
    from experiments.cli import scenario_warnings_once

    passed = []
    monkeypatch.setattr(warnings, "showwarning", lambda message, *a, **k: passed.append(message))
    with scenario_warnings_once():
        for text in ("a", "a", "b", "a"):
            with warnings.catch_warnings():
                warnings.simplefilter("always")
                warnings.warn(text, ScenarioWarning, stacklevel=1)
                warnings.warn("other", UserWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert err.count("aieco: warning: a") == 1 and err.count("aieco: warning: b") == 1
    assert [str(m) for m in passed] == ["other"] * 4
