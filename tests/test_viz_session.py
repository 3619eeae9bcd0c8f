"""The browser app's session state without any UI: levers, replay, save and load."""

from __future__ import annotations

import pytest

from ecosystem.scenario import ScenarioError, load_scenario
from viz.levers import levers_for
from viz.session import Session

VOUCHER = "regions.hangzhou.policy.voucher_rate"


@pytest.fixture(scope="module")
def session():
    return Session("hangzhou", seed=3)


def test_levers_cover_policy_with_units_ranges_and_help(session):
    levers = {lev.path: lev for lev in session.levers}
    lev = levers[VOUCHER]
    assert lev.kind == "share" and lev.unit == "%" and lev.hi == 1.0 and lev.help
    assert levers["regions.hangzhou.policy.voucher_budget_yuan"].unit == "¥ million"
    assert all(lev.help for lev in levers.values())
    assert levers_for(session.base_scenario.model_dump())


@pytest.mark.parametrize("text", ["abc", "-5", "101", "nan"])
def test_bad_typed_values_raise_one_line(session, text):
    with pytest.raises(ValueError) as err:
        session.lever(VOUCHER).parse(text)
    assert "\n" not in str(err.value)


def test_lever_change_replays_to_same_month_and_reset():
    s = Session("hangzhou", seed=1)
    s.step(4)
    s.set_lever(VOUCHER, 0.4)
    assert s.month == 4 and s.changes == {VOUCHER: 0.4}
    s.set_lever(VOUCHER, s.base_value(VOUCHER))  # back to the preset value: no change recorded
    assert s.changes == {}
    s.set_lever(VOUCHER, 0.1)
    s.reset_levers()
    assert s.changes == {} and s.value(VOUCHER) == s.base_value(VOUCHER)


def test_same_seed_same_run_and_baseline_matches_when_unchanged():
    a, b = Session("hangzhou", seed=5), Session("hangzhou", seed=5)
    a.set_counterfactual(True)
    a.step(3)
    b.step(3)
    ka, kb = a.frames().kpis, b.frames().kpis
    assert ka.equals(kb)
    assert a.frames("baseline").kpis.equals(ka)


def test_save_is_an_override_file_aieco_run_reads(tmp_path):
    s = Session("hangzhou", seed=9)
    s.set_lever(VOUCHER, 0.35)
    text = s.scenario_toml()
    assert 'base = "hangzhou"' in text and "seed: 9" in text
    path = tmp_path / "levers.toml"
    path.write_text(text)
    assert load_scenario(str(path)).regions["hangzhou"].policy.voucher_rate == pytest.approx(0.35)
    t = Session("hangzhou", seed=0)
    t.load_toml(text, "levers.toml")
    assert t.changes == {VOUCHER: pytest.approx(0.35)} and t.seed == 9 and t.month == 0


def test_bad_file_leaves_session_unchanged():
    s = Session("hangzhou")
    s.set_lever(VOUCHER, 0.2)
    with pytest.raises(ScenarioError):
        s.load_toml('base = "hangzhou"\n[regions.hangzhou.policy]\nvoucher_rate = 3\n', "bad.toml")
    with pytest.raises(ScenarioError):
        s.load_toml("not toml [", "bad.toml")
    assert s.changes == {VOUCHER: 0.2}


def test_exports(session):
    session.set_counterfactual(True)
    session.step(2)
    csv = session.kpis_csv().decode()
    header = csv.splitlines()[0].split(",")
    assert header[:3] == ["run", "seed", "month"] and "startups_alive_origin_big_firm" in header
    assert "baseline" in csv and "current" in csv
    assert session.data_centers_csv().decode().startswith("run,")
