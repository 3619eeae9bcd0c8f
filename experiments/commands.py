"""The ``aieco`` subcommands of the experiment layer: sweep, policy, sensitivity, calibrate,
validation, report, query, rerun.

``experiments.cli`` (the ``aieco`` entry point) calls :func:`register`. Exit codes: 0 done, 1 done
but some runs failed, 2 bad input or an unusable output folder (one line ``error: ...`` on
stderr, nothing written), 3 no usable Dask worker (one line naming the cause), 130 interrupted
(one line; rerun with ``--resume``).
"""

from __future__ import annotations

import argparse
import math
import socket
import sys
from pathlib import Path
from urllib.parse import urlparse

from ecosystem.scenario import ScenarioError
from experiments.options import CONDITIONING, DEFAULT_ENSEMBLE, INFERENCE_METHODS, NAN_POLICIES

EXIT_OK, EXIT_FAILED_RUNS, EXIT_BAD_INPUT, EXIT_CLUSTER, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
SA_METHODS = ["morris", "sobol", "fast", "delta", "pawn"]


def _error(msg: str, code: int = EXIT_BAD_INPUT) -> int:
    print(f"error: {msg}".replace("\n", " "), file=sys.stderr)
    return code


def _add_run_options(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("file", metavar="FILE", help="experiment file (TOML; see experiments/examples/)")
    p.add_argument(
        "--out", metavar="DIR", help=f"results directory (default: results/<experiment name>{what})"
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="local worker processes (default: all cores; 1 = in this process)",
    )
    p.add_argument(
        "--scheduler", metavar="tcp://HOST:PORT", help="run on an existing Dask distributed cluster"
    )
    p.add_argument(
        "--no-worker-timeout",
        type=float,
        metavar="SECONDS",
        help="on Dask, stop the sweep (exit 3, --resume later) after this long without any "
        "usable worker (default 30)",
    )
    p.add_argument(
        "--dashboard",
        metavar="[HOST]:PORT",
        help="serve the local Dask cluster's dashboard (needs aieco[cluster]; host defaults to "
        "127.0.0.1)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="complete an interrupted sweep in DIR: check every run file, skip completed runs, "
        "rerun failed, missing or damaged ones",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(subparsers) -> None:
    """Add sweep, policy, sensitivity, report, query and rerun to an argparse subparsers object."""
    p = subparsers.add_parser(
        "sweep",
        help="run an experiment's design (replicates per point) and store every run",
        description="Run every design point of an experiment file with its replicates; "
        "one Parquet file per run under DIR/runs, DIR/summary.parquet, DIR/manifest.json.",
    )
    _add_run_options(p, "")
    p.set_defaults(func=cmd_sweep)

    p = subparsers.add_parser(
        "policy",
        help="baseline and policy variants with common random numbers; effects with CIs",
        description="Run a list design with a [policy] baseline, then report each variant's "
        "effect against the baseline (paired by replicate) with confidence intervals.",
    )
    _add_run_options(p, "")
    from experiments.options import add_draw_arguments

    add_draw_arguments(p, seeds_help="seeds per draw (default: the file's replicates)")
    p.set_defaults(func=cmd_policy)

    p = subparsers.add_parser(
        "sensitivity",
        help="global sensitivity analysis with SALib (Morris, Sobol', eFAST, delta, PAWN)",
        description="Sample the experiment's parameter ranges with SALib, run the sample and "
        "write indices with confidence intervals, a ranked table and a figure.",
    )
    _add_run_options(p, "_<method>")
    p.add_argument("--method", choices=SA_METHODS, required=True)
    p.add_argument(
        "--samples",
        type=int,
        metavar="N",
        help="base sample size (Morris: trajectories; Sobol': rounded up to a power of two); "
        "default: the file's design.samples",
    )
    p.add_argument(
        "--second-order",
        action="store_true",
        help="Sobol': also compute and report second-order indices S2 (N·(2D+2) runs)",
    )
    p.add_argument(
        "--confidence", type=float, default=0.95, metavar="P", help="confidence level (0.5-1)"
    )
    p.set_defaults(func=cmd_sensitivity)

    _register_calibrate(subparsers)
    _register_validation(subparsers)

    p = subparsers.add_parser(
        "report", help="figures (PNG) and an HTML page for a results directory"
    )
    p.add_argument("dir", metavar="DIR")
    p.add_argument(
        "--html-dir",
        metavar="PATH",
        help="where to write index.html and figures/ (default: DIR/report)",
    )
    p.set_defaults(func=cmd_report)

    p = subparsers.add_parser(
        "query", help="SQL (DuckDB) over a results directory: tables summary and runs"
    )
    p.add_argument("dir", metavar="DIR")
    p.add_argument("sql", metavar="SQL")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=cmd_query)

    p = subparsers.add_parser(
        "rerun",
        help="reproduce a sweep from its results directory and check the numbers are identical",
        description="Rebuild the experiment from DIR/manifest.json (its resolved scenario, design "
        "and seeds), run it again into --out and compare every run with DIR.",
    )
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--out", metavar="DIR2", help="where to write the new runs (default: DIR-rerun)")
    p.add_argument("--workers", type=int, metavar="N")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_rerun, resume=False, dashboard=None)


