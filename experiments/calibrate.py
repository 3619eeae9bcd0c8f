"""The calibration simulation store: prior draws of the behavioural parameters θ, one model run
per (draw, seed), and the summary statistics the inference (issue 11.2, sbi NPE) trains on.

    aieco calibrate hangzhou --budget 3500 --workers 2            # build (or extend) the store
    aieco calibrate hangzhou --budget 3500 --workers 2 --resume   # after an interruption
    aieco calibrate hangzhou --summary                            # prior predictive vs targets

A calibration spec (TOML, ``experiments/calibration/<city>.toml``) names the scenario, the
horizon, the calibrated parameters θ (dotted scenario paths; priors default to the scenario
file's documented ``range``: uniform, log-uniform where the spec says so or the range spans more
than a decade) and the summary statistics with their targets and sources. See
``docs/calibration-method.md`` for the method and ``docs/outputs.md`` for the store's schema.

The store is a sweep results directory (``experiments.runner``: one run file per simulation,
atomic writes, ``--resume``, failures recorded with their seed and error, local processes or a
Dask scheduler) plus ``store.parquet`` (one row per (draw, seed): θ, statistics, git revision,
spec hash, target set) and ``calibration.json``. The sweep's design hash is the **spec hash**: it
covers everything that changes a simulation (scenario, constants, priors, statistics, horizon,
sampler, root seed) but not the budget, so a larger ``--budget`` extends a store (draw i is the
same whatever the budget) and not the targets, which only change how a store is read.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
import warnings
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ecosystem.scenario import (
    ScenarioError,
    ScenarioWarning,
    apply_overrides,
    format_validation_error,
    is_annotated,
    run_values,
    scenario_from_dict,
    strip_provenance,
)
from ecosystem.seeds import MAX_SEED
from experiments.options import CONDITIONING, DEFAULT_ACCEPT, INFERENCE_METHODS
from experiments.parameters import NAME_RE, RESERVED_NAMES, Parameter, RunTask, Scalar, run_id
from experiments.spec import (
    DesignSpec,
    Experiment,
    ExperimentFile,
    ExperimentMeta,
    OutcomeSpec,
    ParameterSpec,
    _resolve_scenario,
    apply_constants,
    check_scenario_path,
    load_scenario_document,
)

#: Where the shipped calibration specs live (``aieco calibrate CITY`` reads CITY.toml here).
SPEC_DIR = Path(__file__).resolve().parent / "calibration"
#: ``kind`` of the marker of a store (a sweep directory: ``aieco query`` reads it too)
STORE_FILES = ("store.parquet", "calibration.json")
#: The function the runner calls on each simulation (``RunTask.measure``).
MEASURE = "experiments.calibrate:run_statistics"
#: Ranges wider than this ratio (high / low, low > 0) get a log-uniform prior by default.
LOG_DECADES = 10.0
#: Months of the no-voucher run behind ``west_utilization_no_vouchers`` (year 1, [S92] V9).
NO_VOUCHER_MONTHS = 12
#: Bump when a statistic's definition changes: part of the spec hash, so old stores are not
#: silently extended with differently defined numbers.
STATISTICS_VERSION = 2


# --------------------------------------------------------------------------------------------
# Summary statistics
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Statistic:
    name: str
    unit: str  # "share" (printed as %) or a unit word
    meaning: str


def _stat(name: str, unit: str, meaning: str) -> Statistic:
    return Statistic(name, unit, meaning)


#: Statistics computed here from a run's tables (beyond the outcome registry and the
#: measures of ``ecosystem.calibration``).
OWN_STATISTICS = {
    s.name: s
    for s in (
        _stat(
            "survival_2y",
            "share",
            "startups founded in the run not failed 24 months after founding (cohorts old "
            "enough; acquired firms survive) [S33]",
        ),
        _stat(
            "talent_gross_inflow_per_year",
            "share",
            "arrivals from outside the modelled cities per year / AI workforce (city regions, "
            "mean over the run); not [S53]'s figure, which is a share of China's mobile talent",
        ),
        _stat(
            "talent_outflow_per_year",
            "share",
            "departures to outside per year / AI workforce (city regions, mean over the run); "
            "not [S53]'s figure, which is a share of China's mobile talent",
        ),
        _stat(
            "vc_deals_per_year",
            "rounds",
            "venture rounds closed in the city regions per year (mean over the run) [S39][S107]",
        ),
        _stat(
            "vc_money_yuan_per_year",
            "yuan",
            "venture money raised in the city regions per year (mean over the run) [S39][S107]",
        ),
        _stat(
            "vc_deals_y1",
            "rounds",
            "venture rounds closed in the city regions in the run's first 12 months (2025: the "
            "nearest year to the sources' 2024 counts, before the pools' growth) [S39][S107]",
        ),
        _stat(
            "vc_money_yuan_y1",
            "yuan",
            "venture money raised in the city regions in the run's first 12 months [S39][S107]",
        ),
        _stat(
            "venture_b_given_a",
            "share",
            "among venture-track startups founded in the first two years of the run that reached "
            "Series A, the share that reached Series B by the end (Carta: 14.8% / 36.4% [S37]; "
            "Series A given seed is held-out pattern 10b, never a statistic)",
        ),
        _stat(
            "venture_c_given_b",
            "share",
            "as venture_b_given_a, Series C among those that reached Series B [S37]",
        ),
        _stat(
            "venture_reached_seed",
            "share",
            "among venture-track startups (ever sought a round) founded in the first two years "
            "of the run, the share that closed a seed round by the end [S37]",
        ),
        _stat(
            "venture_reached_a",
            "share",
            "as venture_reached_seed, the share that reached Series A [S37]",
        ),
        _stat(
            "venture_reached_b",
            "share",
            "as venture_reached_seed, the share that reached Series B [S37]",
        ),
        _stat(
            "acquired_share",
            "share",
            "among venture-track startups founded in the first two years of the run, the share "
            "acquired by the end (ages 5–7 in a 7-year run) [S37]",
        ),
        _stat(
            "east_utilization_y1",
            "share",
            "city regions' GPU-hours sold / capacity over the first 12 months (Beijing's "
            "voucher-supported compute > 85% utilised by Jan 2026 [S65])",
        ),
        _stat(
            "share_younger_than_5y",
            "share",
            "live startups at the end founded less than 60 months before [S36] (weak)",
        ),
    )
}
#: Measures that ``ecosystem.calibration.measure`` adds to the outcome registry's.
MEASURE_STATISTICS = {
    "founders_per_100_leavers": Statistic(
        "founders_per_100_leavers",
        "startups",
        "startups founded by the largest firm's leavers per 100 of its leavers [S49]",
    ),
    "founders_per_100_leavers_direct": Statistic(
        "founders_per_100_leavers_direct",
        "startups",
        "as founders_per_100_leavers, founded on leaving",
    ),
    "west_utilization_no_vouchers": Statistic(
        "west_utilization_no_vouchers",
        "share",
        "western utilisation in year 1 of the same run with every voucher off [S92] V9",
    ),
}
#: Statistics that are held-out validation patterns (docs/validation.md) or the question the
#: model answers (how many startups, the 5,000 of H12): never calibrated on.
_COUNT = "the number of startups is what the model answers, never a target (H12, validation.md)"
HELD_OUT = {
    "west_utilization_end": "pattern 11 (western utilisation beyond year 1)",
    "month_target_reached": _COUNT,
    "target_reached": _COUNT,
    "startups_alive_end": _COUNT,
    "startups_alive_y1": _COUNT,
    "startups_alive_y5": _COUNT,
    "startups_alive_y10": _COUNT,
    "startups_founded_total": _COUNT,
    "micro_firms_alive_end": _COUNT,
    "largest_startup_staff_end": "pattern 13 (no startup grows to a big firm's size)",
    "voucher_additional_share": "pattern 9 (voucher additionality: reported, never tuned)",
    "voucher_deadweight_share": "pattern 9 (voucher additionality: reported, never tuned)",
    "voucher_inference_share": "pattern 9 (voucher additionality: reported, never tuned)",
    "voucher_unused_share": "pattern 9 (voucher additionality: reported, never tuned)",
}


def registry_statistics() -> dict[str, Statistic]:
    from ecosystem import outcomes

    return {
        name: Statistic(name, "share" if o.unit == "share" else o.unit, o.meaning)
        for name, o in outcomes.OUTCOMES.items()
    }


def all_statistics() -> dict[str, Statistic]:
    """Every statistic a spec may name, by name."""
    out = registry_statistics()
    out.update(MEASURE_STATISTICS)
    out.update(OWN_STATISTICS)
    return {k: v for k, v in sorted(out.items()) if k not in HELD_OUT}


def _per_year_rate(t: pd.DataFrame, col: str) -> float:
    if t.empty or col not in t or "people" not in t:
        return math.nan
    people = t["people"].where(t["people"] > 0)
    return float((t[col] / people).fillna(0.0).sum() * 12 / len(t))


def _early_cohort(firms: pd.DataFrame) -> pd.DataFrame:
    return firms[(firms["founded_month"] >= 0) & (firms["founded_month"] < 24)]


def _venture(firms: pd.DataFrame) -> pd.DataFrame:
    """Venture-track firms (ever sought a priced round): Carta's population [S37]."""
    if "venture_track" not in firms:
        return firms.iloc[:0]
    return firms[firms["venture_track"].to_numpy(dtype=bool)]


