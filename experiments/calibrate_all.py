"""``aieco calibrate all``: every city calibrated, staged (design ``docs/design/causal-core.md``
§9.6; method ``docs/calibration-method.md``, "Stage B").

1. **Stage A** (Hangzhou, ``experiments/calibration/hangzhou.toml``) runs only if no fresh
   posterior exists: ``--core-posterior FILE``, else ``DIR/posteriors/hangzhou.parquet``, else
   the shipped ``experiments/calibration/posteriors/hangzhou.parquet``. Fresh = inferred from
   the spec as it is now (same spec hash, same target set).
2. **Stage B**, for every other spec of ``experiments/calibration/`` with a ``[core]``: the store
   (φ_c from its prior, θ_core from stage A's posterior rows), the posterior
   (``DIR/posteriors/<city>.parquet``) and a short posterior predictive check
   (``DIR/ppc/<city>.md``). A city with no observed quantity is not simulated: its posterior is
   its prior with stage A's θ_core, recorded and reported as "not calibrated".

Everything is resumable: the stores and checks are sweeps (one file per simulation, written as it
finishes), a posterior is written atomically and skipped on ``--resume`` when it was inferred
from the same spec, targets and store. One progress bar with an ETA counts the simulations of
the whole job (runs already done are taken off its total, so the ETA is for the work left;
training the networks, ~1–2 minutes a city, is not in it).
"""

from __future__ import annotations

import json
import math
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import experiments.calibrate as cal
from ecosystem.scenario import ScenarioError
from experiments.calibrate import CalibrationSpec, given_flag, given_value, load_spec

STAGE_A = "hangzhou"
ALL_KIND = "calibrate_all"
ALL_FILES = ("stores", "posteriors", "ppc", "report.md", "job.json")
DEFAULT_PPC = 100
#: Stage A's budget when hangzhou.toml names none (the shipped posterior's store: 2,000).
DEFAULT_STAGE_A_BUDGET = 2000
#: Stage B's budget when a city spec names none (design §9.6: ~600 a city).
DEFAULT_CITY_BUDGET = 600


@dataclass
class Job:
    name: str
    budget: int  # simulations of the store (0: not calibrated, nothing simulated)
    ppc: int
    spec: CalibrationSpec | None = None

    @property
    def simulations(self) -> int:
        return self.budget + self.ppc if self.budget else 0


def shipped_posterior(name: str = STAGE_A) -> Path:
    return cal.SPEC_DIR / "posteriors" / f"{name}.parquet"


def stage_b_names() -> list[str]:
    """The shipped specs with a ``[core]`` drawn from stage A (every city but Hangzhou)."""
    out = []
    for path in sorted(cal.SPEC_DIR.glob("*.toml")):
        raw = _raw(path)
        core = raw.get("core")
        if isinstance(core, dict) and core.get("spec", STAGE_A) == STAGE_A:
            out.append(path.stem)
    return out


def _raw(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}  # load_spec reports it properly


def _raw_budget(name: str, default: int) -> int:
    meta = _raw(cal.SPEC_DIR / f"{name}.toml").get("calibration", {})
    value = meta.get("default_budget") if isinstance(meta, dict) else None
    return int(value) if isinstance(value, int) and value > 0 else default


def _raw_calibrated(name: str) -> bool:
    """Whether the spec conditions on anything (a statistic with a target band)."""
    stats = _raw(cal.SPEC_DIR / f"{name}.toml").get("statistics", {})
    return any(isinstance(s, dict) and s.get("target") is not None for s in stats.values())


def stage_a_freshness(path: Path, spec: CalibrationSpec) -> tuple[bool, str]:
    """(fresh, why): a posterior is fresh when it was inferred from ``spec`` as it is now."""
    from experiments.inference import read_posterior

    if not Path(path).is_file():
        return False, f"{path} is missing"
    try:
        _, rec = read_posterior(path)
    except ScenarioError:
        return False, f"{path} is not a readable posterior"
    if rec.get("spec_hash") != spec.spec_hash:
        return False, (
            f"{path} was inferred for spec {rec.get('spec_hash')}; {spec.name}'s spec (scenario, "
            f"priors, statistics, horizon) is now {spec.spec_hash}"
        )
    if rec.get("target_set") != spec.target_set:
        return False, f"{path} used targets {rec.get('target_set')}, now {spec.target_set}"
    if rec.get("calibrated") is False:
        return False, f"{path} is a prior, not a stage-A posterior"
    return True, f"{path} (spec {spec.spec_hash}, targets {spec.target_set})"


