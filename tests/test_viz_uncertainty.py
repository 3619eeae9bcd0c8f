"""Seeds in the background: bands for both arms, common seeds, cancel stops the workers."""

from __future__ import annotations

import threading
import time

import numpy as np

from experiments.calibrate import load_spec
from viz import uncertainty as unc
from viz.session import Session

VOUCHER = "regions.hangzhou.policy.voucher_rate"


def test_bands_of_both_arms_with_common_seeds():
    s = Session("hangzhou", seed=5)
    s.set_lever(VOUCHER, 0.6)
    job = unc.SeedJob(s.scenario, s.base_scenario, [5, 6, 7], months=6)
    seen = []
    bands = job.run(lambda done, total: seen.append((done, total)))
    assert seen[-1] == (6, 6) and [d for d, _ in seen] == list(range(1, 7))
    cur = bands.current["startups_alive"]
    assert cur.shape == (3, 6) and bands.baseline["startups_alive"].shape == (3, 6)
    # run 0 of the current arm is the session's own run (same seed, same settings)
    s.step(6)
    assert np.array_equal(cur[0], s.frames().totals["startups_alive"].to_numpy(float))
    lo, mid, hi = bands.quantiles("current", "startups_alive")
    assert np.all(lo <= mid) and np.all(mid <= hi)
    mean, d_lo, d_hi = bands.difference("voucher_spent_yuan")
    assert d_lo <= mean <= d_hi
    opt = unc.figure(bands, "startups_alive", 2025, "t", "stamp", "f")
    assert {s_["id"] for s_ in opt["series"]} >= {"current_band", "baseline_band", "current_mid"}


def test_cancel_stops_the_runs():
    s = Session("hangzhou", seed=0)
    job = unc.SeedJob(s.scenario, s.base_scenario, list(range(8)), months=120)
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", job.run()))
    t.start()
    time.sleep(3)
    job.cancel()
    t.join(60)
    assert not t.is_alive() and out["r"] is None and job.done < job.total


def test_parameter_draws_add_a_wider_band_labelled_apart():
    s = Session("hangzhou", seed=3)
    s.set_lever(VOUCHER, 0.6)
    drawn = unc.parameter_draws(s.base_doc, 2, s.seed, s.changes)
    draws, names = drawn.draws, drawn.names
    assert len(draws) == 2 and "cluster_elasticity" in names
    assert draws[0] != draws[1]
    assert VOUCHER not in draws[0]  # the user's own setting is never drawn over
    job = unc.SeedJob(s.scenario, s.base_scenario, [3, 4], 4, draws=drawn)
    assert job.total == 8 and job.parameters == names
    bands = job.run()
    assert bands.source == drawn.label() and "calibrated posterior (Hangzhou" in bands.source
    assert bands.with_params and bands.current_params["startups_alive"].shape == (2, 4)
    # the draws change the runs (seed i is common to the seeds-only run i)
    assert not np.array_equal(
        bands.current_params["startups_alive"], bands.current["startups_alive"]
    )
    mean, lo, hi = bands.difference("startups_alive", params=True)
    assert lo <= mean <= hi
    opt = unc.figure(bands, "startups_alive", 2025, "t", "stamp", "f")
    names_shown = {s_["name"] for s_ in opt["series"]}
    assert any("seeds and parameters" in n for n in names_shown)
    assert any("seeds only" in n for n in names_shown)
    assert opt["title"]["subtext"] == bands.source  # the chart says where the draws came from


