"""experiments/examples/choice_rules.py (design docs/design/causal-core.md §2.8 quotes it): the
two compute choice rules, paired, print their outcomes and per-head compute."""

from __future__ import annotations

from paired import TINY
from scripts import load_script

mod = load_script("experiments/examples/choice_rules.py")


def test_both_rules_run_paired_and_differ(capsys):
    argv = ["--scenario", str(TINY), "--prior", "--years", "2", "--seeds", "1"]
    assert mod.main(argv) == 0
    out = capsys.readouterr().out
    assert "marginal" in out and "projects" in out and "GPU-h per head" in out
    table = out.split("\n\n")[0].splitlines()
    row = next(line for line in table if line.startswith("compute_sold_gpu_h_total"))
    marginal, projects = (float(x.replace(",", "")) for x in row.split()[1:3])
    assert marginal > 0 and projects > 0 and marginal != projects
