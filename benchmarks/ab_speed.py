"""Is a change faster? A preset's run timed at two revisions, interleaved, with an interval.

One timing cannot tell a change of a few per cent from the machine's drift: on these machines
the speed moves by 5–10% within minutes (``benchmarks/model_speed.py``'s CPU ratio spread
0.52–0.58 over three repeats on an idle machine). This script checks ``--base`` (default
HEAD) out into a temporary git worktree and, for ``--rounds`` rounds, runs the same seeds in a
fresh process of each tree, alternating which goes first; each process reports the CPU seconds
of its runs and a hash of each run's KPI table. It prints each round's ratio (this working tree
/ base), their mean with a 95% t-interval over rounds, and whether the two trees' runs gave the
same KPI tables (a refactoring must: the goldens say so bit for bit).

    .venv/bin/python benchmarks/ab_speed.py [--base REV] [--rounds 6] [--seeds 3]
        [--preset hangzhou] [--years 10]

Both trees run with this interpreter and its packages; each imports its own ``ecosystem``
(the process starts in the tree, which comes first on ``sys.path``; a child that imported
another tree's code stops the comparison). On a machine shared with other work, CPU time is
the figure to read, and more rounds narrow the interval.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
if str(HERE) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(HERE))

from experiments.policy import mean_ci  # noqa: E402

#: What each timed process runs: the preset's run for every seed; prints CPU seconds, a hash
#: of each run's KPI table (the check that both trees did the same thing, outside the timing)
#: and the file its ``ecosystem`` came from (the check that it is the tree's own).
CHILD = """
import hashlib, json, sys, time
import ecosystem.reproducible
import pandas as pd
from ecosystem import AIEcosystem, load_scenario
preset, years, seeds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
scenario = load_scenario(preset, [f"meta.years={years}"])
cpu, kpis = 0.0, []
for seed in range(seeds):
    start = time.process_time()
    model = AIEcosystem(scenario, rng=seed)
    model.run_for(scenario.months)
    cpu += time.process_time() - start
    table = pd.util.hash_pandas_object(model.kpis(), index=True).to_numpy()
    kpis.append(hashlib.sha256(table.tobytes()).hexdigest()[:16])
print(json.dumps({"cpu": cpu, "kpis": kpis, "module": ecosystem.reproducible.__file__}))
"""


def timed(tree: Path, preset: str, years: int, seeds: int) -> dict:
    """CPU seconds and KPI hashes of the runs in a fresh process of ``tree``; SystemExit with
    the child's error if it fails or imported another tree's ``ecosystem``."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, preset, str(years), str(seeds)],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(f"the run in {tree} failed:\n{out.stderr.strip()}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    if not Path(got["module"]).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"the run in {tree} imported {got['module']}: not the tree's own code")
    return got


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="HEAD", help="revision to compare with (default HEAD)")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--preset", default="hangzhou")
    ap.add_argument("--years", type=int, default=10)
    args = ap.parse_args(argv)
    if args.rounds < 2 or args.rounds % 2 or args.seeds < 1:
        ap.error(
            f"--rounds {args.rounds} --seeds {args.seeds}: need an even number of rounds (each "
            "tree goes first in half of them), at least 2, and at least 1 seed"
        )
    rev = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", args.base + "^{commit}"],
        cwd=HERE,
        capture_output=True,
        text=True,
    )
    if rev.returncode:
        ap.error(f"--base {args.base}: not a revision of {HERE}")
    with tempfile.TemporaryDirectory(prefix="ab_speed_") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(base), rev.stdout.strip()],
            cwd=HERE,
            check=True,
        )
        try:
            ratios, same = [], True
            for r in range(args.rounds):
                order = [("base", base), ("here", HERE)]
                if r % 2:
                    order.reverse()
                got = {
                    name: timed(tree, args.preset, args.years, args.seeds) for name, tree in order
                }
                ratios.append(got["here"]["cpu"] / got["base"]["cpu"])
                same &= got["here"]["kpis"] == got["base"]["kpis"]
                print(
                    f"round {r}: base {got['base']['cpu']:.2f} CPU-s, this tree "
                    f"{got['here']['cpu']:.2f} CPU-s, ratio {ratios[-1]:.3f}",
                    flush=True,
                )
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=HERE)
            subprocess.run(["git", "worktree", "prune"], cwd=HERE)
    mean, lo, hi, n = mean_ci(ratios)
    print(
        f"\n{args.preset}, {args.years} years, seeds 0–{args.seeds - 1}, {n} rounds: this tree / "
        f"{args.base} = {mean:.3f} [{lo:.3f}, {hi:.3f}] (95% t-interval over rounds; below 1 is "
        f"faster); same KPI tables: {'yes' if same else 'NO (behaviour changed)'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
