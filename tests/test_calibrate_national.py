"""Stage C of the staged calibration (design §9.6; docs/calibration-method.md, "Stage C"): the
kernel, the effective sample size and the weighted quantiles against closed-form answers; the
national statistics on a synthetic KPI table; ``aieco calibrate national`` end to end on a few
half-year national runs (failures recorded, --resume, a larger --budget extends it, the file is
a posterior ``--posterior FILE`` reads); bad input is one line and exit 2."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import erf

import experiments.calibrate_national as nat
import experiments.runner as runner
from experiments.cli import main
from experiments.inference import read_posterior
from experiments.uncertainty import POSTERIOR_DIR

B, H = nat.BOUND, nat.BANDWIDTH


# --------------------------------------------------------------------------------------------
# The reweighting: known answers
# --------------------------------------------------------------------------------------------
def test_the_kernel_is_one_below_the_bound_and_a_gaussian_tail_in_log_above():
    x = np.array([0.0, 0.5 * B, B, B * math.exp(H), B * math.exp(2 * H), math.nan])
    np.testing.assert_allclose(
        nat.bound_kernel(x), [1, 1, 1, math.exp(-0.5), math.exp(-2.0), 0], rtol=1e-12
    )
    # bandwidth 0: ABC rejection
    np.testing.assert_array_equal(nat.bound_kernel(x, bandwidth=0.0), [1, 1, 1, 0, 0, 0])
    with pytest.raises(ValueError):
        nat.bound_kernel(x, bound=0.0)


def test_kish_ess_known_values():
    assert nat.kish_ess(np.ones(200)) == pytest.approx(200)
    assert nat.kish_ess([0, 0, 3.0, 0]) == pytest.approx(1)
    assert nat.kish_ess([1, 1, 2, 2]) == pytest.approx(36 / 10)
    assert nat.kish_ess([0, 0]) == 0.0
    assert nat.kish_ess(np.r_[np.ones(40), np.zeros(160)]) == pytest.approx(40)


def test_reweighting_a_uniform_ratio_matches_the_closed_form():
    # ratios uniform on (0, 2B) (a fine midpoint grid: the integrals below to ~1e-9)
    n = 200_000
    r = (np.arange(n) + 0.5) / n * 2 * B
    rw = nat.reweight(pd.DataFrame({"zhejiang_revenue_ratio_y1": r}))
    # x = B e^{h z}: ∫_B^{2B} w dx = B h e^{h²/2} √(π/2) [erf((U - h)/√2) + erf(h/√2)],
    # ∫ w² dx = B h e^{h²/4} (√π/2) [erf(U - h/2) + erf(h/2)], U = ln 2 / h
    u = math.log(2) / H
    i1 = B * H * math.exp(H**2 / 2) * math.sqrt(math.pi / 2)
    i1 *= erf((u - H) / math.sqrt(2)) + erf(H / math.sqrt(2))
    i2 = B * H * math.exp(H**2 / 4) * math.sqrt(math.pi) / 2
    i2 *= erf(u - H / 2) + erf(H / 2)
    mean_w, mean_w2 = (B + i1) / (2 * B), (B + i2) / (2 * B)
    assert rw.kernel.mean() == pytest.approx(mean_w, rel=1e-6)
    assert rw.ess / n == pytest.approx(mean_w**2 / mean_w2, rel=1e-6)
    assert rw.weight.sum() == pytest.approx(1.0) and rw.n == n and rw.adequate


def test_abc_rejection_gives_the_truncated_distribution():
    # θ uniform on (0, 1), statistic 2Bθ: rejection at B keeps θ < 1/2, median 1/4, ESS n/2
    rng = np.random.default_rng(7)
    theta = rng.random(20_000)
    k = nat.bound_kernel(2 * B * theta, bandwidth=0.0)
    w = k / k.sum()
    assert nat.kish_ess(k) == pytest.approx(k.sum())
    assert abs(nat.kish_ess(k) / len(theta) - 0.5) < 0.02
    lo, med, hi = nat.weighted_quantile(theta, [0.05, 0.5, 0.95], w)
    assert med == pytest.approx(0.25, abs=0.01)
    assert lo == pytest.approx(0.025, abs=0.01) and hi == pytest.approx(0.475, abs=0.01)


def test_weighted_quantile():
    x = np.array([3.0, 1.0, 2.0, 4.0, math.nan])
    np.testing.assert_allclose(
        nat.weighted_quantile(x, [0.25, 0.5, 0.75]),
        np.quantile(x[:4], [0.25, 0.5, 0.75], method="hazen"),
    )
    # zero weight drops a value; a heavy value pulls the median toward it: masses 1, 1, 1, 10
    # on 1, 2, 3, 4 put their midpoints at 0.5, 1.5, 2.5, 8 (of 13): q = 6.5 / 13 lies 4 / 5.5
    # of the way from 3 to 4
    assert nat.weighted_quantile(x, 0.5, [1, 1, 1, 0, 1])[0] == pytest.approx(2.0)
    assert nat.weighted_quantile(x, 0.5, [1, 1, 1, 10, 1])[0] == pytest.approx(3 + 4 / 5.5)
    assert math.isnan(nat.weighted_quantile([math.nan], 0.5)[0])


def test_national_statistics_of_a_synthetic_kpi_table():
    rows = []
    cities = ["beijing", "shanghai", "shenzhen", "hangzhou", "guangzhou", "ningbo", "wenzhou"]
    for month in range(24):
        late = month >= 12
        rev = {"hangzhou": 10.0, "ningbo": 2.0, "wenzhou": 1.0} if not late else {
            "hangzhou": 10.0, "ningbo": 0.5, "wenzhou": 0.5}  # fmt: skip
        vc = dict.fromkeys(cities, 1.0) | {"beijing": 4.0 if late else 14.0}
        for c in cities:
            rows.append(
                {
                    "month": month,
                    "region": c,
                    "revenue_yuan": rev.get(c, 5.0),
                    "vc_raised_yuan": vc[c],
                }  # fmt: skip
            )
    rows.append({"month": 3, "region": "gui_an", "revenue_yuan": 0.0, "vc_raised_yuan": 0.0})
    s = nat.national_statistics(pd.DataFrame(rows), cities, 24)
    assert s["zhejiang_revenue_ratio_y1"] == pytest.approx(0.3)
    assert s["ningbo_revenue_ratio_y1"] == pytest.approx(0.2)
    assert s["wenzhou_revenue_ratio_y1"] == pytest.approx(0.1)
    assert s["zhejiang_revenue_ratio_end"] == pytest.approx(0.1)
    # last 12 months: beijing 4 of 10; top 5 = 4 + 4 × 1 of 10. Year 1: beijing 14 of 20.
    assert s["vc_beijing_share"] == pytest.approx(0.4)
    assert s["vc_top5_share"] == pytest.approx(0.8)
    assert s["vc_beijing_share_y1"] == pytest.approx(0.7)
    assert s["vc_top5_share_y1"] == pytest.approx(18 / 20)
    # no Hangzhou revenue: no ratio (and weight 0); no Beijing: no 5b
    rest = [c for c in cities if c not in ("hangzhou", "beijing")]
    s = nat.national_statistics(pd.DataFrame(rows).query("region != 'hangzhou'"), rest, 24)
    assert math.isnan(s["zhejiang_revenue_ratio_y1"]) and math.isnan(s["vc_beijing_share"])
    assert nat.reweight(pd.DataFrame([s])).kernel[0] == 0.0


def test_the_held_out_patterns_never_weight():
    held = {s.name for s in nat.STATISTICS if s.role == "held out"}
    assert {"vc_top5_share", "vc_beijing_share"} <= held
    assert not held & set(nat.WEIGHTING)
    assert nat.WEIGHTING == ("zhejiang_revenue_ratio_y1",)


# --------------------------------------------------------------------------------------------
# aieco calibrate national, end to end (half-year national runs)
# --------------------------------------------------------------------------------------------
NAT = ["calibrate", "national", "--months", "6", "--workers", "1", "--quiet"]


def test_calibrate_national_end_to_end(tmp_path, monkeypatch, capsys):
    out = tmp_path / "c"
    real = nat.national_statistics
    calls = []

    def second_fails(kpis, cities, months):
        calls.append(months)
        if len(calls) == 2:
            raise RuntimeError("boom (test)")
        return real(kpis, cities, months)

    # 1. one run fails: recorded with its seed and error, the others go on, exit 1
    monkeypatch.setattr(nat, "national_statistics", second_fails)
    assert main([*NAT, "--budget", "3", "--out", str(out)]) == 1
    text = capsys.readouterr().out
    assert "Effective sample size (Kish)" in text and "below 50" in text
    df, rec = read_posterior(out / "national.parquet")
    assert list(df["status"]) == ["ok", "failed", "ok"]
    assert "boom (test)" in df["error"].iloc[1] and df["seed"].iloc[1] == nat.run_seeds(3)[1]
    assert df["weight"].iloc[1] == 0 and df["weight"].sum() == pytest.approx(1.0)
    assert rec["failed"] == 1 and rec["ok"] == 2 and rec["git_revision"]
    assert [t["name"] for t in rec["targets"]] == ["zhejiang_revenue_ratio_y1"]
    assert {h["name"] for h in rec["held_out"]} >= {"vc_top5_share", "vc_beijing_share"}
    assert rec["ess"] == pytest.approx(nat.kish_ess(df["kernel"]))
    assert (out / "report.md").is_file() and (out / "report.csv").is_file()
    # seeds: one per draw, from the root seed; the draws are stage A's rows joined with the
    # cities' stage-B samples of the same stage-A row
    assert list(df["seed"]) == nat.run_seeds(3) and len(set(df["seed"])) == 3
    hz, _ = read_posterior(POSTERIOR_DIR / "hangzhou.parquet")
    bj, _ = read_posterior(POSTERIOR_DIR / "beijing.parquet")
    rows = df[nat.POSTERIOR_ROW].to_numpy()
    np.testing.assert_allclose(df["nest_rho"], hz["nest_rho"].to_numpy()[rows])
    by_row = bj.drop_duplicates("core_row").set_index("core_row")
    np.testing.assert_allclose(
        df["market_potential_yuan_per_year_beijing"],
        by_row["market_potential_yuan_per_year"].reindex(rows).to_numpy(),
    )

    # 2. without --resume the folder is refused; --resume with a larger budget runs only the
    #    failed draw and the new one, and leaves finished runs alone
    monkeypatch.setattr(nat, "national_statistics", real)
    assert main([*NAT, "--budget", "3", "--out", str(out)]) == 2
    capsys.readouterr()
    ran = []
    real_run_one = runner.run_one
    monkeypatch.setattr(
        runner, "run_one", lambda t, *a, **k: ran.append(t.point) or real_run_one(t, *a, **k)
    )
    assert main([*NAT, "--budget", "4", "--out", str(out), "--resume"]) == 0
    assert sorted(ran) == [1, 3]
    df2, rec2 = read_posterior(out / "national.parquet")
    assert list(df2["status"]) == ["ok"] * 4 and rec2["design_hash"] == rec["design_hash"]
    for col in ("seed", "nest_rho", "zhejiang_revenue_ratio_y1", "vc_top5_share"):
        np.testing.assert_array_equal(df2[col].to_numpy()[[0, 2]], df[col].to_numpy()[[0, 2]])

    # 3. the file is a posterior that --posterior FILE reads: rows ∝ weight, all parameters
    from ecosystem.scenario import load_document
    from experiments.uncertainty import make_design

    design = make_design(load_document("china"), 6, 1, 0, "hangzhou", str(out / "national.parquet"))
    assert set(design.posterior_names) == {p.name for p in design.priors if not p.same_as}
    picked = design.table["posterior_row"].to_numpy()
    np.testing.assert_allclose(
        design.table["initial_startups_ningbo"], df2["initial_startups_ningbo"].to_numpy()[picked]
    )


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--budget", "0"], "--budget"),
        (["--infer"], "--infer"),
        (["--ppc", "3"], "--ppc"),
        (["--method", "rejection"], "--method"),
        (["--condition", "band"], "--condition"),
        (["--stage-a-budget", "20"], "--stage-a-budget"),
        (["--workers", "0"], "--workers"),
        (["--workers", "2", "--scheduler", "tcp://x:1"], "--workers"),
        (["--months", "0"], "--months"),
        (["--scheduler", "nonsense"], "--scheduler"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, field):
    code = main(["calibrate", "national", "--out", str(tmp_path / "o"), *argv])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and err.startswith("error: ") and field in err
    assert not (tmp_path / "o").exists()


def test_an_out_that_is_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["calibrate", "national", "--out", str(f), "--budget", "1"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: --out")


def test_the_stage_a_posterior_is_required(monkeypatch, tmp_path, capsys):
    import experiments.uncertainty as unc

    monkeypatch.setattr(unc, "POSTERIOR_DIR", Path(tmp_path))  # no shipped posteriors
    assert main(["calibrate", "national", "--out", str(tmp_path / "o"), "--budget", "1"]) == 2
    assert "stage-A posterior" in capsys.readouterr().err


def test_every_national_statistic_is_defined_in_the_method_page():
    root = Path(__file__).resolve().parent.parent
    page = (root / "docs" / "calibration-method.md").read_text(encoding="utf-8")
    section = page.split("## Stage C")[1].split("\n## ")[0]
    for name in nat.STATISTIC_NAMES:
        assert f"`{name}`" in section, name
    assert f"h = {nat.BANDWIDTH}" in section and "0.43" in section


def test_an_interrupted_stage_c_writes_a_partial_result_and_resumes(tmp_path, monkeypatch, capsys):
    out = tmp_path / "c"
    real_run_one, ran = runner.run_one, []

    def interrupt_second(task, *a, **k):
        ran.append(task.point)
        if len(ran) == 2:
            raise KeyboardInterrupt
        return real_run_one(task, *a, **k)

    monkeypatch.setattr(runner, "run_one", interrupt_second)
    assert main([*NAT, "--budget", "2", "--out", str(out)]) == 130
    assert "--resume" in capsys.readouterr().err
    df, rec = read_posterior(out / "national.parquet")  # written on the way out
    assert list(df["status"]) == ["ok", "pending"] and rec["pending"] == 1
    assert "partial result" in (out / "report.md").read_text(encoding="utf-8")
    ran.clear()
    monkeypatch.setattr(
        runner, "run_one", lambda t, *a, **k: ran.append(t.point) or real_run_one(t, *a, **k)
    )
    assert main([*NAT, "--budget", "2", "--out", str(out), "--resume"]) == 0
    assert ran == [1]
    df, rec = read_posterior(out / "national.parquet")
    assert list(df["status"]) == ["ok", "ok"] and rec["pending"] == 0
