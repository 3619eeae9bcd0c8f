"""The paired effect of a change to the model over posterior draws: every draw × seed runs as drawn
and again with ``--against PATH=VALUE`` applied on top of the draw.

Why it exists: ``aieco policy`` refuses a lever on a path the draws set (a drawn parameter is the
draw's to set), so it cannot say what a calibrated mechanism contributes — for example the round's
plan (docs/ODD.md §7.7), whose months P are drawn: ``--against startups.round_plan_months=0``
switches it off in every draw. Given several ``--posterior`` sources it also separates a change of
posterior from a change of mechanism (the same root seed draws rows of each posterior; the seeds
are common). It sets nothing.

    .venv/bin/python experiments/examples/posterior_ablation.py [--preset hangzhou]
        [--posterior preset|NAME|FILE ...] [--draws 32] [--seeds 2] [--root-seed 0]
        [--years 10] [--set PATH=VALUE ...] --against PATH=VALUE [...] [--outcome NAME ...]
        [--rows FILE.parquet] [--workers 2]

``--set`` changes a setting in both arms (e.g. ``compute.choice_rule=marginal``: the paired
effect of ``--against`` under the structural alternative); a drawn parameter it sets is held at
that value, not drawn, as ``aieco validation --set`` holds it.

For each posterior and outcome (the outcome registry's; by default the startup count in the city
regions at the end of year 5 and of the run): the mean as drawn and with the change, the
range of the per-draw means as drawn, and the paired difference with a 95% t-interval over the
per-draw means (the seeds of a draw are averaged first: draws, not seeds, are the independent
units). The numbers do not depend on ``--workers``. ``--rows`` also writes every run (its
posterior, draw, seed, arm and outcomes) with its draw's parameter values, to ask what moves an
outcome across draws (e.g. with DuckDB: ``SELECT corr(fit_sigma, shutdowns_closed_share) FROM
'FILE.parquet' WHERE arm = 'drawn'``).
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import pandas as pd

from ecosystem import outcomes
from ecosystem.outputs import write_parquet
from ecosystem.run import run_scenario
from ecosystem.scenario import ScenarioError, apply_overrides, scenario_from_dict
from experiments.policy import mean_ci
from experiments.uncertainty import parameter_table, preset_designs

#: What is compared by default (the outcome registry's definitions, as ``aieco run`` and
#: ``compare`` report them: startups alive in the city regions); an outcome that is NaN in every
#: run (year 5 in shorter runs) is left out.
OUTCOMES = ("startups_alive_y5", "startups_alive_end")


def _run(task: tuple, which: tuple[str, ...] = OUTCOMES) -> dict:
    """One run: its labels and the outcomes ``which``."""
    label, m, seed, arm, doc = task
    result = run_scenario(scenario_from_dict(doc), seed=seed)
    values = outcomes.compute(outcomes.RunData.from_result(result), which)
    return {"posterior": label, "draw": m, "seed": seed, "arm": arm, **values}


def tasks(preset, posteriors, draws, seeds, root_seed, years, against, settings=()) -> list:
    """Every (posterior, draw, seed, arm) run, with its scenario document (``settings``, as
    ``--set`` gives them, in both arms and held: a drawn parameter they set is not drawn)."""
    out = []
    designs = preset_designs(preset, posteriors, draws, seeds, root_seed, years, settings)
    for label, doc, design in designs:
        scenario_from_dict(apply_overrides(doc, against))  # a bad --set/--against: before any run
        for m, _, seed in design.pairs():
            drawn = apply_overrides(doc, design.overrides(m))
            for arm, d in (("drawn", drawn), ("against", apply_overrides(drawn, against))):
                out.append((label, m, seed, arm, d))
    return out


def draw_parameters(preset, posteriors, draws, seeds, root_seed, years, settings=()):
    """Each (posterior, draw)'s parameter values, as ``tasks`` draws them (a DataFrame)."""
    return parameter_table(
        preset_designs(preset, posteriors, draws, seeds, root_seed, years, settings)
    )


def measure(
    preset, posteriors, draws, seeds, root_seed, years, against, workers=2, which=OUTCOMES,
    settings=(),
):  # fmt: skip
    """One row per (posterior, draw, seed, arm) with the outcomes ``which`` (``settings``: the
    ``--set`` of both arms)."""
    todo = tasks(preset, posteriors, draws, seeds, root_seed, years, against, settings)
    run = partial(_run, which=tuple(which))
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            rows = list(pool.map(run, todo))
    else:
        rows = [run(t) for t in todo]
    return pd.DataFrame(rows)


