"""The same seed gives the same run bit for bit on every x86-64 machine, not only on one.

numpy chooses at import time, by the CPU, among several compiled versions of some functions.
On a CPU with AVX-512 (numpy's ``X86_V4`` group and its ``AVX512_ICL`` / ``AVX512_SPR``
extensions) ``np.power``, ``np.exp``, ``np.log`` and others take Intel SVML's vectorised
versions, whose last bits differ from those the same functions give on an AVX2 machine
(``np.power`` there is the C library's). A difference in the last bit of one price is a
different startup count a few years later, so without this a run, a sweep split over a mixed
cluster, or the golden outputs differed between machines (measured 3 December 2026: every
golden case written on an AVX-512 machine differed from month 3 on an AVX2 one).

This module tells numpy, before it is imported, to leave those versions out
(``NPY_DISABLE_CPU_FEATURES``): every x86-64 machine with AVX2 then runs the same code paths.
It must run before numpy's first import, so ``ecosystem``, ``experiments`` and ``viz`` import it
first; a process that imported numpy before (a notebook that ran ``import numpy`` first, a Dask
worker started without the variable) gets a :class:`MachineDependentWarning` when it builds a
model, and its runs are still reproducible on that machine. To pin the paths yourself, set
``NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"`` in the environment (Dask workers:
the worker's environment). Machines without AVX2, and ARM machines, run other paths again.
No numpy import here.
"""

from __future__ import annotations

import os
import sys
import warnings

#: numpy's dispatch targets (numpy >= 2.4 names) whose results differ from the AVX2 paths.
DISABLED = ("X86_V4", "AVX512_ICL", "AVX512_SPR")
VARIABLE = "NPY_DISABLE_CPU_FEATURES"


class MachineDependentWarning(UserWarning):
    """numpy runs AVX-512 paths in this process: runs differ bit-wise from other machines."""


def pin_numpy_paths() -> None:
    """Ask numpy to leave out its AVX-512 paths, if numpy is not imported yet and the user has
    not set the variable (a user's own setting is kept)."""
    if "numpy" not in sys.modules and VARIABLE not in os.environ:
        os.environ[VARIABLE] = " ".join(DISABLED)


def avx512_paths_active() -> list[str]:
    """The AVX-512 dispatch targets numpy uses in this process (empty: machine-independent)."""
    from numpy._core._multiarray_umath import __cpu_features__ as features

    return [name for name in DISABLED if features.get(name)]


_warned = False


def check() -> None:
    """Warn once per process when numpy runs AVX-512 paths (see the module docstring)."""
    global _warned
    if _warned:
        return
    active = avx512_paths_active()
    if active:
        _warned = True
        warnings.warn(
            f"numpy uses its {'/'.join(active)} paths in this process (it was imported before "
            f"aieco could set {VARIABLE}): runs are reproducible on this machine but differ "
            f'bit-wise from other machines; set {VARIABLE}="{" ".join(DISABLED)}" before '
            "starting Python",
            MachineDependentWarning,
            stacklevel=3,
        )


pin_numpy_paths()
