"""experiments/examples/project_values.py (docs/validation.md, pattern 9, quotes it): what the
project choice sees, recorded by wrapping the pure ``compute_market.choose``; recording must
change nothing in the run."""

from __future__ import annotations

import pandas as pd
from paired import TINY
from scripts import load_script

from ecosystem import compute_market
from ecosystem.run import run_scenario
from ecosystem.scenario import load_scenario

mod = load_script("experiments/examples/project_values.py")
VOUCHER = {
    "compute.choice_rule": "projects",  # the rule whose candidates the script records
    "regions.ningbo.policy.voucher_rate": 0.3,
    "regions.ningbo.policy.voucher_budget_yuan": 3e7,
}


def test_recording_changes_nothing_and_reads_shares():
    scenario = load_scenario(TINY, VOUCHER)
    plain = run_scenario(scenario, 5, months=12)
    rec = mod.Recorder()
    compute_market.choose = rec
    try:
        watched = run_scenario(scenario, 5, months=12)
    finally:
        compute_market.choose = rec.inner
    assert compute_market.choose is rec.inner
    pd.testing.assert_frame_equal(plain.kpis, watched.kpis)
    # one no-voucher call a month was kept, out of two calls a month
    assert rec.calls == 24 and len(rec.rows) == 12
    df = pd.DataFrame(rec.rows)
    shares = df[["worth_price", "worth_half_to_full", "bought", "liquidity_blocked"]]
    assert ((shares >= 0) & (shares <= 1)).all().all()
    # a firm buys only projects worth their price, and only those liquidity does not block
    assert (df["bought"] + df["liquidity_blocked"] <= df["worth_price"] + 1e-12).all()
    assert (df["ratio_q10"] <= df["ratio_q50"]).all() and (df["ratio_q50"] <= df["ratio_q90"]).all()
    # the voucher call's columns: a share of firms, and a rate on training no higher than the
    # programme's own (30%), once any firm holds an entitlement
    paid = df[df["with_voucher"] > 0]
    assert not paid.empty and (df["with_voucher"] <= 1).all()
    assert ((paid["training_rate"] > 0) & (paid["training_rate"] <= 0.3)).all()
    assert ((paid["left_after_inference"] >= 0) & (paid["left_after_inference"] <= 1)).all()


def test_set_overrides_a_scenario_value(capsys):
    argv = ["--scenario", str(TINY), "--prior", "--years", "1", "--seeds", "1"]
    argv += ["--set", "compute.choice_rule=projects"]
    assert mod.main([*argv, "--set", "compute.candidate_scale=20"]) == 0
    big = capsys.readouterr().out
    assert mod.main(argv) == 0
    assert capsys.readouterr().out != big  # more candidates, a different table


def test_the_script_prints_the_table_and_the_money(capsys):
    argv = ["--scenario", str(TINY), "--prior", "--years", "1", "--seeds", "1"]
    assert mod.main([*argv, "--set", "compute.choice_rule=projects"]) == 0
    out = capsys.readouterr().out
    assert "worth_price" in out and "voucher money resolved" in out


def test_under_the_marginal_rule_it_prints_the_money_without_a_project_table(capsys):
    argv = ["--scenario", str(TINY), "--prior", "--years", "1", "--seeds", "1"]
    assert mod.main([*argv, "--set", "compute.choice_rule=marginal"]) == 0
    out = capsys.readouterr().out
    assert "marginal choice, no projects" in out and "worth_price" not in out
    assert "voucher money resolved" in out
