"""aieco compare: cities read from one national run per seed (the small two-city national
scenario ``tests/presets/duo.toml`` keeps these fast; one test runs the default ``china``); real
short runs write the table and figure; transplants change only the policy, with yearly budgets
scaled to the destination; the same root seed gives the same table (in this process or on worker
processes); bad input exits 2."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecosystem.scenario import ScenarioError, load_scenario
from ecosystem.scenario.schema import Policy
from experiments import compare as cmp

DUO = str(Path(__file__).parent / "presets" / "duo.toml")


def aieco(argv: list[str]) -> int:
    """Through ``experiments.cli.main`` once compare is wired there; else the module's own main."""
    from experiments import cli

    sub = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return (cli.main if "compare" in sub.choices else cmp.main)(["compare", *argv])


def test_compare_writes_table_and_figure(tmp_path, capsys):
    out = tmp_path / "cmp"
    rc = aieco(
        [
            "ningbo",
            "wenzhou",
            "--national",
            DUO,
            "--years",
            "2",
            "--replicates",
            "2",
            "--param-draws",
            "0",
            "--seed",
            "3",
            "--out",
            str(out),
            "--workers",
            "1",
            "--quiet",
        ]
    )
    printed = capsys.readouterr().out
    assert rc == 0
    for name in (
        "comparison.parquet",
        "comparison.csv",
        "trajectories.png",
        "trajectories.parquet",
        "manifest.json",
    ):
        assert (out / name).stat().st_size > 0, name
    t = pd.read_parquet(out / "comparison.parquet")
    assert list(t.columns[:3]) == ["run_id", "seed", "preset"]
    assert t["run_id"].nunique() == 1 and (t["seed"] == 3).all()
    assert list(t["preset"]) == ["ningbo", "wenzhou"]
    assert list(t["city"]) == ["ningbo", "wenzhou"]
    for col in (
        "startups_alive_y1_mean",
        "startups_alive_y1_p5",
        "startups_alive_y1_p95",
        "startups_alive_y5_mean",
        "startups_alive_y10_mean",
        "month_target_reached_mean",
        "target_reached_share",
        "founders_big_firm_total",
        "founders_university_total",
        "founders_startup_total",
        "founders_other_total",
        "voucher_spent_yuan_total",
        "city_public_spending_yuan_total",
        "east_utilization_end",
        "west_utilization_end",
        "talent_net_inflow_per_year",
        "largest_startup_staff_end",
    ):
        assert col in t.columns, col
    assert t["change_startups_alive_end_mean"].isna().all()  # no transplant rows
    assert (t["startups_alive_y1_p5"] <= t["startups_alive_y1_mean"]).all()
    assert (t["startups_alive_y1_mean"] <= t["startups_alive_y1_p95"]).all()
    assert t["startups_alive_y5_mean"].isna().all()  # two-year horizon
    assert (t["target_reached_share"] == 0).all()
    assert t["east_utilization_end"].between(0, 1).all()
    assert t["west_utilization_end"].between(0, 1).all()
    assert (t["city_public_spending_yuan_total"] > 0).all()  # both cities run programmes
    # Each row's own city's largest startup (pattern 13), not the largest of the national run.
    assert (t["largest_startup_staff_end"] >= 3).all() and t[
        "largest_startup_staff_end"
    ].nunique() == 2
    # One national run per seed: the cities share the hubs, so they see the same western market.
    assert t["west_utilization_end"].nunique() == 1
    csv = pd.read_csv(out / "comparison.csv")
    assert list(csv.columns) == list(t.columns) and len(csv) == 2
    traj = pd.read_parquet(out / "trajectories.parquet")
    assert traj.groupby("preset")["replicate"].nunique().to_dict() == {"ningbo": 2, "wenzhou": 2}
    assert traj["month"].max() == 23
    lines = printed.splitlines()
    assert lines[0].split()[0] == "preset" and "5,000 reached" in lines[0]
    assert lines[1].startswith("ningbo") and lines[2].startswith("wenzhou")
    assert "inside one duo run per seed" in printed


