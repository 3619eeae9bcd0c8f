"""The compute market's balance year by year: capacity, sales, startups' demand and prices, east
(city centers) and west (hubs), for one run of a preset.

Why it exists: validation patterns 8a (prices fall 50-60% in a year [S86][S87]) and 11 (western
hubs stay at 20-30% load [S92]) fail, and this table shows the mechanism behind both (see
docs/validation.md, "Patterns 8a and 11: the compute balance"). Startups' compute demand is what
they ask for before rationing (``compute_demand_gpu_h``); the share they get is ``served``.

    .venv/bin/python experiments/examples/compute_balance.py [--preset china] [--years 10]
        [--seed 1] [--set PATH=VALUE ...]
"""

from __future__ import annotations

import argparse
import sys

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import pandas as pd

from ecosystem import load_scenario
from ecosystem.run import run_scenario


def balance(result) -> pd.DataFrame:
    """One row per year of the run: capacity, sales (startups and users outside the model),
    utilisation and mean posted price of the city centers (east) and the hubs (west), in million
    GPU-hours a month; startups' demand and the share of it served, in million GPU-hours a year."""
    d = result.dc_kpis.assign(year=result.dc_kpis["month"] // 12)
    d["side"] = d["hub"].map({True: "west", False: "east"})
    sums = ["capacity_gpu_h", "sold_startups_gpu_h", "sold_background_gpu_h", "sold_gpu_h"]
    g = d.groupby(["year", "side"])[sums].sum() / 12 / 1e6
    g["util"] = g["sold_gpu_h"] / g["capacity_gpu_h"]
    g["price"] = d.groupby(["year", "side"])["price_yuan_per_gpu_h"].mean()
    wide = g.drop(columns="sold_gpu_h").unstack("side")
    short = {
        "capacity_gpu_h": "cap",
        "sold_startups_gpu_h": "startups",
        "sold_background_gpu_h": "other",
    }
    wide.columns = [f"{side}_{short.get(col, col)}" for col, side in wide.columns]
    k = result.kpis.assign(year=result.kpis["month"] // 12).groupby("year")
    wide["demand"] = k["compute_demand_gpu_h"].sum() / 1e6
    wide["served"] = k["compute_sold_gpu_h"].sum() / 1e6 / wide["demand"].where(wide["demand"] > 0)
    wide["revenue_bn"] = k["revenue_yuan"].sum() / 1e9
    return wide


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="china")
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")
    args = ap.parse_args(argv)
    scenario = load_scenario(args.preset, [f"meta.years={args.years}", *args.set])
    table = balance(run_scenario(scenario, seed=args.seed))
    growth = table["demand"].iloc[-1] / table["demand"].iloc[0]
    years = len(table) - 1
    print(f"{args.preset}, seed {args.seed}: capacity and sales in million GPU-h a month; demand")
    print("(startups' compute asked for before rationing) in million GPU-h a year; prices ¥/GPU-h")
    print(table.round(2).to_string())
    if years > 0:
        print(
            f"startups' demand x{growth:.1f} in {years} years ({growth ** (1 / years) - 1:+.0%} a "
            f"year); capacity east x{table['east_cap'].iloc[-1] / table['east_cap'].iloc[0]:.1f}, "
            f"west x{table['west_cap'].iloc[-1] / table['west_cap'].iloc[0]:.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