def _reached(firms: pd.DataFrame, stage: int) -> float:
    return float((firms["stage"].to_numpy() >= stage).mean()) if len(firms) else math.nan


def _reached_given(firms: pd.DataFrame, stage: int) -> float:
    """Share of the firms that reached ``stage - 1`` that went on to reach ``stage``."""
    stages = firms["stage"].to_numpy()
    before = stages >= stage - 1
    return float((stages[before] >= stage).mean()) if before.any() else math.nan


def _first_year_sum(t: pd.DataFrame, col: str) -> float:
    return float(t[col].iloc[:12].sum()) if col in t and len(t) >= 12 else math.nan


def _city_utilization_first_year(t: pd.DataFrame) -> float:
    """The cities' data centers' load over the first year, from the city KPIs by month."""
    from ecosystem import outcomes

    if t.empty or "dc_capacity_gpu_h" not in t.columns:
        return math.nan
    t = t.iloc[:12]
    return float(outcomes.utilization(t["dc_sold_gpu_h"], t["dc_capacity_gpu_h"]))


def own_statistics(result, names: set[str], data=None) -> dict[str, float]:
    """The statistics of :data:`OWN_STATISTICS` asked for, from one run's tables (``data``: its
    ``ecosystem.outcomes.RunData``, made here if not given)."""
    from ecosystem.outcomes import RunData, survival
    from ecosystem.tables import Stage

    firms, months = result.firms, int(result.months)
    t = (RunData.from_result(result) if data is None else data).monthly("city")
    years = len(t) / 12 if len(t) else math.nan
    early = _early_cohort(firms)
    out: dict[str, float] = {}
    for name in names:
        if name == "survival_2y":
            v = survival(firms, 24, months)
        elif name == "talent_gross_inflow_per_year":
            v = _per_year_rate(t, "arrivals")
        elif name == "talent_outflow_per_year":
            v = _per_year_rate(t, "departures")
        elif name == "vc_deals_per_year":
            v = float(t["rounds_closed"].sum() / years) if "rounds_closed" in t else math.nan
        elif name == "vc_money_yuan_per_year":
            v = float(t["vc_raised_yuan"].sum() / years) if "vc_raised_yuan" in t else math.nan
        elif name == "vc_deals_y1":
            v = _first_year_sum(t, "rounds_closed")
        elif name == "vc_money_yuan_y1":
            v = _first_year_sum(t, "vc_raised_yuan")
        elif name == "venture_b_given_a":
            v = _reached_given(_venture(early), Stage.SERIES_B)
        elif name == "venture_c_given_b":
            v = _reached_given(_venture(early), Stage.SERIES_C)
        elif name == "venture_reached_seed":
            v = _reached(_venture(early), Stage.SEED)
        elif name == "venture_reached_a":
            v = _reached(_venture(early), Stage.SERIES_A)
        elif name == "venture_reached_b":
            v = _reached(_venture(early), Stage.SERIES_B)
        elif name == "acquired_share":
            vt = _venture(early)
            v = float((vt["exit_reason"] == "acquired").mean()) if len(vt) else math.nan
        elif name == "east_utilization_y1":
            v = _city_utilization_first_year(t)
        elif name == "share_younger_than_5y":
            alive = firms[firms["exit_reason"] == "alive"]
            young = alive["founded_month"] > months - 1 - 60
            v = float(young.mean()) if len(alive) else math.nan
        else:  # pragma: no cover - names are checked against OWN_STATISTICS before any run
            raise KeyError(name)
        out[name] = v
    return out


def run_statistics(result, scenario, names: tuple[str, ...]) -> dict[str, float]:
    """The summary statistics ``names`` of one simulation (called by the runner on the process
    that ran the model: ``RunTask.measure``). Raises on a statistic it cannot compute, so the
    simulation is recorded as failed with the reason."""
    from ecosystem import calibration, outcomes
    from ecosystem.run import run_scenario

    wanted = set(names)
    out: dict[str, float] = {}
    data = outcomes.RunData.from_result(result)  # its by-month sums are made once, then kept
    own = wanted & set(OWN_STATISTICS)
    if own:
        out.update(own_statistics(result, own, data))
    measured = wanted & set(MEASURE_STATISTICS)
    if measured:
        no_v = None
        if "west_utilization_no_vouchers" in measured:
            base = calibration.without_vouchers(scenario)
            no_v = run_scenario(base, result.seed, months=min(NO_VOUCHER_MONTHS, result.months))
        m = calibration.measure(result, no_v)
        for name in measured:
            out[name] = float(m[name]) if name in m else math.nan
    rest = sorted(wanted - own - measured)
    if rest:
        out.update(outcomes.compute(data, rest))
    return {name: float(out[name]) for name in names}


# --------------------------------------------------------------------------------------------
# The spec
# --------------------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CalibrationMeta(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", min_length=1, max_length=80)]
    description: str = ""
    scenario: str
    months: Annotated[int, Field(ge=1, le=600)]
    root_seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 0
    seeds_per_draw: Annotated[int, Field(ge=1, le=100)] = 1
    sampler: Literal["random", "sobol"] = "random"
    #: Simulations ``aieco calibrate all`` gives this spec unless --budget says otherwise.
    default_budget: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    #: Why no statistic is conditioned on (required then): the city is reported "not calibrated".
    no_target_reason: str = ""
    #: What the neural posterior conditions on: each target's observed value (point) or its
    #: band, as hard limits (band) or as a normal error's 90% interval (normal); part of the
    #: target set, so a posterior inferred otherwise is stale. ``--condition`` overrides it.
    conditioning: Literal[CONDITIONING] = CONDITIONING[0]
    #: How a posterior is made from the store: neural posterior estimation (npe) or rejection
    #: ABC, the ``accept`` share of ok simulations nearest the targets (default 0.05); part of
    #: the target set. ``--method`` and ``--accept`` override them.
    method: Literal[INFERENCE_METHODS] = INFERENCE_METHODS[0]
    accept: Annotated[float, Field(gt=0, le=1)] | None = None


class ThetaSpec(_Strict):
    path: Annotated[str, Field(min_length=1)]
    range: list[float] | None = None
    prior: Literal["uniform", "log_uniform"] | None = None
    symbol: str = ""
    description: str = ""
    #: a parameter of the spec's city (``regions.<city>.…``) in a stage-A spec: true (the
    #: default) = pooled, every other city takes the calibrated value (design §9.1); false = the
    #: city's own input (its wage, say), applied to that city only, never copied to another
    pooled: bool = True


class StatisticSpec(_Strict):
    target: list[float] | None = None
    observed: float | None = None
    source: str = ""
    description: str = ""


class CoreSpec(_Strict):
    """Stage B of design §9.6: θ_core is drawn from stage A's posterior, not from a prior."""

    #: the stage-A posterior file (relative to the spec), e.g. "posteriors/hangzhou.parquet"
    posterior: Annotated[str, Field(min_length=1)]
    #: the stage-A spec the posterior must have been inferred from (staleness check)
    spec: Annotated[str, Field(min_length=1)] = "hangzhou"
    #: "conditional": θ_core is an input of the NPE (q(φ | x, θ_core), the exact cut posterior);
    #: "marginal": θ_core integrated out in training (q(φ | x)), paired afterwards
    mode: Literal["conditional", "marginal"] = "conditional"
    #: posterior parameters not taken as core (left at the scenario's value)
    exclude: list[str] = Field(default_factory=list)


class CalibrationFile(_Strict):
    calibration: CalibrationMeta
    core: CoreSpec | None = None
    constants: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)
    parameters: dict[str, ThetaSpec]
    statistics: dict[str, StatisticSpec]


@dataclass(frozen=True)
class Prior:
    """One calibrated parameter: a scenario path and its prior (uniform or log-uniform)."""

    name: str
    path: str
    low: float
    high: float
    log: bool
    integer: bool
    range_from: str  # "spec" or "scenario"
    symbol: str = ""
    description: str = ""
    #: a pooled city copy takes the value of the prior of this name (``experiments.uncertainty``)
    same_as: str = ""
    #: the stage-A path this pooled copy stands for (a posterior column at it fills this prior)
    pooled_with: str = ""
    #: False for a city parameter of a stage-A spec that is the city's own (``ThetaSpec.pooled``)
    pooled: bool = True

    @property
    def kind(self) -> str:
        return "log_uniform" if self.log else "uniform"

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Quantile function: values at unit-interval points ``u``."""
        u = np.asarray(u, dtype=float)
        if self.log:
            a, b = math.log(self.low), math.log(self.high)
            x = np.exp(a + u * (b - a))
        else:
            x = self.low + u * (self.high - self.low)
        x = np.clip(x, self.low, self.high)  # exp(log(x)) may leave [low, high] by an ulp
        return np.round(x) if self.integer else x

    def as_parameter(self, description: str) -> Parameter:
        """The prior as an experiment's uncertain parameter (its range, its type)."""
        return Parameter(
            self.name,
            "uncertainty",
            self.path,
            None,
            (self.low, self.high),
            None,
            self.integer,
            "int" if self.integer else "float",
            description,
        )

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "path": self.path,
            "prior": self.kind,
            "low": self.low,
            "high": self.high,
            "integer": self.integer,
            "range_from": self.range_from,
            "symbol": self.symbol,
            "description": self.description,
            **({"same_as": self.same_as} if self.same_as else {}),
            **({"pooled_with": self.pooled_with} if self.pooled_with else {}),
            **({} if self.pooled else {"pooled": False}),
        }


