"""``aieco calibrate national``: stage C of the staged calibration, the national joint check
(design ``docs/design/causal-core.md`` §9.6; method ``docs/calibration-method.md``, "Stage C").

    aieco calibrate national --budget 200 --workers 2 --out results/calibrate_national
    aieco calibrate national --out results/calibrate_national --resume   # after an interruption

1. **Joint draws.** N draws of the national ``china`` preset's uncertain parameters, exactly as
   ``aieco compare --param-draws N`` draws them (``experiments.uncertainty.make_design``, spec
   ``hangzhou``, posterior ``preset``): θ_core from stage A's posterior row r; Beijing's,
   Shanghai's and Shenzhen's own inputs φ_c from their stage-B posterior sample with
   ``core_row`` r; the six uncalibrated cities' inputs from their documented ranges. That is the
   cut posterior A × Π_c B (with priors for the cities that have no observed quantity).
2. **One run per draw**, ``china`` for stage A's horizon (``hangzhou.toml``'s ``months``: 7
   years), seed of draw m = ``SeedSequence(ROOT_SEED, spawn_key=(SEED_STREAM, m))`` (an
   independent seed per draw, as the stores of stages A and B). The runs are a sweep
   (``experiments.runner``): one file per run written atomically as it finishes, a failed run
   recorded with its seed and error while the others go on, ``--resume`` after an interruption,
   local processes or a Dask scheduler. Each run returns only its national statistics
   (:func:`run_national_statistics`).
3. **Reweighting** (an importance / soft ABC step): each draw's weight is a kernel of the
   statistics NOT held out for validation. Today that is one: [S69]'s bound (Ningbo + Wenzhou) /
   Hangzhou startup revenue < 0.43 in year 1, as a one-sided Gaussian kernel in the log ratio
   (:func:`bound_kernel`, bandwidth :data:`BANDWIDTH`). The held-out pattern 5 of
   ``docs/validation.md`` (top-5 share of VC money [S39], Beijing's share [S113]), which the
   design once named for this step, is reported before and after reweighting as validation,
   never used to weight. The effective sample size (Kish) is reported; below :data:`MIN_ESS`
   the report says so.

Writes ``DIR/national.parquet`` (the stage-C posterior: one row per joint draw with its
parameters, seed, status, statistics, kernel value and normalised ``weight``; its record names
the model revision, the design hash, the stage-A posterior and the targets used), ``DIR/report.md``
and ``DIR/report.csv``. The file is a posterior in the format ``--posterior FILE`` reads, so
``aieco compare --param-draws D --posterior DIR/national.parquet`` draws from the reweighted
joint draws (opt-in: the default stays the staged posteriors; docs/calibration-method.md says
why).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ecosystem.scenario import ScenarioError, run_values
from experiments.calibrate import check_engine_options, file_sha256, given_flag, row_parameter
from experiments.parameters import RunTask, run_id
from experiments.spec import Experiment

NAME = "national"
SCENARIO = "china"
STAGE_A = "hangzhou"
ROOT_SEED = 20261211
DEFAULT_BUDGET = 200
#: Spawn-key stream of the run seeds (stores use 1, posterior predictive checks 2).
SEED_STREAM = 3
#: Below this effective sample size the design says stage C must be extended.
MIN_ESS = 50
LEVEL = 0.90
MEASURE = "experiments.calibrate_national:run_national_statistics"
#: Parameter recording which stage-A posterior row a joint draw took.
POSTERIOR_ROW = "posterior_row"
#: Bump when a statistic's definition changes (part of the design hash).
STATISTICS_VERSION = 1
FILES = ("national.parquet", "report.md", "report.csv")

#: [S69]: Hangzhou earns > 70% of Zhejiang's AI profits (2024), so the rest of Zhejiang, which
#: contains Ningbo and Wenzhou, earns < 0.3 / 0.7 ≈ 0.43 of Hangzhou's (design §9.1, derived).
BOUND = 0.3 / 0.7
#: Kernel bandwidth in the log ratio: a draw whose ratio is e^h ≈ 1.28 × the bound keeps
#: weight e^(-1/2) ≈ 0.61, at 1.65 × the bound 0.14. An assumption: profit shares are not
#: revenue shares, and the bound is for all of Zhejiang outside Hangzhou (a loose bound).
BANDWIDTH = 0.25
#: The cities whose inputs the [S69] bound speaks to (reported prior vs reweighted).
BOUND_CITIES = ("ningbo", "wenzhou")


@dataclass(frozen=True)
class NationalStatistic:
    name: str
    role: str  # "weights" (the kernel uses it), "held out" (validation), "reported"
    meaning: str
    source: str
    target: str


STATISTICS = (
    NationalStatistic(
        "zhejiang_revenue_ratio_y1",
        "weights",
        "(Ningbo + Wenzhou) / Hangzhou startup revenue, year 1 (the run's first 12 months)",
        "[S69] Hangzhou > 70% of Zhejiang's AI profits, 2024 (derived bound)",
        f"< {BOUND:.2f}",
    ),
    NationalStatistic(
        "ningbo_revenue_ratio_y1",
        "reported",
        "Ningbo / Hangzhou startup revenue, year 1",
        "part of the [S69] bound",
        f"< {BOUND:.2f}",
    ),
    NationalStatistic(
        "wenzhou_revenue_ratio_y1",
        "reported",
        "Wenzhou / Hangzhou startup revenue, year 1",
        "part of the [S69] bound",
        f"< {BOUND:.2f}",
    ),
    NationalStatistic(
        "zhejiang_revenue_ratio_end",
        "reported",
        "(Ningbo + Wenzhou) / Hangzhou startup revenue, the run's last 12 months",
        "[S69] is a 2024 figure: reported only",
        "–",
    ),
    NationalStatistic(
        "vc_top5_share",
        "held out",
        "top-5 cities' share of VC raised, last 12 months (validation pattern 5a)",
        "87.8% top-5 regions [S39]",
        "≥ 75% (docs/validation.md)",
    ),
    NationalStatistic(
        "vc_beijing_share",
        "held out",
        "Beijing's share of VC raised, last 12 months (validation pattern 5b)",
        "53.7% [S113]",
        "≥ 35% (docs/validation.md)",
    ),
    NationalStatistic(
        "vc_top5_share_y1",
        "held out",
        "as 5a over year 1 (nearest the sources' 2024)",
        "87.8% top-5 regions [S39]",
        "≥ 75%",
    ),
    NationalStatistic(
        "vc_beijing_share_y1",
        "held out",
        "as 5b over year 1",
        "53.7% [S113]",
        "≥ 35%",
    ),
)
STATISTIC_NAMES = tuple(s.name for s in STATISTICS)
WEIGHTING = tuple(s.name for s in STATISTICS if s.role == "weights")


# --------------------------------------------------------------------------------------------
# One run's national statistics (on the process that ran it)
# --------------------------------------------------------------------------------------------
def _region_sums(kpis: pd.DataFrame, col: str, months: range) -> pd.Series:
    k = kpis[kpis["month"].isin(months)]
    return k.groupby(k["region"].astype(str))[col].sum().astype(float)


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def national_statistics(kpis: pd.DataFrame, cities: list[str], months: int) -> dict[str, float]:
    """The statistics of :data:`STATISTICS` from a run's monthly KPI table (``month``,
    ``region``, ``revenue_yuan``, ``vc_raised_yuan``); NaN where a run gives none (e.g. no
    revenue in Hangzhou, or a scenario without Ningbo)."""
    from experiments.validation import vc_concentration

    first = range(0, min(12, months))
    last = range(max(0, months - 12), months)
    y1 = _region_sums(kpis, "revenue_yuan", first)
    end = _region_sums(kpis, "revenue_yuan", last)

    def rev(s: pd.Series, city: str) -> float:
        return float(s.get(city, math.nan))

    out = {
        "zhejiang_revenue_ratio_y1": _ratio(
            rev(y1, "ningbo") + rev(y1, "wenzhou"), rev(y1, "hangzhou")
        ),
        "ningbo_revenue_ratio_y1": _ratio(rev(y1, "ningbo"), rev(y1, "hangzhou")),
        "wenzhou_revenue_ratio_y1": _ratio(rev(y1, "wenzhou"), rev(y1, "hangzhou")),
        "zhejiang_revenue_ratio_end": _ratio(
            rev(end, "ningbo") + rev(end, "wenzhou"), rev(end, "hangzhou")
        ),
    }
    out["vc_top5_share"], out["vc_beijing_share"] = vc_concentration(kpis, cities, months)
    out["vc_top5_share_y1"], out["vc_beijing_share_y1"] = vc_concentration(
        kpis, cities, min(12, months)
    )
    if "beijing" not in cities:
        out["vc_beijing_share"] = out["vc_beijing_share_y1"] = math.nan
    return {k: float(out[k]) for k in STATISTIC_NAMES}


def run_national_statistics(result, scenario) -> dict[str, float]:
    """``RunTask.measure``: the national statistics of one run."""
    cities = [k for k, r in scenario.regions.items() if r.kind == "city"]
    return national_statistics(result.kpis, cities, int(result.months))


# --------------------------------------------------------------------------------------------
# The reweighting (pure functions: tested on synthetic cases)
# --------------------------------------------------------------------------------------------
def bound_kernel(x, bound: float = BOUND, bandwidth: float = BANDWIDTH) -> np.ndarray:
    """Soft upper bound ``x < bound`` as a one-sided Gaussian kernel in log(x): 1 at or below
    the bound, exp(-½ (ln(x / bound) / bandwidth)²) above it, 0 where x is NaN (a draw whose
    run failed or gives no value carries no weight). ``bandwidth`` = 0 is ABC rejection."""
    x = np.asarray(x, dtype=float)
    if not bound > 0 or bandwidth < 0:
        raise ValueError("bound must be > 0 and bandwidth >= 0")
    w = np.zeros(x.shape)
    ok = np.isfinite(x)
    below = ok & (x <= bound)
    w[below] = 1.0
    above = ok & (x > bound)
    if bandwidth > 0:
        z = np.log(np.maximum(x[above], 1e-300) / bound) / bandwidth
        w[above] = np.exp(-0.5 * z * z)
    return w


def kish_ess(weights) -> float:
    """Kish's effective sample size (Σw)² / Σw² (0 when every weight is 0)."""
    w = np.asarray(weights, dtype=float)
    s2 = float((w * w).sum())
    return float(w.sum() ** 2 / s2) if s2 > 0 else 0.0


