"""Parameter uncertainty beside seed noise (issue 11 point 4): D parameter draws × S seeds.

The decomposition is exact (law of total variance); seeds are nested in draws, so a parameter
that does nothing gives exactly the seeds-only runs (its parameter range is the seed noise of a
draw mean), one with a large effect a wide range; common parameter draws and common seeds in
every arm make a no-op policy's effect exactly zero in every pair; draws are reproducible
from one seed whatever the number of draws or workers; bad options exit 2 with one line."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from paired import stock_policy_experiment

from ecosystem.scenario import ScenarioError, load_document
from experiments import compare as cmp
from experiments import uncertainty as unc
from experiments.calibrate import Prior, load_spec
from experiments.parameters import replicate_seeds

TINY = str(Path(__file__).parent / "presets" / "tiny.toml")


def prior(name: str, path: str, low: float, high: float, integer: bool = False) -> Prior:
    return Prior(name, path, low, high, False, integer, "spec")


# --------------------------------------------------------------------------------------------
# The decomposition
# --------------------------------------------------------------------------------------------
def test_spread_is_the_law_of_total_variance_and_separates_the_sources():
    rng = np.random.default_rng(1)
    D, S = 200, 5
    theta = rng.normal(0, 10, D)  # parameter effect: sd 10
    y = np.repeat(theta, S) + rng.normal(0, 1, D * S)  # seed noise: sd 1
    draw = np.repeat(np.arange(D), S)
    sp = unc.spread(y, draw)
    assert math.isclose(sp.var_seed + sp.var_param, y.var(), rel_tol=1e-12)
    assert sp.param_share > 0.95
    seed_w = sp.seed[1] - sp.seed[0]
    param_w = sp.param[1] - sp.param[0]
    assert 2.5 < seed_w < 4.0  # 90% of N(0, 1): 3.29
    assert 25 < param_w < 40  # 90% of N(0, 10): 32.9
    assert sp.total[1] - sp.total[0] >= param_w
    # parameters that barely matter, seeds nested in draws (as aieco runs them): the draw means
    # keep the seed noise of an S-seed mean (sigma^2 / S = 0.2), as docs/outputs.md says
    y2 = np.repeat(theta / 100, S) + rng.normal(0, 1, D * S)
    assert abs(unc.spread(y2, draw).var_param - 0.2) < 0.08
    # ... seeds common to every draw would remove that part of it (and hide it from a t
    # interval over the draw means: why the seeds are nested)
    y3 = np.repeat(theta / 100, S) + np.tile(rng.normal(0, 1, S), D)
    assert unc.spread(y3, draw).param_share < 0.02


def test_spread_without_draws_is_seed_noise_only():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    sp = unc.spread(y, np.full(4, -1))
    assert sp.seed == sp.total
    assert all(math.isnan(v) for v in sp.param)
    assert math.isnan(sp.param_share)


def test_reach_probability_interval_never_collapses_on_few_runs():
    p, lo, hi = unc.reach_probability(np.zeros(4), np.full(4, -1), seed=0)
    assert p == 0 and lo == 0 and hi > 0.3  # 0 of 4 runs: not "certainly never"
    hits = np.r_[np.ones(30), np.zeros(70)]
    p, lo, hi = unc.reach_probability(hits, np.repeat(np.arange(20), 5), seed=0)
    assert p == 0.3 and lo < 0.3 < hi
    again = unc.reach_probability(hits, np.repeat(np.arange(20), 5), seed=0)
    assert again == (p, lo, hi)


# --------------------------------------------------------------------------------------------
# Draws
# --------------------------------------------------------------------------------------------
def test_draws_depend_only_on_seed_draw_index_and_name():
    a = prior("a", "demand.nest_rho", 0.1, 0.9)
    b = prior("b", "demand.quality_elasticity", 0.5, 2.0)
    t1 = unc.draw_table([a, b], 3, root_seed=7)
    t2 = unc.draw_table([b, a], 6, root_seed=7)
    assert t1["a"].tolist() == t2["a"].tolist()[:3]
    assert t1["b"].tolist() == t2["b"].tolist()[:3]
    assert unc.draw_table([a], 3, root_seed=8)["a"].tolist() != t1["a"].tolist()
    assert ((t2["a"] >= 0.1) & (t2["a"] <= 0.9)).all()


def test_spec_priors_map_region_parameters_onto_the_scenarios_cities():
    priors, _ = unc.scenario_priors(load_document(TINY), "hangzhou")
    names = {p.name: p for p in priors}
    assert "nest_rho" in names and "outside_option" in names
    assert names["outside_option"].log  # [4, 60] spans more than a decade
    # tiny's city is ningbo: hangzhou's founding rate becomes ningbo's, from ningbo's range
    p = names["other_founding_per_year_ningbo"]
    assert p.path == "regions.ningbo.talent.other_founding_per_year"
    assert not any(q.path.startswith("regions.hangzhou") for q in priors)


def test_posterior_columns_replace_their_priors(tmp_path):
    a = prior("nest_rho", "demand.nest_rho", 0.1, 0.9)
    b = prior("fit_sigma", "startups.fit_sigma", 0.5, 1.5)
    path = tmp_path / "posterior.parquet"
    pd.DataFrame({"nest_rho": [0.3, 0.7], "weight": [0.0, 1.0], "draw": [0, 1]}).to_parquet(path)
    d = unc.make_design(load_document(TINY), 5, 1, 3, posterior=str(path), priors=[a, b])
    assert d.table["nest_rho"].tolist() == [0.7] * 5  # only the weighted row is ever drawn
    assert d.table["fit_sigma"].nunique() == 5  # not in the file: from its prior
    assert any("fit_sigma" in n for n in d.notes)
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"nest_rho": [2.0]}).to_parquet(bad)
    with pytest.raises(ScenarioError, match="prior range"):
        unc.make_design(load_document(TINY), 2, 1, 3, posterior=str(bad), priors=[a, b])
    none = tmp_path / "none.parquet"
    pd.DataFrame({"x": [1.0]}).to_parquet(none)
    with pytest.raises(ScenarioError, match="no column named as a parameter"):
        unc.make_design(load_document(TINY), 2, 1, 3, posterior=str(none), priors=[a, b])


# --------------------------------------------------------------------------------------------
# The model: tiny, few runs
# --------------------------------------------------------------------------------------------
def _replicates(priors, draws=3, seeds=2, workers=1):
    plan = cmp.scenario_plan(TINY, years=1)
    designs = [unc.make_design(v.document, draws, seeds, 11, priors=priors) for v in plan.variants]
    return cmp.run_comparison(plan, seeds, 11, workers, False, designs)


def test_seeds_are_nested_in_draws_and_common_to_every_arm():
    big = prior("stock", "regions.ningbo.initial_startups", 20, 100, integer=True)
    d = unc.make_design(load_document(TINY), 4, 3, 11, priors=[big])
    pairs = d.pairs()
    assert [(m, r) for m, r, _ in pairs] == [(m, r) for m in range(4) for r in range(3)]
    # draw m runs replicates m*S .. m*S + S - 1 of a seeds-only run of D*S replicates
    assert [s for *_, s in pairs] == replicate_seeds(11, 12)
    assert len({s for *_, s in pairs}) == 12  # no two draws share a seed
    # a design with more draws keeps the first draws' seeds (and values)
    more = unc.make_design(load_document(TINY), 6, 3, 11, priors=[big])
    assert more.pairs()[:12] == pairs
    # and every arm (here a variant with another policy) runs the same (draw, seed) pairs
    doc = load_document(TINY)
    doc["regions"]["ningbo"]["policy"]["voucher_rate"] = 0.0
    other = unc.make_design(doc, 4, 3, 11, priors=[big])
    assert other.pairs() == pairs
    # a screened design keeps its draws' own seeds
    kept = SimpleNamespace(kept=[1, 3])
    screened = unc.make_design(load_document(TINY), 4, 3, 11, priors=[big])
    screened.screen = kept
    assert screened.pairs() == [(m, r, pairs[m * 3 + r][2]) for m in (1, 3) for r in range(3)]
    assert screened.run_seeds() == [s for m, _, s in pairs if m in (1, 3)]


def test_a_parameter_that_does_nothing_changes_no_run():
    # meta.target_startups only moves the yardstick: startups alive cannot depend on it. With
    # seeds nested in draws, every run is the seeds-only run of the same replicate; the
    # parameter range is then only the seed noise of a two-seed mean (docs/outputs.md, caveat)
    res = _replicates([prior("yardstick", "meta.target_startups", 100, 1000, integer=True)])
    alone = cmp.run_comparison(cmp.scenario_plan(TINY, years=1), 6, 11, 1, False, None)
    key = ["replicate", "month"]
    a = res.trajectories.sort_values(key)
    b = alone.trajectories.sort_values(key)
    assert a["replicate"].tolist() == b["replicate"].tolist()
    assert a["startups_alive"].tolist() == b["startups_alive"].tolist()
    assert res.seeds == alone.seeds and len(set(res.seeds)) == 6  # recorded: every run's seed
    row = res.table.iloc[0]
    assert row["param_draws"] == 3
    assert row["startups_alive_y1_mean"] == alone.table.iloc[0]["startups_alive_y1_mean"]
    # the parameter range is the 5-95% range of the three two-seed means of those same runs
    ends = res.trajectories.groupby("replicate")["startups_alive"].last()
    means = ends.groupby(ends.index // 2).mean().to_numpy()
    assert len(means) == 3 and means.max() > means.min()
    lo, hi = np.quantile(means, (0.05, 0.95))
    assert row["startups_alive_y1_param_p5"] == pytest.approx(lo)
    assert row["startups_alive_y1_param_p95"] == pytest.approx(hi)


def test_a_parameter_with_a_big_effect_has_a_wide_parameter_interval():
    # initial stock 20-400 over 5 draws (with 20-100 over 3 draws the draws can fall close
    # together: after step 10.9 they spanned 17.5 startups against 18 for the seeds)
    big = prior("stock", "regions.ningbo.initial_startups", 20, 400, integer=True)
    res = _replicates([big], draws=5)
    row = res.table.iloc[0]
    param_w = row["startups_alive_y1_param_p95"] - row["startups_alive_y1_param_p5"]
    seed_w = row["startups_alive_y1_seed_p95"] - row["startups_alive_y1_seed_p5"]
    assert param_w > 20 and param_w > 3 * seed_w
    assert row["startups_alive_y1_param_share"] > 0.8
    text = cmp.format_uncertainty(res)
    assert "seed noise" in text and "parameter uncertainty" in text
    traj = res.trajectories
    assert sorted(traj["draw"].unique()) == [0, 1, 2, 3, 4]


def test_draws_are_the_same_on_worker_processes():
    p = [prior("stock", "regions.ningbo.initial_startups", 20, 100, integer=True)]
    a, b = _replicates(p, draws=2, seeds=1), _replicates(p, draws=2, seeds=1, workers=2)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.trajectories, b.trajectories)


def test_a_no_op_policy_has_exactly_zero_effect_over_draws_and_seeds(tmp_path):
    from experiments.policy import policy_effects
    from experiments.runner import run_experiment
    from experiments.spec import experiment_from_dict

    raw = {
        "experiment": {"name": "noop", "scenario": TINY, "replicates": 2, "months": 12},
        "levers": {"rate": {"path": "regions.ningbo.policy.voucher_rate"}},
        "design": {
            "method": "list",
            "points": [{"name": "base", "rate": 0.0}, {"name": "same", "rate": 0.0}],
        },
        "policy": {"baseline": "base"},
        "outcomes": {"summary": ["startups_alive_y1"], "kpis": ["startups_alive"]},
    }
    exp = experiment_from_dict(raw, "noop.toml", tmp_path)
    big = prior("stock", "regions.ningbo.initial_startups", 20, 100, integer=True)
    design = unc.make_design(load_document(TINY), 3, 2, exp.root_seed, priors=[big])
    dexp = unc.with_draws(exp, design)
    assert len(dexp.tasks) == 2 * 3 * 2
    base = [t for t in dexp.tasks if t.point == 0]
    same = [t for t in dexp.tasks if t.point == 1]
    assert [(t.seed, t.overrides) for t in base] == [(t.seed, t.overrides) for t in same]
    report = run_experiment(dexp, tmp_path / "out", workers=1, progress=False)
    eff = policy_effects(report.summary, "base", ["startups_alive_y1"], 0.95, 2).iloc[0]
    assert eff["effect"] == 0 and eff["ci_low"] == 0 and eff["ci_high"] == 0
    assert eff["param_low"] == eff["param_high"] == 0 and eff["n"] == 6
    # ... while the level itself varies a lot across the draws
    levels = report.summary[report.summary["variant"] == "base"]["startups_alive_y1"]
    assert levels.max() - levels.min() > 20
    assert set(report.summary.columns) >= {"stock", "replicate"}


# --------------------------------------------------------------------------------------------
# Command lines
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--param-draws", "-1"], "--param-draws"),
        (["--posterior", "nowhere.parquet"], "--posterior"),
        (["--param-draws", "2", "--posterior", "nowhere.parquet"], "file not found"),
        (["--param-draws", "2", "--param-spec", "atlantis"], "no calibration spec"),
    ],
)
def test_bad_draw_options_exit_2_with_one_line(tmp_path, capsys, argv, message):
    from experiments import cli

    rc = cli.main(
        ["run", TINY, "--replicates", "1", "--out", str(tmp_path / "o"), "--quiet", *argv]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error:") and message in err and "\n" not in err
    assert not (tmp_path / "o").exists()


def test_run_replicates_prints_both_intervals_and_the_target_probabilities(tmp_path, capsys):
    from experiments import cli

    out = tmp_path / "rep"
    argv = ["run", TINY, "--years", "1", "--replicates", "2", "--out", str(out), "--quiet"]
    assert cli.main([*argv, "--workers", "1"]) == 0
    seeds_only = capsys.readouterr().out
    assert "seed noise only" in seeds_only and "NOT included" in seeds_only
    assert "P(startups >= 5,000" in seeds_only and "its own target" in seeds_only
    argv[-2] = str(tmp_path / "rep2")
    assert cli.main([*argv, "--workers", "1", "--param-draws", "2"]) == 0
    text = capsys.readouterr().out
    assert "2 parameter draws" in text and "parameter uncertainty" in text
    table = pd.read_parquet(tmp_path / "rep2" / "comparison.parquet")
    assert {"param_draws", "startups_alive_y1_param_p95"} <= set(table)
    reach = pd.read_parquet(tmp_path / "rep2" / "reach.parquet")
    assert set(reach["threshold"]) == {5000, 500}  # the yardstick and tiny's own target
    assert (reach["probability_low"] <= reach["probability"]).all()
    assert (reach["probability"] <= reach["probability_high"]).all()


def test_policy_command_and_report_show_both_sources(tmp_path, capsys):
    from experiments import cli

    exp = stock_policy_experiment(tmp_path / "p.toml", 12, "startups_alive_y1")
    out = tmp_path / "out"
    argv = ["policy", str(exp), "--out", str(out), "--workers", "1", "--quiet"]
    assert cli.main([*argv, "--param-draws", "2", "--seeds", "2"]) == 0
    text = capsys.readouterr().out
    assert "2 draws × 2 seeds" in text and "common parameter draws" in text
    assert "seed noise [" in text and "parameter uncertainty [" in text and "total [" in text
    eff = pd.read_parquet(out / "policy_effects.parquet").iloc[0]
    assert eff["draws"] == 2 and eff["seeds_per_draw"] == 2 and eff["n"] == 4
    assert eff["total_low"] <= eff["effect"] <= eff["total_high"]
    summary = pd.read_parquet(out / "summary.parquet")
    assert len(summary) == 8 and "nest_rho" in summary  # the drawn parameters are columns
    assert cli.main(["report", str(out)]) == 0
    page = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert "seed noise and parameter uncertainty apart" in page
    # seeds only (the default): said so
    assert cli.main([*argv[:3], str(tmp_path / "out0"), *argv[4:]]) == 0
    assert "parameter uncertainty NOT included" in capsys.readouterr().out


def test_a_posterior_of_aieco_calibrate_is_read_and_its_paths_checked(tmp_path):
    from experiments.inference import write_posterior

    a = prior("nest_rho", "demand.nest_rho", 0.1, 0.9)
    draws = pd.DataFrame({"sample": [0, 1], "nest_rho": [0.2, 0.4]})
    good = write_posterior(
        tmp_path / "good.parquet", draws, {"parameters": [{"name": "nest_rho", "path": a.path}]}
    )
    d = unc.make_design(load_document(TINY), 6, 1, 3, posterior=str(good), priors=[a])
    assert set(d.table["nest_rho"]) <= {0.2, 0.4}
    other = {"parameters": [{"name": "nest_rho", "path": "demand.outside_option"}]}
    bad = write_posterior(tmp_path / "bad.parquet", draws, other)
    with pytest.raises(ScenarioError, match="another path"):
        unc.make_design(load_document(TINY), 2, 1, 3, posterior=str(bad), priors=[a])


# --------------------------------------------------------------------------------------------
# A preset's posterior (meta.posterior): resolved, named in the output, reproducible
# --------------------------------------------------------------------------------------------
def _rep(tmp_path, name: str, *extra: str) -> tuple[int, str, Path]:
    import contextlib
    import io

    from experiments import cli

    out = tmp_path / name
    argv = ["run", TINY, "--years", "1", "--replicates", "1", "--param-draws", "3"]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = cli.main([*argv, "--workers", "1", "--quiet", "--out", str(out), *extra])
    return rc, buf.getvalue(), out


def test_the_presets_posterior_is_used_named_and_reproducible(tmp_path):
    named = ["--set", "meta.posterior=hangzhou", "--posterior", "preset"]
    rc, text, out = _rep(tmp_path, "a", *named)
    assert rc == 0
    assert "Parameter draws from: calibrated posterior (Hangzhou, revision " in text
    assert "posteriors/hangzhou.parquet" in text and "docs/calibration.md" in text
    # what the draws leave out is said where the interval is printed
    assert "Every other documented assumption" in text and "docs/sensitivity.md" in text
    rc2, text2, out2 = _rep(tmp_path, "b", *named)
    a = pd.read_parquet(out / "comparison.parquet").drop(columns=["run_id"])
    b = pd.read_parquet(out2 / "comparison.parquet").drop(columns=["run_id"])
    pd.testing.assert_frame_equal(a, b)  # same seed + same posterior: the same numbers
    manifest = __import__("json").loads((out / "manifest.json").read_text(encoding="utf-8"))
    src = manifest["param_draws"][0]["source"]
    assert src["kind"] == "posterior" and src["name"] == "hangzhou" and len(src["sha256"]) == 64
    assert src["git_revision"] and src["check"] == "docs/calibration.md"
    draws = pd.DataFrame(manifest["param_draws"][0]["table"])
    post = pd.read_parquet(unc.shipped_posterior("hangzhou"))
    for name in ("nest_rho", "fit_sigma"):  # every drawn value is a row of the posterior
        assert set(draws[name]) <= set(post[name])
    # the name typed on the command line gives the same draws as the preset's field
    _, _, out3 = _rep(tmp_path, "c", "--posterior", "hangzhou")
    c = pd.read_parquet(out3 / "comparison.parquet").drop(columns=["run_id"])
    pd.testing.assert_frame_equal(a, c)
    # the default is the preset's posterior (tiny names none: the spec hangzhou's preset's)
    rc, text, out5 = _rep(tmp_path, "e")
    assert rc == 0 and "calibrated posterior (Hangzhou" in text
    e = pd.read_parquet(out5 / "comparison.parquet").drop(columns=["run_id"])
    pd.testing.assert_frame_equal(a, e)
    # --posterior prior: every parameter from its prior range; other numbers, and it says so
    rc, text, out4 = _rep(tmp_path, "d", "--posterior", "prior")
    assert rc == 0 and "calibrated posterior" not in text and "prior ranges" in text
    d = pd.read_parquet(out4 / "comparison.parquet")
    assert not np.allclose(a["startups_alive_y1_mean"], d["startups_alive_y1_mean"])


def test_a_named_posterior_without_a_file_falls_back_to_the_priors_and_says_so(tmp_path):
    rc, text, out = _rep(tmp_path, "a", "--set", "meta.posterior=atlantis", "--posterior", "preset")
    assert rc == 0
    assert "no posterior for atlantis: parameters from their prior ranges" in text
    manifest = __import__("json").loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["param_draws"][0]["source"]["kind"] == "prior"


def test_a_scenario_naming_no_posterior_takes_the_spec_presets_and_says_why():
    doc = load_document(TINY)  # names none; the spec hangzhou's preset names hangzhou
    src = unc.resolve_posterior("preset", doc)
    assert src.is_posterior and src.name == "hangzhou"
    assert "names no posterior" in src.note and "hangzhou" in src.note
    assert unc.resolve_posterior(None, doc) == unc.PRIORS
    with pytest.raises(ScenarioError, match="no shipped posterior of that name.*hangzhou"):
        unc.resolve_posterior("atlantis", doc)


def test_a_recorded_posterior_column_goes_to_the_prior_of_its_path(tmp_path):
    """Another city's posterior (``other_founding_per_year`` at regions.chengdu.…) fills that
    city's copy of the parameter in a national run, not Hangzhou's."""
    from experiments.inference import write_posterior

    hz = prior("other_founding_per_year", "regions.hangzhou.talent.other_founding_per_year", 0, 1)
    cd = prior(
        "other_founding_per_year_chengdu", "regions.chengdu.talent.other_founding_per_year", 0, 1
    )
    draws = pd.DataFrame({"sample": [0, 1], "other_founding_per_year": [0.25, 0.75]})
    rec = {"parameters": [{"name": "other_founding_per_year", "path": cd.path}]}
    f = write_posterior(tmp_path / "chengdu.parquet", draws, rec)
    d = unc.make_design({}, 6, 1, 3, posterior=str(f), priors=[hz, cd])
    assert d.posterior_names == ["other_founding_per_year_chengdu"]
    assert set(d.table["other_founding_per_year_chengdu"]) <= {0.25, 0.75}
    assert not set(d.table["other_founding_per_year"]) & {0.25, 0.75}


# --------------------------------------------------------------------------------------------
# Pooled core parameters and every city's own inputs
# --------------------------------------------------------------------------------------------
POOLED = ("other_founding_per_year", "startup_spinoff_multiplier")


def test_pooled_city_parameters_take_hangzhous_value_in_every_city_of_a_national_run():
    """Stage B applies stage A's founding rate and spinoff multiplier to every city (they are
    pooled core parameters, docs/calibration-method.md "Stage B"), so the draws do the same:
    each city's copy equals Hangzhou's in every draw, from the priors and from the posterior."""
    doc = load_document("china")
    for posterior in (None, "hangzhou"):
        d = unc.make_design(doc, 6, 1, 5, posterior=posterior)
        for name in POOLED:
            copies = [c for c in d.table.columns if c.startswith(name + "_")]
            assert len(copies) == 9  # every city but Hangzhou
            for c in copies:
                assert d.table[c].tolist() == d.table[name].tolist(), (posterior, c)
        if posterior:  # the core parameters, the 2 × 9 copies and the joined cities' inputs
            core = len(load_spec("hangzhou").priors)
            k = core + 2 * 9 + sum(len(j.by_row.columns) for j in d.joins)
            assert f"{k} from the calibrated posterior" in d.label()


def test_a_single_other_city_takes_the_stage_a_posteriors_pooled_values():
    """tiny's only city is ningbo: the pooled copy is filled from Hangzhou's posterior column
    (as stage B does), not from ningbo's prior range."""
    from experiments.draws import read_posterior

    doc = load_document(TINY)
    d = unc.make_design(doc, 8, 1, 5, posterior="hangzhou")
    post, _ = read_posterior(unc.shipped_posterior("hangzhou"), d.priors)
    for name in POOLED:
        assert f"{name}_ningbo" in d.posterior_names
        assert set(d.table[f"{name}_ningbo"]) <= set(post[f"{name}_ningbo"])
    # without the posterior they come from ningbo's documented range
    d0 = unc.make_design(doc, 8, 1, 5)
    assert d0.posterior_names == []


