"""Out-of-sample validation (issue 11 point 3, ``experiments/validation.py``): each held-out
pattern of docs/validation.md computed on small synthetic tables whose answer is known, a case
that fails its band, the summary's PASS / FAIL / not evaluable, the report section, the command
line's bad input and one short end-to-end run on the tiny preset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import validation as val
from experiments.cli import main

ROOT = Path(__file__).resolve().parent.parent
TINY = str(ROOT / "tests" / "presets" / "tiny.toml")


def firms(rows: list[dict]) -> pd.DataFrame:
    """A firms table with the written schema's columns the patterns read."""
    base = {
        "org_id": "",
        "region": "hangzhou",
        "founded_month": 0,
        "exit_month": np.nan,
        "status": "alive",
        "origin": "other",
        "founder_alumni": None,
        "stage": "bootstrap",
        "headcount": 5,
        "venture_track": False,
    }
    out = pd.DataFrame([{**base, "org_id": f"startup:{i}", **r} for i, r in enumerate(rows)])
    for c in ("region", "status", "origin", "founder_alumni", "stage"):
        out[c] = out[c].astype("category")
    return out


# --- Pattern 1: Kaplan–Meier with left truncation -----------------------------------------------
def test_survival_counts_shutdowns_and_keeps_acquired_firms_alive():
    f = firms(
        [{"exit_month": 6, "status": "failed"}] * 5
        + [{"exit_month": 3, "status": "acquired"}] * 5
        + [{}] * 10
    )
    s = val.km_survival(f, 24, [6, 7, 24], cohorts_only=True)
    assert s[6] == 1.0
    assert s[7] == pytest.approx(15 / 20)
    assert s[24] == pytest.approx(15 / 20)


def test_survival_left_truncates_the_stock():
    # 10 stock firms enter at age 30 (founded 30 months before the run); 5 close at age 40
    stock = [{"founded_month": -30, "exit_month": 10, "status": "closed"}] * 5 + [
        {"founded_month": -30}
    ] * 5
    # in a 24-month run the cohorts reach age 23 only: ages 24..29 have nobody at risk
    short = firms(stock + [{"founded_month": 0}] * 10)
    assert np.isnan(val.km_survival(short, 24, [41], cohorts_only=False)[41])
    # in a 60-month run they cover ages 0..59: at age 40, 20 at risk (10 stock + 10 cohort)
    f = firms(stock + [{"founded_month": 0}] * 10)
    s = val.km_survival(f, 60, [30, 40, 41], cohorts_only=False)
    assert s[30] == s[40] == 1.0
    assert s[41] == pytest.approx(1 - 5 / 20)
    # the stock's closures before its entry age would not count; the cohorts alone never close
    assert val.km_survival(f, 60, [41], cohorts_only=True)[41] == 1.0


def test_survival_ratio_fails_its_band_when_late_failures_are_too_many():
    # 100 firms founded in month 0, observed 121 months: 50 fail at age 30, 40 more at age 100
    f = firms(
        [{"exit_month": 30, "status": "failed"}] * 50
        + [{"exit_month": 100, "status": "failed"}] * 40
        + [{}] * 10
    )
    ratio = val.survival_ratio(f, 121, cohorts_only=True)
    assert ratio == pytest.approx(0.10 / 0.50)
    assert not val.BY_KEY["1a"].inside(ratio)
    assert val.BY_KEY["1a"].inside(0.67)


# --- Pattern 2 ------------------------------------------------------------------------------------
def test_exit_ages_share_within_five_years_and_mean():
    f = firms(
        [
            {"founded_month": 0, "exit_month": 12, "status": "failed"},
            {"founded_month": -60, "exit_month": 24, "status": "acquired"},  # age 84: stock
            {"founded_month": 10, "exit_month": 34, "status": "closed"},
            {"founded_month": 0, "exit_month": 50, "status": "listed"},  # not an exit here
            {"founded_month": 0},
        ]
    )
    share, mean = val.exit_ages(f, cohorts_only=False)
    assert share == pytest.approx(2 / 3)
    assert mean == pytest.approx((12 + 84 + 24) / 3 / 12)
    assert val.exit_ages(f, cohorts_only=True)[0] == 1.0
    assert not val.BY_KEY["2b"].inside(1.0)


# --- Pattern 3 ------------------------------------------------------------------------------------
def test_hill_exponent_recovers_a_pareto_tail_and_fails_a_thin_one():
    rng = np.random.default_rng(1)
    zipf = (1 - rng.random(20_000)) ** (-1 / 1.2)
    assert val.hill_exponent(zipf) == pytest.approx(1.2, rel=0.1)
    thin = (1 - rng.random(20_000)) ** (-1 / 3.0)
    a = val.hill_exponent(thin)
    assert a == pytest.approx(3.0, rel=0.1)
    assert not val.BY_KEY["3"].inside(a)
    assert np.isnan(val.hill_exponent([5, 6, 7]))