# --------------------------------------------------------------------------------------------
def _check_scheduler(address: str) -> None:
    u = urlparse(address if "://" in address else f"tcp://{address}")
    try:
        port = u.port
    except ValueError:
        port = None
    if u.scheme not in ("tcp", "tls") or not u.hostname or not port:
        raise ScenarioError("--scheduler", address, "must look like tcp://HOST:PORT")
    try:
        with socket.create_connection((u.hostname, port), timeout=5):
            pass
    except OSError as exc:
        reason = exc.strerror or exc
        raise ScenarioError(
            "--scheduler", address, f"no Dask scheduler answers there ({reason})"
        ) from None


def _check_dashboard(value: str | None) -> str | None:
    """``PORT``, ``:PORT`` or ``HOST:PORT``; loopback unless a host is named; bokeh installed."""
    if value is None:
        return None
    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise ScenarioError("--dashboard", value, "must be PORT or HOST:PORT")
    host = host or "127.0.0.1"
    import importlib.util

    if importlib.util.find_spec("bokeh") is None:
        raise ScenarioError("--dashboard", value, "needs bokeh: pip install 'aieco[cluster]'")
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: the Dask dashboard listens on {host}, beyond this machine", file=sys.stderr
        )
    return f"{host}:{port}"


def _prepare(args, method: str | None = None, suffix: str = "", transform=None, **load):
    """Validate everything before any run; return (experiment, out dir). ``transform``
    (experiment → experiment) adapts the design first (``aieco policy``'s parameter draws)."""
    from experiments.runner import prepare_out_dir
    from experiments.spec import load_experiment

    if args.workers is not None and args.workers < 1:
        raise ScenarioError("--workers", args.workers, "must be >= 1")
    wait = getattr(args, "no_worker_timeout", None)
    if wait is not None and not (0 < wait < math.inf):
        raise ScenarioError("--no-worker-timeout", wait, "must be a positive number of seconds")
    args.dashboard = _check_dashboard(getattr(args, "dashboard", None))
    exp = load_experiment(args.file, method=method, **load)
    if transform is not None:
        exp = transform(exp)
    out = Path(args.out) if args.out else Path("results") / f"{exp.name}{suffix}"
    prepare_out_dir(exp, out, args.resume)
    if args.scheduler:
        _check_scheduler(args.scheduler)
    for note in exp.notes:
        print(f"note: {note}", file=sys.stderr)
    return exp, out


def _run(exp, out, args):
    from experiments.runner import run_experiment

    report = run_experiment(
        exp,
        out,
        workers=args.workers,
        scheduler=args.scheduler,
        no_worker_timeout=getattr(args, "no_worker_timeout", None),
        resume=args.resume,
        progress=not args.quiet,
        dashboard=args.dashboard,
        command=getattr(args, "command_line", None),
    )
    for item in report.repaired:
        print(
            f"repaired: {item['path']} {item['reason']}; moved to {item['moved_to']}, run again",
            file=sys.stderr,
        )
    print(
        f"{exp.name}: {report.ok} ok, {report.failed} failed, {report.skipped} already done, "
        f"{report.total} runs in {out} ({report.engine}, {report.wall_s:.1f} s)"
    )
    for run_id, err in report.failures[:5]:
        print(f"  failed {run_id}: {err}", file=sys.stderr)
    if len(report.failures) > 5:
        print(f"  ... and {len(report.failures) - 5} more (see summary.parquet)", file=sys.stderr)
    return report


