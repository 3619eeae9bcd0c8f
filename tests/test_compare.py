"""aieco compare: real short runs write the table and figure; transplants change only the
policy; the same root seed gives the same table (in this process or on worker processes); bad
input exits 2."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from ecosystem.scenario import ScenarioError, load_scenario
from experiments import compare as cmp


def aieco(argv: list[str]) -> int:
    """Through ``experiments.cli.main`` once compare is wired there; else the module's own main."""
    from experiments import cli

    sub = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return (cli.main if "compare" in sub.choices else cmp.main)(["compare", *argv])


def test_compare_writes_table_and_figure(tmp_path, capsys):
    out = tmp_path / "cmp"
    rc = aieco(
        [
            "hangzhou",
            "wenzhou",
            "--years",
            "2",
            "--replicates",
            "2",
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
    assert list(t["preset"]) == ["hangzhou", "wenzhou"]
    assert list(t["city"]) == ["hangzhou", "wenzhou"]
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
        "east_utilization_end",
        "west_utilization_end",
        "talent_net_inflow_per_year",
    ):
        assert col in t.columns, col
    assert (t["startups_alive_y1_p5"] <= t["startups_alive_y1_mean"]).all()
    assert (t["startups_alive_y1_mean"] <= t["startups_alive_y1_p95"]).all()
    assert t["startups_alive_y5_mean"].isna().all()  # two-year horizon
    assert (t["target_reached_share"] == 0).all()
    assert t["east_utilization_end"].between(0, 1).all()
    assert t["west_utilization_end"].between(0, 1).all()
    assert t.loc[0, "voucher_spent_yuan_total"] > 0  # Hangzhou's vouchers pay from 2024
    csv = pd.read_csv(out / "comparison.csv")
    assert list(csv.columns) == list(t.columns) and len(csv) == 2
    traj = pd.read_parquet(out / "trajectories.parquet")
    assert traj.groupby("preset")["replicate"].nunique().to_dict() == {"hangzhou": 2, "wenzhou": 2}
    assert traj["month"].max() == 23
    lines = printed.splitlines()
    assert lines[0].split()[0] == "preset" and "5,000 reached" in lines[0]
    assert lines[1].startswith("hangzhou") and lines[2].startswith("wenzhou")


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


def test_policy_from_adds_transplant_rows(tmp_path):
    res = cmp.compare(
        ["chengdu", "hangzhou"], years=1, replicates=1, out=tmp_path / "t", policy_from="hangzhou"
    )
    t = res.table
    assert list(t["preset"]) == ["chengdu", "chengdu", "hangzhou"]
    assert list(t["label"]) == ["chengdu", "chengdu (policy: hangzhou)", "hangzhou"]
    assert list(t["policy_from"]) == ["chengdu", "hangzhou", "hangzhou"]
    # Hangzhou's ¥250m voucher budget spends far more in Chengdu than Chengdu's own ¥10m.
    assert t.loc[1, "voucher_spent_yuan_total"] > 5 * t.loc[0, "voucher_spent_yuan_total"]
    assert (tmp_path / "t" / "trajectories.png").exists()


def test_same_root_seed_same_table_on_workers():
    one = cmp.compare(["wenzhou", "ningbo"], years=1, replicates=2, seed=11, out=None, workers=1)
    two = cmp.compare(["wenzhou", "ningbo"], years=1, replicates=2, seed=11, out=None, workers=2)
    pd.testing.assert_frame_equal(one.table, two.table)
    pd.testing.assert_frame_equal(
        one.trajectories.sort_values(["label", "replicate", "month"]).reset_index(drop=True),
        two.trajectories.sort_values(["label", "replicate", "month"]).reset_index(drop=True),
    )
    assert one.seeds == two.seeds and len(set(one.seeds)) == 2
    # Common random numbers: every city runs with the same seeds.
    assert (
        one.trajectories.groupby("preset")["seed"]
        .apply(lambda s: sorted(set(s)))
        .map(tuple)
        .nunique()
        == 1
    )
    other = cmp.compare(["wenzhou", "ningbo"], years=1, replicates=2, seed=12, out=None, workers=1)
    assert other.seeds != one.seeds
    assert not np.array_equal(
        other.trajectories["startups_alive"], one.trajectories["startups_alive"]
    )


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["atlantis"], "unknown preset"),
        (["china"], "city regions"),
        (["hangzhou", "--replicates", "0"], "--replicates"),
        (["hangzhou", "--years", "0"], "--years"),
        (["hangzhou", "--years", "51"], "--years"),
        (["hangzhou", "--policy-from", "atlantis"], "unknown preset"),
        (["hangzhou", "--policy-from", "china"], "city regions"),
        (["hangzhou", "--workers", "0"], "--workers"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, needle):
    out = tmp_path / "never"
    rc = aieco([*argv, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert err.startswith("error: ") and "\n" not in err and needle in err
    assert not out.exists()
