"""experiments/examples/variant_channel.py, which docs/calibration.md quotes for the channel of the
adoption programme's effect: it rebuilds a policy page's runs from the page's manifest and
summary exactly (the baseline reproduces the page's count) and refuses bad input in one line."""

from __future__ import annotations

import pytest
from scripts import load_script


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """A one-year policy page: 2 parameter draws × 2 seeds, its runs' folder kept."""
    out = tmp_path_factory.mktemp("pe")
    mod = load_script("experiments/examples/policy_effects.py")
    args = ["--param-draws", "2", "--seeds", "2", "--years", "1", "--workers", "1"]
    assert mod.main([*args, "--out", str(out / "runs"), "--doc", str(out / "pe.md")]) == 0
    return out / "runs"


def test_rebuilt_runs_reproduce_the_page_and_print_the_kpis(page, capsys):
    mod = load_script("experiments/examples/variant_channel.py")
    assert mod.main([str(page), "--variant", "adoption_500m", "--draws", "1"]) == 0
    out = capsys.readouterr().out
    assert "reproduced" in out and "founders_other" in out and "job_seekers" in out
    assert "False" not in out.split("mean over the runs")[0]


def test_bad_input_is_one_line(page, tmp_path, capsys):
    mod = load_script("experiments/examples/variant_channel.py")
    assert mod.main([str(page), "--variant", "no_such_lever"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no_such_lever" in err[0] and "adoption_500m" in err[0]
    assert mod.main([str(page), "--variant", "adoption_500m", "--draws", "0"]) == 2
    assert "--draws = 0" in capsys.readouterr().err
    assert mod.main([str(tmp_path), "--variant", "adoption_500m"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no policy page results" in err[0]
