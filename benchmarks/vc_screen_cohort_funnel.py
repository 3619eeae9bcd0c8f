"""docs/design/vc-screen.md: the Carta funnel by founding cohort, from the probe's files.

Carta's 2018 cohort was observed for ~6.5 years [S37]; the model's funnel pools every cohort
founded in the run (0-10 years of follow-up). This recomputes it for firms founded in the
first four years (>= 6 years observed) from applicants_seed{N}.parquet
(benchmarks/vc_screen_probe.py or vc_screen_prototype.py).

    .venv/bin/python benchmarks/vc_screen_cohort_funnel.py /tmp/vcd 0 1 2
"""

import sys

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import pandas as pd

d, seeds = sys.argv[1], [int(x) for x in sys.argv[2:]]
a = pd.concat([pd.read_parquet(f"{d}/applicants_seed{s}.parquet").assign(seed=s) for s in seeds])
a = a[(a["region"] == "hangzhou") & (a["need"] > 0)]
a["founded"] = a["month"] - a["age_m"]
first = a.groupby(["seed", "firm"]).agg(
    founded=("founded", "first"), stage0=("stage", "min"), rounds=("closed", "sum")
)
vt = first[(first["founded"] >= 0) & (first["stage0"] == 0)]
for name, sel in (("all cohorts", vt), ("founded in years 1-4", vt[vt["founded"] < 48])):
    reach = [(sel["rounds"] >= k).mean() for k in (1, 2, 3, 4)]
    print(
        f"{name}: venture-track {len(sel) / len(seeds):.0f} per run; seed {reach[0]:.1%}, "
        f"A {reach[1]:.1%}, B {reach[2]:.1%}, C {reach[3]:.1%}"
    )
