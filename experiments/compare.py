"""``aieco compare``: the cities side by side, and one city's policies tried in another.

    aieco compare                # every city of ``china``, 8 parameter draws × 2 seeds, 10 years
    aieco compare hangzhou chengdu --years 5 --param-draws 0 --replicates 10 --out results/cities
    aieco compare chengdu wenzhou --policy-from hangzhou   # would Hangzhou's policies work there?
    aieco compare chengdu --policy-from hangzhou --scale startups
    aieco compare --isolated hangzhou chengdu  # each city alone, the rest of China outside

**The cities compete inside one national model** (issue 10 point 6). Every row is read from one
run of the national scenario per seed (``--national``, default ``china``: ten cities, the four
western hubs shared by all of them, talent moving between cities), so a city's compute purchases
and migrants are not free of the others, and a seed is a whole country: common random numbers
across cities come for free. ``--isolated`` runs each city as its own single-city preset (the
hubs then serve only that city; useful for teaching and for comparison with earlier versions).

Replicates use common random numbers: seeds come from ``SeedSequence(--seed).spawn(R)``
(``experiments.spec.replicate_seeds``); with D parameter draws, ``spawn(D·R)``, each draw its
own R (``experiments.uncertainty.DrawDesign``). Runs go through ``experiments.tasks.run_one``
in this process (``--workers 1``) or on local processes; results are keyed by variant and
replicate, so the table does not depend on the number of workers.

With ``--policy-from SRC`` each other named city X gets a second national run per seed in which X
has SRC's whole ``policy`` table (:func:`transplanted`). Rates, per-firm caps and per-person
amounts are copied; the yearly budgets (``Policy.YEARLY_BUDGETS``) are scaled to X's size by
``--scale``: ``gdp`` (default; ``regions.<id>.gdp_yuan``, because budgets follow fiscal capacity),
``workforce`` (initial AI workforce; better for provinces, whose GDP is far larger than their AI
region), ``startups`` (initial startups) or ``none`` (as written: "this package, as is, in that
city"). The transplant row reports, paired by seed against X's own-policy row, the change in X's
startups, in every other city's (displacement) and in X's public spending.

Outputs in DIR (default ``results/compare``):

* ``comparison.parquet`` / ``comparison.csv``: one row per city (and per transplant); after
  ``run_id`` and ``seed`` (the root seed) comes the preset name, ``label`` says e.g.
  ``chengdu (policy: hangzhou)``;
* ``trajectories.parquet``: startups alive by month for every run;
* ``trajectories.png``: median startups alive with 5–95% bands, the target line marked;
* ``manifest.json``: rows, national scenario, scale, every run's scenario document, seeds,
  horizon, command line, versions.

Every column is described in ``docs/outputs.md``. The folder is written through
``ecosystem.outputs``: a non-empty folder aieco did not write is refused unless ``--overwrite``.

Per-city outcomes (city = the row's region, west = the run's ``hub`` regions):
startups alive at years 1, 5 and 10 (mean and 5th–95th percentile across replicates); the first
month with ``startups_alive >= meta.target_startups`` (mean over the replicates that reach it, and
the share that do; ``month_target_reached_mean`` counts months from January of the start year, from
0, and ``target_date`` is it as YYYY-MM); founders by origin, voucher spending (sums over the
horizon); compute utilisation east and west (GPU-hours sold / capacity over the last 12 months);
talent net inflow per year (share of the city's AI workforce); the city's own public spending.
Every outcome but the last is the registry's (``ecosystem.outcomes``), under its registry name;
the table reports means over replicates.
Exit codes: 0 done, 1 some runs failed, 2 bad input
(one line ``error: ...`` on stderr, nothing written), 130 interrupted.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecosystem import outcomes
from ecosystem.cli import add_output_flags
from ecosystem.outcomes import ORIGINS
from ecosystem.outputs import atomic_file, check_out_dir, write_dir, write_parquet
from ecosystem.scenario import (
    Scenario,
    ScenarioError,
    is_annotated,
    load_document,
    preset_names,
    scenario_from_dict,
    strip_provenance,
)
from ecosystem.scenario.schema import Policy
from ecosystem.seeds import seed_problem
from experiments.options import add_draw_arguments, posterior_choice
from experiments.runner import execute_tasks
from experiments.uncertainty import (
    LEVEL,
    P_LEVEL,
    DrawDesign,
    first_month_at_least,
    make_design,
    reach_probability,
    spread,
)

EXIT_OK, EXIT_FAILED_RUNS, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_OUT = Path("results") / "compare"
DEFAULT_REPLICATES = 5
#: ``aieco compare`` (the README's main job) includes parameter uncertainty by default: D = 8
#: draws from the calibration spec's priors (or --posterior) × 2 seeds each, 16 national runs,
#: about as long as the 5 seed-only replicates of before (docs/outputs.md, 'Parameter
#: uncertainty'); --param-draws 0 gives seeds only (DEFAULT_REPLICATES seeds).
DEFAULT_COMPARE_DRAWS, DEFAULT_SEEDS_PER_DRAW = 8, 2
YEARS_REPORTED = (1, 5, 10)


# --------------------------------------------------------------------------------------------
# Scenarios: the national model, single-city presets and policy transplants
# --------------------------------------------------------------------------------------------
#: The national scenario a comparison runs by default: every city in one model.
DEFAULT_NATIONAL = "china"

#: How a transplanted policy's yearly budgets (``Policy.YEARLY_BUDGETS``) are scaled to the
#: destination: by the ratio destination / source of ...
SCALE_BASES = {
    "gdp": "GDP (regions.<id>.gdp_yuan)",
    "workforce": "initial AI workforce (big firms' headcount + university staff + job seekers)",
    "startups": "initial startups",
    "none": "nothing: budgets copied as written",
}
DEFAULT_SCALE = "gdp"


def _region_kinds(doc: dict) -> dict[str, str]:
    regions, _ = strip_provenance(doc.get("regions", {}))
    return {rid: str(r.get("kind", "city")) for rid, r in regions.items() if isinstance(r, dict)}


def cities_of(doc: dict) -> list[str]:
    return [rid for rid, kind in _region_kinds(doc).items() if kind == "city"]


def city_of(doc: dict, preset: str) -> str:
    """The one region of kind ``city`` in a preset's document; ScenarioError if not exactly one."""
    cities = cities_of(doc)
    if len(cities) != 1:
        raise ScenarioError(
            "compare",
            preset,
            f"has {len(cities)} city regions; expected a single-city preset "
            f"({', '.join(city_presets())})",
        )
    return cities[0]