def test_every_city_of_the_scenario_draws_its_own_stage_b_inputs():
    """A city's own inputs φ_c (initial stock, market potential, VC pool: its stage-B spec) are
    uncertain too: drawn for every city of the scenario, independently between cities."""
    priors, _ = unc.scenario_priors(load_document("china"))
    names = {p.name: p for p in priors}
    for city in ("beijing", "shanghai", "chengdu", "henan", "ningbo"):
        p = names[f"initial_startups_{city}"]
        assert p.path == f"regions.{city}.initial_startups" and p.integer
        assert not p.same_as
    assert not any(n.startswith("initial_startups_hangzhou") for n in names)  # H8: a fact
    d = unc.make_design(load_document("china"), 30, 1, 5)
    b, s = d.table["initial_startups_beijing"], d.table["initial_startups_shanghai"]
    assert b.between(1000, 2000).all() and abs(np.corrcoef(b, s)[0, 1]) < 0.6


UNPOOLED_SPEC = """
[calibration]
name = "unpooled"
scenario = "hangzhou"
months = 12
root_seed = 3

[parameters.nest_rho]
path = "demand.nest_rho"

[parameters.other_founding_per_year]
path = "regions.hangzhou.talent.other_founding_per_year"

[parameters.wage_hangzhou]
path = "regions.hangzhou.talent.wage_yuan_per_month"
pooled = false

[statistics.survival_1y]
target = [0.75, 0.85]
source = "test band"
"""