def test_live_startup_sizes_use_the_startup_definition():
    f = firms([{"headcount": 2}, {"headcount": 3}, {"headcount": 9, "status": "acquired"}])
    assert list(val.live_startup_sizes(f, 3)) == [3.0]


# --- Pattern 4 ------------------------------------------------------------------------------------
def _firm_years(growth: np.ndarray, size0: np.ndarray, founded: np.ndarray):
    n = len(growth)
    fy = pd.DataFrame(
        {
            "org_id": [f"startup:{i}" for i in range(n)] * 2,
            "year": [2026] * n + [2027] * n,
            "headcount": np.concatenate([size0, np.maximum(1, size0 * np.exp(growth))]).round(),
            "alive": True,
        }
    )
    f = firms([{"founded_month": int(m)} for m in founded])
    return fy, f


def test_largest_startups_by_city_in_the_last_month():
    """Pattern 13: each city's largest startup in the last month (KPI largest_startup_staff), the
    cities over the line, and the leader's share of its city's startup employment."""
    k = pd.DataFrame(
        {
            "month": [0, 0, 0, 1, 1, 1, 1],
            "region": ["hangzhou", "beijing", "henan", "hangzhou", "beijing", "henan", "qingyang"],
            "largest_startup_staff": [90_000, 1, 1, 12_000, 800, 0, 50_000],
            "employment_startups": [100_000, 5, 5, 15_000, 1_000, 0, 60_000],
        }
    )
    got = val.largest_startups(k, ["hangzhou", "beijing", "henan"])
    assert got["largest_startup_staff"].to_dict() == {
        "hangzhou": 12_000.0, "beijing": 800.0, "henan": 0.0
    }  # fmt: skip
    assert not val.BY_KEY["13a"].inside(12_000) and val.BY_KEY["13a"].inside(6_113)
    assert val.BY_KEY["13b"].inside(1) and not val.BY_KEY["13b"].inside(2)


def test_growth_stats_laplace_tails_falling_with_size_and_age():
    rng = np.random.default_rng(2)
    n = 4000
    size0 = rng.integers(10, 5000, n).astype(float)
    founded = -rng.integers(0, 120, n)
    age = 2026 - (2025 + np.floor(founded / 12))
    g = rng.laplace(0, 0.3, n) - 0.05 * np.log(size0) - 0.02 * age
    fy, f = _firm_years(g, size0, founded)
    s = val.growth_stats(fy, f, 2025)
    assert s["kurtosis"] > 4.5  # Laplace: 6
    assert s["spearman_size"] < 0 and s["spearman_age"] < 0
    for key, name in (("4a", "kurtosis"), ("4b", "spearman_size"), ("4c", "spearman_age")):
        assert val.BY_KEY[key].inside(s[name])


def test_growth_stats_normal_growth_rising_with_size_fails():
    rng = np.random.default_rng(3)
    n = 4000
    size0 = rng.integers(10, 5000, n).astype(float)
    g = rng.normal(0, 0.2, n) + 0.1 * np.log(size0)
    fy, f = _firm_years(g, size0, -rng.integers(0, 120, n))
    s = val.growth_stats(fy, f, 2025)
    assert s["kurtosis"] == pytest.approx(3, abs=0.4)
    assert not val.BY_KEY["4b"].inside(s["spearman_size"])
    assert not val.BY_KEY["4a"].inside(3.0)  # registered strictly: > 3


# --- Patterns 5, 7, 8, 11: KPI tables ------------------------------------------------------------
def kpis(rows: dict[str, dict[str, float]], months: int = 24) -> pd.DataFrame:
    """Constant monthly KPIs per region."""
    out = []
    for region, cols in rows.items():
        for m in range(months):
            out.append({"month": m, "region": region, **cols})
    df = pd.DataFrame(out)
    df["region"] = df["region"].astype("category")
    return df


def test_vc_concentration_top5_and_beijing():
    money = {"beijing": 50, "shanghai": 20, "shenzhen": 10, "hangzhou": 10, "chengdu": 5,
             "wenzhou": 5}  # fmt: skip
    k = kpis({c: {"vc_raised_yuan": v} for c, v in money.items()})
    top5, bj = val.vc_concentration(k, list(money), 24)
    assert top5 == pytest.approx(0.95) and bj == pytest.approx(0.5)
    ten = [*money, "ningbo", "henan", "shandong", "guangzhou"]
    even = kpis({c: {"vc_raised_yuan": 1.0} for c in ten})
    top5, bj = val.vc_concentration(even, ten, 24)
    assert top5 == pytest.approx(0.5)
    assert not val.BY_KEY["5a"].inside(top5) and not val.BY_KEY["5b"].inside(bj)


