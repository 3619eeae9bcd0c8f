"""The held-out validation patterns (docs/validation.md) at the simulations of a calibration store
nearest its observed targets: a rejection-ABC posterior with every target weighted by its band
(``experiments.calibrate.nearest_simulations``, as ``aieco calibrate … --summary`` prints), to
read the neural posterior's predictions against when no simulation meets every target
(docs/calibration-method.md, "Targets met together").

Each of the K nearest parameter sets θ of the store is run again for ``--years`` with every seed
of ``--seeds`` (the store's own runs are 7 years; the patterns need 10), on the spec's scenario,
and the city-role patterns of ``experiments.validation`` are measured on each run. Run it with
the model revision that built the store (the runs use the code on ``PYTHONPATH``).

    python experiments/examples/nearest_validation.py STORE [--spec hangzhou] [--k 40] \\
        [--seeds 1,2] [--years 10] [--workers 2] [--csv FILE]

Prints, per pattern with a band, the mean, the 5–95% range over runs and the share of runs in
the band; ``--csv`` writes one row per run (θ and every value).
"""

from __future__ import annotations

import argparse
import copy
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np
import pandas as pd

from ecosystem.outputs import write_csv
from ecosystem.run import run_scenario
from ecosystem.scenario import apply_overrides, scenario_from_dict
from experiments.calibrate import load_spec, nearest_simulations, read_store
from experiments.validation import CHECKS, CITY, RunTables, values


def nearest(store: Path, spec_name: str, k: int) -> tuple[pd.DataFrame, dict[str, str], dict]:
    """The ``k`` ok simulations of ``store`` nearest the spec's observed targets (nearest first),
    the parameters' scenario paths and the spec's scenario document."""
    spec = load_spec(spec_name)
    rows = nearest_simulations(read_store(store)[0], spec.describe(), k)
    return rows, {p.name: p.path for p in spec.priors}, spec.base_document


def scenario_at(document: dict, overrides: dict):
    """The spec's scenario with one θ set (as the store's runs set it)."""
    return scenario_from_dict(apply_overrides(copy.deepcopy(document), overrides))


def run_one(task: tuple[dict, dict, int, int]) -> dict:
    """One run at one θ: its city-role pattern values."""
    document, overrides, seed, months = task
    result = run_scenario(scenario_at(document, overrides), seed=seed, months=months)
    return values(RunTables.from_result(result), CITY)


def measure(
    store: Path, spec_name: str, k: int, seeds: list[int], years: int, workers: int = 1
) -> pd.DataFrame:
    """One row per (nearest θ, seed): the θ, the store's draw and every city-role value."""
    rows, paths, scenario = nearest(store, spec_name, k)
    tasks, keys = [], []
    for _, row in rows.iterrows():
        overrides = {paths[n]: float(row[n]) for n in paths}
        for seed in seeds:
            tasks.append((scenario, overrides, seed, 12 * years))
            keys.append({"draw": int(row["draw"]), "seed": seed, **{n: row[n] for n in paths}})
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            measured = list(pool.map(run_one, tasks))
    else:
        measured = [run_one(t) for t in tasks]
    return pd.DataFrame([{**key, **v} for key, v in zip(keys, measured, strict=True)])


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per pattern with a band: mean, 5–95% over runs, share of runs inside the band."""
    out = []
    for c in CHECKS:
        if c.key not in table or c.band is None:
            continue
        v = table[c.key].dropna()
        lo, hi = (
            (-np.inf if c.band[0] is None else c.band[0]),
            (np.inf if c.band[1] is None else c.band[1]),
        )
        out.append(
            {
                "pattern": c.key,
                "band": f"[{c.band[0]}, {c.band[1]}]",
                "runs": len(v),
                "mean": v.mean(),
                "p05": v.quantile(0.05) if len(v) else np.nan,
                "p95": v.quantile(0.95) if len(v) else np.nan,
                "in_band": ((v >= lo) & (v <= hi)).mean() if len(v) else np.nan,
            }
        )
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("store", type=Path, help="a calibration store (aieco calibrate … --out DIR)")
    ap.add_argument("--spec", default="hangzhou", help="its calibration spec (default hangzhou)")
    ap.add_argument("--k", type=int, default=40, help="nearest simulations (default 40)")
    ap.add_argument("--seeds", default="1,2", help="seeds per θ (default 1,2)")
    ap.add_argument("--years", type=int, default=10, help="horizon (default 10)")
    ap.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    ap.add_argument("--csv", type=Path, help="write one row per run here")
    a = ap.parse_args(argv)
    seeds = [int(s) for s in a.seeds.split(",")]
    table = measure(a.store, a.spec, a.k, seeds, a.years, a.workers)
    if a.csv:
        write_csv(table, a.csv)
    print(f"{a.store}: {a.k} nearest θ × seeds {seeds}, {a.years} years, spec {a.spec}")
    print(summary(table).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
