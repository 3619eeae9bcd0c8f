"""Layer 0 of ``experiments``: the command-line options of parameter draws (no numpy, so that
``aieco --help`` stays light; ``experiments.uncertainty`` does the work)."""

from __future__ import annotations

DEFAULT_SPEC = "hangzhou"

#: ``aieco validation``'s defaults: its parser (light) and ``experiments.validation`` (numpy,
#: pandas) read them here, so the two cannot drift apart.
VALIDATION_CITY, VALIDATION_NATIONAL = "hangzhou", "china"
VALIDATION_DRAWS, VALIDATION_SEEDS_PER_DRAW, VALIDATION_YEARS = 8, 2, 10
VALIDATION_OUT, VALIDATION_DOC = "results/validation", "docs/validation.md"


def add_draw_arguments(p, seeds_help: str | None = None, default_draws: int = 0) -> None:
    """``--param-draws D --posterior FILE --param-spec SPEC`` (and ``--seeds S`` when
    ``seeds_help`` is given) on an argparse parser; ``default_draws`` is D's default."""
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
        metavar="preset|NAME|FILE",
        help="draw the parameters from a calibrated posterior instead of their priors: 'preset' "
        "= the one the scenario names (meta.posterior; else the --param-spec preset's: "
        "hangzhou's), NAME = a shipped one (experiments/calibration/posteriors/NAME.parquet), "
        "FILE = a Parquet of posterior samples, one column per spec parameter (optional "
        "weight); parameters without a column come from their prior. Default: priors. "
        "Hangzhou's posterior misses 5 of its targets: its check is in docs/calibration.md",
    )
    g.add_argument(
        "--param-spec",
        metavar="CITY|SPEC.toml",
        default=DEFAULT_SPEC,
        help="calibration spec naming the uncertain parameters and their priors "
        "(default %(default)s)",
    )
