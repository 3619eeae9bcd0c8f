"""Analysis layer: the model in EMA Workbench, as a ``ReplicatorModel`` with the experiment's
levers, uncertainties, constants and outcomes.

    from ema_workbench import SequentialEvaluator
    from experiments.ema import ema_model, replicate_table
    from experiments.spec import load_experiment

    exp = load_experiment("experiments/examples/exploratory_lhs.toml")
    model = ema_model(exp)                    # MultiprocessingEvaluator(model, n_processes=2) too
    with SequentialEvaluator(model) as ev:
        experiments, outcomes = ev.perform_experiments(scenarios=20, policies=4)
    runs = replicate_table(experiments, outcomes, exp)   # one row per experiment and replicate

What the model offers (``pip install 'aieco[ema]'``):

* **Parameters** from the experiment file: a ``range`` becomes a Real or Integer parameter,
  ``values`` a Categorical or Boolean one. A parameter that the file does not declare is
  rejected with one line naming it (EMA would otherwise pass it on and the model ignore it),
  unless its name (or ``variable_name``) is a dotted scenario path such as
  ``regions.hangzhou.policy.voucher_rate``: then it sets that path.
* **Outcomes**: every ``[outcomes] summary`` name as a ``ScalarOutcome`` (the mean over
  replicates; ``[outcomes.kinds]`` gives it a direction, so ``optimize`` knows what to
  maximise or minimise); every ``[outcomes] kpis`` column as a ``TimeSeriesOutcome`` (the
  monthly total over the scenario's city regions; ratios such as utilisation, prices and means
  are averaged instead) and an ``ArrayOutcome`` ``<kpi>_by_region`` (months × regions, in
  :func:`regions` order); ``TIME`` (months since the start, EMA's plotting convention).
* **Replicates**: each EMA experiment runs once per replicate seed of the experiment file
  (common random numbers across experiments). ``seed`` holds the seeds and
  ``<outcome>_replicates`` each replicate's value; :func:`replicate_table` turns them into the
  experiments table with one row per replicate and its seed.

EMA Workbench 3.0 has two bugs with boolean levers, and this module works around both (tested
in ``tests/test_ema.py``): ``Prim(...).find_box().inspect()`` fails on a boolean column
("Invalid value '{True}' for dtype 'float64'") — :func:`prim_inputs` gives PRIM the
experiments with booleans as 0/1 floats; ``optimize`` fails to decode Boolean (and
Categorical) decision variables ("only 0-dimensional arrays can be converted") —
:func:`ema_model` with ``booleans_as_integers=True`` declares them as 0/1 integers, which the
model turns back into booleans, and :func:`optimize` does that for you.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ecosystem.scenario import ScenarioError
from experiments.spec import Experiment, Parameter, RunTask, check_scenario_path
from experiments.tasks import execute_run

#: KPI columns that are ratios or levels, averaged (not summed) over city regions.
AVERAGED = ("utilization", "price", "mean")


def replicate_mean(values) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN (e.g. target never reached)
        return float(np.nanmean(np.asarray(values, dtype=float)))


def replicate_mean_array(values) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.asarray(values, dtype=float), axis=0)


def as_array(values) -> np.ndarray:
    return np.asarray(values, dtype=float)


def first(values):
    return np.asarray(values[0], dtype=float)


def regions(exp: Experiment) -> list[str]:
    """Regions of the experiment's scenario, in the order of ``<kpi>_by_region`` columns."""
    return list(exp.base_document.get("regions", {}))


def city_regions(exp: Experiment) -> list[str]:
    return [k for k, r in exp.base_document.get("regions", {}).items() if r.get("kind") == "city"]


def kpi_columns(exp: Experiment) -> list[str]:
    return list(exp.kpi_columns_all) if exp.kpi_outcomes == ["*"] else list(exp.kpi_outcomes)