def test_an_unpooled_city_parameter_is_drawn_for_its_own_city_only(tmp_path):
    """A stage-A city parameter marked ``pooled = false`` (a city's own input, such as its
    wage) is drawn for that city and copied to no other; the pooled one beside it still is.
    Without the city in the scenario it is not drawn, and a note says why."""
    spec = tmp_path / "unpooled.toml"
    spec.write_text(UNPOOLED_SPEC, encoding="utf-8")
    d = unc.make_design(load_document("china"), 6, 1, 5, spec=str(spec))
    names = {p.name: p for p in d.priors}
    assert names["wage_hangzhou"].path == "regions.hangzhou.talent.wage_yuan_per_month"
    assert not names["wage_hangzhou"].pooled
    assert [n for n in names if n.startswith("wage_hangzhou_")] == []
    assert not any(p.path == "regions.beijing.talent.wage_yuan_per_month" for p in d.priors)
    assert d.table["wage_hangzhou"].nunique() == 6  # drawn, from its documented range
    copies = [n for n in names if n.startswith("other_founding_per_year_")]
    assert len(copies) == 9 and all(names[c].same_as for c in copies)
    priors, notes = unc.scenario_priors(load_document(TINY), str(spec))
    assert not any(p.path.endswith("wage_yuan_per_month") for p in priors)
    assert any(n.startswith("wage_hangzhou is not drawn: hangzhou's own input") for n in notes)
    assert any(p.name == "other_founding_per_year_ningbo" for p in priors)  # pooled: drawn


