"""Issue 8 pt 5: a seeded fuzzer over scenario files, ``--set`` lines and experiment files.

Each generated input must give exit 0 with finite outputs or exit 2 with one line, never a
traceback, and nothing written on error (see ``tests/fuzzing.py``). The cases are fixed by the
seed so a failure names its reproducer; ``benchmarks/fuzz_campaign.py`` runs a longer campaign.
"""

from __future__ import annotations

import fuzzing
import pytest

CASES = 48  # about a dozen one-year runs of small presets; the rest fail validation quickly


@pytest.mark.parametrize("index", range(CASES))
def test_fuzzed_input_keeps_the_contract(index, tmp_path):
    case = fuzzing.case(2026, index)
    outcome = fuzzing.run_case(case, tmp_path)
    assert not outcome.problem, f"case(2026, {index}) {case.kind}: {case.note}\n{outcome.problem}"


def test_the_fuzzer_makes_both_valid_and_invalid_scenarios(tmp_path):
    """A fuzzer whose files all fail validation (or all pass) tests little: check its mix."""
    from experiments.cli import main

    results = []
    for i in range(CASES):
        case = fuzzing.case(2026, i, kinds=("scenario",), weights=(1.0,))
        folder = tmp_path / str(i)
        folder.mkdir()
        for name, data in case.files.items():
            (folder / name).write_bytes(data)
        rc, _err, problem = fuzzing._call(main, ["validate", "self.toml"], cwd=folder)
        assert not problem
        results.append(rc)
    assert results.count(0) >= 3 and results.count(2) >= CASES // 3, results