class AiecoFunction:
    """The callable EMA runs: keyword arguments named like the parameters (or dotted scenario
    paths), plus ``seed``. Returns one replicate's scalars, monthly series and arrays."""

    def __init__(self, exp: Experiment):
        self.base_document = exp.base_document
        self.parameters = {p.name: p for p in exp.parameters}
        self.outcomes = list(exp.summary_outcomes)
        self.kpis = kpi_columns(exp)
        self.months = exp.spec.experiment.months
        self.regions = regions(exp)
        self.cities = city_regions(exp)

    def overrides(self, params: dict) -> dict:
        """Scenario overrides of EMA's parameters; ScenarioError naming undeclared ones."""
        out, unknown = {}, []
        for key, value in params.items():
            value = _plain(value)
            p = self.parameters.get(key)
            if p is not None:
                out[p.path] = p.cast(value)
            elif "." in key:
                check_scenario_path(self.base_document, key, None, f"EMA parameter {key}")
                out[key] = value
            else:
                unknown.append(key)
        if unknown:
            raise ScenarioError(
                "EMA parameters",
                ", ".join(sorted(unknown)),
                "not declared in the experiment file; declare them as levers or uncertainties, "
                "or name a dotted scenario path (e.g. regions.hangzhou.policy.voucher_rate)",
            )
        return out

    def __call__(self, seed: int = 0, **params) -> dict:
        overrides = self.overrides(params)
        plain = {k: _plain(v) for k, v in params.items()}
        task = RunTask("ema", 0, 0, "ema", int(seed), plain, overrides, self.months)
        outcomes, kpis, _ = execute_run(task, self.base_document, self.kpis)
        result = {name: float(outcomes.get(name, np.nan)) for name in self.outcomes}
        result["seed"] = float(seed)
        months = np.sort(kpis["month"].unique())
        result["TIME"] = months.astype(float)
        cities = kpis[kpis["region"].isin(self.cities)]
        for kpi in self.kpis:
            if kpi not in kpis or not pd.api.types.is_numeric_dtype(kpis[kpi]):
                continue
            how = "mean" if any(a in kpi for a in AVERAGED) else "sum"
            series = cities.groupby("month")[kpi].agg(how).reindex(months)
            result[kpi] = series.to_numpy(dtype=float)
            wide = kpis.pivot_table(index="month", columns="region", values=kpi, aggfunc="first")
            result[f"{kpi}_by_region"] = wide.reindex(index=months, columns=self.regions).to_numpy(
                dtype=float
            )
        return result


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _listed(exp: Experiment, p: Parameter) -> Parameter:
    """A list design's parameter (no range, no values) with the values its points give it."""
    if p.range is not None or p.values is not None:
        return p
    values = tuple(dict.fromkeys(pt[p.name] for pt in exp.points if p.name in pt))
    if p.dtype == "bool":
        values = (False, True) if len(values) > 1 else values
    return Parameter(p.name, p.kind, p.path, values, None, None, p.integer, p.dtype, p.description)


def design_samples(exp: Experiment, kind: str = "lever") -> list:
    """The design points of the experiment file as EMA samples (policies for levers, scenarios
    for uncertainties), named like the points: ``perform_experiments(policies=...)`` then runs
    exactly a list (or factorial, LHS, ...) design of the file. ``kind="all"`` gives every
    parameter (for a model built with ``levers_as_uncertainties=True``)."""
    from ema_workbench import Sample

    names = {p.name for p in exp.parameters if kind in (p.kind, "all")}
    out, seen = [], set()
    for label, point in zip(exp.point_names, exp.points, strict=True):
        values = {k: v for k, v in point.items() if k in names}
        key = tuple(sorted(values.items()))
        if key in seen:
            continue
        seen.add(key)
        out.append(Sample(label if values else "base", **values))
    return out


def _ema_parameter(p: Parameter, booleans_as_integers: bool = False):
    from ema_workbench import (
        BooleanParameter,
        CategoricalParameter,
        IntegerParameter,
        RealParameter,
    )

    if p.range is not None:
        lo, hi = p.range
        if p.dtype == "int":
            return IntegerParameter(p.name, math.ceil(lo), math.floor(hi))
        return RealParameter(p.name, lo, hi)
    if p.values is not None:
        if p.dtype == "bool" and set(p.values) == {True, False}:
            if booleans_as_integers:
                return IntegerParameter(p.name, 0, 1)  # EMA 3.0 optimize cannot decode booleans
            return BooleanParameter(p.name)
        return CategoricalParameter(p.name, list(p.values))
    raise ScenarioError(
        f"{p.section}.{p.name}", p.path, "EMA needs a range or values for every parameter"
    )


