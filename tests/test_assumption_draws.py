"""Documented assumptions drawn beside the calibrated parameters (issue 11 point 4: "or, for
inputs with no data, from their documented ranges"; ``--assumptions``).

What the option claims: it adds exactly the drawable documented inputs it names, each inside
its range; it never takes a policy setting, the run's own settings or a calibrated parameter
twice; a value depends on the root seed, the draw and the path only (so the spec's draws do not
move when assumptions are added, and a path draws the same value whatever else is selected);
an experiment that sets an assumption keeps its value; what is drawn and what is not is said
on every interval; a typo exits 2 with one line before any run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from paired import stock_policy_experiment

from ecosystem.scenario import ScenarioError, load_document
from experiments import uncertainty as unc
from experiments.assumptions import (
    documented_ranges,
    is_assumption,
    parse_selection,
    range_prior,
    shape_reason,
)

TINY = str(Path(__file__).parent / "presets" / "tiny.toml")


@pytest.fixture(scope="module")
def hangzhou():
    return load_document("hangzhou")


def _drawable(doc: dict, prefix: str) -> set[str]:
    from ecosystem.scenario import strip_provenance

    plain, _ = strip_provenance(doc)
    return {
        path
        for path, leaf in documented_ranges(doc)
        if path.startswith(prefix)
        and ".policy." not in path
        and shape_reason(leaf) is None
        and not isinstance(range_prior(path, doc, plain), str)
    }


def test_a_prefix_adds_exactly_its_drawable_documented_inputs_inside_their_ranges(hangzhou):
    base = unc.make_design(hangzhou, 8, 1, 5)
    design = unc.make_design(hangzhou, 8, 1, 5, assumptions="labour.")
    added = [p for p in design.priors if is_assumption(p)]
    spec_paths = {p.path for p in base.priors}
    expected = _drawable(hangzhou, "labour.") - spec_paths - {"labour.graduate_inflow_warn_share"}
    assert {p.path for p in added} == expected and len(expected) > 10
    assert design.assumption_names == [p.name for p in added]
    for p in added:
        values = design.table[p.name]
        assert values.between(p.low, p.high).all(), p.path
        assert values.nunique() > 1, p.path  # drawn, not held
    # the spec's own parameters keep their draws: adding assumptions moves nothing else
    pd.testing.assert_frame_equal(design.table[base.names], base.table[base.names])


def test_all_never_takes_a_policy_setting_the_runs_settings_or_a_spec_parameter_twice(hangzhou):
    design = unc.make_design(hangzhou, 2, 1, 5, assumptions="all")
    paths = [p.path for p in design.priors]
    assert len(paths) == len(set(paths))
    assert not [p for p in paths if ".policy." in p or p.startswith("meta.")]
    assert len(design.assumption_names) > 150
    notes = " ".join(design.notes)
    assert "a policy setting" in notes and "range is a point" in notes


def test_a_paths_value_depends_on_the_seed_the_draw_and_the_path_only(hangzhou):
    narrow = unc.make_design(hangzhou, 6, 1, 11, assumptions="labour.,startups.founding_team")
    wide = unc.make_design(hangzhou, 6, 1, 11, assumptions="all")
    pd.testing.assert_frame_equal(wide.table[narrow.names], narrow.table[narrow.names])
    other = unc.make_design(hangzhou, 6, 1, 12, assumptions="labour.")
    assert not other.table["labour_matching_efficiency"].equals(
        narrow.table["labour_matching_efficiency"]
    )


def test_every_interval_says_what_is_drawn_and_what_is_not(hangzhou):
    none = unc.make_design(hangzhou, 2, 1, 5)
    assert unc.LEFT_OUT in none.source_line() and "--assumptions all" in none.source_line()
    some = unc.make_design(hangzhou, 2, 1, 5, assumptions="labour.")
    line = some.source_line()
    assert f"({len(some.assumption_names)}, under labour.)" in line
    assert "independently" in line and "stay at their values" in line
    assert f"{len(some.assumption_names)} documented assumptions" in some.label()
    every = unc.make_design(hangzhou, 2, 1, 5, assumptions="all").source_line()
    assert "all " in every and "stay at their values" not in every
    assert some.describe()["assumption_parameters"] == some.assumption_names


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("labr.", "matches no documented assumption"),
        ("regions.hangzhou.policy.", "matches no documented assumption"),
        ("all,labour.", "not both"),
        ("labour. x", "path prefixes"),
    ],
)
def test_a_bad_selection_is_refused_naming_the_option(hangzhou, value, message):
    with pytest.raises(ScenarioError, match=message) as err:
        unc.make_design(hangzhou, 2, 1, 5, assumptions=value)
    assert err.value.field == "--assumptions"


def test_a_region_the_scenario_lacks_is_a_note_not_an_error(hangzhou):
    design = unc.make_design(hangzhou, 2, 1, 5, assumptions="regions.beijing.")
    assert not design.assumption_names
    assert any("no such region" in n for n in design.notes)
    assert parse_selection("none") == () and parse_selection(None) == ()


def test_an_assumption_the_experiment_sets_keeps_the_experiments_value(tmp_path):
    from experiments.spec import load_experiment

    exp_file = stock_policy_experiment(
        tmp_path / "e.toml", 6, "startups_alive_end", {"labour.matching_efficiency": 0.3}
    )
    exp = load_experiment(exp_file)
    doc = load_document(TINY)
    design = unc.make_design(doc, 2, 1, 3, assumptions="labour.")
    assert "labour_matching_efficiency" in design.assumption_names
    drawn = unc.with_draws(exp, design)
    assert "labour_matching_efficiency" not in drawn.design.names
    assert any("labour.matching_efficiency" in n for n in drawn.notes)
    for task in drawn.tasks:
        assert "labour.matching_efficiency" not in task.overrides


def test_assumptions_without_draws_and_a_typo_exit_2_with_one_line(tmp_path, capsys):
    from experiments import cli

    base = ["run", TINY, "--replicates", "1", "--out", str(tmp_path / "o"), "--quiet"]
    for extra, message in (
        (["--assumptions", "all"], "needs --param-draws"),
        (["--param-draws", "2", "--assumptions", "labr."], "--assumptions"),
    ):
        assert cli.main([*base, *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and message in err and "\n" not in err
    assert not (tmp_path / "o").exists()


def test_runs_with_every_assumption_drawn_complete_and_record_the_draws(tmp_path, capsys):
    from experiments import cli

    out = tmp_path / "rep"
    argv = ["run", TINY, "--years", "1", "--replicates", "1", "--out", str(out), "--quiet"]
    assert cli.main([*argv, "--workers", "1", "--param-draws", "3", "--assumptions", "all"]) == 0
    text = capsys.readouterr().out
    assert "documented assumptions from their ranges" in text and "drawn too (all " in text
    table = pd.read_parquet(out / "comparison.parquet")
    assert int(table["param_draws"].max()) == 3


# --------------------------------------------------------------------------------------------
# --screen: keep the draws that fit the calibration targets as well as the posterior does
# --------------------------------------------------------------------------------------------
def _fake_runs(monkeypatch, distance_of):
    """Screen runs that return, instead of running, statistics at a known distance: every
    conditioned target at observed + half-band × sqrt(d / n) (so band_distance = d)."""
    from experiments import runner
    from experiments.calibrate import load_spec

    targets = [t for t in load_spec("hangzhou").targets if t.observed is not None]
    seen = []

    def fake(tasks, documents, kpis, workers, bar):
        bar.close()
        out = {}
        for t in tasks:
            seen.append(t)
            d = distance_of(t.point, t.replicate)
            if d is None:
                out[(t.point, t.replicate)] = {"status": "failed", "error": "boom", "kpis": None}
                continue
            z = (d / len(targets)) ** 0.5
            stats = {s.name: s.observed + z * (s.high - s.low) / 2 for s in targets}
            out[(t.point, t.replicate)] = {"status": "ok", "outcomes": stats}
        return out

    monkeypatch.setattr(runner, "execute_tasks", fake)
    return seen


def test_the_screen_keeps_the_draws_no_farther_than_the_posteriors_quantile(hangzhou, monkeypatch):
    from experiments.screen import screen_draws

    ref = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    full = [0.5, 50.0, 9.0, 9.5, None, 2.0, 100.0, 3.0, 9.1, 9.9]  # None: the run failed
    seen = _fake_runs(monkeypatch, lambda arm, m: full[m] if arm == 0 else ref[m])
    a = unc.make_design(hangzhou, 10, 2, 5, assumptions="labour.")
    b = unc.make_design(hangzhou, 10, 2, 5, assumptions="labour.")  # another variant
    screen = screen_draws([a, b])
    assert screen.threshold == pytest.approx(9.1)  # the 90% quantile of 1..10
    assert screen.kept == [0, 2, 5, 7, 8] == a.kept == b.kept  # both variants: the same draws
    assert screen.errors == {4: "boom"}
    assert {m for m, _, _ in a.pairs()} == set(screen.kept) and len(a.pairs()) == 10
    # the reference arm is the same draw without the assumptions, on the same seed
    labour = {p.path for p in a.priors if is_assumption(p)}
    arms = {(t.point, t.replicate): t for t in seen}
    assert labour <= set(arms[(0, 3)].overrides) and not labour & set(arms[(1, 3)].overrides)
    assert {k: v for k, v in arms[(0, 3)].overrides.items() if k not in labour} == dict(
        arms[(1, 3)].overrides
    )
    assert len({t.seed for t in seen}) == 1 and seen[0].months == 84
    assert "5 parameter draws kept by the screen of 10" in a.label()
    assert "5 of 10 draws kept" in a.source_line() and "independently" not in a.source_line()
    assert a.describe()["screen"]["kept"] == screen.kept


def test_screen_without_assumptions_exits_2_and_a_real_screen_runs(tmp_path, capsys):
    from experiments import cli

    base = ["run", TINY, "--years", "1", "--replicates", "1", "--quiet", "--workers", "1"]
    assert cli.main([*base, "--out", str(tmp_path / "o"), "--param-draws", "2", "--screen"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--screen" in err and "needs --assumptions" in err and "\n" not in err
    out = tmp_path / "s"
    # Only the city's own assumptions, which the spec's scenario (Hangzhou) does not hold: each
    # draw's screened distance is then its reference distance, so the screen keeps the draws at
    # or below the 90% quantile (one of two) by construction, not by the luck of a seed.
    own = "regions.ningbo.talent."
    argv = [*base, "--out", str(out), "--param-draws", "2", "--assumptions", own]
    assert cli.main([*argv, "--screen"]) == 0
    text = capsys.readouterr().out
    assert "Screened against the calibration targets of spec hangzhou" in text
    assert "drawn assumptions are not in the spec's scenario" in text  # ningbo's own are not


def test_a_screened_policy_keeps_its_arms_paired_on_the_kept_draws(tmp_path, capsys):
    import json

    from experiments import cli

    exp = stock_policy_experiment(tmp_path / "p.toml", 6, "startups_alive_end")
    out = tmp_path / "out"
    argv = ["policy", str(exp), "--out", str(out), "--workers", "1", "--quiet"]
    assert cli.main([*argv, "--screen"]) == 2  # without assumptions (and draws): refused
    assert "needs --assumptions" in capsys.readouterr().err and not out.exists()
    # Ningbo's own assumptions are not in the spec's scenario: two of three draws are kept by
    # construction (the test above), so the arms must pair on a strict subset.
    own = "regions.ningbo.talent."
    draws = ["--param-draws", "3", "--seeds", "1", "--assumptions", own, "--screen"]
    assert cli.main([*argv, *draws]) == 0
    said = capsys.readouterr()
    assert "Screened against the calibration targets" in said.out + said.err
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    kept = manifest["param_draws"]["screen"]["kept"]
    summary = pd.read_parquet(out / "summary.parquet")
    assert len(kept) == 2
    assert sorted(set(summary["replicate"])) == kept  # S = 1: replicate = draw
    assert summary.groupby("variant")["replicate"].apply(sorted).map(tuple).nunique() == 1


def test_a_failed_screen_run_is_never_kept_even_when_no_reference_fits():
    from experiments.screen import Screen

    inf = float("inf")
    s = Screen("hangzhou", 0.9, 1, 84, np.array([1.0, inf, 3.0]), np.array([inf, inf, inf]))
    assert s.threshold == inf and s.kept == [0, 2]
