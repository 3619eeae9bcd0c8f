"""A long fuzz campaign against aieco's input contract (issue 8 pt 5).

Generates ``--cases`` inputs (default 2,000: mutated scenario files, ``--set``/``--years``/
``--seed`` command lines and experiment files; see ``tests/fuzzing.py``), runs ``aieco`` on each
in this process and prints the counts: exits 0 and 2, tracebacks, non-finite outputs, files
written on error, other exits (1 = the model failed on a valid scenario). Every finding is
printed with its case index, so ``tests.fuzzing.case(SEED, INDEX)`` reproduces it.

    .venv/bin/python benchmarks/fuzz_campaign.py [--cases 2000] [--seed 0] [--start 0]

Exit code 1 when any finding, else 0.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import fuzzing  # noqa: E402  (tests/fuzzing.py: the generator the test suite also uses)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", type=int, default=0, help="first case index (to split a campaign)")
    args = ap.parse_args(argv)
    counts: collections.Counter[str] = collections.Counter()
    kinds: collections.Counter[str] = collections.Counter()
    findings = []
    started = time.perf_counter()
    for i in range(args.start, args.start + args.cases):
        case = fuzzing.case(args.seed, i)
        kinds[case.kind] += 1
        with tempfile.TemporaryDirectory() as d:
            o = fuzzing.run_case(case, Path(d))
        counts[f"exit {o.rc}" if o.rc is not None else "exit -"] += 1
        counts["valid runs"] += o.ran
        if o.problem:
            key = o.problem.split(":")[0]
            key = {
                "traceback": "tracebacks",
                "files written on error": "files written on error",
            }.get(key, "non-finite outputs" if key.startswith("non-finite") else f"other: {key}")
            counts[key] += 1
            findings.append((i, case, o))
            print(f"[{i}] {case.kind}: {case.note}\n    -> {o.problem.strip()[:3000]}", flush=True)
        if (i - args.start + 1) % 100 == 0:
            print(
                f"... {i - args.start + 1} cases, {time.perf_counter() - started:.0f} s: "
                + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
                flush=True,
            )
    print(
        f"\n{args.cases} generated inputs (seed {args.seed}, from {args.start}): "
        + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    )
    for key in ("tracebacks", "non-finite outputs", "files written on error"):
        print(f"{key:<24} {counts.get(key, 0)}")
    for key, v in sorted(counts.items()):
        if key.startswith(("exit", "valid", "other")):
            print(f"{key:<24} {v}")
    print(f"elapsed {time.perf_counter() - started:.0f} s")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
