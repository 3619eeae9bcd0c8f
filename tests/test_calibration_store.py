"""The calibration simulation store (``aieco calibrate SPEC --budget N``, issue 11.1): priors
from the scenario's ranges, reproducible draws and seeds, resume after a kill, the same store on
one and two workers, failures recorded while the others go on, bad input refused before any
work. Asserts structure and reproducibility, never the model's numbers (the model changes)."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import experiments.calibrate as cal
from experiments.cli import main

ROOT = Path(__file__).resolve().parent.parent
TINY_SPEC = ROOT / "tests" / "calibration" / "tiny.toml"
TINY_PRESET = ROOT / "tests" / "presets" / "tiny.toml"
#: columns that record where and how fast a simulation ran, not what it computed; the git
#: revision is cached per process, so a commit during the test suite would differ between the
#: pytest process and a subprocess (checked apart: never NULL, one value per store)
TIMING = ["elapsed_s", "cpu_s", "git_revision"]


def store(folder: Path) -> pd.DataFrame:
    df, _ = cal.read_store(folder)
    assert df["git_revision"].notna().all() and df["git_revision"].nunique() == 1
    return df.drop(columns=TIMING)


def build(folder: Path, budget: int, *extra: str) -> int:
    argv = ["calibrate", str(TINY_SPEC), "--budget", str(budget), "--out", str(folder)]
    return main([*argv, "--workers", "1", "--quiet", "--store-only", *extra])


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cal") / "whole"
    assert build(folder, 6) == 0
    return folder


# --------------------------------------------------------------------------------------------
# The prior
# --------------------------------------------------------------------------------------------
def test_prior_respects_ranges_and_log_uniform():
    spec = cal.load_spec(TINY_SPEC)
    by = {p.name: p for p in spec.priors}
    # founding cash: the scenario's documented range; cluster elasticity: the spec's own
    assert by["founding_cash_yuan"].range_from == "scenario"
    assert (by["cluster_elasticity"].low, by["cluster_elasticity"].high) == (0.0, 0.6)
    assert by["other_founding_per_year"].log and not by["founding_cash_yuan"].log
    X = spec.draws(4000)
    for j, p in enumerate(spec.priors):
        assert X[:, j].min() >= p.low and X[:, j].max() <= p.high, p.name
        if p.log:  # uniform in log: half below the geometric mean, not the arithmetic one
            below = (X[:, j] < np.sqrt(p.low * p.high)).mean()
        else:
            below = (X[:, j] < (p.low + p.high) / 2).mean()
        assert abs(below - 0.5) < 0.04, p.name
    # draw i is the same whatever the budget (a larger --budget extends the store)
    np.testing.assert_array_equal(spec.draws(5), X[:5])
    assert spec.seeds(3) == cal.load_spec(TINY_SPEC).seeds(3)
    assert len({spec.seeds(i)[0] for i in range(50)}) == 50  # independent seeds per draw


def tiny_spec(**parts) -> dict:
    raw = {
        "calibration": {"name": "t", "scenario": str(TINY_PRESET), "months": 12},
        "parameters": {"cash": {"path": "startups.founding_cash_yuan"}},
        "statistics": {"survival_1y": {"target": [0.7, 0.9], "source": "[S32]"}},
    }
    for key, value in parts.items():
        raw[key] = value
    return raw


def test_a_range_wider_than_a_decade_is_log_uniform_and_sobol_draws_extend():
    raw = tiny_spec(parameters={"v0": {"path": "demand.outside_option"}})
    spec = cal.spec_from_dict(raw)
    assert spec.priors[0].log and (spec.priors[0].low, spec.priors[0].high) == (4.0, 60.0)
    raw["parameters"]["v0"]["prior"] = "uniform"
    assert not cal.spec_from_dict(raw).priors[0].log
    raw["calibration"]["sampler"] = "sobol"
    sob = cal.spec_from_dict(raw)
    np.testing.assert_array_equal(sob.draws(8)[:3], sob.draws(3))
    # the spec hash ignores the targets (they change how a store is read, not what it holds)
    other = tiny_spec(statistics={"survival_1y": {"target": [0.5, 0.9], "source": "x"}})
    a, b = cal.spec_from_dict(tiny_spec()), cal.spec_from_dict(other)
    assert a.spec_hash == b.spec_hash and a.target_set != b.target_set


def test_the_spec_hash_covers_what_a_run_reads_and_nothing_else(tmp_path):
    """meta.posterior says where a scenario's parameter draws come from; no run reads it, so
    naming one (as the hangzhou preset does) leaves the spec hash, and the stores and
    posteriors made under it, valid. So does writing a field at its schema default (annotating
    a parameter in a preset so a spec may calibrate it) or rewording a source; a field a run
    reads, set to another value, changes the hash."""
    a = cal.spec_from_dict(tiny_spec())
    cases = {
        "named": ('[meta]\nposterior = "hangzhou"', True),
        "default": ("[startups]\nfounder_attrition_ratio = 1.0", True),
        "annotated": (
            '[startups]\nfounder_attrition_ratio = { value = 1.0, assumption = "x", '
            "range = [0.0, 1.5] }",
            True,
        ),
        "changed": ("[startups]\nfounder_attrition_ratio = 0.5", False),
        "longer": ("[meta]\nyears = 4", False),
    }
    for name, (text, same) in cases.items():
        f = tmp_path / f"{name}.toml"
        f.write_text(f'base = "{TINY_PRESET.as_posix()}"\n{text}\n', encoding="utf-8")
        raw = tiny_spec()
        raw["calibration"]["scenario"] = str(f)
        assert (cal.spec_from_dict(raw).spec_hash == a.spec_hash) == same, name


# --------------------------------------------------------------------------------------------
# Bad input: one line naming field, value and what is allowed; exit 2; nothing written
# --------------------------------------------------------------------------------------------
BAD = [
    (
        {"parameters": {"x": {"path": "startups.no_such_field"}}},
        "parameters.x.path",
        "unknown scenario path",
    ),
    (  # documented only in its source text, without a range
        {"parameters": {"x": {"path": "national.compute_cost_decline_per_year"}}},
        "parameters.x.range",
        "documents no range",
    ),
    (
        {"parameters": {"x": {"path": "labour.cluster_elasticity", "prior": "log_uniform"}}},
        "parameters.x.prior",
        "needs low > 0",
    ),
    (
        {"statistics": {"no_such_statistic": {}}},
        "statistics.no_such_statistic",
        "allowed: ",
    ),
    (
        {"statistics": {"west_utilization_end": {}}},
        "statistics.west_utilization_end",
        "held out",
    ),
    (
        {"statistics": {"startups_alive_y10": {}}},
        "statistics.startups_alive_y10",
        "held out",
    ),
    (
        {"statistics": {"survival_1y": {"target": [0.9, 0.7], "source": "x"}}},
        "statistics.survival_1y.target",
        "low <= high",
    ),
    (
        {"calibration": {**tiny_spec()["calibration"], "conditioning": "exact"}},
        "calibration.conditioning",
        "'point', 'band' or 'normal'",
    ),
    (
        {
            "calibration": {
                **tiny_spec()["calibration"],
                "method": "rejection",
                "conditioning": "normal",
            }
        },
        "calibration.conditioning",
        "is how npe conditions",
    ),
    (
        {"calibration": {**tiny_spec()["calibration"], "accept": 0.1}},
        "calibration.accept",
        "goes with method = 'rejection'",
    ),
    (
        {"calibration": {**tiny_spec()["calibration"], "method": "rejection", "accept": 0}},
        "calibration.accept",
        "must be > 0 and <= 1",
    ),
    (
        {"calibration": {**tiny_spec()["calibration"], "method": "smc"}},
        "calibration.method",
        "'npe' or 'rejection'",
    ),
]


@pytest.mark.parametrize(("change", "field", "why"), BAD)
def test_bad_spec_exits_2_with_one_line(tmp_path, capsys, change, field, why):
    import tomli_w

    path = tmp_path / "bad.toml"
    path.write_bytes(tomli_w.dumps(tiny_spec(**change)).encode())
    out = tmp_path / "store"
    assert main(["calibrate", str(path), "--budget", "2", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    assert field in err and why in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--budget", "0"], "--budget"),
        (["--budget", "2", "--workers", "0"], "--workers"),
        ([], "--budget"),
        (["--budget", "2", "--set", "meta.years=2"], "--set"),
        (["--infer", "--method", "rejection", "--condition", "band"], "--condition"),
        (["--infer", "--method", "rejection", "--npe-seed", "3"], "--npe-seed"),
        (["--infer", "--accept", "0.1"], "--accept"),
        (["--infer", "--method", "rejection", "--accept", "0"], "--accept"),
        (["--infer", "--method", "rejection", "--accept", "1.5"], "--accept"),
        (["--ppc", "3", "--method", "rejection"], "--method"),
        (["--ppc", "3", "--condition", "normal"], "--condition"),
        (["--summary", "--method", "rejection"], "--method"),
        (["--budget", "2", "--store-only", "--condition", "band"], "--condition"),
        (["--budget", "2", "--store-only", "--accept", "0.1"], "--accept"),
    ],
)
def test_bad_options_exit_2(tmp_path, capsys, argv, field):
    out = tmp_path / "store"
    assert main(["calibrate", str(TINY_SPEC), "--out", str(out), "--quiet", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and field in err, err
    assert not out.exists()


def test_unknown_city_names_the_shipped_specs(tmp_path, capsys):
    assert main(["calibrate", "atlantis", "--budget", "2", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "CITY" in err and "atlantis" in err and "hangzhou" in err


def test_the_shipped_hangzhou_spec_is_valid():
    spec = cal.load_spec("hangzhou")
    assert spec.meta.months == 84 and len(spec.priors) >= 10
    assert all(t.source for t in spec.targets)  # every statistic says where it comes from
    assert sum(t.has_target for t in spec.targets) >= 10  # most are conditioned on
    assert not set(spec.statistics) & set(cal.HELD_OUT)
    assert "startups_alive_end" not in spec.statistics  # the 5,000 question is not a target


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------
def test_store_rows_carry_theta_statistics_revision_spec_and_targets(uninterrupted, capsys):
    df, info = cal.read_store(uninterrupted)
    spec = cal.load_spec(TINY_SPEC)
    assert len(df) == 6 and list(df["draw"]) == list(range(6))
    assert (df["status"] == "ok").all()
    assert (df["spec_hash"] == spec.spec_hash).all() and (df["target_set"] == spec.target_set).all()
    assert df["git_revision"].notna().all()
    X = spec.draws(6)
    for j, p in enumerate(spec.priors):
        np.testing.assert_array_equal(df[p.name].to_numpy(), X[:, j])
    for name in spec.statistics:
        assert name in df.columns
    assert list(df["seed"]) == [spec.seeds(i)[0] for i in range(6)]
    assert info["spec_hash"] == spec.spec_hash and len(info["parameters"]) == 3
    # the prior predictive summary: one row per statistic, targets and "(reported)"
    assert main(["calibrate", str(TINY_SPEC), "--summary", "--out", str(uninterrupted)]) == 0
    text = capsys.readouterr().out
    for name in spec.statistics:
        assert f"| {name} |" in text
    assert "(reported)" in text and "6 simulations ok" in text
    table = cal.predictive(df, info)
    assert set(table["statistic"]) == set(spec.statistics)
    ok = table.dropna(subset=["median"])
    assert ((ok["low"] <= ok["median"]) & (ok["median"] <= ok["high"])).all()


def test_resume_after_kill_equals_an_uninterrupted_store(tmp_path, uninterrupted):
    folder = tmp_path / "killed"
    argv = [sys.executable, "-m", "experiments.cli", "calibrate", str(TINY_SPEC)]
    argv += ["--budget", "6", "--out", str(folder), "--workers", "1", "--quiet", "--store-only"]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            done = list((folder / "runs").glob("*.parquet")) if (folder / "runs").is_dir() else []
            if len(done) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the store finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    killed_with = len(list((folder / "runs").glob("*.parquet")))
    assert 2 <= killed_with < 6
    assert build(folder, 6) == 2  # an existing store needs --resume
    assert build(folder, 6, "--resume") == 0
    pd.testing.assert_frame_equal(store(folder), store(uninterrupted))


def test_a_larger_budget_extends_the_store(tmp_path, uninterrupted):
    folder = tmp_path / "grown"
    assert build(folder, 3) == 0
    assert len(store(folder)) == 3
    assert build(folder, 6, "--resume") == 0
    pd.testing.assert_frame_equal(store(folder), store(uninterrupted))


@pytest.mark.slow
def test_same_root_seed_gives_the_same_store_on_one_and_two_workers(tmp_path, uninterrupted):
    folder = tmp_path / "two"
    argv = ["calibrate", str(TINY_SPEC), "--budget", "6", "--out", str(folder), "--quiet"]
    assert main([*argv, "--workers", "2", "--store-only"]) == 0
    pd.testing.assert_frame_equal(store(folder), store(uninterrupted))


def test_a_failing_simulation_is_recorded_while_the_others_go_on(tmp_path, monkeypatch):
    spec = cal.load_spec(TINY_SPEC)
    bad_seed = spec.seeds(1)[0]
    real = cal.run_statistics

    def flaky(result, scenario, names):
        if result.seed == bad_seed:
            raise RuntimeError("injected failure")
        return real(result, scenario, names)

    monkeypatch.setattr(cal, "run_statistics", flaky)
    folder = tmp_path / "flaky"
    assert build(folder, 3) == 1  # done, but a simulation failed
    df, _ = cal.read_store(folder)
    assert list(df["status"]) == ["ok", "failed", "ok"]
    failed = df.iloc[1]
    assert failed["seed"] == bad_seed and "injected failure" in failed["error"]
    assert failed[spec.statistics].isna().all()
    assert df.loc[[0, 2], "survival_1y"].notna().all()
    monkeypatch.setattr(cal, "run_statistics", real)
    assert build(folder, 3, "--resume") == 0  # --resume runs the failed simulation again
    assert (cal.read_store(folder)[0]["status"] == "ok").all()


def test_every_statistic_of_the_store_is_defined_in_the_method_page():
    page = (ROOT / "docs" / "calibration-method.md").read_text(encoding="utf-8")
    for name in [*cal.OWN_STATISTICS, *cal.MEASURE_STATISTICS, *cal.HELD_OUT]:
        assert f"`{name}`" in page, name


def test_no_count_of_startups_can_be_a_statistic():
    """The startup count is the question (H12): every outcome that counts startups is held out."""
    from ecosystem.outcomes import OUTCOMES

    counts = [n for n in OUTCOMES if n.startswith(("startups_alive", "startups_founded", "micro_"))]
    assert counts and set(counts) <= set(cal.HELD_OUT)
    assert {"month_target_reached", "target_reached"} <= set(cal.HELD_OUT)
    assert not set(cal.HELD_OUT) & set(cal.all_statistics())


def test_own_statistics_on_hand_built_tables():
    from types import SimpleNamespace

    from ecosystem.tables import Stage

    firms = pd.DataFrame(
        {
            "founded_month": [0, 1, 2, 3, 5, 30],
            "venture_track": [True, True, True, True, False, True],
            "stage": [Stage.SERIES_B, Stage.SERIES_A, Stage.SEED, 0, Stage.SERIES_C, Stage.SEED],
            "exit_reason": ["alive", "acquired", "failed", "closed", "acquired", "alive"],
        }
    )
    kpis = pd.DataFrame(
        {"month": [0, 1], "region": "c", "people": 100, "arrivals": [4, 6], "departures": [2, 3]}
    )
    result = SimpleNamespace(
        firms=firms,
        kpis=kpis,
        months=36,
        scenario=SimpleNamespace(
            regions={"c": SimpleNamespace(kind="city")}, meta=SimpleNamespace(target_startups=0)
        ),
        network_summary={},
    )
    names = {"venture_reached_seed", "venture_reached_a", "venture_reached_b", "acquired_share"}
    got = cal.own_statistics(result, names)
    # the early cohort (founded in months 0–23) that sought a round: rows 0–3, not row 4
    assert got["venture_reached_seed"] == pytest.approx(3 / 4)
    assert got["venture_reached_a"] == pytest.approx(2 / 4)
    assert got["venture_reached_b"] == pytest.approx(1 / 4)
    assert got["acquired_share"] == pytest.approx(1 / 4)
    # the talent ratio is the outcome registry's (one definition for the check and the store)
    assert "talent_outflow_to_inflow" in cal.registry_statistics()
    assert "talent_outflow_to_inflow" not in cal.OWN_STATISTICS


def test_conditional_funnel_and_first_year_venture_statistics():
    """B | A and C | B among the early venture cohort; deals and money summed over the first
    12 months of the city regions only (NaN for a run shorter than a year)."""
    from types import SimpleNamespace

    from ecosystem.tables import Stage

    firms = pd.DataFrame(
        {
            "founded_month": [0, 1, 2, 3, 5, 30],
            "venture_track": [True, True, True, True, False, True],
            "stage": [Stage.SERIES_B, Stage.SERIES_A, Stage.SEED, 0, Stage.SERIES_C, 2],
            "exit_reason": ["alive"] * 6,
        }
    )
    months = 14
    city = pd.DataFrame(
        {
            "month": range(months),
            "region": "c",
            "people": 100,
            "rounds_closed": [1] * 12 + [50, 50],
            "vc_raised_yuan": [1e6] * 12 + [9e9, 9e9],
        }
    )
    hub = city.assign(region="h", rounds_closed=1000, vc_raised_yuan=1e12)
    regions = {"c": SimpleNamespace(kind="city"), "h": SimpleNamespace(kind="hub")}
    result = SimpleNamespace(
        firms=firms,
        kpis=pd.concat([city, hub]),
        months=months,
        scenario=SimpleNamespace(regions=regions, meta=SimpleNamespace(target_startups=0)),
        network_summary={},
    )
    names = {"venture_b_given_a", "venture_c_given_b", "vc_deals_y1", "vc_money_yuan_y1"}
    got = cal.own_statistics(result, names)
    # rows 0–3 are the early venture cohort: A or later rows 0, 1; of them B: row 0; C: none
    assert got["venture_b_given_a"] == pytest.approx(1 / 2)
    assert got["venture_c_given_b"] == 0.0
    assert got["vc_deals_y1"] == 12.0 and got["vc_money_yuan_y1"] == pytest.approx(12e6)
    short = SimpleNamespace(**{**vars(result), "kpis": city.iloc[:6], "months": 6})
    assert math.isnan(cal.own_statistics(short, {"vc_deals_y1"})["vc_deals_y1"])
    # A given seed is held-out pattern 10b: no statistic of that name exists
    assert not any("given_seed" in n for n in cal.all_statistics())


def test_a_store_of_other_model_code_is_not_extended(tmp_path, uninterrupted, monkeypatch,
                                                     capsys):  # fmt: skip
    import shutil

    import experiments.tasks

    folder = tmp_path / "old"
    shutil.copytree(uninterrupted, folder)
    monkeypatch.setattr(experiments.tasks, "code_fingerprint", lambda: "another-code")
    assert build(folder, 8, "--resume") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0] and "another-code" in err[0]
    assert len(cal.read_store(folder)[0]) == 6  # nothing was added


def test_a_commit_that_leaves_the_code_alone_leaves_the_store_open(tmp_path, uninterrupted,
                                                                   monkeypatch):  # fmt: skip
    """Documents committed between two sessions change the git revision, not the code: the
    store is extended (it was refused before 4 December 2026, and a long run with it)."""
    import shutil

    import ecosystem.run

    folder = tmp_path / "old"
    shutil.copytree(uninterrupted, folder)
    monkeypatch.setattr(ecosystem.run, "git_revision", lambda: "a-docs-commit-later")
    assert build(folder, 8, "--resume") == 0
    assert len(cal.read_store(folder)[0]) == 8


def test_runs_recorded_without_a_fingerprint_are_compared_by_git_revision(tmp_path):
    """Stores written before fingerprints existed: only the git revision can tell."""
    import json

    import ecosystem.run
    from ecosystem.scenario import ScenarioError
    from experiments.runner import META_KEY

    runs = tmp_path / "store" / "runs"
    runs.mkdir(parents=True)
    meta = {"run_id": "r0", "design_hash": "d", "git_revision": "old-rev"}
    table = pa.table({"x": [1]}).replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    pq.write_table(table, runs / "r0.parquet")
    with pytest.raises(ScenarioError, match="old-rev"):
        cal.check_store_revision(tmp_path / "store", "d")
    meta["git_revision"] = ecosystem.run.git_revision()
    table = table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    pq.write_table(table, runs / "r0.parquet")
    cal.check_store_revision(tmp_path / "store", "d")  # the same revision: open


def test_joint_reach_counts_targets_met_together_and_summarises_the_nearest_simulations():
    """Targets met together, not one at a time: two statistics each met by half the simulations
    but never by the same one, so none meets both; the nearest simulations in band-scaled
    distance, a missing statistic infinitely far."""
    info = {
        "statistics": [
            {"name": "a", "unit": "share", "low": 0.4, "high": 0.6, "observed": 0.5, "source": "x"},
            {
                "name": "b",
                "unit": "count",
                "low": 90.0,
                "high": 110.0,
                "observed": 100.0,
                "source": "y",
            },
            {
                "name": "c",
                "unit": "share",
                "low": None,
                "high": None,
                "observed": None,
                "source": "reported",
            },
        ]
    }
    a = [0.5, 0.5, 0.9, 0.9, 0.55, np.nan]
    b = [300.0, 250.0, 100.0, 100.0, 120.0, 100.0]
    c = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    df = pd.DataFrame({"a": a, "b": b, "c": c, "status": ["ok"] * 6})
    df.loc[len(df)] = {"a": 0.5, "b": 100.0, "c": 0.0, "status": "failed"}  # not counted
    reach = cal.joint_reach(df, info, nearest=0.34)
    assert reach["simulations"] == 6 and reach["targets"] == ["a", "b"]
    # every row meets exactly one target (a or b, never both; the NaN row meets b alone)
    assert list(reach["met"]) == [0, 6, 0]
    # band-scaled distances 400, 225, 16, 16, 4.25, inf: the nearest two are rows 4 and 2
    assert reach["nearest"] == 2
    assert reach["nearest_median"]["a"] == pytest.approx(np.median([0.55, 0.9]))
    assert reach["nearest_median"]["c"] == pytest.approx(np.median([0.5, 0.3]))
    assert reach["nearest_in_band"]["a"] == pytest.approx(0.5)
    text = cal.format_joint_reach(reach, info)
    assert "The most any simulation meets: 1 of 2 (6 simulations)" in text
    assert "No simulation meets every target" in text and "| c | (reported) |" in text
    assert cal.joint_reach(df.assign(status="failed"), info) is None


def test_nearest_simulations_leave_out_a_missing_target_and_keep_store_order_on_ties():
    info = {
        "statistics": [
            {"name": "a", "unit": "share", "low": 0.4, "high": 0.6, "observed": 0.5, "source": "x"},
            {"name": "c", "unit": "share", "low": None, "high": None, "observed": None,
             "source": "reported"},
        ]
    }  # fmt: skip
    df = pd.DataFrame(
        {
            "a": [0.9, 0.45, np.nan, 0.55, 0.5, 0.5],
            "c": [np.nan] * 6,  # a reported statistic is not in the distance
            "status": ["ok", "ok", "ok", "ok", "failed", "ok"],
        }
    )
    near = cal.nearest_simulations(df, info, 10)
    # distances 16, 0.25, inf, 0.25, (failed), 0: the missing one and the failed one never
    assert list(near["a"]) == [0.5, 0.45, 0.55, 0.9]
    assert near["distance"].tolist() == pytest.approx([0.0, 0.25, 0.25, 16.0])
    assert len(cal.nearest_simulations(df, info, 2)) == 2


def _rejection(folder: Path, out: Path, share: str) -> tuple[pd.DataFrame, dict]:
    from experiments.inference import read_posterior

    argv = ["calibrate", str(TINY_SPEC), "--out", str(folder), "--posterior", str(out)]
    assert main([*argv, "--infer", "--method", "rejection", "--accept", share, "--quiet"]) == 0
    return read_posterior(out)


def test_rejection_abc_keeps_the_theta_of_the_stores_nearest_simulations(uninterrupted, tmp_path):
    """--method rejection: the posterior is the θ of the ``--accept`` share of ok simulations
    nearest the targets, nearest first, so its first n rows are the posterior at a smaller
    share; no network is trained and the record says what was accepted."""
    spec = cal.load_spec(TINY_SPEC)
    info = spec.describe()
    df, _ = cal.read_store(uninterrupted)
    names = [p.name for p in spec.priors]
    targets = cal.conditioned_targets(info)
    order = np.argsort(cal.band_distance(df, targets), kind="stable")
    half, record = _rejection(uninterrupted, tmp_path / "half.parquet", "0.5")
    np.testing.assert_array_equal(half[names].to_numpy(), df[names].to_numpy()[order[:3]])
    assert list(half["sample"]) == [0, 1, 2]
    assert record["method"].startswith("rejection ABC") and record["accepted"] == 3
    assert record["accept_share"] == 0.5 and record["trained_on"] == 6
    assert record["calibrated"] and record["spec_hash"] == spec.spec_hash
    # a target set of its own: `calibrate all` never reuses it as the spec's NPE posterior
    assert record["target_set"] == cal.target_set_hash(info["statistics"], "rejection 0.5")
    assert set(record["observed"]) == {t["name"] for t in targets}
    assert record["max_distance"] == pytest.approx(cal.band_distance(df, targets)[order[2]])
    third, _ = _rejection(uninterrupted, tmp_path / "third.parquet", "0.34")
    pd.testing.assert_frame_equal(third, half.iloc[:2])
    from experiments.inference import format_posterior, load_posterior

    assert "rejection ABC: the 3 of 6 ok simulations (share 0.5)" in format_posterior(half, record)
    assert list(load_posterior(tmp_path / "half.parquet").columns) == names


def test_the_conditioning_is_part_of_the_target_set_and_a_posterior_of_another_is_stale(
    tmp_path,
):
    """meta.conditioning changes no simulation (the store is reused) but how the targets are
    read: a posterior inferred on points is stale for a spec that conditions on bands, and
    `point` keeps the hash it had before the field existed."""
    from experiments.calibrate_all import stage_a_freshness
    from experiments.inference import write_posterior

    def spec(conditioning=None):
        head = tiny_spec()["calibration"]
        return cal.spec_from_dict(
            tiny_spec(calibration={**head, "conditioning": conditioning} if conditioning else head)
        )

    point, normal = spec(), spec("normal")
    assert normal.spec_hash == point.spec_hash and normal.meta.conditioning == "normal"
    assert (
        spec("point").target_set == point.target_set != normal.target_set != spec("band").target_set
    )
    path = tmp_path / "p.parquet"
    record = {"spec_hash": point.spec_hash, "target_set": point.target_set, "calibrated": True}
    write_posterior(path, pd.DataFrame({"sample": [0]}), record)
    assert stage_a_freshness(path, point)[0] and not stage_a_freshness(path, normal)[0]


def test_inference_conditions_as_the_spec_says_unless_told_and_records_which(
    uninterrupted, monkeypatch
):
    import argparse

    import experiments.inference as inf

    seen = []

    def infer(df, info, **kw):
        seen.append((info["target_set"], kw["condition"]))
        return None, None

    monkeypatch.setattr(inf, "infer", infer)
    monkeypatch.setattr(inf, "MIN_SIMULATIONS", 1)
    df, _ = cal.read_store(uninterrupted)
    args = argparse.Namespace(
        method=None, accept=None, condition=None, nan="indicator", ensemble=1, samples=4,
        npe_seed=None,
    )  # fmt: skip
    point = cal.load_spec(TINY_SPEC)
    told = cal.load_spec(TINY_SPEC, conditioning="normal")  # --condition normal
    raw = tomllib.loads(TINY_SPEC.read_text())
    raw["calibration"]["conditioning"] = "band"
    banded = cal.spec_from_dict(raw, str(TINY_SPEC), TINY_SPEC.parent)
    for spec in (point, told, banded):
        cal.infer_store(args, spec, df, uninterrupted, False)
    statistics = point.describe()["statistics"]
    assert told.target_set == cal.target_set_hash(statistics, "normal") != point.target_set
    assert seen == [
        (point.target_set, "point"),
        (told.target_set, "normal"),
        (banded.target_set, "band"),
    ]
    assert len({point.spec_hash, told.spec_hash, banded.spec_hash}) == 1


def test_a_spec_that_says_rejection_infers_by_rejection_and_its_posterior_is_fresh(
    uninterrupted, tmp_path
):
    """[calibration] method = "rejection" (and accept): the same store (the spec hash leaves
    the method out), a target set of the rule's own, the posterior fresh for that spec only."""
    import tomli_w

    from experiments.calibrate_all import stage_a_freshness
    from experiments.inference import read_posterior

    raw = tomllib.loads(TINY_SPEC.read_text())
    raw["calibration"].update(method="rejection", accept=0.5, scenario=str(TINY_PRESET))
    path = tmp_path / "rejection.toml"
    path.write_bytes(tomli_w.dumps(raw).encode())
    spec, npe = cal.load_spec(path), cal.load_spec(TINY_SPEC)
    statistics = npe.describe()["statistics"]
    assert spec.spec_hash == npe.spec_hash and spec.accept == 0.5
    assert spec.target_set == cal.target_set_hash(statistics, "rejection 0.5") != npe.target_set
    assert cal.load_spec(path, accept=0.05).target_set == cal.target_set_hash(
        statistics, "rejection"
    )
    assert cal.load_spec(path, method="npe").target_set == npe.target_set  # accept dropped
    out = tmp_path / "post.parquet"
    argv = ["calibrate", str(path), "--infer", "--out", str(uninterrupted), "--posterior"]
    assert main([*argv, str(out), "--quiet"]) == 0
    post, record = read_posterior(out)
    assert len(post) == 3 and record["accepted"] == 3 and record["target_set"] == spec.target_set
    assert stage_a_freshness(out, spec)[0] and not stage_a_freshness(out, npe)[0]


