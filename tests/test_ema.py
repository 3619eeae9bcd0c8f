"""aieco driven by EMA Workbench 3.0: time-series and array outcomes, replicate seeds, undeclared
parameters, list designs, PRIM and optimize with boolean levers (two upstream bugs worked
around), and the PRIM scenario-discovery example."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecosystem.scenario import ScenarioError
from experiments.spec import experiment_from_dict
from experiments.tasks import execute_run

warnings.filterwarnings("ignore", message="ipyparallel not installed")

from ema_workbench import (  # noqa: E402
    BooleanParameter,
    Constant,
    EMAError,
    RealParameter,
    SequentialEvaluator,
    TimeSeriesOutcome,
)
from ema_workbench.analysis import prim  # noqa: E402

from experiments.ema import (  # noqa: E402
    design_samples,
    ema_model,
    optimize,
    prim_inputs,
    replicate_table,
)

ROOT = Path(__file__).resolve().parent.parent


def doc(**outcomes) -> dict:
    return {
        "experiment": {
            "name": "ema",
            "scenario": "hangzhou",
            "replicates": 2,
            "root_seed": 9,
            "months": 12,
        },
        "levers": {
            "voucher_rate": {"path": "regions.hangzhou.policy.voucher_rate", "range": [0.0, 0.8]},
            "voucher_portable": {
                "path": "regions.hangzhou.policy.voucher_portable",
                "values": [False, True],
            },
        },
        "uncertainties": {
            "project_return_sigma": {
                "path": "compute.project_return_sigma",
                "range": [0.3, 1.5],
            },
        },
        "design": {"method": "lhs", "samples": 2},
        "outcomes": {
            "summary": ["startups_alive_y1", "voucher_spent_yuan_total", "month_target_reached"],
            "kpis": ["startups_alive", "dc_utilization"],
            **outcomes,
        },
    }


@pytest.fixture(scope="module")
def exp():
    return experiment_from_dict(doc(kinds={"startups_alive_y1": "maximize"}))


@pytest.fixture(scope="module")
def results(exp):
    model = ema_model(exp)
    with SequentialEvaluator(model) as ev:
        experiments, outcomes = ev.perform_experiments(scenarios=3, policies=2)
    return model, experiments, outcomes


def test_parameters_outcomes_and_kinds_come_from_the_file(exp, results):
    model, experiments, outcomes = results
    assert isinstance(model.levers["voucher_rate"], RealParameter)
    assert isinstance(model.levers["voucher_portable"], BooleanParameter)
    assert [u.name for u in model.uncertainties] == ["project_return_sigma"]
    assert isinstance(model.outcomes["startups_alive"], TimeSeriesOutcome)
    assert model.outcomes["startups_alive_y1"].kind == model.outcomes["startups_alive_y1"].MAXIMIZE
    assert model.outcomes["voucher_spent_yuan_total"].kind == 0  # INFO
    assert len(experiments) == 6
    assert outcomes["startups_alive"].shape == (6, 12)
    assert outcomes["TIME"].shape == (6, 12) and (outcomes["TIME"][0] == np.arange(12)).all()
    assert outcomes["startups_alive_by_region"].shape == (6, 12, 5)
    assert np.isnan(outcomes["month_target_reached"]).all()


def test_time_series_and_scalars_are_replicate_means_of_the_model_runs(exp, results):
    """Recompute one experiment by hand with aieco's own runner and compare numbers."""
    from experiments.parameters import RunTask

    model, experiments, outcomes = results
    row = experiments.iloc[4]
    params = {p.name: row[p.name] for p in exp.parameters}
    params["voucher_portable"] = bool(params["voucher_portable"])
    overrides = {exp.parameter(k).path: v for k, v in params.items()}
    series, alive, by_region = [], [], []
    for seed in exp.seeds:
        task = RunTask("x", 0, 0, "x", seed, params, overrides, 12)
        out, kpis, _ = execute_run(task, exp.base_document, ["startups_alive"])
        city = kpis[kpis["region"] == "hangzhou"].sort_values("month")
        series.append(city["startups_alive"].to_numpy(float))
        alive.append(out["startups_alive_y1"])
        wide = kpis.pivot_table(index="month", columns="region", values="startups_alive")
        by_region.append(wide[list(exp.base_document["regions"])].to_numpy(float))
    np.testing.assert_array_equal(outcomes["startups_alive"][4], np.mean(series, axis=0))
    assert outcomes["startups_alive_y1"][4] == np.mean(alive)
    np.testing.assert_array_equal(
        outcomes["startups_alive_by_region"][4], np.mean(by_region, axis=0)
    )
    np.testing.assert_array_equal(outcomes["startups_alive_y1_replicates"][4], alive)


def test_replicate_seeds_are_in_the_experiments_table(exp, results):
    _, experiments, outcomes = results
    table = replicate_table(experiments, outcomes, exp)
    assert len(table) == 12 and list(table["seed"][:2]) == exp.seeds
    assert table.groupby("replicate")["seed"].nunique().eq(1).all()  # common random numbers
    assert table.groupby("experiment")["startups_alive_y1"].mean().tolist() == list(
        outcomes["startups_alive_y1"]
    )
    assert {"voucher_rate", "voucher_portable", "scenario", "policy"} <= set(table.columns)


