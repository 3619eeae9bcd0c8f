"""Global sensitivity of the headline outcomes over every uncertain input (issue 11 point 5).

    python -m experiments.global_sensitivity experiments/gsa/hangzhou.toml --doc docs/sensitivity.md

One command, two stages, one results directory (``--out``, default ``results/gsa_<name>``):

1. **Morris screening** over *every* uncertain input of the scenario: the calibration spec's
   priors (one source of truth with ``aieco calibrate``: the same paths, ranges and
   log-uniform rule) and every other numeric scenario field whose provenance documents a
   ``range`` (``aieco show SCENARIO``). Too many for one factor each (Hangzhou has ~225), so the
   calibration priors and the spec's ``individual`` paths are factors of their own and the rest
   are **groups** (Campolongo et al. 2007; SALib ``problem["groups"]``): a group's members move
   together, each along its own prior, and the group gets one index. Every documented input is
   in exactly one factor or listed as fixed with its reason (not a scalar number, a point
   range, or the spec's ``fixed`` prefixes); a field matching no group is an error.
2. **Sobol'** (Saltelli sampling, Jansen/Saltelli estimators, SALib bootstrap intervals) over
   the ``top`` factors of the Morris ranking (largest μ* relative to the largest of each
   outcome, maximised over outcomes); every other input stays at the scenario's value.

**Factors live on the unit cube.** A factor's coordinate u is each member's prior quantile
(``Prior.from_unit``: uniform, or log-uniform over more than a decade), so the indices are
those of the priors and Morris' μ* is in outcome units per whole range.

**Seed noise is a factor.** ``seed`` picks the run's seed from a pool of ``seed_pool`` seeds
(``replicate_seeds(root_seed, seed_pool)``, index ⌊u · pool⌋). Its Morris μ* is the typical
change from re-seeding alone (the noise floor of elementary effects: an input below it is not
told apart from noise); its Sobol' ST is the share of the variance that is seed noise. Points
that differ only in other factors share their seed (common random numbers).

**Paired arms.** Every design point runs twice on the same seed and the same inputs: the
scenario as it is (the policy arm) and the ``[counterfactual]`` overrides (Hangzhou: its
compute vouchers off). Outcomes (:data:`OUTCOMES`) come from the policy arm, except the paired
ones: ``extra_startups_end`` (policy − counterfactual, at the horizon) and
``startups_per_100m_yuan`` (that difference per ¥100m of the extra voucher money). Yuan per
additional startup itself is not an index target: its denominator crosses zero, so it is
reported from the mean effects (ratio of means) with the share of points where it is undefined
(:func:`yuan_per_startup`).

**Censoring.** The year 5,000 startups are first reached is censored at the horizon: the
indices use ``reached_target`` (0/1 by the horizon) and ``target_year_capped`` (years to the
first month at or above the target, the horizon's length when never reached).

Files (``docs/outputs.md``, "Global sensitivity"): ``morris/`` and ``sobol/`` are sweep
directories (runs, summary, manifest); ``gsa_factors.parquet``, ``gsa_points_<stage>.parquet``,
``gsa_<stage>.parquet`` and ``gsa.json`` sit beside them, all written atomically.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ecosystem.scenario import (
    ScenarioError,
    apply_overrides,
    format_validation_error,
    run_values,
    scenario_from_dict,
)
from ecosystem.seeds import MAX_SEED
from experiments.assumptions import (
    column_name,
    documented_ranges,
    provenance,
    range_prior,
    shape_reason,
)
from experiments.calibrate import Prior, ThetaSpec, _prior, load_spec
from experiments.formatting import short_number
from experiments.parameters import NAME_RE, RunTask, Scalar, replicate_seeds, run_id
from experiments.sensitivity import KEYS, analysable, indices
from experiments.spec import (
    DesignSpec,
    Experiment,
    ExperimentFile,
    ExperimentMeta,
    OutcomeSpec,
    _resolve_scenario,
    apply_constants,
    check_scenario_path,
    load_scenario_document,
)

SEED_FACTOR = "seed"
STAGES = ("morris", "sobol")
#: Outcomes of the policy arm the runs record (``ecosystem.outcomes``).
RAW = [
    "startups_alive_y5",
    "startups_alive_end",
    "month_target_reached",
    "target_reached",
    "compute_sold_gpu_h_total",
    "west_utilization_end",
    "voucher_spent_yuan_total",
]
#: The outcomes indices are computed for: name → (unit, meaning).
OUTCOMES = {
    "startups_alive_y5": ("startups", "startups alive at the end of year 5"),
    "startups_alive_end": (
        "startups",
        "startups alive in the run's last month (year 10 at 120 months)",
    ),
    "reached_target": ("0/1", "the target (5,000) reached by the horizon"),
    "target_year_capped": (
        "years",
        "years until the target is first reached; the horizon when never (censored)",
    ),
    "compute_bought_gpu_h": ("GPU-hours", "compute the city's startups bought over the run"),
    "west_utilization_end": ("share", "western hubs' utilisation over the last 12 months"),
    "extra_startups_end": (
        "startups",
        "paired: startups at the horizon with the policy minus without it (same seed, inputs)",
    ),
    "startups_per_100m_yuan": (
        "startups per ¥100m",
        "paired: extra startups at the horizon per ¥100m of extra voucher money",
    ),
}
PER_YUAN = 1e8


# --------------------------------------------------------------------------------------------
# The spec
# --------------------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class GSAMeta(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", min_length=1, max_length=80)]
    description: str = ""
    scenario: str = "hangzhou"
    #: a calibration spec whose priors are factors of their own ("" for none)
    calibration: str = ""
    months: Annotated[int, Field(ge=12, le=600)] | None = None
    root_seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 0
    seed_pool: Annotated[int, Field(ge=2, le=1_000_000)] = 1024


class FactorSpec(_Strict):
    #: scenario paths that are factors of their own (beyond the calibration's priors)
    individual: list[str] = Field(default_factory=list)
    #: group name → path prefixes; a documented input joins the first group it matches
    groups: dict[str, list[str]] = Field(default_factory=dict)
    #: path prefix → why inputs under it stay at the scenario's value
    fixed: dict[str, str] = Field(default_factory=dict)


class CounterfactualSpec(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", min_length=1)]
    description: str = ""
    set: dict[str, Scalar]


class MorrisSpec(_Strict):
    trajectories: Annotated[int, Field(ge=2, le=10_000)] = 6
    num_levels: Annotated[int, Field(ge=2, le=100)] = 4


class SobolSpec(_Strict):
    samples: Annotated[int, Field(ge=2, le=1_000_000)] = 16
    top: Annotated[int, Field(ge=1, le=1000)] = 6


class GSAFile(_Strict):
    sensitivity: GSAMeta
    factors: FactorSpec = Field(default_factory=FactorSpec)
    counterfactual: CounterfactualSpec
    morris: MorrisSpec = Field(default_factory=MorrisSpec)
    sobol: SobolSpec = Field(default_factory=SobolSpec)


@dataclass(frozen=True)
class Factor:
    """One factor of the analysis: a parameter, a group of parameters, or the seed."""

    name: str
    kind: str  # "parameter", "group" or "seed"
    members: tuple[Prior, ...] = ()
    provenance: tuple[str, ...] = ()


@dataclass
class GSASpec:
    spec: GSAFile
    source: str
    base_document: dict  # plain
    factors: list[Factor]
    fixed: list[tuple[str, str]]  # (path, reason) of documented inputs left at their value
    counterfactual: dict

    @property
    def name(self) -> str:
        return self.spec.sensitivity.name

    @property
    def months(self) -> int:
        m = self.spec.sensitivity.months
        return m if m is not None else scenario_from_dict(self.base_document).months

    @cached_property
    def seed_pool(self) -> list[int]:
        meta = self.spec.sensitivity
        return replicate_seeds(meta.root_seed, meta.seed_pool)

    def factor(self, name: str) -> Factor:
        return next(f for f in self.factors if f.name == name)

    @property
    def parameters(self) -> list[Prior]:
        return [p for f in self.factors for p in f.members]

    def describe_factors(self) -> pd.DataFrame:
        rows = []
        for f in self.factors:
            if f.kind == "seed":
                rows.append(
                    {
                        "factor": f.name,
                        "kind": f.kind,
                        "parameter": SEED_FACTOR,
                        "path": "",
                        "prior": f"one of {len(self.seed_pool)} seeds",
                        "low": math.nan,
                        "high": math.nan,
                        "provenance": "replicate_seeds(root_seed, seed_pool)",
                    }
                )
            for p, prov in zip(f.members, f.provenance, strict=True):
                rows.append(
                    {
                        "factor": f.name,
                        "kind": f.kind,
                        "parameter": p.name,
                        "path": p.path,
                        "prior": p.kind,
                        "low": p.low,
                        "high": p.high,
                        "provenance": prov,
                    }
                )
        return pd.DataFrame(rows)


def load_gsa(path: str | Path) -> GSASpec:
    """Read and validate a sensitivity spec; ScenarioError (one line) on any problem."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError("SPEC", str(path), "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("SPEC", str(path), f"is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ScenarioError("SPEC", str(path), "must be UTF-8 text") from None
    except OSError as exc:
        raise ScenarioError("SPEC", str(path), f"cannot be read ({exc.strerror})") from None
    return gsa_from_dict(raw, str(p), p.parent)


def gsa_from_dict(raw: dict, source: str = "<dict>", base_dir: str | Path = ".") -> GSASpec:
    try:
        spec = GSAFile.model_validate(raw)
    except ValidationError as exc:
        raise format_validation_error(exc, GSAFile, "sensitivity") from None
    meta = spec.sensitivity
    scen = _resolve_scenario(meta.scenario, Path(base_dir))
    doc = load_scenario_document(scen, "sensitivity.scenario", meta.scenario)
    doc, plain, base = apply_constants(doc, {})
    if meta.months is not None and meta.months > base.months:
        raise ScenarioError(
            "sensitivity.months", meta.months, f"must be <= the scenario's {base.months} months"
        )
    cf = dict(spec.counterfactual.set)
    if not cf:
        raise ScenarioError("counterfactual.set", "{}", "name at least one scenario path")
    for path, value in cf.items():
        check_scenario_path(doc, path, value, f"counterfactual.set.{path}")
    try:
        scenario_from_dict(apply_overrides(plain, cf))
    except ScenarioError as exc:
        raise ScenarioError(f"counterfactual.set.{exc.field}", exc.value, exc.allowed) from None

    leaves = dict(documented_ranges(doc))
    taken: dict[str, str] = {}  # path -> factor
    factors: list[Factor] = []
    names: set[str] = {SEED_FACTOR}

    def add_single(prior: Prior, leaf: dict | None, where: str) -> None:
        if prior.path in cf:
            raise ScenarioError(where, prior.path, "is set by [counterfactual]; it cannot vary")
        if prior.name in names:
            raise ScenarioError(where, prior.name, "factor name already used")
        names.add(prior.name)
        taken[prior.path] = prior.name
        prov = provenance(leaf) if leaf is not None else "range of the calibration spec"
        factors.append(Factor(prior.name, "parameter", (prior,), (prov,)))

    if meta.calibration:
        cal = load_spec(meta.calibration)
        if cal.base_document != plain:
            raise ScenarioError(
                "sensitivity.calibration",
                meta.calibration,
                f"calibrates scenario {cal.meta.scenario!r}, not {meta.scenario!r}",
            )
        for prior in cal.priors:
            add_single(prior, leaves.get(prior.path), "sensitivity.calibration")
    for i, path in enumerate(spec.factors.individual):
        where = f"factors.individual[{i}]"
        if path in taken:
            raise ScenarioError(where, path, f"is already factor {taken[path]!r}")
        check_scenario_path(doc, path, None, where)
        name = path.rsplit(".", 1)[-1]
        if name in names or not NAME_RE.match(name):
            name = column_name(path)
        add_single(_prior(name, ThetaSpec(path=path), doc, plain), leaves.get(path), where)

    for g in spec.factors.groups:
        if not NAME_RE.match(g) or g in names:
            raise ScenarioError(f"factors.groups.{g}", g, "must be a new name of letters, _")
        names.add(g)
    members: dict[str, list[tuple[Prior, str]]] = {g: [] for g in spec.factors.groups}
    fixed: list[tuple[str, str]] = []
    for path, leaf in leaves.items():
        if path in taken:
            continue
        # the longest matching prefix decides, among [factors.groups] and [factors.fixed]
        best, group, reason = -1, None, None
        for g, pres in spec.factors.groups.items():
            for x in pres:
                if path.startswith(x) and len(x) > best:
                    best, group, reason = len(x), g, None
        for x, r in spec.factors.fixed.items():
            if path.startswith(x) and len(x) > best:
                best, group, reason = len(x), None, r
        reason = reason or shape_reason(leaf)
        if reason is None and path in cf:
            reason = "set by [counterfactual]"
        if reason is not None:
            fixed.append((path, reason))
            continue
        if group is None:
            raise ScenarioError(
                "factors.groups",
                path,
                "matches no prefix of [factors.groups] or [factors.fixed]; add it to one",
            )
        prior = range_prior(path, doc, plain)
        if isinstance(prior, str):  # a joint constraint rejects an end: fixed, with the reason
            fixed.append((path, prior))
            continue
        members[group].append((prior, provenance(leaf)))
    for g, ms in members.items():
        if not ms:
            raise ScenarioError(f"factors.groups.{g}", spec.factors.groups[g], "matches no input")
        priors, provs = zip(*ms, strict=True)
        factors.append(Factor(g, "group", tuple(priors), tuple(provs)))
    factors.append(Factor(SEED_FACTOR, "seed"))
    return GSASpec(spec, source, plain, factors, fixed, cf)


# --------------------------------------------------------------------------------------------
# Designs
# --------------------------------------------------------------------------------------------
def salib_problem(factors: list[Factor]) -> dict:
    """Every member (and the seed) on [0, 1], grouped by factor."""
    names, groups = [], []
    for f in factors:
        for p in f.members or (None,):
            names.append(SEED_FACTOR if p is None else p.name)
            groups.append(f.name)
    return {
        "num_vars": len(names),
        "names": names,
        "bounds": [[0.0, 1.0]] * len(names),
        "groups": groups,
    }


def stage_sample(gsa: GSASpec, stage: str, factors: list[Factor]) -> np.ndarray:
    prob = salib_problem(factors)
    seed = int(gsa.spec.sensitivity.root_seed % 2**32)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if stage == "morris":
            from SALib.sample import morris

            m = gsa.spec.morris
            return morris.sample(prob, m.trajectories, num_levels=m.num_levels, seed=seed)
        from SALib.sample import sobol

        n = gsa.spec.sobol.samples
        n = 1 << max(0, int(n - 1).bit_length())
        return sobol.sample(prob, n, calc_second_order=False, seed=seed)


class GSAExperiment(Experiment):
    """One stage's design points, each run in two arms (replicate 0: the scenario; 1: the
    counterfactual) on the point's own seed."""

    gsa: GSASpec
    stage: str
    point_seeds: list[int]

    @property
    def replicates(self) -> int:
        return 2

    @cached_property
    def seeds(self) -> list[int]:
        return list(self.point_seeds)

    @cached_property
    def design_hash(self) -> str:
        blob = json.dumps(
            {
                "doc": run_values(self.base_document),
                "stage": self.stage,
                "points": self.points,
                "seeds": self.point_seeds,
                "counterfactual": self.gsa.counterfactual,
                "months": self.horizon_months,
                "summary": self.summary_outcomes,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @cached_property
    def tasks(self) -> list[RunTask]:
        out = []
        for i, point in enumerate(self.points):
            base = {self.parameter(k).path: v for k, v in point.items()}
            for arm, over in enumerate((base, {**base, **self.gsa.counterfactual})):
                out.append(
                    RunTask(
                        run_id(i, arm, self.design_hash),
                        i,
                        arm,
                        self.point_names[i],
                        self.point_seeds[i],
                        dict(point),
                        over,
                        self.horizon_months,
                    )
                )
        return out


def stage_experiment(
    gsa: GSASpec, stage: str, factors: list[Factor]
) -> tuple[GSAExperiment, np.ndarray]:
    """The sweep of one stage and its unit sample (rows = points, columns = SALib variables)."""
    X = stage_sample(gsa, stage, factors)
    prob = salib_problem(factors)
    members = [p for f in factors for p in f.members]
    col = {n: j for j, n in enumerate(prob["names"])}
    pool = gsa.seed_pool
    seeds = [pool[min(int(u * len(pool)), len(pool) - 1)] for u in X[:, col[SEED_FACTOR]]]
    values = {p.name: p.from_unit(X[:, col[p.name]]) for p in members}
    points = [
        {
            p.name: (int(values[p.name][i]) if p.integer else float(values[p.name][i]))
            for p in members
        }
        for i in range(len(X))
    ]
    meta = gsa.spec.sensitivity
    spec = ExperimentFile(
        experiment=ExperimentMeta(
            name=f"{meta.name}_{stage}",
            description=meta.description,
            scenario=meta.scenario,
            replicates=2,
            root_seed=meta.root_seed,
            months=gsa.months,
        ),
        design=DesignSpec(method="list"),
        outcomes=OutcomeSpec(summary=list(RAW), kpis=[]),
    )
    exp = GSAExperiment(
        spec=spec,
        source=gsa.source,
        base_dir=Path(gsa.source).parent,
        base_document=gsa.base_document,
        parameters=[
            p.as_parameter(f"member of factor {f.name}") for f in factors for p in f.members
        ],
        summary_outcomes=list(RAW),
        kpi_outcomes=[],
        horizon_months=gsa.months,
        method=stage,
        points=points,
        point_names=[f"p{i}" for i in range(len(X))],
        sample_matrix=X,
    )
    exp.gsa, exp.stage, exp.point_seeds = gsa, stage, seeds
    exp.samples = (
        gsa.spec.morris.trajectories if stage == "morris" else len(X) // (len(factors) + 2)
    )
    return exp, X


# --------------------------------------------------------------------------------------------
# Outcomes and indices
# --------------------------------------------------------------------------------------------
def point_outcomes(summary: pd.DataFrame, n_points: int, months: int) -> pd.DataFrame:
    """One row per design point: the outcomes of :data:`OUTCOMES` from its two arms (NaN where
    an arm failed), plus the arms' raw voucher spending and startups (for the ratio)."""
    ok = summary[summary["status"] == "ok"]
    on = ok[ok["replicate"] == 0].set_index("point").reindex(range(n_points))
    off = ok[ok["replicate"] == 1].set_index("point").reindex(range(n_points))
    same_seed = on["seed"].isna() | off["seed"].isna() | (on["seed"] == off["seed"])
    if not bool(same_seed.all()):
        raise AssertionError("paired arms of a point ran on different seeds")
    years = months / 12
    month = on["month_target_reached"]
    extra = on["startups_alive_end"] - off["startups_alive_end"]
    spent = on["voucher_spent_yuan_total"] - off["voucher_spent_yuan_total"]
    df = pd.DataFrame(
        {
            "point": np.arange(n_points),
            "seed": on["seed"].to_numpy(),
            "startups_alive_y5": on["startups_alive_y5"].to_numpy(),
            "startups_alive_end": on["startups_alive_end"].to_numpy(),
            "reached_target": on["target_reached"].to_numpy(),
            "target_year_capped": np.where(month.notna(), (month + 1) / 12, years).astype(float),
            "compute_bought_gpu_h": on["compute_sold_gpu_h_total"].to_numpy(),
            "west_utilization_end": on["west_utilization_end"].to_numpy(),
            "extra_startups_end": extra.to_numpy(),
            "startups_per_100m_yuan": np.where(spent > 0, extra / spent * PER_YUAN, np.nan),
            "extra_voucher_yuan": spent.to_numpy(),
            "startups_alive_end_counterfactual": off["startups_alive_end"].to_numpy(),
        }
    )
    df.loc[on["status"].isna().to_numpy(), "target_year_capped"] = np.nan
    return df


def yuan_per_startup(points: pd.DataFrame) -> dict:
    """Yuan of extra voucher money per extra startup at year 10, robustly: the ratio of the mean
    effects (E[Δ yuan] / E[Δ startups], defined when E[Δ startups] > 0), the median of the
    pointwise ratio over points where Δ startups > 0, and the share of points where the
    pointwise ratio is undefined or negative (Δ startups ≤ 0)."""
    d = points[["extra_voucher_yuan", "extra_startups_end"]].dropna()
    n = len(d)
    if not n:
        return {"points": 0}
    mean_y, mean_s = float(d["extra_voucher_yuan"].mean()), float(d["extra_startups_end"].mean())
    pos = d[d["extra_startups_end"] > 0]
    return {
        "points": n,
        "mean_extra_yuan": mean_y,
        "mean_extra_startups": mean_s,
        "ratio_of_means": mean_y / mean_s if mean_s > 0 else math.nan,
        "median_ratio_where_positive": float(
            (pos["extra_voucher_yuan"] / pos["extra_startups_end"]).median()
        )
        if len(pos)
        else math.nan,
        "share_undefined": float((d["extra_startups_end"] <= 0).mean()),
    }


def analyse_stage(
    gsa: GSASpec,
    stage: str,
    factors: list[Factor],
    X: np.ndarray,
    points: pd.DataFrame,
    confidence: float = 0.95,
) -> tuple[pd.DataFrame, list[str]]:
    """SALib indices of every outcome over a stage's factors (rows of ``indices``)."""
    prob = salib_problem(factors)
    seed = int(gsa.spec.sensitivity.root_seed % 2**32)
    rows = []
    # a missing value (a failed run, or no extra voucher money) becomes the outcome's median
    usable, notes = analysable(points, list(OUTCOMES), fill_missing=True, label=f"{stage}: ")
    for outcome, Y in usable:
        rows += indices(
            prob,
            X,
            Y,
            stage,
            outcome,
            confidence,
            seed,
            num_levels=gsa.spec.morris.num_levels,
        )
    table = pd.DataFrame(rows)
    if len(table):
        key = KEYS[stage][0]
        table["rank"] = (
            table.groupby("outcome")[key].rank(ascending=False, method="min").astype("int64")
        )
        table = table.sort_values(["outcome", "rank"]).reset_index(drop=True)
        kinds = {f.name: f.kind for f in factors}
        sizes = {f.name: len(f.members) for f in factors}
        table.insert(2, "kind", table["parameter"].map(kinds))
        table.insert(3, "members", table["parameter"].map(sizes).astype("int64"))
    return table, notes


def told_apart(mu_star, mu_star_conf, seed_mu_star):
    """Whether a factor is told apart from seed noise: the lower end of its μ* interval above the
    seed's μ* in the same outcome (scalars or aligned Series; a NaN never is)."""
    return mu_star - mu_star_conf > seed_mu_star


def above_noise(morris: pd.DataFrame) -> pd.DataFrame:
    """The Morris rows (seed aside, in their order) of factors ``told_apart`` from seed noise."""
    floor = morris[morris["kind"] == "seed"].set_index("outcome")["mu_star"]
    t = morris[morris["kind"] != "seed"]
    return t[told_apart(t["mu_star"], t["mu_star_conf"], t["outcome"].map(floor))]


def top_factors(gsa: GSASpec, morris: pd.DataFrame, k: int) -> list[Factor]:
    """The ``k`` factors (seed aside) that lead the most outcomes; then the seed.

    A factor's weight in an outcome is its μ* relative to that outcome's largest, and it counts
    only where it is told apart from seed noise (its μ* interval above the seed's μ*, the rule
    of the page's headline): an outcome no factor moves beyond noise chooses nothing. Factors
    rank by their best weight over outcomes, ties (each outcome's leader has weight 1) by the
    sum of their weights; factors above noise nowhere fill any places left, by best weight.
    (Until 3 December 2026 every outcome counted, noise included, and ties fell in alphabetical
    order: the leader of the startup counts was left out of a 4-factor Sobol' stage.)
    """
    t = morris[morris["kind"] != "seed"].copy()
    t["rel"] = t["mu_star"] / t.groupby("outcome")["mu_star"].transform("max")
    g = t.loc[above_noise(morris).index].groupby("parameter")["rel"]
    score = pd.DataFrame({"best": g.max(), "total": g.sum()})
    ranked = list(score.sort_values(["best", "total"], ascending=False, kind="stable").index)
    rest = t.groupby("parameter")["rel"].max().sort_values(ascending=False, kind="stable")
    chosen = (ranked + [n for n in rest.index if n not in ranked])[:k]
    return [gsa.factor(n) for n in chosen] + [gsa.factor(SEED_FACTOR)]


# --------------------------------------------------------------------------------------------
# Running a stage
# --------------------------------------------------------------------------------------------
@dataclass
class StageResult:
    stage: str
    factors: list[Factor]
    X: np.ndarray
    exp: GSAExperiment
    points: pd.DataFrame
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    failed: int = 0
    run_s: float = 0.0


def run_stage(
    gsa: GSASpec,
    stage: str,
    factors: list[Factor],
    out: Path,
    workers: int = 1,
    resume: bool = False,
    progress: bool = True,
) -> StageResult:
    from ecosystem.outputs import write_parquet
    from experiments.runner import prepare_out_dir, run_experiment

    exp, X = stage_experiment(gsa, stage, factors)
    sweep = out / stage
    prepare_out_dir(exp, sweep, resume)
    t0 = time.perf_counter()
    report = run_experiment(exp, sweep, workers=workers, resume=resume, progress=progress)
    wall = time.perf_counter() - t0
    points = point_outcomes(report.summary, len(exp.points), gsa.months)
    table, notes = analyse_stage(gsa, stage, factors, X, points)
    unit = pd.DataFrame(X, columns=[f"u_{n}" for n in salib_problem(factors)["names"]])
    frame = pd.concat([points.drop(columns="seed"), unit], axis=1)
    t = _arrow(frame, exp.design_hash, 0).set_column(
        1, "seed", pa.array(exp.point_seeds, type=pa.int64())
    )
    write_parquet(t, out / f"gsa_points_{stage}.parquet")
    write_parquet(_arrow(table, exp.design_hash, exp.root_seed), out / f"gsa_{stage}.parquet")
    res = StageResult(stage, factors, X, exp, points, table, notes, wall, 0.0, report.failed)
    res.wall_s, res.cpu_s, res.run_s = stage_times(sweep, exp.design_hash, wall)
    return res


def stage_times(sweep: Path, design_hash: str, session_wall: float) -> tuple[float, float, float]:
    """(wall, CPU, summed run) seconds of a stage from its run files, so that a resumed stage
    reports its whole span: wall = last file written − first file written + that first run's
    own time (a pause in between counts); the session's wall time when no file says more."""
    from experiments.runner import existing_runs

    metas = [m for m in existing_runs(sweep, design_hash).values() if m.get("written")]
    if not metas:
        return session_wall, math.nan, math.nan
    written = pd.to_datetime([m["written"] for m in metas])
    first = metas[int(np.argmin(written))]
    wall = (written.max() - written.min()).total_seconds() + float(first.get("elapsed_s") or 0)
    cpu = float(sum(float(m.get("cpu_s") or 0) for m in metas))
    run = float(sum(float(m.get("elapsed_s") or 0) for m in metas))
    return max(wall, session_wall), cpu, run


# --------------------------------------------------------------------------------------------
# The whole analysis and its record
# --------------------------------------------------------------------------------------------
def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    return (
        f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; load average {load:.1f} at the end"
    )


def run_all(
    gsa: GSASpec,
    out: Path,
    workers: int = 1,
    resume: bool = False,
    progress: bool = True,
    command: str = "",
    stages: tuple[str, ...] = STAGES,
) -> dict:
    """Morris over every factor, then Sobol' over the top ones; writes every file of ``out``
    and returns the record (``gsa.json``)."""
    from ecosystem.outputs import write_parquet, write_text
    from ecosystem.run import git_revision

    out.mkdir(parents=True, exist_ok=True)
    seed = gsa.spec.sensitivity.root_seed
    write_parquet(_arrow(gsa.describe_factors(), gsa.name, seed), out / "gsa_factors.parquet")
    fixed = pd.DataFrame(gsa.fixed, columns=["path", "reason"])
    write_parquet(_arrow(fixed, gsa.name, seed), out / "gsa_fixed.parquet")
    record: dict = {
        "name": gsa.name,
        "spec": gsa.source,
        "command": command,
        "git_revision": git_revision(),
        "machine": machine(),
        "workers": workers,
        "niceness": os.nice(0),
        "months": gsa.months,
        "counterfactual": {"name": gsa.spec.counterfactual.name, "set": gsa.counterfactual},
        "counterfactual_description": gsa.spec.counterfactual.description,
        "root_seed": gsa.spec.sensitivity.root_seed,
        "seed_pool": gsa.spec.sensitivity.seed_pool,
        "factors": len(gsa.factors),
        "parameters": len(gsa.parameters),
        "fixed": len(gsa.fixed),
        "stages": {},
    }
    factors = gsa.factors
    for stage in stages:
        if stage == "sobol":
            morris = pd.read_parquet(out / "gsa_morris.parquet")
            factors = top_factors(gsa, morris, gsa.spec.sobol.top)
        res = run_stage(gsa, stage, factors, out, workers, resume, progress)
        record["stages"][stage] = {
            "factors": [f.name for f in factors],
            "points": len(res.X),
            "runs": 2 * len(res.X),
            "failed": res.failed,
            "N": res.exp.samples,
            "num_levels": gsa.spec.morris.num_levels if stage == "morris" else None,
            "wall_s": res.wall_s,
            "cpu_s": res.cpu_s,
            "run_s": res.run_s,
            "design_hash": res.exp.design_hash,
            "notes": res.notes,
            "yuan_per_startup": yuan_per_startup(res.points),
        }
        record["machine"] = machine()
        write_text(out / "gsa.json", json.dumps(record, indent=2, default=_json))
    return record


def _arrow(df: pd.DataFrame, run_id: str, seed: int):
    """A frame as an Arrow table of the house conventions (run_id and seed first, NULL for
    missing values)."""
    from ecosystem.output_tables import arrow_table

    return arrow_table({c: df[c].to_numpy() for c in df.columns}, run_id, seed)


def _json(x):
    if isinstance(x, np.integer | np.floating):
        return x.item()
    return str(x)


# --------------------------------------------------------------------------------------------
# docs/sensitivity.md
# --------------------------------------------------------------------------------------------
#: The page writes whole numbers with thousands separators from 100 up (no 1.23e+03).
_num = partial(short_number, separators_from=100)


def _yuan(v: float) -> str:
    return "n/a" if not np.isfinite(v) else f"¥{_num(v)}"


def _spec_facts(record: dict) -> dict:
    """What the page says about the spec it was made from (read again from the spec file)."""
    try:
        gsa = load_gsa(record["spec"])
    except ScenarioError:
        return {}
    meta = gsa.spec.sensitivity
    return {
        "scenario": meta.scenario,
        "calibration": meta.calibration,
        "calibrated": sum(
            1
            for f in gsa.factors
            if f.kind == "parameter" and f.members[0].path not in gsa.spec.factors.individual
        ),
        "individual": list(gsa.spec.factors.individual),
        "cf_description": gsa.spec.counterfactual.description,
    }


def _headline(outcome: str, mt: pd.DataFrame | None, so: pd.DataFrame | None) -> str:
    """One line: the leading factors of an outcome by Morris μ* over every factor (those above
    the seed's noise floor), then by Sobol' ST among the Sobol' stage's factors only."""
    parts, leaders = [], []
    if mt is not None and (mt["outcome"] == outcome).any():
        g = mt[mt["outcome"] == outcome]
        seed_mu = _seed_mu(g)
        above = above_noise(g)
        leaders = list(above["parameter"].head(3))
        lead = [
            f"`{r['parameter']}` μ* {_num(r['mu_star'])} ± {_num(r['mu_star_conf'])}"
            for _, r in above.head(3).iterrows()
        ]
        floor = f"seed μ* {_num(seed_mu)}"
        parts.append(
            "Morris (every factor): "
            + ("; ".join(lead) + f" ({floor})" if lead else f"none above the noise ({floor})")
        )
    if so is not None and (so["outcome"] == outcome).any():
        g = so[(so["outcome"] == outcome) & (so["kind"] != "seed")]
        seed = so[(so["outcome"] == outcome) & (so["kind"] == "seed")]
        lead = [
            f"`{r['parameter']}` ST {r['ST']:.2f} ± {r['ST_conf']:.2f}"
            for _, r in g.head(3).iterrows()
        ]
        if len(seed):
            lead.append(f"seed ST {seed['ST'].iloc[0]:.2f} ± {seed['ST_conf'].iloc[0]:.2f}")
        absent = [f"`{f}`" for f in leaders if f not in set(g["parameter"])]
        where = f"; Morris leaders not among them: {', '.join(absent)}" if absent else ""
        parts.append(f"Sobol' (its factors only{where}): " + "; ".join(lead))
    return ". ".join(parts) if parts else "not analysed (see the notes)"


def write_doc(out: Path, doc: Path, top: int = 10) -> Path:
    """``doc`` (Markdown) from the files of ``out``; nothing is run."""
    from ecosystem.outputs import write_text

    record = json.loads((out / "gsa.json").read_text(encoding="utf-8"))
    facts = _spec_facts(record)
    factors = pd.read_parquet(out / "gsa_factors.parquet")
    fixed = pd.read_parquet(out / "gsa_fixed.parquet")
    st = record["stages"]
    mt = pd.read_parquet(out / "gsa_morris.parquet") if "morris" in st else None
    so = pd.read_parquet(out / "gsa_sobol.parquet") if "sobol" in st else None
    scen = facts.get("scenario", record["name"])
    L: list[str] = []
    add = L.append
    add(f"# Global sensitivity of the headline outcomes ({scen})")
    add("")
    add(
        "Issue 11 point 5. Made by one command, which runs every simulation again and rewrites "
        "this page (`--resume` completes an interrupted run; `--doc-only` rewrites the page from "
        "the results directory without running anything):"
    )
    add("")
    add("```bash")
    nice = record.get("niceness") or 0  # what the run was started with (not recorded before)
    add(f"nice -n {nice} {record['command']}" if nice else record["command"])
    add("```")
    add("")
    add(f"- **Model revision:** `{record['git_revision']}`; the numbers belong to it.")
    add(
        f"- **Machine:** {record['machine']}; {record['workers']} worker"
        f"{'s' if record['workers'] != 1 else ''}"
        f"{f', `nice -n {nice}`' if nice else ''} (on a machine shared with other work, wall "
        "times are noisy)."
    )
    for stage, s in st.items():
        n = max(1, s["runs"])
        cpu = s.get("cpu_s", math.nan)
        add(
            f"- **{stage.capitalize()}:** {s['points']} design points × 2 paired arms = "
            f"{s['runs']} runs of {record['months']} months ({s['failed']} failed); wall time "
            f"{s['wall_s'] / 60:.1f} min (first to last run), {s['run_s'] / n:.1f} s and "
            f"{cpu / n:.1f} CPU-s a run."
        )
    add(
        f"- **Inputs:** {record['parameters']} uncertain inputs in {record['factors'] - 1} "
        f"factors plus the seed; {record['fixed']} documented inputs left at their value "
        "(listed at the end). Spec: `" + str(record["spec"]) + "`."
    )
    add("")
    add("## Headline")
    add("")
    add(
        "The leading factors of each outcome: by Morris μ* over every factor (those whose 95% "
        "interval lies above the seed's noise floor), then, where the outcome reached the Sobol' "
        "stage, by Sobol' ST with its 95% interval **among the Sobol' factors only** (every other "
        "input held at its value, so a share of variance there is a share of what those factors "
        "move, not of the whole), with the seed's share:"
    )
    add("")
    for outcome in OUTCOMES:
        add(f"- `{outcome}`: {_headline(outcome, mt, so)}")
    add("")
    ys = st.get("sobol", st.get("morris", {})).get("yuan_per_startup", {})
    if ys.get("points"):
        add(
            f"- Yuan per additional startup (ratio of mean effects over the "
            f"{'Sobol' if 'sobol' in st else 'Morris'} points): "
            f"{_yuan(ys['ratio_of_means'])} (mean extra voucher money "
            f"{_yuan(ys['mean_extra_yuan'])} / mean extra startups "
            f"{ys['mean_extra_startups']:+.1f}); undefined or negative at "
            f"{ys['share_undefined']:.0%} of the points."
        )
        add("")
    add("## Spread of the outcomes over the design")
    add("")
    add(
        "Each outcome over the design points of each stage (the Morris points span every "
        "factor's range; the Sobol' points vary only its factors). This is the spread the "
        "indices apportion:"
    )
    add("")
    add("| outcome | stage | min | 25% | median | 75% | max |")
    add("|---|---|---|---|---|---|---|")
    for outcome in OUTCOMES:
        for stage in st:
            path = out / f"gsa_points_{stage}.parquet"
            if not path.is_file():
                continue
            v = pd.read_parquet(path, columns=[outcome])[outcome].dropna().to_numpy(float)
            if not len(v):
                continue
            q = np.quantile(v, [0, 0.25, 0.5, 0.75, 1])
            add(f"| `{outcome}` | {stage} | " + " | ".join(_num(x) for x in q) + " |")
    add("")
    add("## Design")
    add("")
    m = st.get("morris", {})
    s = st.get("sobol", {})
    cal = facts.get("calibration")
    n_cal = facts.get("calibrated", 0)
    indiv = ", ".join(f"`{p}`" for p in facts.get("individual", []))
    add(
        f"**Inputs.** Every uncertain input of the `{scen}` scenario: the {n_cal} behavioural "
        f"parameters of the calibration spec `experiments/calibration/{cal}.toml` (read from "
        "there with their priors, so the two cannot drift) and every other numeric scenario "
        "field whose provenance documents a `range` (`aieco show "
        f"{scen}`). Each varies over its range, uniform, or log-uniform where the range spans "
        "more than a decade (the calibration's rule). One factor per input would cost "
        "hundreds of Morris trajectories' worth of runs, so the calibration parameters and "
        f"{indiv or 'no other input'} are factors of their own and the rest form **groups** "
        "by mechanism (Campolongo, Cariboni & Saltelli 2007; SALib's grouped designs): a "
        "group's members move together, each along its own range, and the group gets one "
        "index. A group that ranks high says the block matters, not which member: split it in "
        "the spec and rerun."
    )
    add("")
    add(
        "**Seed noise is a factor** (`seed`: each point's seed is drawn from a pool of "
        f"{record['seed_pool']} seeds by its own unit coordinate). Its Morris μ* is the typical "
        "change of an outcome from re-seeding alone, the noise floor of elementary effects: a "
        "factor whose μ* interval reaches below it is not told apart from seed noise (marked "
        "*noise* below). Its Sobol' ST is the share of the outcome's variance that is seed "
        "noise (with its interactions). Points that differ only in other factors share their "
        "seed (common random numbers), so elementary effects are paired. Estimator noise is "
        "what the 95% bootstrap intervals (SALib's `conf`) show: an index whose interval covers "
        "0 is not distinguished from 0. (A dummy input would read exactly 0 here — with common "
        "seeds its runs are identical — so it would say nothing about noise; the seed factor "
        "does.)"
    )
    add("")
    cf = record["counterfactual"]
    sets = ", ".join(f"`{k} = {v}`" for k, v in cf["set"].items())
    add(
        "**Paired arms.** Every design point runs twice on the same seed and the same inputs: "
        f"the scenario as it is and the counterfactual `{cf['name']}` ({sets}: "
        f"{facts.get('cf_description', '')}). Paired outcomes are the differences of a point's "
        "two runs; all others come from the first."
    )
    add("")
    add(
        f"**Stages.** (1) Morris screening of all factors: r = {m.get('N')} trajectories on "
        f"{m.get('num_levels')} levels, {m.get('points')} points. (2) Sobol' (Saltelli "
        f"sampling; first-order S1 and total ST by SALib's estimators; no second order) with "
        f"N = {s.get('N')} over the {max(0, len(s.get('factors', [])) - 1)} factors with the "
        "largest μ* relative to each outcome's largest, maximised over outcomes, plus the seed; "
        "every other input at the scenario's value. These are screening sizes, chosen to fit "
        "the 45-minute budget of one worker (each point costs two 10-year runs): Morris is "
        "usually run with r ≥ 10 and Sobol' with N ≥ 512, so rankings hold where intervals "
        "separate and no finer. More: raise `[morris] trajectories` / `[sobol] samples` in the "
        "spec (intervals shrink like 1/√N)."
    )
    add("")
    add("## Outcomes")
    add("")
    add("| outcome | unit | definition |")
    add("|---|---|---|")
    for name, (unit, meaning) in OUTCOMES.items():
        add(f"| `{name}` | {unit} | {meaning} |")
    add("")
    add(
        "**Censoring.** The year 5,000 is first reached is censored at the horizon: "
        "`reached_target` is the indicator of reaching it within the run and "
        "`target_year_capped` the years to the first month at or above it, "
        f"{record['months'] / 12:g} (the horizon) when never reached; the capped year is "
        "therefore a mix of the indicator and the timing, and both are reported. **Compute "
        "bought** is `compute_sold_gpu_h_total` (GPU-hours the city's startups bought, east and "
        "west)."
    )
    add("")
    add(
        "**Yuan per additional startup** (extra voucher money / extra startups at the horizon) "
        "divides by a paired difference that is noisy and often near or below zero: there it "
        "is undefined, negative or explodes. So indices are computed for the difference "
        "`extra_startups_end` and for the inverse ratio `startups_per_100m_yuan` (finite "
        "wherever vouchers are spent), and the ratio itself is reported from the mean effects "
        "(mean extra money / mean extra startups), beside the median of the pointwise ratio "
        "where it is positive and the share of points where it is not:"
    )
    add("")
    add(
        "| stage | points | mean extra voucher money | mean extra startups | "
        "yuan per extra startup (ratio of means) | median ratio where Δ > 0 | "
        "points with Δ ≤ 0 |"
    )
    add("|---|---|---|---|---|---|---|")
    for stage, srec in st.items():
        y = srec.get("yuan_per_startup", {})
        if not y.get("points"):
            continue
        add(
            f"| {stage} | {y['points']} | {_yuan(y['mean_extra_yuan'])} | "
            f"{y['mean_extra_startups']:+.1f} | {_yuan(y['ratio_of_means'])} | "
            f"{_yuan(y['median_ratio_where_positive'])} | {y['share_undefined']:.0%} |"
        )
    add("")
    add(
        "The Sobol' row is the better estimate of the means over the input ranges (its points "
        "are a quasi-random sample of them; Morris points sit on a grid of levels), but the "
        "Sobol' stage varies only its top factors. Each point's difference carries that "
        "point's seed noise; the ratio of means averages it out before dividing."
    )
    add("")
    if mt is not None:
        add("## Morris screening (all factors)")
        add("")
        add(
            "μ* (mean absolute elementary effect of moving the factor across its range, in "
            "outcome units) with its 95% bootstrap interval, μ (signed: the direction) and σ "
            "(spread of the effects: non-linearity or interaction; SALib gives none for "
            f"groups). *noise*: the μ* interval reaches the seed's μ*. Top {top} per outcome "
            "and the seed; every row is in `gsa_morris.parquet`."
        )
        add("")
        L += _outcome_tables(
            mt,
            lambda outcome: OUTCOMES[outcome][0],
            ["rank", "factor", "kind (inputs)", "μ* ± 95%", "μ", "σ", ""],
            _morris_cells,
            shown=lambda g: _top_and_seed(g, top),
            intro=lambda g: [f"Seed μ* (noise floor): {_num(_seed_mu(g))}.", ""],
        )
    if so is not None:
        add("## Sobol' indices (top factors)")
        add("")
        add(
            f"Factors: {', '.join(f'`{f}`' for f in st['sobol']['factors'])}; every other "
            "input at the scenario's value. S1 (first order: the factor alone) and ST (total: "
            "with its interactions) with 95% bootstrap intervals, ranked by ST. An interval "
            "covering 0 does not distinguish the index from 0; values outside [0, 1] are "
            "estimator noise at this N."
        )
        add("")
        L += _outcome_tables(
            so,
            lambda outcome: "Sobol'",
            ["rank", "factor", "S1 ± 95%", "ST ± 95%"],
            lambda r, g: [
                f"{r['rank']}",
                f"`{r['parameter']}`",
                f"{r['S1']:.2f} ± {r['S1_conf']:.2f}",
                f"{r['ST']:.2f} ± {r['ST_conf']:.2f}",
            ],
        )
    notes = [n for srec in st.values() for n in srec.get("notes", [])]
    if notes:
        add("## Notes from the analysis")
        add("")
        for n in notes:
            add(f"- {n}")
        add("")
    add("## Factors")
    add("")
    add("| factor | kind | inputs (scenario paths) | prior | provenance |")
    add("|---|---|---|---|---|")
    for name, g in factors.groupby("factor", sort=False):
        kind = g["kind"].iloc[0]
        if kind == "seed":
            add(f"| `{name}` | seed | — | {g['prior'].iloc[0]} | {g['provenance'].iloc[0]} |")
        elif kind == "parameter":
            r = g.iloc[0]
            add(
                f"| `{name}` | parameter | `{r['path']}` | {r['prior']} "
                f"[{r['low']:g}, {r['high']:g}] | {_cell(r['provenance'])} |"
            )
        else:
            paths = ", ".join(f"`{p}`" for p in g["path"])
            notes_ = (
                "all assumptions"
                if g["provenance"].str.startswith("assumption").all()
                else ("assumptions and sources")
            )
            add(
                f"| `{name}` | group of {len(g)} | {paths} | each its documented range | {notes_} |"
            )
    add("")
    add(
        "Each grouped input's range and note are in the scenario (`aieco show "
        f"{scen}`) and in `gsa_factors.parquet`."
    )
    add("")
    add(f"**Left at their value** ({len(fixed)}):")
    add("")
    for reason, g in fixed.groupby("reason", sort=False):
        add(f"- {_cell(reason)}: {', '.join(f'`{p}`' for p in g['path'])}")
    add("")
    add("## What not to trust")
    add("")
    add(
        "- **Sample size.** Morris r and Sobol' N are screening sizes: intervals are wide, and "
        "the order of neighbouring factors whose intervals overlap is not established."
    )
    add(
        "- **Groups.** A group's index is that of its inputs moving together; it can hide "
        "members whose effects cancel, and it does not say which member matters."
    )
    add(
        "- **Seed noise.** Where the seed's μ* or ST is large, compare every factor with it: "
        "the paired voucher effect in particular is mostly seed noise at the level of one run."
    )
    add(
        "- **The ratio.** Yuan per additional startup is only as good as the mean extra "
        "startups it divides by; where that mean is small against its spread the ratio is "
        "not established, whatever its point value."
    )
    add(
        "- **Coupling of the paired arms.** Common seeds pair the two arms only as long as "
        "their random streams stay aligned; where the ecosystem grows fast, switching the "
        "vouchers off changes which firms draw which numbers and the two runs drift apart, so "
        "`extra_startups_end` spreads far wider than any plausible voucher effect (see its "
        "range above). Its indices then measure that divergence more than the policy."
    )
    add(
        "- **Excluded inputs.** Inputs whose documented range the schema rejects (a joint "
        "constraint such as the price stability bound) stay at their value; lists, tables and "
        "labels too (listed above)."
    )
    add(
        "- **The model changes.** The core is still changing; the numbers belong to the "
        "revision above. Rerun the command after a change."
    )
    add("")
    text = "\n".join(L).rstrip() + "\n"
    write_text(doc, text)
    return doc


def _outcome_tables(
    table: pd.DataFrame,
    title: Callable[[str], str],
    columns: list[str],
    cells: Callable[[pd.Series, pd.DataFrame], list[str]],
    shown: Callable[[pd.DataFrame], pd.DataFrame] = lambda g: g,
    intro: Callable[[pd.DataFrame], list[str]] = lambda g: [],
) -> list[str]:
    """Markdown lines: for each outcome with rows in ``table`` (in ``OUTCOMES``' order), the
    heading ``### `outcome` (title(outcome))``, the ``intro(g)`` lines, a table headed by
    ``columns`` and a row of ``cells(r, g)`` for each row r of ``shown(g)``; g is the outcome's
    rows."""
    lines: list[str] = []
    for outcome in OUTCOMES:
        g = table[table["outcome"] == outcome]
        if g.empty:
            continue
        lines += [f"### `{outcome}` ({title(outcome)})", "", *intro(g)]
        lines.append("|" + "".join(f" {c} |" if c else " |" for c in columns))
        lines.append("|" + "---|" * len(columns))
        lines += ["| " + " | ".join(cells(r, g)) + " |" for _, r in shown(g).iterrows()]
        lines.append("")
    return lines


def _seed_mu(g: pd.DataFrame) -> float:
    """The seed's μ* in one outcome's Morris rows: the noise floor of elementary effects."""
    return float(g.loc[g["kind"] == "seed", "mu_star"].iloc[0])


def _top_and_seed(g: pd.DataFrame, top: int) -> pd.DataFrame:
    """The ``top`` ranked Morris rows, and the seed's row if it is not among them."""
    shown = g.head(top)
    if not (shown["kind"] == "seed").any():
        shown = pd.concat([shown, g[g["kind"] == "seed"]])
    return shown


def _morris_cells(r: pd.Series, g: pd.DataFrame) -> list[str]:
    noise = r["kind"] != "seed" and not told_apart(r["mu_star"], r["mu_star_conf"], _seed_mu(g))
    return [
        f"{r['rank']}",
        f"`{r['parameter']}`",
        f"{r['kind']} ({r['members']})",
        f"{_num(r['mu_star'])} ± {_num(r['mu_star_conf'])}",
        _num(r["mu"]),
        _num(r["sigma"]),
        "*noise*" if noise else "",
    ]


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m experiments.global_sensitivity",
        description="Morris screening over every uncertain input, Sobol' on the top factors, "
        "paired policy/counterfactual runs; writes Parquet results and a Markdown page.",
    )
    p.add_argument("spec", metavar="SPEC", help="a sensitivity spec (experiments/gsa/*.toml)")
    p.add_argument("--out", metavar="DIR", help="results directory (default results/gsa_<name>)")
    p.add_argument("--doc", metavar="FILE", help="write the Markdown page here")
    p.add_argument("--workers", type=int, default=1, help="local processes (default 1)")
    p.add_argument("--resume", action="store_true", help="complete an interrupted run")
    p.add_argument(
        "--doc-only", action="store_true", help="rewrite --doc from DIR's files; run nothing"
    )
    p.add_argument("--morris-only", action="store_true", help="skip the Sobol' stage")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    try:
        if args.workers < 1:
            raise ScenarioError("--workers", args.workers, "must be >= 1")
        if args.doc_only and not args.doc:
            raise ScenarioError("--doc-only", True, "needs --doc FILE")
        gsa = load_gsa(args.spec)
        out = Path(args.out) if args.out else Path("results") / f"gsa_{gsa.name}"
        if args.doc_only:
            if not (out / "gsa.json").is_file():
                raise ScenarioError("--out", str(out), "holds no gsa.json; run without --doc-only")
        else:
            command = " ".join(
                ["python -m experiments.global_sensitivity", args.spec]
                + ([f"--out {args.out}"] if args.out else [])
                + ([f"--doc {args.doc}"] if args.doc else [])
                + ([f"--workers {args.workers}"] if args.workers != 1 else [])
                + (["--morris-only"] if args.morris_only else [])
            )
            stages = ("morris",) if args.morris_only else STAGES
            record = run_all(gsa, out, args.workers, args.resume, not args.quiet, command, stages)
            for stage, s in record["stages"].items():
                print(
                    f"{stage}: {s['points']} points, {s['runs']} runs ({s['failed']} failed), "
                    f"{s['wall_s']:.0f} s; factors: {', '.join(s['factors'])}"
                )
                for n in s["notes"]:
                    print(f"note: {n}")
            print(f"results: {out}")
        if args.doc:
            print(f"doc: {write_doc(out, Path(args.doc))}")
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun the same command with --resume to complete it", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