def test_talent_tau_matches_and_reverses_the_observed_order():
    net = dict(zip(val.TALENT_ORDER, [50, 40, 30, 20, 10], strict=True))
    k = kpis({c: {"arrivals": 100 + v, "departures": 100} for c, v in net.items()})
    assert val.talent_tau(k) == 1.0
    k = kpis({c: {"arrivals": 100 - v, "departures": 100} for c, v in net.items()})
    assert val.talent_tau(k) == -1.0
    assert not val.BY_KEY["7"].inside(-1.0)
    # one swapped pair of ten: τ = 0.8
    assert val.kendall_tau({"a": 2, "b": 3, "c": 1}, ("a", "b", "c")) == pytest.approx(1 / 3)


def dcs(prices: dict[str, list[float]], sold: float = 100.0) -> pd.DataFrame:
    """Data centers (name → monthly price path), every month selling ``sold`` GPU-hours."""
    rows = []
    for name, path in prices.items():
        region = name.split("_")[0]
        for m, p in enumerate(path):
            rows.append({"month": m, "region": region, "data_center": f"data_center:{name}",
                         "sold_gpu_h": sold, "capacity_gpu_h": 2 * sold,
                         "price_yuan_per_gpu_h": p})  # fmt: skip
    return pd.DataFrame(rows)


def test_price_fall_year_one_to_two():
    dc = dcs({"beijing_a": [10.0] * 12 + [4.0] * 12})
    assert val.price_fall(dc) == pytest.approx(0.6)
    assert not val.BY_KEY["8a"].inside(val.price_fall(dcs({"beijing_a": [10.0] * 24})))
    assert np.isnan(val.price_fall(dcs({"beijing_a": [10.0] * 12})))


def test_voucher_cut_at_list_prices():
    # Beijing's firms buy 100 GPU-h at home (price 10), 50 in another city (price 20), 50 in
    # the west (price 4): cost 1000 + 1000 + 200 = 2200 a month; vouchers 330 a month: 15%.
    k = kpis(
        {
            "beijing": {
                "compute_sold_gpu_h": 200.0,
                "compute_bought_outside_gpu_h": 100.0,
                "compute_bought_west_gpu_h": 50.0,
                "voucher_spent_yuan": 330.0,
            }
        }
    )
    dc = dcs({"beijing_a": [10.0] * 24, "shanghai_a": [20.0] * 24, "qingyang_a": [4.0] * 24})
    cut = val.voucher_cut(k, dc, "beijing", ["beijing", "shanghai"], ["qingyang"])
    assert cut == pytest.approx(0.15)
    assert val.BY_KEY["8b"].inside(cut) and not val.BY_KEY["8b"].inside(0.5)


def test_west_utilization_in_year_five():
    k = kpis({"gui_an": {"dc_sold_gpu_h": 25.0, "dc_capacity_gpu_h": 100.0}}, months=60)
    assert val.west_utilization_year(k, ["gui_an"], 5) == pytest.approx(0.25)
    assert np.isnan(val.west_utilization_year(k, ["gui_an"], 6))
    assert not val.BY_KEY["11"].inside(0.9)


def test_cohort_drift_compares_late_with_early_one_year_survival():
    # 10 firms founded in run years 1-2, 2 of them shut within a year (S(1) = 0.8); 10 founded in
    # years 7-8, 5 shut within a year (S(1) = 0.5); one founded in year 4 and shut is in neither
    early = [{"founded_month": 5}] * 8 + [
        {"founded_month": 5, "exit_month": 10, "status": "failed"}
    ] * 2
    late = [{"founded_month": 80}] * 5 + [
        {"founded_month": 80, "exit_month": 85, "status": "closed"}
    ] * 5
    other = [{"founded_month": 40, "exit_month": 41, "status": "failed"}]
    drift = val.cohort_drift(firms(early + late + other), 120)
    assert drift == pytest.approx(0.5 - 0.8)
    assert not val.BY_KEY["12"].inside(drift) and val.BY_KEY["12"].inside(0.0)
    # a firm acquired within its first year survives it; no late cohort: no value
    acquired = [{"founded_month": 80, "exit_month": 85, "status": "acquired"}] * 5
    assert val.cohort_drift(firms(early + acquired), 120) == pytest.approx(1.0 - 0.8)
    assert np.isnan(val.cohort_drift(firms(early), 120))


