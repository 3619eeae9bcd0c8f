"""Inference on the calibration store (``aieco calibrate ... --infer``, issue 11.2): the NaN
policies on hand-built rows, the θ <-> unit-box map, and the command end to end on a small store
of the reduced SBC problem — the posterior file and its record, determinism, the posterior
predictive check, refusal without the optional extra. The posterior's quality is the SBC test's
job (tests/test_sbc.py); here a store of 40 simulations only exercises the plumbing."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import experiments.inference as inf
from experiments.cli import main

ROOT = Path(__file__).resolve().parent.parent
SBC_SPEC = ROOT / "tests" / "calibration" / "sbc.toml"

PRIORS = [
    {"name": "a", "path": "x.a", "prior": "uniform", "low": 1.0, "high": 3.0},
    {"name": "b", "path": "x.b", "prior": "log_uniform", "low": 0.01, "high": 1.0},
]


def _info(observed=(0.5, 2.0, None)) -> dict:
    names = ("s1", "s2", "s3")
    return {
        "name": "t",
        "parameters": PRIORS,
        "statistics": [
            {"name": n, "observed": o, "low": o, "high": o, "unit": "", "source": "x"}
            for n, o in zip(names, observed, strict=True)
        ],
    }


def _rows() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 50
    df = pd.DataFrame(
        {
            "status": ["ok"] * (n - 2) + ["failed"] * 2,
            "a": rng.uniform(1, 3, n),
            "b": np.exp(rng.uniform(math.log(0.01), 0, n)),
            "s1": rng.normal(size=n),
            "s2": rng.normal(size=n),
            "s3": np.full(n, 4.0),
        }
    )
    df.loc[[3, 7], "s2"] = np.nan  # undefined in two ok simulations
    df.loc[[48, 49], ["s1", "s2", "s3"]] = np.nan  # the failed ones define nothing
    return df


def test_unit_box_round_trip_and_log_prior():
    theta = np.array([[1.0, 0.01], [2.0, 0.1], [3.0, 1.0]])
    u = inf.to_unit(theta, PRIORS)
    np.testing.assert_allclose(u, [[0, 0], [0.5, 0.5], [1, 1]], atol=1e-12)
    np.testing.assert_allclose(inf.from_unit(u, PRIORS), theta)


def test_nan_policy_indicator_keeps_failed_runs_and_flags_missing_values():
    ts = inf.training_set(_rows(), _info(), statistics=["s1", "s2", "s3"], nan="indicator")
    enc = ts.encoding
    # s2 is imputed and flagged; s1 is missing only in failed runs: flagged too; s3 is constant
    # among the simulations that define it, so only its indicator (= failed) carries anything
    assert enc.columns == ["s1", "s1__missing", "s2", "s2__missing", "s3__missing"]
    assert enc.dropped == {"s3": "constant over the training set"}
    assert ts.used == 50 and ts.failed == 2
    assert set(ts.failed_where) == {"a", "b"}
    assert np.isfinite(ts.x).all()
    np.testing.assert_allclose(ts.x.mean(axis=0), 0, atol=1e-12)
    # an observation where everything is defined has every indicator at 0 (before scaling)
    x = enc.encode(np.array([[0.1, 0.2, 4.0]])) * enc.std + enc.mean
    assert x[0, [1, 3, 4]].tolist() == [0.0, 0.0, 0.0]


def test_nan_policy_drop_drops_the_statistic_and_the_failed_runs():
    ts = inf.training_set(_rows(), _info(), statistics=["s1", "s2"], nan="drop")
    assert ts.encoding.columns == ["s1"]
    assert "s2" in ts.encoding.dropped and ts.used == 48


def test_default_statistics_are_those_with_an_observed_value():
    ts = inf.training_set(_rows(), _info())
    assert ts.encoding.statistics == ["s1", "s2"]
    with pytest.raises(Exception, match="nan"):
        inf.training_set(_rows(), _info(), nan="zero")


def test_binomial_band_matches_the_design():
    assert inf.binomial_band(500) == (432, 466)  # docs/design/causal-core.md §8.2


# --------------------------------------------------------------------------------------------
# The command, end to end (needs the extra `calibrate`, which CI installs)
# --------------------------------------------------------------------------------------------
ARGS = ["--workers", "1", "--quiet", "--ensemble", "2", "--samples", "300"]


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    assert inf.available(), "torch and sbi are missing: " + inf.REINSTALL
    out = tmp_path_factory.mktemp("inf") / "store"
    argv = ["calibrate", str(SBC_SPEC), "--budget", "40", "--out", str(out), *ARGS]
    assert main(argv) == 0
    return out


def test_budget_builds_the_store_and_writes_the_posterior(calibrated, capsys):
    draws = inf.load_posterior(calibrated / "posterior.parquet")
    assert list(draws.columns) == [
        "founding_cash_yuan",
        "cluster_elasticity",
        "other_founding_per_year",
    ]
    assert len(draws) == 300
    meta = draws.attrs["posterior"]
    for p in meta["parameters"]:
        assert draws[p["name"]].between(p["low"], p["high"]).all()
    from experiments.calibrate import load_spec

    spec = load_spec(SBC_SPEC)
    assert meta["spec_hash"] == spec.spec_hash and meta["target_set"] == spec.target_set
    assert meta["nan_policy"] == "indicator" and meta["libraries"]["sbi"] != "absent"
    assert meta["git_revision"] and meta["store_git_revisions"]
    assert len(meta["ensemble"]) == 2 and meta["simulations"] == 40
    assert set(meta["observed"]) == {"survival_1y", "founders_big_or_famous"}
    assert draws.attrs["paths"]["cluster_elasticity"] == "labour.cluster_elasticity"


def test_infer_again_gives_the_same_posterior_bit_for_bit(calibrated, capsys, tmp_path):
    again = tmp_path / "again.parquet"
    argv = ["calibrate", str(SBC_SPEC), "--infer", "--out", str(calibrated)]
    assert main([*argv, "--posterior", str(again), *ARGS]) == 0
    out = capsys.readouterr().out
    assert f"posterior: {again}" in out and "| parameter |" in out
    pd.testing.assert_frame_equal(
        inf.load_posterior(again), inf.load_posterior(calibrated / "posterior.parquet")
    )


def test_another_npe_seed_refits_the_same_store(calibrated, capsys, tmp_path):
    """--npe-seed: the same simulations, another training seed: another posterior (the fitting
    noise docs/calibration.md measures), recorded in its metadata; the default is the spec's
    root seed."""
    first = inf.load_posterior(calibrated / "posterior.parquet")
    other = tmp_path / "seed7.parquet"
    argv = ["calibrate", str(SBC_SPEC), "--infer", "--out", str(calibrated), "--npe-seed", "7"]
    assert main([*argv, "--posterior", str(other), *ARGS]) == 0
    refit = inf.load_posterior(other)
    from experiments.calibrate import load_spec

    assert first.attrs["posterior"]["seed"] == load_spec(SBC_SPEC).meta.root_seed
    assert refit.attrs["posterior"]["seed"] == 7
    assert refit.attrs["posterior"]["store"] == first.attrs["posterior"]["store"]
    assert not np.allclose(refit.to_numpy(), first.to_numpy())


def test_posterior_predictive_check_writes_and_prints_a_table(calibrated, capsys):
    argv = ["calibrate", str(SBC_SPEC), "--ppc", "4", "--out", str(calibrated), *ARGS[:3]]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Posterior predictive of `sbc`" in out and "Targets outside the 90%" in out
    ppc = next(calibrated.glob("ppc_*"))
    table = pd.read_csv(ppc / "ppc.csv")
    assert set(table["statistic"]) >= {"survival_1y", "founders_big_or_famous"}
    assert (table["n"] <= 4).all() and (ppc / "ppc.md").is_file()
    # beside each posterior median, the median of the store's prior simulations nearest the
    # targets (the rejection-ABC reference of --summary), from the store the posterior came from
    from experiments.calibrate import joint_reach, load_spec, read_store

    assert "nearest simulations of the store |" in out and "Last column: the median over" in out
    reach = joint_reach(read_store(calibrated)[0], load_spec(SBC_SPEC).describe())
    got = table.set_index("statistic")["store_nearest_median"]
    np.testing.assert_allclose(got, [reach["nearest_median"][k] for k in got.index])
    # the check re-simulates posterior draws: its θ are the posterior's first rows
    from experiments.calibrate import store_frame

    spec = load_spec(SBC_SPEC)
    post = inf.load_posterior(calibrated / "posterior.parquet")
    runs = store_frame(
        ppc, spec, spec.experiment(4, X=post.iloc[:4].to_numpy(), tag=ppc.name[4:]).design_hash
    )
    np.testing.assert_allclose(runs[post.columns].to_numpy(), post.iloc[:4].to_numpy())


@pytest.mark.parametrize(
    "extra, field",
    [
        (["--infer", "--budget", "3"], "--infer"),
        (["--ensemble", "0", "--infer"], "--ensemble"),
        (["--npe-seed", "-1", "--infer"], "--npe-seed"),
        (["--ppc", "3", "--posterior", "nowhere.parquet"], "--posterior"),
        (["--store-only"], "--store-only"),
        (["--infer", "--ppc", "2"], "--infer"),
    ],
)
def test_bad_inference_options_exit_2_with_one_line(tmp_path, capsys, extra, field):
    argv = ["calibrate", str(SBC_SPEC), "--out", str(tmp_path / "o"), "--quiet", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and field in err


def test_without_the_extra_budget_refuses_before_simulating(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(inf, "available", lambda: False)
    out = tmp_path / "o"
    argv = ["calibrate", str(SBC_SPEC), "--budget", "2", "--out", str(out), "--quiet"]
    assert main([*argv, "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "calibrate" in err and "--store-only" in err and not out.exists()
    assert main([*argv, "--workers", "1", "--store-only"]) == 0
    assert (out / "store.parquet").is_file() and not (out / "posterior.parquet").exists()
    monkeypatch.undo()  # with the extra: 2 simulations are too few to learn from, said in a line
    capsys.readouterr()
    assert main(["calibrate", str(SBC_SPEC), "--infer", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        len(err.splitlines()) == 1 and "too few" in err and out.joinpath("store.parquet").is_file()
    )


class _Member:
    """A stand-in for one NPE of the ensemble: sample_batched gives ``value`` (a constant, or a
    function of (n, x)) in the shape sbi's DirectPosterior returns: (n, batch, d)."""

    def __init__(self, value):
        self.value = value

    def sample_batched(self, shape, x, show_progress_bars, reject_outside_prior):
        import torch

        assert reject_outside_prior is False  # the rejection is sample_unit_batched's own
        n, batch = shape[0], x.shape[0]
        if callable(self.value):
            return torch.as_tensor(self.value(n, x.numpy()))
        return torch.full((n, batch, 2), float(self.value), requires_grad=True)