def summary(df: pd.DataFrame, which=OUTCOMES) -> pd.DataFrame:
    """Per posterior and outcome: means as drawn and with the change, the range of the per-draw
    means as drawn, the paired difference and its 95% t-interval over per-draw means."""
    rows = []
    names = [o for o in which if df[o].notna().any()]
    for label, g in df.groupby("posterior", sort=False):
        per_draw = g.groupby(["draw", "arm"])[names].mean()
        for name in names:
            wide = per_draw[name].unstack("arm")
            d = (wide["against"] - wide["drawn"]).to_numpy()
            mean, lo, hi, n = mean_ci(d)
            rows.append(
                {
                    "posterior": label,
                    "outcome": name,
                    "drawn": wide["drawn"].mean(),
                    "drawn_min": wide["drawn"].min(),
                    "drawn_max": wide["drawn"].max(),
                    "against": wide["against"].mean(),
                    "difference": mean,
                    "low_95": lo,
                    "high_95": hi,
                    "draws": n,
                    "draws_lower": int((d < 0).sum()),
                }
            )
    return pd.DataFrame(rows)


def _formatted(table: pd.DataFrame) -> pd.DataFrame:
    """The summary's numbers as text, each row to its outcome's scale: one decimal where the
    mean as drawn is 10 or more (counts, yuan), three below (shares)."""
    out = table.copy()
    for col in ("drawn", "drawn_min", "drawn_max", "against", "difference", "low_95", "high_95"):
        out[col] = [
            f"{v:,.1f}" if abs(scale) >= 10 else f"{v:.3f}"
            for v, scale in zip(table[col], table["drawn"], strict=True)
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="hangzhou")
    ap.add_argument("--posterior", action="append", default=None, metavar="preset|NAME|FILE")
    ap.add_argument("--draws", type=int, default=32)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--root-seed", type=int, default=0)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="a setting of both arms (repeatable; a drawn parameter set here is held, not drawn)",
    )
    ap.add_argument("--against", action="append", required=True, metavar="PATH=VALUE")
    ap.add_argument(
        "--outcome",
        action="append",
        default=None,
        metavar="NAME",
        help="an outcome of the registry (repeatable; default: "
        + ", ".join(OUTCOMES)
        + "; ecosystem/outcomes.py defines them)",
    )
    ap.add_argument(
        "--rows",
        default=None,
        metavar="FILE.parquet",
        help="also write every run with its draw's parameter values (before --against; Parquet)",
    )
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    if args.rows and not args.rows.endswith(".parquet"):
        ap.error(f"--rows {args.rows}: the file must end in .parquet")
    try:
        asked = dict.fromkeys(args.outcome or OUTCOMES)  # in order, each once
        which = tuple(outcomes.get(n).name for n in asked)
    except outcomes.UnknownOutcome as e:
        ap.error(f"--outcome {e.name}: {e.message}")
    posteriors = args.posterior or ["preset"]
    try:
        df = measure(
            args.preset,
            posteriors,
            args.draws,
            args.seeds,
            args.root_seed,
            args.years,
            args.against,
            args.workers,
            which,
            args.settings,
        )
    except ScenarioError as e:  # a bad --posterior, --set or --against: before any run
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(
        f"{args.preset}: {args.draws} draws x {args.seeds} seeds, root seed "
        f"{args.root_seed}, {args.years} years"
        + (f", with {' '.join(args.settings)} in both arms" if args.settings else "")
        + f"; {', '.join(which)} as drawn vs with "
        f"{' '.join(args.against)} (paired; 95% t-interval over per-draw means)"
    )
    if args.rows:
        params = draw_parameters(
            args.preset, posteriors, args.draws, args.seeds, args.root_seed, args.years,
            args.settings,
        )  # fmt: skip
        write_parquet(df.merge(params, on=["posterior", "draw"], how="left"), args.rows)
        print(f"every run with its draw's parameters: {args.rows}")
    table = summary(df, which)
    left = [o for o in which if o not in set(table["outcome"])]
    if left:
        print("left out (NaN in every run): " + ", ".join(left))
    print(_formatted(table).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
