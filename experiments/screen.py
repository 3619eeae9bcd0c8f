"""Screening drawn assumptions against the calibration targets (``--screen``).

Documented assumptions drawn from their ranges (``--assumptions``) are independent of the data:
a draw may put Hangzhou in a world its sourced targets rule out (docs/sensitivity.md traces a
migration boom whose talent flows miss their target tenfold). ``--screen`` keeps only the draws
that fit those targets about as well as the calibrated model itself does. It is a rejection
step in the spirit of history matching (Andrianakis et al. 2015) and of ABC rejection, with the
posterior's own fit as the tolerance, not a recalibration: the posterior draw θ_m was inferred
with the assumptions at their values, and the screen does not reweight it.

**The rule.** Draw m (θ_m from the posterior, a_m the assumptions drawn) is run once through
the calibration spec's simulation (``--param-spec``, default hangzhou: its scenario, its months,
its statistics), and so is θ_m with the assumptions at their values (the reference), both on
the same seed (the design's first: common random numbers). Each run's distance to the targets
is the calibration's own (``experiments.calibrate.band_distance``: Σ ((x − observed) /
half-band)² over the conditioned targets). Draw m is **kept** when its distance is at most the
``level`` quantile (default 0.9) of the reference distances: it fits the sourced targets at
least as well as nine in ten posterior draws do with the assumptions at their values. A failed
run is rejected, with its error recorded; so is a run that cannot produce a statistic (no firm
of the early cohort reached series A: B-given-A undefined), infinitely far as in the
calibration's own distance.

**What it can see.** Only the assumptions the spec's scenario has: with Hangzhou's spec, the
national, market and behavioural ones and Hangzhou's own; another city's regional assumptions
(in a national comparison) are drawn but not judged, and the source line says how many. One
screen serves every variant of a comparison (judged on the union of their draws: the same
name has the same value in every variant), so every variant keeps the same draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ecosystem.scenario import ScenarioError
from ecosystem.scenario.paths import PathError, get_path

#: Default quantile of the reference distances a kept draw must not exceed.
LEVEL = 0.9
MEASURE = "experiments.calibrate:run_statistics"
NEEDS_ASSUMPTIONS = "needs --assumptions (documented assumptions drawn)"


@dataclass
class Screen:
    """The screen's verdict on D draws: which are kept and why."""

    spec: str
    level: float
    seed: int
    months: int
    distance: np.ndarray  # (D,) with the assumptions drawn
    reference: np.ndarray  # (D,) the same θ with the assumptions at their values
    judged: list[str] = field(default_factory=list)  # assumption paths the spec's scenario has
    unjudged: list[str] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def threshold(self) -> float:
        ok = self.reference[np.isfinite(self.reference)]
        return float(np.quantile(ok, self.level)) if ok.size else math.inf

    @property
    def kept(self) -> list[int]:
        ok = np.isfinite(self.distance) & (self.distance <= self.threshold)
        return [int(m) for m in np.flatnonzero(ok)]  # a failed run is never kept

    def line(self) -> str:
        """One sentence for every printed interval."""
        d = len(self.distance)
        k = len(self.kept)
        text = (
            f"Screened against the calibration targets of spec {self.spec}: {k} of {d} draws "
            f"kept (distance to the targets at most {self.threshold:.3g}, the "
            f"{self.level:.0%} quantile of the same posterior draws' with the assumptions at "
            f"their values; {self.months}-month runs on seed {self.seed}; experiments/screen.py)"
        )
        if self.unjudged:
            text += (
                f"; {len(self.unjudged)} drawn assumptions are not in the spec's scenario and "
                "were not judged"
            )
        return text + "."

    def as_dict(self) -> dict:
        return {
            "spec": self.spec,
            "level": self.level,
            "seed": self.seed,
            "months": self.months,
            "threshold": self.threshold,
            "kept": self.kept,
            "distance": [float(x) for x in self.distance],
            "reference": [float(x) for x in self.reference],
            "judged": len(self.judged),
            "unjudged": list(self.unjudged),
            "errors": {str(m): e for m, e in self.errors.items()},
        }


def _has_path(doc: dict, path: str) -> bool:
    """Whether the scenario document has a value at ``path``."""
    try:
        get_path(doc, path)
    except PathError:
        return False
    return True


def check_screen_options(screen: bool, assumptions) -> None:
    """``--screen`` without ``--assumptions``: ScenarioError (before any run)."""
    if screen and not assumptions:
        raise ScenarioError("--screen", "on", NEEDS_ASSUMPTIONS)


def screen_draws(designs: list, workers: int | None = 1, progress: bool = False) -> Screen:
    """Run the screen for ``designs`` (``experiments.uncertainty.DrawDesign`` with documented
    assumptions, one per variant of a comparison, on the same root seed and spec): one
    :class:`Screen` for all, judged on the union of their draws (the same name has the same
    value in every design), so every variant keeps the same draws and stays paired. Sets it on
    every design. ScenarioError when no design draws an assumption, or no draw is kept."""
    from experiments.assumptions import is_assumption
    from experiments.calibrate import band_distance, load_spec
    from experiments.parameters import RunTask
    from experiments.runner import _progress, execute_tasks

    design = designs[0]
    assumed = {p.path for d in designs for p in d.priors if is_assumption(p)}
    if not assumed:
        raise ScenarioError("--screen", "on", NEEDS_ASSUMPTIONS)
    cal = load_spec(design.spec)
    base = cal.base_document
    judged = sorted(p for p in assumed if _has_path(base, p))
    unjudged = sorted(assumed - set(judged))
    seed, months = design.seeds[0], cal.meta.months
    names = tuple(cal.statistics)
    tasks = []
    for m in range(design.draws):
        merged = {k: v for d in designs for k, v in d.overrides(m).items()}
        full = {k: v for k, v in merged.items() if _has_path(base, k)}
        ref = {k: v for k, v in full.items() if k not in assumed}
        for arm, overrides in enumerate((full, ref)):
            tasks.append(
                RunTask(
                    f"screen-{arm}-{m}",
                    arm,
                    m,
                    "screen",
                    seed,
                    {},
                    overrides,
                    months,
                    MEASURE,
                    (names,),
                )
            )
    bar = _progress(len(tasks), "screen", progress)
    records = execute_tasks(tasks, [base, base], [], workers, bar)
    # every target with a band has an observed value (its middle by default): all conditioned
    targets = [t.as_dict() for t in cal.targets if t.has_target]
    ok = {k: r["outcomes"] for k, r in records.items() if r.get("status") == "ok"}
    errors = {key[1]: r.get("error") or "failed" for key, r in records.items() if key not in ok}
    dist = np.full((2, design.draws), np.inf)
    if ok:
        arm, m = (np.array(ix) for ix in zip(*ok, strict=True))
        dist[arm, m] = band_distance(pd.DataFrame(list(ok.values())), targets)
    screen = Screen(design.spec, LEVEL, seed, months, dist[0], dist[1], judged, unjudged, errors)
    if not screen.kept:
        raise ScenarioError("--screen", "on", "kept no draw: every draw misses the targets")
    for d in designs:
        d.screen = screen
    return screen
