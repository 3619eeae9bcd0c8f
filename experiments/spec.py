"""Experiment files: what to vary, how to sample it and what to measure, validated before any run.

An experiment file is TOML (see ``experiments/examples/``)::

    [experiment]
    name = "voucher_rate_sweep"
    scenario = "hangzhou"        # a preset or a scenario file (relative to this file)
    replicates = 4               # runs per design point, seeds spawned from root_seed
    root_seed = 20250101
    months = 60                  # optional: horizon (default: the scenario's meta.years)

    [constants]                  # dotted scenario paths fixed for every run
    "regions.hangzhou.policy.voucher_budget_yuan" = 2.5e8

    [levers.voucher_rate]        # policy levers (EMA Workbench vocabulary)
    path = "regions.hangzhou.policy.voucher_rate"
    values = [0.0, 0.3, 0.8]     # discrete levels, or range = [lo, hi] (+ levels = n for a grid)

    [uncertainties.project_return_sigma]
    path = "compute.project_return_sigma"
    range = [0.3, 0.8]

    [design]
    method = "factorial"         # list | factorial | lhs | morris | sobol
    samples = 16                 # lhs: points; morris: trajectories; sobol: base sample N

    [outcomes]
    summary = ["startups_alive_y5", "startups_alive_y10", "west_utilization_end"]
    kpis = ["startups_alive", "voucher_spent_yuan"]   # monthly columns kept in runs/*.parquet

:func:`load_experiment` raises :class:`~ecosystem.scenario.ScenarioError` (one line naming the
field, the value and what is allowed) for anything that would fail later: unknown keys, wrong
types, empty ranges, unknown scenario paths, lever values the scenario rejects, unknown outcomes.

Seeds: ``SeedSequence(root_seed).spawn(replicates)`` gives one integer seed per replicate, the same
for every design point (common random numbers), so differences between points are not noise
from different random streams.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import sys
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ecosystem.scenario import (
    ScenarioError,
    apply_overrides,
    format_validation_error,
    get_path,
    is_annotated,
    load_document,
    run_values,
    scenario_from_dict,
    strip_provenance,
)
from ecosystem.seeds import MAX_SEED
from experiments.parameters import (  # noqa: F401 - re-exported: the experiment vocabulary
    NAME_RE,
    RESERVED_NAMES,
    Parameter,
    RunTask,
    Scalar,
    replicate_seeds,
    run_id,
)
from experiments.samplers import (
    METHODS,
    adjust_samples,
    check_samples,
    factorial_points,
    factorial_size,
    lhs_sample,
    salib_sample,
)
from experiments.tasks import RUN_TABLES

DEFAULT_SUMMARY = [
    "startups_alive_y1",
    "startups_alive_y5",
    "startups_alive_y10",
    "startups_alive_end",
    "month_target_reached",
    "target_reached",
    "voucher_spent_yuan_total",
    "voucher_additional_gpu_h_total",
    "compute_bought_west_gpu_h_total",
    "west_utilization_end",
    "public_spending_yuan_total",
    "public_spending_yuan_y5",
    "public_spending_yuan_y10",
]
DEFAULT_KPIS = [
    "startups_alive",
    "startups_founded",
    "voucher_spent_yuan",
    "voucher_additional_gpu_h",
    "compute_sold_gpu_h",
    "dc_utilization",
    "talent_net_inflow",
]

#: Outcomes of counterfactual comparisons: (spending outcome, alive outcome) per ratio.
RATIO_OUTCOMES = {
    "yuan_per_additional_startup_y5": ("public_spending_yuan_y5", "startups_alive_y5"),
    "yuan_per_additional_startup_y10": ("public_spending_yuan_y10", "startups_alive_y10"),
}


# --------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ExperimentMeta(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", min_length=1, max_length=80)]
    description: str = ""
    scenario: str = "hangzhou"
    replicates: Annotated[int, Field(ge=1, le=10_000)] = 1
    root_seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 0
    months: Annotated[int, Field(ge=1, le=600)] | None = None


class ParameterSpec(_Strict):
    path: Annotated[str, Field(min_length=1)]
    values: list[Scalar] | None = None
    range: list[float] | None = None
    levels: Annotated[int, Field(ge=2, le=1000)] | None = None
    integer: bool = False
    description: str = ""


class DesignSpec(_Strict):
    method: Literal["list", "factorial", "lhs", "morris", "sobol", "fast", "delta", "pawn"] = (
        "factorial"
    )
    samples: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    num_levels: Annotated[int, Field(ge=2, le=100)] = 4
    second_order: bool = False
    points: list[dict[str, Scalar]] = Field(default_factory=list)


class OutcomeSpec(_Strict):
    summary: list[str] = Field(default_factory=lambda: list(DEFAULT_SUMMARY))
    #: monthly KPI columns kept per run; ["*"] keeps every column
    kpis: list[str] = Field(default_factory=lambda: list(DEFAULT_KPIS))
    #: run tables kept per run under tables/<table>/<run_id>.parquet
    tables: list[Literal[RUN_TABLES]] = Field(default_factory=list)
    #: direction of a summary outcome for optimisation (EMA ScalarOutcome kind)
    kinds: dict[str, Literal["maximize", "minimize", "info"]] = Field(default_factory=dict)


class PolicySpec(_Strict):
    baseline: str
    confidence: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.95


class ExperimentFile(_Strict):
    experiment: ExperimentMeta
    constants: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)
    levers: dict[str, ParameterSpec] = Field(default_factory=dict)
    uncertainties: dict[str, ParameterSpec] = Field(default_factory=dict)
    design: DesignSpec = Field(default_factory=DesignSpec)
    outcomes: OutcomeSpec = Field(default_factory=OutcomeSpec)
    policy: PolicySpec | None = None


@dataclass
class Experiment:
    """A validated experiment: parameters, design points and runs, ready to execute."""

    spec: ExperimentFile
    source: str
    base_dir: Path
    base_document: dict  # plain (provenance-stripped) scenario document, constants applied
    parameters: list[Parameter]
    summary_outcomes: list[str]
    kpi_outcomes: list[str]
    horizon_months: int
    method: str
    points: list[dict] = field(default_factory=list)
    point_names: list[str] = field(default_factory=list)
    sample_matrix: np.ndarray | None = None  # unit-free X of morris/sobol/lhs designs

    @property
    def name(self) -> str:
        return self.spec.experiment.name

    @property
    def replicates(self) -> int:
        return self.spec.experiment.replicates

    @property
    def root_seed(self) -> int:
        return self.spec.experiment.root_seed

    @property
    def param_names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def parameter(self, name: str) -> Parameter:
        return next(p for p in self.parameters if p.name == name)

    @cached_property
    def seeds(self) -> list[int]:
        return replicate_seeds(self.root_seed, self.replicates)

    @cached_property
    def tasks(self) -> list[RunTask]:
        """Every run, in design order; run ids carry the design hash (unique across sweeps)."""
        months = self.spec.experiment.months
        out = []
        for i, point in enumerate(self.points):
            overrides = {self.parameter(k).path: v for k, v in point.items()}
            for r, seed in enumerate(self.seeds):
                rid = run_id(i, r, self.design_hash)
                name = self.point_names[i]
                out.append(RunTask(rid, i, r, name, seed, dict(point), overrides, months))
        return out

    @cached_property
    def design_hash(self) -> str:
        """Changes whenever the runs would give other numbers or files (scenario, points, seeds,
        horizon, kept outcomes)."""
        blob = json.dumps(
            {
                "doc": run_values(self.base_document),
                "points": self.points,
                "names": self.point_names,
                "seeds": self.seeds,
                "months": self.spec.experiment.months,
                "kpis": self.kpi_outcomes,
                "summary": self.summary_outcomes,
                "tables": list(self.tables),
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.spec.outcomes.tables))

    @property
    def outcome_kinds(self) -> dict[str, str]:
        return {o: self.spec.outcomes.kinds.get(o, "info") for o in self.summary_outcomes}

    def with_method(self, method: str) -> Experiment:
        """The same experiment with another sampling method."""
        if method == self.method:
            return self
        spec = self.spec.model_copy(deep=True)
        spec.design.method = method
        probe = (self.summary_outcomes_all, self.kpi_columns_all)
        return build_experiment(spec, self.source, self.base_dir, _probe=probe)

    # Filled by build_experiment: outcome names a run of this scenario can produce.
    summary_outcomes_all: list[str] = field(default_factory=list)
    kpi_columns_all: list[str] = field(default_factory=list)
    #: what was adjusted while building (e.g. Sobol' N rounded to a power of two)
    notes: list[str] = field(default_factory=list)
    #: N actually sampled by a SALib/LHS design
    samples: int | None = None


def command_line() -> str:
    """The command that is running, quoted so that a shell can run it again."""
    return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else ""


# --------------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------------
def load_experiment(
    path: str | Path,
    method: str | None = None,
    samples: int | None = None,
    second_order: bool | None = None,
) -> Experiment:
    """Read, validate and expand an experiment file; ScenarioError (one line) on any problem."""
    p = Path(path)
    try:
        if not p.is_file():
            raise ScenarioError("experiment file", str(path), "file not found")
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("experiment file", str(path), f"is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ScenarioError("experiment file", str(path), "must be UTF-8 text") from None
    except RecursionError:
        raise ScenarioError("experiment file", str(path), "nests tables too deeply") from None
    except OSError as exc:
        raise ScenarioError(
            "experiment file", str(path), f"cannot be read ({exc.strerror})"
        ) from None
    return experiment_from_dict(
        raw, str(p), p.parent, method=method, samples=samples, second_order=second_order
    )


def experiment_from_dict(
    raw: dict,
    source: str = "<dict>",
    base_dir: str | Path = ".",
    method: str | None = None,
    samples: int | None = None,
    second_order: bool | None = None,
    scenario_document: dict | None = None,
) -> Experiment:
    """Validate an experiment given as a dict. ``scenario_document`` (a resolved scenario, as
    a sweep manifest embeds it) replaces loading ``experiment.scenario``."""
    try:
        spec = ExperimentFile.model_validate(raw)
    except ValidationError as exc:
        raise format_validation_error(exc, ExperimentFile, "experiment") from None
    if method is not None:
        if method not in METHODS:
            raise ScenarioError("design.method", method, "allowed: " + ", ".join(METHODS))
        spec.design.method = method
    if samples is not None:
        if not 1 <= samples <= 1_000_000:
            raise ScenarioError("--samples", samples, "must be between 1 and 1,000,000")
        spec.design.samples = samples
    if second_order is not None:
        spec.design.second_order = second_order
    return build_experiment(spec, source, Path(base_dir), scenario_document=scenario_document)


def _resolve_scenario(name: str, base_dir: Path) -> str:
    cand = base_dir / name
    if name.endswith(".toml") and not Path(name).is_absolute() and cand.is_file():
        return str(cand)
    return name


_PROBES: dict[str, tuple[list[str], list[str]]] = {}


def _probe_outcomes(doc: dict) -> tuple[list[str], list[str]]:
    """Outcome and KPI names a run of this scenario produces (from a 12-month run, cached)."""
    key = hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()
    if key not in _PROBES:
        _PROBES[key] = _probe_run(doc)
    return _PROBES[key]


def _probe_run(doc: dict) -> tuple[list[str], list[str]]:
    from ecosystem import outcomes
    from ecosystem.run import run_scenario

    scenario = scenario_from_dict(doc)
    result = run_scenario(scenario, seed=0, months=min(12, scenario.months))
    kpi_cols = [c for c in result.kpis.columns if c not in ("month", "date", "region")]
    return outcomes.names(), kpi_cols


def build_experiment(
    spec: ExperimentFile,
    source: str,
    base_dir: Path,
    _probe=None,
    scenario_document: dict | None = None,
) -> Experiment:
    meta = spec.experiment
    if scenario_document is not None:
        doc = scenario_document
    else:
        scen_name = _resolve_scenario(meta.scenario, base_dir)
        if Path(source).is_file() and Path(scen_name).is_file():
            if Path(scen_name).resolve() == Path(source).resolve():
                raise ScenarioError(
                    "experiment.scenario",
                    meta.scenario,
                    "is this experiment file itself; name a preset or a scenario file",
                )
        doc = load_scenario_document(scen_name, "experiment.scenario", meta.scenario)
    doc, plain, base_scenario = apply_constants(doc, spec.constants)

    # Parameters.
    params: list[Parameter] = []
    seen: dict[str, str] = {}
    for kind, table in (("lever", spec.levers), ("uncertainty", spec.uncertainties)):
        section = "levers" if kind == "lever" else "uncertainties"
        for name, ps in table.items():
            where = f"{section}.{name}"
            if not NAME_RE.match(name):
                raise ScenarioError(
                    where, name, "a name must be a letter or _ followed by letters, digits or _"
                )
            if name in seen:
                raise ScenarioError(where, name, f"name already used in {seen[name]}")
            if name in RESERVED_NAMES:
                raise ScenarioError(where, name, "is a reserved column name")
            seen[name] = section
            if ps.path in spec.constants:
                raise ScenarioError(f"{where}.path", ps.path, "is also set in [constants]")
            check_scenario_path(plain, ps.path, None, f"{where}.path")
            params.append(_parameter(name, kind, ps, where, spec.design.method, plain))
    paths = [p.path for p in params]
    for p in params:
        if paths.count(p.path) > 1:
            raise ScenarioError(
                f"{'levers' if p.kind == 'lever' else 'uncertainties'}.{p.name}.path",
                p.path,
                "two parameters set the same scenario path",
            )

    # Each parameter's values must be accepted by the scenario schema.
    for p in params:
        section = "levers" if p.kind == "lever" else "uncertainties"
        candidates = list(p.values) if p.values is not None else (list(p.range) if p.range else [])
        key = "values" if p.values is not None else "range"
        for v in candidates:
            _check_value(plain, p.path, p.cast(v), f"{section}.{p.name}.{key}", v)

    if meta.months is not None and meta.months > base_scenario.months:
        raise ScenarioError(
            "experiment.months",
            meta.months,
            f"must be <= the scenario's horizon of {base_scenario.months} months; "
            'set "meta.years" in [constants] for longer runs',
        )
    horizon = meta.months if meta.months is not None else base_scenario.months

    # Outcomes: names a run actually produces.
    all_summary, all_kpis = _probe if _probe is not None else _probe_outcomes(plain)
    allowed_summary = sorted(set(all_summary))
    for i, name in enumerate(spec.outcomes.summary):
        if name not in allowed_summary:
            from ecosystem.outcomes import RENAMED

            if name in RENAMED:
                raise ScenarioError(f"outcomes.summary[{i}]", name, f"renamed to {RENAMED[name]!r}")
            raise ScenarioError(
                f"outcomes.summary[{i}]",
                name,
                "unknown outcome; allowed: " + ", ".join(allowed_summary),
            )
    kpis = list(dict.fromkeys(spec.outcomes.kpis))
    if "*" in kpis and kpis != ["*"]:
        raise ScenarioError("outcomes.kpis", kpis, '"*" (every column) stands alone')
    for i, name in enumerate(kpis):
        if name != "*" and name not in all_kpis:
            raise ScenarioError(
                f"outcomes.kpis[{i}]",
                name,
                "unknown KPI column; allowed: * or " + ", ".join(all_kpis),
            )
    if not spec.outcomes.summary:
        raise ScenarioError("outcomes.summary", [], "name at least one outcome")
    for name in spec.outcomes.kinds:
        if name not in spec.outcomes.summary:
            raise ScenarioError(
                f"outcomes.kinds.{name}",
                spec.outcomes.kinds[name],
                "names no outcome of [outcomes] summary; allowed: "
                + ", ".join(spec.outcomes.summary),
            )
    # A parameter named like an outcome or KPI column would clash in the summary table.
    columns = set(allowed_summary) | set(all_kpis)
    for p in params:
        if p.name in columns:
            raise ScenarioError(
                f"{p.section}.{p.name}",
                p.name,
                "is the name of an outcome or KPI column; rename it",
            )

    exp = Experiment(
        spec=spec,
        source=source,
        base_dir=base_dir,
        base_document=plain,
        parameters=params,
        summary_outcomes=list(dict.fromkeys(spec.outcomes.summary)),
        kpi_outcomes=kpis,
        horizon_months=horizon,
        method=spec.design.method,
        summary_outcomes_all=allowed_summary,
        kpi_columns_all=list(all_kpis),
    )
    _expand_design(exp)
    _check_points(exp)
    if spec.policy is not None and spec.policy.baseline not in exp.point_names:
        raise ScenarioError(
            "policy.baseline",
            spec.policy.baseline,
            "must name a design point; allowed: " + ", ".join(exp.point_names),
        )
    return exp


def load_scenario_document(name: str, field: str, shown: str) -> dict:
    """The annotated document of a preset or scenario file, which must be valid (before
    constants change it); a ScenarioError names ``field`` = ``shown``."""
    try:
        doc = load_document(name)
        scenario_from_dict(doc)
    except ScenarioError as exc:
        detail = exc.allowed if exc.field == "scenario" else str(exc)
        raise ScenarioError(field, shown, detail) from None
    return doc


def apply_constants(doc: dict, constants: dict):
    """``[constants]`` applied (known paths, valid values): (annotated document, plain
    document, validated scenario)."""
    for path, value in constants.items():
        check_scenario_path(doc, path, value, f"constants.{path}")
    try:
        doc = apply_overrides(doc, dict(constants))
        plain, _ = strip_provenance(doc)
        return doc, plain, scenario_from_dict(plain)
    except ScenarioError as exc:
        raise ScenarioError(f"constants.{exc.field}", exc.value, exc.allowed) from None


def check_scenario_path(doc: dict, path: str, value: Any, where: str) -> None:
    parts = path.split(".")
    if any(not part for part in parts):
        raise ScenarioError(
            where, path, "must be a dotted scenario path like regions.hangzhou.policy.voucher_rate"
        )
    node: Any = doc
    for i, part in enumerate(parts):
        if is_annotated(node):
            node = node["value"]
        if not isinstance(node, dict) or part not in node:
            prefix = ".".join(parts[:i]) or "the scenario"
            keys = sorted(node) if isinstance(node, dict) else []
            hint = f"; keys under {prefix}: {', '.join(keys[:40])}" if keys else ""
            raise ScenarioError(where, path, f"unknown scenario path ({part!r} not found){hint}")
        node = node[part]
    if isinstance(node, dict) and not is_annotated(node):
        raise ScenarioError(where, path, "is a table, not a value; name a field inside it")


def _check_value(plain: dict, path: str, value: Any, where: str, shown: Any) -> None:
    try:
        scenario_from_dict(apply_overrides(plain, {path: value}))
    except ScenarioError as exc:
        raise ScenarioError(where, shown, f"{exc.field} {exc.allowed}") from None


def _current_value(plain: dict, path: str) -> Any:
    return get_path(plain, path)


def _dtype_of(values: list, current: Any) -> str:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if any(isinstance(v, bool) for v in values):
        return "mixed"
    if all(isinstance(v, str) for v in values):
        return "str"
    if any(isinstance(v, str) for v in values):
        return "mixed"
    if all(isinstance(v, int) for v in values) and (
        isinstance(current, int) and not isinstance(current, bool)
    ):
        return "int"
    return "float"


def _parameter(
    name: str, kind: str, ps: ParameterSpec, where: str, method: str, plain: dict
) -> Parameter:
    current = _current_value(plain, ps.path)
    if ps.values is not None and ps.range is not None:
        raise ScenarioError(where, "values and range", "give either values or range, not both")
    if ps.values is not None:
        if not ps.values:
            raise ScenarioError(f"{where}.values", [], "must not be empty")
        if len(set(map(repr, ps.values))) != len(ps.values):
            raise ScenarioError(f"{where}.values", ps.values, "values must not repeat")
        if ps.levels is not None:
            raise ScenarioError(f"{where}.levels", ps.levels, "levels is only for a range")
        dtype = _dtype_of(list(ps.values), current)
        if dtype == "mixed":
            raise ScenarioError(
                f"{where}.values",
                ps.values,
                "values must all be numbers, all booleans or all strings",
            )
        if ps.integer and dtype != "int":
            raise ScenarioError(f"{where}.integer", True, "integer parameters need integer values")
        return Parameter(
            name, kind, ps.path, tuple(ps.values), None, None, ps.integer, dtype, ps.description
        )
    if ps.range is not None:
        if len(ps.range) != 2:
            raise ScenarioError(f"{where}.range", ps.range, "must be [low, high]")
        lo, hi = ps.range
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ScenarioError(f"{where}.range", ps.range, "bounds must be finite numbers")
        if not lo < hi:
            raise ScenarioError(f"{where}.range", ps.range, "empty range: low must be below high")
        if isinstance(current, bool) or isinstance(current, str):
            raise ScenarioError(
                f"{where}.range",
                ps.range,
                f"{ps.path} is a {type(current).__name__}; list its values instead",
            )
        integer = ps.integer or (isinstance(current, int) and not isinstance(current, bool))
        if method == "factorial" and ps.levels is None:
            raise ScenarioError(
                f"{where}.levels", None, "a factorial design over a range needs levels = n (>= 2)"
            )
        return Parameter(
            name,
            kind,
            ps.path,
            None,
            (float(lo), float(hi)),
            ps.levels,
            integer,
            "int" if integer else "float",
            ps.description,
        )
    if method != "list":
        raise ScenarioError(
            where, "{...}", f"needs values = [...] or range = [low, high] for a {method} design"
        )
    # list designs: values come from the points
    dtype = (
        "bool"
        if isinstance(current, bool)
        else "str"
        if isinstance(current, str)
        else ("int" if isinstance(current, int) else "float")
    )
    return Parameter(name, kind, ps.path, None, None, None, ps.integer, dtype, ps.description)


def _expand_design(exp: Experiment) -> None:
    d = exp.spec.design
    params = exp.parameters
    method = d.method
    if method != "list" and d.points:
        raise ScenarioError(
            "design.points", "[...]", f'points are only for method = "list", not {method!r}'
        )
    if method == "list":
        if not d.points:
            raise ScenarioError("design.points", [], "a list design needs at least one point")
        names = []
        for i, pt in enumerate(d.points):
            label = pt.get("name", f"p{i}")
            if not isinstance(label, str) or not re.match(r"^[A-Za-z0-9_.+-]+$", label):
                raise ScenarioError(
                    f"design.points[{i}].name", label, "must be letters, digits, _ . + or -"
                )
            if label in names:
                raise ScenarioError(f"design.points[{i}].name", label, "names must be unique")
            names.append(label)
            point = {}
            for key, value in pt.items():
                if key == "name":
                    continue
                if key not in exp.param_names:
                    raise ScenarioError(
                        f"design.points[{i}].{key}",
                        value,
                        "unknown parameter; allowed: " + ", ".join(exp.param_names),
                    )
                p = exp.parameter(key)
                if p.values is not None and value not in p.values:
                    raise ScenarioError(
                        f"design.points[{i}].{key}", value, f"must be one of {list(p.values)}"
                    )
                if p.range is not None and not (
                    isinstance(value, int | float)
                    and not isinstance(value, bool)
                    and p.range[0] <= value <= p.range[1]
                ):
                    raise ScenarioError(
                        f"design.points[{i}].{key}", value, f"must be within {list(p.range)}"
                    )
                if p.dtype == "float" and isinstance(value, int) and not isinstance(value, bool):
                    value = float(value)
                point[key] = value
            exp.points.append(point)
        exp.point_names = names
        if d.samples is not None:
            raise ScenarioError("design.samples", d.samples, "samples is not used by a list design")
        return
    if not params:
        raise ScenarioError(
            "levers", "{}", f"a {method} design needs at least one lever or uncertainty"
        )
    if method == "factorial":
        if d.samples is not None:
            raise ScenarioError(
                "design.samples", d.samples, "samples is not used by a factorial design"
            )
        n = factorial_size(params)
        if n > 1_000_000:
            raise ScenarioError("design", n, "a factorial design of more than 1,000,000 points")
        exp.points = factorial_points(params)
    else:
        if d.samples is None:
            raise ScenarioError("design.samples", None, f"a {method} design needs samples = n")
        samples, note = adjust_samples(method, d.samples)
        problem = check_samples(method, samples)
        if problem:
            raise ScenarioError("design.samples", d.samples, problem)
        if note:
            exp.notes.append(note)
        exp.samples = samples
        if method == "lhs":
            exp.sample_matrix, exp.points = lhs_sample(params, samples, exp.root_seed)
        else:
            for p in params:
                if p.range is None:
                    raise ScenarioError(
                        f"{p.section}.{p.name}",
                        "values",
                        f"a {method} design needs range = [low, high]",
                    )
            X = salib_sample(params, method, samples, exp.root_seed, d.num_levels, d.second_order)
            exp.sample_matrix = X
            exp.points = [
                {p.name: p.cast(x) for p, x in zip(params, row, strict=True)} for row in X
            ]
    exp.point_names = [f"p{i}" for i in range(len(exp.points))]
    if len(exp.points) * exp.replicates > 1_000_000:
        raise ScenarioError("design", len(exp.points) * exp.replicates, "more than 1,000,000 runs")


def _check_points(exp: Experiment) -> None:
    """Every distinct point must make a valid scenario (bounds that only bind jointly, types)."""
    if len(exp.points) > 5000:
        return  # per-parameter checks already ran; a full check would cost more than it finds
    for i, point in enumerate(exp.points):
        overrides = {exp.parameter(k).path: v for k, v in point.items()}
        try:
            scenario_from_dict(apply_overrides(exp.base_document, overrides))
        except ScenarioError as exc:
            where = f"design.points[{i}]" if exp.method == "list" else f"design point {i}"
            raise ScenarioError(where, point, f"{exc.field} {exc.allowed}") from None


def rebuild_experiment(manifest: dict, where: str | Path = "manifest") -> Experiment:
    """The experiment of a sweep manifest, from its embedded spec and resolved scenario.

    Raises ScenarioError if the manifest lacks them or if the rebuilt design differs (another
    aieco version would draw other points or seeds)."""
    spec, doc = manifest.get("spec"), manifest.get("scenario")
    if not isinstance(spec, dict) or not isinstance(doc, dict):
        raise ScenarioError(
            "DIR",
            str(where),
            "its manifest embeds no experiment and scenario (written by an older aieco)",
        )
    exp = experiment_from_dict(spec, source=f"{where}/manifest.json", scenario_document=doc)
    if exp.design_hash != manifest.get("design_hash"):
        raise ScenarioError(
            "DIR",
            str(where),
            f"the rebuilt design {exp.design_hash} differs from the manifest's "
            f"{manifest.get('design_hash')} (aieco {manifest.get('aieco')} wrote it)",
        )
    return exp
