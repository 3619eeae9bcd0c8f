"""The cohort table of experiments/examples/cohort_drift.py, which docs/calibration.md quotes for
the drift of survival across cohorts: its probe reads the firms it should at the moment it
should, and its columns agree with the run's own tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from paired import TINY
from scripts import load_script

from ecosystem import load_scenario
from ecosystem.run import run_scenario

SCRIPT = "experiments/examples/cohort_drift.py"
MONTHS = 30


@pytest.fixture(scope="module")
def probed():
    mod = load_script(SCRIPT)
    sc = load_scenario(str(TINY))
    probe = mod.Probe(list(sc.regions).index("ningbo"))
    return mod, sc, run_scenario(sc, seed=2, months=MONTHS, on_month=probe), probe.table()


def test_probe_reads_every_firm_alive_at_the_end_of_its_first_year(probed):
    mod, _, run, table = probed
    f = run.firms[(run.firms["region"] == "ningbo") & (run.firms["founded_month"] >= 0)]
    founded = f["founded_month"].to_numpy()
    exit_m = f["exit_month"].astype("Float64").fillna(np.inf).to_numpy(float)
    # month founded + 11 is the firm's twelfth; the probe runs after it, on the firms it left
    due = founded + mod.PROBE_AGE <= MONTHS
    alive = exit_m > founded + mod.PROBE_AGE - 1
    expected = pd.Series(founded[due & alive] // 12).value_counts().sort_index()
    got = table["cohort"].value_counts().sort_index()
    assert got.to_dict() == expected.to_dict() and got.sum() > 20


def test_viability_line_is_the_minimal_team_at_the_month_wage(probed):
    _, sc, run, table = probed
    st = sc.startups
    k = run.kpis[run.kpis["region"] == "ningbo"].set_index("month")["wage_yuan"]
    assert set(table["wage"]).issubset(set(k))  # the wage of a month the run recorded
    line = st.closure_revenue_share * st.startup_min_team * (1 + st.other_opex_share)
    assert np.allclose(table["line"], line * table["wage"])
    assert (table["capability_vs_incumbents"].dropna() > 0).all()


def test_cohort_shares_add_up_and_a_change_that_is_none_pairs_to_zero():
    mod = load_script(SCRIPT)
    runs, table, region = mod.simulate(str(TINY), ["meta.years=2"], [1, 2], None)
    assert region == "ningbo" and list(table.index) == [2025, 2026]
    first = table.loc[2025]
    assert first["survive_1y"] + first["failed_1y"] + first["closed_1y"] == pytest.approx(1.0)
    # its December founders are not a year old: neither its survival nor its probe is shown
    assert np.isnan(table.loc[2026, "survive_1y"]) and np.isnan(table.loc[2026, "line"])
    diffs = mod.paired(runs, runs)
    assert (diffs["difference"] == 0).all() and (diffs["seeds_lower"] == 0).all()
    assert diffs.loc["startups_founded", "base"] > 0
