"""Dotted paths and provenance annotations in scenario documents: the one place for both.

A scenario document is the nested dict read from TOML. Any leaf may be *annotated* with its
provenance, ``{ value = ..., source = "..." }`` or ``{ value = ..., assumption = "...",
range = [lo, hi] }``; :func:`is_annotated` recognises that form. A *dotted path*
(``regions.hangzhou.policy.voucher_rate``) names one value; :func:`get_path` reads it and
:func:`set_path` writes it, looking through annotations on the way.
"""

from __future__ import annotations

from typing import Any

#: The keys an annotated leaf may have (``value`` is required).
ANNOTATION_KEYS = frozenset({"value", "source", "assumption", "range"})


def is_annotated(node: Any) -> bool:
    """Whether ``node`` is an annotated leaf ``{ value = ..., source|assumption = ... }``."""
    return isinstance(node, dict) and "value" in node and set(node) <= ANNOTATION_KEYS


def split_path(path: str | list[str] | tuple[str, ...]) -> list[str]:
    """``"a.b.c"`` -> ``["a", "b", "c"]`` (a list is returned as a copy)."""
    return list(path) if isinstance(path, list | tuple) else str(path).split(".")


class PathError(KeyError):
    """A dotted path that does not lead to a value; ``prefix`` is the part that does exist."""

    def __init__(self, path: str, prefix: str, part: str):
        self.path, self.prefix, self.part = path, prefix, part
        super().__init__(path)


def get_path(doc: Any, path: str | list[str]) -> Any:
    """The value at a dotted path of a document (annotations looked through) or of a pydantic
    model (attributes). Raises :class:`PathError` naming the first missing part."""
    parts = split_path(path)
    node = doc
    for i, part in enumerate(parts):
        if is_annotated(node):
            node = node["value"]
        if isinstance(node, dict):
            if part not in node:
                raise PathError(".".join(parts), ".".join(parts[:i]), part)
            node = node[part]
        elif hasattr(node, "model_fields") and part in type(node).model_fields:
            node = getattr(node, part)
        else:
            raise PathError(".".join(parts), ".".join(parts[:i]), part)
    return node["value"] if is_annotated(node) else node


def set_path(
    doc: dict, path: str | list[str], value: Any, source: str = "set by user (--set)"
) -> None:
    """Set the value at a dotted path of a document in place.

    Missing tables on the way are created (validation later rejects unknown keys). Inside an
    annotated table (a sourced ``founding_hazard``, say) the value is edited in place and the
    annotation flagged "(partly set by user)". An annotated leaf stays annotated, its source
    becoming ``source``. A table given as ``value`` over an existing table merges into it key by
    key, the same as a table in a scenario file does (see ``loading.deep_merge``). Raises
    :class:`PathError` when a part of the path is a value, not a table.
    """
    from ecosystem.scenario.loading import deep_merge

    parts = split_path(path)
    node = doc
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if is_annotated(child) and isinstance(child["value"], dict):
            mark_partly_set(child)
            child = child["value"]
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict) or is_annotated(child):
            raise PathError(".".join(parts), ".".join(parts[:i]), part)
        node = child
    leaf = parts[-1]
    old = node.get(leaf)
    if isinstance(value, dict) and isinstance(old, dict) and not is_annotated(value):
        node[leaf] = deep_merge({leaf: old}, {leaf: value}, note=source)[leaf]
    elif is_annotated(old):
        node[leaf] = {"value": value, "source": source}
    else:
        node[leaf] = value


def mark_partly_set(node: dict, note: str = "partly set by user") -> None:
    """Flag an annotated table whose value is being edited inside (keeps one ``source``)."""
    text = str(node.get("source", node.get("assumption", "")))
    if not text.endswith(f"({note})"):
        node["source"] = f"{text} ({note})".strip()
    node.pop("assumption", None)
    node.pop("range", None)


def nest(flat: dict[str, Any]) -> dict:
    """``{"a.b.c": 1}`` -> ``{"a": {"b": {"c": 1}}}``."""
    out: dict = {}
    for path, value in flat.items():
        set_path(out, path, value)
    return out