def test_stage_b_leaves_out_stage_as_unpooled_city_inputs_of_another_city(tmp_path):
    """A stage-B city takes stage A's pooled city parameters at its own fields, but not an
    unpooled one (Hangzhou's wage is not Ningbo's): the core lists it as excluded."""
    from experiments.calibrate import CoreSpec, build_core
    from experiments.inference import write_posterior

    pooled = prior("other_founding_per_year", "regions.hangzhou.talent.other_founding_per_year",
                   0.005, 0.04)  # fmt: skip
    own = Prior("wage_hangzhou", "regions.hangzhou.talent.wage_yuan_per_month", 2e4, 4.5e4,
                False, False, "spec", pooled=False)  # fmt: skip
    draws = pd.DataFrame({"sample": [0, 1], pooled.name: [0.01, 0.02], own.name: [2.5e4, 4e4]})
    f = write_posterior(
        tmp_path / "a.parquet", draws, {"parameters": [pooled.as_dict(), own.as_dict()]}
    )
    core = build_core(CoreSpec(posterior=str(f)), tmp_path, load_document(TINY))
    assert [p.name for p in core.priors] == ["other_founding_per_year_ningbo"]
    assert core.excluded == ["wage_hangzhou"]
    assert list(core.table.columns) == ["other_founding_per_year_ningbo", "weight"]
    core = build_core(CoreSpec(posterior=str(f)), tmp_path, load_document("hangzhou"))
    assert {p.name: p.pooled for p in core.priors} == {pooled.name: True, own.name: False}


