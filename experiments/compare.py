"""``aieco compare``: the cities side by side, and one city's policies tried in another.

    aieco compare                       # every single-city preset, 5 replicates, 10 years
    aieco compare hangzhou chengdu --years 5 --replicates 10 --out results/cities
    aieco compare chengdu wenzhou --policy-from hangzhou   # would Hangzhou's policies work there?

Each named preset is one city region with the four western hubs. ``china`` (all cities in one
model, with migration between them) and other multi-city scenarios are rejected: their cities are
not separate experiments, and a comparison of cities inside one national run is a different
question (use ``aieco run china``).

Replicates use common random numbers: seeds come from ``SeedSequence(--seed).spawn(R)``
(``experiments.spec.replicate_seeds``), the same seeds for every city, so the table's differences
are not noise from different random streams. Runs go through ``experiments.runner.run_one`` in this
process (``--workers 1``) or on local processes; results are keyed by city and replicate, so the
table does not depend on the number of workers.

With ``--policy-from SRC`` each named city runs twice: with its own policy and with SRC's whole
``policy`` table in its place (:func:`transplant_policy`); SRC itself runs once, with its own.
Budgets move as they are (yuan a year, not scaled to the target's size): the question is "this
package, as written, in that city".

Outputs in DIR (default ``results/compare``):

* ``comparison.parquet`` / ``comparison.csv``: one row per city (and per transplant); after
  ``run_id`` and ``seed`` (the root seed) comes the preset name, ``label`` says e.g.
  ``chengdu (policy: hangzhou)``;
* ``trajectories.parquet``: startups alive by month for every run;
* ``trajectories.png``: median startups alive with 5–95% bands, the target line marked;
* ``manifest.json``: presets, seeds, horizon, command line, versions.

Every column is described in ``docs/outputs.md``. The folder is written through
``ecosystem.outputs``: a non-empty folder aieco did not write is refused unless ``--overwrite``.

Per-city outcomes (city = the preset's region of kind ``city``, west = its ``hub`` regions):
startups alive at years 1, 5 and 10 (mean and 5th–95th percentile across replicates); the first
month with ``startups_alive >= meta.target_startups`` (mean over the replicates that reach it, and
the share that do; ``month_target_reached_mean`` counts months from January of the start year, from
0, and ``target_date`` is it as YYYY-MM); founders by origin, voucher spending (sums over the
horizon); compute utilisation east and west (GPU-hours sold / capacity over the last 12 months);
talent net inflow per year (share of the city's AI workforce). Every outcome is the registry's
(``ecosystem.outcomes``), under its registry name; the table reports means over replicates.
Exit codes: 0 done, 1 some runs failed, 2 bad input
(one line ``error: ...`` on stderr, nothing written), 130 interrupted.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecosystem import outcomes
from ecosystem.outcomes import ORIGINS
from ecosystem.outputs import atomic_file, check_out_dir, write_dir, write_parquet
from ecosystem.scenario import (
    Scenario,
    ScenarioError,
    is_annotated,
    load_document,
    preset_names,
    scenario_from_dict,
    strip_provenance,
)
from ecosystem.seeds import seed_problem

EXIT_OK, EXIT_FAILED_RUNS, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_OUT = Path("results") / "compare"
DEFAULT_REPLICATES = 5
YEARS_REPORTED = (1, 5, 10)
KPI_COLUMNS = [
    "startups_alive",
    *[f"founders_{o}" for o in ORIGINS],
    "voucher_spent_yuan",
    "talent_net_inflow",
    "dc_sold_gpu_h",
    "dc_capacity_gpu_h",
]


# --------------------------------------------------------------------------------------------
# Scenarios: single-city presets and policy transplants
# --------------------------------------------------------------------------------------------
def _region_kinds(doc: dict) -> dict[str, str]:
    regions, _ = strip_provenance(doc.get("regions", {}))
    return {rid: str(r.get("kind", "city")) for rid, r in regions.items() if isinstance(r, dict)}


def city_of(doc: dict, preset: str) -> str:
    """The one region of kind ``city`` in a preset's document; ScenarioError if not exactly one."""
    cities = [rid for rid, kind in _region_kinds(doc).items() if kind == "city"]
    if len(cities) != 1:
        raise ScenarioError(
            "compare",
            preset,
            f"has {len(cities)} city regions; compare runs single-city presets "
            f"({', '.join(city_presets())})",
        )
    return cities[0]


