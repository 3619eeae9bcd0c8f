"""What a seed may be: one integer that fixes a run, stored as int64 in every output table."""

from __future__ import annotations

MAX_SEED = 2**63 - 1  # the `seed` column of every table is int64 (docs/outputs.md)


def seed_problem(value: object) -> str | None:
    """Why ``value`` is not a usable seed (one phrase), or None if it is."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"must be a whole number from 0 to {MAX_SEED}"
    if not 0 <= value <= MAX_SEED:
        return f"must be from 0 to {MAX_SEED} (seeds are stored as 64-bit integers)"
    return None