@dataclass(frozen=True)
class TargetBand:
    name: str
    low: float | None
    high: float | None
    observed: float | None
    source: str
    unit: str
    meaning: str

    @property
    def has_target(self) -> bool:
        return self.low is not None

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "low": self.low,
            "high": self.high,
            "observed": self.observed,
            "source": self.source,
            "unit": self.unit,
            "meaning": self.meaning,
        }


def _annotated_leaf(doc: dict, path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        if is_annotated(node):
            node = node["value"]
        node = node[part]
    return node


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _prior(name: str, ts: ThetaSpec, doc: dict, plain: dict) -> Prior:
    where = f"parameters.{name}"
    if not NAME_RE.match(name):
        raise ScenarioError(where, name, "a name must be a letter or _ then letters, digits or _")
    if name in RESERVED_NAMES or name in (
        "draw",
        "spec_hash",
        "target_set",
        "git_revision",
        "core_row",
    ):
        raise ScenarioError(where, name, "is a reserved column name")
    check_scenario_path(doc, ts.path, None, f"{where}.path")
    leaf = _annotated_leaf(doc, ts.path)
    value = leaf["value"] if is_annotated(leaf) else leaf
    if not _is_number(value):
        raise ScenarioError(
            f"{where}.path",
            ts.path,
            f"holds {type(value).__name__} {value!r}; only numbers can be calibrated",
        )
    if ts.range is not None:
        rng, origin = list(ts.range), "spec"
    else:
        documented = leaf.get("range") if is_annotated(leaf) else None
        if documented is None:
            raise ScenarioError(
                f"{where}.range",
                None,
                f"{ts.path} documents no range in the scenario; give range = [low, high]",
            )
        rng, origin = list(documented), "scenario"
    label = f"{where}.range"
    if len(rng) != 2 or not all(_is_number(v) and math.isfinite(v) for v in rng):
        raise ScenarioError(label, rng, "must be [low, high] with finite numbers")
    lo, hi = float(rng[0]), float(rng[1])
    if not lo < hi:
        raise ScenarioError(label, rng, "empty range: low must be below high (fix it with range)")
    if ts.prior == "log_uniform" and lo <= 0:
        raise ScenarioError(f"{where}.prior", "log_uniform", f"needs low > 0; range is {rng}")
    log = ts.prior == "log_uniform" or (ts.prior is None and lo > 0 and hi / lo > LOG_DECADES)
    integer = isinstance(value, int)
    for v in (lo, hi):
        shown = int(v) if integer else v
        try:
            with warnings.catch_warnings():  # a range end's warnings are not the scenario's
                warnings.simplefilter("ignore", ScenarioWarning)
                scenario_from_dict(apply_overrides(plain, {ts.path: shown}))
        except ScenarioError as exc:
            raise ScenarioError(
                label, rng, f"{v:g} is rejected: {exc.field} {exc.allowed}"
            ) from None
    return Prior(
        name, ts.path, lo, hi, log, integer, origin, ts.symbol, ts.description, pooled=ts.pooled
    )


def _target(name: str, ss: StatisticSpec, stat: Statistic) -> TargetBand:
    where = f"statistics.{name}"
    lo = hi = None
    if ss.target is not None:
        t = ss.target
        if len(t) != 2 or not all(math.isfinite(v) for v in t) or t[0] > t[1]:
            raise ScenarioError(f"{where}.target", t, "must be [low, high] with low <= high")
        lo, hi = float(t[0]), float(t[1])
        if not ss.source.strip():
            raise ScenarioError(f"{where}.source", "", "a target needs its source ([Sx] or why)")
    observed = ss.observed
    if observed is not None:
        if lo is None:
            raise ScenarioError(f"{where}.observed", observed, "needs target = [low, high] too")
        if not lo <= observed <= hi:
            raise ScenarioError(f"{where}.observed", observed, f"must lie in [{lo:g}, {hi:g}]")
    elif lo is not None:
        observed = (lo + hi) / 2
    meaning = ss.description or stat.meaning
    return TargetBand(name, lo, hi, observed, ss.source, stat.unit, meaning)


# --------------------------------------------------------------------------------------------
# Stage B: θ_core drawn from stage A's posterior (design §9.6)
# --------------------------------------------------------------------------------------------
#: Column of the store and of a city posterior: the stage-A posterior row θ_core was taken from.
CORE_ROW = "core_row"
#: Spawn key of the θ_core rows a posterior's samples are paired with (the store's rows use
#: ``experiments.draws.draw_table`` on the root seed itself).
CORE_SAMPLE_KEY = 5


#: A city's own parameter: ``regions.<city>.<rest>`` (group 1 the city, group 2 the rest).
REGION_PATH = re.compile(r"^regions\.([^.]+)\.(.+)$")


def target_set_hash(statistics: list[dict], rule: str = CONDITIONING[0]) -> str:
    """Hash of a spec's ``describe()["statistics"]`` (bands, observed values, sources) and of
    the ``rule`` a posterior reads them with: the NPE's conditioning, or ``_rejection_rule``
    (left out for ``point``, so the hashes of posteriors inferred before the choice existed stay
    valid)."""
    parts: Any = statistics if rule == CONDITIONING[0] else [statistics, rule]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _rejection_rule(accept: float) -> str:
    """The target-set rule of rejection ABC at an acceptance share (the default's is shorter,
    as ``point``'s is absent)."""
    return "rejection" if accept == DEFAULT_ACCEPT else f"rejection {accept!r}"


def stage_b_inputs(stage_a: str = "hangzhou") -> list[tuple[str, str, ThetaSpec]]:
    """(city, name, parameter) of the own inputs φ_c of every shipped stage-B spec (a spec whose
    ``[core]`` is drawn from ``stage_a``): the city-specific inputs ``aieco compare`` draws for
    every city of a scenario (``experiments.uncertainty.scenario_priors``), from the spec's
    range or the city's documented one, or from the city's posterior."""
    out = []
    for path in sorted(SPEC_DIR.glob("*.toml")):
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
            spec = CalibrationFile.model_validate(raw)
        except (OSError, ValueError):  # a broken shipped spec: load_spec reports it properly
            continue
        if spec.core is None or spec.core.spec != stage_a:
            continue
        for name, ts in spec.parameters.items():
            m = REGION_PATH.match(ts.path)
            if m is not None:
                out.append((m.group(1), name, ts))
    return out


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Core:
    """θ_core of a stage-B spec: the stage-A posterior's parameters as applied to this scenario.

    A parameter of stage A's city (``regions.hangzhou.talent.X``) is pooled (design §9.1): its
    posterior value is applied to this scenario's city at ``regions.<city>.talent.X`` under the
    name ``X_<city>`` (the naming of ``experiments.uncertainty``)."""

    posterior: Path
    sha256: str
    record: dict  # the stage-A posterior's record (experiments.inference)
    priors: list[Prior]  # as applied here (names and paths mapped); ranges of stage A
    mapped: dict[str, str]  # name here -> (stage-A name, stage-A path)
    table: pd.DataFrame  # posterior rows: one column per name here, and ``weight``
    mode: str
    spec: str
    excluded: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.priors]

    def draws(self, n: int, root_seed: int) -> pd.DataFrame:
        """(n × θ_core) rows of the stage-A posterior, chosen ∝ weight; row m depends only on
        ``root_seed`` and m (``experiments.draws.draw_table``), so budgets extend. Columns:
        the core names and ``core_row`` (the posterior row)."""
        from experiments.draws import draw_table

        df = draw_table(self.priors, n, root_seed, self.table, self.names)
        return df.drop(columns=["draw"]).rename(columns={"posterior_row": CORE_ROW})

    def sample_rows(self, n: int, root_seed: int) -> pd.DataFrame:
        """θ_core rows to pair with n posterior samples. With equal weights (an NPE posterior:
        iid samples) sample k takes row k mod N of the stage-A file, so sample k of EVERY
        city's posterior shares θ_core row k and a national run can join the cities'
        posteriors on ``core_row`` (``experiments.uncertainty``); with unequal weights rows are
        drawn ∝ weight on a stream of their own (another than the store's)."""
        from experiments.draws import _value

        w = self.table["weight"].to_numpy(dtype=float)
        if np.allclose(w, w[0]):
            rows = np.arange(n) % len(self.table)
            df = self.table.iloc[rows][self.names].reset_index(drop=True)
            for p in self.priors:
                df[p.name] = [_value(p, x) for x in df[p.name]]
            df[CORE_ROW] = rows
            return df
        ss = np.random.SeedSequence(root_seed, spawn_key=(CORE_SAMPLE_KEY,))
        return self.draws(n, int(ss.generate_state(1, dtype=np.uint32)[0]))

    def describe(self) -> dict:
        rec = self.record
        return {
            "posterior": str(self.posterior),
            "sha256": self.sha256,
            "stage_a_spec": self.spec,
            "stage_a_spec_hash": rec.get("spec_hash"),
            "stage_a_target_set": rec.get("target_set"),
            "stage_a_git_revision": rec.get("git_revision"),
            "stage_a_store_git_revisions": rec.get("store_git_revisions"),
            "mode": self.mode,
            "cut": "θ_core is drawn from stage A's posterior; this city's statistics do not "
            "update it (a modular, cut posterior: design §9.6)",
            "parameters": [
                {
                    **p.as_dict(),
                    "stage_a_name": self.mapped[p.name][0],
                    "stage_a_path": self.mapped[p.name][1],
                }
                for p in self.priors
            ],
            "excluded": list(self.excluded),
        }