def test_rejection_abc_refuses_a_stage_b_spec_before_any_simulation(tmp_path, capsys):
    """Accepting stage-B simulations would update θ_core by the city's statistics: only the
    NPE's cut posterior keeps stage A's."""
    from ecosystem.scenario import ScenarioError

    with pytest.raises(ValueError, match="'npe', not rejection"):  # a spec loaded otherwise
        cal.rejection_posterior(pd.DataFrame(), cal.load_spec("beijing"))
    out = tmp_path / "b"
    argv = ["calibrate", "beijing", "--budget", "2", "--method", "rejection", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "stage-B" in err and len(err.splitlines()) == 1 and not out.exists()
    raw = tomllib.loads((cal.SPEC_DIR / "beijing.toml").read_text())
    raw["calibration"]["method"] = "rejection"
    with pytest.raises(ScenarioError, match="calibration.method.*stage-B"):
        cal.spec_from_dict(raw, "beijing.toml", cal.SPEC_DIR)


def test_nearest_validation_reruns_the_stores_nearest_parameter_sets(uninterrupted):
    """experiments/examples/nearest_validation.py: the K simulations nearest the targets in
    band-scaled distance, each re-run at its own θ, one row per (θ, seed) with the city-role
    pattern values."""
    from scripts import load_script

    mod = load_script("experiments/examples/nearest_validation.py")
    spec = cal.load_spec(TINY_SPEC)
    df, _ = cal.read_store(uninterrupted)
    targets = [t for t in spec.describe()["statistics"] if t["low"] is not None]
    expected = df["draw"].to_numpy()[np.argsort(cal.band_distance(df, targets), kind="stable")]
    rows, paths, document = mod.nearest(uninterrupted, str(TINY_SPEC), 2)
    assert list(rows["draw"]) == list(expected[:2])
    assert set(paths) == {p.name for p in spec.priors}
    theta = {paths[n]: float(rows.iloc[0][n]) for n in paths}
    scenario = mod.scenario_at(document, theta)
    assert scenario.startups.founding_cash_yuan == theta["startups.founding_cash_yuan"]
    assert scenario.labour.cluster_elasticity == theta["labour.cluster_elasticity"]
    table = mod.measure(uninterrupted, str(TINY_SPEC), 2, [1], years=1)
    assert len(table) == 2 and list(table["draw"]) == list(expected[:2])
    assert "12" in table.columns and "1c" in table.columns
    summary = mod.summary(table)
    assert {"pattern", "band", "runs", "mean", "in_band"} <= set(summary.columns)


def test_venture_share_example_runs_the_spec_at_each_share():
    """experiments/examples/venture_share.py (docs/calibration-method.md quotes its table): one
    row per (v, seed) with the spec's statistics, and a markdown table against the bands."""
    from scripts import load_script

    mod = load_script("experiments/examples/venture_share.py")
    df = mod.measure(str(TINY_SPEC), [1.0, 0.0], 1)
    spec = cal.load_spec(TINY_SPEC)
    assert list(df["venture_share"]) == [1.0, 0.0]
    assert set(spec.statistics) - set(mod.LEFT_OUT) <= set(df.columns)
    text = mod.table(df, str(TINY_SPEC))
    assert "v = 1" in text and "v = 0" in text and "targets met" in text
    # with no venture type nobody raises a round: no firm stopped at seed
    from ecosystem.tables import Status

    fates = [f"seed_only_{st.name.lower()}" for st in Status]
    assert df.loc[df["venture_share"] == 0.0, fates].to_numpy().sum() == 0
    assert "alive months past due" in text and "alive plan over funded" in text
    assert "alive staff over funded" in text and "losing runway months" in text
    # --set applies to every arm: another founding cash, another run
    poor = mod.measure(str(TINY_SPEC), [1.0], 1, ["startups.founding_cash_yuan=500000"])
    assert not poor.drop(columns="venture_share").equals(df.iloc[:1].drop(columns="venture_share"))
    # --path varies another parameter: its values are the first column and the table's heading
    other = mod.measure(str(TINY_SPEC), [0.2, 0.8], 1, path="labour.matching_efficiency")
    assert list(other.columns[:2]) == ["matching_efficiency", "seed"]
    assert list(other["matching_efficiency"]) == [0.2, 0.8]
    assert not other.iloc[0, 2:].equals(other.iloc[1, 2:])  # another efficiency, another run
    assert "matching_efficiency = 0.8" in mod.table(other, str(TINY_SPEC))


def test_a_posteriors_medians_keep_integer_parameters_whole_and_load_as_a_scenario():
    """Stage B's 2025 stock is an integer parameter: its median (a float, x.5 for an even count
    of draws) is rounded as the draws are, so a city's medians load (funded_outcomes.py
    --preset beijing --posterior ... failed on 1442.0 before)."""
    from ecosystem import load_scenario
    from experiments.inference import posterior_medians
    from experiments.uncertainty import POSTERIOR_DIR

    path = POSTERIOR_DIR / "beijing.parquet"
    medians = posterior_medians(path)
    stock = medians["regions.beijing.initial_startups"]
    assert type(stock) is int and 1000 <= stock <= 2000
    rest = [v for k, v in medians.items() if k != "regions.beijing.initial_startups"]
    assert rest and all(type(v) is float for v in rest)
    load_scenario("beijing", [f"{k}={v}" for k, v in medians.items()])  # validates


def test_a_stage_b_posteriors_medians_include_its_core_at_the_citys_paths():
    """A stage-B city's draws run θ_core from stage A beside its own inputs, so its medians do
    too: stage A's medians, its city inputs mapped to the city, the excluded wage left at the
    preset. (Before, Beijing's medians set only its three inputs and ran the preset's hand-set
    core: first-year VC money ¥13bn, far below the predictive median.)"""
    from experiments.inference import posterior_medians
    from experiments.uncertainty import POSTERIOR_DIR

    core = posterior_medians(POSTERIOR_DIR / "hangzhou.parquet")
    city = posterior_medians(POSTERIOR_DIR / "beijing.parquet")
    for path, value in core.items():
        here = path.replace("regions.hangzhou.", "regions.beijing.")
        if path == "regions.hangzhou.talent.wage_yuan_per_month":  # hangzhou's own, excluded
            assert here not in city and path not in city
        else:
            assert city[here] == value, path
    assert not any(k.startswith("regions.hangzhou.") for k in city)
    assert {"regions.beijing.initial_startups", "startups.round_plan_months"} <= set(city)


def test_venture_share_example_runs_at_a_posteriors_medians(monkeypatch, capsys):
    """venture_share.py --posterior FILE (docs/calibration-method.md, "Revisited"): every arm
    gets the posterior's medians, then --set; without it, only --set."""
    from scripts import load_script

    from experiments.inference import posterior_medians
    from experiments.options import EXAMPLE_POSTERIOR

    mod = load_script("experiments/examples/venture_share.py")
    seen = []
    monkeypatch.setattr(
        mod,
        "measure",
        lambda spec, shares, seeds, changes, path: seen.append(changes) or pd.DataFrame(),
    )
    monkeypatch.setattr(mod, "table", lambda df, spec: "")
    mod.main(["--posterior", EXAMPLE_POSTERIOR, "--set", "startups.founding_cash_yuan=500000"])
    mod.main(["--set", "startups.founding_cash_yuan=500000"])
    medians = posterior_medians(EXAMPLE_POSTERIOR)
    assert seen[0] == [f"{k}={v}" for k, v in medians.items()] + [
        "startups.founding_cash_yuan=500000"
    ]
    assert "startups.venture_share" in medians
    assert seen[1] == ["startups.founding_cash_yuan=500000"]


def test_venture_share_example_counts_exits_as_the_firms_table_records_them():
    """venture_share.py's exits (docs/calibration-method.md quotes them): the shares of the first
    two years' firms that ended within five years by status are the firms table's exit reasons,
    and the costs failed firms left unpaid are the KPI's."""
    from scripts import load_script

    from ecosystem.run import run_scenario

    mod = load_script("experiments/examples/venture_share.py")
    spec = cal.load_spec(TINY_SPEC)
    scenario = cal.scenario_from_dict(spec.base_document)
    result = run_scenario(scenario, seed=2, months=72)
    out = mod.exits(result, cohort_months=24, within_months=60)
    firms = result.firms
    _, city = mod.first_city(result)
    founded = firms["founded_month"]
    cohort = firms[(founded >= 0) & (founded < 24) & (firms["region"] == city)]
    age_at_exit = cohort["exit_month"] - cohort["founded_month"]
    ended = cohort[(cohort["exit_month"] >= 0) & (age_at_exit < 60)]
    assert len(ended) > 0  # a run that ends nobody checks nothing
    for reason in ("failed", "closed", "acquired"):
        expect = (ended["exit_reason"] == reason).sum() / len(cohort)
        assert out[f"exit5y_{reason}"] == pytest.approx(expect), reason
    assert "exit5y_alive" not in out
    k = result.kpis[result.kpis["region"] == city]
    assert out["exit5y_unpaid_costs_yuan_run"] == pytest.approx(k["unpaid_costs_yuan"].sum())
