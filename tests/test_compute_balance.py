"""The compute-balance table (experiments/examples/compute_balance.py) that docs/validation.md
quotes for patterns 8a and 11: its figures are the run's own, read back from the run's tables."""

from __future__ import annotations

import numpy as np
import pytest
from paired import TINY
from scripts import load_script

from ecosystem import load_scenario
from ecosystem.run import run_scenario

SCRIPT = "experiments/examples/compute_balance.py"


@pytest.fixture(scope="module")
def run():
    return run_scenario(load_scenario(str(TINY), ["meta.years=2"]), seed=3)


def test_balance_adds_up_to_the_run_tables(run):
    table = load_script(SCRIPT).balance(run)
    assert list(table.index) == [0, 1]
    d = run.dc_kpis
    west = d[d["hub"]]
    year0 = west[west["month"] < 12]
    assert table.loc[0, "west_cap"] == pytest.approx(year0["capacity_gpu_h"].sum() / 12 / 1e6)
    sold = year0["sold_gpu_h"].sum()
    assert table.loc[0, "west_util"] == pytest.approx(sold / year0["capacity_gpu_h"].sum())
    parts = year0["sold_startups_gpu_h"].sum() + year0["sold_background_gpu_h"].sum()
    assert (table.loc[0, "west_startups"] + table.loc[0, "west_other"]) * 12e6 == pytest.approx(
        parts
    )
    k = run.kpis[run.kpis["month"] < 12]
    assert table.loc[0, "demand"] == pytest.approx(k["compute_demand_gpu_h"].sum() / 1e6)
    served = table["served"].to_numpy()
    assert np.all((served > 0) & (served <= 1 + 1e-9))  # startups never get more than they ask


def test_the_script_prints_the_table_and_the_growth_line(capsys):
    assert load_script(SCRIPT).main(["--preset", str(TINY), "--years", "2", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "west_util" in out and "startups' demand x" in out
