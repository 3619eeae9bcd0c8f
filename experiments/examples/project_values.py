"""How far above their price the model's compute projects are valued, and where voucher money goes.

Voucher additionality (docs/validation.md, pattern 9) depends on how many candidate projects sit
near their price: a voucher at rate r makes additional only the projects worth between (1 − r)
and 1 of their price, or those its money frees from the firm's liquidity. Design §2.3 of
docs/design/causal-core.md assumed candidates "twice what a firm buys, so ~half pass at market
price". This script measures that premise on the model as it runs, under the projects rule
(``compute.choice_rule = "projects"``; the presets' marginal rule has no candidates, and the
script then prints only the money; design §2.8):

    python experiments/examples/project_values.py --set compute.choice_rule=projects
    python experiments/examples/project_values.py --set compute.choice_rule=projects --prior

For every month it records the (firm × project) arrays that ``compute_market.choose`` receives
when the firm chooses without vouchers (the first of its two calls; the function is pure, so
wrapping it changes no number of the run), and prints: the share of candidate projects worth
their full price (value / price ≥ 1), the share worth between 0.5 and 1 of it (the band a 50%
voucher can make additional), the quantiles of value / price, the share the firms buy without
vouchers and the share blocked only by liquidity; then the voucher money of the run split into
additional, deadweight on projects, deadweight on inference, and unused (the outcome registry).
"""

from __future__ import annotations

import argparse
import sys

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np
import pandas as pd

from ecosystem import compute_market, outcomes
from ecosystem.run import run_scenario
from ecosystem.scenario import load_scenario
from experiments.options import one_line_errors
from experiments.uncertainty import add_median_arguments, median_overrides


class Recorder:
    """Wraps ``compute_market.choose``: keeps what the no-voucher call of each month saw."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.calls = 0
        self.inner = compute_market.choose

    @staticmethod
    def describe(value, price, bought) -> dict:
        """Value / price of the candidates with a price, and the shares described above."""
        ok = price > 0
        if not ok.any():
            return {"candidates": 0}
        ratio = value[ok] / price[ok]
        worth = compute_market.row_prefix_all(value > price)
        q10, q50, q90 = np.quantile(ratio, [0.1, 0.5, 0.9])
        return {
            "candidates": int(ok.sum()),
            "worth_price": float((ratio >= 1).mean()),
            "worth_half_to_full": float(((ratio >= 0.5) & (ratio < 1)).mean()),
            "ratio_q10": float(q10),
            "ratio_q50": float(q50),
            "ratio_q90": float(q90),
            "bought": float(bought[ok].mean()),
            "liquidity_blocked": float((worth & ~bought)[ok].mean()),
        }

    @staticmethod
    def describe_vouchers(price, rate, entitlement) -> dict:
        """Of the firms an entitlement pays for (rate > 0): their share of all firms, the rate it
        pays on their training bill (their programme's rate × the share of that bill at centers
        where it is valid, the compute part of a project's price), and the share of them with
        entitlement left after their inference."""
        rate = np.broadcast_to(np.asarray(rate, dtype=np.float64), (price.shape[0],))
        ent = np.broadcast_to(np.asarray(entitlement, dtype=np.float64), (price.shape[0],))
        has = rate > 0
        if not has.any():
            return {"with_voucher": 0.0, "training_rate": np.nan, "left_after_inference": np.nan}
        return {
            "with_voucher": float(has.mean()),
            "training_rate": float(rate[has].mean()),
            "left_after_inference": float((ent[has] > 0).mean()),
        }

    def __call__(self, value, price, liquid, *args, **kwargs):
        out = self.inner(value, price, liquid, *args, **kwargs)
        if self.calls % 2 == 0:  # clear_market calls choose without, then with vouchers
            self.rows.append(self.describe(value, price, out[0]))
        else:
            self.rows[-1].update(
                self.describe_vouchers(price, kwargs["rate"], kwargs["entitlement"])
            )
        self.calls += 1
        return out


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_median_arguments(
        ap, "a scenario value on top of the medians, e.g. compute.candidate_scale=20"
    )
    args = ap.parse_args(argv)
    overrides = median_overrides(args)
    scenario = load_scenario(args.scenario, overrides)
    per_seed, money = [], []
    for seed in range(1, args.seeds + 1):
        rec = Recorder()
        compute_market.choose = rec
        try:
            result = run_scenario(scenario, seed, months=12 * args.years)
        finally:
            compute_market.choose = rec.inner
        df = pd.DataFrame(rec.rows)
        df["year"] = np.arange(len(df)) // 12 + 1
        per_seed.append(df.groupby("year").mean())
        data = outcomes.RunData.from_result(result)
        names = [f"voucher_{p}_share" for p in ("additional", "deadweight", "inference", "unused")]
        money.append(outcomes.compute(data, names))
    pd.set_option("display.width", 160)
    label = "the preset's values" if args.prior else f"posterior medians of {args.posterior}"
    if scenario.compute.choice_rule == "projects":
        table = pd.concat(per_seed).groupby(level=0).mean().drop(columns="candidates")
        print(f"{args.scenario}, {label}, {args.seeds} seed(s): candidate projects by year")
        print(table.round(3).to_string())
    else:  # no candidate projects: the firm buys up to the margin (docs/ODD.md §7.4 step 5)
        print(f"{args.scenario}, {label}, {args.seeds} seed(s): marginal choice, no projects")
    m = pd.DataFrame(money).mean()
    print(
        "\nvoucher money resolved: additional {:.1%}, deadweight {:.1%} "
        "(of which inference {:.1%}), unused {:.1%}".format(
            m["voucher_additional_share"],
            m["voucher_deadweight_share"],
            m["voucher_inference_share"],
            m["voucher_unused_share"],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