def test_transplant_changes_only_the_policy():
    own, src = load_scenario("chengdu"), load_scenario("hangzhou")
    moved = cmp.transplant_policy("chengdu", "hangzhou")
    assert moved.regions["chengdu"].policy == src.regions["hangzhou"].policy
    assert moved.regions["chengdu"].policy != own.regions["chengdu"].policy
    a, b = own.model_dump(), moved.model_dump()
    pa, pb = a["regions"]["chengdu"].pop("policy"), b["regions"]["chengdu"].pop("policy")
    assert pa != pb
    a["meta"].pop("description"), b["meta"].pop("description")
    assert a == b  # everything else, hubs included, is Chengdu's
    assert "hangzhou" in moved.meta.description
    prov = moved.provenance
    assert "policy transplanted from hangzhou" in prov["regions.chengdu.policy.voucher_budget_yuan"]
    assert (
        "[S67]" in prov["regions.chengdu.policy.voucher_budget_yuan"]
    )  # the source's citation is kept
    assert "policy transplanted from hangzhou" in prov["regions.chengdu.policy.voucher_claimants"]
    assert (
        prov["regions.chengdu.talent.wage_yuan_per_month"]
        == own.provenance["regions.chengdu.talent.wage_yuan_per_month"]
    )
    with pytest.raises(ScenarioError, match="city regions"):
        cmp.transplant_policy("chengdu", "china")


def test_transplant_scales_yearly_budgets_by_each_base():
    src, dst = load_scenario("hangzhou"), load_scenario("wenzhou")
    sp, hz, wz = src.regions["hangzhou"].policy, src.regions["hangzhou"], dst.regions["wenzhou"]

    def workforce(r):
        staff = sum(b.headcount for b in r.big_firms.values())
        return staff + sum(u.staff for u in r.universities.values()) + r.talent.initial_job_seekers

    ratios = {
        "gdp": wz.gdp_yuan / hz.gdp_yuan,
        "startups": wz.initial_startups / hz.initial_startups,
        "workforce": workforce(wz) / workforce(hz),
        "none": 1.0,
    }
    for base, ratio in ratios.items():
        moved = cmp.transplant_policy("wenzhou", "hangzhou", scale=base)
        mp = moved.regions["wenzhou"].policy
        for name in type(sp).model_fields:
            want = getattr(sp, name)
            if name in Policy.YEARLY_BUDGETS:
                want = want * ratio
                if want:
                    note = moved.provenance[f"regions.wenzhou.policy.{name}"]
                    assert (base == "none") == ("scaled by" not in note), (base, note)
            assert getattr(mp, name) == pytest.approx(want), (base, name)
    # Hangzhou's yearly package by GDP in Wenzhou: 44% of it (docs/design/causal-core.md §6.3).
    assert ratios["gdp"] == pytest.approx(971.9 / 2186)


def test_every_policy_yuan_field_is_a_budget_or_a_per_unit_amount():
    per_unit = ("_cap_per_firm_yuan", "_per_person", "_contract_max_yuan", "startup_grant_yuan")
    for name in Policy.model_fields:
        if "yuan" not in name:
            continue
        assert (name in Policy.YEARLY_BUDGETS) != any(k in name for k in per_unit), name
    assert set(Policy.YEARLY_BUDGETS) <= set(Policy.model_fields)


def test_scale_by_gdp_needs_the_destinations_gdp():
    doc = cmp._preset_document("hangzhou")
    doc["regions"]["qingyang"]["policy"] = {}
    with pytest.raises(ScenarioError, match=r"regions\.qingyang\.gdp_yuan = None"):
        cmp.transplanted(doc, "qingyang", doc, "hangzhou", "gdp", "hangzhou")


def test_compare_runs_one_national_model_per_seed():
    res = cmp.compare(["hangzhou", "wenzhou"], years=1, replicates=1, seed=5, out=None)
    assert res.national == "china" and len(res.variants) == 1
    assert res.variants[0].label == "china"
    assert {c.hubs for c in res.cases} == {("qingyang", "gui_an", "zhongwei", "hohhot")}
    t = res.table
    assert list(t["city"]) == ["hangzhou", "wenzhou"]
    assert t["west_utilization_end"].nunique() == 1 and t["west_utilization_end"].iloc[0] <= 1
    # The same run, read per city: the trajectories come from one run id per seed.
    traj = res.trajectories
    assert traj.groupby("seed")["run_id"].nunique().max() == 1