@pytest.mark.parametrize("path", ["demand.nest_rho", None])
def test_pooled_false_needs_a_city_parameter_of_a_stage_a_spec(tmp_path, path):
    raw = UNPOOLED_SPEC.replace(
        'path = "demand.nest_rho"', 'path = "demand.nest_rho"\npooled = false'
    )
    if path is None:  # a stage-B spec: its city parameters are the city's own already
        raw = UNPOOLED_SPEC + '\n[core]\nposterior = "x.parquet"\n'
    spec = tmp_path / "bad.toml"
    spec.write_text(raw, encoding="utf-8")
    with pytest.raises(ScenarioError) as e:
        load_spec(str(spec))
    field = "parameters.nest_rho.pooled" if path else "parameters.wage_hangzhou.pooled"
    assert e.value.field == field and "stage-A spec" in str(e.value)


def test_a_city_posterior_column_at_a_pooled_copys_path_fills_the_pooled_value(tmp_path):
    """A stage-B file stores the pooled value at its city's path; in a run with Hangzhou it is
    the pooled value, so it fills Hangzhou's prior and every copy follows."""
    from experiments.inference import write_posterior

    hz = prior("other_founding_per_year", "regions.hangzhou.talent.other_founding_per_year", 0, 1)
    cd = Prior(
        "other_founding_per_year_chengdu",
        "regions.chengdu.talent.other_founding_per_year",
        0,
        1,
        False,
        False,
        "spec",
        same_as=hz.name,
        pooled_with=hz.path,
    )
    draws = pd.DataFrame({"sample": [0, 1], "other_founding_per_year": [0.25, 0.75]})
    rec = {"parameters": [{"name": "other_founding_per_year", "path": cd.path}]}
    f = write_posterior(tmp_path / "chengdu.parquet", draws, rec)
    d = unc.make_design({}, 6, 1, 3, posterior=str(f), priors=[hz, cd])
    assert d.posterior_names == ["other_founding_per_year"]
    assert set(d.table["other_founding_per_year"]) <= {0.25, 0.75}
    assert d.table["other_founding_per_year_chengdu"].tolist() == d.table[hz.name].tolist()