def hubs_of(doc: dict) -> list[str]:
    return [rid for rid, kind in _region_kinds(doc).items() if kind == "hub"]


def city_presets() -> list[str]:
    """Shipped presets with exactly one city region (all but ``china``), alphabetically."""
    out = []
    for name in preset_names():
        kinds = _region_kinds(load_document(name))
        if sum(k == "city" for k in kinds.values()) == 1:
            out.append(name)
    return out


def _preset_document(name: str, allowed: str = "") -> dict:
    if name not in preset_names():
        choices = allowed or ", ".join(preset_names())
        raise ScenarioError("compare", name, f"unknown preset; allowed: {choices}")
    return load_document(name)


def _annotate_transplant(node, note: str):
    """Copy of a policy table with every leaf's provenance prefixed by the transplant note."""
    if is_annotated(node):
        node = dict(node)
        if "source" in node:
            node["source"] = f"{note}: {node['source']}"
        elif "assumption" in node:
            node["assumption"] = f"{note}: {node['assumption']}"
        else:
            node["source"] = note
        return node
    if isinstance(node, dict):
        return {k: _annotate_transplant(v, note) for k, v in node.items()}
    return {"value": copy.deepcopy(node), "source": note}


def region_size(doc: dict, region: str, base: str) -> float:
    """The size of ``region`` in a scenario document by one of :data:`SCALE_BASES`.

    ScenarioError (one line, naming the field) when the base is unknown or the region lacks it.
    """
    if base not in SCALE_BASES:
        raise ScenarioError("--scale", base, f"must be one of {', '.join(SCALE_BASES)}")
    plain, _ = strip_provenance(doc.get("regions", {}).get(region, {}))
    if base == "gdp":
        gdp = plain.get("gdp_yuan")
        if not gdp:
            raise ScenarioError(
                f"regions.{region}.gdp_yuan",
                gdp,
                "needed by --scale gdp; set it or choose --scale workforce, startups or none",
            )
        return float(gdp)
    if base == "workforce":
        talent = plain.get("talent") or {}
        return float(
            sum(b.get("headcount", 0) for b in (plain.get("big_firms") or {}).values())
            + sum(u.get("staff", 0) for u in (plain.get("universities") or {}).values())
            + talent.get("initial_job_seekers", 0)
        )
    if base == "startups":
        return float(plain.get("initial_startups", 0))
    return 1.0


def transplanted(
    target: dict, tcity: str, source: dict, scity: str, scale: str, source_name: str
) -> dict:
    """``target`` (a scenario document) with region ``tcity``'s whole ``policy`` table replaced
    by ``source``'s region ``scity``'s, yearly budgets scaled by :func:`region_size` ratio.

    Rates, caps and per-person amounts are copied; each leaf's provenance notes the transplant
    (and the factor, for budgets).
    """
    factor = 1.0
    if scale != "none":
        src_size = region_size(source, scity, scale)
        if src_size <= 0:
            raise ScenarioError(
                "--scale", scale, f"{source_name}'s {scity} has size 0 by {SCALE_BASES[scale]}"
            )
        factor = region_size(target, tcity, scale) / src_size
    note = f"policy transplanted from {source_name} (regions.{scity}.policy)"
    policy = _annotate_transplant(copy.deepcopy(source["regions"][scity].get("policy", {})), note)
    for name in Policy.YEARLY_BUDGETS:
        leaf = policy.get(name)
        if leaf is None or scale == "none":
            continue
        key = "source" if "source" in leaf else "assumption"
        leaf["value"] = float(leaf["value"]) * factor
        leaf[key] = f"{leaf[key]}; scaled by {scale} ({tcity} / {scity} = {factor:.3g})"
    doc = copy.deepcopy(target)
    doc["regions"][tcity]["policy"] = policy
    meta = doc.setdefault("meta", {})
    desc = meta.get("description", "")
    desc = desc["value"] if is_annotated(desc) else desc
    how = "budgets as written" if scale == "none" else f"budgets scaled by {scale}"
    meta["description"] = (
        f"{desc} {tcity} with {source_name}'s policy package ({note}; {how}).".strip()
    )
    return doc


def transplant_document(target_preset: str, source_preset: str, scale: str = "none") -> dict:
    """The target single-city preset's annotated document with its city's ``policy`` table
    replaced by the source preset city's (see :func:`transplanted`)."""
    target = _preset_document(target_preset)
    source = _preset_document(source_preset)
    tcity, scity = city_of(target, target_preset), city_of(source, source_preset)
    return transplanted(target, tcity, source, scity, scale, source_preset)


def transplant_policy(target_preset: str, source_preset: str, scale: str = "none") -> Scenario:
    """``target_preset`` with its city's whole policy table taken from ``source_preset``'s city.

    Only ``regions.<target city>.policy`` (and the description) changes; every other value,
    hubs included, is the target's. Raises ScenarioError (one line) for unknown or multi-city
    presets.
    """
    return scenario_from_dict(transplant_document(target_preset, source_preset, scale))


# --------------------------------------------------------------------------------------------
# Cases and runs
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Variant:
    """One scenario, run once per replicate seed; one or more table rows are read from it."""

    label: str
    document: dict = field(repr=False, hash=False, compare=False)


@dataclass(frozen=True)
class Case:
    """One row of the comparison: a city, with its own policy or another city's, read from the
    runs of ``variant`` (its index in the comparison's variants)."""

    preset: str
    policy_from: str  # the city whose policy it runs (itself when its own)
    city: str
    hubs: tuple[str, ...]
    variant: int = 0
    start_year: int = 2025
    target: int = 5000

    @property
    def label(self) -> str:
        return (
            self.preset
            if self.policy_from == self.preset
            else f"{self.preset} (policy: {self.policy_from})"
        )


@dataclass(frozen=True)
class Plan:
    """What a comparison runs (variants) and reports (cases, in table order)."""

    variants: list[Variant]
    cases: list[Case]
    national: str | None  # the national scenario's name, or None when cities run as presets
    scale: str


def _with_years(doc: dict, years: int | None) -> dict:
    if years is None:
        return doc
    doc = copy.deepcopy(doc)
    doc.setdefault("meta", {})["years"] = {"value": int(years), "source": "aieco compare --years"}
    return doc


def _meta(doc: dict) -> tuple[int, int, str]:
    """Start year, target and name of a scenario document (ScenarioError if it is invalid)."""
    scenario = scenario_from_dict(doc)
    return scenario.meta.start_year, scenario.meta.target_startups, scenario.meta.name


