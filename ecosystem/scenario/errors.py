"""Scenario errors: one line naming the field, the value and what is allowed."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from ecosystem.scenario.schema import FieldRuleError, Scenario, bounds_at


class ScenarioError(ValueError):
    """A scenario that cannot be run.

    ``str()`` is one line naming the field, the value and what is allowed.
    """

    def __init__(self, field: str, value: Any, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field} = {value!r}: {allowed}")

    def __reduce__(self):
        # Rebuilt from its three parts (the default pickles the message alone, which __init__
        # cannot take): an error raised in a worker process reaches the parent as itself.
        return type(self), (self.field, self.value, self.allowed)


class _Shown(str):
    """A value shown as written (a table is shown as ``{ ... }``, not its contents)."""

    def __repr__(self) -> str:
        return str(self)


def _field_bounds(loc: list[str], root: type[BaseModel]) -> str | None:
    """'>= lo and <= hi' for the numeric field at loc, read from the schema's metadata."""
    try:
        bounds = bounds_at(loc, root)
    except KeyError:
        return None
    syms = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    parts = [f"{syms[k]} {v:g}" for k, v in bounds.items() if v is not None]
    return " and ".join(parts) or None


_LOC_NOISE = re.compile(r"^(function-|union\[|list\[|dict\[|bool$|int$|float$|str$)")


def format_validation_error(
    exc: ValidationError, root: type[BaseModel] | None = None, default: str = "scenario"
) -> ScenarioError:
    """One line from pydantic's first error: the field's dotted path, the value, what is allowed.

    ``root`` is the model validated (for reading numeric bounds); ``default`` names the whole
    document when the error has no location.
    """
    root = root or Scenario
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"] if not _LOC_NOISE.match(str(p))]
    field = ".".join(loc) if loc else default
    value = err.get("input")
    kind = err["type"]
    msg = err["msg"]
    rule = (err.get("ctx") or {}).get("error")
    if isinstance(rule, FieldRuleError):  # a cross-field rule naming the field that breaks it
        return ScenarioError(".".join([*loc, rule.field]), rule.value, rule.allowed)
    if kind == "extra_forbidden":
        allowed = "unknown key"
    elif kind == "missing":
        allowed, value = "is required", None
    elif kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        ctx = err.get("ctx") or {}
        bounds = _field_bounds(loc, root) or " and ".join(
            f"{sym} {ctx[k]}"
            for k, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
            if k in ctx
        )
        allowed = f"must be {bounds}" if bounds else msg
    else:
        allowed = (msg[0].lower() + msg[1:]).replace("value error, ", "") if msg else "invalid"
    if isinstance(value, dict):
        value = _Shown("{ ... }" if value else "{}")
    return ScenarioError(field, value, allowed)
