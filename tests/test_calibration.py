"""The calibration measures compute what they claim on a real run."""

import math

from ecosystem.calibration import TARGETS, measure, report
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


def test_report_is_a_markdown_table(full_run):
    import pandas as pd

    table = pd.DataFrame([{"seed": 1, **measure(full_run)}])
    text = report(table, full_run.scenario)
    assert "| target |" in text and "startups alive 1 year" in text
