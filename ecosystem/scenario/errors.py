"""Scenario errors: one line naming the field, the value and what is allowed."""

from __future__ import annotations

import re
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from ecosystem.scenario.schema import Scenario


class ScenarioError(ValueError):
    """A scenario that cannot be run.

    ``str()`` is one line naming the field, the value and what is allowed.
    """

    def __init__(self, field: str, value: Any, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field} = {value!r}: {allowed}")


class _Shown(str):
    """A value shown as written (a table is shown as ``{ ... }``, not its contents)."""

    def __repr__(self) -> str:
        return str(self)


def _field_bounds(loc: list[str], root: type[BaseModel]) -> str | None:
    """'>= lo and <= hi' for the numeric field at loc, read from the schema's metadata."""
    tp: Any = root
    info = None
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = tp.model_fields.get(part)
            if info is None:
                return None
            tp = info.annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
            info = None
        elif get_origin(tp) is list:
            tp = get_args(tp)[0]
            info = None
        else:
            return None
    metadata = list(info.metadata) if info is not None else []
    _unwrap(tp, metadata)
    parts = []
    for m in metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(m, attr, None) is not None:
                parts.append(f"{sym} {getattr(m, attr):g}")
    return " and ".join(parts) or None


def _unwrap(tp: Any, metadata: list | None = None) -> Any:
    """Strip Optional[...] and Annotated[...] (collecting Annotated metadata)."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            args = get_args(tp)
            if metadata is not None:
                for a in args[1:]:
                    metadata.extend(getattr(a, "metadata", [a]))
            tp = args[0]
        elif origin in (UnionType, Union):
            args = [a for a in get_args(tp) if a is not type(None)]
            tp = args[0]
        else:
            return tp


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
