"""Calibration targets and how well a scenario meets them, over many seeds.

    aieco calibrate hangzhou --seeds 20

Each target comes from ``../shared/brief/domain.md`` (tags in ``TARGETS``). The measures:

* survival: share of startups founded during the run that have not failed 12 and 60 months after
  founding (acquired firms count as survivors), for cohorts old enough to be measured;
* founder origins: among startups founded in the run whose founder has a known career (an
  employer before founding, or a big-firm past), the share whose founder had worked at a big firm
  or came from a famous startup (Series C or later) — IT Juzi's "worked at a large or famous
  firm" [S50]; also the share whose last employer was a big firm;
* founders per 100 leavers of the largest firm: startups founded by its alumni per 100 people
  who left it ([S49]: 680–764 alumni startups per 60,000 leavers, cumulative);
* talent net inflow: (arrivals − departures) / workforce, per year ([S53]);
* western utilisation in year 1 with every voucher programme switched off ([S92], V9);
* the 5,000 question: the month the city first has 5,000 live startups, or the share of seeds
  that reach it within the horizon.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecosystem import outcomes
from ecosystem.run import RunResult, run_scenario
from ecosystem.scenario import Scenario


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    low: float
    high: float
    source: str
    percent: bool = True


TARGETS = (
    Target(
        "survival_1y", "startups alive 1 year after founding", 0.75, 0.85, "[S32][S33][S34] ~79–80%"
    ),
    Target("survival_5y", "startups alive 5 years after founding", 0.45, 0.55, "[S32][S34] ~50%"),
    Target(
        "founders_big_or_famous",
        "known-career founders who worked at a big or famous firm",
        0.85,
        0.95,
        "[S50] 90%",
    ),
    Target(
        "founders_per_100_leavers",
        "startups per 100 leavers of the largest firm",
        0.8,
        1.4,
        "[S49] 1.1–1.3; [S48] ~0.8–1.1",
        False,
    ),
    Target(
        "talent_net_inflow_per_year", "talent net inflow per year", 0.012, 0.016, "[S53] 1.2–1.6%"
    ),
    Target(
        "west_utilization_no_vouchers",
        "western utilisation, year 1, no vouchers",
        0.20,
        0.30,
        "[S92] V9: 20–30%",
    ),
)


def city_regions(scenario: Scenario) -> list[str]:
    return [k for k, r in scenario.regions.items() if r.kind == "city"]


#: Measures of one run that come from the outcome registry (``ecosystem.outcomes``).
REGISTRY_MEASURES = (
    "survival_1y",
    "survival_5y",
    "founders_big_or_famous",
    "founders_big_firm_last_job",
    "talent_net_inflow_per_year",
    "month_target_reached",
    "startups_alive_end",
    "west_utilization_end",
)


def measure(result: RunResult, no_voucher_result: RunResult | None = None) -> dict[str, float]:
    """The calibration measures of one run (see the module docstring).

    Everything but the two measures that need more than the run's tables comes from the outcome
    registry: ``founders_per_100_leavers`` (needs the largest firm's leaver count) and
    ``west_utilization_no_vouchers``, the registry's ``west_utilization_y1`` of the same scenario
    run without vouchers (``no_voucher_result``; the run itself when not given).
    """
    out = outcomes.compute(outcomes.RunData.from_result(result), REGISTRY_MEASURES)
    firms = result.firms
    new = firms[firms["founded_month"] >= 0]
    model = result.model
    if model is not None and model.big_firms:
        largest = max(model.big_firms, key=lambda b: b.spec.headcount)
        # Founders who left the firm during the run (the leavers counted in the denominator).
        left = (new["founder_alumni"] == largest.key) & (new["founder_left_alumni_month"] >= 0)
        direct = int((new["parent_id"] == largest.node).sum())
        leavers = max(largest.leavers_total, 1)
        out["founders_per_100_leavers"] = 100.0 * int(left.sum()) / leavers
        out["founders_per_100_leavers_direct"] = 100.0 * direct / leavers
    ref = no_voucher_result if no_voucher_result is not None else result
    out["west_utilization_no_vouchers"] = outcomes.compute(
        outcomes.RunData.from_result(ref), ["west_utilization_y1"]
    )["west_utilization_y1"]
    return out


def without_vouchers(scenario: Scenario) -> Scenario:
    """The same scenario with every compute-voucher programme switched off."""
    sc = scenario.model_copy(deep=True)
    for region in sc.regions.values():
        region.policy.voucher_rate = 0.0
        region.policy.voucher_rate_sme = 0.0
        region.policy.voucher_budget_yuan = 0.0
    return sc


def calibrate(scenario: Scenario, seeds: Iterable[int], progress=None) -> pd.DataFrame:
    """One row of measures per seed."""
    rows = []
    base = without_vouchers(scenario)
    for seed in seeds:
        result = run_scenario(scenario, seed)
        no_v = run_scenario(base, seed, months=12)
        rows.append({"seed": seed, **measure(result, no_v)})
        if progress is not None:
            progress()
    return pd.DataFrame(rows)


def report(table: pd.DataFrame, scenario: Scenario) -> str:
    """A Markdown table: each target, its source, the mean and 90% range across seeds, and a
    verdict."""
    lines = [
        f"Scenario `{scenario.meta.name}`, {len(table)} seeds "
        f"({int(table['seed'].min())}–{int(table['seed'].max())}), "
        f"{scenario.meta.years} years.",
        "",
        "| target | source | wanted | mean | 5–95% across seeds | met |",
        "|---|---|---|---|---|---|",
    ]

    def fmt(v: float, percent: bool = True) -> str:
        if v is None or math.isnan(v):
            return "–"
        return f"{v:.1%}" if percent else f"{v:,.2f}"

    for t in TARGETS:
        if t.key not in table:
            continue
        col = table[t.key].astype(float)
        lo, hi = np.nanpercentile(col, [5, 95])
        mean = float(col.mean())

        def pct(v: float, p: bool = t.percent) -> str:
            return fmt(v, p)

        wanted = f"{pct(t.low)}–{pct(t.high)}"
        met = "yes" if t.low <= mean <= t.high else "no"
        lines.append(
            f"| {t.label} | {t.source} | {wanted} | {pct(mean)} | {pct(lo)}–{pct(hi)} | {met} |"
        )
    extra = [
        (
            "founders_big_firm_last_job",
            "founders with a previous employer whose last job was at a big firm",
            True,
        ),
        (
            "founders_per_100_leavers_direct",
            "startups per 100 leavers of the largest firm, founded on leaving",
            False,
        ),
        ("west_utilization_end", "western utilisation in the last year (with vouchers)", True),
        ("startups_alive_end", "startups alive at the end", False),
    ]
    for key, label, percent in extra:
        if key in table:
            col = table[key].astype(float)
            lo, hi = np.nanpercentile(col, [5, 95])
            cells = (fmt(float(col.mean()), percent), fmt(lo, percent), fmt(hi, percent))
            lines.append(f"| {label} | (reported) | – | {cells[0]} | {cells[1]}–{cells[2]} | – |")
    reached = table["month_target_reached"].astype(float)
    share = float(reached.notna().mean())
    start = scenario.meta.start_year
    if share > 0:
        med = float(np.nanmedian(reached))
        when = f"median month {med:.0f} ({start + int(med) // 12})"
    else:
        when = "no seed reaches it"
    lines += [
        "",
        f"The {scenario.meta.target_startups:,}-startup question: {share:.0%} of seeds reach it "
        "within "
        f"{scenario.meta.years} years; {when}.",
    ]
    return "\n".join(lines)
