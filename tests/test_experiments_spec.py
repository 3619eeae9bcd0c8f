"""Experiment files: validation before any run, designs, seeds and run ids."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from ecosystem.scenario import ScenarioError
from experiments.cli import main
from experiments.spec import experiment_from_dict, load_experiment, replicate_seeds

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "experiments" / "examples").glob("*.toml"))


def base(**over) -> dict:
    doc = {
        "experiment": {"name": "t", "scenario": "hangzhou", "replicates": 2, "root_seed": 1, "months": 12},
        "levers": {"voucher_rate": {"path": "regions.hangzhou.policy.voucher_rate", "values": [0.0, 0.5]}},
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
    msg = rejects(base(levers__voucher_rate__path="regions.hangzhou.policy.voucher_rat"), "levers.voucher_rate.path")
    assert "voucher_rat" in msg and "unknown scenario path" in msg


def test_unknown_region_and_table_paths_are_rejected():
    rejects(base(levers__voucher_rate__path="regions.shanghai.policy.voucher_rate"), "levers.voucher_rate.path")
    msg = rejects(base(levers__voucher_rate__path="regions.hangzhou.policy"), "levers.voucher_rate.path")
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
    doc["levers"]["portable"] = {"path": "regions.hangzhou.policy.voucher_portable", "values": [0.5, 1.5]}
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
    assert "unknown outcome" in rejects(base(outcomes__summary=["startups_alive_y7"]), "outcomes.summary[0]")
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
    doc = base(design__method="list", design__points=[{"name": "a", "voucher_rate": 0.0}], policy={"baseline": "zero"})
    rejects(doc, "policy.baseline")


def test_factorial_design_is_the_cartesian_product_with_common_seeds():
    doc = base(experiment__replicates=3)
    doc["levers"]["portable"] = {"path": "regions.hangzhou.policy.voucher_portable", "values": [False, True]}
    doc["uncertainties"] = {"add": {"path": "regions.hangzhou.policy.voucher_additionality", "range": [0.3, 0.7], "levels": 3}}
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
    doc["levers"]["voucher_rate"] = {"path": "regions.hangzhou.policy.voucher_rate", "range": [0.1, 0.6]}
    doc["levers"]["portable"] = {"path": "regions.hangzhou.policy.voucher_portable", "values": [False, True]}
    exp = experiment_from_dict(doc)
    x = np.array([p["voucher_rate"] for p in exp.points])
    assert len(x) == 10 and x.min() >= 0.1 and x.max() <= 0.6
    # one sample in each of the 10 strata
    assert sorted(np.floor((x - 0.1) / 0.05).astype(int).tolist()) == list(range(10))
    assert {p["portable"] for p in exp.points} == {False, True}
    assert experiment_from_dict(doc).points == exp.points


def test_salib_designs_have_the_documented_sizes():
    doc = base(design__method="morris", design__samples=3)
    doc["levers"]["voucher_rate"] = {"path": "regions.hangzhou.policy.voucher_rate", "range": [0.0, 0.8]}
    doc["uncertainties"] = {"add": {"path": "regions.hangzhou.policy.voucher_additionality", "range": [0.3, 0.8]}}
    exp = experiment_from_dict(doc)
    assert len(exp.points) == 3 * (2 + 1)
    sob = exp.with_method("sobol")
    assert sob.method == "sobol" and len(sob.points) == 3 * (2 + 2)
    assert sob.sample_matrix.shape == (12, 2)


def test_cli_rejects_a_bad_file_with_one_line_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[experiment]\nname = "bad"\nreplicates = -1\n'
        '[levers.r]\npath = "regions.hangzhou.policy.voucher_rate"\nvalues = [0.1]\n'
    )
    out = tmp_path / "out"
    assert main(["sweep", str(bad), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: experiment.replicates")
    assert "Traceback" not in err
    assert not out.exists()


def test_cli_rejects_unreadable_input(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "missing.toml"), "--quiet"]) == 2
    assert capsys.readouterr().err.startswith("error: experiment file")
    broken = tmp_path / "broken.toml"
    broken.write_text("[experiment\n")
    assert main(["sweep", str(broken), "--quiet"]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    good = tmp_path / "good.toml"
    good.write_text('[experiment]\nname = "g"\nmonths = 12\n[levers.r]\npath = "regions.hangzhou.policy.voucher_rate"\nvalues = [0.1]\n')
    assert main(["sweep", str(good), "--workers", "0", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("error: --workers")
    assert main(["sweep", str(good), "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("error: --scheduler")
    assert not (tmp_path / "o").exists()
