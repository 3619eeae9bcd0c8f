"""The two compute choice rules side by side, on the same seeds and parameters.

``compute.choice_rule`` (docs/ODD.md §7.4 step 5; design docs/design/causal-core.md §2.8) is a
structural choice: "marginal" buys training until the last GPU-hour is worth its effective
price, "projects" buys the prefix of J candidate projects sized by the sector intensities. This
script runs a scenario under both (paired: same seeds, same parameters, by default a shipped
posterior's medians) and prints the headline outcomes, the voucher money's split and the
GPU-hours per head a month by sector (training and inference, the last full year):

    .venv/bin/python experiments/examples/choice_rules.py                     # Hangzhou, 5 years
    .venv/bin/python experiments/examples/choice_rules.py \
        --set regions.hangzhou.policy.voucher_portable=true
"""

from __future__ import annotations

import argparse
import sys

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import pandas as pd

from ecosystem import outcomes
from ecosystem.run import run_scenario
from ecosystem.scenario import load_scenario
from experiments.options import one_line_errors
from experiments.uncertainty import add_median_arguments, median_overrides

RULES = ("marginal", "projects")
OUTCOMES = (
    "startups_alive_y1",
    "startups_alive_end",
    "survival_1y",
    "compute_sold_gpu_h_total",
    "compute_bought_west_gpu_h_total",
    "west_utilization_y1",
    "west_utilization_end",
    "east_utilization_end",
    "revenue_yuan_total",
    "voucher_spent_yuan_total",
    "voucher_additional_share",
    "voucher_deadweight_share",
    "voucher_inference_share",
    "voucher_unused_share",
)


def per_head_by_sector(result) -> pd.Series:
    """GPU-hours (training and inference) per head a month, by sector, in the last full year."""
    fy = result.firm_years.merge(result.firms[["firm_id", "sector"]], on="firm_id")
    fy = fy[(fy["year"] == fy["year"].max() - 1) & (fy["headcount"] > 0)]
    sums = fy.groupby("sector")[["compute_gpu_h", "headcount"]].sum()
    return sums["compute_gpu_h"] / sums["headcount"] / 12.0


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_median_arguments(ap, "a scenario value on top of the medians for both rules")
    args = ap.parse_args(argv)
    base = median_overrides(args)
    rows, sectors = {}, {}
    for rule in RULES:
        scenario = load_scenario(args.scenario, {**base, "compute.choice_rule": rule})
        runs, heads = [], []
        for seed in range(1, args.seeds + 1):
            result = run_scenario(scenario, seed, months=12 * args.years)
            runs.append(outcomes.compute(outcomes.RunData.from_result(result), OUTCOMES))
            heads.append(per_head_by_sector(result))
        rows[rule] = pd.DataFrame(runs).mean()
        sectors[rule] = pd.concat(heads, axis=1).mean(axis=1)
    label = "the preset's values" if args.prior else f"posterior medians of {args.posterior}"
    pd.set_option("display.width", 160)
    print(f"{args.scenario}, {label}, {args.years} years, mean of {args.seeds} seed(s)")
    print(pd.DataFrame(rows).to_string(float_format=lambda x: f"{x:,.4g}"))
    print("\nGPU-h per head a month by sector (training and inference), last full year")
    print(pd.DataFrame(sectors).round(0).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
