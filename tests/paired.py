"""Paired policy effects for mechanism tests: the same seeds with and without a change.

Mechanism tests assert the *sign* of an effect that a mechanism implies ("a talent subsidy raises
inflow"), not its size. One run is noise; two runs with different seeds are noise twice. This
helper runs the baseline and the changed scenario on the same seeds (common random numbers), so
each seed gives one paired difference, and reports the mean difference with a 95% t interval and
one-sided paired t-test p-values.

    from paired import TINY, paired_effect   # tests/ is on sys.path under pytest
    eff = paired_effect(TINY, {"regions.ningbo.policy.talent_subsidy_yuan_per_person": 1e5},
                        outcome="talent_net_inflow_per_year")
    assert eff.p_greater < 0.05, eff

``TINY`` is ``tests/presets/tiny.toml``: one small city and two hubs for five years, ~0.2 s a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from ecosystem import outcomes
from ecosystem.run import RunResult, run_scenario
from ecosystem.scenario import Scenario, load_scenario, to_document
from ecosystem.scenario.loading import apply_overrides, scenario_from_dict

TINY = Path(__file__).parent / "presets" / "tiny.toml"

Outcome = str | Callable[[RunResult], float]


@dataclass(frozen=True)
class PairedEffect:
    """Changed minus baseline, one difference per seed."""

    outcome: str
    seeds: tuple[int, ...]
    base: np.ndarray
    changed: np.ndarray

    @property
    def diffs(self) -> np.ndarray:
        return self.changed - self.base

    @property
    def mean(self) -> float:
        return float(self.diffs.mean())

    @property
    def interval(self) -> tuple[float, float]:
        """95% t interval of the mean paired difference (a point if every difference is equal)."""
        d = self.diffs
        if len(d) < 2 or np.all(d == d[0]):
            return (self.mean, self.mean)
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
        return (self.mean - half, self.mean + half)

    def _p(self, alternative: str) -> float:
        d = self.diffs
        if np.all(d == d[0]):  # no spread: the sign is certain, or there is no effect at all
            if d[0] == 0:
                return 1.0
            return 0.0 if (d[0] > 0) == (alternative == "greater") else 1.0
        return float(stats.ttest_1samp(d, 0.0, alternative=alternative).pvalue)

    @property
    def p_greater(self) -> float:
        """One-sided p-value for "the change raises the outcome"."""
        return self._p("greater")

    @property
    def p_less(self) -> float:
        """One-sided p-value for "the change lowers the outcome"."""
        return self._p("less")

    def __str__(self) -> str:
        lo, hi = self.interval
        return (
            f"{self.outcome}: {self.mean:+.4g} (95% CI {lo:+.4g} to {hi:+.4g}; "
            f"p_greater={self.p_greater:.3g}, p_less={self.p_less:.3g}; "
            f"base mean {self.base.mean():.4g}, n={len(self.seeds)} paired seeds)"
        )


def _scenario(scenario: str | Path | Scenario, change: Mapping[str, Any] | None) -> Scenario:
    if not isinstance(scenario, Scenario):
        return load_scenario(scenario, dict(change or {}))
    if not change:
        return scenario
    doc = to_document(scenario, with_sources=False)
    return scenario_from_dict(apply_overrides(doc, dict(change)))


def _measure(result: RunResult, outcome: Outcome) -> float:
    if callable(outcome):
        return float(outcome(result))
    data = outcomes.RunData.from_result(result)
    return float(outcomes.compute(data, [outcome])[outcome])


def outcome_values(
    scenario: str | Path | Scenario,
    seeds: Iterable[int] = range(1, 11),
    outcome: Outcome = "startups_alive_end",
    months: int | None = None,
    change: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """The outcome of one scenario (with an optional dotted-path change) for each seed."""
    return _values(scenario, seeds, (outcome,), months, change)[:, 0]


def _values(scenario, seeds, outcomes_: Sequence[Outcome], months, change) -> np.ndarray:
    """(seeds × outcomes): every outcome of each seed's one run."""
    sc = _scenario(scenario, change)
    rows = []
    for s in seeds:
        result = run_scenario(sc, seed=s, months=months)
        rows.append([_measure(result, o) for o in outcomes_])
    return np.array(rows, dtype=float).reshape(-1, len(outcomes_))


def paired_effect(
    scenario: str | Path | Scenario,
    change: Mapping[str, Any],
    seeds: Iterable[int] = range(1, 11),
    outcome: Outcome = "startups_alive_end",
    months: int | None = None,
    base_change: Mapping[str, Any] | None = None,
) -> PairedEffect:
    """Effect of ``change`` (dotted paths -> values, as ``--set``) on ``outcome``, paired by seed.

    ``outcome`` is an outcome name of ``ecosystem.outcomes`` or a function of a ``RunResult``.
    ``base_change`` is applied to both arms (for example to switch a programme on in both).
    """
    return paired_effects(scenario, change, seeds, (outcome,), months, base_change)[0]


def paired_effects(
    scenario: str | Path | Scenario,
    change: Mapping[str, Any],
    seeds: Iterable[int] = range(1, 11),
    outcomes_: Sequence[Outcome] = ("startups_alive_end",),
    months: int | None = None,
    base_change: Mapping[str, Any] | None = None,
) -> list[PairedEffect]:
    """:func:`paired_effect` for several outcomes of the same runs (each seed's two runs once,
    not once per outcome): one effect per outcome, in order."""
    seeds = tuple(int(s) for s in seeds)
    both = dict(base_change or {})
    base = _values(scenario, seeds, outcomes_, months, both)
    changed = _values(scenario, seeds, outcomes_, months, {**both, **dict(change)})
    return [
        PairedEffect(
            o if isinstance(o, str) else getattr(o, "__name__", "outcome"),
            seeds,
            base[:, k],
            changed[:, k],
        )
        for k, o in enumerate(outcomes_)
    ]


def stock_policy_experiment(
    path: Path, months: int, summary: str, constants: Mapping[str, Any] | None = None
) -> Path:
    """Write a two-arm ``aieco policy`` experiment on TINY to ``path``: Ningbo with 60 initial
    startups (the baseline) against 80, one summary outcome and the startups-alive KPI;
    ``constants`` join its ``[constants]`` (every arm). Returns ``path``."""
    rows = "".join(f'"{k}" = {v!r}\n' for k, v in (constants or {}).items())
    section = f"[constants]\n{rows}" if rows else ""
    path.write_text(
        f"""[experiment]
name = "p"
scenario = "{TINY}"
replicates = 1
months = {months}
{section}
[levers.stock]
path = "regions.ningbo.initial_startups"

[design]
method = "list"

[[design.points]]
name = "base"
stock = 60

[[design.points]]
name = "more"
stock = 80

[policy]
baseline = "base"

[outcomes]
summary = ["{summary}"]
kpis = ["startups_alive"]
""",
        encoding="utf-8",
    )
    return path
