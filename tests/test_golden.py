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
