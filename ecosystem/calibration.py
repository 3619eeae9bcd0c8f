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
* talent outflow / gross inflow: departures / arrivals of the city regions ([S53] gives both as
  shares of China's mobile talent, not of the city's workforce, so only their ratio compares);
* western utilisation in year 1 with every voucher programme switched off ([S92], V9);
* the 5,000 question: the month the city first has 5,000 live startups, or the share of seeds
  that reach it within the horizon (reported, never a target);
* the failure hazard by age (a Kaplan–Meier life table over every firm of every run, the 2025
  stock left-truncated at its drawn age) and survival by founding cohort (:class:`Survival`),
  against domain.md §2.1 [S32][S33][S34][S36].
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
        "talent_outflow_to_inflow",
        "talent outflow / gross inflow",
        0.45,
        0.70,
        "[S53] 1.6% / ~3% = 0.53 (2024); 0.67 (2020)",
        False,
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
    "talent_outflow_to_inflow",
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
    out.update(funnel(firms, int(result.months)))
    ref = no_voucher_result if no_voucher_result is not None else result
    out["west_utilization_no_vouchers"] = outcomes.compute(
        outcomes.RunData.from_result(ref), ["west_utilization_y1"]
    )["west_utilization_y1"]
    return out


#: The Carta 2018 cohort [S37]: share of a venture cohort reaching each round, and its exits.
FUNNEL_BENCHMARKS = {
    "funnel_seed": 0.564, "funnel_a": 0.364, "funnel_b": 0.148, "funnel_c": 0.044,
    "venture_acquired": 0.055, "venture_shut": 0.619, "venture_listed": 0.0034,
}  # fmt: skip


#: Carta's cohort [S37] incorporated in 2018 and was observed on 1 January 2025: the funnel is
#: measured on the firms founded during the run that were observed at least this long.
FUNNEL_FOLLOW_UP_MONTHS = 72


def funnel(firms: pd.DataFrame, months: int) -> dict[str, float]:
    """The round funnel and exits measured as Carta measures them [S37]: on venture-track firms
    (those that ever sought a priced round) founded during the run at least
    :data:`FUNNEL_FOLLOW_UP_MONTHS` before its end (younger firms have had no time to reach
    later rounds: pooling them would censor the funnel; NaN when the run is shorter); plus how
    shut firms ended (insolvent vs closed by founders), over every firm founded in the run."""
    new = firms[firms["founded_month"] >= 0]
    cohort = new[new["founded_month"] <= months - FUNNEL_FOLLOW_UP_MONTHS]
    vt = cohort[cohort["venture_track"]] if "venture_track" in new.columns else new.iloc[:0]
    out = {"venture_track_firms": float(len(vt))}
    for key, stage in (("funnel_seed", 1), ("funnel_a", 2), ("funnel_b", 3), ("funnel_c", 4)):
        out[key] = float((vt["stage"] >= stage).mean()) if len(vt) else float("nan")
    exits = (
        ("venture_acquired", ["acquired"]),
        ("venture_shut", FAILURE_REASONS),
        ("venture_listed", ["listed"]),
    )
    for key, reasons in exits:
        out[key] = float(vt["exit_reason"].isin(reasons).mean()) if len(vt) else float("nan")
    shut = new["exit_reason"].isin(FAILURE_REASONS)
    out["shut_closed_share"] = (
        float((new["exit_reason"] == "closed").sum() / shut.sum()) if shut.any() else float("nan")
    )
    if "vc_invested_yuan" in firms.columns:
        out["vc_tvpi"] = float(outcomes.vc_returns(firms)["tvpi"].iloc[0])
    return out


#: Exit reasons that end a firm as a failure; any other exit (acquired, listed) censors it.
FAILURE_REASONS = outcomes.FAILURE_REASONS


