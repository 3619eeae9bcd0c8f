"""``aieco``: one command line for the model, its experiments and its browser app.

The model's commands come from ``ecosystem.cli``; experiment commands from
``experiments.commands``; ``aieco viz`` starts the Solara app in ``viz/`` as a server process
(nothing here imports ``viz``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import shlex
import sys
import warnings

from ecosystem import cli as model_cli
from ecosystem.scenario import ScenarioError


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit code 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(model_cli.EXIT_USAGE, f"error: {message}\n")


#: ``aieco compare``'s line in ``aieco --help`` (the full parser is built only for that command).
COMPARE_HELP = "run the cities side by side (replicates, common seeds) and tabulate them"


def build_parser(command: str | None = "compare") -> argparse.ArgumentParser:
    """The ``aieco`` parser; ``command`` (the subcommand about to run) lets the parser skip
    importing the modules of other commands, so ``aieco validate`` starts fast."""
    parser = _Parser(prog="aieco", description="Agent-based model of regional AI ecosystems.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    model_cli.add_commands(sub)
    if command == "run":  # aieco run SCENARIO --replicates S [--param-draws D]
        from experiments.compare import add_replicate_arguments

        add_replicate_arguments(sub.choices["run"])
        sub.choices["run"].set_defaults(func=cmd_run)
    from experiments import commands

    commands.register(sub)
    if command == "compare":
        from experiments import compare

        compare.register(sub)
    else:  # only its line in --help: importing compare costs numpy and pandas
        sub.add_parser("compare", help=COMPARE_HELP)
    viz = sub.add_parser("viz", help="start the browser app (offline)")
    viz.add_argument("--host", default="127.0.0.1")
    viz.add_argument("--port", type=int, default=8765)
    viz.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other than 127.0.0.1 (prints a warning)",
    )
    viz.set_defaults(func=cmd_viz)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    """``aieco run``: one run (``ecosystem.cli``), or with ``--replicates`` / ``--param-draws``
    many, tabulated by ``experiments.compare``."""
    if args.replicates is None and not args.param_draws:
        for flag in ("workers", "posterior"):
            if getattr(args, flag) is not None:
                return model_cli.fail(f"--{flag}: only with --replicates S")
        return model_cli.cmd_run(args)
    from experiments.compare import cmd_run_replicates

    return cmd_run_replicates(args)


def cmd_viz(args: argparse.Namespace) -> int:
    """Serve the app (``python -m viz``: offline, no telemetry).

    This process becomes ``python -m viz`` (exec, same pid), so a SIGTERM sent to ``aieco viz``
    reaches the launcher that stops the server it started."""
    import os

    if importlib.util.find_spec("viz") is None:
        return model_cli.fail("the browser app (viz/) is not installed")
    if not 0 < args.port < 65536:
        return model_cli.fail(f"--port = {args.port}: must be between 1 and 65535")
    argv = [sys.executable, "-m", "viz", "--host", args.host, "--port", str(args.port)]
    if args.allow_remote:
        argv.append("--allow-remote")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)
    return 0  # not reached


@contextlib.contextmanager
def scenario_warnings_once():
    """Each distinct ScenarioWarning is printed once per command, as one line: a command that
    loads a scenario for every run (compare, policy, sweeps in this process) would otherwise
    print the same warning per run, because anything that touches the warning filters (many
    libraries do) makes Python show it again. Other warnings are shown as usual."""
    from ecosystem.scenario import ScenarioWarning

    shown: set[str] = set()
    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if not issubclass(category, ScenarioWarning):
            return previous(message, category, filename, lineno, file, line)
        text = str(message)
        if text not in shown:
            shown.add(text)
            print(f"aieco: warning: {text}", file=sys.stderr if file is None else file)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    # What was asked, as a shell would run it again (recorded in manifests): the argv given to
    # main, not sys.argv, which is the host program's when aieco runs in-process (tests, EMA).
    args.command_line = shlex.join(["aieco", *argv])
    try:
        with scenario_warnings_once():
            return int(args.func(args) or 0)
    except ScenarioError as exc:  # a command that let a user error through: still one line
        return model_cli.fail(str(exc))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
