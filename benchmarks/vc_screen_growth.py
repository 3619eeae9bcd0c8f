"""docs/design/vc-screen.md: how much R̂* (expected revenue) grows after a seed round, against
the G = 5 the VC priced (the model as it is).

nice -n 10 .venv/bin/python benchmarks/vc_screen_growth.py 0
"""

import sys

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np
import pandas as pd

from ecosystem import economics, load_scenario
from ecosystem.run import run_scenario

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
snaps = {}


def on_month(model):
    st = model.state
    s = st.startups
    a = st.alive_startups()
    snaps[st.month - 1 if False else model.steps - 1] = (
        a.copy(),
        economics.expected_revenue(st, a),
        s.stage[a].copy(),
        s.headcount[a].copy(),
        s.cash[a].copy(),
        s.revenue[a].copy(),
    )


res = run_scenario(load_scenario("hangzhou"), seed, on_month=on_month)
months = sorted(snaps)
n = max(snaps[m][0].max() for m in months) + 1
R = np.full((len(months), n), np.nan)
ST = np.full((len(months), n), -1)
H = np.full((len(months), n), np.nan)
C = np.full((len(months), n), np.nan)
REV = np.full((len(months), n), np.nan)
for i, m in enumerate(months):
    a, r, stg, h, c, rv = snaps[m]
    R[i, a] = r
    ST[i, a] = stg
    H[i, a] = h
    C[i, a] = c
    REV[i, a] = rv
# seed month of each firm: first month stage >= 1 after being 0
rows = []
for f in range(n):
    st = ST[:, f]
    idx = np.flatnonzero((st[1:] >= 1) & (st[:-1] == 0))
    if idx.size == 0:
        continue
    m0 = idx[0] + 1
    row = {"firm": f, "m0": m0, "r0": R[m0, f], "h0": H[m0, f], "cash0": C[m0, f]}
    for k in (12, 24, 36):
        if m0 + k < len(months):
            row[f"r{k}"] = R[m0 + k, f]
            row[f"h{k}"] = H[m0 + k, f]
            row[f"alive{k}"] = np.isfinite(R[m0 + k, f])
    rows.append(row)
df = pd.DataFrame(rows)
for k in (12, 24, 36):
    seen = df[f"alive{k}"].notna()
    d = df[seen & df[f"alive{k}"].astype(bool)]
    g = d[f"r{k}"] / d["r0"]
    q = np.round(np.quantile(g, [0.1, 0.25, 0.5, 0.75, 0.9]), 2)
    print(
        f"+{k} months: seeded firms observed {int(seen.sum())}, alive {len(d)}; growth of R̂* "
        f"q10/25/50/75/90 {q}; share >= 5/3 (an A up round) {(g >= 5 / 3).mean():.3f}; "
        f"share >= 5 {(g >= 5).mean():.3f}; headcount median {d[f'h{k}'].median()}"
    )
