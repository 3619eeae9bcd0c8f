"""Tables of docs/design/vc-screen.md from the probe's files (benchmarks/vc_screen_probe.py).

.venv/bin/python benchmarks/vc_screen_report.py /tmp/vcd 0 1 2
"""

from __future__ import annotations

import sys
from pathlib import Path

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np
import pandas as pd

STAGES = ["seed", "A", "B", "C", "D+"]
QS = (0.1, 0.25, 0.5, 0.75, 0.9)


def fmt(x: float) -> str:
    a = abs(x)
    if not np.isfinite(x):
        return "–"
    if a >= 1e9:
        return f"{x / 1e9:.2f}bn"
    if a >= 1e6:
        return f"{x / 1e6:.2f}m"
    if a >= 1e4:
        return f"{x / 1e3:.0f}k"
    if a >= 10:
        return f"{x:.0f}"
    return f"{x:.3g}"


def quantile_table(df: pd.DataFrame, cols: dict[str, pd.Series]) -> str:
    head = "| quantity | " + " | ".join(f"q{int(q * 100)}" for q in QS) + " |"
    lines = [head, "|---|" + "---|" * len(QS)]
    for name, s in cols.items():
        v = np.asarray(s, float)
        v = v[np.isfinite(v)]
        qs = np.quantile(v, QS) if v.size else [np.nan] * len(QS)
        lines.append(f"| {name} | " + " | ".join(fmt(x) for x in qs) + " |")
    return "\n".join(lines)


def main() -> None:
    d = Path(sys.argv[1])
    seeds = [int(s) for s in sys.argv[2:]]
    apps = pd.concat(
        [pd.read_parquet(d / f"applicants_seed{s}.parquet").assign(seed=s) for s in seeds]
    )
    pools = pd.concat([pd.read_parquet(d / f"pools_seed{s}.parquet").assign(seed=s) for s in seeds])
    apps["ratio"] = apps["need"] / apps["v_hat"]
    apps["passes"] = (apps["need"] > 0) & (apps["v_hat"] > 0) & (apps["ratio"] <= 0.35)
    apps["year"] = apps["month"] // 12
    hz = apps[apps["region"] == "hangzhou"]
    runs = len(seeds)
    print(f"applications (firm-months) over {runs} runs: {len(hz):,}")
    for st in range(3):
        a = hz[(hz["stage"] == st) & (hz["need"] > 0)]
        first = a.drop_duplicates(["seed", "firm"])
        print(
            f"\n### Applying for {STAGES[st]} (stage before = {st}): {len(a):,} applications "
            f"({len(a) / runs:.0f} per run), {len(first) / runs:.0f} firms per run; pass "
            f"{a['passes'].mean():.1%}; close {a['closed'].mean():.1%}; short-runway motive "
            f"{a['short_runway'].mean():.1%}; age at application median "
            f"{a['age_m'].median():.0f} months\n"
        )
        print(
            quantile_table(
                a,
                {
                    "R̂* yearly (12 × expected monthly revenue), ¥": 12 * a["r_hat"],
                    "revenue now, yearly, ¥": 12 * a["revenue"],
                    "need = round size, ¥": a["need"],
                    "V̂ post-money, ¥": a["v_hat"],
                    "size / V̂": a["ratio"],
                    "headcount": a["headcount"],
                    "planned headcount H_plan": a["planned_headcount"],
                    "wage per month, ¥": a["wage"],
                    "cost per head per month (wage+opex+training compute), ¥": a["cost_per_head"],
                    "compute spend per month, ¥": a["compute_spend"],
                    "monthly costs (wages+opex+compute), ¥": a["monthly_costs"],
                    "cash, ¥": a["cash"],
                    "true log fit": a["log_fit"],
                    "believed log fit": a["believed_log_fit"],
                    "posterior sd of log fit": a["fit_sd"],
                },
            )
        )
        r = np.corrcoef(a["log_fit"], a["believed_log_fit"])[0, 1]
        closed = a[a["closed"]]
        print(
            f"\ncorr(true, believed log fit) {r:.2f}; share of closers with true log fit below "
            f"the founding median (−σ²/2 = −0.845): {(closed['log_fit'] < -0.845).mean():.1%}"
        )
    # Per month, Hangzhou: applicants, passing, closing; pool available vs spent
    ph = pools[pools["region"] == "hangzhou"]
    g = hz.groupby(["seed", "month"]).agg(
        applicants=("firm", "size"), passing=("passes", "sum"), closing=("closed", "sum")
    )
    m = ph.set_index(["seed", "month"]).join(g).fillna(0)
    m["used"] = m["spent"] / m["available"].where(m["available"] > 0)
    print("\n### Hangzhou per month (all stages)\n")
    print(
        quantile_table(
            m,
            {
                "applicants": m["applicants"],
                "passing the screen": m["passing"],
                "closing": m["closing"],
                "VC pool available, ¥": m["available"],
                "VC pool paid, ¥": m["spent"],
                "share of the month's pool used": m["used"],
            },
        )
    )
    # Per year and region: rounds closed, money, average round
    hz_closed = apps[apps["closed"]]
    yr = hz_closed.groupby(["region", "seed", "year"]).agg(
        rounds=("firm", "size"), money=("need", "sum")
    )
    pool_y = (
        pools.assign(year=pools["month"] // 12)
        .groupby(["region", "seed", "year"])
        .agg(annual=("annual", "first"), spent=("spent", "sum"))
    )
    yj = pool_y.join(yr).fillna(0)
    print(
        "\n### Per region and year (mean over seeds): rounds closed, money (need of closed "
        "rounds incl. guidance-fund share), average round, VC pool used\n"
    )
    agg = yj.groupby(["region", "year"]).mean()
    agg["avg_round"] = agg["money"] / agg["rounds"].where(agg["rounds"] > 0)
    agg["pool_used"] = agg["spent"] / agg["annual"]
    for (reg, yv), row in agg.iterrows():
        if yv in (0, 4, 9):
            print(
                f"| {reg} | y{yv + 1} | {row['rounds']:.0f} | {fmt(row['money'])} | "
                f"{fmt(row['avg_round'])} | {row['pool_used']:.1%} |"
            )
    by_stage = hz_closed.groupby(["stage"]).agg(n=("firm", "size"), money=("need", "sum"))
    by_stage["n"] /= runs * 10
    by_stage["money"] /= runs * 10
    by_stage["avg"] = by_stage["money"] / by_stage["n"]
    print("\n### Hangzhou rounds closed per year by stage raised (mean of 10 years)\n")
    for stv, row in by_stage.iterrows():
        print(f"| {STAGES[int(stv)]} | {row['n']:.0f} | {fmt(row['money'])} | {fmt(row['avg'])} |")


if __name__ == "__main__":
    main()
