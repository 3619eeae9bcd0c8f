"""Experiment files: validation before any run, designs, seeds and run ids."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from ecosystem.scenario import ScenarioError
from experiments.cli import main
from experiments.spec import experiment_from_dict, load_experiment, replicate_seeds

EXAMPLES = sorted(
    (Path(__file__).resolve().parent.parent / "experiments" / "examples").glob("*.toml")
)


def base(**over) -> dict:
    doc = {
        "experiment": {
            "name": "t",
            "scenario": "hangzhou",
            "replicates": 2,
            "root_seed": 1,
            "months": 12,
        },
        "levers": {
            "voucher_rate": {"path": "regions.hangzhou.policy.voucher_rate", "values": [0.0, 0.5]}
        },
        "design": {"method": "factorial"},
        "outcomes": {"summary": ["startups_alive_y1"], "kpis": ["startups_alive"]},
    }
    for dotted, value in over.items():
        node = doc
        parts = dotted.split("__")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        if value is _DELETE:
            node.pop(parts[-1])
        else:
            node[parts[-1]] = value
    return doc


_DELETE = object()


def rejects(doc: dict, field: str) -> str:
    with pytest.raises(ScenarioError) as info:
        experiment_from_dict(doc)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(field), msg
    return msg


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_shipped_examples_validate(path):
    exp = load_experiment(path)
    assert exp.tasks and len({t.run_id for t in exp.tasks}) == len(exp.tasks)


def test_unknown_lever_path_is_rejected_naming_the_field():
    msg = rejects(
        base(levers__voucher_rate__path="regions.hangzhou.policy.voucher_rat"),
        "levers.voucher_rate.path",
    )
    assert "voucher_rat" in msg and "unknown scenario path" in msg


def test_unknown_region_and_table_paths_are_rejected():
    rejects(
        base(levers__voucher_rate__path="regions.shanghai.policy.voucher_rate"),
        "levers.voucher_rate.path",
    )
    msg = rejects(
        base(levers__voucher_rate__path="regions.hangzhou.policy"), "levers.voucher_rate.path"
    )
    assert "table" in msg


def test_empty_range_is_rejected():
    doc = base(levers__voucher_rate__values=_DELETE)
    doc["levers"]["voucher_rate"]["range"] = [0.5, 0.5]
    doc["levers"]["voucher_rate"]["levels"] = 3
    assert "empty range" in rejects(doc, "levers.voucher_rate.range")


def test_empty_values_are_rejected():
    rejects(base(levers__voucher_rate__values=[]), "levers.voucher_rate.values")


def test_negative_replicates_are_rejected():
    msg = rejects(base(experiment__replicates=-3), "experiment.replicates")
    assert "-3" in msg and ">= 1" in msg


def test_wrong_types_are_rejected():
    assert "integer" in rejects(base(experiment__replicates="four"), "experiment.replicates")
    rejects(base(experiment__root_seed=1.5), "experiment.root_seed")
    # a boolean lever given a number: the scenario schema says what is allowed
    doc = base()
    doc["levers"]["portable"] = {
        "path": "regions.hangzhou.policy.voucher_portable",
        "values": [0.5, 1.5],
    }
    assert "voucher_portable" in rejects(doc, "levers.portable.values")


def test_lever_values_outside_the_scenario_bounds_are_rejected():
    msg = rejects(base(levers__voucher_rate__values=[0.0, 1.5]), "levers.voucher_rate.values")
    assert "1.5" in msg and "<= 1" in msg


def test_months_beyond_the_scenario_horizon_are_rejected():
    assert "meta.years" in rejects(base(experiment__months=200), "experiment.months")
    exp = experiment_from_dict(base(experiment__months=180, constants={"meta.years": 15}))
    assert exp.horizon_months == 180


def test_unknown_keys_outcomes_and_methods_are_rejected():
    rejects(base(experiment__replicate=3), "experiment.replicate")
    rejects(base(levers__voucher_rate__step=0.1), "levers.voucher_rate.step")
    rejects(base(design__method="grid"), "design.method")
    assert "unknown outcome" in rejects(
        base(outcomes__summary=["startups_alive_y7"]), "outcomes.summary[0]"
    )
    rejects(base(outcomes__kpis=["no_such_kpi"]), "outcomes.kpis[0]")
    rejects(base(experiment__scenario="atlantis"), "experiment.scenario")
    rejects(base(constants={"national.no_such": 1}), "constants.national.no_such")


def test_design_requirements_are_checked():
    doc = base(design__method="lhs")
    rejects(doc, "design.samples")
    doc = base(design__method="morris", design__samples=2)
    assert "range" in rejects(doc, "levers.voucher_rate")
    doc = base(design__method="list", design__points=[{"name": "a", "voucher_rte": 0.1}])
    rejects(doc, "design.points[0].voucher_rte")
    doc = base(
        design__method="list",
        design__points=[{"name": "a", "voucher_rate": 0.0}],
        policy={"baseline": "zero"},
    )
    rejects(doc, "policy.baseline")


def test_factorial_design_is_the_cartesian_product_with_common_seeds():
    doc = base(experiment__replicates=3)
    doc["levers"]["portable"] = {
        "path": "regions.hangzhou.policy.voucher_portable",
        "values": [False, True],
    }
    doc["uncertainties"] = {
        "add": {
            "path": "compute.project_return_sigma",
            "range": [0.3, 0.7],
            "levels": 3,
        }
    }
    exp = experiment_from_dict(doc)
    assert len(exp.points) == 2 * 2 * 3
    assert {tuple(sorted(p.items())) for p in exp.points} == {
        tuple(sorted({"voucher_rate": a, "portable": b, "add": c}.items()))
        for a, b, c in itertools.product([0.0, 0.5], [False, True], [0.3, 0.5, 0.7])
    }
    assert len(exp.tasks) == 12 * 3
    seeds_by_rep = {}
    for t in exp.tasks:
        seeds_by_rep.setdefault(t.replicate, set()).add(t.seed)
    assert all(len(s) == 1 for s in seeds_by_rep.values())  # common random numbers
    assert len({next(iter(s)) for s in seeds_by_rep.values()}) == 3  # distinct across replicates
    assert [seeds_by_rep[r].pop() for r in range(3)] == replicate_seeds(1, 3)
    assert all(isinstance(t.params["portable"], bool) for t in exp.tasks)


def test_seeds_and_run_ids_are_deterministic_and_spawned_from_the_root():
    a, b = experiment_from_dict(base()), experiment_from_dict(base())
    assert [t.run_id for t in a.tasks] == [t.run_id for t in b.tasks]
    assert [t.seed for t in a.tasks] == [t.seed for t in b.tasks]
    assert a.design_hash == b.design_hash
    ss = np.random.SeedSequence(1).spawn(2)
    assert a.seeds == [int(s.generate_state(1)[0]) for s in ss]
    c = experiment_from_dict(base(experiment__root_seed=2))
    assert c.seeds != a.seeds and c.design_hash != a.design_hash


def test_lhs_is_stratified_within_bounds_and_reproducible():
    doc = base(design__method="lhs", design__samples=10)
    doc["levers"]["voucher_rate"] = {
        "path": "regions.hangzhou.policy.voucher_rate",
        "range": [0.1, 0.6],
    }
    doc["levers"]["portable"] = {
        "path": "regions.hangzhou.policy.voucher_portable",
        "values": [False, True],
    }
    exp = experiment_from_dict(doc)
    x = np.array([p["voucher_rate"] for p in exp.points])
    assert len(x) == 10 and x.min() >= 0.1 and x.max() <= 0.6
    # one sample in each of the 10 strata
    assert sorted(np.floor((x - 0.1) / 0.05).astype(int).tolist()) == list(range(10))
    assert {p["portable"] for p in exp.points} == {False, True}
    assert experiment_from_dict(doc).points == exp.points


def test_salib_designs_have_the_documented_sizes():
    doc = base(design__method="morris", design__samples=3)
    doc["levers"]["voucher_rate"] = {
        "path": "regions.hangzhou.policy.voucher_rate",
        "range": [0.0, 0.8],
    }
    doc["uncertainties"] = {"add": {"path": "compute.project_return_sigma", "range": [0.3, 1.5]}}
    exp = experiment_from_dict(doc)
    assert len(exp.points) == 3 * (2 + 1)
    sob = exp.with_method("sobol")  # N = 3 is rounded up to a power of two, and said
    assert sob.method == "sobol" and sob.samples == 4 and len(sob.points) == 4 * (2 + 2)
    assert sob.sample_matrix.shape == (16, 2)
    assert sob.notes == ["sobol needs N a power of two: N = 3 rounded up to 4"]
    doc2 = {**doc, "design": {"method": "sobol", "samples": 8, "second_order": True}}
    assert len(experiment_from_dict(doc2).points) == 8 * (2 * 2 + 2)
    assert len(experiment_from_dict(doc, method="fast", samples=65).points) == 65 * 2
    for method in ("delta", "pawn"):
        assert len(experiment_from_dict(doc, method=method, samples=40).points) == 40
    with pytest.raises(ScenarioError, match="N > 4·M² = 64"):
        experiment_from_dict(doc, method="fast", samples=64)


def test_samples_option_overrides_the_file_and_rejects_nonsense():
    doc = base(design__method="morris", design__samples=3)
    doc["levers"]["voucher_rate"] = {
        "path": "regions.hangzhou.policy.voucher_rate",
        "range": [0.0, 0.8],
    }
    assert len(experiment_from_dict(doc, samples=5).points) == 5 * 2
    with pytest.raises(ScenarioError, match="--samples"):
        experiment_from_dict(doc, samples=0)


def test_a_lever_named_like_an_outcome_is_rejected_before_any_run(tmp_path, capsys):
    doc = base()
    doc["levers"]["startups_alive_end"] = doc["levers"].pop("voucher_rate")
    assert "name of an outcome" in rejects(doc, "levers.startups_alive_end")
    f = tmp_path / "clash.toml"
    f.write_text(tomli_w.dumps(doc))
    assert main(["sweep", str(f), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "levers.startups_alive_end" in err
    assert not (tmp_path / "o").exists()


def test_outcome_kinds_tables_and_every_kpi_column():
    doc = base()
    doc["outcomes"] = {
        "summary": ["startups_alive_y1", "public_spending_yuan_total"],
        "kpis": ["*"],
        "tables": ["firms"],
        "kinds": {"startups_alive_y1": "maximize", "public_spending_yuan_total": "minimize"},
    }
    exp = experiment_from_dict(doc)
    assert exp.kpi_outcomes == ["*"] and exp.tables == ("firms",)
    assert exp.outcome_kinds == {
        "startups_alive_y1": "maximize",
        "public_spending_yuan_total": "minimize",
    }
    doc["outcomes"]["kinds"] = {"nope": "maximize"}
    assert "names no outcome" in rejects(doc, "outcomes.kinds.nope")
    doc["outcomes"]["kinds"] = {"startups_alive_y1": "up"}
    rejects(doc, "outcomes.kinds.startups_alive_y1")
    doc["outcomes"]["kinds"] = {}
    doc["outcomes"]["tables"] = ["people"]
    rejects(doc, "outcomes.tables")
    doc["outcomes"]["tables"] = []
    doc["outcomes"]["kpis"] = ["*", "startups_alive"]
    rejects(doc, "outcomes.kpis")


def test_run_ids_carry_the_design_hash():
    exp = experiment_from_dict(base())
    assert all(t.run_id.startswith(exp.design_hash + "-p") for t in exp.tasks)
    other = experiment_from_dict(base(experiment__root_seed=exp.root_seed + 1))
    assert not {t.run_id for t in exp.tasks} & {t.run_id for t in other.tasks}


MODULES = sorted(
    p.stem
    for p in (Path(__file__).resolve().parent.parent / "experiments").glob("*.py")
    if p.stem not in ("__init__", "__main__")
)
#: experiments' layers, lowest first: a module may import only from earlier layers
LAYERS = [
    ["parameters", "options", "formatting"],
    ["tasks", "probe", "inference"],
    ["samplers", "draws"],
    ["spec"],
    ["runner", "dask_worker"],
    ["sensitivity", "results", "ema", "calibrate"],
    ["assumptions"],
    ["screen"],
    ["uncertainty", "global_sensitivity"],
    ["policy", "compare"],
    ["report", "validation", "calibrate_all"],
    ["calibrate_national"],
    ["commands"],
    ["cli"],
]


def test_experiments_modules_are_layered_without_cycles():
    """Every import between experiments modules (function-local ones too) points down a layer."""
    import ast

    layer = {m: i for i, names in enumerate(LAYERS) for m in names}
    assert set(MODULES) <= set(layer), set(MODULES) - set(layer)
    root = Path(__file__).resolve().parent.parent / "experiments"
    for module in MODULES:
        tree = ast.parse((root / f"{module}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "experiments":
                    names = [a.name for a in node.names]
                elif node.module.startswith("experiments."):
                    names = [node.module.split(".")[1]]
            elif isinstance(node, ast.Import):
                names = [
                    a.name.split(".")[1] for a in node.names if a.name.startswith("experiments.")
                ]
            for name in names:
                assert layer[name] < layer[module] or name == module, f"{module} imports {name}"
