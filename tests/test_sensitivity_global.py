"""Global sensitivity of the headline outcomes (issue 11.5, ``experiments.global_sensitivity``).

The full analysis (docs/sensitivity.md) takes most of an hour; here a reduced one on the tiny
scenario (Ningbo with a voucher programme, 24 months, 3 factors and the seed) checks what the
analysis claims: an input with no effect gets an index of zero whose interval covers zero, an
input with an effect does not, both arms of a point run on the same seed, the doc has its
sections, and the spec of Hangzhou covers every documented input exactly once.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecosystem.scenario import ScenarioError, load_document
from experiments import global_sensitivity as gs
from experiments.assumptions import documented_ranges
from experiments.calibrate import load_spec

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "presets" / "tiny.toml"
INERT = "labour.graduate_inflow_warn_share"  # only decides when validation warns
#: tiny's own warning, which the inert input's range triggers on purpose
pytestmark = pytest.mark.filterwarnings("ignore:.*graduate_inflow_warn_share:UserWarning")


def _spec_dict(scenario: str, **over) -> dict:
    d = {
        "sensitivity": {"name": "tiny_gsa", "scenario": scenario, "months": 24, "root_seed": 7},
        "factors": {
            "individual": ["regions.ningbo.talent.other_founding_per_year", INERT],
            "groups": {"founding": ["startups.founding_cash", "startups.founding_team"]},
            "fixed": {"": "test: every other input fixed"},
        },
        "counterfactual": {
            "name": "vouchers_off",
            "set": {
                "regions.ningbo.policy.voucher_rate": 0.0,
                "regions.ningbo.policy.voucher_rate_sme": 0.0,
            },
        },
        "morris": {"trajectories": 3},
        "sobol": {"samples": 4, "top": 2},
    }
    for k, v in over.items():
        d[k] = {**d[k], **v}
    return d


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    """tiny with a Ningbo compute-voucher programme (as tests/test_vouchers.py's)."""
    p = tmp_path_factory.mktemp("gsa_scen") / "tiny_vouchers.toml"
    p.write_text(
        f'base = "{TINY.as_posix()}"\n\n[regions.ningbo.policy]\nvoucher_rate = 0.3\n'
        "voucher_rate_sme = 0.5\nvoucher_sme_contract_max_yuan = 5e5\n"
        "voucher_budget_yuan = 3e7\n"
    )
    return p


@pytest.fixture(scope="module")
def analysis(scenario, tmp_path_factory):
    gsa = gs.gsa_from_dict(_spec_dict(str(scenario)))
    out = tmp_path_factory.mktemp("gsa_out") / "res"
    record = gs.run_all(gsa, out, progress=False, command="python -m … (test)")
    doc = gs.write_doc(out, out / "sensitivity.md")
    return gsa, out, record, doc


def test_factors_are_built_from_the_spec(scenario):
    gsa = gs.gsa_from_dict(_spec_dict(str(scenario)))
    kinds = {f.name: (f.kind, [p.path for p in f.members]) for f in gsa.factors}
    assert kinds["other_founding_per_year"][0] == "parameter"
    assert kinds["founding"] == (
        "group",
        [
            "startups.founding_cash_yuan",
            "startups.founding_team",
            "startups.founding_team_runway_months",
            "startups.founding_cash_sd",
        ],
    )
    assert kinds["seed"] == ("seed", [])
    assert INERT not in {p for p, _ in gsa.fixed}


def test_inert_input_gets_zero_and_active_input_does_not(analysis):
    _, out, _, _ = analysis
    morris = pd.read_parquet(out / "gsa_morris.parquet")
    alive = morris[morris["outcome"] == "startups_alive_end"].set_index("parameter")
    inert = alive.loc["graduate_inflow_warn_share"]
    assert inert["mu_star"] == 0 and inert["mu_star"] - inert["mu_star_conf"] <= 0
    active = alive.loc["founding"]  # founding cash and team size decide who can found
    assert active["mu_star"] - active["mu_star_conf"] > 0
    assert (alive.loc["seed", "mu_star"]) > 0  # re-seeding alone moves the count: the floor
    sobol = pd.read_parquet(out / "gsa_sobol.parquet")
    assert set(sobol["parameter"]) <= {"founding", "other_founding_per_year", "seed"}
    assert "graduate_inflow_warn_share" not in set(sobol["parameter"])  # screened out
    for _, r in sobol.iterrows():
        assert np.isfinite([r["S1"], r["S1_conf"], r["ST"], r["ST_conf"]]).all()


def test_inert_input_in_sobol_covers_zero(scenario, tmp_path):
    """Forced into the Sobol' stage, the inert input's S1 and ST intervals cover 0."""
    gsa = gs.gsa_from_dict(_spec_dict(str(scenario), sobol={"samples": 4, "top": 1}))
    factors = [gsa.factor("graduate_inflow_warn_share"), gsa.factor("seed")]
    res = gs.run_stage(gsa, "sobol", factors, tmp_path, progress=False)
    row = res.table.query("outcome == 'startups_alive_end'").set_index("parameter")
    inert = row.loc["graduate_inflow_warn_share"]
    assert abs(inert["S1"]) <= inert["S1_conf"] + 1e-12
    assert abs(inert["ST"]) <= inert["ST_conf"] + 1e-12
    assert row.loc["seed", "ST"] > 0.25  # the count varies with the seed alone


def test_paired_arms_share_seed_and_inputs(analysis):
    gsa, out, _, _ = analysis
    runs = pd.read_parquet(out / "morris" / "summary.parquet")
    on = runs[runs["replicate"] == 0].set_index("point")
    off = runs[runs["replicate"] == 1].set_index("point")
    assert len(on) == len(off) > 0
    assert (on["seed"] == off["seed"]).all()
    params = [p.name for p in gsa.parameters]
    pd.testing.assert_frame_equal(on[params], off[params])
    assert on["seed"].nunique() > 1  # the seed factor moves
    pts = pd.read_parquet(out / "gsa_points_morris.parquet")
    assert (pts["extra_voucher_yuan"] > 0).all()  # the counterfactual switched vouchers off
    assert np.allclose(
        pts["extra_startups_end"],
        pts["startups_alive_end"] - pts["startups_alive_end_counterfactual"],
    )


def test_point_outcomes_refuse_unpaired_seeds():
    rows = []
    for arm, seed in ((0, 1), (1, 2)):
        rows.append(
            {"point": 0, "replicate": arm, "seed": seed, "status": "ok"}
            | dict.fromkeys(gs.RAW, 1.0)
        )
    with pytest.raises(AssertionError, match="different seeds"):
        gs.point_outcomes(pd.DataFrame(rows), 1, 120)


def test_censored_target_year_and_robust_ratio():
    rows = []
    for i, (month, alive_on, alive_off, spent) in enumerate(
        [(30.0, 100, 90, 1e8), (np.nan, 100, 100, 1e8), (np.nan, 100, 101, 1e8)]
    ):
        base = {"point": i, "seed": i, "status": "ok", "month_target_reached": month}
        rows.append(
            base
            | {"replicate": 0, "startups_alive_end": alive_on, "voucher_spent_yuan_total": spent}
        )
        rows.append(
            base | {"replicate": 1, "startups_alive_end": alive_off, "voucher_spent_yuan_total": 0}
        )
    df = pd.DataFrame(rows)
    for c in gs.RAW:
        if c not in df:
            df[c] = 1.0
    pts = gs.point_outcomes(df, 3, 120)
    assert pts["target_year_capped"].tolist() == [31 / 12, 10.0, 10.0]
    assert pts["extra_startups_end"].tolist() == [10, 0, -1]
    assert pts["startups_per_100m_yuan"].tolist() == [10, 0, -1]
    y = gs.yuan_per_startup(pts)
    assert y["ratio_of_means"] == pytest.approx(1e8 / 3)  # mean money / mean extra startups
    assert y["median_ratio_where_positive"] == pytest.approx(1e7)
    assert y["share_undefined"] == pytest.approx(2 / 3)
    pts.loc[0, "extra_startups_end"] = -5
    assert math.isnan(gs.yuan_per_startup(pts)["ratio_of_means"])  # no mean gain: undefined


def test_outcomes_without_indices_are_noted_and_skipped():
    """One rule for both analyses (``experiments.sensitivity.analysable``): a sweep leaves out an
    outcome missing anywhere; the global analysis fills its gaps with the median and counts them."""
    from experiments.sensitivity import analysable

    values = pd.DataFrame(
        {
            "ok": [1.0, 2.0, 4.0, 3.0],
            "gaps": [1.0, np.nan, 5.0, np.nan],
            "none": np.nan,
            "flat": 7.0,
        }
    )
    outcomes = ["ok", "gaps", "none", "flat"]
    usable, notes = analysable(values, outcomes)
    assert [o for o, _ in usable] == ["ok"]
    assert notes == [
        "gaps: left out (2 of 4 points have no value, e.g. failed runs or a target never reached)",
        "none: left out (4 of 4 points have no value, e.g. failed runs or a target never reached)",
        "flat: left out (the same value at every point)",
    ]
    usable, notes = analysable(values, outcomes, fill_missing=True, label="morris: ")
    assert [o for o, _ in usable] == ["ok", "gaps"]
    np.testing.assert_array_equal(dict(usable)["gaps"], [1.0, 3.0, 5.0, 3.0])
    assert notes == [
        "morris: gaps: 2 of 4 points had no value (replaced by the median)",
        "morris: none: no point has a value",
        "morris: flat: the same value (7) at every point",
    ]


def test_numbers_keep_each_reports_style():
    """docs/sensitivity.md separates thousands from 100 up; aieco policy's effects from 10,000."""
    from experiments.policy import _fmt

    cases = [(0.01234, "0.0123", "0.0123"), (123.5, "124", "124"), (1234.5, "1,234", "1.23e+03")]
    cases += [(-12345.6, "-12,346", "-12,346"), (2.5e6, "2.5m", "2.5m"), (3.3e9, "3.3bn", "3.3bn")]
    for x, page, effects in cases:
        assert (gs._num(x), _fmt(x)) == (page, effects), x
    assert gs._num(math.nan) == _fmt(None) == _fmt(math.inf) == "n/a"


def test_doc_has_its_sections(analysis):
    _, out, record, doc = analysis
    text = doc.read_text(encoding="utf-8")
    for heading in (
        "## Design",
        "## Outcomes",
        "## Morris screening",
        "## Sobol' indices",
        "## Factors",
        "## What not to trust",
    ):
        assert heading in text, heading
    assert record["git_revision"] in text
    assert "python -m … (test)" in text
    assert "`startups_alive_end`" in text and "Seed μ* (noise floor)" in text
    assert "points with Δ ≤ 0" in text


def test_hangzhou_spec_covers_every_documented_input_once():
    gsa = gs.load_gsa(ROOT / "experiments" / "gsa" / "hangzhou.toml")
    cal = load_spec("hangzhou")
    singles = {f.name: f.members[0] for f in gsa.factors if f.kind == "parameter"}
    for prior in cal.priors:  # one source of truth: the calibration's priors, unchanged
        assert singles[prior.name] == prior
    paths = [p.path for p in gsa.parameters]
    assert len(paths) == len(set(paths))
    documented = {p for p, _ in documented_ranges(load_document("hangzhou"))}
    assert set(paths) | {p for p, _ in gsa.fixed} == documented
    assert not set(paths) & {p for p, _ in gsa.fixed}
    assert len(gsa.factors) < len(paths) / 4  # grouped, or the Morris stage is unaffordable


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"morris": {"trajectories": 1}}, "morris.trajectories"),
        ({"sensitivity": {"colour": 1}}, "sensitivity.colour"),
        ({"counterfactual": {"set": {"regions.ningbo.policy.no_such": 1.0}}}, "no_such"),
        ({"factors": {"fixed": {}, "groups": {}}}, "factors.groups"),
        ({"factors": {"groups": {"empty": ["nowhere."]}}}, "factors.groups.empty"),
    ],
)
def test_bad_spec_is_one_line_naming_the_field(scenario, change, field):
    d = _spec_dict(str(scenario))
    for k, v in change.items():
        d[k] = {**d[k], **v}
    with pytest.raises(ScenarioError) as exc:
        gs.gsa_from_dict(d)
    assert field in str(exc.value) and "\n" not in str(exc.value)