def _check_options(args) -> None:
    unused = ("--infer", "--summary", "--store-only", "--posterior", "--set", "--csv")
    if flag := given_flag(args, unused):
        raise ScenarioError(flag, None, "is for one city; 'all' builds, infers and checks")
    from experiments.inference import MIN_SIMULATIONS

    if args.budget is not None and not MIN_SIMULATIONS <= args.budget <= 1_000_000:
        raise ScenarioError(
            "--budget", args.budget, f"must be in {MIN_SIMULATIONS}..1,000,000 (per city)"
        )
    if args.stage_a_budget is not None and not MIN_SIMULATIONS <= args.stage_a_budget <= 1_000_000:
        raise ScenarioError(
            "--stage-a-budget", args.stage_a_budget, f"must be in {MIN_SIMULATIONS}..1,000,000"
        )
    if args.ppc is not None and not 1 <= args.ppc <= 100_000:
        raise ScenarioError("--ppc", args.ppc, "must be in 1..100,000 (posterior draws per city)")
    from experiments.calibrate import check_engine_options, check_inference_options

    check_engine_options(args)  # --months, --workers, --scheduler

    check_inference_options(args)  # --samples, --ensemble, --ppc ranges as for one city
    if args.method == "rejection" or args.accept is not None:
        flag = "--method" if args.method == "rejection" else "--accept"
        raise ScenarioError(
            flag,
            given_value(args, flag),
            "'all' follows each spec's [calibration] method (stage B: npe, the cut "
            "posterior); give it on one spec",
        )
    if args.core_posterior is not None and not Path(args.core_posterior).is_file():
        raise ScenarioError("--core-posterior", args.core_posterior, "no such posterior file")