def ema_model(
    exp: Experiment,
    name: str | None = None,
    replicates: int | None = None,
    booleans_as_integers: bool = False,
    levers_as_uncertainties: bool = False,
):
    """An EMA ``ReplicatorModel`` of the experiment's scenario, parameters and outcomes.

    ``levers_as_uncertainties`` declares every parameter an uncertainty (scenario discovery
    over levers and assumptions together, sampled as EMA scenarios)."""
    from ema_workbench import ArrayOutcome, ReplicatorModel, ScalarOutcome, TimeSeriesOutcome

    fn = AiecoFunction(exp)
    model_name = name or "aieco" + "".join(ch for ch in exp.name if ch.isalnum())
    model = ReplicatorModel(model_name, function=fn)
    params = [_listed(exp, p) for p in exp.parameters]
    uncertain = ("uncertainty", "lever") if levers_as_uncertainties else ("uncertainty",)
    model.uncertainties = [
        _ema_parameter(p, booleans_as_integers) for p in params if p.kind in uncertain
    ]
    model.levers = [
        _ema_parameter(p, booleans_as_integers) for p in params if p.kind not in uncertain
    ]
    seeds = exp.seeds if replicates is None else exp.seeds[:replicates]
    model.replications = [{"seed": s} for s in seeds]
    kinds = {
        "maximize": ScalarOutcome.MAXIMIZE,
        "minimize": ScalarOutcome.MINIMIZE,
        "info": ScalarOutcome.INFO,
    }
    outcomes = [
        ScalarOutcome(o, kind=kinds[k], function=replicate_mean)
        for o, k in exp.outcome_kinds.items()
    ]
    outcomes += [
        ArrayOutcome(f"{o}_replicates", variable_name=o, function=as_array)
        for o in exp.summary_outcomes
    ]
    outcomes.append(ArrayOutcome("seed", function=as_array))
    outcomes.append(TimeSeriesOutcome("TIME", function=first))
    for kpi in kpi_columns(exp):
        outcomes.append(TimeSeriesOutcome(kpi, function=replicate_mean_array))
        outcomes.append(ArrayOutcome(f"{kpi}_by_region", function=replicate_mean_array))
    model.outcomes = outcomes
    return model


def replicate_table(experiments: pd.DataFrame, outcomes: dict, exp: Experiment) -> pd.DataFrame:
    """EMA's experiments table with one row per experiment and replicate: its ``replicate``,
    ``seed`` and each summary outcome's value in that replicate."""
    seeds = np.asarray(outcomes["seed"])
    n, r = seeds.shape
    rows = experiments.loc[experiments.index.repeat(r)].reset_index(names="experiment")
    rows["replicate"] = np.tile(np.arange(r), n)
    rows["seed"] = seeds.reshape(-1).astype(np.int64)
    for o in exp.summary_outcomes:
        rows[o] = np.asarray(outcomes[f"{o}_replicates"], dtype=float).reshape(-1)
    return rows


def prim_inputs(experiments: pd.DataFrame) -> pd.DataFrame:
    """The experiments table ready for PRIM: EMA's bookkeeping columns dropped and booleans as
    0/1 floats (EMA 3.0's ``box.inspect()`` fails on boolean columns)."""
    x = experiments.drop(columns=[c for c in ("scenario", "policy", "model") if c in experiments])
    for col in x.columns:
        if x[col].dtype == bool:
            x[col] = x[col].astype(float)
    return x


def optimize(
    exp: Experiment,
    nfe: int,
    directory: str | Path,
    searchover: str = "levers",
    epsilons: list[float] | None = None,
    evaluator=None,
    **kwargs,
):
    """EMA's ``optimize`` over the experiment's levers (or uncertainties), with the outcome
    directions of ``[outcomes.kinds]``; boolean levers as 0/1 integers (EMA 3.0 bug)."""
    from ema_workbench import SequentialEvaluator

    directed = [o for o, k in exp.outcome_kinds.items() if k != "info"]
    if not directed:
        raise ScenarioError(
            "outcomes.kinds",
            {},
            'optimize needs at least one outcome with "maximize" or "minimize"',
        )
    model = ema_model(exp, booleans_as_integers=True)
    info = [o for o in model.outcomes if o.name not in directed]
    for o in info:  # only directed outcomes take part (EMA optimises every non-INFO one)
        o.kind = o.INFO
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    epsilons = epsilons if epsilons is not None else [0.05] * len(directed)
    with (evaluator or SequentialEvaluator)(model) as ev:
        return ev.optimize(
            nfe=nfe,
            searchover=searchover,
            epsilons=epsilons,
            filename=f"{exp.name}_optimize.tar.gz",
            directory=str(directory),
            **kwargs,
        )