def _guard(fn):
    def wrapped(args) -> int:
        from experiments.runner import SweepError

        try:
            return fn(args)
        except ScenarioError as exc:
            return _error(str(exc))
        except SweepError as exc:
            return _error(str(exc), EXIT_CLUSTER)
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            return _error(f"cannot write or read{where}: {exc.strerror or exc}")
        except KeyboardInterrupt:
            print(
                "interrupted; rerun the same command with --resume to complete it", file=sys.stderr
            )
            return EXIT_INTERRUPTED

    wrapped.__name__ = fn.__name__
    wrapped.__doc__ = fn.__doc__
    return wrapped


@_guard
def cmd_sweep(args) -> int:
    exp, out = _prepare(args)
    report = _run(exp, out, args)
    return EXIT_FAILED_RUNS if report.failed else EXIT_OK


@_guard
def cmd_policy(args) -> int:
    from experiments.policy import apply_draws, format_effects, policy_effects

    exp, out = _prepare(args, transform=lambda e: _policy_design(e, args, apply_draws))
    if exp.spec.policy is None:
        raise ScenarioError(
            "policy", None, 'a policy file needs [policy] baseline = "<design point name>"'
        )
    if exp.method != "list":
        raise ScenarioError(
            "design.method", exp.method, 'a policy file needs method = "list" with named points'
        )
    report = _run(exp, out, args)
    pol = exp.spec.policy
    draws = getattr(exp, "design", None)
    effects = policy_effects(
        report.summary,
        pol.baseline,
        exp.summary_outcomes,
        pol.confidence,
        draws.seeds_per_draw if draws is not None else None,
    )
    _write_analysis(exp, out, "policy_effects", effects)
    print(format_effects(effects, pol.baseline, pol.confidence))
    return EXIT_FAILED_RUNS if report.failed else EXIT_OK


def _policy_design(exp, args, apply_draws):
    """A policy file checked first (so its own errors come before the draw options'), then run
    over ``--param-draws`` × ``--seeds``."""
    if exp.spec.policy is None or exp.method != "list":
        return exp  # cmd_policy names the problem
    return apply_draws(exp, args)


@_guard
def cmd_sensitivity(args) -> int:
    from experiments.sensitivity import analyse, format_ranking, plot

    if not 0.5 < args.confidence < 1:
        raise ScenarioError("--confidence", args.confidence, "must be between 0.5 and 1")
    if args.second_order and args.method != "sobol":
        raise ScenarioError("--second-order", True, "second-order indices need --method sobol")
    load = {"samples": args.samples}
    if args.second_order:
        load["second_order"] = True
    exp, out = _prepare(args, method=args.method, suffix=f"_{args.method}", **load)
    report = _run(exp, out, args)
    table, notes = analyse(exp, report.summary, args.method, args.confidence)
    _write_analysis(exp, out, f"sensitivity_{args.method}", table)
    print(format_ranking(table, args.method))
    print(
        f"method {args.method}, N = {exp.samples} ({len(exp.points)} points × {exp.replicates} "
        f"replicates), confidence {args.confidence:g}, bootstrap seed "
        f"{int(exp.root_seed % 2**32)}"
    )
    for note in notes:
        print(note if note.startswith("warning:") else f"note: {note}")
    if len(table):
        fig = plot(table, args.method, out / "figures" / f"sensitivity_{args.method}.png")
        print(f"figure: {fig}")
    return EXIT_FAILED_RUNS if report.failed else EXIT_OK


def _write_analysis(exp, out: Path, name: str, df) -> None:
    """An analysis table of a sweep as ``name``.parquet and .csv: ``run_id`` (the sweep's design
    hash, which starts every run id of the sweep) and ``seed`` (its root seed) first."""
    from ecosystem.output_tables import arrow_table
    from ecosystem.outputs import mark, write_csv, write_parquet

    table = arrow_table({c: df[c] for c in df.columns}, exp.design_hash, exp.root_seed)
    write_parquet(table, out / f"{name}.parquet")
    write_csv(table.to_pandas(), out / f"{name}.csv")
    mark(out, "sweep", [f"{name}.parquet", f"{name}.csv", "figures"])


@_guard
def cmd_report(args) -> int:
    from experiments.report import write_report

    path = write_report(args.dir, args.html_dir)
    print(f"report: {path}")
    return EXIT_OK


@_guard
def cmd_query(args) -> int:
    import pandas as pd

    from experiments.results import query

    df = query(args.dir, args.sql)
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(df.to_json(orient="records", default_handler=str))
    else:
        with pd.option_context(
            "display.max_rows", 500, "display.max_columns", 50, "display.width", 200
        ):
            print(df.to_string(index=False) if len(df) else "(no rows)")
    return EXIT_OK