def _ensemble(members, weights=None):
    from types import SimpleNamespace

    import torch

    w = torch.tensor(weights or [1.0 / len(members)] * len(members))
    mixture = SimpleNamespace(posteriors=members, weights=w)  # what is read of sbi's ensemble
    return inf.Ensemble(mixture, [], 0, None, [{"name": "a"}, {"name": "b"}])


def test_batched_samples_draw_each_samples_member_on_its_own():
    """With n = 1 (stage B's conditional posterior: one sample per θ_core row) each row's
    member is drawn on its own; sbi's ensemble drew one member for the whole batch."""
    pytest.importorskip("torch")
    ens = _ensemble([_Member(0.1), _Member(0.5), _Member(0.9)], [0.2, 0.3, 0.5])
    s = ens.sample_unit_batched(np.zeros((3000, 4)), 1)
    assert s.shape == (1, 3000, 2)
    values, counts = np.unique(s[0, :, 0].round(6), return_counts=True)
    assert values.tolist() == pytest.approx([0.1, 0.5, 0.9])
    assert counts / 3000 == pytest.approx([0.2, 0.3, 0.5], abs=0.03)  # the ensemble's weights
    assert (s[0, :, 0] == s[0, :, 1]).all()  # a sample's coordinates come from one member
    again = ens.sample_unit_batched(np.zeros((3000, 4)), 1)
    assert np.array_equal(s, again)  # seeded
    assert ens.sample_unit_batched(np.zeros((0, 4)), 5).shape == (5, 0, 2)  # no observation


