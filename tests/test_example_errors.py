"""The example scripts that run a preset at a posterior's medians answer a user error as
``aieco`` does (docs: the README's standards): one line naming the field and value, exit 2, no
traceback, and before their first run."""

from __future__ import annotations

import pytest
from scripts import load_script

SCRIPTS = ["funded_outcomes", "seed_stall", "round_gaps", "choice_rules", "project_values",
           "venture_share"]  # fmt: skip


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_bad_set_is_one_line_and_exit_2(name, capsys):
    mod = load_script(f"experiments/examples/{name}.py")
    assert mod.main(["--set", "startups.nosuch=1"]) == 2
    err = capsys.readouterr().err
    assert err == "error: startups.nosuch = 1: unknown key\n"


@pytest.mark.parametrize("name", ["funded_outcomes", "round_gaps"])
def test_a_missing_posterior_is_one_line_and_exit_2(name, capsys):
    mod = load_script(f"experiments/examples/{name}.py")
    assert mod.main(["--posterior", "nosuch.parquet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --posterior = 'nosuch.parquet'") and "\n" not in err


def test_a_bad_variant_fails_before_the_base_runs(monkeypatch, capsys):
    for name in ("funded_outcomes", "seed_stall"):
        mod = load_script(f"experiments/examples/{name}.py")
        for runner in ("run_scenario", "AIEcosystem"):
            if hasattr(mod, runner):
                monkeypatch.setattr(mod, runner, lambda *a, **k: pytest.fail("ran"))
        assert mod.main(["--variant", "startups.fit_sigma=-1"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: startups.fit_sigma = -1") and "\n" not in err


def test_a_bad_share_fails_before_the_first_share_runs(monkeypatch, capsys):
    mod = load_script("experiments/examples/venture_share.py")
    monkeypatch.setattr(mod, "run_scenario", lambda *a, **k: pytest.fail("ran"))
    assert mod.main(["--shares", "0.5,2", "--posterior", "none"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: startups.venture_share = 2") and "\n" not in err