def hubs_of(doc: dict) -> list[str]:
    return [rid for rid, kind in _region_kinds(doc).items() if kind == "hub"]


def city_presets() -> list[str]:
    """Shipped presets with exactly one city region (all but ``china``), alphabetically."""
    out = []
    for name in preset_names():
        kinds = _region_kinds(load_document(name))
        if sum(k == "city" for k in kinds.values()) == 1:
            out.append(name)
    return out


def _preset_document(name: str) -> dict:
    if name not in preset_names():
        raise ScenarioError(
            "compare", name, f"unknown preset; allowed: {', '.join(city_presets())}"
        )
    return load_document(name)


def _annotate_transplant(node, note: str):
    """Copy of a policy table with every leaf's provenance prefixed by the transplant note."""
    if is_annotated(node):
        node = dict(node)
        if "source" in node:
            node["source"] = f"{note}: {node['source']}"
        elif "assumption" in node:
            node["assumption"] = f"{note}: {node['assumption']}"
        else:
            node["source"] = note
        return node
    if isinstance(node, dict):
        return {k: _annotate_transplant(v, note) for k, v in node.items()}
    return {"value": copy.deepcopy(node), "source": note}


def transplant_document(target_preset: str, source_preset: str) -> dict:
    """The target preset's annotated document with its city's ``policy`` table replaced by the
    source preset city's (provenance kept, each leaf noting the transplant)."""
    target = _preset_document(target_preset)
    source = _preset_document(source_preset)
    tcity, scity = city_of(target, target_preset), city_of(source, source_preset)
    note = f"policy transplanted from {source_preset} (regions.{scity}.policy)"
    policy = copy.deepcopy(source["regions"][scity].get("policy", {}))
    doc = copy.deepcopy(target)
    doc["regions"][tcity]["policy"] = _annotate_transplant(policy, note)
    meta = doc.setdefault("meta", {})
    desc = meta.get("description", "")
    desc = desc["value"] if is_annotated(desc) else desc
    meta["description"] = f"{desc} With {source_preset}'s policy package ({note}).".strip()
    return doc


def transplant_policy(target_preset: str, source_preset: str) -> Scenario:
    """``target_preset`` with its city's whole policy table taken from ``source_preset``'s city.

    Only ``regions.<target city>.policy`` (and the description) changes; every other value,
    hubs included, is the target's. Raises ScenarioError (one line) for unknown or multi-city
    presets.
    """
    return scenario_from_dict(transplant_document(target_preset, source_preset))


# --------------------------------------------------------------------------------------------
# Cases and runs
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One row of the comparison: a preset, optionally with another preset's policy."""

    preset: str
    policy_from: str  # the preset whose policy it runs (itself when its own)
    city: str
    hubs: tuple[str, ...]
    document: dict = field(repr=False, hash=False, compare=False)
    start_year: int = 2025
    target: int = 5000

    @property
    def label(self) -> str:
        return (
            self.preset
            if self.policy_from == self.preset
            else f"{self.preset} (policy: {self.policy_from})"
        )


def _with_years(doc: dict, years: int | None) -> dict:
    if years is None:
        return doc
    doc = copy.deepcopy(doc)
    doc.setdefault("meta", {})["years"] = {"value": int(years), "source": "aieco compare --years"}
    return doc