# --- Pattern 14: round timing and the hazard by age -------------------------------------------
def round_log(rows: list[tuple[int, int, str]]) -> pd.DataFrame:
    """A round log in the written schema: (firm number, month, stage reached) per round."""
    return pd.DataFrame(
        [{"org_id": f"startup:{i}", "month": m, "stage": st} for i, m, st in rows],
        columns=list(val.ROUND_LOG),
    )


def test_seed_to_a_gap_is_the_median_over_run_cohort_firms_that_raised_both():
    f = firms([{"founded_month": -30}, {}, {"founded_month": 5}, {}, {}])
    log = round_log(
        [(0, 3, "seed"), (0, 10, "series_a"),  # the 2025 stock: its earlier rounds are unknown
         (1, 4, "seed"), (1, 40, "series_a"), (1, 70, "series_b"),  # 36 months
         (2, 20, "seed"),  # no A: not in the gaps
         (3, 6, "seed"), (3, 18, "series_a"),  # 12 months
         (4, 1, "seed"), (4, 61, "series_a")]  # 60 months
    )  # fmt: skip
    assert val.seed_to_a_years(log, f) == pytest.approx(36 / 12)
    assert not val.BY_KEY["14a"].inside(3.0) and val.BY_KEY["14a"].inside(1.5)
    seed_a, a_b = val.round_gaps(log, f)
    assert sorted(seed_a) == [12, 36, 60] and a_b.tolist() == [30]
    assert np.isnan(val.seed_to_a_years(round_log([]), f))


def test_valuation_steps_count_down_rounds_and_compare_series_a_with_seed():
    """Pattern 15 over a round log with prices: a firm's round priced below its previous
    post-money is a down round; the ratios compare the medians of every seed and Series A round
    (a firm's first logged round has no predecessor, so it is no follow-on)."""
    rows = [  # firm, month, stage, amount, pre-money (post = pre + amount), in ¥m
        (0, 3, "seed", 2, 10), (0, 20, "series_a", 8, 30),  # up: 30 > 12
        (1, 4, "seed", 3, 14), (1, 30, "series_a", 10, 16),  # down: 16 < 17
        (2, 5, "seed", 4, 18),  # no follow-on
        (3, 1, "series_a", 12, 50), (3, 40, "series_b", 30, 90),  # stock firm: up (90 > 62)
    ]  # fmt: skip
    log = pd.DataFrame(
        [{"org_id": f"startup:{i}", "month": m, "stage": st, "amount_yuan": a * 1e6,
          "pre_money_yuan": p * 1e6, "post_money_yuan": (p + a) * 1e6}
         for i, m, st, a, p in rows]
    )  # fmt: skip
    out = val.valuation_steps(log)
    assert out["down_share"] == pytest.approx(1 / 3)
    assert out["pre_ratio"] == pytest.approx(30 / 14)  # medians: A of 30, 16, 50; seed 10, 14, 18
    assert out["size_ratio"] == pytest.approx(10 / 3)  # A of 8, 10, 12; seed 2, 3, 4
    assert val.BY_KEY["15a"].inside(out["down_share"]) is False  # 33% > 25%
    assert val.BY_KEY["15b"].inside(out["pre_ratio"]) and val.BY_KEY["15c"].inside(3.3)
    assert not val.BY_KEY["15b"].inside(0.9)  # valuations falling from seed to A fail
    # the same log in another row order gives the same values (sorted by firm and month)
    assert val.valuation_steps(log.iloc[::-1]) == out
    assert all(np.isnan(v) for v in val.valuation_steps(log.iloc[:0]).values())
    assert np.isnan(val.valuation_steps(log[log["stage"] != "seed"])["pre_ratio"])


def test_deal_mix_counts_the_first_two_years_rounds_by_the_firms_age_and_stage():
    """Pattern 16 over a round log: of the rounds of months 0–23 (later ones left out), the
    shares closed by firms younger than 12 and 36 months at the round, and at seed."""
    rows = [  # month, age at the round (months), stage
        (0, 5, "seed"), (3, 11, "seed"), (6, 12, "series_a"), (10, 30, "seed"),
        (15, 35, "series_b"), (20, 36, "series_a"), (23, 80, "series_c"),
        (24, 2, "seed"), (40, 1, "seed"),  # after the window: not counted
    ]  # fmt: skip
    log = pd.DataFrame(
        [{"org_id": f"startup:{i}", "month": m, "age_months": a, "stage": st}
         for i, (m, a, st) in enumerate(rows)]
    )  # fmt: skip
    out = val.deal_mix(log)
    assert out == pytest.approx({"young_1y": 2 / 7, "young_3y": 5 / 7, "seed": 3 / 7})
    assert val.BY_KEY["16a"].inside(out["young_1y"]) and not val.BY_KEY["16b"].inside(5 / 7)
    assert val.BY_KEY["16c"].inside(out["seed"]) and not val.BY_KEY["16c"].inside(0.9)
    assert all(np.isnan(v) for v in val.deal_mix(log[log["month"] >= 24]).values())
    assert all(np.isnan(v) for v in val.deal_mix(log.drop(columns="age_months")).values())