def _posterior_prior(q: dict) -> Prior:
    return Prior(
        q["name"],
        q["path"],
        float(q["low"]),
        float(q["high"]),
        q["prior"] == "log_uniform",
        bool(q.get("integer")),
        "posterior",
        q.get("symbol", ""),
        q.get("description", ""),
        pooled=bool(q.get("pooled", True)),
    )


def build_core(cs: CoreSpec, base_dir: Path, doc: dict, override: Path | None = None) -> Core:
    """Read the stage-A posterior a spec names and map its parameters onto this scenario."""
    from experiments.draws import read_posterior as read_rows
    from experiments.inference import read_posterior as read_record

    path = Path(override) if override is not None else Path(cs.posterior)
    if not path.is_absolute() and override is None:
        path = Path(base_dir) / path
    if not path.is_file():
        raise ScenarioError(
            "core.posterior",
            str(path),
            "no such posterior file (run stage A: aieco calibrate "
            f"{cs.spec} --budget N, or aieco calibrate all)",
        )
    try:
        _, record = read_record(path)
    except ScenarioError:
        raise ScenarioError("core.posterior", str(path), "is damaged or not a posterior") from None
    source = [_posterior_prior(q) for q in record.get("parameters", [])]
    known = [q.name for q in source]
    for name in cs.exclude:
        if name not in known:
            raise ScenarioError(
                "core.exclude",
                name,
                "not a parameter of the posterior; allowed: " + ", ".join(known),
            )
    plain, _ = strip_provenance(doc)
    cities = [
        rid
        for rid, r in (plain.get("regions") or {}).items()
        if isinstance(r, dict) and r.get("kind", "city") == "city"
    ]
    priors, mapped, excluded = [], {}, list(cs.exclude)
    for q in source:
        if q.name in cs.exclude:
            continue
        m = REGION_PATH.match(q.path)
        name, path_here = q.name, q.path
        if m is not None and not q.pooled and (len(cities) != 1 or m.group(1) != cities[0]):
            excluded.append(q.name)  # stage A's city's own input: not this scenario's city
            continue
        if m is not None:
            if len(cities) != 1:
                raise ScenarioError(
                    "core.posterior",
                    q.path,
                    f"a city parameter needs a single-city scenario; this one has {len(cities)} "
                    "cities (list it in core.exclude)",
                )
            if m.group(1) != cities[0]:
                name, path_here = f"{q.name}_{cities[0]}", f"regions.{cities[0]}.{m.group(2)}"
        check_scenario_path(doc, path_here, None, f"core: {q.name} at {path_here}")
        priors.append(replace(q, name=name, path=path_here))
        mapped[name] = (q.name, q.path)
    if not priors:
        raise ScenarioError("core.exclude", cs.exclude, "leaves no parameter of the posterior")
    rows, names = read_rows(path, source)
    table = rows.rename(columns={src: here for here, (src, _) in mapped.items()})
    table = table[[p.name for p in priors] + ["weight"]]
    return Core(path, file_sha256(path), record, priors, mapped, table, cs.mode, cs.spec, excluded)


def spec_names() -> list[str]:
    return sorted(p.stem for p in SPEC_DIR.glob("*.toml"))


def resolve_spec_path(target: str) -> Path:
    """A spec file, or the shipped spec of a city (``experiments/calibration/<city>.toml``)."""
    p = Path(target)
    if p.suffix == ".toml" or p.is_file():
        if not p.is_file():
            raise ScenarioError("SPEC", target, "file not found")
        return p
    shipped = SPEC_DIR / f"{target}.toml"
    if not shipped.is_file():
        raise ScenarioError(
            "CITY",
            target,
            "no calibration spec; allowed: " + ", ".join(spec_names()) + " or a SPEC.toml file",
        )
    return shipped


