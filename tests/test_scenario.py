"""Scenarios: loading, provenance, overrides, round trips and one-line errors."""

from __future__ import annotations

import numbers

import pytest

from ecosystem.scenario import (
    ScenarioError,
    dump_toml,
    load_document,
    load_scenario,
    preset_names,
    scenario_from_dict,
    strip_provenance,
)


def numeric_leaves(node, path=""):
    if isinstance(node, dict):
        if set(node) >= {"value"} and set(node) <= {"value", "source", "assumption", "range"}:
            yield path, node
            return
        for k, v in node.items():
            yield from numeric_leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(node, numbers.Number) and not isinstance(node, bool):
        yield path, node


@pytest.mark.parametrize("name", preset_names())
def test_every_number_in_a_preset_has_a_source_or_a_ranged_assumption(name):
    doc = load_document(name)
    missing, no_range = [], []
    for path, leaf in numeric_leaves(doc):
        if not isinstance(leaf, dict):
            missing.append(path)
        elif "assumption" in leaf and "range" not in leaf:
            no_range.append(path)
        elif "source" not in leaf and "assumption" not in leaf:
            missing.append(path)
    assert not missing, f"numbers without provenance: {missing[:10]}"
    assert not no_range, f"assumptions without a range: {no_range[:10]}"


def test_hangzhou_preset_values_from_the_brief(hangzhou):
    pol = hangzhou.regions["hangzhou"].policy
    assert pol.voucher_budget_yuan == 2.5e8  # [S67][S68]
    assert pol.voucher_cap_per_firm_yuan == 8e6  # [S67]
    assert 0.2 <= pol.voucher_rate <= 0.3 and pol.voucher_rate_sme == 0.5  # [S67]
    assert hangzhou.regions["hangzhou"].initial_startups == 400  # H8
    assert {"zju", "westlake"} <= set(hangzhou.regions["hangzhou"].universities)
    assert "alibaba" in hangzhou.regions["hangzhou"].big_firms
    assert hangzhou.regions["qingyang"].kind == "hub"
    assert "[S67]" in hangzhou.provenance["regions.hangzhou.policy.voucher_cap_per_firm_yuan"]


def test_show_output_round_trips_values_and_sources(hangzhou, tmp_path):
    path = tmp_path / "resolved.toml"
    path.write_text(dump_toml(hangzhou), encoding="utf-8")
    again = load_scenario(path)
    assert again.model_dump() == hangzhou.model_dump()
    assert again.provenance == hangzhou.provenance


def test_a_file_can_start_from_a_preset_and_change_one_lever(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'base = "hangzhou"\n[regions.hangzhou.policy]\nvoucher_rate = 0.8\n', encoding="utf-8"
    )
    sc = load_scenario(path)
    assert sc.regions["hangzhou"].policy.voucher_rate == 0.8
    assert sc.regions["hangzhou"].policy.voucher_budget_yuan == 2.5e8


def test_overrides_by_dotted_path_mark_the_source():
    sc = load_scenario("hangzhou", {"regions.hangzhou.policy.voucher_rate": 0.4})
    assert sc.regions["hangzhou"].policy.voucher_rate == 0.4
    assert "set by user" in sc.provenance["regions.hangzhou.policy.voucher_rate"]
    sc = load_scenario(
        "hangzhou",
        ["regions.hangzhou.talent.founding_hazard.rates=[0.05, 0.03, 0.02, 0.01, 0.01, 0.005]"],
    )
    assert sc.regions["hangzhou"].talent.founding_hazard.rates[-1] == 0.005


@pytest.mark.parametrize(
    ("overrides", "field", "allowed"),
    [
        (
            {"regions.hangzhou.policy.voucher_budget_yuan": -1.0},
            "regions.hangzhou.policy.voucher_budget_yuan",
            ">= 0",
        ),
        (
            {"regions.hangzhou.policy.voucher_rate": 1.5},
            "regions.hangzhou.policy.voucher_rate",
            "<= 1",
        ),
        (
            {"regions.hangzhou.policy.voucher_rate": "high"},
            "regions.hangzhou.policy.voucher_rate",
            "number",
        ),
        (
            {"regions.hangzhou.policy.voucher_portable": 3},
            "regions.hangzhou.policy.voucher_portable",
            "boolean",
        ),
        ({"meta.years": -2}, "meta.years", ">= 1"),
        ({"meta.posterior": "Hang Zhou"}, "meta.posterior", "name"),
        ({"meta.posterior": "../x.csv"}, "meta.posterior", ".parquet"),
        ({"meta.posterior": 3}, "meta.posterior", "string"),
        (
            {"regions.hangzhou.policy.no_such_lever": 1},
            "regions.hangzhou.policy.no_such_lever",
            "unknown key",
        ),
    ],
)
def test_bad_values_name_field_value_and_what_is_allowed(overrides, field, allowed):
    with pytest.raises(ScenarioError) as err:
        load_scenario("hangzhou", overrides)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(field)
    assert allowed in message


def test_a_scenario_names_its_posterior_as_a_name_or_a_parquet_path():
    assert load_scenario("hangzhou").meta.posterior == "hangzhou"
    assert load_scenario("chengdu", {"meta.posterior": "runs/p.parquet"}).meta.posterior == (
        "runs/p.parquet"
    )
    assert load_scenario("hangzhou", {"meta.posterior": None}).meta.posterior is None


def test_unknown_key_in_a_file_is_rejected(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        'base = "hangzhou"\n[regions.hangzhou.policy]\nvoucher_rat = 0.3\n', encoding="utf-8"
    )
    with pytest.raises(ScenarioError, match="voucher_rat.*unknown key"):
        load_scenario(path)


def test_unknown_preset_lists_the_allowed_ones():
    with pytest.raises(ScenarioError, match="unknown preset; allowed: .*hangzhou"):
        load_scenario("atlantis")


def test_sector_shares_must_add_up():
    doc, _ = strip_provenance(load_document("hangzhou"))
    doc["regions"]["hangzhou"]["sector_shares"]["robotics"] += 0.5
    with pytest.raises(ScenarioError, match="add up to 1"):
        scenario_from_dict(doc)


def test_scenario_errors_survive_pickling():
    """Errors raised in worker processes cross to the parent pickled: they arrive whole (before,
    unpickling called __init__ with the message alone and broke the process pool)."""
    import pickle

    from ecosystem.outputs import OutputError

    for err in (ScenarioError("a.b", 3, "must be < 2"), OutputError("--out", "x", "exists")):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err)
        assert (back.field, back.value, back.allowed) == (err.field, err.value, err.allowed)