def _dying(per_year: list[int], n: int = 1000, founded: int = 0) -> list[dict]:
    """``n`` firms founded in ``founded``, ``per_year[y]`` of them shut in their year y + 1."""
    rows, alive = [], n
    for y, k in enumerate(per_year):
        rows += [{"founded_month": founded, "exit_month": founded + 12 * y + 6,
                  "status": "failed"}] * k  # fmt: skip
        alive -= k
    return rows + [{"founded_month": founded}] * alive


def test_hazard_peak_age_finds_the_deadliest_year():
    # hazards 2%, 5%, 10%, then 5% a year: the peak is year 3, as in [S36]
    rising = _dying([20, 49, 93, 42, 40, 38, 36])
    h = val.hazards_by_age(firms(rising), 120)
    assert h[:3] == pytest.approx([0.02, 0.05, 0.10], abs=0.001)
    assert val.hazard_peak_age(firms(rising), 120) == 3.0
    assert val.BY_KEY["14b"].inside(3.0)
    # a hazard that falls every year peaks in year 1 and fails
    falling = firms(_dying([200, 120, 80, 60, 40, 30, 20]))
    assert val.hazard_peak_age(falling, 120) == 1.0 and not val.BY_KEY["14b"].inside(1.0)
    # too short a run to follow a cohort to age 7: no value
    assert np.isnan(val.hazard_peak_age(firms(rising), 60))


def test_funded_hazard_ratio_standardises_by_age_and_splits_at_five_years():
    """100 firms never funded and 100 seeded at founding: 10 unfunded firms shut at age 30 and
    10 at age 90. The same deaths among the funded give ratios of 1; fewer before five years
    after the round and more after give a ratio below 1, then above."""

    def group(first: int, early: int, late: int, funded: bool) -> tuple[list, list]:
        rows = [{"exit_month": 30, "status": "failed"}] * early
        rows += [{"exit_month": 90, "status": "closed"}] * late
        rows += [{}] * (100 - early - late)
        rounds = [(first + i, 0, "seed") for i in range(100)] if funded else []
        return rows, rounds

    unfunded, _ = group(0, 10, 10, funded=False)
    same, log = group(100, 10, 10, funded=True)
    early, late = val.funded_hazard_ratios(firms(unfunded + same), round_log(log), 120)
    assert early == pytest.approx(1.0) and late == pytest.approx(1.0)
    patient, log = group(100, 5, 20, funded=True)
    early, late = val.funded_hazard_ratios(firms(unfunded + patient), round_log(log), 120)
    assert early < 0.6 and late > 1.8
    assert val.BY_KEY["14c"].inside(early) and val.BY_KEY["14d"].inside(late)
    assert not val.BY_KEY["14c"].inside(1.0) and not val.BY_KEY["14d"].inside(1.0)
    # an acquired firm leaves the risk set when it is acquired: 100 unfunded firms acquired at
    # age 12 add nothing to the unfunded hazard at age 30 (at risk to the end, they would halve it)
    acquired = [{"exit_month": 12, "status": "acquired"}] * 100
    early, _ = val.funded_hazard_ratios(firms(unfunded + same + acquired), round_log(log), 120)
    assert early == pytest.approx(1.0)
    # a shutdown in the month of the firm's first round is a funded one: 100 firms seeded at 30,
    # 10 of them shut in that month, beside 100 never funded with the same shutdowns. Year of
    # age 2 (months 24-35): funded exposure 90 × 6 + 10 × 1 = 550 months with 10 shutdowns;
    # unfunded 90 × 12 + 10 × 7 + 100 × 6 = 1,750 months with 10
    base, _ = group(0, 10, 0, funded=False)  # shutdowns at age 30 only
    log = [(100 + i, 30, "seed") for i in range(100)]
    early, late = val.funded_hazard_ratios(firms(base + base), round_log(log), 120)
    assert early == pytest.approx(10 / (550 * 10 / 1750))
    assert np.isnan(late)  # no unfunded shutdown at the ages the funded reach 5 years later
    # no round at all: nothing to compare
    assert all(np.isnan(x) for x in val.funded_hazard_ratios(firms(unfunded), round_log([]), 120))