def build_cases(
    presets: list[str] | None = None, policy_from: str | None = None, years: int | None = None
) -> list[Case]:
    """Validate every scenario before any run; one case per preset (two with ``policy_from``)."""
    names = list(dict.fromkeys(presets)) if presets else city_presets()
    if policy_from is not None:
        city_of(_preset_document(policy_from), policy_from)
    cases = []
    for name in names:
        own = _preset_document(name)
        variants = [(name, own)]
        if policy_from is not None and policy_from != name:
            variants.append((policy_from, transplant_document(name, policy_from)))
        for src, doc in variants:
            doc = _with_years(doc, years)
            scenario = scenario_from_dict(doc)  # raises ScenarioError on a bad scenario
            cases.append(
                Case(
                    name,
                    src,
                    city_of(doc, name),
                    tuple(hubs_of(doc)),
                    doc,
                    scenario.meta.start_year,
                    scenario.meta.target_startups,
                )
            )
    return cases


#: Registry outcomes (``ecosystem.outcomes``) a comparison row reports, as means over replicates.
MEAN_OUTCOMES = (
    *[f"founders_{o}_total" for o in ORIGINS],
    "voucher_spent_yuan_total",
    "east_utilization_end",
    "west_utilization_end",
    "talent_net_inflow_per_year",
)


def run_outcomes(kpis: pd.DataFrame, case: Case) -> tuple[dict[str, float], pd.Series]:
    """One run's outcomes from the registry (the case's city and hubs) and its startups-alive
    trajectory (by month)."""
    data = outcomes.RunData(
        kpis=kpis,
        cities=[case.city],
        hubs=list(case.hubs),
        target_startups=case.target,
        months=int(kpis["month"].max()) + 1,
    )
    names = [
        *(f"startups_alive_y{y}" for y in YEARS_REPORTED),
        "month_target_reached",
        *MEAN_OUTCOMES,
    ]
    alive = data.monthly("city")["startups_alive"].astype(float)
    return outcomes.compute(data, names), alive


def _month_date(start_year: int, month: float) -> str | None:
    if not np.isfinite(month):
        return None
    m = int(round(month))
    return f"{start_year + m // 12}-{m % 12 + 1:02d}"


def aggregate(
    case: Case,
    runs: list[dict[str, float]],
    replicates: int,
    years: int,
    root_seed: int,
    run_id: str = "",
) -> dict:
    """One table row from the outcomes of a case's successful runs."""
    df = pd.DataFrame(runs)
    row: dict = {
        "run_id": run_id,
        "seed": root_seed,
        "preset": case.preset,
        "label": case.label,
        "policy_from": case.policy_from,
        "city": case.city,
        "replicates": replicates,
        "runs_ok": len(df),
        "years": years,
    }

    def col(name: str) -> np.ndarray:
        return df[name].to_numpy(dtype=float) if name in df else np.array([], dtype=float)

    for y in YEARS_REPORTED:
        v = col(f"startups_alive_y{y}")
        v = v[np.isfinite(v)]
        row[f"startups_alive_y{y}_mean"] = float(v.mean()) if len(v) else np.nan
        row[f"startups_alive_y{y}_p5"] = float(np.percentile(v, 5)) if len(v) else np.nan
        row[f"startups_alive_y{y}_p95"] = float(np.percentile(v, 95)) if len(v) else np.nan
    months = col("month_target_reached")
    reached = months[np.isfinite(months)]
    row["target_startups"] = case.target
    row["month_target_reached_mean"] = float(reached.mean()) if len(reached) else np.nan
    row["target_date"] = _month_date(case.start_year, row["month_target_reached_mean"])
    row["target_reached_share"] = float(len(reached) / len(months)) if len(months) else np.nan
    for name in MEAN_OUTCOMES:
        v = col(name)
        v = v[np.isfinite(v)]
        row[name] = float(v.mean()) if len(v) else np.nan
    return row


@dataclass
class Comparison:
    table: pd.DataFrame
    trajectories: pd.DataFrame
    cases: list[Case]
    seeds: list[int]
    years: int
    failures: list[tuple[str, int, str]]
    wall_s: float


