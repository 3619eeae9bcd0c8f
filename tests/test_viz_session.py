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


@pytest.mark.parametrize("text", ["abc", "-5", "101", "nan", "inf"])
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


# ----------------------------------------------------------------------------------------------
# Programmes: off means off
# ----------------------------------------------------------------------------------------------
def test_programme_off_pays_nothing_sme_rate_included():
    s = Session("hangzhou", seed=2)
    prog = next(p for p in s.programmes if p.id == "hangzhou:compute_vouchers")
    assert s.programme_on(prog) and s.value("regions.hangzhou.policy.voucher_rate_sme") > 0
    s.set_programme(prog.id, False)
    assert not s.programme_on(prog)
    s.step(24)
    spent = s.frames().kpis
    hz = spent[spent["region"] == "hangzhou"]
    assert hz["voucher_spent_yuan"].sum() == 0
    s.set_programme(prog.id, True)  # back on: the preset's values, and money flows again
    assert s.changes == {}
    assert s.frames().kpis.query("region == 'hangzhou'")["voucher_spent_yuan"].sum() > 0


def test_every_programme_switch_turns_all_its_amounts_to_zero():
    s = Session("hangzhou", seed=0)
    for prog in s.programmes:
        if not s.programme_available(prog):
            continue
        s.check_levers({p: 0.0 for p in prog.paths})  # valid scenario when off
        assert all(
            p in {lev.path for lev in s.levers} or p.startswith("national.") for p in prog.paths
        )


# ----------------------------------------------------------------------------------------------
# Shareable and reproducible
# ----------------------------------------------------------------------------------------------
def test_link_round_trip_restores_preset_seed_month_levers_and_baseline():
    a = Session("hangzhou", seed=11)
    a.set_lever(VOUCHER, 0.7)
    a.set_counterfactual(True)
    a.step(5)
    q = a.query_string()
    assert "seed=11" in q and "month=5" in q and "baseline=1" in q
    b = Session("hangzhou", seed=0)
    assert b.apply_query(q) == []
    assert (b.seed, b.month, b.counterfactual) == (11, 5, True)
    assert b.changes == {VOUCHER: 0.7}
    assert b.frames().kpis.equals(a.frames().kpis)


def test_bad_link_parts_are_reported_and_skipped():
    s = Session("hangzhou")
    problems = s.apply_query(f"preset=hangzhou&seed=-1&month=99999&set.nope=1&set.{VOUCHER}=7")
    assert len(problems) == 4 and all("\n" not in p for p in problems)
    assert s.changes == {} and s.month == 0


def test_command_line_reproduces_the_view(tmp_path):
    from ecosystem import AIEcosystem
    from ecosystem.scenario import load_scenario as load

    s = Session("hangzhou", seed=4)
    s.set_lever(VOUCHER, 0.7000000000000001)
    s.set_lever("regions.hangzhou.policy.voucher_portable", True)
    s.step(3)
    cmd = s.command_line()
    assert cmd.startswith("aieco run hangzhou --seed 4 ")
    assert f"--set {VOUCHER}=0.7" in cmd and "0.7000000000000001" not in cmd
    sets = [a for a in cmd.split() if "=" in a and not a.startswith("--")]
    model = AIEcosystem(load("hangzhou", sets), rng=4)
    for _ in range(3):
        model.step()
    assert model.kpis().equals(s.frames().kpis)


def test_saved_toml_has_clean_numbers():
    s = Session("hangzhou", seed=1)
    s.set_lever(VOUCHER, 0.1 + 0.6)  # 0.7000000000000001
    text = s.scenario_toml()
    assert "voucher_rate = 0.7\n" in text and "0000000" not in text
    assert "aieco 0.1.0" in text or "aieco " in text


def test_exports_carry_scenario_seed_month_and_version():
    s = Session("hangzhou", seed=6)
    s.set_lever(VOUCHER, 0.3)
    s.step(2)
    header = s.kpis_csv().decode().splitlines()[0].split(",")
    assert {"run", "seed", "month", "scenario", "levers_changed", "aieco_version"} <= set(header)
    assert "scenario" in s.data_centers_csv().decode().splitlines()[0]
    stamp = s.stamp()
    assert "hangzhou" in stamp and "seed 6" in stamp and "month 2" in stamp and "aieco" in stamp


