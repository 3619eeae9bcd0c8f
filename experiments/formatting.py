"""How the experiments' reports write a number (``aieco policy``'s effects, docs/sensitivity.md).

No imports from the rest of ``experiments``: any module of it can use this one.
"""

from __future__ import annotations

import math


def short_number(x: float | None, *, separators_from: float) -> str:
    """``x`` for a reader: ``n/a`` when missing or not finite; ``1.23bn`` and ``12.3m`` from a
    million up; whole with thousands separators (``12,346``) from ``separators_from`` up;
    three significant digits below it (``0.0123``, ``124``; ``1.23e+03`` when
    ``separators_from`` is above 1,000)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:.3g}bn"
    if a >= 1e6:
        return f"{x / 1e6:.3g}m"
    if a >= separators_from:
        return f"{x:,.0f}"
    return f"{x:.3g}"