def test_policy_from_adds_paired_transplant_rows_inside_the_national_run(tmp_path):
    res = cmp.compare(
        ["ningbo", "wenzhou"],
        years=1,
        replicates=2,
        out=tmp_path / "t",
        policy_from="ningbo",
        national=DUO,
    )
    t = res.table
    assert list(t["preset"]) == ["ningbo", "wenzhou", "wenzhou"]
    assert list(t["label"]) == ["ningbo", "wenzhou", "wenzhou (policy: ningbo)"]
    assert list(t["policy_from"]) == ["ningbo", "wenzhou", "ningbo"]
    assert [v.label for v in res.variants] == ["duo", "duo: wenzhou with ningbo's policy"]
    paired = [c for c in t.columns if c.startswith("change_")]
    assert t.loc[:1, paired].isna().all().all() and t.loc[2, paired].notna().all()
    # The transplant runs Ningbo's package with its yearly budgets scaled by GDP (the default).
    moved = load_scenario(DUO).regions["ningbo"].policy
    got = cmp.scenario_from_dict(res.variants[1].document).regions["wenzhou"].policy
    ratio = 971.9 / 1814.8  # [S79] / [S126]
    assert got.voucher_rate == moved.voucher_rate
    for name in Policy.YEARLY_BUDGETS:
        assert getattr(got, name) == pytest.approx(getattr(moved, name) * ratio), name
    assert (tmp_path / "t" / "trajectories.png").exists()


def test_isolated_runs_single_city_presets_as_before(tmp_path):
    res = cmp.compare(
        ["chengdu", "hangzhou"],
        years=1,
        replicates=1,
        out=None,
        policy_from="hangzhou",
        national=None,
        scale="none",
    )
    t = res.table
    assert res.national is None and len(res.variants) == 3
    assert list(t["label"]) == ["chengdu", "chengdu (policy: hangzhou)", "hangzhou"]
    # Hangzhou's ¥250m voucher budget, as written, spends far more in Chengdu than Chengdu's ¥10m.
    assert t.loc[1, "voucher_spent_yuan_total"] > 5 * t.loc[0, "voucher_spent_yuan_total"]
    assert np.isnan(t.loc[1, "change_others_startups_alive_end_mean"])  # no other cities


def test_same_root_seed_same_table_on_workers():
    kw = dict(years=1, replicates=2, out=None, national=DUO)
    one = cmp.compare(["wenzhou", "ningbo"], seed=11, workers=1, **kw)
    two = cmp.compare(["wenzhou", "ningbo"], seed=11, workers=2, **kw)
    pd.testing.assert_frame_equal(one.table, two.table)
    pd.testing.assert_frame_equal(
        one.trajectories.sort_values(["label", "replicate", "month"]).reset_index(drop=True),
        two.trajectories.sort_values(["label", "replicate", "month"]).reset_index(drop=True),
    )
    assert one.seeds == two.seeds and len(set(one.seeds)) == 2
    other = cmp.compare(["wenzhou", "ningbo"], seed=12, workers=1, **kw)
    assert other.seeds != one.seeds
    assert not np.array_equal(
        other.trajectories["startups_alive"], one.trajectories["startups_alive"]
    )


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["atlantis"], "not a city of china"),
        (["china"], "not a city of china"),
        (["--isolated", "china"], "city regions"),
        (["--isolated", "atlantis"], "unknown preset"),
        (["hangzhou", "--national", "hangzhou"], "at least two city regions"),
        (["hangzhou", "--national", "nowhere.toml"], "nowhere.toml"),
        (["hangzhou", "--replicates", "0"], "--replicates"),
        (["hangzhou", "--years", "0"], "--years"),
        (["hangzhou", "--years", "51"], "--years"),
        (["hangzhou", "--policy-from", "atlantis"], "not a city of china"),
        (["hangzhou", "--isolated", "--policy-from", "china"], "city regions"),
        (["hangzhou", "--workers", "0"], "--workers"),
        (["hangzhou", "--scale", "area"], "--scale"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, needle):
    out = tmp_path / "never"
    rc = aieco([*argv, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert err.startswith("error: ") and "\n" not in err and needle in err
    assert not out.exists()


def test_the_main_job_includes_parameter_uncertainty_by_default():
    """``aieco compare`` with no options (the README's main job) runs parameter draws × seeds,
    so its intervals cover parameter uncertainty as well as seed noise; --param-draws 0 is the
    seed-only comparison with its 5 seeds."""
    from experiments import cli

    parser = cli.build_parser()
    args = parser.parse_args(["compare"])
    assert args.param_draws == cmp.DEFAULT_COMPARE_DRAWS == 8
    assert args.replicates is None  # resolved by the command: 2 seeds per draw
    calls = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cmp, "_run_plan", lambda a, make_plan: calls.append(a.replicates) or 2)
        assert cmp.cmd_compare(parser.parse_args(["compare"])) == 2
        assert cmp.cmd_compare(parser.parse_args(["compare", "--param-draws", "0"])) == 2
        assert cmp.cmd_compare(parser.parse_args(["compare", "--replicates", "3"])) == 2
    assert calls == [cmp.DEFAULT_SEEDS_PER_DRAW, cmp.DEFAULT_REPLICATES, 3]
