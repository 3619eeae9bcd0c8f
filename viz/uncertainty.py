"""Several seeds in the background: bands for the current settings and for the baseline.

Runs go to worker processes (the page's server process stays free to answer the browser), one
task per run, so progress is counted run by run and Cancel stops the workers at once. Seeds are
common to both arms (run *i* of your settings and run *i* of the baseline share a seed), so the
difference between the arms is measured run by run, not as a difference of two noisy averages.

**Include parameter uncertainty** (the app's checkbox) adds, for both arms, one run per seed with
a parameter draw: run *i* takes seed *i* and draw *i* of the calibration spec's behavioural
parameters (``experiments.uncertainty``: the same draws as ``aieco compare --param-draws D
--posterior preset``; a parameter the user has changed keeps the user's value). The draws come
from the calibrated posterior the scenario names (``meta.posterior``; a scenario naming none takes
the calibration spec's preset's, Hangzhou's) where its file is shipped, else from the documented
prior ranges; the page says which ("calibrated posterior (Hangzhou, revision …)" or "prior
ranges") and where the posterior's predictive check is. The app reads shipped posteriors by
name only, never a path from a scenario (an uploaded file cannot make the server read a file).
Those runs give a second, wider band labelled "seeds and parameters" beside the seeds-only band,
and a second run-by-run difference: both arms share the seeds and the draws. **…and the
documented assumptions** (a second checkbox) draws every documented assumption too, each
independently from its range, as ``--assumptions all`` does (never a policy setting, never what
the user changed); the page then says what that means instead of what the draws leave out.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ecosystem import AIEcosystem
from ecosystem.scenario import Scenario

#: What the bands can show: key -> (label, unit, how to read it from the KPI table).
METRICS = {
    "startups_alive": ("Startups alive", "startups"),
    "employment_startups": ("Working at startups", "people"),
    "voucher_spent_yuan": ("Vouchers paid per month (all programmes)", "¥"),
}


def run_one(
    scenario: Scenario, seed: int, months: int, overrides: dict | None = None
) -> dict[str, list[float]]:
    """One run (in a worker process): the metrics summed over regions, by month.
    ``overrides`` (dotted path → value: a parameter draw) are applied to the scenario first."""
    if overrides:
        from ecosystem.scenario import apply_overrides, scenario_from_dict, to_document

        doc = to_document(scenario, with_sources=False)
        scenario = scenario_from_dict(apply_overrides(doc, overrides))
    model = AIEcosystem(scenario, rng=seed)
    for _ in range(months):
        model.step()
    k = model.kpis()
    totals = k.groupby("month")[list(METRICS)].sum()
    return {m: totals[m].astype(float).tolist() for m in METRICS}


def draw_source(doc: dict, posterior: str | None = None):
    """Where the app's parameter draws come from (an ``experiments.uncertainty.DrawSource``):
    the posterior named by ``posterior`` (the current settings' ``meta.posterior``) or by
    ``doc``, resolved as ``--posterior preset`` is, but by name only: a path is not read."""
    from ecosystem.scenario.schema import POSTERIOR_NAME
    from experiments.uncertainty import (
        PRESET,
        DrawSource,
        named_posterior,
        resolve_posterior,
        scenario_posterior,
    )

    name = posterior or scenario_posterior(doc)
    if name is None:
        return resolve_posterior(PRESET, doc)
    if not POSTERIOR_NAME.fullmatch(name):
        return DrawSource(
            "prior",
            note="the app reads shipped posteriors by name only, not the file the scenario "
            "names: parameters from their prior ranges",
        )
    return named_posterior(name)


@dataclass
class ParameterDraws:
    """The app's parameter draws: one override dict (path → value) per seed."""

    draws: list[dict]
    names: list[str]  # every drawn parameter
    source: object  # experiments.uncertainty.DrawSource
    from_posterior: list[str] = field(default_factory=list)  # those the posterior gives
    #: the documented assumptions among ``names`` (drawn from their ranges; empty: none)
    assumptions: list[str] = field(default_factory=list)

    def label(self) -> str:
        """``18 parameters drawn from the calibrated posterior (Hangzhou, revision …)``, and
        ``; 204 documented assumptions from their ranges`` when those are drawn too."""
        n, k = len(self.names) - len(self.assumptions), len(self.from_posterior)
        if not self.source.is_posterior:
            text = f"{n} parameters drawn from their prior ranges"
        elif k == n:
            text = f"{n} parameters drawn from the {self.source.short()}"
        else:
            text = (
                f"{n} parameters drawn, {k} from the {self.source.short()} and {n - k} "
                "from their prior ranges"
            )
        if self.assumptions:
            text += f"; {len(self.assumptions)} documented assumptions from their ranges"
        return text

    def explain(self) -> str:
        """For the page: the source, for a posterior where its check is, and what the draws
        leave out (``experiments.uncertainty.LEFT_OUT``, as every command says it) or, with
        the assumptions drawn, what drawing them means (``ASSUMPTIONS_CAVEAT``)."""
        from experiments.uncertainty import ASSUMPTIONS_CAVEAT, LEFT_OUT

        tail = LEFT_OUT
        if self.assumptions:
            tail = (
                f"The {len(self.assumptions)} documented assumptions are drawn too, "
                f"{ASSUMPTIONS_CAVEAT}."
            )
        if not self.source.is_posterior:
            why = f" ({self.source.note})" if self.source.note else ""
            return (
                f"Parameter draws: prior ranges{why}. These are the documented ranges, wider "
                f"than what the calibration targets allow. {tail}"
            )
        return (
            f"Parameter draws: {self.source.short()}, the calibration of the behavioural core "
            "against its targets. It is the best compromise of the model, not a fit to every "
            "target: its posterior predictive check in docs/calibration.md says which targets it "
            f"misses. {tail}"
        )


def parameter_draws(
    base_doc: dict,
    n: int,
    root_seed: int,
    fixed=(),
    posterior: str | None = None,
    assumptions: bool = False,
) -> ParameterDraws:
    """``n`` parameter draws of the calibration spec's parameters (``experiments.uncertainty``),
    from the posterior :func:`draw_source` finds or from their documented ranges, leaving out
    the paths in ``fixed`` (what the user set); with ``assumptions`` every documented
    assumption too (``--assumptions all``). Row m is the CLI's draw m for the same root seed,
    posterior and assumptions, whatever the user fixed."""
    from ecosystem.scenario import ScenarioError
    from experiments.assumptions import ALL, is_assumption
    from experiments.uncertainty import PRIORS, design_from_source, scenario_priors

    priors, _ = scenario_priors(base_doc, assumptions=(ALL,) if assumptions else ())
    priors = [p for p in priors if p.path not in set(fixed)]
    try:
        design = design_from_source(priors, n, 1, root_seed, draw_source(base_doc, posterior))
    except ScenarioError:  # e.g. every parameter the posterior has is fixed by the user
        design = design_from_source(priors, n, 1, root_seed, PRIORS)
    draws = [design.overrides(m) for m in range(n)]
    drawn = [p.name for p in priors if is_assumption(p)]
    return ParameterDraws(draws, design.names, design.source, design.from_posterior, drawn)


@dataclass
class Bands:
    months: int
    seeds: list[int]
    current: dict[str, np.ndarray] = field(default_factory=dict)  # metric -> (runs, months)
    baseline: dict[str, np.ndarray] = field(default_factory=dict)
    #: with parameter draws: run i has seed i and draw i (empty: seeds only)
    current_params: dict[str, np.ndarray] = field(default_factory=dict)
    baseline_params: dict[str, np.ndarray] = field(default_factory=dict)
    parameters: list[str] = field(default_factory=list)
    #: where the draws came from (``ParameterDraws.label()``), for the page and the chart
    source: str = ""

    @property
    def with_params(self) -> bool:
        return bool(self.current_params)

    def quantiles(self, arm: str, metric: str, q=(0.1, 0.5, 0.9)) -> np.ndarray:
        """``arm``: current, baseline, current_params or baseline_params."""
        return np.quantile(getattr(self, arm)[metric], q, axis=0)

    def difference(self, metric: str, params: bool = False) -> tuple[float, float, float]:
        """Run-by-run difference at the last month: (mean, 10th, 90th percentile); with
        ``params`` over the runs with parameter draws (same draws and seeds in both arms)."""
        cur, base = (
            (self.current_params, self.baseline_params) if params else (self.current, self.baseline)
        )
        d = cur[metric][:, -1] - base[metric][:, -1]
        return float(d.mean()), float(np.quantile(d, 0.1)), float(np.quantile(d, 0.9))

    def reach(self, arm: str, target: float, seed: int = 0) -> tuple[float, float, float, int, int]:
        """Runs of ``arm`` whose startups alive reach ``target`` by the bands' last month:
        (P, low, high, reached, runs), the interval by ``experiments.uncertainty.reach_probability``
        (as ``aieco compare``'s: over seeds, or over draws and seeds when every run of a
        ``*_params`` arm has its own draw)."""
        from experiments.uncertainty import reach_probability

        runs = getattr(self, arm)["startups_alive"]
        hit = (runs.max(axis=1) >= target).astype(float)
        draw = np.arange(len(hit)) if arm.endswith("_params") else np.full(len(hit), -1)
        p, lo, hi = reach_probability(hit, draw, seed)
        return p, lo, hi, int(hit.sum()), len(hit)


def reach_text(bands: Bands, target: int, month: int) -> str:
    """One sentence for the page: how many runs of each arm reach ``target`` startups by
    ``month``, with the probability's 95% interval, seeds and parameters apart."""

    def one(arm: str) -> str:
        p, lo, hi, k, n = bands.reach(arm, target, bands.seeds[0] if bands.seeds else 0)
        return f"{k} of {n} runs ({p:.0%}, 95% interval {lo:.0%}–{hi:.0%})"

    text = (
        f"Reaching {target:,} startups by month {month}: your settings {one('current')}, "
        f"the baseline {one('baseline')}, over seeds"
    )
    if bands.with_params:
        text += (
            f"; with parameter uncertainty, your settings {one('current_params')}, "
            f"the baseline {one('baseline_params')}"
        )
    return text + ". Run to a later month to ask about a later year."


class SeedJob:
    """A background batch of runs with progress and cancel (thread-safe)."""

    def __init__(
        self,
        current: Scenario,
        baseline: Scenario,
        seeds: list[int],
        months: int,
        workers: int = 2,
        draws: list[dict] | ParameterDraws | None = None,
        parameters: list[str] | None = None,
    ):
        self.current, self.baseline = current, baseline
        self.seeds, self.months, self.workers = list(seeds), int(months), workers
        self.source = ""
        if isinstance(draws, ParameterDraws):
            parameters, self.source, draws = draws.names, draws.label(), draws.draws
        self.draws = list(draws or [])
        if self.draws and len(self.draws) != len(self.seeds):
            raise ValueError("one parameter draw per seed")
        self.parameters = list(parameters or [])
        self.done = 0
        self.total = 2 * len(self.seeds) * (2 if self.draws else 1)
        self.cancelled = threading.Event()
        self.error: str | None = None
        self.result: Bands | None = None
        self._pool: cf.ProcessPoolExecutor | None = None

    def run(self, on_progress: Callable[[int, int], None] | None = None) -> Bands | None:
        out: dict[tuple[str, int], dict] = {}
        ctx = mp.get_context("spawn")  # no fork of a threaded server
        self._pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        try:
            futures = {}
            for i, seed in enumerate(self.seeds):
                for arm, sc in (("current", self.current), ("baseline", self.baseline)):
                    futures[self._pool.submit(run_one, sc, seed, self.months)] = (arm, i)
                    if self.draws:
                        fut = self._pool.submit(run_one, sc, seed, self.months, self.draws[i])
                        futures[fut] = (f"{arm}_params", i)
            for fut in cf.as_completed(futures):
                if self.cancelled.is_set():
                    return None
                out[futures[fut]] = fut.result()
                self.done += 1
                if on_progress is not None:
                    on_progress(self.done, self.total)
        except Exception as exc:  # noqa: BLE001 - reported to the page as one line
            if not self.cancelled.is_set():
                self.error = f"{type(exc).__name__}: {exc}"
            return None
        finally:
            self.stop()
        bands = Bands(self.months, self.seeds, parameters=self.parameters, source=self.source)
        arms = ["current", "baseline"] + (
            ["current_params", "baseline_params"] if self.draws else []
        )
        for arm in arms:
            target = getattr(bands, arm)
            for m in METRICS:
                target[m] = np.array([out[(arm, i)][m] for i in range(len(self.seeds))])
        self.result = bands
        return bands

    def cancel(self) -> None:
        self.cancelled.set()
        self.stop()

    def stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        procs = list((pool._processes or {}).values())  # noqa: SLF001 - to stop runs at once
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.terminate()


def _band(arm: str, name: str, color: str, lo, hi, t, scale: float, unit: str) -> list:
    """A band's hidden lower edge and its stacked width (10th–90th percentile)."""
    from viz import charts

    band = [
        [
            int(a),
            float(round((h - low) / scale, 2)),
            float(round(low / scale, 2)),
            float(round(h / scale, 2)),
        ]
        for a, low, h in zip(t, lo, hi, strict=True)
    ]
    return [
        charts.Line(f"{arm}_lo", "", unit, 0, color, charts._pts(t, lo / scale, 1)),  # noqa: SLF001
        charts.Line(f"{arm}_band", name, unit, 0, color, band, band=True),
    ]


def figure(
    bands: Bands, metric: str, start_year: int, base: str, stamp: str, filename: str
) -> dict:
    """Bands (10th-90th percentile) and medians of both arms, as an ECharts option; with
    parameter draws a lighter band of the runs with seeds and parameters under each."""
    from viz import charts

    label, unit = METRICS[metric]
    t = charts.month_times(start_year, bands.months)
    lines = []
    scale = 1e6 if unit == "¥" else 1.0
    shown_unit = "¥ million" if unit == "¥" else unit
    seeds_only = ", seeds only" if bands.with_params else ""
    if bands.with_params:  # the wider bands first, underneath
        for arm, name, color in (
            ("current_params", "Your settings", "#90caf9"),
            ("baseline_params", "Baseline (preset)", "#bdbdbd"),
        ):
            lo, _, hi = bands.quantiles(arm, metric)
            label_ = f"{name}: 8 in 10 runs, seeds and parameters"
            lines += _band(arm, label_, color, lo, hi, t, scale, shown_unit)
    for arm, name, color in (
        ("current", "Your settings", "#1565c0"),
        ("baseline", "Baseline (preset)", "#757575"),
    ):
        lo, mid, hi = bands.quantiles(arm, metric)
        label_ = f"{name}: 8 in 10 runs{seeds_only}"
        lines += _band(arm, label_, color, lo, hi, t, scale, shown_unit)
        lines.append(
            charts.Line(
                f"{arm}_mid",
                f"{name}: median",
                shown_unit,
                0,
                color,
                charts._pts(t, mid / scale, 1),  # noqa: SLF001
                width=3.0,
                dashed=arm == "baseline",
            )
        )
    opt = charts.figure("alive", lines, base, stamp, filename)
    what = f"{len(bands.seeds)} seeds"
    if bands.with_params:
        what += f" (+ {len(bands.seeds)} parameter draws)"
    sub = bands.source if bands.with_params and bands.source else None
    opt["title"] = charts.title(f"{label}: {what}, your settings vs baseline", sub)
    if sub:  # room for the subtitle above the axis name
        opt["grid"]["top"] = opt["grid"].get("top", 52) + 16
    opt["yAxis"]["name"] = "¥ million" if unit == "¥" else unit
    return opt