def build_plan(
    cities: list[str] | None = None,
    policy_from: str | None = None,
    years: int | None = None,
    national: str | None = DEFAULT_NATIONAL,
    scale: str = DEFAULT_SCALE,
) -> Plan:
    """Validate every scenario before any run.

    With ``national`` (default ``china``) every named city is read from one national run per seed
    (shared hubs, migration between cities); ``policy_from`` adds, per other named city, a national
    run in which that city has the source city's policy. With ``national=None`` each city runs as
    its own single-city preset (the rest of China outside the model).
    """
    if scale not in SCALE_BASES:
        raise ScenarioError("--scale", scale, f"must be one of {', '.join(SCALE_BASES)}")
    if national is None:
        return _isolated_plan(cities, policy_from, years, scale)
    if national not in preset_names() and national.endswith(".toml"):
        doc = _with_years(load_document(national), years)  # a researcher's own national file
    else:
        doc = _with_years(_preset_document(national), years)
    all_cities = cities_of(doc)
    if len(all_cities) < 2:
        raise ScenarioError(
            "--national", national, "must have at least two city regions (for example china)"
        )
    allowed = ", ".join(all_cities)
    for name in [*(cities or []), *([policy_from] if policy_from else [])]:
        if name not in all_cities:
            raise ScenarioError("compare", name, f"not a city of {national}; allowed: {allowed}")
    names = list(dict.fromkeys(cities)) if cities else all_cities
    hubs = tuple(hubs_of(doc))
    start, target, label = _meta(doc)
    variants, cases = [Variant(label, doc)], []
    for name in names:
        cases.append(Case(name, name, name, hubs, 0, start, target))
        if policy_from is not None and policy_from != name:
            moved = transplanted(doc, name, doc, policy_from, scale, policy_from)
            _meta(moved)
            variants.append(Variant(f"{label}: {name} with {policy_from}'s policy", moved))
            cases.append(Case(name, policy_from, name, hubs, len(variants) - 1, start, target))
    return Plan(variants, cases, label, scale)


def _isolated_plan(
    presets: list[str] | None, policy_from: str | None, years: int | None, scale: str
) -> Plan:
    allowed = ", ".join(city_presets())
    names = list(dict.fromkeys(presets)) if presets else city_presets()
    if policy_from is not None:
        city_of(_preset_document(policy_from, allowed), policy_from)
    variants, cases = [], []
    for name in names:
        own = _preset_document(name, allowed)
        city = city_of(own, name)
        options = [(name, own)]
        if policy_from is not None and policy_from != name:
            options.append((policy_from, transplant_document(name, policy_from, scale)))
        for src, doc in options:
            doc = _with_years(doc, years)
            start, target, _ = _meta(doc)
            label = name if src == name else f"{name} (policy: {src})"
            variants.append(Variant(label, doc))
            cases.append(
                Case(name, src, city, tuple(hubs_of(doc)), len(variants) - 1, start, target)
            )
    return Plan(variants, cases, None, scale)


#: Registry outcomes (``ecosystem.outcomes``) a comparison row reports, as means over replicates.
REGISTRY_MEANS = (
    *[f"founders_{o}_total" for o in ORIGINS],
    "voucher_spent_yuan_total",
    "east_utilization_end",
    "west_utilization_end",
    "talent_net_inflow_per_year",
    "largest_startup_staff_end",
)
#: ... and the city's own public spending (:func:`city_public_spending`; the registry's
#: ``public_spending_yuan_total`` counts every region of the run).
MEAN_OUTCOMES = (*REGISTRY_MEANS, "city_public_spending_yuan_total")


def run_outcomes(kpis: pd.DataFrame, case: Case) -> tuple[dict[str, float], pd.Series]:
    """One run's outcomes from the registry (the case's city and hubs) and its startups-alive
    trajectory (by month)."""
    data = outcomes.RunData(
        kpis=kpis,
        cities=[case.city],
        hubs=list(case.hubs),
        target_startups=case.target,
        months=int(kpis["month"].max()) + 1,
    )
    names = [
        *(f"startups_alive_y{y}" for y in YEARS_REPORTED),
        "startups_alive_end",
        "month_target_reached",
        *REGISTRY_MEANS,
    ]
    alive = data.monthly("city")["startups_alive"].astype(float)
    return outcomes.compute(data, names), alive


def _others_alive_end(kpis: pd.DataFrame, case: Case, cities: list[str]) -> float:
    """Startups alive at the end in every city of the run but the case's own."""
    last = kpis[kpis["month"] == kpis["month"].max()]
    others = [c for c in cities if c != case.city]
    return float(last.loc[last["region"].isin(others), "startups_alive"].sum())


def _month_date(start_year: int, month: float) -> str | None:
    if not np.isfinite(month):
        return None
    m = int(round(month))
    return f"{start_year + m // 12}-{m % 12 + 1:02d}"


def _stats(v: np.ndarray) -> tuple[float, float, float]:
    v = v[np.isfinite(v)]
    if not len(v):
        return (np.nan, np.nan, np.nan)
    return float(v.mean()), float(np.percentile(v, 5)), float(np.percentile(v, 95))


def aggregate(
    case: Case,
    runs: list[dict[str, float]],
    replicates: int,
    years: int,
    root_seed: int,
    run_id: str = "",
) -> dict:
    """One table row from the outcomes of a case's successful runs (one dict per replicate; a
    transplant's dicts also carry the paired changes against its own-policy run)."""
    df = pd.DataFrame(runs)
    row: dict = {
        "run_id": run_id,
        "seed": root_seed,
        "preset": case.preset,
        "label": case.label,
        "policy_from": case.policy_from,
        "city": case.city,
        "replicates": replicates,
        "runs_ok": len(df),
        "years": years,
    }

    def col(name: str) -> np.ndarray:
        return df[name].to_numpy(dtype=float) if name in df else np.array([], dtype=float)

    draw = col("draw") if "draw" in df else np.full(len(df), -1.0)
    row["param_draws"] = int(len(np.unique(draw[draw >= 0])))
    for y in YEARS_REPORTED:
        values = col(f"startups_alive_y{y}")
        stats = _stats(values)
        for suffix, value in zip(("mean", "p5", "p95"), stats, strict=True):
            row[f"startups_alive_y{y}_{suffix}"] = value
        sp = spread(values, draw, LEVEL)
        row[f"startups_alive_y{y}_seed_p5"], row[f"startups_alive_y{y}_seed_p95"] = sp.seed
        row[f"startups_alive_y{y}_param_p5"], row[f"startups_alive_y{y}_param_p95"] = sp.param
        row[f"startups_alive_y{y}_param_share"] = sp.param_share
    row["_reach"] = reach_rows(case, col, draw, years, root_seed, run_id)
    months = col("month_target_reached")
    reached = months[np.isfinite(months)]
    row["target_startups"] = case.target
    row["month_target_reached_mean"] = float(reached.mean()) if len(reached) else np.nan
    row["target_date"] = _month_date(case.start_year, row["month_target_reached_mean"])
    row["target_reached_share"] = float(len(reached) / len(months)) if len(months) else np.nan
    for name in MEAN_OUTCOMES:
        row[name] = _stats(col(name))[0]
    for name in PAIRED_CHANGES:
        stats = _stats(col(name))
        for suffix, value in zip(("mean", "p5", "p95"), stats, strict=True):
            row[f"{name}_{suffix}"] = value
    return row


