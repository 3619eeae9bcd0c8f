"""The outcome registry: one definition per outcome, used by every command that reports one."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ecosystem import outcomes
from ecosystem.calibration import measure
from ecosystem.scenario import ScenarioError


def test_every_outcome_has_a_unit_and_a_meaning():
    table = outcomes.describe()
    assert table["name"].is_unique
    assert (table["unit"].str.len() > 0).all() and (table["meaning"].str.len() > 10).all()
    assert set(table["from"]) <= {"kpis", "firms", "networks"}
    for old, new in outcomes.RENAMED.items():
        assert old not in outcomes.OUTCOMES and new in outcomes.OUTCOMES


def test_run_summary_is_the_registry(full_run):
    s = full_run.summary()
    assert list(s) == outcomes.names()
    assert all(isinstance(v, float) for v in s.values())
    assert s["startups_alive_y10"] == s["startups_alive_end"]  # a 10-year run ends in month 119
    assert s["target_reached"] == float(np.isfinite(s["month_target_reached"]))
    # Closures' share of the shutdowns of the firms founded in the run.
    f = full_run.firms
    new = f[f["founded_month"] >= 0]
    closed, failed = (new["exit_reason"] == "closed").sum(), (new["exit_reason"] == "failed").sum()
    assert closed > 0 and failed > 0
    assert s["shutdowns_closed_share"] == closed / (closed + failed)


def test_calibration_and_compare_use_the_same_definitions(full_run):
    from experiments.compare import Case, run_outcomes

    s = full_run.summary()
    m = measure(full_run)
    for name in (
        "survival_1y",
        "founders_big_or_famous",
        "talent_net_inflow_per_year",
        "talent_outflow_to_inflow",
        "month_target_reached",
        "west_utilization_end",
    ):
        assert m[name] == s[name] or (math.isnan(m[name]) and math.isnan(s[name])), name
    # Without a counterfactual run, the no-voucher measure is the run's own year-1 utilisation.
    assert m["west_utilization_no_vouchers"] == s["west_utilization_y1"]
    sc = full_run.scenario
    case = Case(
        "hangzhou",
        "hangzhou",
        "hangzhou",
        tuple(k for k, r in sc.regions.items() if r.kind == "hub"),
        {},
        sc.meta.start_year,
        sc.meta.target_startups,
    )
    row, alive = run_outcomes(full_run.kpis, case)
    for name, value in row.items():
        assert value == s[name] or (math.isnan(value) and math.isnan(s[name])), name
    assert alive.iloc[-1] == s["startups_alive_end"]


def _kpis(capacity, sold, region="west1"):
    n = len(capacity)
    return pd.DataFrame(
        {
            "month": np.arange(n),
            "region": region,
            "startups_alive": np.arange(n) * 1000,
            "dc_capacity_gpu_h": capacity,
            "dc_sold_gpu_h": sold,
            "talent_net_inflow": 0.001,
        }
    )


def test_utilisation_is_a_ratio_of_sums_over_the_window():
    # 24 months: capacity jumps from 100 to 900 in the second year; sold 50 then 90.
    cap = np.r_[np.full(12, 100.0), np.full(12, 900.0)]
    sold = np.r_[np.full(12, 50.0), np.full(12, 90.0)]
    k = pd.concat([_kpis(cap, sold), _kpis(cap, sold, "city")])
    d = outcomes.RunData(k, cities=["city"], hubs=["west1"], target_startups=5000, months=24)
    got = outcomes.compute(
        d,
        [
            "west_utilization_y1",
            "west_utilization_end",
            "east_utilization_end",
            "month_target_reached",
            "talent_net_inflow_per_year",
            "startups_alive_y5",
        ],
    )
    assert got["west_utilization_y1"] == pytest.approx(0.5)
    assert got["west_utilization_end"] == pytest.approx(0.1)
    # A ratio of sums over the last 12 months, not the mean of monthly ratios nor the last month.
    shifted = pd.concat([_kpis(np.r_[cap[:18], np.full(6, 1800.0)], sold)])
    d2 = outcomes.RunData(shifted, cities=[], hubs=["west1"], target_startups=5000, months=24)
    u = outcomes.compute(d2, ["west_utilization_end"])["west_utilization_end"]
    assert u == pytest.approx(90 * 12 / (900 * 6 + 1800 * 6))
    assert got["month_target_reached"] == 5.0  # 5,000 alive first in month 5
    assert got["talent_net_inflow_per_year"] == pytest.approx(0.012)
    assert math.isnan(got["startups_alive_y5"])  # the run is shorter than five years
    none = outcomes.RunData(_kpis(np.zeros(12), np.zeros(12)), [], ["west1"], 5000, 12)
    assert math.isnan(outcomes.compute(none, ["west_utilization_y1"])["west_utilization_y1"])


def test_talent_ratio_is_departures_over_arrivals_of_the_cities():
    k = _kpis(np.ones(12), np.ones(12), "city")
    k["arrivals"], k["departures"] = 30.0, 16.0
    d = outcomes.RunData(k, cities=["city"], hubs=[], target_startups=5000, months=12)
    assert outcomes.compute(d, ["talent_outflow_to_inflow"])["talent_outflow_to_inflow"] == (
        pytest.approx(16 / 30)
    )
    k["arrivals"] = 0.0
    d = outcomes.RunData(k, cities=["city"], hubs=[], target_startups=5000, months=12)
    assert math.isnan(outcomes.compute(d, ["talent_outflow_to_inflow"])["talent_outflow_to_inflow"])


def test_old_names_fail_with_the_new_name(tmp_path):
    with pytest.raises(outcomes.UnknownOutcome, match="renamed to 'month_target_reached'"):
        outcomes.get("target_month")
    with pytest.raises(
        outcomes.UnknownOutcome, match="unknown outcome; allowed: startups_alive_y1"
    ):
        outcomes.get("nonsense")
    from experiments.spec import load_experiment

    path = tmp_path / "e.toml"
    path.write_text(
        '[experiment]\nname = "e"\nscenario = "hangzhou"\nmonths = 12\n'
        '[levers.voucher_rate]\npath = "regions.hangzhou.policy.voucher_rate"\nvalues = [0.0]\n'
        '[design]\nmethod = "factorial"\n'
        '[outcomes]\nsummary = ["startups_alive_y1", "west_utilization_last_year"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as err:
        load_experiment(path)
    msg = str(err.value)
    assert "\n" not in msg and "outcomes.summary[1]" in msg
    assert "renamed to 'west_utilization_end'" in msg


def test_closed_share_counts_the_run_s_own_shutdowns_only():
    firms = pd.DataFrame(
        {
            "founded_month": [-1, -1, 0, 3, 5, 7, 9],
            "exit_reason": ["closed", "failed", "closed", "failed", "failed", "acquired", "alive"],
        }
    )
    # the initial stock (founded before month 0) and firms that did not shut are left out
    assert outcomes.closed_share(firms) == pytest.approx(1 / 3)
    assert outcomes.closed_share(firms[firms["exit_reason"] != "closed"]) == 0.0
    assert math.isnan(outcomes.closed_share(firms.iloc[5:]))