def _prepare_out(out: Path, resume: bool) -> None:
    from ecosystem.outputs import check_out_dir, mark, read_marker

    check_out_dir(out, option="--out", foreign="choose another --out")
    if out.is_dir() and any(out.iterdir()):
        kind = (read_marker(out) or {}).get("kind")
        if kind != ALL_KIND:
            raise ScenarioError(
                "--out", str(out), f"holds {kind or 'another output'}, not a calibrate-all run"
            )
        if not resume:
            raise ScenarioError(
                "--out", str(out), "already holds a calibrate-all run; pass --resume to complete it"
            )
    for sub in ("posteriors", "ppc"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    mark(out, ALL_KIND, ALL_FILES)


class _Bar:
    """One progress bar over every simulation of the job."""

    def __init__(self, total: int, enabled: bool):
        from experiments.runner import _progress

        self.bar = _progress(total, "calibrate all", enabled)

    def done_before(self, n: int) -> None:
        """Runs found done on --resume: work that is not left (off the total, not in the rate)."""
        if n:
            self.bar.total = max(self.bar.n, self.bar.total - n)
            self.bar.refresh()

    def tick(self, record: dict) -> None:
        self.bar.update(1)

    def say(self, text: str) -> None:
        if self.bar.disable:
            print(text)
        else:
            self.bar.write(text, file=sys.stdout)

    def close(self) -> None:
        self.bar.close()


def _sweep(exp, out: Path, args, bar: _Bar) -> object:
    """Run a store or check sweep (resuming whatever is there) under the job's bar."""
    from experiments.runner import prepare_out_dir, run_experiment

    plan = prepare_out_dir(exp, out, resume=True)
    bar.done_before(sum(1 for m in plan.done.values() if m.get("status") == "ok"))
    return run_experiment(
        exp,
        out,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=True,
        progress=False,
        on_record=bar.tick,
        command=getattr(args, "command_line", None),
    )


def _store(job: Job, out: Path, args, bar: _Bar):
    """Build (or complete) a job's store; returns (store rows, failed count)."""
    from experiments.calibrate import check_store_revision, existing_draws, write_store

    spec = job.spec
    store = out / "stores" / job.name
    draws = math.ceil(job.budget / spec.meta.seeds_per_draw)
    have = existing_draws(store, spec) if store.is_dir() else 0
    if have:
        check_store_revision(store, spec)
    exp = spec.experiment(max(draws, have))
    try:
        report = _sweep(exp, store, args, bar)
    finally:
        if store.is_dir():
            df = write_store(store, spec)  # also after Ctrl-C: the store matches runs/
    return df, report.failed


def _posterior_current(path: Path, spec: CalibrationSpec, n_rows: int | None) -> bool:
    from experiments.inference import read_posterior

    if not path.is_file():
        return False
    try:
        _, rec = read_posterior(path)
    except ScenarioError:
        return False
    same = rec.get("spec_hash") == spec.spec_hash and rec.get("target_set") == spec.target_set
    core = spec.core.sha256 if spec.core else None
    same = same and ((rec.get("core") or {}).get("sha256") == core)
    if n_rows is not None:
        same = same and rec.get("simulations") == n_rows
    return same


def _infer(job: Job, df, out: Path, args, bar: _Bar) -> Path:
    from ecosystem.outputs import write_text
    from experiments.calibrate import infer_store
    from experiments.inference import format_posterior, read_posterior, write_posterior

    spec = job.spec
    path = out / "posteriors" / f"{job.name}.parquet"
    if _posterior_current(path, spec, len(df)):
        draws, meta = read_posterior(path)
        bar.say(f"{job.name}: posterior already inferred from this store ({path})")
    else:
        bar.say(f"{job.name}: training {args.ensemble} NPEs on {len(df)} simulations ...")
        draws, meta = infer_store(args, spec, df, out / "stores" / job.name, False)
        write_posterior(path, draws, meta)
    write_text(out / "ppc" / f"{job.name}_posterior.md", format_posterior(draws, meta) + "\n")
    return path


def _ppc(job: Job, posterior: Path, out: Path, args, bar: _Bar) -> tuple[str, list[str], int]:
    """The job's posterior predictive check: (markdown, targets outside the 90% PPI, failed)."""
    from ecosystem.outputs import write_csv, write_text
    from experiments.calibrate import posterior_check, ppc_points, store_frame
    from experiments.inference import read_posterior

    spec = job.spec
    post, meta = read_posterior(posterior)
    n = min(job.ppc, len(post))
    X, core, tag = ppc_points(spec, post, n)
    exp = spec.experiment(len(X), X=X, tag=tag, core=core)
    ppc_dir = out / "stores" / job.name / f"ppc_{tag}"
    report = _sweep(exp, ppc_dir, args, bar)
    df = store_frame(ppc_dir, spec, exp.design_hash)
    info = spec.describe()
    what = "Posterior" if meta.get("calibrated", True) else "Prior (not calibrated)"
    table, text = posterior_check(df, info, out / "stores" / job.name, what)
    text += f"\n\nPosterior: {posterior} (targets {meta.get('target_set')}); draws {ppc_dir}."
    write_text(out / "ppc" / f"{job.name}.md", text + "\n")
    write_csv(table, out / "ppc" / f"{job.name}.csv")
    misses = [r.statistic for r in table.itertuples() if r.covers is False]
    return text, misses, report.failed


def _prior(job: Job, out: Path, args) -> Path:
    from experiments.inference import prior_posterior, write_posterior

    spec = job.spec
    path = out / "posteriors" / f"{job.name}.parquet"
    if not _posterior_current(path, spec, None):
        core = spec.core.sample_rows(args.samples, spec.meta.root_seed) if spec.core else None
        draws, meta = prior_posterior(spec.describe(), spec.draws(args.samples), core)
        write_posterior(path, draws, meta)
    return path


def _run_job(job: Job, out: Path, args, bar: _Bar) -> dict:
    t0 = time.perf_counter()
    spec = job.spec
    row = {"city": job.name, "spec_hash": spec.spec_hash, "target_set": spec.target_set}
    if not spec.calibrated:
        path = _prior(job, out, args)
        reason = spec.meta.no_target_reason
        bar.say(f"{job.name}: not calibrated: no observed quantity ({reason})")
        row.update(calibrated=False, reason=reason, posterior=str(path), simulations=0, failed=0)
        row.update(misses=[], ppc="", wall_s=round(time.perf_counter() - t0, 1))
        return row
    df, failed = _store(job, out, args, bar)
    path = _infer(job, df, out, args, bar)
    text, misses, ppc_failed = _ppc(job, path, out, args, bar)
    bar.say(
        f"{job.name}: {len(df)} simulations ({failed} failed), posterior {path}; outside the 90% "
        f"PPI: {', '.join(misses) if misses else 'none'}"
    )
    row.update(calibrated=True, reason="", posterior=str(path), simulations=len(df))
    row.update(failed=failed + ppc_failed, misses=misses, ppc=str(out / "ppc" / f"{job.name}.md"))
    row.update(wall_s=round(time.perf_counter() - t0, 1))
    return row


def _report(rows: list[dict], out: Path, stage_a: dict) -> str:
    lines = [
        "# aieco calibrate all",
        "",
        f"Stage A (θ_core): {stage_a['why']}.",
        "",
        "| city | calibrated | simulations | targets outside the 90% posterior predictive "
        "interval | posterior |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        cal = "yes" if r["calibrated"] else "**no**: no observed quantity (posterior = prior)"
        miss = ", ".join(r["misses"]) if r["misses"] else ("none" if r["calibrated"] else "–")
        lines.append(f"| {r['city']} | {cal} | {r['simulations']} | {miss} | {r['posterior']} |")
    lines.append("")
    uncal = [r for r in rows if not r["calibrated"]]
    if uncal:
        lines += ["Not calibrated, and why (each spec's `no_target_reason`):", ""]
        lines += [f"- **{r['city']}**: {r['reason']}" for r in uncal]
        lines.append("")
    for r in rows:
        if r["ppc"]:
            lines += [f"## {r['city']}", "", Path(r["ppc"]).read_text(encoding="utf-8"), ""]
            post = out / "ppc" / f"{r['city']}_posterior.md"
            if post.is_file():
                lines += [post.read_text(encoding="utf-8"), ""]
    return "\n".join(lines)


def calibrate_all(args) -> int:
    from ecosystem.outputs import write_text
    from ecosystem.run import git_revision
    from experiments.inference import require

    _check_options(args)
    require("all")  # before any simulation
    out = Path(args.out) if args.out else Path("results") / "calibrate_all"
    _prepare_out(out, args.resume)
    ppc = DEFAULT_PPC if args.ppc is None else args.ppc

    # --- which stage-A posterior ---------------------------------------------------------
    hz = load_spec(STAGE_A, months=args.months, conditioning=args.condition)
    candidates = (
        [Path(args.core_posterior)]
        if args.core_posterior
        else [out / "posteriors" / f"{STAGE_A}.parquet", shipped_posterior()]
    )
    core_path, why = None, []
    for c in candidates:
        fresh, reason = stage_a_freshness(c, hz)
        if fresh:
            core_path = c
            break
        why.append(reason)
    if core_path is None and args.core_posterior:
        raise ScenarioError("--core-posterior", args.core_posterior, f"is stale: {why[0]}")
    names = stage_b_names()
    budget_a = args.stage_a_budget or _raw_budget(STAGE_A, DEFAULT_STAGE_A_BUDGET)
    jobs = [
        Job(
            n,
            (args.budget or _raw_budget(n, DEFAULT_CITY_BUDGET)) if _raw_calibrated(n) else 0,
            ppc,
        )
        for n in names
    ]
    own_a = out / "posteriors" / f"{STAGE_A}.parquet"
    stage_a_job = None
    if core_path is None or (core_path == own_a and (out / "stores" / STAGE_A).is_dir()):
        stage_a_job = Job(STAGE_A, budget_a, ppc, hz)  # to run, or to complete (--resume)
    total = sum(j.simulations for j in jobs) + (stage_a_job.simulations if stage_a_job else 0)
    record = {
        "kind": ALL_KIND,
        "git_revision": git_revision(),
        "months_override": args.months,
        "budget_per_city": args.budget,
        "ppc": ppc,
        "cities": names,
    }
    bar = _Bar(total, not args.quiet)
    rows: list[dict] = []
    try:
        if stage_a_job:
            bar.say(f"stage A runs: {'; '.join(why) or 'completing the one started here'}")
            rows.append(_run_job(stage_a_job, out, args, bar))
            core_path = out / "posteriors" / f"{STAGE_A}.parquet"
            stage_a = {"ran": True, "why": f"ran here ({'; '.join(why)}): {core_path}"}
        else:
            bar.say(f"stage A reused: {core_path}")
            stage_a = {"ran": False, "why": f"reused the fresh posterior {core_path}"}
        stage_a["posterior"] = str(core_path)
        record["stage_a"] = stage_a
        write_text(out / "job.json", json.dumps(record, indent=2, default=str))
        for job in jobs:
            job.spec = load_spec(job.name, core_path, args.months, args.condition)
            if job.spec.calibrated and not job.budget:
                job.budget = args.budget or job.spec.default_budget or DEFAULT_CITY_BUDGET
            rows.append(_run_job(job, out, args, bar))
    finally:
        bar.close()
    text = _report(rows, out, stage_a)
    write_text(out / "report.md", text + "\n")
    record["results"] = rows
    write_text(out / "job.json", json.dumps(record, indent=2, default=str))
    summary = text.split("\n## ")[0]
    print(summary)
    print(f"report: {out / 'report.md'}")
    return 1 if any(r["failed"] for r in rows) else 0
