"""SALib used fully: aieco's samples and indices are SALib's own, for Morris, Sobol' (with
second-order indices), eFAST, delta and PAWN; sample sizes are power-of-two aware; every table
records N, confidence level and bootstrap seed; unreliable indices are flagged with the N to use.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main
from experiments.samplers import problem, salib_sample
from experiments.sensitivity import analyse, reliability_warnings
from experiments.spec import experiment_from_dict


def doc(method: str, samples: int, second_order: bool = False) -> dict:
    return {
        "experiment": {
            "name": "sa",
            "scenario": "hangzhou",
            "replicates": 1,
            "root_seed": 31,
            "months": 6,
        },
        "levers": {"rate": {"path": "regions.hangzhou.policy.voucher_rate", "range": [0.0, 0.8]}},
        "uncertainties": {
            "add": {"path": "compute.project_return_sigma", "range": [0.3, 1.5]},
            "cash": {"path": "startups.founding_cash_yuan", "range": [5.0e5, 3.0e6]},
        },
        "design": {"method": method, "samples": samples, "second_order": second_order},
        "outcomes": {"summary": ["startups_alive_end"], "kpis": ["startups_alive"]},
    }


def fake_summary(exp, fn) -> pd.DataFrame:
    """A sweep summary whose outcome is a known function of the design points."""
    X = exp.sample_matrix
    return pd.DataFrame(
        {
            "point": np.arange(len(X)),
            "replicate": 0,
            "status": "ok",
            "startups_alive_end": fn(X),
        }
    )


def ishigami(X: np.ndarray) -> np.ndarray:
    u = (X - X.min(axis=0)) / np.ptp(X, axis=0) * 2 * np.pi - np.pi
    return np.sin(u[:, 0]) + 7 * np.sin(u[:, 1]) ** 2 + 0.1 * u[:, 2] ** 4 * np.sin(u[:, 0])


def test_sobol_sample_and_indices_are_salibs_own_with_second_order():
    from SALib.analyze import sobol
    from SALib.sample import sobol as sobol_sample

    exp = experiment_from_dict(doc("sobol", 64, second_order=True))
    prob = problem(exp.parameters)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = sobol_sample.sample(prob, 64, calc_second_order=True, seed=31)
    np.testing.assert_array_equal(exp.sample_matrix, own)
    Y = ishigami(exp.sample_matrix)
    table, notes = analyse(exp, fake_summary(exp, ishigami), "sobol", 0.9)
    ref = sobol.analyze(prob, Y, calc_second_order=True, conf_level=0.9, seed=31)
    first = table[~table["parameter"].str.contains(" × ")].set_index("parameter").loc[prob["names"]]
    np.testing.assert_allclose(first["S1"], ref["S1"])
    np.testing.assert_allclose(first["ST"], ref["ST"])
    np.testing.assert_allclose(first["S1_conf"], ref["S1_conf"])  # same bootstrap seed
    pairs = table[table["parameter"].str.contains(" × ")].set_index("parameter")
    assert list(pairs.index) == ["rate × add", "rate × cash", "add × cash"]
    assert pairs.loc["rate × cash", "S2"] == pytest.approx(ref["S2"][0, 2])
    assert pairs.loc["add × cash", "S2_conf"] == pytest.approx(ref["S2_conf"][1, 2])
    assert (table["N"] == 64).all() and (table["conf_level"] == 0.9).all()
    assert (table["bootstrap_seed"] == 31).all() and (table["method"] == "sobol").all()
    # N = 64 is far below what Sobol' needs: flagged, with a power of two to use instead
    assert any("use at least N = " in n and "below the usual minimum of 512" in n for n in notes)
    need = int(next(n for n in notes if "use at least" in n).split("N = ")[-1].split(" ")[0])
    assert need >= 512 and need & (need - 1) == 0


@pytest.mark.parametrize("method", ["fast", "delta", "pawn", "morris"])
def test_other_methods_give_salibs_numbers(method):
    from SALib import analyze

    n = {"fast": 129, "delta": 50, "pawn": 300, "morris": 20}[method]
    exp = experiment_from_dict(doc(method, n))
    prob = problem(exp.parameters)
    X = exp.sample_matrix
    np.testing.assert_array_equal(X, salib_sample(exp.parameters, method, n, 31))
    Y = ishigami(X)
    table, _ = analyse(exp, fake_summary(exp, ishigami), method)
    t = table.set_index("parameter").loc[prob["names"]]
    mod = getattr(analyze, method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "fast":
            ref = mod.analyze(prob, Y, M=4, conf_level=0.95, seed=31)
            np.testing.assert_allclose(t["S1"], ref["S1"])
            np.testing.assert_allclose(t["ST"], ref["ST"])
        elif method == "delta":
            ref = mod.analyze(prob, X, Y, conf_level=0.95, seed=31, method="all")
            np.testing.assert_allclose(t["delta"], ref["delta_raw"])
            np.testing.assert_allclose(t["delta_conf"], ref["delta_raw_conf"])
            np.testing.assert_allclose(t["delta_balanced"], ref["delta_balanced"])
            np.testing.assert_allclose(t["S1"], ref["S1"])
        elif method == "pawn":
            ref = mod.analyze(prob, X, Y, S=10, seed=31)
            np.testing.assert_allclose(t["median"], ref["median"])
        else:
            ref = mod.analyze(prob, X, Y, conf_level=0.95, num_levels=4, seed=31)
            np.testing.assert_allclose(t["mu_star"], ref["mu_star"])
    # the influential parameters of the Ishigami function rank first
    ranked = table.sort_values("rank")["parameter"].tolist()
    assert ranked[-1] == "cash" or method in ("pawn", "delta")


def test_no_warning_when_indices_are_tight():
    table = pd.DataFrame(
        {
            "outcome": "y",
            "parameter": ["a", "b"],
            "S1": [0.6, 0.3],
            "S1_conf": [0.02, 0.02],
            "ST": [0.65, 0.35],
            "ST_conf": [0.03, 0.04],
        }
    )
    assert reliability_warnings(table, "sobol", 1024) == []
    wide = table.assign(ST_conf=[0.4, 0.1])
    (msg,) = reliability_warnings(wide, "sobol", 1024)
    assert "±0.4" in msg and "use at least N = 16384" in msg  # 1024·(0.4/0.1)² = 16384


def test_sensitivity_command_with_samples_second_order_and_salib_numbers(tmp_path, capsys):
    """The CLI on the model: --samples 3 becomes 4 (power of two) with a note; S2 reported;
    the written indices are SALib's on the sweep's own outcomes."""
    import tomli_w
    from SALib.analyze import sobol

    d = doc("sobol", 2)
    d["uncertainties"].pop("cash")
    f = tmp_path / "sa.toml"
    f.write_text(tomli_w.dumps(d))
    out = tmp_path / "res"
    code = main(
        [
            "sensitivity",
            str(f),
            "--method",
            "sobol",
            "--samples",
            "3",
            "--second-order",
            "--confidence",
            "0.9",
            "--out",
            str(out),
            "--workers",
            "1",
            "--quiet",
        ]
    )
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert "note: sobol needs N a power of two: N = 3 rounded up to 4" in cap.err
    assert "rate × add" in cap.out and "S2" in cap.out
    assert "bootstrap seed 31" in cap.out and "confidence 0.9" in cap.out
    assert "warning: startups_alive_end: indices unreliable" in cap.out
    table = pd.read_parquet(out / "sensitivity_sobol.parquet")
    summary = pd.read_parquet(out / "summary.parquet")
    assert len(summary) == 4 * (2 * 2 + 2)
    Y = summary.sort_values("point")["startups_alive_end"].to_numpy(float)
    prob = {"num_vars": 2, "names": ["rate", "add"], "bounds": [[0.0, 0.8], [0.3, 0.8]]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sobol.analyze(prob, Y, calc_second_order=True, conf_level=0.9, seed=31)
    first = table[table["parameter"].isin(["rate", "add"])].set_index("parameter")
    np.testing.assert_allclose(first.loc[["rate", "add"], "ST"], ref["ST"])
    assert table.loc[table["parameter"] == "rate × add", "S2"].item() == pytest.approx(
        ref["S2"][0, 1], nan_ok=True
    )
    assert main(["sensitivity", str(f), "--method", "morris", "--second-order"]) == 2
    assert "--second-order" in capsys.readouterr().err
