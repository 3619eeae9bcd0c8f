"""Behaviour is preserved: fixed presets and seeds reproduce the stored tables bit for bit.

The golden files live in ``tests/golden/``; when a change is meant to alter behaviour, regenerate
them on purpose with ``.venv/bin/python tests/golden/regenerate.py`` (it prints what changed) and
commit them on their own, saying why.
"""

from __future__ import annotations

import pandas as pd
import pytest
from scripts import load_script

golden = load_script("tests/golden/regenerate.py")


@pytest.mark.slow
@pytest.mark.parametrize("case", golden.CASES, ids=[golden.case_name(*c) for c in golden.CASES])
def test_tables_identical_to_golden(case):
    tables = golden.build(*case)
    assert set(tables) == set(golden.TABLES)
    for table, df in tables.items():
        stored = golden.read(*case, table)
        diff = golden.differences(df, stored)
        assert not diff, f"{golden.case_name(*case)} {table} changed:\n" + "\n".join(diff)
        pd.testing.assert_frame_equal(golden.normalise(df), stored, check_exact=True)


def test_differences_reports_a_changed_value():
    """The comparison can fail: one changed float is reported with its column and row."""
    old = pd.DataFrame({"a": [1.0, 2.0, float("nan")], "b": ["x", "y", "z"]})
    new = old.copy()
    new.loc[1, "a"] = 2.0 + 1e-12
    diff = golden.differences(new, old)
    assert len(diff) == 1 and diff[0].startswith("a: 1 of 3 values differ (first at row 1")
    assert golden.differences(old.copy(), old) == []
    assert golden.differences(old[["a"]], old)[0].startswith("columns: added [], removed ['b']")


def test_the_sbc_store_check_reports_a_changed_statistic():
    """The SBC store's staleness check (tests/test_sbc.py) can fail: its first draws with one
    statistic moved by one part in a million are reported, draw and column named."""
    rows = golden.sbc_rows(golden.SBC_STORE, golden.SBC_CHECKED)
    assert len(rows) == golden.SBC_CHECKED and list(rows["draw"]) == list(range(10))
    moved = rows.copy()
    moved.loc[3, "survival_1y"] *= 1 + 1e-6
    diff = golden.differences(moved, rows)
    assert len(diff) == 1 and diff[0].startswith(
        "survival_1y: 1 of 10 values differ (first at row 3"
    )
