"""Layer 3 of ``experiments``: sample matrices for a list of parameters (no experiment files).

Methods and run counts for D parameters and ``samples`` = N:

==========  ========================================  =======================================
method      sample                                    runs per replicate
==========  ========================================  =======================================
factorial   every combination of the levels           product of the level counts
lhs         Latin hypercube (scipy), categoricals     N
morris      SALib Morris trajectories (r = N)         N·(D+1)
sobol       SALib Saltelli/Sobol' sequence            N·(D+2), N·(2D+2) with second order
fast        SALib eFAST (M = 4, N > 64)               N·D
delta       SALib Latin hypercube, then Borgonovo δ   N
pawn        SALib Latin hypercube, then PAWN          N
==========  ========================================  =======================================

Sobol' needs N a power of two (the sequence's balance properties hold only then): another N is
rounded up to the next power of two, and :func:`adjust_samples` says so.
"""

from __future__ import annotations

import warnings

import numpy as np

from experiments.parameters import Parameter

SALIB_METHODS = ("morris", "sobol", "fast", "delta", "pawn")
METHODS = ("list", "factorial", "lhs", *SALIB_METHODS)
FAST_M = 4

#: Smallest N below which a method's indices are not worth reporting (literature rules of
#: thumb: Morris r >= 10 trajectories [Campolongo et al. 2007]; Sobol' N >= 512 for stable
#: total-order indices [Saltelli et al. 2010]; eFAST N >= 65 (SALib's hard limit, 4M²+1);
#: delta and PAWN a few hundred points [Pianosi & Wagener 2015]).
MIN_SAMPLES = {"morris": 10, "sobol": 512, "fast": 65, "delta": 200, "pawn": 200}


def problem(params: list[Parameter]) -> dict:
    """SALib's problem dictionary (every parameter needs a range)."""
    return {
        "num_vars": len(params),
        "names": [p.name for p in params],
        "bounds": [list(p.range) for p in params],
    }


def next_power_of_two(n: int) -> int:
    return 1 << max(0, int(n - 1).bit_length())


def adjust_samples(method: str, samples: int) -> tuple[int, str | None]:
    """(N actually used, a note when it differs from the N asked for)."""
    if method == "sobol" and samples != next_power_of_two(samples):
        n = next_power_of_two(samples)
        return n, f"sobol needs N a power of two: N = {samples} rounded up to {n}"
    if method == "fast" and samples <= 4 * FAST_M**2:
        return samples, None  # rejected by check_samples with the minimum named
    return samples, None


def check_samples(method: str, samples: int) -> str | None:
    """Why ``samples`` cannot work for ``method``, or None."""
    if method == "fast" and samples <= 4 * FAST_M**2:
        return f"fast needs N > 4·M² = {4 * FAST_M**2} (M = {FAST_M})"
    if method == "morris" and samples < 2:
        return "morris needs at least 2 trajectories"
    if method in ("delta", "pawn") and samples < 20:
        return f"{method} needs at least 20 points"
    return None


def run_count(method: str, samples: int, d: int, second_order: bool = False) -> int:
    """Runs per replicate of a SALib design."""
    return {
        "morris": samples * (d + 1),
        "sobol": samples * (2 * d + 2 if second_order else d + 2),
        "fast": samples * d,
        "delta": samples,
        "pawn": samples,
    }[method]


def salib_sample(
    params: list[Parameter],
    method: str,
    samples: int,
    seed: int,
    num_levels: int = 4,
    second_order: bool = False,
) -> np.ndarray:
    """The sample matrix (rows = design points) of a SALib method."""
    prob = problem(params)
    seed = int(seed % (2**32))
    if method == "morris":
        from SALib.sample import morris

        return morris.sample(prob, samples, num_levels=num_levels, seed=seed)
    if method == "sobol":
        from SALib.sample import sobol

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # N is a power of two (adjust_samples)
            return sobol.sample(prob, samples, calc_second_order=second_order, seed=seed)
    if method == "fast":
        from SALib.sample import fast_sampler

        return fast_sampler.sample(prob, samples, M=FAST_M, seed=seed)
    if method in ("delta", "pawn"):
        from SALib.sample import latin

        return latin.sample(prob, samples, seed=seed)
    raise ValueError(f"unknown SALib method {method!r}")


def lhs_sample(params: list[Parameter], n: int, seed: int) -> tuple[np.ndarray, list[dict]]:
    """Latin hypercube over ranges; listed values get equal-width strata. (X, points)."""
    from scipy.stats import qmc

    sampler = qmc.LatinHypercube(d=len(params), rng=np.random.default_rng(seed))
    U = sampler.random(n)
    X = np.empty_like(U)
    for j, p in enumerate(params):
        if p.range is not None:
            lo, hi = p.range
            X[:, j] = lo + U[:, j] * (hi - lo)
        else:
            X[:, j] = np.minimum((U[:, j] * len(p.values)).astype(int), len(p.values) - 1)
    points = []
    for row in X:
        point = {}
        for p, x in zip(params, row, strict=True):
            point[p.name] = p.cast(x) if p.range is not None else p.values[int(x)]
        points.append(point)
    return X, points


def factorial_points(params: list[Parameter]) -> list[dict]:
    import itertools

    grids = [p.grid() for p in params]
    return [
        {p.name: p.cast(v) for p, v in zip(params, combo, strict=True)}
        for combo in itertools.product(*grids)
    ]


def factorial_size(params: list[Parameter]) -> int:
    return int(np.prod([len(p.grid()) for p in params]))
