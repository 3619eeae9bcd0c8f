"""The calibration measures compute what they claim on a real run."""

import math

import pytest
from paired import TINY

from ecosystem import load_scenario
from ecosystem.calibration import FUNNEL_FOLLOW_UP_MONTHS, TARGETS, funnel, measure, report
from ecosystem.outcomes import survival


def test_measures_are_in_their_domains(full_run):
    m = measure(full_run)
    for t in TARGETS:
        assert t.key in m
        assert not math.isnan(m[t.key])
    assert 0 < m["survival_5y"] < m["survival_1y"] <= 1
    assert 0 < m["founders_big_or_famous"] <= 1
    # The run summary and the calibration use one definition of founder careers.
    assert full_run.summary()["founders_big_or_famous"] == m["founders_big_or_famous"]
    assert m["founders_per_100_leavers"] > 0


def test_survival_counts_only_cohorts_old_enough(full_run):
    f = full_run.firms
    assert math.isnan(survival(f[f["founded_month"] > 100], 60, 120))


def test_the_funnel_counts_only_cohorts_followed_for_six_years():
    """Carta observed its 2018 cohort for ~6.5 years [S37]: younger venture-track firms have had
    no time to reach later rounds and are left out (pooling them censors the funnel)."""
    import pandas as pd

    firms = pd.DataFrame(
        {
            "founded_month": [-5, 0, 48, 49, 100],  # the 2025 stock, then firms founded in the run
            "venture_track": [True, True, True, True, True],
            "stage": [4, 2, 1, 0, 0],
            "exit_reason": ["alive", "alive", "acquired", "failed", "alive"],
        }
    )
    f = funnel(firms, 120)
    assert 120 - FUNNEL_FOLLOW_UP_MONTHS == 48
    assert f["venture_track_firms"] == 2  # founded in months 0 and 48
    assert f["funnel_seed"] == 1.0 and f["funnel_a"] == 0.5 and f["funnel_b"] == 0.0
    assert f["venture_acquired"] == 0.5
    assert math.isnan(funnel(firms, 60)["funnel_seed"])  # nobody followed for six years


def test_report_is_a_markdown_table(full_run):
    import pandas as pd

    table = pd.DataFrame([{"seed": 1, **measure(full_run)}])
    text = report(table, full_run.scenario)
    assert "| target |" in text and "startups alive 1 year" in text


def test_life_table_counts_left_truncated_firms_and_censors_acquisitions():
    import pandas as pd

    from ecosystem.calibration import Survival

    firms = pd.DataFrame(
        {
            "founded_month": [0, 0, -40, 10, 13],
            "exit_month": pd.array([5, None, 30, 20, None], dtype="Int64"),
            "exit_reason": ["failed", "alive", "failed", "acquired", "alive"],
        }
    )
    sv = Survival.empty(years=5)
    sv.add(firms, months=36, start_year=2025)
    # age 3 months: the two firms founded in month 0, the acquired one (age 3 at month 13) and
    # the one founded in month 13 (age 3 at month 16); the stock firm enters observation at 40
    assert sv.at_risk[3] == 4 and sv.at_risk[40] == 1 and sv.at_risk[36] == 0
    # its failure at age 70 is beyond the 5-year table but counts among exits (not within 5 y)
    assert sv.failures[5] == 1 and sv.failures.sum() == 1
    hz = sv.hazard()
    # year 1: one failure among 4 at risk at age 5 -> survival 3/4
    assert hz.loc[0, "km_survival"] == pytest.approx(0.75)
    assert sv.exits == 2 and sv.exits_before_5y == 1
    c = sv.cohorts[2025]  # founded in 2025: months 0, 0, 10
    assert list(c[:3]) == [3, 3, 2]  # all seen for a year; the failed one did not survive it
    assert list(c[7:]) == [1, 0, 1]  # exits within a year: one failed, one acquired (survives)
    assert sv.cohorts[2026][0] == 1 and sv.cohorts[2026][1] == 1
    assert sv.cohorts[2026][3] == 0  # 2026's December founders are not two years old at 36
    # At 30 months the firm founded in month 13 is a year old, but 2026's December founders
    # would not be: the cohort's one-year cell stays empty rather than count its early founders.
    partial = Survival.empty(years=5)
    partial.add(firms, months=30, start_year=2025)
    assert partial.cohorts[2026][0] == 1 and partial.cohorts[2026][1] == 0


def test_calibrate_reports_hazard_by_age_and_survival_by_cohort():
    from ecosystem.calibration import calibrate, report

    sc = load_scenario(TINY, {"meta.years": 3})
    table = calibrate(sc, range(2))
    text = report(table, sc)
    assert "| age year | firm-months at risk |" in text and "| 1 | " in text
    assert "| cohort | founded |" in text and "| 2025 |" in text
    assert "79–80% [S32][S34]" in text
