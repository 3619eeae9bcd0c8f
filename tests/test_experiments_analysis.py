"""Counterfactual policy effects, SALib sensitivity, reports and the EMA Workbench adapter."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from experiments.cli import main
from experiments.policy import mean_ci, policy_effects
from experiments.sensitivity import indices
from experiments.spec import load_experiment

POLICY = """
[experiment]
name = "tiny_policy"
scenario = "hangzhou"
replicates = 3
root_seed = 5
months = 12

[levers.voucher_rate]
path = "regions.hangzhou.policy.voucher_rate"

[levers.voucher_portable]
path = "regions.hangzhou.policy.voucher_portable"

[design]
method = "list"
[[design.points]]
name = "none"
voucher_rate = 0.0
voucher_portable = false
[[design.points]]
name = "high"
voucher_rate = 0.8
voucher_portable = false
[[design.points]]
name = "high_portable"
voucher_rate = 0.8
voucher_portable = true

[policy]
baseline = "none"

[outcomes]
summary = ["startups_alive_y1", "voucher_spent_yuan_total", "voucher_additional_gpu_h_total",
           "west_utilization_end", "public_spending_yuan_total"]
kpis = ["startups_alive"]
"""

SENSITIVITY = """
[experiment]
name = "tiny_sensitivity"
scenario = "hangzhou"
replicates = 1
root_seed = 3
months = 12

[levers.voucher_rate]
path = "regions.hangzhou.policy.voucher_rate"
range = [0.0, 0.8]

[uncertainties.project_return_sigma]
path = "compute.project_return_sigma"
range = [0.3, 1.5]

[design]
method = "morris"
samples = 2