@dataclass
class CalibrationSpec:
    """A validated calibration spec: the scenario document, priors, statistics and targets."""

    spec: CalibrationFile
    source: str
    base_document: dict
    priors: list[Prior]
    targets: list[TargetBand]
    core: Core | None = None

    @property
    def name(self) -> str:
        return self.spec.calibration.name

    @property
    def meta(self) -> CalibrationMeta:
        return self.spec.calibration

    @property
    def statistics(self) -> list[str]:
        return [t.name for t in self.targets]

    @property
    def conditioned(self) -> list[str]:
        """The statistics inference conditions on (those with an observed value)."""
        return [t.name for t in self.targets if t.observed is not None]

    @property
    def calibrated(self) -> bool:
        """False for a city with no observed quantity: its "posterior" is its prior."""
        return bool(self.conditioned)

    @property
    def default_budget(self) -> int | None:
        return self.meta.default_budget

    def core_columns(self) -> list[str]:
        return [*self.core.names, CORE_ROW] if self.core else []

    @cached_property
    def spec_hash(self) -> str:
        """Changes whenever a simulation would give other numbers (not with budget, targets)."""
        m = self.meta
        # meta.posterior names where the scenario's draws come from: no simulation reads it
        doc = run_values(self.base_document)
        doc.get("meta", {}).pop("posterior", None)
        blob = json.dumps(
            {
                "doc": doc,
                "priors": [(p.name, p.path, p.low, p.high, p.log, p.integer) for p in self.priors],
                "statistics": self.statistics,
                "statistics_version": STATISTICS_VERSION,
                "months": m.months,
                "root_seed": m.root_seed,
                "seeds_per_draw": m.seeds_per_draw,
                "sampler": m.sampler,
                **(
                    {"core": [self.core.sha256, [(p.name, p.path) for p in self.core.priors]]}
                    if self.core
                    else {}
                ),
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def accept(self) -> float:
        """Rejection ABC's acceptance share (``meta.accept``, default ``DEFAULT_ACCEPT``)."""
        return DEFAULT_ACCEPT if self.meta.accept is None else self.meta.accept

    @cached_property
    def target_set(self) -> str:
        """Hash of the targets (bands, observed values, sources) a store is read against and
        of how the posterior is made from them (``meta.conditioning``, ``meta.method``)."""
        m = self.meta
        rule = m.conditioning if m.method == "npe" else _rejection_rule(self.accept)
        return target_set_hash([t.as_dict() for t in self.targets], rule)

    def describe(self) -> dict:
        """What ``calibration.json`` and the store's metadata record."""
        return {
            "name": self.name,
            "description": self.meta.description,
            "source": self.source,
            "scenario": self.meta.scenario,
            "months": self.meta.months,
            "root_seed": self.meta.root_seed,
            "seeds_per_draw": self.meta.seeds_per_draw,
            "sampler": self.meta.sampler,
            "spec_hash": self.spec_hash,
            "target_set": self.target_set,
            "statistics_version": STATISTICS_VERSION,
            "parameters": [p.as_dict() for p in self.priors],
            "statistics": [t.as_dict() for t in self.targets],
            "calibrated": self.calibrated,
            "no_target_reason": self.meta.no_target_reason,
            "core": self.core.describe() if self.core else None,
            "spec": self.spec.model_dump(mode="json"),
        }

    # ----------------------------------------------------------------------------------------
    def unit_draws(self, n: int) -> np.ndarray:
        """(n × d) points of the unit cube; row i is the same for every n (extendable)."""
        d = len(self.priors)
        root = self.meta.root_seed
        if self.meta.sampler == "sobol":
            from scipy.stats import qmc

            sampler = qmc.Sobol(d, scramble=True, rng=np.random.default_rng(root))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # balance needs n a power of two: noted in docs
                return sampler.random(n)
        rows = np.empty((n, d))
        for i in range(n):
            ss = np.random.SeedSequence(root, spawn_key=(0, i))
            rows[i] = np.random.default_rng(ss).random(d)
        return rows

    def draws(self, n: int) -> np.ndarray:
        """(n × d) parameter values: the prior's quantiles at :meth:`unit_draws`."""
        u = self.unit_draws(n)
        return np.column_stack([p.from_unit(u[:, j]) for j, p in enumerate(self.priors)])

    def seeds(self, draw: int, stream: int = 1) -> list[int]:
        """The model seeds of one draw (independent of every other draw's). Stream 1 seeds the
        store's prior draws, stream 2 the posterior predictive check's draws."""
        ss = np.random.SeedSequence(self.meta.root_seed, spawn_key=(stream, draw))
        return [
            int(c.generate_state(1, dtype=np.uint32)[0]) for c in ss.spawn(self.meta.seeds_per_draw)
        ]

    def experiment(
        self,
        draws: int,
        X: np.ndarray | None = None,
        tag: str = "",
        core: pd.DataFrame | None = None,
    ) -> CalibrationExperiment:
        """The sweep that simulates ``draws`` prior draws × ``seeds_per_draw`` seeds, or, given
        ``X`` (rows of θ, e.g. posterior draws) and a ``tag`` naming them, those points with
        seeds of stream 2 and a design hash of (spec hash, tag). A stage-B spec adds θ_core to
        every point: the stage-A posterior rows of :meth:`Core.draws` for the prior draws, or
        ``core`` (columns: core names and ``core_row``, aligned with ``X``)."""
        m = self.meta
        X = self.draws(draws) if X is None else np.asarray(X, dtype=float)
        draws = len(X)
        if self.core is not None and core is None:
            if tag:
                raise ValueError("posterior points of a stage-B spec need their θ_core rows")
            core = self.core.draws(draws, m.root_seed)
        core_priors = self.core.priors if self.core is not None else []
        uncertainties = {
            p.name: ParameterSpec(path=p.path, range=[p.low, p.high], description=p.description)
            for p in [*self.priors, *core_priors]
        }
        spec = ExperimentFile(
            experiment=ExperimentMeta(
                name=f"ppc_{m.name}" if tag else f"calibrate_{m.name}",
                description=m.description,
                scenario=m.scenario,
                replicates=m.seeds_per_draw,
                root_seed=m.root_seed,
                months=m.months,
            ),
            constants=dict(self.spec.constants),
            uncertainties=uncertainties,
            design=DesignSpec(method="list"),
            outcomes=OutcomeSpec(summary=self.statistics, kpis=[]),
        )
        params = [p.as_parameter(p.description) for p in self.priors]
        points = [
            {
                p.name: (int(x) if p.integer else float(x))
                for p, x in zip(self.priors, row, strict=True)
            }
            for row in X
        ]
        if self.core is not None:
            params += [p.as_parameter("θ_core from stage A's posterior") for p in core_priors]
            params.append(
                row_parameter(CORE_ROW, "row of the stage-A posterior θ_core was taken from")
            )
            for i, point in enumerate(points):
                row = core.iloc[i]
                for p in core_priors:
                    x = row[p.name]
                    point[p.name] = int(round(float(x))) if p.integer else float(x)
                point[CORE_ROW] = int(row[CORE_ROW])
        exp = CalibrationExperiment(
            spec=spec,
            source=self.source,
            base_dir=Path(self.source).parent,
            base_document=self.base_document,
            parameters=params,
            summary_outcomes=self.statistics,
            kpi_outcomes=[],
            horizon_months=m.months,
            method=f"posterior_{tag}" if tag else f"prior_{m.sampler}",
            points=points,
            point_names=[f"d{i}" for i in range(draws)],
            sample_matrix=X,
        )
        exp.calibration = self
        exp.tag = tag
        return exp


class CalibrationExperiment(Experiment):
    """A sweep over prior draws whose design hash is the spec hash (budget-free) and whose runs
    compute the spec's statistics (``RunTask.measure``)."""

    calibration: CalibrationSpec
    tag: str = ""

    @cached_property
    def design_hash(self) -> str:
        if not self.tag:
            return self.calibration.spec_hash
        blob = f"{self.calibration.spec_hash}:{self.tag}".encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @property
    def stream(self) -> int:
        return 2 if self.tag else 1

    @cached_property
    def seeds(self) -> list[int]:
        return [s for i in range(len(self.points)) for s in self.calibration.seeds(i, self.stream)]

    @cached_property
    def tasks(self) -> list[RunTask]:
        cal = self.calibration
        months = cal.meta.months
        args = (tuple(cal.statistics),)
        out = []
        for i, point in enumerate(self.points):
            overrides = {self.parameter(k).path: v for k, v in point.items() if k != CORE_ROW}
            for r, seed in enumerate(cal.seeds(i, self.stream)):
                rid = run_id(i, r, self.design_hash)
                out.append(
                    RunTask(
                        rid,
                        i,
                        r,
                        self.point_names[i],
                        seed,
                        dict(point),
                        overrides,
                        months,
                        MEASURE,
                        args,
                    )
                )
        return out


def load_spec(
    target: str | Path,
    core_posterior: str | Path | None = None,
    months: int | None = None,
    conditioning: str | None = None,
    method: str | None = None,
    accept: float | None = None,
) -> CalibrationSpec:
    """Read and validate a calibration spec; ScenarioError (one line) on any problem.
    ``core_posterior`` replaces a stage-B spec's ``core.posterior`` (e.g. a stage A just run);
    ``months`` its horizon (quick runs and tests, never results); ``conditioning``, ``method``
    and ``accept`` its ``[calibration]`` fields of those names (``--condition``, ``--method``,
    ``--accept``: the target set follows them; ``--method npe`` drops the spec's ``accept``
    and ``--method rejection`` its ``conditioning``)."""
    p = resolve_spec_path(str(target))
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("SPEC", str(p), f"is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ScenarioError("SPEC", str(p), "must be UTF-8 text") from None
    except OSError as exc:
        raise ScenarioError("SPEC", str(p), f"cannot be read ({exc.strerror})") from None
    head = raw.get("calibration")
    if isinstance(head, dict):
        if method == "npe":
            head.pop("accept", None)
        elif method == "rejection":
            head.pop("conditioning", None)
        changes = {"months": months, "conditioning": conditioning, "method": method}
        for key, value in {**changes, "accept": accept}.items():
            if value is not None:
                head[key] = value
    return spec_from_dict(raw, str(p), p.parent, core_posterior)


def spec_from_dict(
    raw: dict,
    source: str = "<dict>",
    base_dir: str | Path = ".",
    core_posterior: str | Path | None = None,
) -> CalibrationSpec:
    try:
        spec = CalibrationFile.model_validate(raw)
    except ValidationError as exc:
        raise format_validation_error(exc, CalibrationFile, "calibration") from None
    meta = spec.calibration
    scen = _resolve_scenario(meta.scenario, Path(base_dir))
    doc = load_scenario_document(scen, "calibration.scenario", meta.scenario)
    doc, plain, base = apply_constants(doc, spec.constants)
    if meta.months > base.months:
        raise ScenarioError(
            "calibration.months",
            meta.months,
            f"must be <= the scenario's horizon of {base.months} months; set meta.years in "
            "[constants] for longer runs",
        )
    if not spec.parameters:
        raise ScenarioError("parameters", "{}", "name at least one calibrated parameter")
    priors = [_prior(name, ts, doc, plain) for name, ts in spec.parameters.items()]
    for name, ts in spec.parameters.items():
        if not ts.pooled and (spec.core is not None or REGION_PATH.match(ts.path) is None):
            raise ScenarioError(
                f"parameters.{name}.pooled",
                False,
                "only a city parameter (regions.<city>.…) of a stage-A spec (no [core]) is "
                "pooled or not; leave it out",
            )
    paths = [p.path for p in priors]
    for p in priors:
        if paths.count(p.path) > 1:
            raise ScenarioError(f"parameters.{p.name}.path", p.path, "two parameters set it")
        if p.path in spec.constants:
            raise ScenarioError(f"parameters.{p.name}.path", p.path, "is also in [constants]")
    if not spec.statistics:
        raise ScenarioError("statistics", "{}", "name at least one summary statistic")
    known = all_statistics()
    targets = []
    for name, ss in spec.statistics.items():
        if name in HELD_OUT:
            raise ScenarioError(
                f"statistics.{name}",
                name,
                f"is held out of calibration: {HELD_OUT[name]} (docs/validation.md)",
            )
        if name not in known:
            raise ScenarioError(
                f"statistics.{name}", name, "unknown statistic; allowed: " + ", ".join(known)
            )
        if name in spec.parameters:
            raise ScenarioError(f"statistics.{name}", name, "is also a parameter name")
        targets.append(_target(name, ss, known[name]))
    if not any(t.observed is not None for t in targets) and not meta.no_target_reason.strip():
        raise ScenarioError(
            "calibration.no_target_reason",
            "",
            "no statistic has an observed value to condition on: give one (target = [low, "
            "high] with its source) or say why the city has none",
        )
    if meta.method == "rejection" and meta.conditioning != CONDITIONING[0]:
        raise ScenarioError(
            "calibration.conditioning",
            meta.conditioning,
            "is how npe conditions; method rejection weighs every target by its band already",
        )
    if meta.accept is not None and meta.method != "rejection":
        raise ScenarioError("calibration.accept", meta.accept, "goes with method = 'rejection'")
    if meta.method == "rejection" and spec.core is not None:
        raise ScenarioError("calibration.method", "rejection", REJECTION_STAGE_B)
    core = None
    if spec.core is not None:
        core = build_core(
            spec.core, Path(base_dir), doc, Path(core_posterior) if core_posterior else None
        )
        own = {p.name: p.path for p in priors}
        for c in core.priors:
            if c.name in own or c.name in spec.statistics or c.name == CORE_ROW:
                raise ScenarioError(f"parameters.{c.name}", c.name, "is also a θ_core name")
            if c.path in own.values():
                raise ScenarioError(
                    "core",
                    c.path,
                    "is drawn from the stage-A posterior and is also a parameter "
                    "of this spec (list it in core.exclude)",
                )
            if c.path in spec.constants:
                raise ScenarioError("core", c.path, "is also in [constants] (core.exclude it)")
    elif core_posterior is not None:
        raise ScenarioError("--core-posterior", str(core_posterior), "the spec has no [core]")
    return CalibrationSpec(spec, source, plain, priors, targets, core)


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------
def existing_draws(out: Path, spec: CalibrationSpec) -> int:
    """Draws already simulated in ``out`` for this spec (1 + the highest draw index), or 0."""
    from experiments.runner import existing_runs

    runs = existing_runs(out, spec.spec_hash)
    return 1 + max((int(m.get("point", -1)) for m in runs.values()), default=-1)


def _existing_models(out: Path, spec: CalibrationSpec | str) -> set[tuple[str, str | None]]:
    """(git revision, code fingerprint or None) of the runs of this spec in ``out`` (or of the
    sweep whose design hash is ``spec``)."""
    from experiments.runner import existing_runs

    runs = existing_runs(out, spec if isinstance(spec, str) else spec.spec_hash).values()
    return {(str(m.get("git_revision") or ""), m.get("code")) for m in runs}


def check_store_revision(out: Path, spec: CalibrationSpec | str) -> None:
    """A store is extended only by the model that built it (the spec hash does not cover the
    code): ScenarioError naming both otherwise. ``spec`` may be a sweep's design hash (stage
    C's joint draws). The code fingerprints decide (``tasks.code_fingerprint``: a commit of
    documents between two sessions leaves a store open, a change to the code closes it); runs
    recorded without one (before 4 December 2026) are compared by git revision."""
    from ecosystem.run import git_revision
    from experiments.tasks import code_fingerprint

    now, code = git_revision(), code_fingerprint()
    before = _existing_models(out, spec)
    other = sorted(
        f"{rev} (code {c})" if c else rev for rev, c in before if (c != code if c else rev != now)
    )
    if other:
        raise ScenarioError(
            "--out",
            str(out),
            f"holds simulations of model revision {', '.join(other)}, not {now} (code {code}): "
            "a store must come from one model (the spec hash does not cover the code); "
            "use another --out",
        )


def store_frame(out: Path, spec: CalibrationSpec, design_hash: str | None = None) -> pd.DataFrame:
    """One row per simulation of ``out`` (this spec's, or of the sweep ``design_hash``), from
    its run files, sorted by draw."""
    from experiments.runner import existing_runs

    rows = []
    for meta in existing_runs(out, design_hash or spec.spec_hash).values():
        params = meta.get("params") if isinstance(meta.get("params"), dict) else {}
        stats = meta.get("outcomes") if isinstance(meta.get("outcomes"), dict) else {}
        ok = meta.get("status") == "ok"
        row = {
            "run_id": meta.get("run_id"),
            "seed": meta.get("seed"),
            "draw": meta.get("point"),
            "replicate": meta.get("replicate"),
            "status": meta.get("status"),
            "error": None if ok else meta.get("error"),
        }
        for name in [p.name for p in spec.priors] + spec.core_columns():
            row[name] = params.get(name)
        for name in spec.statistics:
            v = stats.get(name)
            row[name] = math.nan if v is None else v
        row.update(
            elapsed_s=meta.get("elapsed_s"),
            cpu_s=meta.get("cpu_s"),
            git_revision=meta.get("git_revision"),
            aieco=meta.get("aieco"),
        )
        rows.append(row)
    cols = ["run_id", "seed", "draw", "replicate", "status", "error"]
    cols += [p.name for p in spec.priors] + spec.core_columns() + spec.statistics
    cols += ["elapsed_s", "cpu_s", "git_revision", "aieco"]
    df = pd.DataFrame(rows, columns=cols)
    if len(df):
        df = df.sort_values(["draw", "replicate"]).reset_index(drop=True)
    df["spec_hash"] = spec.spec_hash
    df["target_set"] = spec.target_set
    return df


def store_table(df: pd.DataFrame, spec: CalibrationSpec):
    """The Arrow table of ``store.parquet`` (types of ``docs/outputs.md``)."""
    import pyarrow as pa

    def num(col):
        return pa.array(
            pd.to_numeric(df[col], errors="coerce").to_numpy(float), pa.float64(), from_pandas=True
        )

    def text(col):
        return pa.array([None if pd.isna(v) else str(v) for v in df[col]], pa.string())

    cols = {
        "run_id": text("run_id"),
        "seed": pa.array(df["seed"].astype("int64"), pa.int64()),
        "draw": pa.array(df["draw"].astype("int64"), pa.int64()),
        "replicate": pa.array(df["replicate"].astype("int64"), pa.int64()),
        "status": text("status").dictionary_encode(),
        "error": text("error"),
    }
    core = spec.core.priors if spec.core else []
    for p in [*spec.priors, *core]:
        if p.integer:
            cols[p.name] = pa.array(pd.array(df[p.name], dtype="Int64"), pa.int64())
        else:
            cols[p.name] = num(p.name)
    if spec.core:
        cols[CORE_ROW] = pa.array(pd.array(df[CORE_ROW], dtype="Int64"), pa.int64())
    for name in spec.statistics:
        cols[name] = num(name)
    for name in ("elapsed_s", "cpu_s"):
        cols[name] = num(name)
    for name in ("git_revision", "aieco", "spec_hash", "target_set"):
        cols[name] = text(name)
    meta = {b"aieco.calibration": json.dumps(spec.describe(), default=str).encode()}
    return pa.table(cols).replace_schema_metadata(meta)


def write_store(out: Path, spec: CalibrationSpec) -> pd.DataFrame:
    """Rebuild ``store.parquet`` and ``calibration.json`` from the run files (atomically)."""
    from ecosystem.outputs import mark, write_parquet, write_text

    df = store_frame(out, spec)
    write_parquet(store_table(df, spec), Path(out) / "store.parquet")
    write_text(Path(out) / "calibration.json", json.dumps(spec.describe(), indent=2, default=str))
    mark(out, "sweep", STORE_FILES)
    return df


def read_store(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """(store rows, the calibration record) of a store directory or its store.parquet."""
    import pyarrow.parquet as pq

    p = Path(path)
    if p.is_dir():
        p = p / "store.parquet"
    if not p.is_file():
        raise ScenarioError("--out", str(path), "holds no calibration store (no store.parquet)")
    try:
        table = pq.read_table(p)
        info = json.loads((table.schema.metadata or {})[b"aieco.calibration"])
    except Exception:  # noqa: BLE001 - any unreadable store is one line
        raise ScenarioError("--out", str(path), "store.parquet is damaged or not a store") from None
    return table.to_pandas(), info


# --------------------------------------------------------------------------------------------
# Prior (or posterior) predictive against the targets
# --------------------------------------------------------------------------------------------
def predictive(df: pd.DataFrame, info: dict, level: float = 0.9) -> pd.DataFrame:
    """Per statistic: simulations, median and central ``level`` interval over the store's ok
    rows, the target band, the share of simulations inside it and whether the interval meets the
    band and whether the target's observed value (the band's middle unless the spec says) lies
    inside the interval. What the posterior predictive check of 11.4 reuses on posterior
    draws."""
    ok = df[df["status"] == "ok"]
    q = (1 - level) / 2
    rows = []
    for t in info["statistics"]:
        values = pd.to_numeric(ok.get(t["name"]), errors="coerce").dropna() if len(ok) else []
        values = np.asarray(values, dtype=float)
        row = {"statistic": t["name"], "unit": t["unit"], "n": len(values)}
        if len(values):
            lo, med, hi = np.quantile(values, [q, 0.5, 1 - q])
        else:
            lo = med = hi = math.nan
        row.update(low=lo, median=med, high=hi)
        row.update(target_low=t["low"], target_high=t["high"], observed=t["observed"])
        row["source"] = t["source"]
        if t["low"] is not None and len(values):
            inside = (values >= t["low"]) & (values <= t["high"])
            row["share_in_band"] = float(inside.mean())
            row["covers"] = bool(lo <= t["observed"] <= hi)
        else:
            row["share_in_band"] = math.nan
            row["covers"] = None
        rows.append(row)
    return pd.DataFrame(rows)


#: Share of the store nearest the observed targets that ``joint_reach`` summarises: rejection
#: ABC's default acceptance rate, a reference to read the neural posterior against.
NEAREST_SHARE = DEFAULT_ACCEPT


def _against_bands(ok: pd.DataFrame, targets: list[dict]) -> tuple[np.ndarray, ...]:
    """(x, low, high, observed): the ok simulations' values of the conditioned ``targets`` as a
    float matrix (a missing statistic NaN) and the targets' bands and observed values."""
    x = np.column_stack([pd.to_numeric(ok[t["name"]], errors="coerce") for t in targets])
    low, high, observed = (
        np.array([float(t[k]) for t in targets]) for k in ("low", "high", "observed")
    )
    return x.astype(float), low, high, observed


def _inside(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (x >= low) & (x <= high)  # NaN compares False: a missing statistic meets nothing


def inside_bands(ok: pd.DataFrame, targets: list[dict]) -> np.ndarray:
    """(simulations × targets) booleans: each ok simulation's value of each conditioned target
    inside its band (a missing statistic is not)."""
    return _inside(*_against_bands(ok, targets)[:3])


def _distance(x: np.ndarray, low: np.ndarray, high: np.ndarray, observed: np.ndarray):
    half = np.maximum((high - low) / 2, 1e-12 * np.maximum(np.abs(observed), 1.0))
    z2 = ((x - observed) / half) ** 2
    return np.where(np.isnan(z2), np.inf, z2).sum(axis=1)


def band_distance(ok: pd.DataFrame, targets: list[dict]) -> np.ndarray:
    """Per simulation, Σ ((x − observed) / half-width of the band)² over the conditioned
    ``targets`` (``describe()["statistics"]`` entries with a band); a missing statistic puts the
    simulation infinitely far. The distance of ``joint_reach``'s nearest simulations."""
    return _distance(*_against_bands(ok, targets))


def conditioned_targets(info: dict) -> list[dict]:
    """The statistics of a spec's ``describe()`` with a target band: what the band-scaled
    distance sums over."""
    return [t for t in info["statistics"] if t["low"] is not None]


def nearest_simulations(df: pd.DataFrame, info: dict, k: int) -> pd.DataFrame:
    """The ``k`` ok simulations of store rows ``df`` nearest the observed targets in
    :func:`band_distance` (nearest first, ties in store order; column ``distance``), leaving
    out any with a target statistic undefined (infinitely far): fewer than ``k`` then."""
    ok = df[df["status"] == "ok"].reset_index(drop=True)
    d = band_distance(ok, conditioned_targets(info))
    order = np.argsort(d, kind="stable")[:k]
    order = order[np.isfinite(d[order])]
    return ok.iloc[order].assign(distance=d[order])


REJECTION_STAGE_B = (
    "is not for a stage-B spec: its θ_core keeps stage A's posterior (a cut posterior), "
    "which only npe conditions on; use --method npe"
)


def rejection_posterior(
    df: pd.DataFrame, spec: CalibrationSpec, store_path: str = ""
) -> tuple[pd.DataFrame, dict]:
    """(posterior draws, record) by rejection ABC on a store (``--method rejection``): the θ of
    the ``spec.accept`` share of ok simulations nearest the observed targets in
    :func:`band_distance`, every target weighted by its band, nearest first (so the first n
    draws are the posterior at the share n / ok simulations). Its predictive check re-simulates
    those θ on fresh seeds. No network is trained: it needs neither torch nor sbi, and its width
    is the acceptance share's, not the data's alone (docs/calibration-method.md, "Rejection
    ABC"). ``spec`` is loaded with the method rejection (``load_spec`` applies ``--method`` and
    ``--accept``), so its validation has range-checked the share and refused a stage-B spec,
    whose θ_core must keep stage A's posterior (a cut posterior), and its target set is the
    rejection rule's."""
    from experiments.inference import failed_quantiles, posterior_frame, record_head

    if spec.meta.method != "rejection":
        raise ValueError(f"spec {spec.name!r} says method {spec.meta.method!r}, not rejection")
    info, share = spec.describe(), spec.accept
    targets = conditioned_targets(info)
    if not targets:
        raise ScenarioError("statistics", "[]", "no statistic has a target band to measure from")
    ok = int((df["status"] == "ok").sum())
    if not ok:
        raise ScenarioError("--method", "rejection", "the store has no ok simulation")
    k = max(1, round(share * ok))
    near = nearest_simulations(df, info, k)
    if near.empty:
        raise ScenarioError(
            "--method", "rejection", "no ok simulation defines every target statistic"
        )
    priors = list(info["parameters"])
    frame = posterior_frame(near[[p["name"] for p in priors]].to_numpy(float), priors)
    warnings_ = []
    if len(near) < k:
        warnings_.append(
            f"only {len(near)} of the {k} nearest simulations define every target statistic"
        )
    failed = len(df) - ok
    record = {
        **record_head(
            info,
            "rejection ABC: the simulations of the store nearest the observed targets in "
            "Σ ((x − observed) / half-width of the band)²",
        ),
        "store": store_path,
        "store_git_revisions": sorted({str(r) for r in df["git_revision"].dropna().unique()}),
        "conditioning": "band-scaled distance",
        "accept_share": share,
        "accepted": len(near),
        "max_distance": float(near["distance"].max()),
        "samples": len(frame),
        "parameters": priors,
        "targets": targets,
        "observed": {t["name"]: float(t["observed"]) for t in targets},
        "warnings": warnings_,
        "calibrated": True,
        "core": None,
        "context": [],
        "simulations": len(df),
        "failed": failed,
        "failed_share": failed / len(df),
        "failed_median_prior_quantile": failed_quantiles(df, priors),
        "trained_on": ok,
    }
    return frame, record


def joint_reach(df: pd.DataFrame, info: dict, nearest: float = NEAREST_SHARE) -> dict | None:
    """Which targets the simulations meet *together*, not one at a time as in ``predictive``.

    Returns ``met``: how many ok simulations meet exactly k of the conditioned targets (k = 0..K;
    a missing statistic meets nothing), and the ``nearest`` share of simulations closest to the
    observed values in the distance Σ ((x − observed) / half-width of the band)² (never one with
    a target statistic missing: :func:`nearest_simulations`), with each statistic's median over
    them (``nearest_median``) and the share of them inside each band (``nearest_in_band``). That
    subset is a rejection-ABC posterior predictive with every target weighted by its band: where
    the neural posterior's predictive lies far from it, the posterior weighs the targets
    otherwise, which matters when no simulation meets all the targets at once (the posterior
    then extrapolates).
    None when no simulation is ok or nothing is conditioned on."""
    ok = df[df["status"] == "ok"]
    targets = conditioned_targets(info)
    if not len(ok) or not targets:
        return None

    inside = inside_bands(ok, targets)
    met = np.bincount(inside.sum(axis=1), minlength=len(targets) + 1)
    near = nearest_simulations(df, info, max(1, round(nearest * len(ok))))
    medians = {}
    for t in info["statistics"]:
        values = pd.to_numeric(near[t["name"]], errors="coerce").to_numpy(float)
        medians[t["name"]] = float(np.nanmedian(values)) if np.isfinite(values).any() else math.nan
    return {
        "simulations": len(ok),
        "targets": [t["name"] for t in targets],
        "met": met,
        "nearest": len(near),
        "nearest_share": nearest,
        "nearest_median": medians,
        "nearest_in_band": {
            t["name"]: float(v)
            for t, v in zip(targets, inside_bands(near, targets).mean(axis=0), strict=True)
        }
        if len(near)
        else {t["name"]: math.nan for t in targets},
    }


def add_store_reference(table: pd.DataFrame, store: Path, info: dict) -> pd.DataFrame:
    """``table`` (a posterior ``predictive``) with ``store_nearest_median``: each statistic's
    median over the simulations of the prior ``store`` directory nearest the observed targets
    (``joint_reach``), so the check shows where the neural posterior's predictive parts from
    them. Unchanged when there is no store (a city that is not calibrated, a posterior given
    without its store) or nothing in it is ok."""
    has_store = (Path(store) / "store.parquet").is_file()
    reach = joint_reach(read_store(store)[0], info) if has_store else None
    if reach is None:
        return table
    out = table.copy()
    out["store_nearest_median"] = out["statistic"].map(reach["nearest_median"])
    out.attrs["store_nearest"] = (reach["nearest"], reach["simulations"])
    return out


def posterior_check(
    df: pd.DataFrame, info: dict, store: Path, what: str = "Posterior"
) -> tuple[pd.DataFrame, str]:
    """(table, markdown) of a posterior predictive check: ``predictive`` over the re-simulated
    posterior draws ``df``, with the prior ``store``'s nearest simulations beside it
    (``add_store_reference``)."""
    table = add_store_reference(predictive(df, info), store, info)
    return table, format_predictive(table, info, df, what=what)


def format_joint_reach(reach: dict | None, info: dict) -> str:
    """The lines ``aieco calibrate … --summary`` prints under the prior predictive table."""
    if reach is None:
        return ""
    K, met = len(reach["targets"]), reach["met"]
    most = int(np.flatnonzero(met)[-1])
    counts = ", ".join(f"{k}: {int(c)}" for k, c in enumerate(met) if c)
    units = {t["name"]: t for t in info["statistics"]}
    lines = [
        "",
        f"Targets met together (of {K}), simulations by count: {counts}. The most any simulation "
        f"meets: {most} of {K} ({int(met[most])} simulation{'s' if met[most] > 1 else ''})."
        + (
            " No simulation meets every target: the model (or its prior) is misspecified for "
            "this target set, the posterior is a compromise between the targets and the neural "
            "posterior extrapolates; read its predictive against the nearest simulations below."
            if most < K
            else ""
        ),
        "",
        f"The {reach['nearest']} simulations ({reach['nearest_share']:.0%}"
        + (
            f"; {wanted} asked for, the others leave a target undefined"
            if (wanted := max(1, round(reach["nearest_share"] * reach["simulations"])))
            > reach["nearest"]
            else ""
        )
        + ") nearest the observed targets, each statistic's distance in units of its band's "
        "half-width (a rejection-ABC reference for the posterior predictive):",
        "",
        "| statistic | observed | median of the nearest | nearest inside the band |",
        "|---|---|---|---|",
    ]
    for name, med in reach["nearest_median"].items():
        t = units[name]
        share = reach["nearest_in_band"].get(name)
        observed = "(reported)" if t["low"] is None else _fmt(t["observed"], t["unit"])
        inside = "–" if share is None or not math.isfinite(share) else f"{share:.0%}"
        lines.append(f"| {name} | {observed} | {_fmt(med, t['unit'])} | {inside} |")
    return "\n".join(lines)


def _fmt(v: Any, unit: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    v = float(v)
    if unit == "share":
        return f"{v:.1%}"
    if abs(v) >= 1e8:
        return f"{v:.3g}"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def format_predictive(
    table: pd.DataFrame, info: dict, df: pd.DataFrame, level: float = 0.9, what: str = "Prior"
) -> str:
    ok = int((df["status"] == "ok").sum())
    failed = len(df) - ok
    pct = f"{level:.0%}"
    ref = "store_nearest_median" in table
    lines = [
        f"{what} predictive of `{info['name']}` ({info['scenario']}, {info['months']} months): "
        f"{ok} simulations ok, {failed} failed; spec {info['spec_hash']}, targets "
        f"{info['target_set']}.",
        "",
        f"| statistic | median | {pct} interval | target band | source | simulations in band | "
        f"target inside the {pct} interval |"
        + (" nearest simulations of the store |" if ref else ""),
        "|---|---|---|---|---|---|---|" + ("---|" if ref else ""),
    ]
    for r in table.itertuples():
        u = r.unit
        band = (
            "(reported)"
            if r.target_low is None
            or (isinstance(r.target_low, float) and math.isnan(r.target_low))
            else f"{_fmt(r.target_low, u)}–{_fmt(r.target_high, u)}"
        )
        inside = "–" if not math.isfinite(r.share_in_band) else f"{r.share_in_band:.0%}"
        meets = {True: "yes", False: "**no**"}.get(r.covers, "–")
        lines.append(
            f"| {r.statistic} | {_fmt(r.median, u)} | {_fmt(r.low, u)}–{_fmt(r.high, u)} | "
            f"{band} | {r.source or '–'} | {inside} | {meets} |"
            + (f" {_fmt(r.store_nearest_median, u)} |" if ref else "")
        )
    if what == "Prior":
        lines += [
            "",
            "A target outside the prior predictive interval means the prior (or the model) cannot "
            "reach it: widen a range or report the miss before running inference.",
        ]
        joint = format_joint_reach(joint_reach(df, info), info)
        if joint:
            lines.append(joint)
    else:
        misses = [r.statistic for r in table.itertuples() if r.covers is False]
        lines += [
            "",
            f"Targets outside the {pct} posterior predictive interval: "
            + (", ".join(misses) if misses else "none")
            + " (a miss is reported, not tuned away).",
        ]
        if ref:
            k, n = table.attrs["store_nearest"]
            lines.append(
                f"Last column: the median over the {k} of the store's {n} prior simulations "
                "nearest the observed targets (band-scaled distance, as `--summary`): where the "
                "posterior's median parts from it, the posterior weighs the targets otherwise "
                "than their bands (docs/calibration-method.md, 'Targets met together')."
            )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Inference steps shared by `aieco calibrate CITY` and `aieco calibrate all`
# --------------------------------------------------------------------------------------------
#: ``aieco calibrate`` flags whose value lives under another name on ``args``.
_FLAG_DEST = {"--set": "overrides"}


def given_flag(args, flags: tuple[str, ...]) -> str | None:
    """The first of ``flags`` the command line gave (a value, a switch on, a non-empty list):
    how each ``aieco calibrate`` mode names the option it does not use."""
    for flag in flags:
        value = given_value(args, flag)
        if value is not None and value is not False and value != []:
            return flag
    return None


def given_value(args, flag: str) -> Any:
    """The value the command line gave ``flag`` (``given_flag``'s), to name it in an error."""
    return getattr(args, _FLAG_DEST.get(flag, flag.lstrip("-").replace("-", "_")), None)


def check_engine_options(args) -> None:
    """``--months``, ``--workers`` and ``--scheduler`` of ``aieco calibrate all`` and
    ``national``: ScenarioError (one line) when out of range or both engines are given."""
    if args.months is not None and not 1 <= args.months <= 600:
        raise ScenarioError("--months", args.months, "must be in 1..600")
    if args.workers is not None and args.workers < 1:
        raise ScenarioError("--workers", args.workers, "must be >= 1")
    if args.workers is not None and args.scheduler:
        raise ScenarioError("--workers", args.workers, "give --workers or --scheduler, not both")


def row_parameter(name: str, description: str) -> Parameter:
    """The integer parameter recording which posterior row a draw's values came from."""
    return Parameter(name, "uncertainty", "", None, None, None, True, "int", description)


def check_inference_options(args) -> None:
    """--samples, --ensemble, --npe-seed, --ppc and --posterior of ``aieco calibrate`` (one city
    or all)."""
    if args.samples < 1 or args.samples > 10_000_000:
        raise ScenarioError("--samples", args.samples, "must be in 1..10,000,000")
    if args.ensemble < 1 or args.ensemble > 100:
        raise ScenarioError("--ensemble", args.ensemble, "must be in 1..100")
    if args.npe_seed is not None and not 0 <= args.npe_seed <= MAX_SEED:
        raise ScenarioError("--npe-seed", args.npe_seed, f"must be in 0..{MAX_SEED}")
    if args.ppc is not None and not 1 <= args.ppc <= 100_000:
        raise ScenarioError("--ppc", args.ppc, "must be in 1..100,000 (posterior draws)")
    if args.posterior is not None:
        p = Path(args.posterior)
        if p.suffix != ".parquet":
            raise ScenarioError("--posterior", args.posterior, "must be a .parquet file")
        if p.exists() and not p.is_file():
            raise ScenarioError("--posterior", args.posterior, "exists and is not a file")


#: The options of the inference step alone (refused where no posterior is inferred).
METHOD_FLAGS = ("--method", "--accept", "--condition")


def check_method_options(args, spec: CalibrationSpec) -> None:
    """``--method`` and its own options against the ``spec`` as written, before any
    simulation: ``--accept`` goes with rejection, ``--condition`` and ``--npe-seed`` with npe,
    rejection not with a stage-B spec (ScenarioError, one line)."""
    method = args.method or spec.meta.method
    whose = "" if args.method else f" ({spec.name}'s method)"
    if method == "rejection" and (flag := given_flag(args, ("--condition", "--npe-seed"))):
        raise ScenarioError(
            flag, given_value(args, flag), f"is an npe option; rejection{whose} trains nothing"
        )
    if method == "rejection" and spec.core is not None:
        raise ScenarioError("--method", "rejection", REJECTION_STAGE_B)
    if args.accept is not None and method != "rejection":
        raise ScenarioError(
            "--accept",
            args.accept,
            "goes with --method rejection" + (whose and f"; {spec.name}'s method is npe"),
        )
    if args.accept is not None and not 0 < args.accept <= 1:
        raise ScenarioError(
            "--accept", args.accept, "must be in (0, 1] (a share of ok simulations)"
        )


def infer_store(args, spec, df, out: Path, progress: bool):
    """(posterior draws, record): the NPE ensemble trained on the store in ``out`` (rows
    ``df``), conditioned on the spec's observed targets (a stage-B spec pairs the samples with
    θ_core rows of stage A), or, when the spec's method is rejection (``--method`` set it
    through ``load_spec``), the store's simulations nearest the targets
    (:func:`rejection_posterior`)."""
    from experiments.inference import MIN_SIMULATIONS, infer

    if spec.meta.method == "rejection":
        return rejection_posterior(df, spec, str(out / "store.parquet"))
    ok = int((df["status"] == "ok").sum())
    if ok < MIN_SIMULATIONS:
        raise ScenarioError(
            "--budget",
            ok,
            f"successful simulations in {out} are too few to learn a posterior (need at "
            f"least {MIN_SIMULATIONS}); the store is kept: extend it with a larger --budget "
            "and --resume",
        )
    return infer(
        df,
        spec.describe(),
        nan=args.nan,
        condition=spec.meta.conditioning,  # --condition: load_spec set it (and the target set)
        ensemble=args.ensemble,
        samples=args.samples,
        seed=args.npe_seed,
        progress=progress,
        store_path=str(out / "store.parquet"),
        core_draws=spec.core.sample_rows(args.samples, spec.meta.root_seed) if spec.core else None,
    )


def ppc_points(spec, post, n: int):
    """(φ rows, θ_core rows or None, tag) of the first n posterior draws."""
    names = [p.name for p in spec.priors]
    X = post[names].to_numpy(float)[:n]
    core = None
    h = hashlib.sha256(X.tobytes())
    if spec.core is not None:
        cols = spec.core_columns()
        missing = [c for c in cols if c not in post.columns]
        if missing:
            raise ScenarioError(
                "--posterior", missing[0], "a stage-B posterior needs θ_core columns"
            )
        core = post[cols].iloc[:n].reset_index(drop=True)
        h.update(core.to_numpy(float).tobytes())
    return X, core, h.hexdigest()[:12]