def test_batched_samples_keep_only_the_prior_box_and_redraw_only_the_short():
    """Rejection to the unit box, per observation: an observation whose posterior has little
    mass inside gets its n samples by further rounds, without the others being drawn again."""
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    drawn = []

    def leaky(n, x):  # observation 0 (x = 0) puts 2% of its mass inside the box, the rest 90%
        drawn.append(x[:, 0].tolist())
        inside = np.where(x[:, 0] == 0, 0.02, 0.9)
        u = rng.random((n, len(x), 1))
        ok = rng.random((n, len(x))) < inside
        return np.concatenate([np.where(ok[..., None], u, u + 1.5)] * 2, axis=2)

    ens = _ensemble([_Member(leaky)])
    s = ens.sample_unit_batched(np.arange(5.0)[:, None] * np.ones((5, 3)), 200)
    assert s.shape == (200, 5, 2) and not np.isnan(s).any()
    assert ((s >= 0) & (s <= 1)).all()
    assert drawn[0] == [0, 1, 2, 3, 4] and drawn[-1] == [0]  # at last only the leaky one
    assert len(drawn) <= 6  # rounds of doubling size: 200 / 0.02 = 10,000 draws by round 6


def test_batched_samples_say_so_when_the_posterior_misses_the_prior_box():
    pytest.importorskip("torch")
    from ecosystem.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="inside the prior's box"):
        _ensemble([_Member(2.0)]).sample_unit_batched(np.zeros((2, 3)), 10)