# --- Patterns 6, 9, 10: firms and vouchers -------------------------------------------------------
def test_founder_orders():
    f = firms(
        [{"region": "beijing", "origin": "university"}] * 3
        + [{"region": "beijing"}] * 2
        + [{"region": "hangzhou", "origin": "university"}]
        + [{"region": "hangzhou"}] * 4
        + [{"founder_alumni": "big_firm:alibaba"}] * 3
        + [{"founder_alumni": "big_firm:tencent"}] * 2
        + [{"founder_alumni": "big_firm:baidu"}]
        + [{"founder_alumni": "big_firm:baidu", "founded_month": -5}] * 9  # stock: not counted
    )
    assert val.university_order(f) == 1.0
    assert val.alumni_order(f) == 1.0
    swapped = f.assign(region=f["region"].map({"beijing": "hangzhou", "hangzhou": "beijing"}))
    assert val.university_order(swapped) == 0.0
    assert np.isnan(val.university_order(f[f["region"] != "beijing"]))


def test_voucher_shares_come_from_the_outcome_registry():
    k = kpis(
        {
            "ningbo": {
                "voucher_additional_yuan": 1.0,
                "voucher_deadweight_yuan": 7.0,
                "voucher_inference_yuan": 5.0,
                "voucher_unused_yuan": 2.0,
            }
        }
    )
    t = val.RunTables(firms([{}]), pd.DataFrame(), k, pd.DataFrame(), pd.DataFrame(),
                      ["ningbo"], [], 24, 2025)  # fmt: skip
    s = val.voucher_shares(t)
    assert s["voucher_additional_share"] == pytest.approx(0.1)
    assert s["voucher_unused_share"] == pytest.approx(0.2)
    # inference is a part of the deadweight, not a fourth share of the money
    assert s["voucher_inference_share"] == pytest.approx(0.5)
    assert not val.BY_KEY["9a"].inside(0.1)


def test_venture_tails():
    months = 120
    early = {"founded_month": 10, "venture_track": True}
    f = firms(
        [{**early, "stage": "seed"}] * 5
        + [{**early, "stage": "series_a"}] * 4
        + [{**early, "stage": "series_b", "status": "listed"}]
        + [{**early, "stage": "bootstrap"}] * 10
        + [{"founded_month": 100, "venture_track": True, "stage": "series_a"}] * 50  # too young
        + [{"founder_alumni": "big_firm:alibaba", "status": "acquired", "founded_month": 90}]
        + [{"founder_alumni": "big_firm:alibaba", "founded_month": 90}] * 19
    )
    v = val.venture_tails(f, months)
    assert v["ipo"] == pytest.approx(1 / 20)
    assert v["second_round"] == pytest.approx(5 / 10)
    assert v["alumni_exits"] == pytest.approx(1 / 20)
    assert not val.BY_KEY["10a"].inside(v["ipo"])
    assert val.BY_KEY["10b"].inside(v["second_round"])


# --- Summary, statuses, report --------------------------------------------------------------------
def test_summary_pass_fail_and_not_evaluable_with_seeds_and_parameters_apart():
    # two draws × two seeds of the national role; 1a passes, 2a fails, 6a (a share) passes,
    # 7 has no value in any run, 5b is not evaluable for a static reason
    runs = pd.DataFrame(
        {
            "role": "national",
            "status": "ok",
            "draw": [0, 0, 1, 1],
            "1a": [0.60, 0.62, 0.70, 0.72],
            "2a": [0.9, 0.95, 0.8, 0.85],
            "6a": [1.0, 1.0, 1.0, 1.0],
            "7": [np.nan] * 4,
        }
    )
    reasons = {(c.key, r): None for c in val.CHECKS for r in c.roles}
    reasons[("5b", "national")] = "china has no city region beijing"
    s = val.summarise(runs, {"national": "china"}, reasons).set_index("check")
    assert s.loc["1a", "status"] == val.PASS
    assert s.loc["1a", "value"] == pytest.approx(0.66)
    assert s.loc["1a", "param_low"] < s.loc["1a", "param_high"]  # per-draw means 0.61, 0.71
    assert s.loc["1a", "seed_high"] - s.loc["1a", "seed_low"] < 0.03  # seeds differ by 0.02
    assert s.loc["2a", "status"] == val.FAIL and s.loc["2a", "in_band_share"] == 0.0
    assert s.loc["6a", "status"] == val.PASS and s.loc["6a", "statistic"] == "share"
    assert s.loc["7", "status"] == val.NOT_EVALUABLE and "no run gave" in s.loc["7", "reason"]
    assert s.loc["5b", "reason"] == "china has no city region beijing"
    assert s.loc["2c", "status"] == val.NOT_EVALUABLE  # no column at all: never dropped
    assert set(s.index) == {c.key for c in val.CHECKS if "national" in c.roles}