@dataclass
class Survival:
    """Counts for the life table and the cohort table, summed over runs (pooled estimates).

    ``at_risk[a]`` firms observed at age ``a`` months and ``failures[a]`` of them failing in that
    month, over every firm seen in a run (the 2025 stock enters at its drawn age: left
    truncation); ``cohorts[year] = [founded, observed 1y, survived 1y, observed 2y, survived 2y,
    observed 5y, survived 5y, failed in year 1, closed in year 1, acquired in year 1]`` for the
    firms founded during the run. A horizon counts only once the cohort's last founders (its
    December) are observed that long: a cell of the first founders alone would be biased.
    """

    at_risk: np.ndarray
    failures: np.ndarray
    exits_before_5y: int = 0
    exits: int = 0
    cohorts: dict[int, np.ndarray] | None = None

    @classmethod
    def empty(cls, years: int = 10) -> Survival:
        return cls(np.zeros(12 * years, np.int64), np.zeros(12 * years, np.int64), 0, 0, {})

    def add(self, firms: pd.DataFrame, months: int, start_year: int) -> None:
        """Add one run's firms (``RunResult.firms``) observed for ``months`` months."""
        ages = len(self.at_risk)
        founded = firms["founded_month"].to_numpy(np.int64)
        exit_m = firms["exit_month"].astype("Float64").fillna(-1).to_numpy(np.float64).astype(int)
        exited = exit_m >= 0
        failed = exited & firms["exit_reason"].isin(FAILURE_REASONS).to_numpy()
        first = np.maximum(-founded, 0)
        last = np.where(exited, exit_m, months - 1) - founded
        keep = (first < ages) & (last >= first)
        diff = np.zeros(ages + 1, np.int64)
        np.add.at(diff, first[keep], 1)
        np.add.at(diff, np.minimum(last[keep], ages - 1) + 1, -1)
        self.at_risk += np.cumsum(diff)[:ages]
        dead = failed & (last < ages) & keep
        self.failures += np.bincount(last[dead], minlength=ages)[:ages]
        exit_age = (exit_m - founded)[failed]
        self.exits += int(failed.sum())
        self.exits_before_5y += int((exit_age < 60).sum())
        new = founded >= 0
        reason = firms["exit_reason"].to_numpy()
        for m0 in np.unique(founded[new] // 12 * 12):
            cohort = new & (founded // 12 * 12 == m0)
            row = self.cohorts.setdefault(start_year + int(m0) // 12, np.zeros(10, np.int64))
            row[0] += int(cohort.sum())
            for k, years in enumerate((1, 2, 5)):
                if m0 + 11 + 12 * years > months:  # its December founders not yet seen so long
                    continue
                seen = cohort & (founded + 12 * years <= months)
                alive = seen & ~(failed & (exit_m < founded + 12 * years))
                row[1 + 2 * k] += int(seen.sum())
                row[2 + 2 * k] += int(alive.sum())
                if years == 1:
                    within = seen & exited & (exit_m < founded + 12)
                    for j, kind in enumerate(("failed", "closed", "acquired")):
                        row[7 + j] += int((within & (reason == kind)).sum())

    def merge(self, other: Survival) -> None:
        """Add another set of runs' counts (pooled: the tables then cover both sets); both
        must cover the same ages."""
        if self.at_risk.shape != other.at_risk.shape:
            raise ValueError(
                f"cannot pool survival over {len(self.at_risk)} and "
                f"{len(other.at_risk)} months of age"
            )
        if self.cohorts is None:
            self.cohorts = {}
        self.at_risk += other.at_risk
        self.failures += other.failures
        self.exits_before_5y += other.exits_before_5y
        self.exits += other.exits
        for year, row in (other.cohorts or {}).items():
            self.cohorts.setdefault(year, np.zeros(10, np.int64))
            self.cohorts[year] += row

    def hazard(self) -> pd.DataFrame:
        """Per year of age: firm-months at risk, failures, the annual hazard
        1 − Π(1 − d/n) over the year's months and the Kaplan–Meier survival at its end."""
        with np.errstate(invalid="ignore", divide="ignore"):
            h = np.where(self.at_risk > 0, self.failures / np.maximum(self.at_risk, 1), np.nan)
        keep = 1.0 - np.nan_to_num(h)
        rows = []
        for y in range(len(h) // 12):
            part = slice(12 * y, 12 * y + 12)
            observed = bool(np.all(self.at_risk[part] > 0))
            rows.append(
                {
                    "age_year": y + 1,
                    "firm_months_at_risk": int(self.at_risk[part].sum()),
                    "failures": int(self.failures[part].sum()),
                    "hazard": 1.0 - float(np.prod(keep[part])) if observed else np.nan,
                    "km_survival": float(np.prod(keep[: 12 * y + 12])) if observed else np.nan,
                }
            )
        return pd.DataFrame(rows)


def without_vouchers(scenario: Scenario) -> Scenario:
    """The same scenario with every compute-voucher programme switched off."""
    sc = scenario.model_copy(deep=True)
    for region in sc.regions.values():
        region.policy.voucher_rate = 0.0
        region.policy.voucher_rate_sme = 0.0
        region.policy.voucher_budget_yuan = 0.0
    return sc


def calibrate(scenario: Scenario, seeds: Iterable[int], progress=None) -> pd.DataFrame:
    """One row of measures per seed; ``table.attrs["survival"]`` holds the pooled
    :class:`Survival` counts of every run (the life and cohort tables of :func:`report`)."""
    rows = []
    base = without_vouchers(scenario)
    survival = Survival.empty(max(scenario.meta.years, 1))
    for seed in seeds:
        result = run_scenario(scenario, seed)
        no_v = run_scenario(base, seed, months=12)
        rows.append({"seed": seed, **measure(result, no_v)})
        survival.add(result.firms, result.months, scenario.meta.start_year)
        if progress is not None:
            progress()
    table = pd.DataFrame(rows)
    table.attrs["survival"] = survival
    return table


#: What the life table is compared with (domain.md §2.1): survival to the end of age year y.
SURVIVAL_BENCHMARKS = {
    1: "79–80% [S32][S34]",
    2: "66% [S33]",
    4: "44% [S33]; information sector 38%",
    5: "~50% [S32]",
    10: "33–34% [S32][S34]",
}


def survival_report(survival: Survival, runs: int) -> str:
    """Markdown: failure hazard and Kaplan–Meier survival by age, and survival by cohort."""
    hz = survival.hazard()

    def pct(v: float) -> str:
        return "–" if v is None or not np.isfinite(v) else f"{v:.1%}"

    lines = [
        f"Failure hazard by age (Kaplan–Meier over every firm of {runs} runs, the 2025 stock "
        "entering at its drawn age; acquisitions censor, they are not failures):",
        "",
        "| age year | firm-months at risk | failures | annual hazard | survival at its end | "
        "benchmark |",
        "|---|---|---|---|---|---|",
    ]
    for r in hz.itertuples():
        bench = SURVIVAL_BENCHMARKS.get(int(r.age_year), "")
        lines.append(
            f"| {r.age_year} | {r.firm_months_at_risk:,} | {r.failures:,} | {pct(r.hazard)} | "
            f"{pct(r.km_survival)} | {bench} |"
        )
    share = survival.exits_before_5y / survival.exits if survival.exits else float("nan")
    lines += [
        "",
        f"Failures within 5 years of founding: {pct(share)} of all failures in the runs (China, "
        "all firms 2000–12: 59.1% of exits [S36]; a 10-year run truncates older exits).",
        "",
        "Survival by cohort (firms founded during the runs, pooled; a cell is empty until the "
        "cohort's last founders are old enough; exits within the first year by kind: failed = "
        "cash below zero, closed = shut by the founders below the viability line, acquired "
        "counts as surviving):",
        "",
        "| cohort | founded | survive 1 year | survive 2 years | survive 5 years | "
        "failed in year 1 | closed in year 1 | acquired in year 1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for year in sorted(survival.cohorts or {}):
        c = survival.cohorts[year]
        cells = [pct(c[2 + 2 * k] / c[1 + 2 * k]) if c[1 + 2 * k] else "–" for k in range(3)]
        cells += [pct(c[7 + j] / c[1]) if c[1] else "–" for j in range(3)]
        lines.append(f"| {year} | {c[0]:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


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
        (
            "venture_track_firms",
            "venture-track firms (ever sought a round) founded ≥ 6 years before the end",
            False,
        ),
        *(
            (k, f"{lab} (venture-track; Carta {FUNNEL_BENCHMARKS[k]:.1%} [S37])", True)
            for k, lab in (
                ("funnel_seed", "reached seed"),
                ("funnel_a", "reached Series A"),
                ("funnel_b", "reached Series B"),
                ("funnel_c", "reached Series C"),
                ("venture_acquired", "acquired"),
                ("venture_shut", "shut (failed or closed)"),
                ("venture_listed", "listed (IPO)"),
            )
        ),
        ("shut_closed_share", "shut firms closed by founders (the rest insolvent)", True),
        ("vc_tvpi", "investors' TVPI (exits + marks of live firms)", False),
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
    if "survival" in table.attrs:
        lines += ["", survival_report(table.attrs["survival"], len(table))]
    return "\n".join(lines)