#: The 5,000 of the main question (H12): P(startups >= 5,000 by year Y) is reported for every
#: row, and P(>= the scenario's own target) as well where its meta.target_startups differs.
REACH_YARDSTICK = 5000


def reach_rows(case: Case, col, draw: np.ndarray, years: int, root_seed: int, rid: str) -> list:
    """Rows of ``reach.parquet`` for one case: P(startups >= threshold by the end of year Y),
    for the 5,000 yardstick and (where it differs) the scenario's own target."""
    thresholds = [("yardstick", REACH_YARDSTICK)]
    if case.target != REACH_YARDSTICK:
        thresholds.append(("own_target", case.target))
    rows = []
    for kind, threshold in thresholds:
        first = col(f"first_month_{kind}")
        for y in range(1, years + 1):
            hit = np.where(np.isfinite(first) & (first <= 12 * y - 1), 1.0, 0.0)
            p, lo, hi = reach_probability(hit, draw, root_seed)
            rows.append(
                {
                    "run_id": rid,
                    "seed": root_seed,
                    "preset": case.preset,
                    "label": case.label,
                    "threshold_kind": kind,
                    "threshold": int(threshold),
                    "year": int(y),
                    "end_date": dt.date(case.start_year + y - 1, 12, 31),
                    "probability": p,
                    "probability_low": lo,
                    "probability_high": hi,
                    "param_draws": int(len(np.unique(draw[draw >= 0]))),
                    "runs": int(len(first)),
                }
            )
    return rows


#: Paired by seed, a transplant row against the same city's own-policy row: the change in the
#: city's startups alive at the end, in the other cities' (national runs: displacement through
#: shared hubs and mobile talent), and in the city's public spending. NULL on own-policy rows.
PAIRED_CHANGES = (
    "change_startups_alive_end",
    "change_others_startups_alive_end",
    "change_public_spending_yuan_total",
)


def city_public_spending(kpis: pd.DataFrame, city: str) -> float:
    """Yuan the city's own government spent over the run (every ``*_spent_yuan`` KPI of its
    region but the national programme's)."""
    cols = [c for c in kpis.columns if c.endswith("_spent_yuan") and not c.startswith("national_")]
    return float(kpis.loc[kpis["region"] == city, cols].to_numpy(dtype=float).sum())


@dataclass
class Comparison:
    table: pd.DataFrame
    trajectories: pd.DataFrame
    cases: list[Case]
    seeds: list[int]
    years: int
    failures: list[tuple[str, int, str]]
    wall_s: float
    variants: list[Variant] = field(default_factory=list)
    national: str | None = None
    scale: str = DEFAULT_SCALE
    designs: list[DrawDesign] | None = None
    reach: pd.DataFrame = field(default_factory=pd.DataFrame)


def plan_designs(
    plan: Plan,
    draws: int,
    seeds: int,
    root_seed: int,
    spec: str = "hangzhou",
    posterior: str | None = None,
    assumptions: str | None = None,
    screen: bool = False,
    workers: int | None = 1,
    progress: bool = False,
) -> list[DrawDesign] | None:
    """One parameter-draw design per variant (None when ``draws`` is 0): the same draws (by
    parameter name) and seeds in every variant, so every row pairs with every other; with
    ``screen`` only the draws :func:`experiments.screen.screen_draws` keeps, the same in
    every variant."""
    from experiments.screen import check_screen_options, screen_draws

    check_screen_options(screen, assumptions)
    if draws == 0:  # checks the options
        make_design({}, 0, seeds, root_seed, spec, posterior, [], assumptions)
        return None
    designs = [
        make_design(v.document, draws, seeds, root_seed, spec, posterior, None, assumptions)
        for v in plan.variants
    ]
    if screen:
        screen_draws(designs, workers, progress)
    return designs


def _runs(seeds: list[int], design: DrawDesign | None) -> list[tuple[int, int, int, int]]:
    """(replicate, draw, seed index, seed) of a variant's runs; draw −1 without draws."""
    if design is None:
        return [(r, -1, r, s) for r, s in enumerate(seeds)]
    S = design.seeds_per_draw
    return [(m * S + r, m, r, s) for m, r, s in design.pairs()]


