"""Several seeds in the background: bands for the current settings and for the baseline.

Runs go to worker processes (the page's server process stays free to answer the browser), one
task per run, so progress is counted run by run and Cancel stops the workers at once. Seeds are
common to both arms (run *i* of your settings and run *i* of the baseline share a seed), so the
difference between the arms is measured run by run, not as a difference of two noisy averages.
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


def run_one(scenario: Scenario, seed: int, months: int) -> dict[str, list[float]]:
    """One run (in a worker process): the metrics summed over regions, by month."""
    model = AIEcosystem(scenario, rng=seed)
    for _ in range(months):
        model.step()
    k = model.kpis()
    totals = k.groupby("month")[list(METRICS)].sum()
    return {m: totals[m].astype(float).tolist() for m in METRICS}


@dataclass
class Bands:
    months: int
    seeds: list[int]
    current: dict[str, np.ndarray] = field(default_factory=dict)  # metric -> (runs, months)
    baseline: dict[str, np.ndarray] = field(default_factory=dict)

    def quantiles(self, arm: str, metric: str, q=(0.1, 0.5, 0.9)) -> np.ndarray:
        data = (self.current if arm == "current" else self.baseline)[metric]
        return np.quantile(data, q, axis=0)

    def difference(self, metric: str) -> tuple[float, float, float]:
        """Run-by-run difference at the last month: (mean, 10th, 90th percentile)."""
        d = self.current[metric][:, -1] - self.baseline[metric][:, -1]
        return float(d.mean()), float(np.quantile(d, 0.1)), float(np.quantile(d, 0.9))


class SeedJob:
    """A background batch of runs with progress and cancel (thread-safe)."""

    def __init__(
        self, current: Scenario, baseline: Scenario, seeds: list[int], months: int, workers: int = 2
    ):
        self.current, self.baseline = current, baseline
        self.seeds, self.months, self.workers = list(seeds), int(months), workers
        self.done = 0
        self.total = 2 * len(self.seeds)
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
        bands = Bands(self.months, self.seeds)
        for arm, target in (("current", bands.current), ("baseline", bands.baseline)):
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


def figure(
    bands: Bands, metric: str, start_year: int, base: str, stamp: str, filename: str
) -> dict:
    """Bands (10th-90th percentile) and medians of both arms, as an ECharts option."""
    from viz import charts

    label, unit = METRICS[metric]
    t = charts.month_times(start_year, bands.months)
    lines = []
    for arm, name, color in (
        ("current", "Your settings", "#1565c0"),
        ("baseline", "Baseline (preset)", "#757575"),
    ):
        lo, mid, hi = bands.quantiles(arm, metric)
        scale = 1e6 if unit == "¥" else 1.0
        shown_unit = "¥ million" if unit == "¥" else unit
        lines.append(
            charts.Line(f"{arm}_lo", "", shown_unit, 0, color, charts._pts(t, lo / scale, 1))
        )  # noqa: SLF001
        band = [
            [
                int(a),
                float(round((h - low) / scale, 2)),
                float(round(low / scale, 2)),
                float(round(h / scale, 2)),
            ]
            for a, low, h in zip(t, lo, hi, strict=True)
        ]
        lines.append(
            charts.Line(
                f"{arm}_band", f"{name}: 8 in 10 runs", shown_unit, 0, color, band, band=True
            )
        )
        lines.append(
            charts.Line(
                f"{arm}_mid",
                f"{name}: median",
                shown_unit,
                0,
                color,
                charts._pts(t, mid / scale, 1),
                width=3.0,  # noqa: SLF001
                dashed=arm == "baseline",
            )
        )
    opt = charts.figure("alive", lines, base, stamp, filename)
    opt["title"]["text"] = f"{label}: {len(bands.seeds)} seeds, your settings vs baseline"
    opt["yAxis"]["name"] = "¥ million" if unit == "¥" else unit
    return opt