# --------------------------------------------------------------------------------------------
# Conditioning on the targets' bands (--condition band)
# --------------------------------------------------------------------------------------------
def _banded(low=0.3, high=0.9, observed=0.5) -> dict:
    info = _info()
    info["statistics"][0].update(low=low, high=high, observed=observed)  # s1: a wide band
    return info  # s2: a point band (low = high = observed), s3: no observed value


def test_band_errors_are_uniform_on_the_band_seen_from_the_observation_or_normal():
    e = inf.band_errors(_banded(), ["s1", "s2"], 20_000, seed=7)
    # y = x + e = 0.5 exactly when x = 0.5 - e, so x = 0.5 - e must cover [0.3, 0.9] evenly
    x = 0.5 - e[:, 0]
    assert 0.3 <= x.min() < 0.301 and 0.899 < x.max() <= 0.9
    np.testing.assert_allclose(np.histogram(x, bins=6, range=(0.3, 0.9))[0] / 20_000, 1 / 6,
                               atol=0.01)  # fmt: skip
    assert (e[:, 1] == 0).all()  # a point band adds nothing
    np.testing.assert_array_equal(e, inf.band_errors(_banded(), ["s1", "s2"], 20_000, seed=7))
    assert not np.array_equal(e, inf.band_errors(_banded(), ["s1", "s2"], 20_000, seed=8))
    # normal: the band [0.3, 0.9] is the central 90% interval of an error centred on 0
    n = inf.band_errors(_banded(), ["s1", "s2"], 20_000, seed=7, kind="normal")
    assert abs(n[:, 0].mean()) < 0.01 and (n[:, 1] == 0).all()
    np.testing.assert_allclose(np.quantile(n[:, 0], [0.05, 0.95]), [-0.3, 0.3], atol=0.01)


def test_band_conditioning_moves_the_statistics_and_keeps_the_missing_ones_missing():
    point = inf.training_set(_rows(), _banded(), statistics=["s1", "s2", "s3"])
    band = inf.training_set(_rows(), _banded(), statistics=["s1", "s2", "s3"], condition="band")
    assert band.encoding.columns == point.encoding.columns  # the same missing values flagged
    s1 = point.encoding.columns.index("s1")
    raw = band.x[:, s1] * band.encoding.std[s1] + band.encoding.mean[s1]
    moved = raw - _rows()["s1"].fillna(point.encoding.fill["s1"]).to_numpy()
    ok = _rows()["s1"].notna().to_numpy()
    assert (moved[ok] >= 0.5 - 0.9 - 1e-9).all() and (moved[ok] <= 0.5 - 0.3 + 1e-9).all()
    assert np.ptp(moved[ok]) > 0.3
    with pytest.raises(Exception, match="condition"):
        inf.training_set(_rows(), _banded(), condition="exact")


def test_a_band_gives_the_posterior_of_the_statistic_lying_in_the_band():
    """A statistic without noise equal to θ: conditioned on its point the posterior sits at
    the point; conditioned on the band [1.8, 2.2] it spreads evenly over the band."""
    assert inf.available(), "torch and sbi are missing: " + inf.REINSTALL
    rng = np.random.default_rng(3)
    n = 600
    df = pd.DataFrame({"status": ["ok"] * n, "a": rng.uniform(1, 3, n),
                       "b": np.exp(rng.uniform(math.log(0.01), 0, n))})  # fmt: skip
    df["s1"], df["git_revision"] = df["a"], "x"
    info = {**_info(observed=(2.0, None, None)), "scenario": "t", "spec_hash": "h",
            "target_set": "t"}  # fmt: skip
    info["statistics"][0].update(low=1.8, high=2.2)
    q = {}
    for condition in ("point", "band"):
        draws, record = inf.infer(df, info, ensemble=1, samples=4000, seed=0, condition=condition)
        q[condition] = np.quantile(draws["a"], [0.05, 0.5, 0.95])
        assert record["conditioning"] == condition
    assert q["point"][2] - q["point"][0] < 0.2  # 0.155 here: one small flow is not a spike
    lo, mid, hi = q["band"]  # U(1.8, 2.2) would give 1.82, 2.00, 2.18
    assert 1.75 < lo < 1.9 and 1.93 < mid < 2.07 and 2.1 < hi < 2.28 and hi - lo > 0.3
