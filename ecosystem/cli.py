"""The model's own commands: ``aieco run``, ``presets``, ``show``, ``validate`` and
``derive-background`` (and the target check behind ``aieco calibrate --check``, whose parser is
in ``experiments.commands``).

``experiments.cli`` assembles these with the experiment and app commands into one ``aieco``.
User errors (bad scenario, bad option) print one line and exit with code 2; nothing is written.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

from ecosystem.scenario import (
    ScenarioError,
    dump_toml,
    load_document,
    load_scenario,
    parse_overrides,
    preset_names,
    strip_provenance,
)

EXIT_USAGE = 2
#: The model raised on a scenario that passed validation (a bug to report, not a user error).
EXIT_MODEL_FAILED = 1


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _seed_arg(name: str):
    def parse(text: str) -> int:
        from ecosystem.seeds import seed_problem

        try:
            value = int(text)
        except ValueError:
            value = text
        problem = seed_problem(value)
        if problem:
            raise argparse.ArgumentTypeError(f"{name} = {text!r}: {problem}")
        return value

    return parse


def add_output_flags(p: argparse.ArgumentParser) -> None:
    """``--quiet`` and ``--overwrite``: the flags of every command that writes an output folder
    through ``ecosystem.outputs`` (run, compare, validation)."""
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="write into a non-empty folder aieco did not write (only aieco's files are replaced)",
    )


def add_set_option(p, text: str = "override a scenario value by dotted path (repeat)") -> None:
    """``--set KEY=VALUE`` (repeatable, into ``args.overrides``, parsed by
    ``ecosystem.scenario.parse_overrides``): the one scenario-override option of every command
    that takes one (``p`` is a parser or an argument group)."""
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=text
    )


def add_commands(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run a scenario and write its results")
    run.add_argument(
        "scenario", help="preset name, TOML file, or a run's DIR/manifest.json to re-run"
    )
    run.add_argument("--years", type=int, help="horizon in years, 1–50 (default: the scenario's)")
    run.add_argument("--seed", type=_seed_arg("--seed"), default=0, help="random seed (default 0)")
    run.add_argument("--out", default=None, help="output folder (default: runs/<scenario>-seed<S>)")
    add_set_option(
        run,
        "override a scenario value by dotted path, e.g. regions.hangzhou.policy.voucher_rate=0.5",
    )
    add_output_flags(run)
    run.set_defaults(func=cmd_run)

    presets = sub.add_parser("presets", help="list the shipped presets")
    presets.set_defaults(func=cmd_presets)

    show = sub.add_parser("show", help="print the fully resolved scenario as TOML with its sources")
    show.add_argument("scenario")
    add_set_option(show)
    show.set_defaults(func=cmd_show)

    validate = sub.add_parser("validate", help="check a scenario file")
    validate.add_argument("file")
    validate.set_defaults(func=cmd_validate)

    derive = sub.add_parser(
        "derive-background",
        help="write each single-city preset's hub background from the national run "
        "(the other cities' and outside users' demand at each western hub)",
    )
    derive.add_argument(
        "--seeds", type=int, default=3, help="national runs (seeds 1..N) to average (default 3)"
    )
    derive.add_argument(
        "--years", type=int, default=10, help="horizon of the national runs, 1–50 (default 10)"
    )
    derive.add_argument(
        "--dry-run", action="store_true", help="print the blocks instead of writing the presets"
    )
    add_set_option(
        derive,
        "a parameter of the national runs (repeat; e.g. a posterior's medians); the block "
        "lists them",
    )
    derive.set_defaults(func=cmd_derive_background)


def cmd_presets(args: argparse.Namespace) -> int:
    for name in preset_names():
        doc, _ = strip_provenance(load_document(name))
        meta = doc.get("meta", {})
        print(f"{name:<14} {meta.get('description', '')}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(args.scenario, args.overrides)
    except ScenarioError as exc:
        return fail(str(exc))
    sys.stdout.write(dump_toml(scenario))
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """``aieco calibrate SCENARIO --check --seeds N``: the scenario against the targets of
    ``ecosystem.calibration`` over N seeds (the parser lives in ``experiments.commands`` with the
    calibration store's; ``args``: scenario, seeds, overrides, csv)."""
    from tqdm import tqdm

    from ecosystem.calibration import calibrate, report

    if args.seeds < 1:
        return fail(f"--seeds = {args.seeds}: must be >= 1")
    try:
        scenario = load_scenario(args.scenario, args.overrides)
    except ScenarioError as exc:
        return fail(str(exc))
    with tqdm(total=args.seeds, unit="seed", file=sys.stderr) as bar:
        table = calibrate(scenario, range(args.seeds), progress=lambda: bar.update(1))
    if args.csv:
        from ecosystem.outputs import write_csv

        write_csv(table, args.csv)  # atomically: a temporary file renamed into place
    print(report(table, scenario))
    return 0


def cmd_derive_background(args: argparse.Namespace) -> int:
    """``aieco derive-background``: the single-city presets' hub background from the national
    run at default parameters, or at the ``--set`` overrides (``ecosystem.background``)."""
    from ecosystem.background import NATIONAL_PRESET, derive_background

    if not 1 <= args.seeds <= 100:
        return fail(f"--seeds = {args.seeds}: must be between 1 and 100")
    if not 1 <= args.years <= 50:
        return fail(f"--years = {args.years}: must be between 1 and 50")
    try:
        overrides = parse_overrides(args.overrides)
        load_scenario(NATIONAL_PRESET, overrides)  # bad paths or values fail before the runs
    except ScenarioError as exc:
        return fail(str(exc))
    seeds = list(range(1, args.seeds + 1))
    blocks = derive_background(seeds, args.years, write=not args.dry_run, overrides=overrides)
    for name, block in blocks.items():
        if args.dry_run:
            print(f"## {name}\n{block}")
        else:
            print(f"wrote the hub background of {name}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(args.file)
    except ScenarioError as exc:
        return fail(str(exc))
    regions = ", ".join(scenario.regions)
    print(f"ok: {args.file} ({scenario.meta.name}; regions {regions}; {scenario.meta.years} years)")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from ecosystem.outputs import check_out_dir
    from ecosystem.run import is_manifest_path, load_manifest, run_scenario
    from ecosystem.scenario import scenario_from_dict

    overrides = list(args.overrides)
    if args.years is not None:
        if not 1 <= args.years <= 50:
            return fail(f"--years = {args.years}: must be >= 1 and <= 50")
        overrides.append(f"meta.years={args.years}")
    months = None
    try:
        if is_manifest_path(args.scenario):  # re-run: the manifest fixes scenario, seed, horizon
            if overrides or args.seed:
                return fail(f"{args.scenario}: a re-run takes no --set, --years or --seed")
            manifest = load_manifest(args.scenario)
            scenario = scenario_from_dict(manifest["scenario"])
            args.seed, months = manifest["seed"], manifest["months"]
        else:
            scenario = load_scenario(args.scenario, overrides)
        out = Path(args.out) if args.out else Path("runs") / f"{scenario.meta.name}-seed{args.seed}"
        check_out_dir(out, overwrite=args.overwrite)  # before running: nothing runs for nothing
    except ScenarioError as exc:
        return fail(str(exc))
    months = scenario.months if months is None else months
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(
            total=months,
            unit="month",
            desc=f"{scenario.meta.name} seed {args.seed}",
            file=sys.stderr,
        )
    started = time.perf_counter()
    try:
        result = run_scenario(
            scenario,
            args.seed,
            months=months,
            on_month=(lambda m: bar.update(1)) if bar else None,
        )
    except Exception as exc:  # a model failure on validated input: one line, not a traceback
        if bar:
            bar.close()
        if os.environ.get("AIECO_TRACEBACK"):
            raise
        print(
            f"error: the model failed on a valid scenario ({type(exc).__name__}: {exc}); "
            "nothing was written; rerun with AIECO_TRACEBACK=1 and report it",
            file=sys.stderr,
        )
        return EXIT_MODEL_FAILED
    if bar:
        bar.close()
    elapsed = time.perf_counter() - started
    try:
        result.write(out, overwrite=args.overwrite)
    except ScenarioError as exc:
        return fail(str(exc))
    print_summary(result, elapsed, out)
    return 0


def print_summary(result, elapsed: float, out: Path) -> None:
    """A short table of the run's headline numbers."""
    s = result.summary()
    start = result.scenario.meta.start_year
    target = result.scenario.meta.target_startups

    def fmt(v: float, unit: str = "") -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "–"
        if abs(v) >= 1e8:
            return f"{v / 1e8:,.2f} 亿{unit}" if unit == "¥" else f"{v:,.3g}"
        return f"{v:,.0f}{unit}" if abs(v) >= 100 else f"{v:.3g}{unit}"

    reached = s.get("month_target_reached", float("nan"))
    when = (
        f"month {int(reached)} ({start + int(reached) // 12}-{int(reached) % 12 + 1:02d})"
        if not math.isnan(reached)
        else "not within the horizon"
    )
    rows = [
        (
            "startups alive, year 1 / 5 / 10",
            " / ".join(fmt(s.get(f"startups_alive_y{y}", float("nan"))) for y in (1, 5, 10)),
        ),
        ("startups alive at the end", fmt(s["startups_alive_end"])),
        (f"{target:,} startups reached", when),
        (
            "founded / failed / closed / acquired",
            " / ".join(
                fmt(s[f"startups_{k}_total"]) for k in ("founded", "failed", "closed", "acquired")
            ),
        ),
        (
            "known-career founders from big or famous firms",
            f"{s.get('founders_big_or_famous', float('nan')):.0%}",
        ),
        (
            "founders whose last job was at a big firm",
            f"{s.get('founders_big_firm_last_job', float('nan')):.0%}",
        ),
        ("talent net inflow per year", f"{s.get('talent_net_inflow_per_year', float('nan')):.2%}"),
        ("vouchers paid", f"¥{s['voucher_spent_yuan_total'] / 1e6:,.0f}m"),
        (
            "western utilisation, year 1 / last year",
            " / ".join(
                f"{s.get(k, float('nan')):.0%}"
                for k in ("west_utilization_y1", "west_utilization_end")
            ),
        ),
    ]
    width = max(len(r[0]) for r in rows)
    name = result.scenario.meta.name
    print(f"\n{name}, seed {result.seed}, {result.months} months in {elapsed:.1f} s")
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")
    print(f"results in {out}/")
