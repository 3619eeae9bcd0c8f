"""EMA Workbench adapter: the model as an EMA ``ReplicatorModel`` with levers, uncertainties, outcomes.

    from ema_workbench import SequentialEvaluator
    from experiments.ema import ema_model
    from experiments.spec import load_experiment

    model = ema_model(load_experiment("experiments/examples/exploratory_lhs.toml"))
    with SequentialEvaluator(model) as ev:           # or MultiprocessingEvaluator(model, n_processes=2)
        experiments, outcomes = ev.perform_experiments(scenarios=20, policies=4)

Levers and uncertainties come from the experiment file (a ``range`` becomes a Real or Integer
parameter, ``values`` a Categorical or Boolean one); constants and the scenario come from it too.
Each EMA experiment runs once per replicate with the experiment's seeds (common random numbers);
scalar outcomes are means over replicates.
"""

from __future__ import annotations

import numpy as np

from experiments.runner import execute_run
from experiments.spec import Experiment, Parameter, RunTask


class AiecoFunction:
    """The callable EMA runs: keyword arguments named like the parameters, plus ``seed``."""

    def __init__(
        self, base_document: dict, paths: dict[str, str], outcomes: list[str], months: int | None
    ):
        self.base_document = base_document
        self.paths = paths
        self.outcomes = outcomes
        self.months = months

    def __call__(self, seed: int = 0, **params) -> dict:
        overrides = {self.paths[k]: _plain(v) for k, v in params.items() if k in self.paths}
        task = RunTask(
            "ema",
            0,
            0,
            "ema",
            int(seed),
            {k: _plain(v) for k, v in params.items()},
            overrides,
            self.months,
        )
        outcomes, _ = execute_run(task, self.base_document, [])
        return {name: float(outcomes.get(name, np.nan)) for name in self.outcomes}


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _ema_parameter(p: Parameter):
    from ema_workbench import (
        BooleanParameter,
        CategoricalParameter,
        IntegerParameter,
        RealParameter,
    )

    if p.range is not None:
        lo, hi = p.range
        if p.dtype == "int":
            return IntegerParameter(p.name, int(np.ceil(lo)), int(np.floor(hi)))
        return RealParameter(p.name, lo, hi)
    if p.values is not None:
        if p.dtype == "bool" and set(p.values) == {True, False}:
            return BooleanParameter(p.name)
        return CategoricalParameter(p.name, list(p.values))
    raise ValueError(f"parameter {p.name} needs a range or values for EMA Workbench")


def ema_model(exp: Experiment, name: str | None = None, replicates: int | None = None):
    """An EMA ``ReplicatorModel`` of the experiment's scenario, parameters and summary outcomes."""
    from ema_workbench import ReplicatorModel, ScalarOutcome

    fn = AiecoFunction(
        exp.base_document,
        {p.name: p.path for p in exp.parameters},
        exp.summary_outcomes,
        exp.spec.experiment.months,
    )
    model = ReplicatorModel(
        name or "aieco" + "".join(ch for ch in exp.name if ch.isalnum()), function=fn
    )
    model.uncertainties = [_ema_parameter(p) for p in exp.parameters if p.kind == "uncertainty"]
    model.levers = [_ema_parameter(p) for p in exp.parameters if p.kind == "lever"]
    seeds = exp.seeds if replicates is None else exp.seeds[:replicates]
    model.replications = [{"seed": s} for s in seeds]
    model.outcomes = [ScalarOutcome(o, function=np.nanmean) for o in exp.summary_outcomes]
    return model
