"""Resume that trusts nothing: every damaged or foreign file in a results directory is found,
moved aside (never deleted), reported and its run done again; unusable folders give one line.

Each test damages a copy of one finished serial sweep and resumes it with the CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from experiments.cli import main
from experiments.runner import read_run_meta

SWEEP = """
[experiment]
name = "resume_sweep"
scenario = "hangzhou"
replicates = 1
root_seed = {seed}
months = 12

[levers.voucher_rate]
path = "regions.hangzhou.policy.voucher_rate"
values = [0.0, 0.8]

[design]
method = "factorial"

[outcomes]
summary = ["startups_alive_y1", "voucher_spent_yuan_total"]
kpis = ["startups_alive"]
"""


def _sweep(folder: Path, seed: int) -> tuple[Path, Path]:
    f = folder / f"sweep{seed}.toml"
    f.write_text(SWEEP.format(seed=seed))
    out = folder / f"res{seed}"
    assert main(["sweep", str(f), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    return f, out


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    folder = tmp_path_factory.mktemp("resume")
    f, out = _sweep(folder, 7)
    _, foreign = _sweep(folder, 8)  # the same design with another root seed
    return f, out, foreign


@pytest.fixture
def copy(done, tmp_path):
    f, out, _ = done
    dest = tmp_path / "res"
    shutil.copytree(out, dest)
    return f, dest


def summary(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "summary.parquet").drop(columns=["elapsed_s"])


def resume(f: Path, out: Path, capsys) -> tuple[int, str, str]:
    code = main(["sweep", str(f), "--out", str(out), "--resume", "--workers", "1", "--quiet"])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err
    return code, cap.out, cap.err


def run_files(out: Path) -> list[Path]:
    return sorted((out / "runs").glob("*.parquet"))


def check_repaired(done, out: Path, err: str, what: str, reruns: int, stdout: str) -> None:
    _, ref, _ = done
    assert f"repaired: {what}" in err
    assert f"{reruns} ok, 0 failed, {2 - reruns} already done" in stdout
    pd.testing.assert_frame_equal(summary(out), summary(ref))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert any(item["path"] == what for item in manifest["repaired"])
    assert (out / "damaged").is_dir()  # moved aside, not deleted


@pytest.mark.parametrize(
    "content, reason",
    [
        (lambda text: text[: len(text) // 2], "not valid JSON"),
        (lambda text: b"\xff\xfe" + text.encode()[:40], "not UTF-8"),
        (lambda text: "[1, 2, 3]", "holds a JSON list"),
    ],
    ids=["truncated", "non-utf8", "not-an-object"],
)
def test_a_damaged_manifest_is_refused_without_resume_and_repaired_with_it(
    copy, done, capsys, content, reason
):
    f, out = copy
    text = (out / "manifest.json").read_text()
    data = content(text)
    if isinstance(data, bytes):
        (out / "manifest.json").write_bytes(data)
    else:
        (out / "manifest.json").write_text(data)
    assert main(["sweep", str(f), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds a sweep" in err
    assert main(["query", str(out), "SELECT count(*) FROM summary"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and reason in err and "--resume" in err
    code, stdout, err = resume(f, out, capsys)
    assert code == 0, err
    check_repaired(done, out, err, "manifest.json", 0, stdout)


def test_runs_replaced_by_a_file_is_moved_aside_and_every_run_done_again(copy, done, capsys):
    f, out = copy
    shutil.rmtree(out / "runs")
    (out / "runs").write_text("not a folder")
    code, stdout, err = resume(f, out, capsys)
    assert code == 0, err
    check_repaired(done, out, err, "runs", 2, stdout)
    assert len(run_files(out)) == 2


def test_a_directory_named_like_a_run_file_is_moved_aside(copy, done, capsys):
    f, out = copy
    victim = run_files(out)[0]
    victim.unlink()
    victim.mkdir()
    (victim / "user.txt").write_text("keep me")
    code, stdout, err = resume(f, out, capsys)
    assert code == 0, err
    check_repaired(done, out, err, f"runs/{victim.name}", 1, stdout)
    kept = list((out / "damaged").rglob("user.txt"))
    assert len(kept) == 1 and kept[0].read_text() == "keep me"


def test_a_truncated_run_file_is_run_again(copy, done, capsys):
    f, out = copy
    victim = run_files(out)[1]
    victim.write_bytes(victim.read_bytes()[:200])
    assert read_run_meta(victim) is None
    code, stdout, err = resume(f, out, capsys)
    assert code == 0, err
    check_repaired(done, out, err, f"runs/{victim.name}", 1, stdout)


def test_a_run_file_from_a_sweep_with_another_root_seed_is_not_counted(copy, done, capsys):
    f, out = copy
    _, _, foreign = done
    victim = run_files(out)[0]
    # the other sweep's file for the same design point, renamed to this sweep's run id
    other = sorted(foreign.glob("runs/*-p00000-r000.parquet"))[0]
    shutil.copy(other, victim)
    # and one copied under its own name
    stray = sorted(foreign.glob("runs/*-p00001-r000.parquet"))[0]
    shutil.copy(stray, out / "runs" / stray.name)
    code, stdout, err = resume(f, out, capsys)
    assert code == 0, err
    assert "belongs to another sweep" in err
    check_repaired(done, out, err, f"runs/{victim.name}", 1, stdout)
    assert f"repaired: runs/{stray.name}" in err
    assert len(run_files(out)) == 2
    assert (
        main(
            ["query", str(out), "SELECT count(DISTINCT run_id) AS n FROM runs", "--format", "json"]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out) == [{"n": 2}]


def test_a_run_file_whose_seed_differs_from_the_design_is_not_counted(copy, done, capsys):
    """Same design hash and run id, another seed: only the seed check can catch it."""
    import pyarrow.parquet as pq

    f, out = copy
    victim = run_files(out)[0]
    table = pq.read_table(victim)
    meta = json.loads(table.schema.metadata[b"aieco.run"])
    meta["seed"] += 1
    table = table.replace_schema_metadata({b"aieco.run": json.dumps(meta).encode()})
    pq.write_table(table, victim)
    code, stdout, err = resume(f, out, capsys)
    assert code == 0, err
    assert "the design gives" in err
    check_repaired(done, out, err, f"runs/{victim.name}", 1, stdout)


def _immutable(path: Path, on: bool) -> bool:
    """Make a folder unwritable even for root (chmod alone does not stop root)."""
    if on:
        path.chmod(0o555)
        if os.geteuid() == 0:
            r = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
            assert r.returncode == 0, f"cannot make {path} read-only as root: {r.stderr!r}"
        return True
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)
    path.chmod(0o755)
    return False


def test_read_only_output_gives_one_line_and_exit_2(copy, done, tmp_path, capsys):
    f, out = copy
    ro = tmp_path / "ro"
    ro.mkdir()
    _immutable(ro, True)
    _immutable(out, True)
    try:
        cases = [
            ["sweep", str(f), "--out", str(ro / "new"), "--workers", "1", "--quiet"],
            ["sweep", str(f), "--out", str(out), "--resume", "--workers", "1", "--quiet"],
            ["report", str(out)],
        ]
        for argv in cases:
            assert main(argv) == 2, argv
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and err.startswith("error:"), (argv, err)
            assert "Traceback" not in err
        # reading works in a read-only folder
        assert (
            main(["query", str(out), "SELECT count(*) AS n FROM summary", "--format", "json"]) == 0
        )
        assert json.loads(capsys.readouterr().out) == [{"n": 2}]
    finally:
        _immutable(out, False)
        _immutable(ro, False)
    assert not (ro / "new").exists()