# ----------------------------------------------------------------------------------------------
# Uploads read nothing from the server's disk
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        'base = "/etc/hostname"\n',
        'base = "../secret.toml"\n',
        'include = ["/tmp/x.toml"]\n',
        'include = ["regions/../../../etc/passwd"]\n',
        'base = "hangzhou"\ninclude = ["secret.toml"]\n',
        'include = "regions/hangzhou"\n',
    ],
)
def test_uploads_may_only_use_packaged_presets_and_fragments(tmp_path, text):
    secret = tmp_path / "secret.toml"
    secret.write_text('api_token = "do-not-echo"\n')
    s = Session("hangzhou")
    with pytest.raises(ScenarioError) as err:
        s.load_toml(text.replace("/tmp/x.toml", str(secret)), "upload.toml")
    assert "do-not-echo" not in str(err.value) and "\n" not in str(err.value)


def test_upload_with_packaged_fragment_is_accepted():
    from ecosystem.scenario import fragment_names

    assert "hangzhou" in fragment_names("regions")
    s = Session("hangzhou")
    s.load_toml('base = "hangzhou"\ninclude = ["regions/hangzhou"]\n', "ok.toml")
    assert s.preset == "hangzhou"


# ----------------------------------------------------------------------------------------------
# Typed numbers: one format
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,why",
    [
        ("1,5", "point for decimals"),
        ("50%%", "without %"),
        ("50%", "without %"),
        ("١٠", "digits 0-9"),
        ("1e-400", "exponent"),
        ("1e3", "exponent"),
        ("1 000", "thousands"),
        ("", "type a number"),
    ],
)
def test_numbers_in_one_unambiguous_format(session, text, why):
    with pytest.raises(ValueError, match=why):
        session.lever(VOUCHER).parse(text)


def test_money_fields_reject_absurd_amounts(session):
    lev = session.lever("regions.hangzhou.policy.voucher_budget_yuan")
    with pytest.raises(ValueError, match="at most"):
        lev.parse("1" + "0" * 14)
    assert lev.parse("2500.5") == pytest.approx(2500.5e6)
    assert session.lever(VOUCHER).parse("12.5") == pytest.approx(0.125)


def test_help_text_is_plain_words(session):
    for lev in session.levers:
        assert "`" not in lev.help and "[S" not in lev.help and "**" not in lev.help, lev.path


def test_summary_utilisation_is_the_registry_outcome():
    """The cards' utilisation figures are the registry's outcomes of the whole KPI table (the
    summary hands the registry only the columns they read)."""
    import math

    from ecosystem import outcomes

    s = Session("hangzhou")
    s.step(15)
    m = s.model
    regions = m.config.regions
    data = outcomes.RunData(
        kpis=m.kpis(),
        cities=[k for k, r in regions.items() if r.kind == "city"],
        hubs=[k for k, r in regions.items() if r.kind == "hub"],
        target_startups=m.config.meta.target_startups,
        months=m.month,
    )
    names = ["east_utilization_end", "west_utilization_end"]
    expected = outcomes.compute(data, names)
    got = s.summary()
    for name in names:
        assert not math.isnan(expected[name])
        assert got[name] == pytest.approx(expected[name], rel=1e-12), name


def test_the_month_card_names_the_calendar_month_simulated():
    """'12 / 120' and, below it, the month the model has just simulated (months count from the
    preset's start year: month 12 of a 2025 start is Dec 2025); none before the first step."""
    from viz.components import summary_cards

    s = Session("hangzhou", seed=2)
    assert "sub" not in summary_cards(s)[0]
    s.step(12)
    card = summary_cards(s)[0]
    assert card["css"] == "month" and card["text"] == f"12 / {s.horizon}"
    assert card["sub"] == "Dec 2025"


def test_the_largest_startup_card_shows_the_kpi_of_the_cities():
    """The 'Largest startup' card (held-out pattern 13): the largest startup of any city in the
    month just simulated, from the KPI largest_startup_staff; the western hubs have none."""
    from viz.components import summary_cards

    s = Session("hangzhou", seed=2)
    card = next(c for c in summary_cards(s) if c["css"] == "largest")
    assert card["text"] == "–"  # nothing simulated yet
    s.step(24)
    k = s.model.kpis()
    last = k[k["month"] == k["month"].max()]
    want = last[last["region"] == "hangzhou"]["largest_startup_staff"].max()
    card = next(c for c in summary_cards(s) if c["css"] == "largest")
    assert want > 0 and card["text"] == f"{want:,}"