def test_a_citys_stage_b_posterior_is_joined_on_the_stage_a_row(tmp_path, monkeypatch):
    """Sample k of a city's stage-B posterior was drawn given stage-A row k, so a draw that
    takes stage-A row r takes the city's inputs from its sample with core_row r (the cut
    posterior, city by city); a stage-B file of another stage A is not joined."""
    from experiments.calibrate import file_sha256
    from experiments.inference import write_posterior

    monkeypatch.setattr(unc, "POSTERIOR_DIR", tmp_path)
    n = 5
    stage_a = write_posterior(
        tmp_path / "hangzhou.parquet",
        pd.DataFrame({"sample": range(n), "nest_rho": np.linspace(0.3, 0.7, n)}),
        {"parameters": [{"name": "nest_rho", "path": "demand.nest_rho"}]},
    )
    stock = [30 + 10 * k for k in range(n)]  # ningbo's stock for stage-A row k

    def city(name: str, sha: str) -> None:
        write_posterior(
            tmp_path / f"{name}.parquet",
            pd.DataFrame({"sample": range(n), "initial_startups": stock, "core_row": range(n)}),
            {
                "core": {"sha256": sha},
                "parameters": [
                    {"name": "initial_startups", "path": "regions.ningbo.initial_startups"}
                ],
            },
        )

    city("ningbo", file_sha256(stage_a))
    d = unc.make_design(load_document(TINY), 12, 1, 3, posterior=str(stage_a))
    assert [j.city for j in d.joins] == ["ningbo"]
    t = d.table
    assert t["initial_startups_ningbo"].tolist() == [stock[r] for r in t["posterior_row"]]
    assert any("ningbo's own inputs from its posterior" in x for x in d.notes)
    city("ningbo", "0" * 64)  # calibrated against another stage A: not joined
    d2 = unc.make_design(load_document(TINY), 12, 1, 3, posterior=str(stage_a))
    assert d2.joins == [] and not set(d2.table["initial_startups_ningbo"]) <= set(stock)


def test_stage_b_samples_take_the_stage_a_rows_in_order():
    """Equal weights (an NPE posterior): sample k pairs with stage-A row k, the same in every
    city, which is what lets a national run join the cities' posteriors."""
    from experiments.calibrate import load_spec

    core = load_spec("beijing").core
    rows = core.sample_rows(7, 1)
    assert rows["core_row"].tolist() == list(range(7))
    other = load_spec("shenzhen").core.sample_rows(7, 99)  # names end _shenzhen: compare values
    assert np.array_equal(rows.to_numpy(), other.to_numpy())
    first = core.table.iloc[3]
    assert all(math.isclose(rows.loc[3, c], first[c]) for c in core.names)