def run_comparison(
    plan: Plan,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    workers: int | None = 1,
    progress: bool = False,
    designs: list[DrawDesign] | None = None,
) -> Comparison:
    """Run every variant for every replicate seed (with ``designs``: every parameter draw ×
    seed, the same pairs in every variant); one table row per case."""
    from experiments.spec import RunTask, replicate_seeds

    # every variant runs the same (draw, seed) pairs: with draws their D·S seeds, recorded
    seeds = designs[0].run_seeds() if designs else replicate_seeds(seed, replicates)
    variants, cases = plan.variants, plan.cases
    runs = {i: _runs(seeds, designs[i] if designs else None) for i in range(len(variants))}
    tasks = [
        RunTask(
            run_id=f"v{i:03d}-r{rep:03d}" if m < 0 else f"v{i:03d}-d{m:03d}-r{r:03d}",
            point=i,
            replicate=rep,
            variant=v.label,
            seed=s,
            params=designs[i].params(m) if designs else {},
            overrides=designs[i].overrides(m) if designs else {},
            months=scenario_months(v),
        )
        for i, v in enumerate(variants)
        for rep, m, r, s in runs[i]
    ]
    kpis = ["*"]  # every KPI column: rows read their city's spending and the other cities
    t0 = time.perf_counter()
    documents = [v.document for v in variants]
    records = execute_tasks(tasks, documents, kpis, workers, _progress(len(tasks), progress))

    years = scenario_months(variants[0]) // 12 if variants else 0
    rid = comparison_id(plan, seeds, designs)
    seed_of = {(t.point, t.replicate): t.seed for t in tasks}
    draw_of = {(i, rep): m for i in runs for rep, m, _, _ in runs[i]}
    failures = [
        (variants[i].label, seed_of[(i, r)], str(rec.get("error", "")))
        for (i, r), rec in sorted(records.items())
        if rec.get("status") != "ok"
    ]
    cities = cities_of(variants[0].document) if plan.national else []
    measured: dict[tuple[int, int], tuple[dict[str, float], pd.Series]] = {}
    for i, case in enumerate(cases):
        for r, _, _, _ in runs[case.variant]:
            rec = records[(case.variant, r)]
            if rec.get("status") == "ok":
                out, alive = run_outcomes(rec["kpis"], case)
                out["draw"] = float(draw_of[(case.variant, r)])
                a = alive.to_numpy()
                out["first_month_yardstick"] = first_month_at_least(a, REACH_YARDSTICK)
                out["first_month_own_target"] = first_month_at_least(a, case.target)
                out["city_public_spending_yuan_total"] = city_public_spending(
                    rec["kpis"], case.city
                )
                out["others_alive_end"] = (
                    _others_alive_end(rec["kpis"], case, cities) if cities else np.nan
                )
                measured[(i, r)] = (out, alive)
    own = {c.city: i for i, c in enumerate(cases) if c.policy_from == c.preset}
    rows, trajectories = [], []
    for i, case in enumerate(cases):
        done = []
        for r, m, _, s in runs[case.variant]:
            if (i, r) not in measured:
                continue
            out, alive = measured[(i, r)]
            out = dict(out)
            base = measured.get((own.get(case.city, -1), r))
            if case.policy_from != case.preset and base is not None:
                b = base[0]
                out["change_startups_alive_end"] = (
                    out["startups_alive_end"] - b["startups_alive_end"]
                )
                out["change_others_startups_alive_end"] = (
                    out["others_alive_end"] - b["others_alive_end"]
                )
                out["change_public_spending_yuan_total"] = (
                    out["city_public_spending_yuan_total"] - b["city_public_spending_yuan_total"]
                )
            done.append(out)
            trajectories.append(
                pd.DataFrame(
                    {
                        "run_id": f"{rid}-v{case.variant:03d}-r{r:03d}",
                        "seed": s,
                        "preset": case.preset,
                        "label": case.label,
                        "replicate": r,
                        "draw": pd.array([None if m < 0 else m] * len(alive), dtype="Int64"),
                        "month": alive.index.to_numpy(),
                        "date": _first_days(case.start_year, alive.index.to_numpy()),
                        "startups_alive": alive.to_numpy(),
                    }
                )
            )
        rows.append(
            aggregate(
                case, done, replicates, scenario_months(variants[case.variant]) // 12, seed, rid
            )
        )
    reach = pd.DataFrame(
        [r for row in rows for r in row.pop("_reach")], columns=list(REACH_COLUMNS)
    )
    table = pd.DataFrame(rows)
    traj = (
        pd.concat(trajectories, ignore_index=True)
        if trajectories
        else pd.DataFrame(columns=list(TRAJECTORY_COLUMNS))
    )
    return Comparison(
        table,
        traj,
        cases,
        seeds,
        years,
        failures,
        time.perf_counter() - t0,
        variants,
        plan.national,
        plan.scale,
        designs,
        reach,
    )


REACH_COLUMNS = (
    "run_id",
    "seed",
    "preset",
    "label",
    "threshold_kind",
    "threshold",
    "year",
    "end_date",
    "probability",
    "probability_low",
    "probability_high",
    "param_draws",
    "runs",
)

TRAJECTORY_COLUMNS = (
    "run_id",
    "seed",
    "preset",
    "label",
    "replicate",
    "draw",
    "month",
    "date",
    "startups_alive",
)


def comparison_id(plan: Plan, seeds: list[int], designs: list[DrawDesign] | None = None) -> str:
    """``compare-<hash>`` of what was compared: documents (hence presets, horizon and scaling),
    the rows, seeds and parameter draws."""
    draws = [d.table.to_dict(orient="list") for d in designs] if designs else []
    key = json.dumps(
        [[v.label, v.document] for v in plan.variants]
        + [[c.label, c.variant] for c in plan.cases]
        + [list(seeds)]
        + ([draws] if draws else []),
        sort_keys=True,
        default=str,
    )
    return "compare-" + hashlib.sha256(key.encode()).hexdigest()[:10]