def test_command_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[sensitivity]\nname = "x"\n[counterfactual]\nname = "c"\nset = {}\n')
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.global_sensitivity", str(bad), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "counterfactual.set" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def _documented(name: str) -> list[tuple[str, str]]:
    rows, current = [], None
    for line in (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            current = line.lstrip("#").strip()
            continue
        if current == name and line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[0] != "column":
                rows.append((cells[0], cells[1]))
    return rows


def test_files_are_documented_in_outputs_md(analysis):
    import pyarrow as pa
    import pyarrow.parquet as pq

    _, out, _, _ = analysis
    for doc_name, path in [
        ("gsa_factors.parquet", out / "gsa_factors.parquet"),
        ("gsa_fixed.parquet", out / "gsa_fixed.parquet"),
        ("gsa_morris.parquet", out / "gsa_morris.parquet"),
        ("gsa_sobol.parquet", out / "gsa_sobol.parquet"),
        ("gsa_points_<stage>.parquet", out / "gsa_points_sobol.parquet"),
    ]:
        schema = pq.read_schema(path)
        got = [(f.name, "string" if pa.types.is_string(f.type) else str(f.type)) for f in schema]
        want = _documented(doc_name)
        if doc_name.startswith("gsa_points"):
            assert got[: len(want) - 1] == want[:-1]
            assert all(n.startswith("u_") and t == "double" for n, t in got[len(want) - 1 :])
        else:
            assert got == want, doc_name
        t = pq.read_table(path)
        assert t.column_names[:2] == ["run_id", "seed"]


def test_sobol_factors_lead_outcomes_beyond_seed_noise():
    """The Sobol' stage takes the factors that lead outcomes, counted only where they stand
    above the seed's noise: an outcome nothing moves beyond noise chooses no factor, and of two
    outcome leaders the one that also weighs in elsewhere comes first (not the alphabet)."""

    def rows(outcome, seed_mu, **factors):
        out = [{"outcome": outcome, "parameter": "seed", "kind": "seed", "mu_star": seed_mu,
                "mu_star_conf": 0.0}]  # fmt: skip
        for name, (mu, conf) in factors.items():
            out.append({"outcome": outcome, "parameter": name, "kind": "parameter",
                        "mu_star": mu, "mu_star_conf": conf})  # fmt: skip
        return out

    morris = pd.DataFrame(
        rows("startups", 10.0, zeta=(100.0, 20.0), beta=(60.0, 10.0), alpha=(5.0, 1.0))
        + rows("compute", 10.0, beta=(50.0, 5.0), zeta=(40.0, 5.0), alpha=(4.0, 1.0))
        # nothing beyond noise here: its nominal leader `aardvark` must not be chosen
        + rows("noisy", 1.0, aardvark=(3.0, 2.5), zeta=(1.0, 1.0))
    )

    class Spec:
        def factor(self, name):
            return name

    # zeta and beta each lead one outcome (weight 1); zeta weighs 0.8 in the other, beta 0.6
    assert gs.top_factors(Spec(), morris, 2) == ["zeta", "beta", "seed"]
    # places beyond the factors above noise are filled by best weight, noise included
    assert gs.top_factors(Spec(), morris, 3) == ["zeta", "beta", "aardvark", "seed"]
    # the page's *noise* mark is the same rule, row by row: exactly the factors not above noise
    above = set(gs.above_noise(morris).index)
    for outcome, g in morris.groupby("outcome"):
        for i, r in g.iterrows():
            row = pd.concat([r, pd.Series({"rank": 1, "members": 1, "mu": 0.0, "sigma": 0.0})])
            marked = gs._morris_cells(row, g)[-1]
            assert (marked == "*noise*") == (r["kind"] != "seed" and i not in above), (outcome, i)
