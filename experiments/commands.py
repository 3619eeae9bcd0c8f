"""The ``aieco`` subcommands of the experiment layer: sweep, policy, sensitivity, report, query.

``experiments.cli`` (the ``aieco`` entry point) calls :func:`register`. Exit codes: 0 done, 1 done but some runs failed, 2 bad input (one line
``error: ...`` on stderr, nothing written), 130 interrupted (rerun with ``--resume``).
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from urllib.parse import urlparse

from ecosystem.scenario import ScenarioError

EXIT_OK, EXIT_FAILED_RUNS, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _error(msg: str) -> int:
    print(f"error: {msg}".replace("\n", " "), file=sys.stderr)
    return EXIT_BAD_INPUT


def _add_run_options(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("file", metavar="FILE", help="experiment file (TOML; see experiments/examples/)")
    p.add_argument("--out", metavar="DIR", help=f"results directory (default: results/<experiment name>{what})")
    p.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: all cores; 1 = in this process)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on an existing Dask distributed cluster")
    p.add_argument("--resume", action="store_true", help="complete an interrupted sweep in DIR: skip completed runs, rerun failed ones")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(subparsers) -> None:
    """Add sweep, policy, sensitivity, report and query to an argparse subparsers object."""
    p = subparsers.add_parser("sweep", help="run an experiment's design (replicates per point) and store every run",
                              description="Run every design point of an experiment file with its replicates; "
                                          "one Parquet file per run under DIR/runs, DIR/summary.parquet, DIR/manifest.json.")
    _add_run_options(p, "")
    p.set_defaults(func=cmd_sweep)

    p = subparsers.add_parser("policy", help="baseline and policy variants with common random numbers; effects with CIs",
                              description="Run a list design with a [policy] baseline, then report each variant's "
                                          "effect against the baseline (paired by replicate) with confidence intervals.")
    _add_run_options(p, "")
    p.set_defaults(func=cmd_policy)

    p = subparsers.add_parser("sensitivity", help="Morris or Sobol sensitivity analysis (SALib)",
                              description="Sample the experiment's parameter ranges with SALib, run the sample and "
                                          "write indices with confidence intervals, a ranked table and a figure.")
    _add_run_options(p, "_<method>")
    p.add_argument("--method", choices=["morris", "sobol"], required=True)
    p.set_defaults(func=cmd_sensitivity)

    p = subparsers.add_parser("report", help="figures (PNG) and an HTML page for a results directory")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--html-dir", metavar="PATH", help="where to write index.html and figures/ (default: DIR/report)")
    p.set_defaults(func=cmd_report)

    p = subparsers.add_parser("query", help="SQL (DuckDB) over a results directory: tables summary and runs")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("sql", metavar="SQL")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=cmd_query)


# --------------------------------------------------------------------------------------------
def _check_scheduler(address: str) -> None:
    u = urlparse(address if "://" in address else f"tcp://{address}")
    if u.scheme not in ("tcp", "tls") or not u.hostname or not u.port:
        raise ScenarioError("--scheduler", address, "must look like tcp://HOST:PORT")
    try:
        with socket.create_connection((u.hostname, u.port), timeout=5):
            pass
    except OSError as exc:
        raise ScenarioError("--scheduler", address, f"no Dask scheduler answers there ({exc.strerror or exc})") from None


def _prepare(args, method: str | None = None, suffix: str = ""):
    """Validate everything before any run; return (experiment, out dir)."""
    from experiments.runner import prepare_out_dir
    from experiments.spec import load_experiment

    if args.workers is not None and args.workers < 1:
        raise ScenarioError("--workers", args.workers, "must be >= 1")
    exp = load_experiment(args.file, method=method)
    out = Path(args.out) if args.out else Path("results") / f"{exp.name}{suffix}"
    prepare_out_dir(exp, out, args.resume)
    if args.scheduler:
        _check_scheduler(args.scheduler)
    return exp, out


def _run(exp, out, args):
    from experiments.runner import run_experiment

    report = run_experiment(exp, out, workers=args.workers, scheduler=args.scheduler,
                            resume=args.resume, progress=not args.quiet)
    print(f"{exp.name}: {report.ok} ok, {report.failed} failed, {report.skipped} already done, "
          f"{report.total} runs in {out} ({report.engine}, {report.wall_s:.1f} s)")
    for run_id, err in report.failures[:5]:
        print(f"  failed {run_id}: {err}", file=sys.stderr)
    if len(report.failures) > 5:
        print(f"  ... and {len(report.failures) - 5} more (see summary.parquet)", file=sys.stderr)
    return report


def _guard(fn):
    def wrapped(args) -> int:
        try:
            return fn(args)
        except ScenarioError as exc:
            return _error(str(exc))
        except KeyboardInterrupt:
            print("interrupted; rerun the same command with --resume to complete it", file=sys.stderr)
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
    from ecosystem.outputs import write_parquet
    from experiments.policy import format_effects, policy_effects

    exp, out = _prepare(args)
    if exp.spec.policy is None:
        raise ScenarioError("policy", None, "a policy file needs [policy] baseline = \"<design point name>\"")
    if exp.method != "list":
        raise ScenarioError("design.method", exp.method, "a policy file needs method = \"list\" with named points")
    report = _run(exp, out, args)
    pol = exp.spec.policy
    effects = policy_effects(report.summary, pol.baseline, exp.summary_outcomes, pol.confidence)
    write_parquet(effects, out / "policy_effects.parquet")
    effects.to_csv(out / "policy_effects.csv", index=False)
    print(format_effects(effects, pol.baseline, pol.confidence))
    return EXIT_FAILED_RUNS if report.failed else EXIT_OK


@_guard
def cmd_sensitivity(args) -> int:
    from ecosystem.outputs import write_parquet
    from experiments.sensitivity import analyse, format_ranking, plot

    exp, out = _prepare(args, method=args.method, suffix=f"_{args.method}")
    report = _run(exp, out, args)
    table, notes = analyse(exp, report.summary, args.method)
    write_parquet(table, out / f"sensitivity_{args.method}.parquet")
    table.to_csv(out / f"sensitivity_{args.method}.csv", index=False)
    print(format_ranking(table, args.method))
    for note in notes:
        print(f"note: {note}")
    if len(table):
        fig = plot(table, args.method, out / "figures" / f"sensitivity_{args.method}.png")
        print(f"figure: {fig}")
    return EXIT_FAILED_RUNS if report.failed else EXIT_OK


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
        with pd.option_context("display.max_rows", 500, "display.max_columns", 50, "display.width", 200):
            print(df.to_string(index=False) if len(df) else "(no rows)")
    return EXIT_OK