def test_replace_section_keeps_the_preregistration_byte_for_byte():
    head = "# Validation\n\n## Held-out patterns\n\n| a | b |\n"
    once = val.replace_section(head, val.MARKER + "\nfirst\n")
    assert once.startswith(head) and once.endswith("first\n")
    twice = val.replace_section(once, val.MARKER + "\nsecond\n")
    assert twice.startswith(head) and "first" not in twice and twice.count(val.MARKER) == 1


# --- Command line ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--years", "0"], "--years"),
        (["--replicates", "0"], "--replicates"),
        (["--workers", "0"], "--workers"),
        (["--param-draws", "-1"], "--param-draws"),
        (["--param-draws", "0", "--posterior", "x.parquet"], "--posterior"),
        (["--city", "atlantis"], "atlantis"),
        (["--doc", "nowhere.md"], "--doc"),
        (["--doc", "README.md"], "Held-out patterns"),
        (["--years", "ten"], "--years"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, capsys, monkeypatch, argv, needle):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "out"
    try:
        rc = main(["validation", "--out", str(out), "--quiet", *argv])
    except SystemExit as exc:  # argparse's own errors (one line too: experiments.cli._Parser)
        rc = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ") and needle in err[0]
    assert not out.exists()


def test_unusable_out_is_refused_before_any_run(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("not aieco's")
    argv = ["validation", "--out", str(tmp_path), "--doc", "none", "--city", TINY,
            "--national", TINY, "--param-draws", "0", "--replicates", "1", "--quiet"]  # fmt: skip
    rc = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "non-empty folder" in err[0]


def test_end_to_end_on_the_tiny_preset(tmp_path, capsys):
    """One short run of each role (tiny, one year): files, the report section in a copy of the
    pre-registration page (kept above it), 'prior predictive' said, nothing dropped."""
    doc = tmp_path / "validation.md"
    text = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    head = text.split(val.MARKER, 1)[0]
    doc.write_text(head, encoding="utf-8")
    out = tmp_path / "out"
    argv = ["validation", "--city", TINY, "--national", TINY, "--years", "1",
            "--param-draws", "1", "--replicates", "1", "--workers", "1", "--out", str(out),
            "--doc", str(doc), "--quiet", "--posterior", "prior"]  # fmt: skip
    assert main(argv) == 0
    written = doc.read_text(encoding="utf-8")
    assert written.startswith(head) and written.count(val.MARKER) == 1
    assert "Prior predictive — no posterior yet" in written  # --posterior prior (not the default)
    summary = pd.read_parquet(out / "validation.parquet")
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(summary.columns[:2]) == ["run_id", "seed"]
    assert list(runs.columns[:2]) == ["run_id", "seed"]
    assert len(runs) == 2 and (runs["status"] == "ok").all()
    expected = {(c.key, r) for c in val.CHECKS for r in c.roles}
    assert set(zip(summary["check"], summary["role"], strict=True)) == expected
    assert (summary.loc[summary["status"] == val.NOT_EVALUABLE, "reason"] != "").all()
    assert summary.loc[summary["check"] == "11", "reason"].str.contains("5 years").all()
    # every check's row is in the page too
    for key in {c.key for c in val.CHECKS}:
        assert f"\n| {key} |" in written
    assert list(summary.columns) == documented("validation.parquet")


def test_the_report_names_the_posterior_its_draws_came_from(tmp_path, capsys):
    """With --posterior the page says 'Posterior predictive' and names the calibrated posterior
    (its city, revision and where its own check is), not the option as typed."""
    doc = tmp_path / "validation.md"
    head = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8").split(val.MARKER, 1)[0]
    doc.write_text(head, encoding="utf-8")
    argv = ["validation", "--city", TINY, "--national", TINY, "--years", "1",
            "--param-draws", "1", "--replicates", "1", "--workers", "1", "--posterior",
            "hangzhou", "--out", str(tmp_path / "out"), "--doc", str(doc), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    written = doc.read_text(encoding="utf-8")
    assert "**Posterior predictive.** calibrated posterior (Hangzhou" in written
    assert "docs/calibration.md" in written and "`hangzhou`" not in written
    assert "stays at its value" in written and "docs/sensitivity.md" in written  # left out
    assert "\nposterior predictive (" in capsys.readouterr().out


def test_set_holds_a_drawn_parameter_in_both_scenarios_and_draws_the_rest(tmp_path):
    """--set applies a value to both scenarios and holds it: the parameter leaves the draws
    (the posterior's other columns are still drawn, from the same rows), and every run has it
    at the value, so an arm with one parameter held pairs with the plain run draw by draw."""
    plain = val.validate(TINY, TINY, 2, 1, 1, 0, 1, posterior="hangzhou")
    held = val.validate(
        TINY, TINY, 2, 1, 1, 0, 1, posterior="hangzhou",
        overrides={"startups.fit_drift_sigma": 0.1},
    )  # fmt: skip
    for role in (val.CITY, val.NATIONAL):
        a, b = plain.designs[role], held.designs[role]
        assert "fit_drift_sigma" in a.names and "fit_drift_sigma" not in b.names
        assert len(b.names) == len(a.names) - 1
        # the same posterior rows give the other parameters
        assert a.table["posterior_row"].tolist() == b.table["posterior_row"].tolist()
        assert a.table["nest_rho"].tolist() == b.table["nest_rho"].tolist()
        assert all("startups.fit_drift_sigma" not in b.overrides(m) for m in range(2))
    assert len(held.runs) == 4 and (held.runs["status"] == "ok").all()
    assert held.runs["seed"].tolist() == plain.runs["seed"].tolist()  # paired by draw and seed


def test_set_reaches_the_runs_and_a_bad_set_is_one_line(tmp_path, capsys, monkeypatch):
    from experiments.validation import _document

    doc, sc = _document(TINY, 1, {"startups.fit_drift_sigma": 0.1})
    assert sc.startups.fit_drift_sigma == 0.1
    monkeypatch.chdir(ROOT)
    out = tmp_path / "out"
    rc = main(["validation", "--out", str(out), "--quiet", "--city", TINY, "--national", TINY,
               "--set", "startups.fit_drift_sigma=-1"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "fit_drift_sigma" in err[0] and not out.exists()


def documented(name: str) -> list[str]:
    """Columns of ``### name`` in docs/outputs.md."""
    cols, inside = [], False
    for line in (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("### "):
            inside = line[4:].strip() == name
        elif inside and line.startswith("| ") and not line.startswith("| column"):
            cols.append(line.strip("|").split("|")[0].strip())
    return cols


def test_pattern_11_needs_runs_without_national_levers():
    from ecosystem.scenario import load_scenario

    sc = load_scenario(TINY, ["national.voucher_rate=0.2", "national.voucher_budget_yuan=1e8"])
    assert "national.voucher_rate" in val.static_reason(val.BY_KEY["11"], sc, 10)
    assert val.static_reason(val.BY_KEY["11"], load_scenario(TINY), 10) is None


def test_values_from_a_written_run_folder_equal_those_of_the_run(tmp_path):
    """The patterns read an `aieco run` folder exactly as the run's own tables."""
    from ecosystem.run import run_scenario
    from ecosystem.scenario import load_scenario

    result = run_scenario(load_scenario(TINY), seed=3, months=12)
    result.write(tmp_path / "run")
    a = val.values(val.RunTables.from_result(result), "national")
    b = val.values(val.RunTables.from_dir(tmp_path / "run"), "national")
    assert a.keys() == b.keys()
    assert all(a[k] == b[k] or (np.isnan(a[k]) and np.isnan(b[k])) for k in a), (a, b)
    assert sum(np.isfinite(list(a.values()))) >= 8
    # a folder written before the round log existed: pattern 14's round checks have no value
    assert np.isfinite(a["14c"])  # (this run has one)
    (tmp_path / "run" / "rounds.parquet").unlink()
    old = val.values(val.RunTables.from_dir(tmp_path / "run"), "national")
    assert all(np.isnan(old[k]) for k in ("14a", "14c", "14d", "15a", "15b", "15c", "16a"))
    assert all(old[k] == b[k] or np.isnan(b[k]) for k in b if not k.startswith(("14", "15", "16")))


def test_largest_startups_example_reports_each_citys_largest_unlisted_startup(capsys):
    """experiments/examples/largest_startups.py (docs/design/superstar-firms.md quotes it): the
    leader it reports is the largest live, unlisted startup of its city, as pattern 13 counts."""
    from scripts import load_script

    mod = load_script("experiments/examples/largest_startups.py")
    assert mod.main([TINY, "--seeds", "1", "--years", "1"]) == 0
    out = capsys.readouterr().out
    assert "seed 0: g = " in out and "year 1: largest startup median" in out
    from ecosystem import AIEcosystem, load_scenario

    model = AIEcosystem(load_scenario(TINY), rng=0)
    model.run_for(12)
    got = mod.leaders(model)
    s = model.state.startups
    alive = model.state.alive_startups()
    alive = alive[~s.listed[alive]]
    for r, key in enumerate(model.params.region_keys):
        rows = alive[s.region[alive] == r]
        if rows.size:
            assert got[key][0] == s.headcount[rows].max()
            assert 0 < got[key][1] <= 1 and 0 <= got[key][2] <= 1
    assert "seed 0: g = 0.80;" in out  # ecosystem.scenario.loop_gain at the preset
