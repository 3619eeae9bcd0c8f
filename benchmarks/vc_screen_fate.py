"""docs/design/vc-screen.md (M2 point 2): how the seeded firms of cohorts 1-4 that never reached
Series A ended, under today's rule (base) or the prototype M1 (P4); seeds 0 and 1.

    nice -n 10 .venv/bin/python benchmarks/vc_screen_fate.py P4
"""

import sys

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import pandas as pd
import vc_screen_probe as probe
import vc_screen_prototype as P

from ecosystem import firm_life, load_scenario
from ecosystem.run import run_scenario

variant = sys.argv[1]
if variant != "base":
    P.VARIANT.update({"rank": "ratio", "viable": True})
    firm_life.round_terms = P.round_terms
    probe.ORIGINAL = P.raise_funding
    probe.applicants = P.applicants
firm_life.raise_funding = probe.probe
out = []
for seed in (0, 1):
    probe.APPS.clear()
    res = run_scenario(load_scenario("hangzhou"), seed)
    a = pd.concat([pd.DataFrame(r) for r in probe.APPS])
    a = a[a.need > 0]
    f = res.firms
    f = f[(f.founded_month >= 0) & (f.founded_month < 48) & f.venture_track].copy()
    seeded_m = a[(a.stage == 0) & a.closed].groupby("firm").month.min()
    applied_a = set(a[a.stage == 1].firm)
    f["row"] = f.index if "row" not in f else f["row"]
    out.append((seed, f, seeded_m, applied_a))
    s = f[f["stage"] >= 1]
    print(
        seed,
        "seeded (cohorts 1-4)",
        len(s),
        "reached A",
        (s.stage >= 2).sum(),
        "exit reasons of seeded that never reached A:",
        s[s.stage == 1].exit_reason.value_counts(dropna=False).to_dict(),
    )