@_guard
def cmd_rerun(args) -> int:
    from experiments.results import check_results_dir
    from experiments.runner import read_manifest
    from experiments.spec import rebuild_experiment

    src = Path(args.dir)
    if src.is_file() and src.name == "manifest.json":
        src = src.parent
    manifest = read_manifest(src) if src.is_dir() else {}
    if src.is_dir() and manifest and "design_hash" not in manifest:
        return _rerun_single(src, args)
    check_results_dir(src)
    exp = rebuild_experiment(manifest, src)
    args.file = str(src / "manifest.json")
    args.out = args.out or f"{str(src).rstrip('/')}-rerun"
    args.dashboard = None
    from experiments.runner import prepare_out_dir

    out = Path(args.out)
    prepare_out_dir(exp, out, False)
    if args.scheduler:
        _check_scheduler(args.scheduler)
    report = _run(exp, out, args)
    same, detail = compare_sweeps(src, out, manifest)
    print(f"rerun of {src}: {detail}")
    if not same:
        return EXIT_FAILED_RUNS
    return EXIT_FAILED_RUNS if report.failed else EXIT_OK


def compare_sweeps(a: Path, b: Path, manifest: dict) -> tuple[bool, str]:
    """Whether two results directories hold the same numbers, run by run."""
    import pandas as pd
    import pyarrow.parquet as pq

    from experiments.runner import summary_frame

    params, outcomes = manifest.get("parameters", []), manifest.get("outcomes", [])
    sa = summary_frame(a, params, outcomes, manifest.get("design_hash"))
    sb = summary_frame(b, params, outcomes, manifest.get("design_hash"))
    drop = ["elapsed_s"]
    sa, sb = sa.drop(columns=drop), sb.drop(columns=drop)
    if len(sa) != len(sb) or list(sa["run_id"]) != list(sb["run_id"]):
        return False, f"different runs ({len(sa)} here, {len(sb)} in the rerun)"
    try:
        pd.testing.assert_frame_equal(sa, sb)
    except AssertionError as exc:
        return False, f"outcomes differ: {str(exc).splitlines()[0]}"
    for run_id in sa["run_id"]:
        ta = pq.read_table(a / "runs" / f"{run_id}.parquet").drop_columns([])
        tb = pq.read_table(b / "runs" / f"{run_id}.parquet")
        if not ta.replace_schema_metadata().equals(tb.replace_schema_metadata()):
            return False, f"monthly KPIs of {run_id} differ"
    return True, f"identical ({len(sa)} runs, every outcome and monthly KPI)"


def _rerun_single(src: Path, args) -> int:
    """A single run's folder: run it again from its manifest (``ecosystem.run.rerun``) into
    ``--out`` (default ``DIR-rerun``) and check every table and network file is identical."""
    from ecosystem.run import rerun

    out = Path(args.out or f"{str(src).rstrip('/')}-rerun")
    rerun(src, out)
    written = sorted(
        p.relative_to(src)
        for p in src.rglob("*")
        if p.is_file() and p.suffix in (".parquet", ".graphml")
    )
    differ = [str(rel) for rel in written if (src / rel).read_bytes() != _bytes_or_none(out / rel)]
    if differ:
        print(f"rerun of {src}: {len(differ)} of {len(written)} files differ: {', '.join(differ)}")
        return EXIT_FAILED_RUNS
    print(f"rerun of {src}: all {len(written)} tables and networks identical (in {out})")
    return EXIT_OK