def run_comparison(
    cases: list[Case],
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    workers: int | None = 1,
    progress: bool = False,
) -> Comparison:
    """Run every case for every replicate seed; one table row per case."""
    from experiments.runner import run_one
    from experiments.spec import RunTask, replicate_seeds

    seeds = replicate_seeds(seed, replicates)
    tasks = []
    for i, case in enumerate(cases):
        months = scenario_months(case)
        for r, s in enumerate(seeds):
            tasks.append(
                RunTask(
                    run_id=f"c{i:03d}-r{r:03d}",
                    point=i,
                    replicate=r,
                    variant=case.label,
                    seed=s,
                    params={},
                    overrides={},
                    months=months,
                )
            )
    workers = workers if workers is not None else (os.cpu_count() or 1)
    t0 = time.perf_counter()
    records: dict[tuple[int, int], dict] = {}
    bar = _progress(len(tasks), progress)
    try:
        if workers <= 1 or len(tasks) <= 1:
            for t in tasks:
                bar.set_postfix_str(t.variant, refresh=False)
                records[(t.point, t.replicate)] = run_one(t, cases[t.point].document, KPI_COLUMNS)
                bar.update(1)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx) as pool:
                futures = {
                    pool.submit(run_one, t, cases[t.point].document, KPI_COLUMNS): t for t in tasks
                }
                try:
                    for fut in as_completed(futures):
                        t = futures[fut]
                        try:
                            records[(t.point, t.replicate)] = fut.result()
                        except Exception as exc:  # noqa: BLE001 - a worker died; record the run as failed
                            records[(t.point, t.replicate)] = {
                                "status": "failed",
                                "kpis": None,
                                "error": f"{type(exc).__name__}: {exc}",
                            }
                        bar.update(1)
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
    finally:
        bar.close()

    rows, trajectories, failures = [], [], []
    years = scenario_months(cases[0]) // 12 if cases else 0
    rid = comparison_id(cases, seeds)
    for i, case in enumerate(cases):
        outcomes = []
        for r, s in enumerate(seeds):
            rec = records[(i, r)]
            if rec.get("status") != "ok":
                failures.append((case.label, s, str(rec.get("error", ""))))
                continue
            out, alive = run_outcomes(rec["kpis"], case)
            outcomes.append(out)
            trajectories.append(
                pd.DataFrame(
                    {
                        "run_id": f"{rid}-c{i:03d}-r{r:03d}",
                        "seed": s,
                        "preset": case.preset,
                        "label": case.label,
                        "replicate": r,
                        "month": alive.index.to_numpy(),
                        "date": _first_days(case.start_year, alive.index.to_numpy()),
                        "startups_alive": alive.to_numpy(),
                    }
                )
            )
        rows.append(aggregate(case, outcomes, replicates, scenario_months(case) // 12, seed, rid))
    table = pd.DataFrame(rows)
    traj = (
        pd.concat(trajectories, ignore_index=True)
        if trajectories
        else pd.DataFrame(
            columns=[
                "run_id",
                "seed",
                "preset",
                "label",
                "replicate",
                "month",
                "date",
                "startups_alive",
            ]
        )
    )
    return Comparison(table, traj, cases, seeds, years, failures, time.perf_counter() - t0)


def comparison_id(cases: list[Case], seeds: list[int]) -> str:
    """``compare-<hash>`` of what was compared: documents (hence presets and horizon) and seeds."""
    key = json.dumps(
        [[c.label, c.document] for c in cases] + [list(seeds)], sort_keys=True, default=str
    )
    return "compare-" + hashlib.sha256(key.encode()).hexdigest()[:10]


def _first_days(start_year: int, months: np.ndarray) -> np.ndarray:
    m = np.asarray(months, dtype=np.int64)
    return np.array(
        [dt.date(start_year + int(x) // 12, int(x) % 12 + 1, 1) for x in m], dtype=object
    )


def scenario_months(case: Case) -> int:
    meta, _ = strip_provenance(case.document.get("meta", {}))
    return int(meta.get("years", 10)) * 12


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc="compare",
        unit="run",
        disable=not enabled or total == 0,
        file=sys.stderr,
        dynamic_ncols=True,
    )


# --------------------------------------------------------------------------------------------
# Output: the printed table, files, figure
# --------------------------------------------------------------------------------------------
def _interval(row: pd.Series, y: int) -> str:
    m = row[f"startups_alive_y{y}_mean"]
    if not np.isfinite(m):
        return "–"
    lo, hi = row[f"startups_alive_y{y}_p5"], row[f"startups_alive_y{y}_p95"]
    return f"{m:,.0f} [{lo:,.0f}–{hi:,.0f}]"


def _reached(row: pd.Series) -> str:
    share = row["target_reached_share"]
    if not np.isfinite(share):
        return "–"
    n = int(row["runs_ok"])
    k = int(round(share * n))
    if k == 0:
        return f"no (0/{n})"
    return row["target_date"] if k == n else f"{row['target_date']} ({k}/{n})"


def _pct(v: float) -> str:
    return f"{v:.0%}" if np.isfinite(v) else "–"


def format_table(table: pd.DataFrame) -> str:
    """Fixed-width text table, one row per city (and transplant)."""
    if table.empty:
        return "(no rows)"
    targets = table["target_startups"].unique()
    reach = f"{int(targets[0]):,} reached" if len(targets) == 1 else "target reached"

    def left(col: pd.Series) -> pd.Series:
        return col.astype(str).str.ljust(int(col.astype(str).str.len().max()))

    show = pd.DataFrame(
        {
            "preset": left(table["preset"]),
            "policy": left(table["policy_from"]),
            **{f"alive y{y} [90%]": table.apply(_interval, axis=1, y=y) for y in YEARS_REPORTED},
            reach: table.apply(_reached, axis=1),
            "founders big/uni/start/other": table.apply(
                lambda r: "/".join(
                    f"{r[f'founders_{o}_total']:,.0f}"
                    if np.isfinite(r[f"founders_{o}_total"])
                    else "–"
                    for o in ORIGINS
                ),
                axis=1,
            ),
            "vouchers ¥m": table["voucher_spent_yuan_total"].map(
                lambda v: f"{v / 1e6:,.1f}" if np.isfinite(v) else "–"
            ),
            "util east": table["east_utilization_end"].map(_pct),
            "util west": table["west_utilization_end"].map(_pct),
            "talent net/yr": table["talent_net_inflow_per_year"].map(
                lambda v: f"{v:+.2%}" if np.isfinite(v) else "–"
            ),
        }
    )
    with pd.option_context(
        "display.width", 400, "display.max_columns", 50, "display.max_colwidth", 60
    ):
        return show.to_string(index=False)


def plot_trajectories(traj: pd.DataFrame, cases: list[Case], path: Path) -> Path:
    """Median startups alive per city with a 5–95% band; the target as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 6.5), dpi=120)
    presets = list(dict.fromkeys(c.preset for c in cases))
    cmap = plt.get_cmap("tab10" if len(presets) <= 10 else "tab20")
    colour = {p: cmap(i % cmap.N) for i, p in enumerate(presets)}
    ends: list = []  # (final median, line): the legend lists cities top to bottom as they end
    for case in cases:
        t = traj[traj["label"] == case.label]
        if t.empty:
            continue
        g = t.assign(year=case.start_year + t["month"] / 12).groupby("year")["startups_alive"]
        med, lo, hi = g.median(), g.quantile(0.05), g.quantile(0.95)
        own = case.policy_from == case.preset
        ax.fill_between(
            med.index,
            lo.to_numpy(),
            hi.to_numpy(),
            color=colour[case.preset],
            alpha=0.15 if own else 0.08,
            linewidth=0,
        )
        (line,) = ax.plot(
            med.index,
            med.to_numpy(),
            color=colour[case.preset],
            linewidth=1.8,
            linestyle="-" if own else "--",
            label=case.label,
        )
        ends.append((float(med.iloc[-1]), line))
    target = cases[0].target if cases else 5000
    ax.axhline(target, color="black", linestyle=":", linewidth=1.2)
    ax.annotate(
        f"{target:,} startups (target)",
        xy=(0.01, target),
        xycoords=("axes fraction", "data"),
        xytext=(0, 4),
        textcoords="offset points",
        fontsize=9,
    )
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    start = cases[0].start_year if cases else 2025
    end = start + float(traj["month"].max()) / 12 if len(traj) else start + 1
    ax.set_xlim(start, end + 1 / 12)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("year")
    ax.set_ylabel("AI startups alive (log scale)")
    reps = int(traj.groupby("label")["replicate"].nunique().max()) if len(traj) else 0
    ax.set_title(
        f"Startups alive by city: median and 5–95% band over {reps} replicates"
        + (
            "; dashed = transplanted policy"
            if any(c.policy_from != c.preset for c in cases)
            else ""
        )
    )
    ax.grid(True, which="major", alpha=0.3)
    ends.sort(key=lambda e: -e[0])
    ax.legend(
        [e[1] for e in ends],
        [e[1].get_label() for e in ends],
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        fontsize=9,
        frameon=False,
    )
    fig.tight_layout()
    try:
        with atomic_file(path) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return path


def write_outputs(result: Comparison, out: Path, overwrite: bool = False) -> list[Path]:
    """comparison.parquet/.csv, trajectories.parquet/.png and manifest.json in ``out``, through
    ``ecosystem.outputs.write_dir`` (a temporary folder moved into place; a folder aieco did not
    write is refused unless ``overwrite``)."""
    from ecosystem.run import git_revision, package_versions

    names = [
        "comparison.parquet",
        "comparison.csv",
        "trajectories.parquet",
        "trajectories.png",
        "manifest.json",
    ]
    table = result.table
    manifest = {
        "aieco_output": "compare",
        "run_id": str(table["run_id"].iloc[0]) if len(table) else None,
        "command": list(sys.argv),
        "rows": [
            {
                "preset": c.preset,
                "label": c.label,
                "policy_from": c.policy_from,
                "city": c.city,
                "hubs": list(c.hubs),
            }
            for c in result.cases
        ],
        "years": result.years,
        "root_seed": int(table["seed"].iloc[0]) if len(table) else None,
        "seeds": result.seeds,
        "failures": [{"label": lab, "seed": s, "error": e} for lab, s, e in result.failures],
        "wall_s": result.wall_s,
        "versions": package_versions(),
        "git_revision": git_revision(),
    }

    def fill(tmp: Path) -> None:
        write_parquet(_arrow(table, dates=()), tmp / names[0])
        table.to_csv(tmp / names[1], index=False)
        write_parquet(_arrow(result.trajectories, dates=("date",)), tmp / names[2])
        plot_trajectories(result.trajectories, result.cases, tmp / names[3])
        text = json.dumps(manifest, indent=2, default=str)
        (tmp / names[4]).write_text(text + "\n", encoding="utf-8")

    write_dir(out, fill, kind="compare", overwrite=overwrite)
    return [Path(out) / n for n in names]


def _arrow(df: pd.DataFrame, dates: tuple[str, ...]):
    """A comparison table as Arrow: NaN and None as NULL, ``dates`` as calendar days."""
    import pyarrow as pa

    cols = {}
    for c in df.columns:
        if c in dates:
            cols[c] = pa.array(list(df[c]), type=pa.date32())
        elif df[c].dtype == object:
            cols[c] = pa.array(
                [None if v is None or v != v else v for v in df[c]], type=pa.string()
            )
        else:
            cols[c] = pa.array(df[c], from_pandas=True)
    return pa.table(cols)


def compare(
    presets: list[str] | None = None,
    years: int | None = None,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    out: str | Path | None = DEFAULT_OUT,
    policy_from: str | None = None,
    workers: int | None = 1,
    progress: bool = False,
    overwrite: bool = False,
) -> Comparison:
    """Validate, run and (with ``out``) write a comparison. Raises ScenarioError on bad input
    (an unusable ``out`` included, before any run)."""
    check_options(replicates, years, seed, workers, out, overwrite)
    cases = build_cases(presets, policy_from, years)
    result = run_comparison(cases, replicates, seed, workers, progress)
    if out is not None:
        write_outputs(result, Path(out), overwrite)
    return result


def check_options(
    replicates: int,
    years: int | None,
    seed: int,
    workers: int | None,
    out: str | Path | None,
    overwrite: bool = False,
) -> None:
    if replicates < 1:
        raise ScenarioError("--replicates", replicates, "must be >= 1")
    if years is not None and not 1 <= years <= 50:
        raise ScenarioError("--years", years, "must be between 1 and 50")
    if problem := seed_problem(seed):
        raise ScenarioError("--seed", seed, problem)
    if workers is not None and workers < 1:
        raise ScenarioError("--workers", workers, "must be >= 1")
    if out is not None:
        check_out_dir(out, overwrite=overwrite)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def register(subparsers) -> None:
    """Add ``compare`` to an argparse subparsers object."""
    p = subparsers.add_parser(
        "compare",
        help="run the cities side by side (replicates, common seeds) and tabulate them",
        description="Run single-city presets (all of them when none is named) with common random "
        "numbers and "
        "print one row per city: startups alive at years 1, 5, 10 with 90% intervals, when the "
        "target is reached, founders by origin, voucher spend, compute utilisation east and west, "
        "talent net inflow. Writes comparison.parquet, comparison.csv and trajectories.png to DIR. "
        "--policy-from SRC adds, for each city, a run with SRC's whole policy table.",
    )
    p.add_argument(
        "presets", nargs="*", metavar="PRESET", help="single-city presets (default: all but china)"
    )
    p.add_argument(
        "--years", type=int, metavar="N", help="horizon in years, 1–50 (default: the preset's)"
    )
    p.add_argument(
        "--replicates",
        type=int,
        default=DEFAULT_REPLICATES,
        metavar="R",
        help=f"runs per city, seeds spawned from --seed (default {DEFAULT_REPLICATES})",
    )
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument(
        "--policy-from", metavar="SRC", help="also run each city with preset SRC's policy table"
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        default=str(DEFAULT_OUT),
        help=f"output directory (default {DEFAULT_OUT})",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="local worker processes (default: all cores; 1 = in this process)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="write into a non-empty folder aieco did not write (only aieco's files are replaced)",
    )
    p.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    try:
        check_options(
            args.replicates, args.years, args.seed, args.workers, args.out, args.overwrite
        )
        cases = build_cases(args.presets or None, args.policy_from, args.years)
        result = run_comparison(
            cases, args.replicates, args.seed, args.workers, progress=not args.quiet
        )
        out = Path(args.out)
        write_outputs(result, out, args.overwrite)
    except ScenarioError as exc:
        print(f"error: {exc}".replace("\n", " "), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(format_table(result.table))
    print(
        f"\n{len(result.cases)} rows, {args.replicates} replicate(s), {result.years} years, "
        f"root seed {args.seed} "
        f"({result.wall_s:.1f} s); wrote {out}/comparison.parquet, comparison.csv, trajectories.png"
    )
    for label, s, err in result.failures[:5]:
        print(f"  failed {label} seed {s}: {err}", file=sys.stderr)
    if len(result.failures) > 5:
        print(f"  ... and {len(result.failures) - 5} more (see manifest.json)", file=sys.stderr)
    return EXIT_FAILED_RUNS if result.failures else EXIT_OK
