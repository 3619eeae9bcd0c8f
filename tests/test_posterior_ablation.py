"""experiments/examples/posterior_ablation.py (docs/calibration.md quotes it): the paired effect
of a change applied on top of each posterior draw, which ``aieco policy`` refuses for a drawn
path."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scripts import load_script

from ecosystem.scenario import scenario_from_dict

mod = load_script("experiments/examples/posterior_ablation.py")
AGAINST = ["startups.founding_cash_yuan=100000"]  # a drawn parameter: the change must win


def _cash(doc: dict) -> float:
    return doc["startups"]["founding_cash_yuan"]["value"]


def test_the_change_is_applied_on_top_of_every_draw_and_nothing_else_differs():
    todo = mod.tasks("hangzhou", ["preset"], 3, 2, 0, 1, AGAINST)
    assert len(todo) == 3 * 2 * 2 and all(t[4]["meta"]["years"]["value"] == 1 for t in todo)
    for drawn, against in zip(todo[::2], todo[1::2], strict=True):
        assert (drawn[3], against[3]) == ("drawn", "against")
        assert drawn[1:3] == against[1:3]  # same draw, same seed
        d, a = drawn[4], against[4]
        assert _cash(d) != 100000 and _cash(a) == 100000
        a["startups"]["founding_cash_yuan"] = d["startups"]["founding_cash_yuan"]
        assert a == d
    # the draws differ from one another (they come from the posterior, not the preset)
    cash = {_cash(t[4]) for t in todo[::2]}
    assert len(cash) == 3


def test_paired_differences_whatever_the_worker_count(monkeypatch):
    # worker processes find the script's functions by module name (pickled by reference)
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    df1 = mod.measure("hangzhou", ["preset"], 2, 1, 0, 1, AGAINST, workers=1)
    df2 = mod.measure("hangzhou", ["preset"], 2, 1, 0, 1, AGAINST, workers=2)
    assert df1.equals(df2)
    table = mod.summary(df1)  # a one-year run: the end count only (year 5 is NaN)
    assert list(table["outcome"]) == ["startups_alive_end"]
    wide = df1.pivot_table(index="draw", columns="arm", values="startups_alive_end")
    assert np.isclose(table["difference"].iloc[0], (wide["against"] - wide["drawn"]).mean())
    # ¥100k of founding cash instead of ~¥1m: firms run out within the first year. Never more
    # firms; fewer in at least one draw (at the 5 December posterior one draw of two had none
    # of its first-year entrants run out within the year: 450 and 450)
    assert (wide["against"] <= wide["drawn"]).all()
    assert (wide["against"] < wide["drawn"]).any()


def test_other_outcomes_of_the_registry_can_be_compared():
    which = ("shutdowns_closed_share", "startups_founded_total")
    df = mod.measure("hangzhou", ["preset"], 2, 1, 0, 1, AGAINST, workers=1, which=which)
    assert set(which) <= set(df.columns) and "startups_alive_end" not in df.columns
    table = mod.summary(df, which)
    assert list(table["outcome"]) == list(which)
    assert (table["drawn_min"] <= table["drawn"]).all()
    assert (table["drawn"] <= table["drawn_max"]).all()
    share = table.set_index("outcome").loc["shutdowns_closed_share"]
    assert 0.0 <= share["drawn_min"] and share["drawn_max"] <= 1.0
    text = mod._formatted(table).set_index("outcome")
    assert text.loc["shutdowns_closed_share", "drawn"] == f"{share['drawn']:.3f}"
    assert text.loc["startups_founded_total", "drawn_min"].endswith(".0")


def test_an_unknown_outcome_is_refused_before_any_run(capsys):
    with pytest.raises(SystemExit) as e:
        mod.main(["--against", "startups.founding_cash_yuan=1", "--outcome", "nope"])
    assert e.value.code == 2
    assert "--outcome nope: unknown outcome; allowed:" in capsys.readouterr().err


def test_rows_carry_each_draw_s_parameters(tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "rows.parquet"
    mod.main(
        ["--draws", "2", "--seeds", "1", "--years", "1", "--workers", "1", "--against",
         AGAINST[0], "--outcome", "startups_alive_end", "--rows", str(out)]
    )  # fmt: skip
    rows = pd.read_parquet(out)
    assert len(rows) == 2 * 1 * 2 and set(rows["arm"]) == {"drawn", "against"}
    params = mod.draw_parameters("hangzhou", ["preset"], 2, 1, 0, 1)
    assert "founding_cash_yuan" in params.columns
    got = rows[rows["arm"] == "drawn"].set_index("draw")["founding_cash_yuan"]
    assert got.to_dict() == params.set_index("draw")["founding_cash_yuan"].to_dict()
    assert str(out) in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        mod.main(["--against", AGAINST[0], "--rows", str(tmp_path / "rows.csv")])
    assert e.value.code == 2


def test_ablation_set_goes_into_both_arms_and_holds_a_drawn_path():
    against = ["regions.hangzhou.policy.talent_subsidy_yuan_per_person=0"]
    todo = mod.tasks("hangzhou", ["preset"], 2, 1, 0, 1, against, ["compute.choice_rule=marginal"])
    assert len(todo) == 4 and {t[3] for t in todo} == {"drawn", "against"}
    for _, _, _, arm, doc in todo:
        assert scenario_from_dict(doc).compute.choice_rule == "marginal"
        subsidy = scenario_from_dict(doc).regions["hangzhou"].policy
        assert (subsidy.talent_subsidy_yuan_per_person == 0) == (arm == "against")
    # a drawn parameter set by --set is held at its value in every draw, as aieco validation
    # --set holds it, and is no longer among the draws' parameters; the rest are still drawn
    held = ["startups.founder_attrition_ratio=0.25"]
    todo = mod.tasks("hangzhou", ["preset"], 2, 1, 0, 1, against, held)
    ratios = {scenario_from_dict(d).startups.founder_attrition_ratio for *_, d in todo}
    assert ratios == {0.25}
    cash = {scenario_from_dict(d).startups.founding_cash_yuan for *_, d in todo}
    assert len(cash) == 2  # two draws of another parameter
    params = mod.draw_parameters("hangzhou", ["preset"], 2, 1, 0, 1, held)
    assert "founder_attrition_ratio" not in params and "founding_cash_yuan" in params


def test_another_city_s_preset_draws_what_aieco_run_draws_for_it():
    # The examples' designs are the stage-A spec's parameters mapped onto the preset (θ_core from
    # the city's own posterior, its inputs joined), as `aieco run beijing --param-draws` draws
    # them: the preset's name is no spec (Beijing's stage-B spec holds its three inputs only, and
    # with it θ_core stayed at the preset's values, so an ablation of a core path did nothing).
    from experiments.compare import plan_designs, scenario_plan
    from experiments.uncertainty import preset_designs

    ((_, doc, design),) = preset_designs("beijing", ["preset"], 3, 1, 0, 1)
    (run,) = plan_designs(scenario_plan("beijing", [], 1), 3, 1, 0, posterior="preset")
    assert design.names == run.names and len(design.names) > 3
    assert "closure_review_per_year" in design.from_posterior  # a core parameter, from Beijing's
    assert "initial_startups_beijing" in design.from_posterior  # and the city's own inputs
    for m in range(3):
        assert design.params(m) == run.params(m)
    # and the drawn core value is what each run gets
    ((_, _, drawn, _, d),) = [t for t in mod.tasks("beijing", ["preset"], 1, 1, 0, 1, AGAINST)
                              if t[3] == "drawn"]  # fmt: skip
    review = d["startups"]["closure_review_per_year"]["value"]
    assert review == design.params(0)["closure_review_per_year"] > 0