def test_the_presets_posterior_gives_the_draws_and_they_are_the_clis():
    """Hangzhou names its posterior: the app draws from it (the CLI's draws for the same root
    seed: ``--posterior preset``), says so with the file's revision, keeps the user's settings
    fixed, and falls back to the prior ranges, said so, when the posterior cannot be used."""
    import pandas as pd

    from experiments import uncertainty as exu

    s = Session("hangzhou", seed=11)
    s.set_lever("regions.hangzhou.talent.other_founding_per_year", 0.02)
    d = unc.parameter_draws(s.base_doc, 4, s.seed, s.changes, s.scenario.meta.posterior)
    assert d.source.is_posterior and d.source.name == "hangzhou" and d.source.revision
    n = len(load_spec("hangzhou").priors) - 1  # all of stage A's but the lever the user set
    assert d.label().startswith(f"{n} parameters drawn from the calibrated posterior ")
    assert f"(Hangzhou, revision {d.source.revision})" in d.label()
    assert "docs/calibration.md" in d.explain() and "misses" in d.explain()
    assert "docs/sensitivity.md" in d.explain()  # what the draws leave out, as the CLI says
    path = "regions.hangzhou.talent.other_founding_per_year"
    assert all(path not in row for row in d.draws)  # the user's value is kept
    post = pd.read_parquet(exu.shipped_posterior("hangzhou"))
    cli = exu.make_design(s.base_doc, 4, 1, s.seed, posterior="preset")
    for p in cli.priors:
        if p.path == path:
            continue
        mine = [row[p.path] for row in d.draws]
        assert mine == list(cli.table[p.name])  # the CLI's draw m is the app's run m
        if p.name in post:
            assert set(mine) <= set(post[p.name])
    # priors, said so: a missing named posterior, and a path (never read by the app)
    miss = unc.parameter_draws(s.base_doc, 2, 0, (), "atlantis")
    assert not miss.source.is_posterior and "no posterior for atlantis" in miss.explain()
    assert miss.label().endswith("drawn from their prior ranges")
    path_named = unc.parameter_draws(s.base_doc, 2, 0, (), "/etc/secret.parquet")
    assert not path_named.source.is_posterior and "by name only" in path_named.explain()
    # a city naming none takes the calibration spec's preset's posterior (Hangzhou's)
    c = Session("chengdu", seed=1)
    cd = unc.parameter_draws(c.base_doc, 2, 1, (), c.scenario.meta.posterior)
    assert cd.source.is_posterior and "Hangzhou" in cd.label() and "prior ranges" in cd.label()


def test_the_documented_assumptions_are_the_clis_and_the_page_says_what_they_mean():
    """'… and the documented assumptions': the app's run m is the CLI's draw m of
    ``--assumptions all`` (the user's own setting kept, no policy setting drawn), the label
    counts them and the page gives the caveat instead of what the draws leave out."""
    from experiments import uncertainty as exu

    s = Session("hangzhou", seed=5)
    s.set_lever("labour.matching_efficiency", 0.3)
    d = unc.parameter_draws(s.base_doc, 3, s.seed, s.changes, s.scenario.meta.posterior, True)
    assert len(d.assumptions) > 150 and "labour_matching_efficiency" not in d.names
    assert d.label().endswith(f"; {len(d.assumptions)} documented assumptions from their ranges")
    assert "drawn too" in d.explain() and exu.LEFT_OUT not in d.explain()
    cli = exu.make_design(s.base_doc, 3, 1, s.seed, posterior="preset", assumptions="all")
    for m in range(3):
        mine = d.draws[m]
        assert not [p for p in mine if ".policy." in p]
        assert mine == {
            k: v for k, v in cli.overrides(m).items() if k != "labour.matching_efficiency"
        }
    plain = unc.parameter_draws(s.base_doc, 3, s.seed, s.changes, s.scenario.meta.posterior)
    assert not plain.assumptions and exu.LEFT_OUT in plain.explain()


def test_the_page_says_how_many_runs_reach_the_target_with_an_interval():
    """The 5,000 question in the browser (issue 11 point 6): runs reaching the scenario's target
    by the bands' month, per arm, seeds and parameters apart, with the probability's interval."""
    runs = np.array([[10.0, 60.0, 40.0], [10.0, 20.0, 30.0], [5.0, 6.0, 7.0], [50.0, 55.0, 58.0]])
    bands = unc.Bands(3, [1, 2, 3, 4], {"startups_alive": runs}, {"startups_alive": runs[:, ::-1]})
    p, lo, hi, k, n = bands.reach("current", 50)
    assert (k, n) == (2, 4) and p == 0.5 and lo < 0.5 < hi  # peaks 60 and 58 reach 50
    assert bands.reach("current", 61)[3] == 0 and bands.reach("current", 5)[3] == 4
    text = unc.reach_text(bands, 50, 3)
    assert "Reaching 50 startups by month 3" in text and "2 of 4 runs (50%" in text
    assert "parameter" not in text
    bands.current_params = {"startups_alive": runs}
    bands.baseline_params = {"startups_alive": runs * 0}
    text = unc.reach_text(bands, 50, 3)
    assert "with parameter uncertainty, your settings 2 of 4 runs" in text
    assert "the baseline 0 of 4 runs (0%, 95% interval 0%–" in text
