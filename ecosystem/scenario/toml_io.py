"""Writing scenarios back as TOML, with provenance as inline annotations like the presets."""

from __future__ import annotations

import tomllib
from typing import Any

import tomli_w

from ecosystem.scenario.paths import is_annotated as _is_annotated
from ecosystem.scenario.schema import Scenario


def to_document(scenario: Scenario, with_sources: bool = True) -> dict:
    """The scenario as a TOML-ready dict; with sources, annotated leaves carry their provenance."""
    plain = scenario.model_dump(mode="json", exclude_none=True)
    if not with_sources:
        return plain
    prov = scenario.provenance

    def annotate(node: Any, path: str) -> Any:
        if path in prov:
            return {"value": node, **_prov_fields(prov[path])}
        if isinstance(node, dict):
            return {k: annotate(v, f"{path}.{k}" if path else k) for k, v in node.items()}
        if isinstance(node, list):
            return [annotate(v, f"{path}.{i}") for i, v in enumerate(node)]
        return node

    return annotate(plain, "")


def _prov_fields(text: str) -> dict:
    if text.startswith("assumption: "):
        body = text[len("assumption: ") :]
        if "; range " in body:
            body, rng = body.rsplit("; range ", 1)
            try:
                return {"assumption": body, "range": tomllib.loads(f"r = {rng}")["r"]}
            except tomllib.TOMLDecodeError:
                pass
        return {"assumption": body}
    return {"source": text}


def dump_toml(scenario: Scenario, with_sources: bool = True) -> str:
    """The fully resolved scenario as TOML text that :func:`load_scenario` reads back.

    Sourced values are written inline, ``key = { value = ..., source = "..." }``, as in presets.
    """
    return dumps_document(to_document(scenario, with_sources)).lstrip("\n")


def _literal(value: Any) -> str:
    return tomli_w.dumps({"x": value}).split("=", 1)[1].strip()


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return _literal(value)


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else _literal(k)


def dumps_document(doc: dict, prefix: str = "") -> str:
    """TOML text for a (possibly annotated) scenario document: tables as headers, leaves inline."""
    leaves = [(k, v) for k, v in doc.items() if not isinstance(v, dict) or _is_annotated(v)]
    tables = [(k, v) for k, v in doc.items() if isinstance(v, dict) and not _is_annotated(v)]
    out = []
    if prefix and (leaves or not tables):
        out.append(f"\n[{prefix}]")
    out += [f"{_key(k)} = {_inline(v)}" for k, v in leaves]
    text = "\n".join(out) + ("\n" if out else "")
    for k, v in tables:
        text += dumps_document(v, f"{prefix}.{_key(k)}" if prefix else _key(k))
    return text
