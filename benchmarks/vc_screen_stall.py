"""docs/design/vc-screen.md (M2 point 2): what seeded firms that have not raised A look like 36
months after their seed round, under today's rule (base) or the prototype M1 (P4).

    nice -n 10 .venv/bin/python benchmarks/vc_screen_stall.py P4
"""

import sys

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np
import pandas as pd
import vc_screen_prototype as P

from ecosystem import economics, firm_life, load_scenario
from ecosystem.run import run_scenario

variant = sys.argv[1]
if variant == "P4":
    P.VARIANT.update({"rank": "ratio", "viable": True, "own": True})
    firm_life.round_terms = P.round_terms
    firm_life.raise_funding = P.raise_funding
snap = {}


def on_month(model):
    st = model.state
    s = st.startups
    a = st.alive_startups()
    m = model.steps - 1
    cost = economics.monthly_costs(st, model.params, a) + s.data_spend[a]
    snap[m] = pd.DataFrame(
        {
            "firm": a,
            "stage": s.stage[a],
            "cash": s.cash[a],
            "rev": s.revenue[a],
            "cost": cost,
            "h": s.headcount[a],
            "rhat": economics.expected_revenue(st, a),
            "nextraise": s.next_raise_month[a] - m,
        }
    )


res = run_scenario(load_scenario("hangzhou"), 0, on_month=on_month)
# seed month per firm
seed_m = {}
prev = None
for m in sorted(snap):
    d = snap[m].set_index("firm")
    if prev is not None:
        j = d.join(prev[["stage"]].rename(columns={"stage": "stage_prev"}), how="inner")
        for f in j.index[(j.stage >= 1) & (j.stage_prev == 0)]:
            seed_m.setdefault(f, m)
    prev = d
rows = []
for f, m0 in seed_m.items():
    m = m0 + 36
    if m in snap:
        d = snap[m].set_index("firm")
        if f in d.index and d.loc[f, "stage"] == 1:
            r = d.loc[f]
            rows.append(r)
df = pd.DataFrame(rows)
print(
    variant,
    "seeded firms still at seed 36 months later:",
    len(df),
    "of",
    sum(1 for f, m0 in seed_m.items() if m0 + 36 in snap),
)
df["profit"] = df.rev - df.cost
df["runway"] = np.where(df.profit < 0, df.cash / (-df.profit), np.inf)
print("profitable share", (df.profit >= 0).mean().round(3))
print(
    df[["cash", "rev", "cost", "h", "rhat"]]
    .describe(percentiles=[0.1, 0.5, 0.9])
    .round(0)
    .to_string()
)
print(
    "runway months of loss-makers q10/50/90",
    np.nanpercentile(df.runway[np.isfinite(df.runway)], [10, 50, 90]).round(1),
)
