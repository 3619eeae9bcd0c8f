"""Layer 1 of ``experiments``: parameters, runs to do and their seeds (no model, no sampling).

The package is layered like EMA Workbench's own: ``parameters`` → ``tasks`` (one run) →
``samplers`` → ``spec`` (experiment files) → ``runner`` (executors) → analysis (``sensitivity``,
``policy``, ``results``, ``report``, ``ema``) → ``commands``. A module imports only from layers
before it; ``tests/test_experiments_spec.py`` checks this and imports each module alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
Scalar = bool | int | float | str

#: Column names of the run tables that a parameter may not take.
RESERVED_NAMES = frozenset(
    {
        "run_id",
        "point",
        "replicate",
        "variant",
        "seed",
        "status",
        "error",
        "elapsed_s",
        "name",
        "month",
        "date",
        "region",
        "design_hash",
    }
)


@dataclass(frozen=True)
class Parameter:
    """A lever or an uncertainty: a scenario path and the values it may take."""

    name: str
    kind: Literal["lever", "uncertainty"]
    path: str
    values: tuple | None
    range: tuple[float, float] | None
    levels: int | None
    integer: bool
    dtype: Literal["bool", "int", "float", "str"]
    description: str = ""

    @property
    def section(self) -> str:
        return "levers" if self.kind == "lever" else "uncertainties"

    def cast(self, value: Any) -> Any:
        if self.dtype == "bool":
            return bool(value)
        if self.dtype == "int":
            return int(round(float(value)))
        if self.dtype == "float":
            return float(value)
        return str(value)

    def grid(self) -> list:
        """Discrete levels for a factorial design."""
        if self.values is not None:
            return list(self.values)
        lo, hi = self.range
        return [self.cast(v) for v in np.linspace(lo, hi, self.levels)]


@dataclass(frozen=True)
class RunTask:
    """One run: a design point, a replicate and its seed. Everything a worker needs."""

    run_id: str
    point: int
    replicate: int
    variant: str
    seed: int
    params: dict
    overrides: dict
    months: int | None
    #: ``"module:function"`` computing the run's outcomes as ``f(result, scenario, *args)``
    #: instead of ``RunResult.summary()`` (the calibration store's summary statistics)
    measure: str | None = None
    measure_args: tuple = ()

    def as_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "point": self.point,
            "replicate": self.replicate,
            "variant": self.variant,
            "seed": self.seed,
            "params": self.params,
            "overrides": self.overrides,
            "months": self.months,
            "measure": self.measure,
            "measure_args": list(self.measure_args),
        }


def as_run_value(x, integer: bool) -> float | int:
    """A parameter's value as a run takes it: an integer parameter rounded to the nearest (the
    draws' rule, and a posterior's medians')."""
    return int(round(float(x))) if integer else float(x)


def replicate_seeds(root_seed: int, replicates: int) -> list[int]:
    """One integer seed per replicate, spawned from the root (common to every design point)."""
    children = np.random.SeedSequence(root_seed).spawn(replicates)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]


def run_id(point: int, replicate: int, design_hash: str = "") -> str:
    """``<design hash>-p00003-r001``: unique across sweeps (the hash names the design)."""
    local = f"p{point:05d}-r{replicate:03d}"
    return f"{design_hash}-{local}" if design_hash else local