def weighted_quantile(x, q, weights=None) -> np.ndarray:
    """Quantiles ``q`` of ``x`` under ``weights`` (NaN values and zero weights ignored): the
    inverse of the weighted ECDF interpolated at the midpoints of each value's mass (equal
    weights give numpy's ``hazen`` quantiles). NaN when nothing is left."""
    x = np.asarray(x, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    x, w = x[ok], w[ok]
    q = np.atleast_1d(np.asarray(q, dtype=float))
    if not len(x):
        return np.full(q.shape, math.nan)
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    mid = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(q, mid, x)


@dataclass(frozen=True)
class Reweighting:
    kernel: np.ndarray  # per draw, before normalisation
    weight: np.ndarray  # normalised (sum 1; zeros where the kernel is 0)
    ess: float
    n: int  # draws with a finite kernel input (ok runs with a value)

    @property
    def adequate(self) -> bool:
        return self.ess >= MIN_ESS


def reweight(stats: pd.DataFrame) -> Reweighting:
    """Weights of the joint draws from the statistics of :data:`WEIGHTING` (product of their
    kernels; today the [S69] bound alone)."""
    k = np.ones(len(stats))
    for name in WEIGHTING:
        k = k * bound_kernel(pd.to_numeric(stats[name], errors="coerce").to_numpy(float))
    n = int(np.isfinite(stats[list(WEIGHTING)].to_numpy(float)).all(axis=1).sum())
    total = k.sum()
    w = k / total if total > 0 else np.zeros_like(k)
    return Reweighting(k, w, kish_ess(k), n)


# --------------------------------------------------------------------------------------------
# The sweep of joint draws
# --------------------------------------------------------------------------------------------
def stage_months(months: int | None = None) -> int:
    """The horizon: ``--months`` (quick checks), else stage A's (``hangzhou.toml``)."""
    if months is not None:
        return int(months)
    from experiments.calibrate import load_spec

    return int(load_spec(STAGE_A).meta.months)


def run_seeds(n: int, root_seed: int = ROOT_SEED) -> list[int]:
    """One independent seed per joint draw; draw m's depends only on the root seed and m."""
    return [
        int(
            np.random.SeedSequence(root_seed, spawn_key=(SEED_STREAM, m)).generate_state(
                1, dtype=np.uint32
            )[0]
        )
        for m in range(n)
    ]


def joint_design(draws: int, root_seed: int = ROOT_SEED):
    """The joint draws of ``china`` (``aieco compare``'s design: stage A × stage B's joined
    cities × priors of the rest). Also returns the scenario document."""
    from ecosystem.scenario import load_document
    from experiments.options import PRESET
    from experiments.uncertainty import make_design

    doc = load_document(SCENARIO)
    design = make_design(doc, draws, 1, root_seed, STAGE_A, PRESET)
    if not design.source.is_posterior:
        raise ScenarioError(
            "--posterior",
            STAGE_A,
            f"no stage-A posterior to draw θ_core from ({design.source.text()})",
        )
    return doc, design


class NationalExperiment(Experiment):
    """Joint draws, one independent seed each; outcomes = :func:`run_national_statistics`."""

    design = None

    @cached_property
    def seeds(self) -> list[int]:
        return run_seeds(len(self.points), self.root_seed)

    @cached_property
    def tasks(self) -> list[RunTask]:
        months = self.spec.experiment.months
        out = []
        for m, point in enumerate(self.points):
            overrides = {self.parameter(k).path: v for k, v in point.items() if k != POSTERIOR_ROW}
            rid = run_id(m, 0, self.design_hash)
            out.append(
                RunTask(
                    rid,
                    m,
                    0,
                    self.point_names[m],
                    self.seeds[m],
                    dict(point),
                    overrides,
                    months,
                    MEASURE,
                    (),
                )
            )
        return out

    @cached_property
    def design_hash(self) -> str:
        """Changes whenever a run would give other numbers (scenario, priors, the posterior
        files the draws come from, root seed, horizon, statistics) but not with the budget:
        draw m depends only on the root seed and m, so a larger --budget extends stage C."""
        d = self.design
        blob = json.dumps(
            {
                "doc": run_values(self.base_document),
                "priors": [p.as_dict() for p in d.priors],
                "posterior": d.source.sha256,
                "joins": {j.city: file_sha256(Path(j.path)) for j in d.joins},
                "root_seed": self.root_seed,
                "seed_stream": SEED_STREAM,
                "months": self.spec.experiment.months,
                "statistics": list(STATISTIC_NAMES),
                "statistics_version": STATISTICS_VERSION,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def national_experiment(draws: int, months: int, root_seed: int = ROOT_SEED):
    """The sweep: draw m runs ``china`` with the joint draw m's overrides, its own seed, for
    ``months``; its outcomes are the national statistics."""
    from ecosystem.scenario import strip_provenance
    from experiments.spec import DesignSpec, ExperimentFile, ExperimentMeta, OutcomeSpec

    doc, design = joint_design(draws, root_seed)
    plain, _ = strip_provenance(doc)
    params = [p.as_parameter(f"joint draw ({p.kind} prior)") for p in design.priors]
    params.append(
        row_parameter(
            POSTERIOR_ROW,
            "row of the stage-A posterior θ_core (and the joined cities' φ_c) came from",
        )
    )
    rows = design.table
    points = []
    for m in range(draws):
        point = design.params(m)
        point[POSTERIOR_ROW] = int(rows[POSTERIOR_ROW].iloc[m])
        points.append(point)
    spec = ExperimentFile(
        experiment=ExperimentMeta(
            name=f"calibrate_{NAME}",
            description="Stage C: joint draws of the china preset (stage A × stage B × priors)",
            scenario=SCENARIO,
            replicates=1,
            root_seed=root_seed,
            months=months,
        ),
        design=DesignSpec(method="list"),
        outcomes=OutcomeSpec(summary=list(STATISTIC_NAMES), kpis=[]),
    )
    exp = NationalExperiment(
        spec=spec,
        source=SCENARIO,
        base_dir=Path("."),
        base_document=plain,
        parameters=params,
        summary_outcomes=list(STATISTIC_NAMES),
        kpi_outcomes=[],
        horizon_months=months,
        method="joint_posterior",
        points=points,
        point_names=[f"d{m}" for m in range(draws)],
    )
    exp.design = design
    exp.notes = [*design.notes]
    return exp


# --------------------------------------------------------------------------------------------
# The table, the posterior file and the report
# --------------------------------------------------------------------------------------------
def draw_frame(exp, out: Path) -> pd.DataFrame:
    """One row per joint draw (done or not): draw, seed, run_id, status, error, parameters,
    statistics, cpu_s; status "pending" for a draw not yet run."""
    from experiments.runner import existing_runs

    runs = {int(m.get("point", -1)): m for m in existing_runs(out, exp.design_hash).values()}
    table = exp.design.table
    rows = []
    for t in exp.tasks:
        meta = runs.get(t.point, {})
        stats = meta.get("outcomes") if isinstance(meta.get("outcomes"), dict) else {}
        status = meta.get("status", "pending")
        row = {
            "draw": t.point,
            "seed": t.seed,
            "run_id": t.run_id,
            "status": status,
            "error": "" if status in ("ok", "pending") else str(meta.get("error", "")),
            POSTERIOR_ROW: int(table[POSTERIOR_ROW].iloc[t.point]),
        }
        row.update(exp.design.params(t.point))
        for name in STATISTIC_NAMES:
            v = stats.get(name)
            row[name] = math.nan if v is None or status != "ok" else float(v)
        row["cpu_s"] = meta.get("cpu_s")
        row["git_revision"] = meta.get("git_revision")
        rows.append(row)
    return pd.DataFrame(rows)


def sweep_times(out: Path, design_hash: str) -> dict | None:
    """When the sweep started (``manifest.json``, kept across --resume), when its last run was
    written (the run files): the wall time of the whole stage C."""
    from experiments.runner import existing_runs, inspect_manifest

    manifest, _ = inspect_manifest(out)
    written = [m["written"] for m in existing_runs(out, design_hash).values() if m.get("written")]
    if not manifest or not written:
        return None
    return {"started": manifest.get("started"), "updated": max(written)}


def posterior_record(
    exp, df: pd.DataFrame, rw: Reweighting, wall_s: float | None, out: Path | None = None
) -> dict:
    from ecosystem.run import git_revision

    d = exp.design
    targets = [
        {
            "name": s.name,
            "meaning": s.meaning,
            "source": s.source,
            "kernel": f"one-sided Gaussian in log ratio: 1 below {BOUND:.4f}, "
            f"exp(-0.5 (ln(x / {BOUND:.4f}) / {BANDWIDTH})^2) above",
            "bound": BOUND,
            "bandwidth": BANDWIDTH,
        }
        for s in STATISTICS
        if s.role == "weights"
    ]
    blob = json.dumps(targets, sort_keys=True)
    revisions = sorted({str(r) for r in df["git_revision"].dropna()})
    return {
        "name": NAME,
        "stage": "C",
        "kind": "stage C: joint draws of china reweighted by national statistics",
        "scenario": SCENARIO,
        "months": exp.spec.experiment.months,
        "root_seed": exp.root_seed,
        "spec_hash": exp.design_hash,
        "design_hash": exp.design_hash,
        "target_set": hashlib.sha256(blob.encode()).hexdigest()[:16],
        "targets": targets,
        "held_out": [
            {"name": s.name, "source": s.source, "why": "validation pattern 5 (docs/validation.md)"}
            for s in STATISTICS
            if s.role == "held out"
        ],
        "reported": [s.name for s in STATISTICS if s.role == "reported"],
        "git_revision": git_revision(),
        "store_git_revisions": revisions,
        "draws": len(df),
        "ok": int((df["status"] == "ok").sum()),
        "failed": int((~df["status"].isin(["ok", "pending"])).sum()),
        "pending": int((df["status"] == "pending").sum()),
        "ess": rw.ess,
        "min_ess": MIN_ESS,
        "ess_adequate": rw.adequate,
        "wall_s": wall_s,
        "sweep": sweep_times(out, exp.design_hash) if out is not None else None,
        "calibrated": True,
        "source": d.source.as_dict(),
        "joined_city_posteriors": {j.city: j.path for j in d.joins},
        "notes": list(d.notes),
        "parameters": [p.as_dict() for p in d.priors],
    }


def write_posterior_table(path: Path, df: pd.DataFrame, rw: Reweighting, record: dict) -> Path:
    """``national.parquet`` (atomically): the draws with ``kernel`` and ``weight``."""
    from experiments.inference import write_posterior

    table = df.copy()
    table["kernel"] = rw.kernel
    table["weight"] = rw.weight
    return write_posterior(path, table, record)


def _fmt(v: float, name: str) -> str:
    if not np.isfinite(v):
        return "n/a"
    if "share" in name:
        return f"{v:.1%}"
    if "ratio" in name:
        return f"{v:.3f}"
    if abs(v) >= 1e6:
        return f"{v:.3g}"
    return f"{v:.4g}"


def _interval(x, w, name: str) -> str:
    lo, med, hi = weighted_quantile(x, [(1 - LEVEL) / 2, 0.5, (1 + LEVEL) / 2], w)
    if not np.isfinite(med):
        return "n/a"
    return f"{_fmt(med, name)} [{_fmt(lo, name)}–{_fmt(hi, name)}]"


def _before_after(x: np.ndarray, ok: np.ndarray, weight: np.ndarray) -> dict[str, float]:
    """Median and central interval of ``x`` over the ok runs (before) and under the weights."""
    q = [(1 - LEVEL) / 2, 0.5, (1 + LEVEL) / 2]
    b = weighted_quantile(x[ok], q)
    a = weighted_quantile(x, q, weight)
    return {
        "before_median": b[1],
        "before_low": b[0],
        "before_high": b[2],
        "after_median": a[1],
        "after_low": a[0],
        "after_high": a[2],
    }


def report_tables(df: pd.DataFrame, rw: Reweighting, design) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(statistics before / after, Ningbo's and Wenzhou's inputs prior / before / after)."""
    ok = (df["status"] == "ok").to_numpy()
    rows = []
    for s in STATISTICS:
        x = df[s.name].to_numpy(float)
        rows.append(
            {
                "statistic": s.name,
                "role": s.role,
                "n": int(np.isfinite(x[ok]).sum()),
                **_before_after(x, ok, rw.weight),
                "target": s.target,
                "source": s.source,
            }
        )
    stats = pd.DataFrame(rows)
    rows = []
    for city in BOUND_CITIES:
        for p in design.priors:
            if not p.name.endswith(f"_{city}") or "regions." + city not in p.path:
                continue
            if getattr(p, "same_as", ""):
                continue  # a pooled copy of a θ_core parameter, not the city's own input
            ba = _before_after(df[p.name].to_numpy(float), ok, rw.weight)
            shift = (ba["after_median"] - ba["before_median"]) / (p.high - p.low)
            rows.append(
                {
                    "parameter": p.name,
                    "prior": f"{p.kind} [{p.low:.4g}, {p.high:.4g}]",
                    **ba,
                    "shift_in_prior_widths": shift,
                }
            )
    return stats, pd.DataFrame(rows)


def format_report(
    df: pd.DataFrame, rw: Reweighting, design, record: dict, command: str | None
) -> str:
    stats, inputs = report_tables(df, rw, design)
    n_ok = record["ok"]
    pct = f"{LEVEL:.0%}"
    partial = record["pending"] > 0
    inside = df.loc[df["status"] == "ok", "zhejiang_revenue_ratio_y1"].to_numpy(float)
    share_in = float((inside <= BOUND).mean()) if len(inside) else math.nan
    lines = [
        f"Stage C (national joint check): {record['draws']} joint draws of `{SCENARIO}` for "
        f"{record['months']} months, one seed each (root seed {record['root_seed']}); "
        f"{n_ok} ran, {record['failed']} failed"
        + (f", **{record['pending']} not run yet: a partial result**" if partial else "")
        + f"; runs by model revision {', '.join(record['store_git_revisions']) or '–'} "
        f"(report written at {record['git_revision']}); design {record['design_hash']}.",
        "",
        f"Draws: {design.label()}. θ_core from {design.source.path}"
        + (
            "; own inputs joined on the stage-A row for " + ", ".join(j.city for j in design.joins)
            if design.joins
            else ""
        )
        + "; the other cities' inputs from their documented ranges.",
        "",
        f"Reweighting: the [S69] bound (Ningbo + Wenzhou) / Hangzhou startup revenue in year 1 "
        f"< {BOUND:.2f}, as a one-sided Gaussian kernel in the log ratio (bandwidth "
        f"{BANDWIDTH}): weight 1 at or below the bound, exp(-½ (ln(r / {BOUND:.2f}) / "
        f"{BANDWIDTH})²) above, 0 for a failed run. {share_in:.0%} of the runs meet the bound "
        f"outright. **Effective sample size (Kish): {rw.ess:.1f} of {n_ok}**"
        + (
            "."
            if rw.adequate
            else f" — **below {MIN_ESS}: too few for the reweighted intervals; the design says "
            "extend stage C (a larger --budget with --resume)**."
        ),
        "",
        "Held out (validation pattern 5, docs/validation.md): the VC shares are reported before "
        "and after reweighting, never used to weight.",
        "",
        f"| statistic | role | runs | before: median [{pct}] | after: median [{pct}] | "
        "target | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in stats.itertuples():
        x = df[r.statistic].to_numpy(float)
        ok = (df["status"] == "ok").to_numpy()
        lines.append(
            f"| {r.statistic} | {r.role} | {r.n} | {_interval(x[ok], None, r.statistic)} | "
            f"{_interval(x, rw.weight, r.statistic)} | {r.target} | {r.source} |"
        )
    lines += [
        "",
        f"Ningbo's and Wenzhou's own inputs: the joint draws' {pct} interval before (= their "
        "prior) and after reweighting.",
        "",
        f"| parameter | prior | before: median [{pct}] | after: median [{pct}] | median shift "
        "/ prior width |",
        "|---|---|---|---|---|",
    ]
    for r in inputs.itertuples():
        before = f"{r.before_median:.4g} [{r.before_low:.4g}–{r.before_high:.4g}]"
        after = f"{r.after_median:.4g} [{r.after_low:.4g}–{r.after_high:.4g}]"
        lines.append(
            f"| {r.parameter} | {r.prior} | {before} | {after} | {r.shift_in_prior_widths:+.1%} |"
        )
    cpu = pd.to_numeric(df.loc[df["status"] == "ok", "cpu_s"], errors="coerce")
    cost = f"Cost: {cpu.sum():,.0f} CPU-s in the runs (median {cpu.median():.1f} a run)"
    if record.get("sweep"):
        sw = record["sweep"]
        cost += f"; sweep started {sw['started']}, last run written {sw['updated']}"
    if record["wall_s"] is not None:
        cost += f"; this invocation {record['wall_s']:.0f} s wall"
    lines += ["", cost + "."]
    if command:
        lines += ["", f"Command: `{command}`"]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------
def check_options(args) -> None:
    unused = (
        "--infer", "--summary", "--store-only", "--posterior", "--ppc", "--core-posterior",
        "--stage-a-budget", "--set", "--csv", "--method", "--accept", "--condition",
    )  # fmt: skip
    if flag := given_flag(args, unused):
        raise ScenarioError(
            flag,
            None,
            "is not used by 'national' (it takes --budget, --months, --out, "
            "--workers or --scheduler, --resume, --quiet)",
        )
    if args.budget is not None and not 1 <= args.budget <= 100_000:
        raise ScenarioError("--budget", args.budget, "must be in 1..100,000 (joint draws)")
    check_engine_options(args)  # --months, --workers, --scheduler


def calibrate_national(args, run, check_scheduler) -> int:
    """``aieco calibrate national``: run (or complete) the joint draws, reweight, report.
    ``run(exp, out, args)`` runs the sweep and prints its summary line and failures, and
    ``check_scheduler(address)`` checks ``--scheduler``: the command layer's own (passed in, so
    this module stays below it)."""
    from ecosystem.outputs import mark, write_csv, write_text
    from experiments.runner import prepare_out_dir

    check_options(args)
    budget = DEFAULT_BUDGET if args.budget is None else args.budget
    months = stage_months(args.months)
    exp = national_experiment(budget, months)
    out = Path(args.out) if args.out else Path("results") / f"calibrate_{NAME}"
    plan = prepare_out_dir(exp, out, args.resume)
    ok = {rid for rid, m in plan.done.items() if m.get("status") == "ok"}
    if ok and any(t.run_id not in ok for t in exp.tasks):
        # runs of another model revision are not mixed into one stage C (re-reading a complete
        # one with --resume, e.g. to rewrite its report, runs nothing and is allowed)
        from experiments.calibrate import check_store_revision

        check_store_revision(out, exp.design_hash)
    if args.scheduler:
        check_scheduler(args.scheduler)
    for note in exp.notes:
        print(f"note: {note}", file=sys.stderr)
    t0 = time.perf_counter()
    report = None
    try:
        report = run(exp, out, args)  # the sweep, its summary line and failures
    finally:
        if out.is_dir():  # also after Ctrl-C: the table and report match runs/ (partial)
            wall = time.perf_counter() - t0
            df = draw_frame(exp, out)
            rw = reweight(df)
            record = posterior_record(exp, df, rw, wall, out)
            write_posterior_table(out / "national.parquet", df, rw, record)
            text = format_report(df, rw, exp.design, record, getattr(args, "command_line", None))
            write_text(out / "report.md", text + "\n")
            stats, inputs = report_tables(df, rw, exp.design)
            write_csv(pd.concat([stats, inputs], ignore_index=True), out / "report.csv")
            mark(out, "sweep", FILES)
    print(text)
    print(f"\nstage C posterior: {out / 'national.parquet'}; report: {out / 'report.md'}")
    return 1 if report.failed else 0
