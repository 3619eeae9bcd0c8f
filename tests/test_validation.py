"""Issue 8: every input that once gave a traceback, a crash or a misleading message.

Each case runs ``aieco`` in this process (``experiments.cli.main``) and asserts the contract:
exit 2, exactly one line ``error: ...`` on stderr naming the cause, no traceback, nothing
written. Scenario-level cases also check :func:`load_scenario` directly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ecosystem.scenario import (
    ScenarioError,
    field_help,
    load_document,
    load_scenario,
    load_scenario_text,
)
from ecosystem.scenario.loading import MAX_BASE_CHAIN, MAX_NESTING
from ecosystem.scenario.paths import get_path, is_annotated, nest, set_path
from experiments.cli import main

ROOT = Path(__file__).resolve().parent.parent


def one_line_error(capsys, argv, needle, out: Path | None = None):
    rc = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    assert needle in lines[0], lines[0]
    if out is not None:
        assert not out.exists()
    return lines[0]


def rejects(needle: str, *overrides: str, scenario: str = "hangzhou") -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario, list(overrides))
    msg = str(info.value)
    assert "\n" not in msg and needle in msg, msg
    return msg


# --- Tracebacks instead of exit 2 --------------------------------------------------------------
NOT_UTF8 = b'base = "hangzhou"\n[meta]\nname = "caf\xe9"\n'


def test_non_utf8_file(tmp_path, capsys):
    f = tmp_path / "bad.toml"
    f.write_bytes(NOT_UTF8)
    one_line_error(capsys, ["validate", str(f)], "is not UTF-8 text")


@pytest.mark.parametrize("via", ["base", "include"])
def test_non_utf8_through_base_and_include(tmp_path, capsys, via):
    (tmp_path / "inner.toml").write_bytes(NOT_UTF8)
    f = tmp_path / "outer.toml"
    ref = 'base = "inner.toml"' if via == "base" else 'base = "hangzhou"\ninclude = ["inner.toml"]'
    f.write_text(ref + "\n")
    one_line_error(capsys, ["validate", str(f)], "is not UTF-8 text")


def test_non_utf8_sweep_scenario(tmp_path, capsys):
    (tmp_path / "scen.toml").write_bytes(NOT_UTF8)
    exp = tmp_path / "exp.toml"
    exp.write_text(
        '[experiment]\nname = "x"\nscenario = "scen.toml"\n'
        '[levers.voucher_rate]\npath = "regions.hangzhou.policy.voucher_rate"\nvalues = [0.0]\n'
        '[outcomes]\nsummary = ["startups_alive_end"]\n'
    )
    out = tmp_path / "res"
    one_line_error(capsys, ["sweep", str(exp), "--out", str(out)], "not UTF-8", out)


def test_deep_nesting(tmp_path, capsys):
    f = tmp_path / "deep.toml"
    f.write_text('base = "hangzhou"\nx = ' + "[" * 5000 + "]" * 5000 + "\n")
    one_line_error(capsys, ["validate", str(f)], "nests tables or arrays deeper")
    f.write_text('base = "hangzhou"\n' + "[" + ".".join(["a"] * (MAX_NESTING + 5)) + "]\nv = 1\n")
    one_line_error(capsys, ["validate", str(f)], f"deeper than {MAX_NESTING}")
    one_line_error(capsys, ["validate", str(f)], "deep.toml")


def test_deep_nesting_in_set(capsys, tmp_path):
    deep = "meta.name=" + "[" * 3000 + "]" * 3000
    out = tmp_path / "o"
    one_line_error(capsys, ["run", "hangzhou", "--set", deep, "--out", str(out)], "deeper", out)


def test_long_base_chain(tmp_path, capsys):
    (tmp_path / "f0.toml").write_text('base = "hangzhou"\n')
    for i in range(1, 1200):
        (tmp_path / f"f{i}.toml").write_text(f'base = "f{i - 1}.toml"\n')
    one_line_error(
        capsys, ["validate", str(tmp_path / "f1199.toml")], f"longer than {MAX_BASE_CHAIN}"
    )


def test_base_cycle_spelled_differently(tmp_path, capsys):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "a.toml").write_text('base = "b.toml"\n')
    (sub / "b.toml").write_text('base = "../sub/a.toml"\n')
    one_line_error(capsys, ["validate", str(sub / "a.toml")], "must not refer back to itself")


def test_unreadable_names(tmp_path, capsys):
    long = tmp_path / ("x" * 300 + ".toml")
    one_line_error(capsys, ["validate", str(long)], "validate" if False else "x")
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    one_line_error(capsys, ["validate", str(folder)], "file not found")


def test_lever_named_like_an_outcome(tmp_path, capsys):
    exp = tmp_path / "exp.toml"
    exp.write_text(
        '[experiment]\nname = "x"\nscenario = "hangzhou"\nmonths = 12\n'
        '[levers.startups_alive_end]\npath = "regions.hangzhou.policy.voucher_rate"\n'
        "values = [0.0, 0.5]\n"
        '[outcomes]\nsummary = ["startups_alive_end"]\n'
    )
    out = tmp_path / "res"
    one_line_error(capsys, ["sweep", str(exp), "--out", str(out)], "is the name of an outcome", out)


# --- Valid files that crashed or corrupted a run: now rejected by validation -------------------
BIG = "regions.hangzhou.big_firms"


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        (
            "regions.hangzhou.market.market_potential_yuan_per_year=inf",
            "market_potential_yuan_per_year",
        ),
        ("regions.hangzhou.data_centers", None),  # placeholder, replaced below
        ("sectors.health.training_gpu_h_per_head=inf", "training_gpu_h_per_head"),
        ("startups.capability_scale=inf", "capability_scale"),
        ("startups.capability_scale=nan", "capability_scale"),
        ("startups.initial_age_years_max=5e-324", "initial_age_years_max"),
        ("regions.hangzhou.talent.wage_yuan_per_month=5e-324", "wage_yuan_per_month"),
        ("regions.hangzhou.talent.wage_yuan_per_month=inf", "wage_yuan_per_month"),
        ("labour.migration_tightness_elasticity=1e300", "migration_tightness_elasticity"),
        ("regions.hangzhou.initial_startups=1000000000", "initial_startups"),
        ("regions.hangzhou.initial_startups=10000000", "initial_startups"),
        ("regions.hangzhou.initial_startups=1e30", "initial_startups"),
        ("startups.partnership_rate_per_year=1e9", "partnership_rate_per_year"),
        ("demand.quality_elasticity=300", "quality_elasticity"),
        ("startups.capability_depreciation_per_month=5e-324", "capability_depreciation_per_month"),
        ("startups.capability_depreciation_per_month=0", "capability_depreciation_per_month"),
        ("regions.hangzhou.policy.voucher_budget_yuan=inf", "voucher_budget_yuan"),
        ("national.chip_supply_gpu_per_year=-inf", "chip_supply_gpu_per_year"),
        ("sectors.health.inference_gpu_h_per_yuan=1e300", "inference_gpu_h_per_yuan"),
    ],
)
def test_values_that_broke_runs_are_rejected(override, needle):
    if needle is None:
        doc = load_document("hangzhou")
        dc = next(iter(doc["regions"]["hangzhou"]["data_centers"]))
        override = f"regions.hangzhou.data_centers.{dc}.capacity_gpu_h=inf"
        needle = "capacity_gpu_h"
    msg = rejects(needle, override)
    assert any(w in msg for w in ("must be", "finite", "valid integer")), msg


def test_all_big_firm_headcounts_zero():
    firms = load_document("hangzhou")["regions"]["hangzhou"]["big_firms"]
    overrides = [f"{BIG}.{b}.headcount=0" for b in firms]
    rejects("at least one big firm needs headcount >= 1", *overrides)


def test_population_must_fit_in_memory():
    rejects(
        "people table would grow",
        *[
            f"regions.hangzhou.universities.{u}.graduates_per_year=2000000"
            for u in load_document("hangzhou")["regions"]["hangzhou"]["universities"]
        ],
        "meta.years=50",
    )


def test_every_preset_passes_the_new_bounds_even_over_50_years():
    from ecosystem.scenario import preset_names

    for name in preset_names():
        load_scenario(name, ["meta.years=50"])


# --- Misleading messages -------------------------------------------------------------------
def test_plain_table_over_annotated_table_is_the_same_in_a_file_and_via_set(tmp_path):
    shares = (
        "{ manufacturing = 0.5, robotics = 0.5, autonomous_driving = 0.0, health = 0.0, "
        "finance = 0.0, consumer_ecommerce = 0.0, foundation_models = 0.0 }"
    )
    f = tmp_path / "s.toml"
    f.write_text(f'base = "hangzhou"\n[regions.hangzhou]\nsector_shares = {shares}\n')
    from_file = load_scenario(str(f))
    via_set = load_scenario("hangzhou", [f"regions.hangzhou.sector_shares={shares}"])
    assert from_file.regions["hangzhou"].sector_shares == via_set.regions["hangzhou"].sector_shares
    assert from_file.regions["hangzhou"].sector_shares["manufacturing"] == 0.5
    assert "partly set" in from_file.provenance["regions.hangzhou.sector_shares"]
    # a partial table merges the same way in both, and both give the same message
    part = "{ manufacturing = 0.9 }"
    f.write_text(f'base = "hangzhou"\n[regions.hangzhou]\nsector_shares = {part}\n')
    with pytest.raises(ScenarioError) as a:
        load_scenario(str(f))
    with pytest.raises(ScenarioError) as b:
        load_scenario("hangzhou", [f"regions.hangzhou.sector_shares={part}"])
    assert str(a.value) == str(b.value)
    assert "add up to 1" in str(a.value) and ".value." not in str(a.value)


def test_empty_table_over_a_value_is_rejected(tmp_path):
    firm = next(iter(load_document("hangzhou")["regions"]["hangzhou"]["big_firms"]))
    f = tmp_path / "s.toml"
    f.write_text(f'base = "hangzhou"\n[regions.hangzhou.big_firms.{firm}]\nheadcount = {{}}\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(f))
    assert f"big_firms.{firm}.headcount = {{}}" in str(info.value)


def test_set_a_table_to_a_value(capsys, tmp_path):
    out = tmp_path / "o"
    msg = one_line_error(
        capsys,
        ["run", "hangzhou", "--set", "meta=0.5", "--years", "1", "--out", str(out)],
        "meta = 0.5: is a table, not a value",
        out,
    )
    assert "unknown key" not in msg


def test_sweep_scenario_errors_name_the_scenario_not_constants(tmp_path, capsys):
    scen = tmp_path / "scen.toml"
    scen.write_text('base = "hangzhou"\n[regions.hangzhou.policy]\nvoucher_rate = 7.0\n')
    exp = tmp_path / "exp.toml"
    exp.write_text(
        '[experiment]\nname = "x"\nscenario = "scen.toml"\n'
        '[constants]\n"regions.hangzhou.policy.voucher_budget_yuan" = 1e8\n'
        '[levers.startup_grant_yuan]\npath = "regions.hangzhou.policy.startup_grant_yuan"\n'
        "values = [0.0]\n"
        '[outcomes]\nsummary = ["startups_alive_end"]\n'
    )
    msg = one_line_error(capsys, ["sweep", str(exp), "--out", str(tmp_path / "r")], "voucher_rate")
    assert "constants." not in msg and "experiment.scenario" in msg


def test_sweep_whose_scenario_is_itself(tmp_path, capsys):
    exp = tmp_path / "exp.toml"
    exp.write_text(
        '[experiment]\nname = "x"\nscenario = "exp.toml"\n'
        '[levers.voucher_rate]\npath = "regions.hangzhou.policy.voucher_rate"\nvalues = [0.0]\n'
        '[outcomes]\nsummary = ["startups_alive_end"]\n'
    )
    msg = one_line_error(capsys, ["sweep", str(exp), "--out", str(tmp_path / "r")], "itself")
    assert "constants.meta" not in msg


# --- Restricted loading for uploads (the browser app) -----------------------------------------
def test_restricted_loading_reads_no_server_file(tmp_path):
    secret = tmp_path / "secret.toml"
    secret.write_text('api_token = "hunter2"\n')
    missing = tmp_path / "missing.toml"
    messages = []
    for ref in (secret, missing):
        for text in (f'base = "hangzhou"\ninclude = ["{ref}"]\n', f'base = "{ref}"\n'):
            with pytest.raises(ScenarioError) as info:
                load_scenario_text(text)
            messages.append(str(info.value).replace(str(ref), "PATH"))
            assert "hunter2" not in str(info.value) and "api_token" not in str(info.value)
    # the same message whether the path exists or not
    assert messages[0] == messages[2] and messages[1] == messages[3]
    for traversal in ("../../../../etc/hostname", "regions/../../x", "/etc/hostname"):
        with pytest.raises(ScenarioError, match="unknown fragment"):
            load_scenario_text(f'base = "hangzhou"\ninclude = ["{traversal}"]\n')


def test_restricted_loading_accepts_presets_and_fragments():
    sc = load_scenario_text(b'base = "hangzhou"\n[regions.hangzhou.policy]\nvoucher_rate = 0.4\n')
    assert sc.regions["hangzhou"].policy.voucher_rate == 0.4
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario_text(NOT_UTF8)


# --- The shared helpers and the field help --------------------------------------------------
def test_dotted_path_helpers():
    doc = {"a": {"b": {"value": 1, "source": "x"}, "t": {"value": {"k": 1}, "source": "y"}}}
    assert is_annotated(doc["a"]["b"]) and not is_annotated(doc["a"])
    assert get_path(doc, "a.b") == 1 and get_path(doc, "a.t.k") == 1
    set_path(doc, "a.b", 2, source="test")
    assert doc["a"]["b"] == {"value": 2, "source": "test"}
    set_path(doc, "a.t.k", 3)
    assert doc["a"]["t"]["value"]["k"] == 3 and "partly set" in doc["a"]["t"]["source"]
    set_path(doc, "a.new.deep", 4)
    assert doc["a"]["new"] == {"deep": 4}
    assert nest({"x.y": 1, "x.z": 2}) == {"x": {"y": 1, "z": 2}}


def test_field_help_comes_from_the_schema():
    h = field_help("regions.anywhere.talent.wage_yuan_per_month")
    assert h.help.startswith("Fully loaded monthly cost") and h.unit == "yuan/month"
    assert (h.ge, h.le) == (100.0, 1e7)
    v = field_help("regions.x.policy.voucher_rate")
    assert (v.ge, v.le, v.default) == (0.0, 1.0, 0.0) and v.summary.endswith(".")
    with pytest.raises(KeyError):
        field_help("regions.x.policy.no_such_lever")


# --- Fast start --------------------------------------------------------------------------------
HEAVY = ("mesa", "pandas", "numpy", "solara", "dask", "distributed", "pyarrow", "scipy", "viz")


@pytest.mark.parametrize("argv", [["--help"], ["presets"], ["validate", "hangzhou.toml"]])
def test_light_commands_do_not_import_the_model_stack(argv, tmp_path):
    (tmp_path / "hangzhou.toml").write_text('base = "hangzhou"\n')
    code = (
        "import sys, json\n"
        "from experiments.cli import main\n"
        "try:\n    rc = main(json.loads(sys.argv[1]))\n"
        "except SystemExit as e:\n    rc = e.code\n"
        "print(json.dumps([rc, sorted(m.split('.')[0] for m in sys.modules)]))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, json.dumps(argv)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    rc, modules = json.loads(r.stdout.strip().splitlines()[-1])
    assert rc == 0, r.stderr
    assert not set(modules) & set(HEAVY), sorted(set(modules) & set(HEAVY))


def test_experiment_file_deep_nesting_and_unreadable(tmp_path, capsys):
    exp = tmp_path / "exp.toml"
    exp.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    one_line_error(capsys, ["sweep", str(exp), "--out", str(tmp_path / "r")], "too deeply")
    one_line_error(
        capsys, ["sweep", str(tmp_path / ("y" * 300)), "--out", str(tmp_path / "r")], "y"
    )


def test_a_zero_month_build_time_is_rejected():
    from ecosystem.scenario import ScenarioError, load_scenario

    with pytest.raises(ScenarioError, match="dc_build_months = 0: .*>= 1"):
        load_scenario("ningbo", {"national.dc_build_months": 0})