[outcomes]
summary = ["startups_alive_y1", "voucher_additional_gpu_h_total", "month_target_reached"]
kpis = ["startups_alive"]
"""


def test_effects_are_paired_differences_with_t_intervals():
    rng = np.random.default_rng(0)
    base = rng.normal(100, 10, 6)
    rows = []
    for r in range(6):
        rows.append(
            {
                "variant": "base",
                "point": 0,
                "replicate": r,
                "status": "ok",
                "y": base[r],
                "public_spending_yuan_y5": 1e6,
                "startups_alive_y5": base[r],
            }
        )
        rows.append(
            {
                "variant": "v",
                "point": 1,
                "replicate": r,
                "status": "ok",
                "y": base[r] + 5 + r,
                "public_spending_yuan_y5": 1e6 + 1000 * (r + 1),
                "startups_alive_y5": base[r] + (r % 3),
            }
        )
    summary = pd.DataFrame(rows)
    eff = policy_effects(summary, "base", ["y", "startups_alive_y5"], 0.9)
    y = eff[eff["outcome"] == "y"].iloc[0]
    d = np.arange(6) + 5.0
    half = stats.t.ppf(0.95, 5) * d.std(ddof=1) / math.sqrt(6)
    assert y["effect"] == pytest.approx(d.mean())
    assert (y["ci_low"], y["ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    assert y["n"] == 6 and y["baseline_mean"] == pytest.approx(base.mean())
    ratio = eff[eff["outcome"] == "yuan_per_additional_startup_y5"].iloc[0]
    # pairs with no change in alive startups (r = 0, 3) are left out
    per_pair = [1000 * (r + 1) / (r % 3) for r in range(6) if r % 3]
    assert ratio["n"] == 4 and ratio["n_excluded"] == 2
    assert ratio["effect"] == pytest.approx(np.mean(per_pair))
    assert ratio["ratio_of_means"] == pytest.approx(
        np.mean([1000 * (r + 1) for r in range(6)]) / np.mean([r % 3 for r in range(6)])
    )
    assert mean_ci(np.array([np.nan, np.nan]))[3] == 0


def test_policy_command_uses_common_random_numbers_and_reports_effects(tmp_path, capsys):
    f = tmp_path / "policy.toml"
    f.write_text(POLICY)
    out = tmp_path / "res"
    assert main(["policy", str(f), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "Effects against baseline 'none'" in text and "high_portable" in text
    summary = pd.read_parquet(out / "summary.parquet")
    assert summary.groupby("replicate")["seed"].nunique().eq(1).all()
    assert set(summary["variant"]) == {"none", "high", "high_portable"}
    eff = pd.read_parquet(out / "policy_effects.parquet")
    assert set(eff["variant"]) == {
        "high",
        "high_portable",
    }  # the baseline is not compared with itself
    spent = eff[eff["outcome"] == "voucher_spent_yuan_total"].set_index("variant")
    base_spent = summary[summary["variant"] == "none"]["voucher_spent_yuan_total"].mean()
    high_spent = summary[summary["variant"] == "high"]["voucher_spent_yuan_total"].mean()
    assert spent.loc["high", "effect"] == pytest.approx(high_spent - base_spent)
    finite = eff[np.isfinite(eff["ci_low"])]
    assert (finite["ci_low"] <= finite["effect"] + 1e-9).all() and (
        finite["effect"] <= finite["ci_high"] + 1e-9
    ).all()
    assert (out / "policy_effects.csv").is_file()
    assert (
        main(["query", str(out), "SELECT count(*) AS n FROM policy_effects", "--format", "csv"])
        == 0
    )
    assert capsys.readouterr().out.split() == ["n", str(len(eff))]

    assert main(["report", str(out)]) == 0
    html = (out / "report" / "index.html").read_text()
    assert "Policy effects" in html
    for name in ("policy_effects.png", "trajectory_startups_alive.png"):
        png = out / "report" / "figures" / name
        assert png.stat().st_size > 1000 and f"figures/{name}" in html


def test_policy_command_needs_a_baseline(tmp_path, capsys):
    f = tmp_path / "p.toml"
    f.write_text(POLICY.replace('[policy]\nbaseline = "none"\n', ""))
    assert main(["policy", str(f), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert capsys.readouterr().err.startswith("error: policy")
    assert not (tmp_path / "o").exists()


def test_morris_indices_rank_an_influential_parameter_first():
    from SALib.sample import morris

    prob = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0, 1]] * 3}
    X = morris.sample(prob, 20, num_levels=4, seed=1)
    Y = 10 * X[:, 0] + 1 * X[:, 1] + 0 * X[:, 2]
    rows = pd.DataFrame(indices(prob, X, Y, "morris", "y", seed=1)).set_index("parameter")
    assert rows.loc["a", "mu_star"] == pytest.approx(10) and rows.loc[
        "b", "mu_star"
    ] == pytest.approx(1)
    assert rows.loc["c", "mu_star"] == pytest.approx(0)


def test_sobol_indices_of_an_additive_function():
    from SALib.sample import sobol

    prob = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0, 1]] * 2}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = sobol.sample(prob, 512, calc_second_order=False, seed=1)
    Y = 3 * X[:, 0] + X[:, 1]  # variance shares 9/10 and 1/10
    rows = pd.DataFrame(indices(prob, X, Y, "sobol", "y", seed=1)).set_index("parameter")
    assert rows.loc["a", "ST"] == pytest.approx(0.9, abs=0.05) and rows.loc[
        "b", "S1"
    ] == pytest.approx(0.1, abs=0.05)


@pytest.mark.parametrize("method, points", [("morris", 2 * 3), ("sobol", 2 * 4)])
def test_sensitivity_command_writes_indices_table_and_figure(tmp_path, capsys, method, points):
    f = tmp_path / "s.toml"
    f.write_text(SENSITIVITY)
    out = tmp_path / "res"
    assert (
        main(
            [
                "sensitivity",
                str(f),
                "--method",
                method,
                "--out",
                str(out),
                "--workers",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "startups_alive_y1" in text
    assert "month_target_reached: left out" in text  # 5,000 startups are not reached in 12 months
    assert len(pd.read_parquet(out / "summary.parquet")) == points
    table = pd.read_parquet(out / f"sensitivity_{method}.parquet")
    key = "mu_star" if method == "morris" else "ST"
    assert set(table["parameter"]) == {"voucher_rate", "project_return_sigma"}
    assert {key, f"{key}_conf", "rank"} <= set(table.columns)
    for _, g in table.groupby("outcome"):
        assert sorted(g["rank"]) in ([1, 2], [1, 1])
        assert g.sort_values("rank")[key].is_monotonic_decreasing
    assert (out / "figures" / f"sensitivity_{method}.png").stat().st_size > 1000
    assert main(["report", str(out)]) == 0
    html = (out / "report" / "index.html").read_text()
    assert f"Sensitivity ranking ({method})" in html and f"figures/sensitivity_{method}.png" in html
    assert "figures/lever_voucher_rate.png" in html


def test_report_rejects_a_directory_without_a_sweep(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: DIR")


def test_examples_directory_has_the_issue_examples():
    names = {
        p.stem
        for p in (Path(__file__).resolve().parent.parent / "experiments" / "examples").glob(
            "*.toml"
        )
    }
    assert {"voucher_rate_sweep", "voucher_policies"} <= names
    pol = load_experiment(
        Path(__file__).resolve().parent.parent
        / "experiments"
        / "examples"
        / "voucher_policies.toml"
    )
    rates = {p["voucher_rate"] for p in pol.points}
    assert {0.0, 0.3, 0.8} <= rates
    assert {p["voucher_portable"] for p in pol.points} == {False, True}
    assert 6.0e8 in {p["voucher_budget_yuan"] for p in pol.points}