def test_undeclared_parameters_are_rejected_naming_them_and_paths_are_mapped(exp):
    model = ema_model(exp)
    model.uncertainties = [*model.uncertainties, RealParameter("founding_cash_yuan", 5e5, 3e6)]
    with pytest.raises(EMAError, match="EMA parameters = 'founding_cash_yuan': not declared"):
        with SequentialEvaluator(model) as ev:
            ev.perform_experiments(scenarios=1, policies=1)
    # a dotted scenario path is a parameter of its own: a constant that changes the outcome
    fn = model.function
    kw = {"voucher_rate": 0.5, "voucher_portable": False, "project_return_sigma": 0.8}
    base = fn(seed=exp.seeds[0], **kw)["voucher_spent_yuan_total"]
    bigger = fn(seed=exp.seeds[0], **kw, **{"regions.hangzhou.policy.voucher_budget_yuan": 1e6})
    # (the total is a sum of monthly float payments: within rounding of the ¥1m budget)
    assert bigger["voucher_spent_yuan_total"] <= 1e6 * (1 + 1e-12) and 1e6 < base
    with pytest.raises(ScenarioError, match="unknown scenario path"):
        fn(seed=1, **kw, **{"regions.hangzhou.policy.no_such_thing": 1})
    model = ema_model(exp)
    model.constants = [Constant("regions.hangzhou.policy.voucher_budget_yuan", 1e6)]
    with SequentialEvaluator(model) as ev:
        _, out = ev.perform_experiments(scenarios=1, policies=1)
    assert out["voucher_spent_yuan_total"][0] <= 1e6 * (1 + 1e-12)  # rounding, as above


def test_a_list_design_runs_its_points_as_policies():
    d = doc()
    d["levers"] = {
        "voucher_rate": {"path": "regions.hangzhou.policy.voucher_rate"},
        "voucher_portable": {"path": "regions.hangzhou.policy.voucher_portable"},
    }
    d["design"] = {
        "method": "list",
        "points": [
            {"name": "none", "voucher_rate": 0.0, "voucher_portable": False},
            {"name": "high_portable", "voucher_rate": 0.8, "voucher_portable": True},
        ],
    }
    d["experiment"]["replicates"] = 1
    exp = experiment_from_dict(d)
    model = ema_model(exp)
    assert isinstance(model.levers["voucher_portable"], BooleanParameter)
    policies = design_samples(exp)
    assert [p.name for p in policies] == ["none", "high_portable"]
    with SequentialEvaluator(model) as ev:
        experiments, outcomes = ev.perform_experiments(scenarios=1, policies=policies)
    assert list(experiments["policy"]) == ["none", "high_portable"]
    assert list(experiments["voucher_rate"]) == [0.0, 0.8]
    assert outcomes["voucher_spent_yuan_total"][0] < outcomes["voucher_spent_yuan_total"][1]


def test_prim_inspect_works_with_a_boolean_lever(results):
    _, experiments, outcomes = results
    y = outcomes["voucher_spent_yuan_total"] > np.median(outcomes["voucher_spent_yuan_total"])
    x = prim_inputs(experiments)
    assert x["voucher_portable"].dtype == float and "policy" not in x
    box = prim.Prim(x, y).find_box()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = box.inspect(style="data")
    assert stats is not None


def test_optimize_uses_the_declared_directions_and_boolean_levers(exp, tmp_path):
    d = doc(kinds={"startups_alive_end": "maximize"})
    d["experiment"].update(replicates=1, months=6)
    d["outcomes"]["summary"] = ["startups_alive_end"]
    small = experiment_from_dict(d)
    results = optimize(small, nfe=6, directory=tmp_path, epsilons=[10.0], population_size=3)
    front = results[0] if isinstance(results, tuple) else results
    assert {"voucher_rate", "voucher_portable", "startups_alive_end"} <= set(front.columns)
    assert set(front["voucher_portable"]) <= {0, 1}
    no_kinds = experiment_from_dict(doc())
    with pytest.raises(ScenarioError, match="outcomes.kinds"):
        optimize(no_kinds, nfe=2, directory=tmp_path)


def test_prim_scenario_discovery_example_runs(tmp_path, capsys):
    """The example on a small problem: one year, 12 experiments, the target at the median of
    their peak startup counts (a fixed count such as 450 stopped splitting the 12 each time the
    core changed), so some but not all reach it."""
    import tomllib

    import tomli_w

    spec = tomllib.loads((ROOT / "experiments/examples/prim_5000.toml").read_text())
    spec["experiment"]["months"] = 12
    spec["experiment"]["replicates"] = 1
    f = tmp_path / "prim.toml"
    f.write_text(tomli_w.dumps(spec))
    from scripts import load_script

    module = load_script("experiments/examples/prim_scenario_discovery.py")
    out = tmp_path / "experiments.parquet"
    args = [str(f), "--scenarios", "12", "--target-quantile", "0.5", "--out", str(out)]
    code = module.main(args)
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert re.search(r"\b(\d+) of 12 experiments reach [\d,]+ startups", printed), printed
    reached = int(re.search(r"\b(\d+) of 12 experiments", printed).group(1))
    assert 0 < reached < 12 and "coverage" in printed
    table = pd.read_parquet(out)
    assert len(table) == 12 and "seed" in table and "mobile_founders_per_year" in table