def _bytes_or_none(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


# --------------------------------------------------------------------------------------------
# aieco calibrate
# --------------------------------------------------------------------------------------------
def _register_calibrate(subparsers) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="Bayesian calibration: simulate prior draws into a store, infer the posterior "
        "(sbi NPE), check it (--ppc); or check a scenario against its targets (--check)",
        description="Simulate --budget prior draws of a calibration spec's parameters (CITY: "
        "experiments/calibration/CITY.toml, or a SPEC.toml) and store their summary statistics "
        "in DIR/store.parquet (resumable, extendable with a larger --budget and --resume); "
        "print the prior predictive of each statistic against its target; then train an "
        "ensemble of neural posterior estimators on the store, condition on the observed "
        "targets and write DIR/posterior.parquet (or, with the spec's or --method rejection, "
        "keep the simulations nearest the targets; the NPE needs the extra aieco[calibrate]; "
        "--store-only skips it, --infer does only it). --ppc N re-simulates N posterior draws "
        "and reports each target against its 90% posterior predictive interval. --summary "
        "prints the prior predictive from an existing store. --check SCENARIO --seeds N is the "
        "hand-calibration check of ecosystem/calibration.py (targets vs. the scenario over N "
        "seeds).",
    )
    p.add_argument(
        "target",
        metavar="CITY|SPEC.toml|all|national",
        help="calibration spec (experiments/calibration/CITY.toml or a file); 'all': stage A "
        "(Hangzhou) if its posterior is missing or stale, then every other city (stage B); "
        "'national': stage C, --budget joint draws (default 200) of the china preset from the "
        "shipped posteriors, reweighted by the national statistics not held out "
        "(DIR/national.parquet, DIR/report.md); "
        "with --check: a scenario, preset name or TOML file",
    )
    p.add_argument(
        "--budget",
        type=int,
        metavar="N",
        help="simulations the store should hold (all: per city; default each spec's "
        "default_budget; national: joint draws, default 200)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="the store's directory (default: results/calibrate_<name>; all: results/"
        "calibrate_all, with DIR/stores/<city>, DIR/posteriors/<city>.parquet, DIR/report.md)",
    )
    p.add_argument(
        "--core-posterior",
        metavar="FILE",
        help="stage B: the stage-A posterior θ_core is drawn from (default: the spec's "
        "core.posterior; all: a fresh DIR/posteriors/hangzhou.parquet, else the shipped one, "
        "else stage A runs)",
    )
    p.add_argument(
        "--stage-a-budget",
        type=int,
        metavar="N",
        help="all: simulations of stage A when it must run (default hangzhou.toml's "
        "default_budget)",
    )
    p.add_argument(
        "--months",
        type=int,
        metavar="M",
        help="override every spec's horizon (quick checks and tests; not for results)",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="K",
        help="local worker processes (default: all cores; 1 = in this process)",
    )
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on a Dask cluster")
    p.add_argument(
        "--resume",
        action="store_true",
        help="complete an interrupted store or extend it to a larger --budget",
    )
    p.add_argument(
        "--summary",
        action="store_true",
        help="print the prior predictive of each statistic against its target from the store",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    inf = p.add_argument_group("inference (needs aieco[calibrate]: torch and sbi)")
    inf.add_argument(
        "--store-only", action="store_true", help="with --budget: build the store, do not infer"
    )
    inf.add_argument(
        "--infer",
        action="store_true",
        help="infer the posterior from the existing store (no simulation)",
    )
    inf.add_argument(
        "--posterior",
        metavar="FILE",
        help="the posterior file written by inference and read by --ppc "
        "(default: DIR/posterior.parquet; with a --method other than the spec's: "
        "DIR/posterior_<method>.parquet)",
    )
    inf.add_argument(
        "--samples", type=int, default=4000, metavar="N", help="posterior draws (default 4000)"
    )
    inf.add_argument(
        "--ensemble",
        type=int,
        default=DEFAULT_ENSEMBLE,
        metavar="K",
        help=f"NPEs in the ensemble, each its own training seed (default {DEFAULT_ENSEMBLE})",
    )
    inf.add_argument(
        "--npe-seed",
        type=int,
        metavar="S",
        help="training seed of the NPEs (default: the spec's root seed); another seed refits "
        "the same store, which measures the posterior's own fitting noise",
    )
    inf.add_argument(
        "--nan",
        choices=NAN_POLICIES,
        default=NAN_POLICIES[0],
        help="statistics undefined in some simulations: impute + missing indicator (default) "
        "or drop the statistic",
    )
    inf.add_argument(
        "--method",
        choices=INFERENCE_METHODS,
        help="npe: an ensemble of neural posterior estimators; rejection: rejection ABC, the "
        "--accept share of the store's simulations nearest the targets (every target weighted "
        "by its band; no training, so --samples, --ensemble and --nan do nothing; not for "
        "stage B). Default: the spec's [calibration] method (npe unless it says; hangzhou: "
        "rejection); another method than the spec's writes DIR/posterior_<method>.parquet "
        "unless --posterior; docs/calibration-method.md",
    )
    inf.add_argument(
        "--accept",
        type=float,
        metavar="SHARE",
        help="rejection: the share of ok simulations kept (default: the spec's accept, else 0.05)",
    )
    inf.add_argument(
        "--condition",
        choices=CONDITIONING,
        help="npe: condition on each target's observed value (point) or on its band: given "
        "that each statistic lies in its band (band), or with a normal error whose 90%% "
        "interval is the band (normal); default: the spec's [calibration] conditioning (point "
        "unless it says); part of the target set; docs/calibration-method.md",
    )
    inf.add_argument(
        "--ppc",
        type=int,
        metavar="N",
        help="posterior predictive check: simulate the first N posterior draws (into "
        "DIR/ppc_<hash>) and report each target against its 90%% predictive interval",
    )
    check = p.add_argument_group("target check (--check)")
    check.add_argument(
        "--check",
        action="store_true",
        help="compare a scenario with ecosystem/calibration.py's targets over --seeds seeds",
    )
    check.add_argument(
        "--seeds", type=int, help="--check: number of seeds, 0..N-1 (default 20; implies --check)"
    )
    from ecosystem.cli import add_set_option

    add_set_option(check, "--check: override a scenario value by dotted path (repeat)")
    check.add_argument("--csv", default=None, help="--check: also write per-seed measures here")
    p.set_defaults(func=cmd_calibrate, dashboard=None)


def cmd_calibrate(args) -> int:
    if args.check or args.seeds is not None:
        from ecosystem import cli as model_cli
        from experiments.calibrate import given_flag

        unused = (
            "--budget", "--infer", "--ppc", "--store-only", "--posterior", "--summary",
            "--resume", "--workers", "--scheduler", "--out", "--core-posterior",
            "--stage-a-budget", "--months", "--method", "--accept", "--condition",
        )  # fmt: skip
        if flag := given_flag(args, unused):
            return _error(f"{flag}: not used by --check (it takes --seeds, --set, --csv)")
        args.scenario = args.target
        args.seeds = 20 if args.seeds is None else args.seeds
        return model_cli.cmd_calibrate(args)
    if args.target == "all":
        return _cmd_all(args)
    if args.target == "national":
        return _cmd_national(args)
    return _cmd_store(args)


@_guard
def _cmd_all(args) -> int:
    from experiments.calibrate_all import calibrate_all

    return calibrate_all(args)


@_guard
def _cmd_national(args) -> int:
    from experiments.calibrate_national import calibrate_national

    return calibrate_national(args, _run, _check_scheduler)


@_guard
def _cmd_store(args) -> int:
    import math

    from experiments.calibrate import (
        METHOD_FLAGS,
        check_inference_options,
        check_method_options,
        check_store_revision,
        existing_draws,
        format_predictive,
        given_flag,
        given_value,
        load_spec,
        predictive,
        write_store,
    )
    from experiments.runner import prepare_out_dir

    if args.overrides or args.csv:
        flag = "--set" if args.overrides else "--csv"
        raise ScenarioError(flag, args.overrides or args.csv, "is only for --check")
    if args.stage_a_budget is not None:
        raise ScenarioError("--stage-a-budget", args.stage_a_budget, "is only for 'all'")
    if args.months is not None and not 1 <= args.months <= 600:
        raise ScenarioError("--months", args.months, "must be in 1..600")
    spec = load_spec(args.target, args.core_posterior, args.months)
    out = Path(args.out) if args.out else Path("results") / f"calibrate_{spec.name}"
    # another method than the spec's writes beside its posterior, never over it
    other = args.method is not None and args.method != spec.meta.method
    default = f"posterior_{args.method}.parquet" if other else "posterior.parquet"
    posterior_path = Path(args.posterior) if args.posterior else out / default
    infers = args.infer or (args.budget is not None and not args.store_only)
    if not (spec.calibrated and infers) and (flag := given_flag(args, METHOD_FLAGS)):
        why = "is for --infer (or --budget N without --store-only)"
        if not spec.calibrated:
            why += f"; {spec.name} conditions on nothing, its posterior is its prior"
        elif args.ppc is not None:
            why += "; --ppc reads the posterior file"
        raise ScenarioError(flag, given_value(args, flag), why)
    check_method_options(args, spec)
    if given_flag(args, METHOD_FLAGS):  # the spec as the command line changes it
        spec = load_spec(
            args.target, args.core_posterior, args.months, args.condition, args.method, args.accept
        )
    rejection = spec.meta.method == "rejection"
    if not spec.calibrated:
        check_inference_options(args)
        return _write_prior_posterior(spec, posterior_path, args.samples)
    steps = [f for f, on in (("--infer", args.infer), ("--ppc", args.ppc is not None)) if on]
    if len(steps) > 1 or (steps and args.summary):
        raise ScenarioError(steps[0], None, "give one of --summary, --infer, --ppc at a time")
    if steps and args.budget is not None:
        raise ScenarioError(
            steps[0], None, "works on an existing store; --budget N builds and infers"
        )
    if args.store_only and args.budget is None:
        raise ScenarioError("--store-only", None, "goes with --budget N")
    check_inference_options(args)
    if args.ppc is not None:
        return _cmd_ppc(args, spec, out, posterior_path)
    if args.budget is None:
        if not (args.summary or args.infer):
            raise ScenarioError(
                "--budget",
                None,
                "give --budget N (simulations), --infer, --ppc N, --summary or --check",
            )
        df = _read_store_of(spec, out)
        info = spec.describe()
        if args.summary:
            print(format_predictive(predictive(df, info), info, df))
            return EXIT_OK
        if not rejection:
            from experiments.inference import require

            require("--infer")
        return _infer(args, spec, out, df, posterior_path)
    if args.budget < 1:
        raise ScenarioError("--budget", args.budget, "must be >= 1 (simulations)")
    if args.budget > 1_000_000:
        raise ScenarioError("--budget", args.budget, "must be <= 1,000,000")
    if args.workers is not None and args.workers < 1:
        raise ScenarioError("--workers", args.workers, "must be >= 1")
    if args.workers is not None and args.scheduler:
        raise ScenarioError("--workers", args.workers, "give --workers or --scheduler, not both")
    if not args.store_only and not rejection:
        from experiments.inference import require

        require("--budget")  # before any simulation: the store step alone is --store-only
    draws = math.ceil(args.budget / spec.meta.seeds_per_draw)
    have = existing_draws(out, spec) if out.is_dir() else 0
    if have > draws:
        print(
            f"note: {out} already holds {have} draws, more than --budget {args.budget} asks; "
            "the store keeps them all",
            file=sys.stderr,
        )
    if have:
        check_store_revision(out, spec)
    exp = spec.experiment(max(draws, have))
    prepare_out_dir(exp, out, args.resume)
    if args.scheduler:
        _check_scheduler(args.scheduler)
    df = None
    try:
        report = _run(exp, out, args)
    finally:
        if out.is_dir():
            df = write_store(out, spec)  # also after Ctrl-C: the store matches runs/
    info = spec.describe()
    print(f"store: {out / 'store.parquet'} ({len(df)} simulations)")
    if (df["status"] == "ok").any():
        print()
        print(format_predictive(predictive(df, info), info, df))
    code = EXIT_FAILED_RUNS if report.failed else EXIT_OK
    if args.store_only:
        return code
    print()
    return max(code, _infer(args, spec, out, df, posterior_path))


def _read_store_of(spec, out: Path):
    from experiments.calibrate import read_store

    df, info = read_store(out)
    if info.get("spec_hash") != spec.spec_hash:
        raise ScenarioError(
            "--out",
            str(out),
            f"holds the store of spec {info.get('spec_hash')}, not "
            f"{spec.spec_hash} ({spec.source}): the spec changed; use another --out",
        )
    return df


def _infer(args, spec, out: Path, df, posterior_path: Path) -> int:
    """Train the NPE ensemble on the store, write the posterior, print its summary."""
    from experiments.calibrate import infer_store
    from experiments.inference import format_posterior, write_posterior

    draws, meta = infer_store(args, spec, df, out, not args.quiet)
    write_posterior(posterior_path, draws, meta)
    print(format_posterior(draws, meta))
    print(f"\nposterior: {posterior_path} ({len(draws)} draws)")
    return EXIT_OK


def _write_prior_posterior(spec, posterior_path: Path, samples: int) -> int:
    """A city with no observed quantity: its posterior is its prior (φ) with θ_core of stage A."""
    from experiments.inference import prior_posterior, write_posterior

    core = spec.core.sample_rows(samples, spec.meta.root_seed) if spec.core else None
    draws, meta = prior_posterior(spec.describe(), spec.draws(samples), core)
    write_posterior(posterior_path, draws, meta)
    print(f"{spec.name}: not calibrated: no observed quantity ({spec.meta.no_target_reason})")
    print(f"posterior = prior: {posterior_path} ({len(draws)} draws)")
    return EXIT_OK


def _cmd_ppc(args, spec, out: Path, posterior_path: Path) -> int:
    """Re-simulate the first N posterior draws; per target: inside the 90% predictive
    interval? Written to DIR/ppc_<hash>/ppc.md and ppc.csv, printed as a table."""
    from ecosystem.outputs import write_csv, write_text
    from experiments.calibrate import posterior_check, ppc_points, store_frame
    from experiments.inference import read_posterior
    from experiments.runner import prepare_out_dir

    if args.workers is not None and args.workers < 1:
        raise ScenarioError("--workers", args.workers, "must be >= 1")
    post, meta = read_posterior(posterior_path)
    if meta.get("spec_hash") != spec.spec_hash:
        raise ScenarioError(
            "--posterior",
            str(posterior_path),
            f"was inferred for spec {meta.get('spec_hash')}, not {spec.spec_hash} ({spec.source})",
        )
    if len(post) < args.ppc:
        raise ScenarioError("--ppc", args.ppc, f"the posterior holds only {len(post)} draws")
    X, core, tag = ppc_points(spec, post, args.ppc)
    exp = spec.experiment(len(X), X=X, tag=tag, core=core)
    ppc_dir = out / f"ppc_{tag}"
    prepare_out_dir(exp, ppc_dir, args.resume)
    if args.scheduler:
        _check_scheduler(args.scheduler)
    report = _run(exp, ppc_dir, args)
    df = store_frame(ppc_dir, spec, exp.design_hash)
    info = spec.describe()
    table, text = posterior_check(df, info, out)
    text += f"\n\nPosterior: {posterior_path} (targets {meta.get('target_set')})."
    write_text(ppc_dir / "ppc.md", text + "\n")
    write_csv(table, ppc_dir / "ppc.csv")
    print(text)
    print(f"\nposterior predictive check: {ppc_dir / 'ppc.md'}")
    return EXIT_FAILED_RUNS if report.failed else EXIT_OK


# --------------------------------------------------------------------------------------------
# aieco validation
# --------------------------------------------------------------------------------------------
def _register_validation(subparsers) -> None:
    from ecosystem.cli import add_output_flags, add_set_option
    from experiments import options as opt

    p = subparsers.add_parser(
        "validation",
        help="out-of-sample validation: the held-out patterns of docs/validation.md, pass or fail",
        description="Run a single-city and the national scenario over D parameter draws × S "
        "seeds, compute every held-out pattern of docs/validation.md from the runs' tables, and "
        "report each against its pre-registered band (median, 90% intervals with seed noise "
        "and parameter uncertainty apart, PASS/FAIL, or 'not evaluable' with the reason). "
        "Writes DIR/validation.parquet, DIR/runs.parquet, DIR/manifest.json and replaces the "
        "generated results section of --doc (the pre-registration above it is kept). Not "
        "'aieco validate FILE', which checks a scenario file.",
    )
    p.add_argument(
        "--replicates",
        "--seeds",
        dest="replicates",
        type=int,
        default=opt.VALIDATION_SEEDS_PER_DRAW,
        metavar="S",
        help="seeds per parameter draw (default %(default)s)",
    )
    # the validation measures the posterior against held-out patterns: no assumption draws
    opt.add_draw_arguments(p, default_draws=opt.VALIDATION_DRAWS, assumptions=False)
    p.add_argument(
        "--years",
        type=int,
        default=opt.VALIDATION_YEARS,
        help="horizon in years, 1–50 (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument(
        "--city",
        metavar="PRESET",
        default=opt.VALIDATION_CITY,
        help="the single-city scenario (preset or TOML file; default %(default)s)",
    )
    p.add_argument(
        "--national",
        metavar="PRESET",
        default=opt.VALIDATION_NATIONAL,
        help="the national scenario of patterns 2 and 5-8 (default %(default)s)",
    )
    add_set_option(
        p,
        "set a scenario value in both scenarios, by dotted path (repeat); a drawn parameter set "
        "here is held at the value, not drawn (e.g. startups.fit_drift_sigma=0.1: the patterns "
        "with one parameter held, the rest drawn)",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="K",
        help="local worker processes (default: all cores; 1 = in this process)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        default=opt.VALIDATION_OUT,
        help="output folder (default %(default)s)",
    )
    p.add_argument(
        "--doc",
        metavar="FILE",
        default=opt.VALIDATION_DOC,
        help="the pre-registration page whose results section is replaced "
        "(default %(default)s; 'none' writes no page)",
    )
    add_output_flags(p)
    p.set_defaults(func=cmd_validation)


def cmd_validation(args) -> int:
    from experiments.validation import cmd_validation as run

    return run(args)