def _first_days(start_year: int, months: np.ndarray) -> np.ndarray:
    m = np.asarray(months, dtype=np.int64)
    return np.array(
        [dt.date(start_year + int(x) // 12, int(x) % 12 + 1, 1) for x in m], dtype=object
    )


def scenario_months(variant: Variant) -> int:
    meta, _ = strip_provenance(variant.document.get("meta", {}))
    return int(meta.get("years", 10)) * 12


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc="compare",
        unit="run",
        disable=not enabled or total == 0,
        file=sys.stderr,
        dynamic_ncols=True,
    )


# --------------------------------------------------------------------------------------------
# Output: the printed table, files, figure
# --------------------------------------------------------------------------------------------
def _interval(row: pd.Series, y: int) -> str:
    m = row[f"startups_alive_y{y}_mean"]
    if not np.isfinite(m):
        return "–"
    lo, hi = row[f"startups_alive_y{y}_p5"], row[f"startups_alive_y{y}_p95"]
    return f"{m:,.0f} [{lo:,.0f}–{hi:,.0f}]"


def _reached(row: pd.Series) -> str:
    share = row["target_reached_share"]
    if not np.isfinite(share):
        return "–"
    n = int(row["runs_ok"])
    k = int(round(share * n))
    if k == 0:
        return f"no (0/{n})"
    return row["target_date"] if k == n else f"{row['target_date']} ({k}/{n})"


def _pct(v: float) -> str:
    return f"{v:.0%}" if np.isfinite(v) else "–"


def format_table(table: pd.DataFrame) -> str:
    """Fixed-width text table, one row per city (and transplant)."""
    if table.empty:
        return "(no rows)"
    targets = table["target_startups"].unique()
    reach = f"{int(targets[0]):,} reached" if len(targets) == 1 else "target reached"

    def left(col: pd.Series) -> pd.Series:
        return col.astype(str).str.ljust(int(col.astype(str).str.len().max()))

    draws = int(table["param_draws"].max()) if "param_draws" in table else 0
    kind = "total" if draws else "seeds"
    show = pd.DataFrame(
        {
            "preset": left(table["preset"]),
            "policy": left(table["policy_from"]),
            **{
                f"alive y{y} [90% {kind}]": table.apply(_interval, axis=1, y=y)
                for y in YEARS_REPORTED
            },
            reach: table.apply(_reached, axis=1),
            "founders big/uni/start/other": table.apply(
                lambda r: "/".join(
                    f"{r[f'founders_{o}_total']:,.0f}"
                    if np.isfinite(r[f"founders_{o}_total"])
                    else "–"
                    for o in ORIGINS
                ),
                axis=1,
            ),
            "vouchers ¥m": table["voucher_spent_yuan_total"].map(
                lambda v: f"{v / 1e6:,.1f}" if np.isfinite(v) else "–"
            ),
            "util east": table["east_utilization_end"].map(_pct),
            "util west": table["west_utilization_end"].map(_pct),
            "talent net/yr": table["talent_net_inflow_per_year"].map(
                lambda v: f"{v:+.2%}" if np.isfinite(v) else "–"
            ),
        }
    )
    with pd.option_context(
        "display.width", 400, "display.max_columns", 50, "display.max_colwidth", 60
    ):
        return show.to_string(index=False)


def runs_label(result: Comparison) -> str:
    d = result.designs[0] if result.designs else None
    if d is None:
        return f"{len(result.seeds)} seed(s), no parameter draws"
    return d.label()


def _pct_range(p: float, lo: float, hi: float) -> str:
    if not np.isfinite(p):
        return "–"
    return f"{p:.0%} [{lo:.0%}–{hi:.0%}]"


def format_uncertainty(result: Comparison) -> str:
    """What the intervals cover, startups alive by source of uncertainty (with parameter
    draws), and P(startups >= 5,000 by year Y) per row with its interval."""
    table = result.table
    if table.empty:
        return ""
    d = result.designs[0] if result.designs else None
    lines = []
    if d is None:
        lines.append(
            "Intervals: seed noise only (no parameter draws, --param-draws 0): parameter "
            "uncertainty is NOT included; add --param-draws D to include it."
        )
    else:
        lines.append(
            f"Intervals: {d.label()}; 'total' covers seed noise and parameter uncertainty. "
            "Seed noise = the pooled spread across seeds within a draw; parameter uncertainty "
            "= the spread of the per-draw means across draws (docs/outputs.md)."
        )
        lines.append(d.source_line())
        for note in d.notes:
            if note != d.source.note:
                lines.append(f"  note: {note}")
        lines.append("")
        lines.append(f"Startups alive, {LEVEL:.0%} ranges by source")
        rows = []
        for _, r in table.iterrows():
            for y in YEARS_REPORTED:
                m = r[f"startups_alive_y{y}_mean"]
                if not np.isfinite(m):
                    continue
                share = r[f"startups_alive_y{y}_param_share"]
                rows.append(
                    {
                        "row": r["label"],
                        "year": y,
                        "mean": f"{m:,.0f}",
                        "seed noise": _range(r, f"startups_alive_y{y}_seed"),
                        "parameter uncertainty": _range(r, f"startups_alive_y{y}_param"),
                        "total": _range(r, f"startups_alive_y{y}"),
                        "param. share of variance": _pct(share),
                    }
                )
        if rows:
            lines.append(pd.DataFrame(rows).to_string(index=False))
    reach = result.reach
    over = "draws and seeds (two-level bootstrap)" if d is not None else "seeds (bootstrap)"
    for kind, what in (("yardstick", f"{REACH_YARDSTICK:,}"), ("own_target", "its own target")):
        part = reach[reach["threshold_kind"] == kind] if len(reach) else reach
        if part.empty:
            continue
        lines.append("")
        lines.append(
            f"P(startups >= {what} by the end of year Y) [{P_LEVEL:.0%} interval over {over}]"
        )
        part = part.assign(
            cell=[
                _pct_range(p, lo, hi)
                for p, lo, hi in zip(
                    part["probability"],
                    part["probability_low"],
                    part["probability_high"],
                    strict=True,
                )
            ],
            column=[
                f"{e.year} (y{y})" for e, y in zip(part["end_date"], part["year"], strict=True)
            ],
        )
        wide = part.pivot_table(
            index=["label", "threshold"],
            columns="column",
            values="cell",
            aggfunc="first",
            sort=False,
        )
        wide = wide[list(dict.fromkeys(part["column"]))].reset_index()
        if kind == "yardstick":
            wide = wide.drop(columns=["threshold"])
        with pd.option_context("display.width", 400, "display.max_columns", 60):
            lines.append(wide.to_string(index=False))
    return "\n".join(lines)


def _range(r: pd.Series, prefix: str) -> str:
    lo, hi = r[f"{prefix}_p5"], r[f"{prefix}_p95"]
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "n/a"
    return f"{lo:,.0f}–{hi:,.0f}"


def plot_trajectories(traj: pd.DataFrame, cases: list[Case], path: Path) -> Path:
    """Median startups alive per city with a 5–95% band; the target as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 6.5), dpi=120)
    presets = list(dict.fromkeys(c.preset for c in cases))
    cmap = plt.get_cmap("tab10" if len(presets) <= 10 else "tab20")
    colour = {p: cmap(i % cmap.N) for i, p in enumerate(presets)}
    ends: list = []  # (final median, line): the legend lists cities top to bottom as they end
    for case in cases:
        t = traj[traj["label"] == case.label]
        if t.empty:
            continue
        g = t.assign(year=case.start_year + t["month"] / 12).groupby("year")["startups_alive"]
        med, lo, hi = g.median(), g.quantile(0.05), g.quantile(0.95)
        own = case.policy_from == case.preset
        ax.fill_between(
            med.index,
            lo.to_numpy(),
            hi.to_numpy(),
            color=colour[case.preset],
            alpha=0.15 if own else 0.08,
            linewidth=0,
        )
        (line,) = ax.plot(
            med.index,
            med.to_numpy(),
            color=colour[case.preset],
            linewidth=1.8,
            linestyle="-" if own else "--",
            label=case.label,
        )
        ends.append((float(med.iloc[-1]), line))
    target = cases[0].target if cases else 5000
    ax.axhline(target, color="black", linestyle=":", linewidth=1.2)
    ax.annotate(
        f"{target:,} startups (target)",
        xy=(0.01, target),
        xycoords=("axes fraction", "data"),
        xytext=(0, 4),
        textcoords="offset points",
        fontsize=9,
    )
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    start = cases[0].start_year if cases else 2025
    end = start + float(traj["month"].max()) / 12 if len(traj) else start + 1
    ax.set_xlim(start, end + 1 / 12)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("year")
    ax.set_ylabel("AI startups alive (log scale)")
    reps = int(traj.groupby("label")["replicate"].nunique().max()) if len(traj) else 0
    draws = int(traj.loc[traj["draw"] >= 0, "draw"].nunique()) if "draw" in traj else 0
    over = (
        f"{reps} runs ({draws} parameter draws × {reps // draws} seeds: seed noise and parameter "
        "uncertainty)"
        if draws
        else f"{reps} replicates (seed noise only)"
    )
    ax.set_title(
        f"Startups alive by city: median and 5–95% band over {over}"
        + (
            "; dashed = transplanted policy"
            if any(c.policy_from != c.preset for c in cases)
            else ""
        )
    )
    ax.grid(True, which="major", alpha=0.3)
    ends.sort(key=lambda e: -e[0])
    ax.legend(
        [e[1] for e in ends],
        [e[1].get_label() for e in ends],
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        fontsize=9,
        frameon=False,
    )
    fig.tight_layout()
    try:
        with atomic_file(path) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return path


def write_outputs(result: Comparison, out: Path, overwrite: bool = False) -> list[Path]:
    """comparison.parquet/.csv, trajectories.parquet/.png and manifest.json in ``out``, through
    ``ecosystem.outputs.write_dir`` (a temporary folder moved into place; a folder aieco did not
    write is refused unless ``overwrite``)."""
    from ecosystem.run import git_revision, package_versions

    names = [
        "comparison.parquet",
        "comparison.csv",
        "trajectories.parquet",
        "trajectories.png",
        "manifest.json",
        "reach.parquet",
    ]
    table = result.table
    manifest = {
        "aieco_output": "compare",
        "run_id": str(table["run_id"].iloc[0]) if len(table) else None,
        "command": list(sys.argv),
        "rows": [
            {
                "preset": c.preset,
                "label": c.label,
                "policy_from": c.policy_from,
                "city": c.city,
                "hubs": list(c.hubs),
                "variant": c.variant,
            }
            for c in result.cases
        ],
        "national": result.national,
        "scale": result.scale,
        "variants": [{"label": v.label, "scenario": v.document} for v in result.variants],
        "years": result.years,
        "root_seed": int(table["seed"].iloc[0]) if len(table) else None,
        "seeds": result.seeds,
        "failures": [{"label": lab, "seed": s, "error": e} for lab, s, e in result.failures],
        "param_draws": (
            [
                {"variant": v.label, **d.describe()}
                for v, d in zip(result.variants, result.designs, strict=True)
            ]
            if result.designs
            else {"draws": 0, "note": "seeds only: parameter uncertainty not included"}
        ),
        "wall_s": result.wall_s,
        "versions": package_versions(),
        "git_revision": git_revision(),
    }

    def fill(tmp: Path) -> None:
        write_parquet(_arrow(table, dates=()), tmp / names[0])
        table.to_csv(tmp / names[1], index=False)
        write_parquet(_arrow(result.trajectories, dates=("date",)), tmp / names[2])
        plot_trajectories(result.trajectories, result.cases, tmp / names[3])
        text = json.dumps(manifest, indent=2, default=str)
        (tmp / names[4]).write_text(text + "\n", encoding="utf-8")
        write_parquet(_arrow(result.reach, dates=("end_date",)), tmp / names[5])

    write_dir(out, fill, kind="compare", overwrite=overwrite)
    return [Path(out) / n for n in names]


def _arrow(df: pd.DataFrame, dates: tuple[str, ...]):
    """A comparison table as Arrow: NaN and None as NULL, ``dates`` as calendar days."""
    import pyarrow as pa

    cols = {}
    for c in df.columns:
        if c in dates:
            cols[c] = pa.array(list(df[c]), type=pa.date32())
        elif df[c].dtype == object:
            cols[c] = pa.array(
                [None if v is None or v != v else v for v in df[c]], type=pa.string()
            )
        else:
            cols[c] = pa.array(df[c], from_pandas=True)
    return pa.table(cols)


def compare(
    presets: list[str] | None = None,
    years: int | None = None,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    out: str | Path | None = DEFAULT_OUT,
    policy_from: str | None = None,
    workers: int | None = 1,
    progress: bool = False,
    overwrite: bool = False,
    national: str | None = DEFAULT_NATIONAL,
    scale: str = DEFAULT_SCALE,
    param_draws: int = 0,
    param_spec: str = "hangzhou",
    posterior: str | None = None,
    assumptions: str | None = None,
    screen: bool = False,
) -> Comparison:
    """Validate, run and (with ``out``) write a comparison. Raises ScenarioError on bad input
    (an unusable ``out`` included, before any run). ``presets`` are city ids of the national
    scenario (or single-city presets with ``national=None``). ``param_draws`` D > 0 runs every
    row over D parameter draws × ``replicates`` seeds (:mod:`experiments.uncertainty`), with the
    documented assumptions ``assumptions`` names (``all`` or path prefixes) among them."""
    check_options(replicates, years, seed, workers, out, overwrite)
    plan = build_plan(presets, policy_from, years, national, scale)
    designs = plan_designs(
        plan,
        param_draws,
        replicates,
        seed,
        param_spec,
        posterior,
        assumptions,
        screen,
        workers,
        progress,
    )
    result = run_comparison(plan, replicates, seed, workers, progress, designs)
    if out is not None:
        write_outputs(result, Path(out), overwrite)
    return result


def check_options(
    replicates: int,
    years: int | None,
    seed: int,
    workers: int | None,
    out: str | Path | None,
    overwrite: bool = False,
) -> None:
    if replicates < 1:
        raise ScenarioError("--replicates", replicates, "must be >= 1")
    if years is not None and not 1 <= years <= 50:
        raise ScenarioError("--years", years, "must be between 1 and 50")
    if problem := seed_problem(seed):
        raise ScenarioError("--seed", seed, problem)
    if workers is not None and workers < 1:
        raise ScenarioError("--workers", workers, "must be >= 1")
    if out is not None:
        check_out_dir(out, overwrite=overwrite)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def register(subparsers) -> None:
    """Add ``compare`` to an argparse subparsers object."""
    p = subparsers.add_parser(
        "compare",
        help="run the cities side by side (replicates, common seeds) and tabulate them",
        description="Run the cities inside one national model (china: shared western hubs, "
        "talent moving between cities), replicates with common random numbers, and print one row "
        "per city: startups alive at years 1, 5, 10 with 5-95% ranges over seeds, when the target "
        "is reached, founders by origin, voucher and public spending, compute utilisation east and "
        "west, talent net inflow. --policy-from SRC adds, per named city, a national run in which "
        "that city has SRC's policy (yearly budgets scaled by --scale) and reports the paired "
        "change in the city and in the other cities. --isolated runs single-city presets instead. "
        "Writes comparison.parquet, comparison.csv, trajectories.parquet/.png to DIR.",
    )
    p.add_argument(
        "presets",
        nargs="*",
        metavar="CITY",
        help="cities of the national scenario (default: all); single-city presets with --isolated",
    )
    p.add_argument(
        "--national",
        metavar="PRESET",
        default=DEFAULT_NATIONAL,
        help="the national scenario the cities run in: a preset or a .toml file "
        f"(default {DEFAULT_NATIONAL})",
    )
    p.add_argument(
        "--isolated",
        action="store_true",
        help="run each city as its own single-city preset (the rest of China outside the model)",
    )
    p.add_argument(
        "--scale",
        metavar="BASE",
        default=DEFAULT_SCALE,
        help="scale a transplanted policy's yearly budgets to the destination by its "
        f"{', '.join(f'{k} ({v})' for k, v in SCALE_BASES.items() if k != 'none')}, or none "
        f"(default {DEFAULT_SCALE})",
    )
    p.add_argument(
        "--years", type=int, metavar="N", help="horizon in years, 1–50 (default: the preset's)"
    )
    p.add_argument(
        "--replicates",
        "--seeds",
        dest="replicates",
        type=int,
        metavar="S",
        help="seeds per city (per parameter draw with --param-draws), spawned from --seed "
        f"(default {DEFAULT_SEEDS_PER_DRAW} per draw; {DEFAULT_REPLICATES} with --param-draws 0)",
    )
    add_draw_arguments(p, default_draws=DEFAULT_COMPARE_DRAWS)
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument(
        "--policy-from",
        metavar="SRC",
        help="also run each named city with city SRC's policy table (scaled by --scale)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        default=str(DEFAULT_OUT),
        help=f"output directory (default {DEFAULT_OUT})",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="local worker processes (default: all cores; 1 = in this process)",
    )
    add_output_flags(p)
    p.set_defaults(func=cmd_compare)


def _run_plan(args: argparse.Namespace, make_plan) -> tuple[Comparison, Path] | int:
    """Validate (``make_plan()`` → (plan, out)), run over ``--param-draws`` × seeds, write;
    an exit code on bad input or Ctrl-C."""
    try:
        plan, out = make_plan()
        designs = plan_designs(
            plan,
            args.param_draws,
            args.replicates,
            args.seed,
            args.param_spec,
            posterior_choice(args),
            args.assumptions,
            args.screen,
            args.workers,
            not args.quiet,
        )
        result = run_comparison(
            plan, args.replicates, args.seed, args.workers, not args.quiet, designs
        )
        write_outputs(result, out, args.overwrite)
    except ScenarioError as exc:
        print(f"error: {exc}".replace("\n", " "), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(format_table(result.table))
    print()
    print(format_uncertainty(result))
    return result, out


def _footer(result: Comparison, what: str, out: Path) -> int:
    print(
        f"\n{what}, {runs_label(result)}, {result.years} years, root seed "
        f"{int(result.table['seed'].iloc[0]) if len(result.table) else 0} ({result.wall_s:.1f} s); "
        f"wrote {out}/comparison.parquet, comparison.csv, reach.parquet, trajectories.png"
    )
    for label, s, err in result.failures[:5]:
        print(f"  failed {label} seed {s}: {err}", file=sys.stderr)
    if len(result.failures) > 5:
        print(f"  ... and {len(result.failures) - 5} more (see manifest.json)", file=sys.stderr)
    return EXIT_FAILED_RUNS if result.failures else EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    if args.replicates is None:
        args.replicates = DEFAULT_SEEDS_PER_DRAW if args.param_draws else DEFAULT_REPLICATES

    def make_plan():
        check_options(
            args.replicates, args.years, args.seed, args.workers, args.out, args.overwrite
        )
        national = None if args.isolated else args.national
        plan = build_plan(args.presets or None, args.policy_from, args.years, national, args.scale)
        return plan, Path(args.out)

    done = _run_plan(args, make_plan)
    if isinstance(done, int):
        return done
    result, out = done
    where = (
        f"inside one {result.national} run per seed"
        if result.national
        else "each as its own single-city preset"
    )
    return _footer(result, f"{len(result.cases)} rows ({where})", out)


# --------------------------------------------------------------------------------------------
# aieco run SCENARIO --replicates S [--param-draws D]: one scenario, many runs, one row per city
# --------------------------------------------------------------------------------------------
def scenario_plan(scenario: str, overrides: list[str] | None = None, years: int | None = None):
    """A plan of one scenario (a preset or a TOML file, ``--set`` overrides applied): one row
    per city region, read from the same runs."""
    from ecosystem.scenario import apply_overrides

    doc = load_document(scenario)
    if overrides:
        doc = apply_overrides(doc, list(overrides))
    doc = _with_years(doc, years)
    start, target, label = _meta(doc)
    cities = cities_of(doc)
    if not cities:
        raise ScenarioError("scenario", scenario, "has no region of kind city")
    hubs = tuple(hubs_of(doc))
    cases = [Case(c, c, c, hubs, 0, start, target) for c in cities]
    return Plan([Variant(label, doc)], cases, label if len(cities) > 1 else None, DEFAULT_SCALE)


def add_replicate_arguments(run_parser) -> None:
    """``--replicates S``, ``--workers`` and the parameter-draw options on ``aieco run``."""
    g = run_parser.add_argument_group(
        "replicates (aieco run SCENARIO --replicates S [--param-draws D])",
        "many runs of the scenario, one row per city with intervals, written like aieco compare",
    )
    g.add_argument(
        "--replicates",
        type=int,
        metavar="S",
        help="run S seeds (per parameter draw) spawned from --seed and tabulate them",
    )
    g.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="with --replicates: local worker processes (default: all cores; 1 = this process)",
    )
    add_draw_arguments(run_parser)


def cmd_run_replicates(args: argparse.Namespace) -> int:
    """``aieco run SCENARIO --replicates S [--param-draws D]`` (exit codes as compare's)."""

    def make_plan():
        if args.replicates is None:
            raise ScenarioError(
                "--param-draws", args.param_draws, "needs --replicates S (seeds per draw)"
            )
        check_options(args.replicates, args.years, args.seed, args.workers, None, args.overwrite)
        plan = scenario_plan(args.scenario, args.overrides, args.years)
        out = Path(args.out or Path("results") / f"replicates_{plan.variants[0].label}")
        check_out_dir(out, overwrite=args.overwrite)
        return plan, out

    done = _run_plan(args, make_plan)
    if isinstance(done, int):
        return done
    result, out = done
    return _footer(result, str(args.scenario), out)
