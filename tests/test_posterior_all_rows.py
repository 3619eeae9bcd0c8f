"""experiments/examples/posterior_all_rows.py (README and docs/calibration.md quote it): every row
of a posterior once, so its mean carries seed noise only."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from scripts import load_script

from ecosystem import outcomes
from ecosystem.run import run_scenario
from ecosystem.scenario import apply_overrides, scenario_from_dict

mod = load_script("experiments/examples/posterior_all_rows.py")


def test_each_row_runs_once_per_seed_with_its_own_values_whatever_the_worker_count(monkeypatch):
    monkeypatch.setitem(sys.modules, mod.__name__, mod)  # workers find _run by module name
    one, w1 = mod.measure("hangzhou", "preset", 2, 0, 1, first=3, workers=1)
    two, w2 = mod.measure("hangzhou", "preset", 2, 0, 1, first=3, workers=2)
    pd.testing.assert_frame_equal(one, two)
    np.testing.assert_array_equal(w1, w2)
    assert sorted(one["row"]) == [0, 0, 1, 1, 2, 2] and one["seed"].nunique() == 6
    doc, tasks, _ = mod.plan("hangzhou", "preset", 2, 0, 1, first=3)
    # rows differ from one another: each task carries its row's own parameter values
    assert len({tuple(sorted(t[3].items())) for t in tasks}) == 3
    r, k, seed, row = tasks[3]  # row 1, seed 1: a run by hand gives the same outcomes
    res = run_scenario(scenario_from_dict(apply_overrides(doc, row)), seed=seed)
    want = outcomes.compute(outcomes.RunData.from_result(res), mod.OUTCOMES)
    got = one[(one["row"] == r) & (one["k"] == k)].iloc[0]
    for name, value in want.items():
        assert got[name] == value or (np.isnan(got[name]) and np.isnan(value))


@pytest.mark.parametrize("preset", ["hangzhou", "beijing"])
def test_a_row_gets_the_values_aieco_run_gives_a_draw_of_that_row(preset):
    # the design aieco run uses (its own code path), drawing rows by weight
    from experiments.compare import plan_designs, scenario_plan

    (run,) = plan_designs(scenario_plan(preset, [], 1), 40, 1, 0, posterior="preset")
    drawn = run.table["posterior_row"].to_numpy()
    n = int(drawn.max()) + 1
    _, tasks, weight = mod.plan(preset, "preset", 1, 0, 1, first=n)
    by_row = {r: over for r, _, _, over in tasks}
    assert len(by_row) == n == len(weight)
    for m in range(run.draws):  # every draw aieco run makes of a row: the same values
        assert by_row[int(drawn[m])] == run.overrides(m)
    if preset == "beijing":  # θ_core and the city's own inputs, both from Beijing's rows
        over = by_row[int(drawn[0])]
        assert over["startups.closure_review_per_year"] > 0
        assert "regions.beijing.initial_startups" in over


def test_summary_is_the_weighted_mean_of_row_means_and_its_seed_error():
    df = pd.DataFrame(
        {
            "row": [0, 0, 1, 1, 2, 2],
            "k": [0, 1] * 3,
            "seed": range(6),
            "y": [10.0, 14.0, 100.0, 100.0, 1.0, 3.0],
        }  # fmt: skip
    )
    weight = np.array([1.0, 2.0, 1.0])
    t = mod.summary(df, weight, designs=(4,)).set_index("outcome").loc["y"]
    per, w = np.array([12.0, 100.0, 2.0]), weight / weight.sum()
    assert t["mean"] == pytest.approx(np.dot(w, per))
    # seed error: each row's seed variance over its seeds, weighted by w²
    assert t["seed_se"] == pytest.approx(np.sqrt(np.dot(w**2, np.array([8.0, 0.0, 2.0]) / 2)))
    assert (t["row_p05"], t["row_max"]) == (pytest.approx(np.quantile(per, 0.05)), 100.0)
    # a 4-draw design's mean lies between the smallest and largest row mean, and spreads
    assert 2.0 <= t["design_4_p05"] < t["design_4_p95"] <= 100.0
    # rows are drawn by weight: with all of it on one row every design's mean is that row's
    only = mod.summary(df, np.array([0.0, 1.0, 0.0]), designs=(4,)).iloc[0]
    assert only["mean"] == only["design_4_p05"] == only["design_4_p95"] == 100.0


def test_a_parameter_the_posterior_does_not_fix_is_refused_before_any_run(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(mod, "_run", lambda *a, **k: pytest.fail("ran before the check"))
    thin = tmp_path / "thin.parquet"
    pd.DataFrame({"nest_rho": [0.5, 0.6], "weight": [1.0, 1.0]}).to_parquet(thin)
    assert mod.main(["--posterior", str(thin), "--years", "1", "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --posterior") and "does not fix every drawn parameter" in err
    assert len(err.splitlines()) == 1
    assert mod.main(["--posterior", "prior", "--years", "1", "--workers", "1"]) == 2
    assert "gives no posterior rows" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # argparse: exit 2 with a one-line usage error
        mod.main(["--first", "0"])
    assert stop.value.code == 2
