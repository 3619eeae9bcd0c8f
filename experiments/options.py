"""Layer 0 of ``experiments``: the command-line options of parameter draws (no numpy, so that
``aieco --help`` stays light; ``experiments.uncertainty`` does the work)."""

from __future__ import annotations

DEFAULT_SPEC = "hangzhou"
#: ``aieco calibrate --infer``'s choices, read by its parser and by ``experiments.inference``:
#: the NaN policies and what the neural posterior is conditioned on (each target's value or
#: band).
NAN_POLICIES = ("indicator", "drop")
CONDITIONING = ("point", "band", "normal")
#: How ``--infer`` turns a store into a posterior: neural posterior estimation (the default)
#: or rejection ABC (the store's simulations nearest the targets, ``--accept`` of them).
INFERENCE_METHODS = ("npe", "rejection")
#: Rejection ABC's default acceptance share (``--accept``, ``[calibration] accept``), also the
#: share of nearest simulations ``aieco calibrate --summary`` shows.
DEFAULT_ACCEPT = 0.05
#: ``--posterior`` values: the posterior the scenario names (the default with draws), and none.
PRESET, PRIOR = "preset", "prior"

#: ``aieco validation``'s defaults: its parser (light) and ``experiments.validation`` (numpy,
#: pandas) read them here, so the two cannot drift apart.
VALIDATION_CITY, VALIDATION_NATIONAL = "hangzhou", "china"
VALIDATION_DRAWS, VALIDATION_SEEDS_PER_DRAW, VALIDATION_YEARS = 8, 2, 10
VALIDATION_OUT, VALIDATION_DOC = "results/validation", "docs/validation.md"


def add_draw_arguments(
    p, seeds_help: str | None = None, default_draws: int = 0, assumptions: bool = True
) -> None:
    """``--param-draws D --posterior FILE --param-spec SPEC`` (and ``--seeds S`` when
    ``seeds_help`` is given, ``--assumptions`` unless ``assumptions`` is False) on an argparse
    parser; ``default_draws`` is D's default."""
    g = p.add_argument_group(
        "parameter uncertainty (docs/outputs.md, 'Parameter uncertainty')",
        "D parameter draws × S seeds, every arm on the same (draw, seed) pairs",
    )
    g.add_argument(
        "--param-draws",
        type=int,
        default=default_draws,
        metavar="D",
        help=(
            f"parameter draws (default {default_draws}"
            + ("" if default_draws else ": seeds only, parameter uncertainty not included")
            + "; 0 = seeds only)"
        ),
    )
    if seeds_help:
        g.add_argument("--seeds", type=int, metavar="S", help=seeds_help)
    g.add_argument(
        "--posterior",
        metavar="preset|prior|NAME|FILE",
        help="where parameter draws come from: 'preset' (the default) = the calibrated "
        "posterior the scenario names (meta.posterior; else the --param-spec preset's: "
        "hangzhou's; with it, every city whose own posterior was calibrated on it), NAME = a "
        "shipped one (experiments/calibration/posteriors/NAME.parquet), FILE = a Parquet of "
        "posterior samples, one column per spec parameter (optional weight), 'prior' = every "
        "parameter from its prior range; parameters without a column come from their prior. "
        "The posteriors' predictive checks (which targets they miss) are in "
        "docs/calibration.md",
    )
    g.add_argument(
        "--param-spec",
        metavar="CITY|SPEC.toml",
        default=DEFAULT_SPEC,
        help="calibration spec naming the uncertain parameters and their priors "
        "(default %(default)s)",
    )
    if assumptions:
        g.add_argument(
            "--assumptions",
            metavar="all|PREFIX[,PREFIX]",
            help="also draw the documented assumptions (inputs with a range but no data, "
            "outside the spec: aieco show SCENARIO) whose path starts with a PREFIX (labour., "
            "regions.hangzhou.talent.), or all of them, each independently over its range; "
            "policy settings are never drawn (default: none, they stay at their values; "
            "docs/sensitivity.md measures them)",
        )
        g.add_argument(
            "--screen",
            action="store_true",
            help="with --assumptions: keep only the draws that fit the calibration targets of "
            "--param-spec at least as well as 9 in 10 posterior draws with the assumptions at "
            "their values (two extra runs per draw; experiments/screen.py)",
        )


def posterior_choice(args) -> str | None:
    """``--posterior`` as the draws use it: the posterior the scenario names (``preset``) when
    parameters are drawn and nothing else was asked; None (the priors) for ``prior``, and when
    no parameter is drawn (``--param-draws 0``: seeds only)."""
    value = getattr(args, "posterior", None)
    if value == PRIOR:
        return None
    if value is None:
        return PRESET if getattr(args, "param_draws", 0) else None
    return value


#: ``aieco calibrate --ensemble``'s default, read by its parser (light) and
#: ``experiments.inference`` (torch): NPEs in the ensemble, each its own training seed. 15
#: (5 until 4 December 2026, when three 5-member refits of one store put Hangzhou's 2034
#: count at 1,018 / 1,113 / 1,176, a spread near what 128 draws alone give): an equal-weight
#: mixture of 15 pools three such fits for ~10 CPU-s a member; three 15-member refits differ by
#: no more than their draws explain (docs/calibration.md).
DEFAULT_ENSEMBLE = 15


#: The posterior whose medians the example scripts run by default (Hangzhou's, shipped).
EXAMPLE_POSTERIOR = "experiments/calibration/posteriors/hangzhou.parquet"


def add_median_run_arguments(p, seeds: int, variants: bool = False) -> None:
    """``--preset --seeds --years --posterior FILE|none --set`` (and ``--variant`` when
    ``variants``) on the parser of an example script that runs a preset at a posterior's medians
    over seeds 1..N; ``experiments.inference.median_run_variants`` reads them."""
    p.add_argument("--preset", default="hangzhou")
    p.add_argument("--seeds", type=int, default=seeds)
    p.add_argument("--years", type=int, default=10)
    p.add_argument(
        "--posterior",
        default=EXAMPLE_POSTERIOR,
        help="posterior whose medians set the parameters, or 'none' (default: Hangzhou's)",
    )
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")
    if variants:
        p.add_argument(
            "--variant",
            action="append",
            default=[],
            metavar="PATH=VALUE",
            help="one more row with this one change on top of the base (--set); repeatable",
        )


def one_line_errors(main):
    """An example script's ``main(argv)`` that answers a user error (a bad ``--set``,
    ``--variant``, ``--posterior`` or scenario: ``ScenarioError``) with one line and exit 2,
    no traceback, as ``aieco`` does. The script builds its scenarios before its first run
    (``experiments.inference.median_run_scenarios``), so nothing has run when it answers."""
    import functools

    from ecosystem import cli as model_cli
    from ecosystem.scenario import ScenarioError

    @functools.wraps(main)
    def wrapped(argv: list[str] | None = None) -> int:
        try:
            return main(argv)
        except ScenarioError as exc:
            return model_cli.fail(str(exc))

    return wrapped
