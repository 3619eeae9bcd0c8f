"""experiments/examples/posterior_life_table.py (docs/calibration.md quotes it): the life and
cohort tables of the hand-calibration check, pooled over posterior draws × seeds."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from scripts import load_script

from ecosystem.calibration import Survival
from ecosystem.run import run_scenario
from ecosystem.scenario import apply_overrides, scenario_from_dict
from experiments.uncertainty import preset_designs

mod = load_script("experiments/examples/posterior_life_table.py")


def test_pooled_counts_are_every_runs_counts_summed_whatever_the_worker_count(monkeypatch):
    monkeypatch.setitem(sys.modules, mod.__name__, mod)  # workers find _run by module name
    one = mod.measure("hangzhou", "preset", 2, 2, 0, 1, workers=1)
    two = mod.measure("hangzhou", "preset", 2, 2, 0, 1, workers=2)
    assert sorted(one) == sorted(two) == [0, 1]
    assert mod.report(one, 4) == mod.report(two, 4)
    # draw 1's counts are its two seeds' runs, each counted as the --check tables count a run
    ((_, doc, design),) = preset_designs("hangzhou", ["preset"], 2, 2, 0, 1)
    want = Survival.empty(1)
    for m, _, seed in design.pairs():
        if m == 1:
            sc = scenario_from_dict(apply_overrides(doc, design.overrides(m)))
            r = run_scenario(sc, seed=seed)
            want.add(r.firms, r.months, sc.meta.start_year)
    got = one[1]
    np.testing.assert_array_equal(got.at_risk, want.at_risk)
    np.testing.assert_array_equal(got.failures, want.failures)
    assert got.exits == want.exits > 0
    assert sorted(got.cohorts) == sorted(want.cohorts)
    for year, row in want.cohorts.items():
        np.testing.assert_array_equal(got.cohorts[year], row)


def test_the_doc_block_is_replaced_and_nothing_else(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    doc = tmp_path / "page.md"
    doc.write_text(f"# Page\n\nbefore\n{mod.MARK}\nold table\n{mod.END}\nafter\n")
    argv = ["--draws", "2", "--seeds", "1", "--years", "1", "--workers", "1", "--doc", str(doc)]
    assert mod.main(argv) == 0
    text = doc.read_text()
    assert text.startswith("# Page\n\nbefore\n") and text.endswith(f"{mod.END}\nafter\n")
    assert "old table" not in text and "| age year | pooled |" in text
    assert "posterior_life_table.py --draws 2 --seeds 1" in text  # the command that made it
    capsys.readouterr()
    # a file without the block, with it upside down, or missing: one line, exit 2, before any
    # run (a run would fail here: the monkeypatch below makes every run an error)
    monkeypatch.setattr(mod, "measure", lambda *a, **k: pytest.fail("ran before the check"))
    bare, upside = tmp_path / "bare.md", tmp_path / "upside.md"
    bare.write_text("# Nothing to replace\n")
    upside.write_text(f"{mod.END}\n{mod.MARK}\n")
    for path in (bare, upside, tmp_path / "missing.md"):
        assert mod.main([*argv[:-1], str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: --doc {path}") and "\n" not in err
    assert bare.read_text() == "# Nothing to replace\n"


@pytest.mark.parametrize("script", ["posterior_life_table", "posterior_ablation"])
def test_a_bad_posterior_is_one_line_and_exit_2_before_any_run(script, capsys):
    m = (
        mod
        if script == "posterior_life_table"
        else load_script(f"experiments/examples/{script}.py")
    )
    argv = ["--posterior", "nosuch", "--draws", "2", "--seeds", "1", "--workers", "1"]
    if script == "posterior_ablation":
        argv += ["--against", "startups.founding_cash_yuan=1"]
    assert m.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --posterior = 'nosuch'") and "\n" not in err


def test_a_bad_against_is_refused_before_any_run(monkeypatch, capsys):
    m = load_script("experiments/examples/posterior_ablation.py")
    monkeypatch.setattr(m, "_run", lambda *a, **k: pytest.fail("ran before the check"))
    argv = ["--draws", "2", "--seeds", "1", "--workers", "1", "--against", "startups.nosuch=1"]
    assert m.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: startups.nosuch = 1: unknown key"


def test_survival_counts_pool_only_over_the_same_ages():
    a, b = Survival.empty(2), Survival.empty(2)
    b.at_risk[:] = 3
    b.cohorts = {2025: np.arange(10)}
    a.cohorts = None
    a.merge(b)
    assert (a.at_risk == 3).all() and list(a.cohorts[2025]) == list(range(10))
    with pytest.raises(ValueError, match="24 and 12 months"):
        a.merge(Survival.empty(1))


def test_drivers_rank_the_drawn_parameters_by_their_correlation_with_survival():
    per_draw, rows = {}, []
    for m, dead in enumerate([5, 30, 10, 20, 40]):  # draw m's failures in its first month
        s = Survival.empty(2)
        s.at_risk[:] = 100
        s.failures[0] = dead  # survival at two years: 1 − dead / 100
        per_draw[m] = s
        rows.append(
            {"posterior": "preset", "draw": m, "rises_with_deaths": dead / 7, "flat": 1.0,
             "noise": [3, 1, 4, 1, 5][m]}
        )  # fmt: skip
    params = pd.DataFrame(rows)
    table = mod.drivers(per_draw, params)
    lines = table.splitlines()
    assert "Spearman over the 5 draws" in lines[0] and "| ρ with survival at 2 years |" in table
    rows = [line for line in lines if line.startswith("| `")]
    assert rows[0] == "| `rises_with_deaths` | -1.00 |"  # ranked first; ages past the run left out
    assert not any("`flat`" in row for row in rows)  # a parameter that does not vary has no ρ
    assert mod.drivers(dict(list(per_draw.items())[:2]), params) == ""  # too few draws
