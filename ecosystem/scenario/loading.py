"""Loading scenarios: presets, files, ``base`` chains, ``include`` fragments, overrides.

Annotated leaves (``{ value = ..., source = "..." }``) are kept through merging and stripped into
:attr:`Scenario.provenance` just before validation.
"""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ecosystem.scenario.errors import ScenarioError, format_validation_error
from ecosystem.scenario.schema import Scenario

PRESET_PACKAGE = "ecosystem.presets"

_ANNOTATION_KEYS = {"value", "source", "assumption", "range"}


def _is_annotated(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node and set(node) <= _ANNOTATION_KEYS


def strip_provenance(node: Any, path: str = "", out: dict[str, str] | None = None):
    """Return (plain_node, provenance) with ``{value=..., source=...}`` leaves collapsed."""
    if out is None:
        out = {}
    if _is_annotated(node):
        if "source" in node:
            out[path] = str(node["source"])
        elif "assumption" in node:
            rng = node.get("range")
            out[path] = f"assumption: {node['assumption']}" + (f"; range {rng}" if rng else "")
        return node["value"], out
    if isinstance(node, dict):
        plain = {}
        for k, v in node.items():
            plain[k], _ = strip_provenance(v, f"{path}.{k}" if path else k, out)
        return plain, out
    if isinstance(node, list):
        return [strip_provenance(v, f"{path}.{i}", out)[0] for i, v in enumerate(node)], out
    return node, out


def deep_merge(base: dict, over: dict) -> dict:
    """Return base updated recursively with over (over wins; tables merge, other values replace)."""
    result = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(result.get(k), dict) and not _is_annotated(v):
            result[k] = deep_merge(result[k], v)
        else:
            result[k] = copy.deepcopy(v)
    return result


def preset_names() -> list[str]:
    files = resources.files(PRESET_PACKAGE)
    return sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".toml"))


def _read_toml(text: str, where: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(where, "(file)", f"is not valid TOML: {exc}") from None


def _raw_document(name_or_path: str | Path, _seen: tuple[str, ...] = ()) -> dict:
    """The annotated TOML document of a preset or file, with ``base`` chains resolved."""
    key = str(name_or_path)
    if key in _seen:
        raise ScenarioError("base", key, "must not refer back to itself")
    path = Path(key)
    if key in preset_names():
        text = resources.files(PRESET_PACKAGE).joinpath(f"{key}.toml").read_text(encoding="utf-8")
    elif path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ScenarioError("scenario", key, "file not found")
        text = path.read_text(encoding="utf-8")
    else:
        raise ScenarioError(
            "scenario", key, f"unknown preset; allowed: {', '.join(preset_names())} or a .toml file"
        )
    doc = _read_toml(text, key)
    includes = doc.pop("include", [])
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise ScenarioError("include", includes, "must be a list of fragment names or file paths")
    merged: dict = {}
    for inc in includes:
        merged = deep_merge(merged, _fragment(inc, path.parent if path.suffix == ".toml" else None))
    doc = deep_merge(merged, doc)
    base = doc.pop("base", None)
    if base is not None:
        if not isinstance(base, str):
            raise ScenarioError("base", base, "must be a preset name or a file path")
        if (
            not Path(base).is_absolute()
            and path.suffix == ".toml"
            and (path.parent / base).exists()
        ):
            base = str(path.parent / base)
        doc = deep_merge(_raw_document(base, (*_seen, key)), doc)
    return doc


def fragment_names(folder: str) -> list[str]:
    """Names of the shipped fragments in a preset subfolder (``regions``, ``variants``...)."""
    files = resources.files(PRESET_PACKAGE).joinpath(folder)
    if not files.is_dir():
        return []
    return sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".toml"))


def _fragment(name: str, relative_to: Path | None) -> dict:
    """An included fragment: ``regions/hangzhou`` (shipped) or a .toml path (next to the file)."""
    if name.endswith(".toml"):
        path = Path(name)
        if not path.is_absolute() and relative_to is not None:
            path = relative_to / path
        if not path.is_file():
            raise ScenarioError("include", name, "file not found")
        return _read_toml(path.read_text(encoding="utf-8"), str(path))
    res = resources.files(PRESET_PACKAGE).joinpath(f"{name}.toml")
    if not res.is_file():
        folder = name.split("/")[0] if "/" in name else ""
        allowed = (
            ", ".join(f"{folder}/{n}" for n in fragment_names(folder)) if folder else "regions/<id>"
        )
        raise ScenarioError(
            "include", name, f"unknown fragment; allowed: {allowed} or a .toml file"
        )
    doc = _read_toml(res.read_text(encoding="utf-8"), name)
    if "include" in doc:
        raise ScenarioError("include", name, "fragments cannot include others")
    return doc


def parse_override(item: str) -> tuple[list[str], Any]:
    """Parse ``a.b.c=VALUE``; VALUE is read as a TOML value, else as a bare string."""
    if "=" not in item:
        raise ScenarioError("--set", item, "must look like key.path=value")
    key, raw = item.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ScenarioError("--set", item, "must look like key.path=value")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.split("."), value


def apply_overrides(doc: dict, overrides: dict[str, Any] | list[str] | None) -> dict:
    """Return doc with dotted-path overrides applied (from ``--set`` strings or a dict)."""
    if not overrides:
        return doc
    doc = copy.deepcopy(doc)
    items = (
        [parse_override(s) for s in overrides]
        if isinstance(overrides, list)
        else [(k.split("."), v) for k, v in overrides.items()]
    )
    for parts, value in items:
        node = doc
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if _is_annotated(child) and isinstance(child["value"], dict):
                # A sourced table (e.g. founding_hazard): edit inside it, flag the change.
                child["source"] = (
                    f"{child.get('source', child.get('assumption', ''))} (partly set by user)"
                )
                child.pop("assumption", None)
                child.pop("range", None)
                child = child["value"]
            if child is None:
                # A table the file leaves to its defaults: create it;
                # validation rejects unknown keys.
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ScenarioError(
                    ".".join(parts), value, f"unknown key {'.'.join(parts[: i + 1])!r}"
                )
            node = child
        leaf = parts[-1]
        old = node.get(leaf)
        if _is_annotated(old):
            node[leaf] = {"value": value, "source": "set by user (--set)"}
        else:
            node[leaf] = value
    return doc


def validate_document(doc: dict, provenance: dict[str, str] | None = None) -> Scenario:
    """Validate a plain (provenance-stripped) document into a Scenario."""
    try:
        scenario = Scenario.model_validate(doc)
    except ValidationError as exc:
        raise format_validation_error(exc) from None
    scenario._provenance = dict(provenance or {})
    return scenario


def load_document(name_or_path: str | Path, overrides: dict | list | None = None) -> dict:
    """The annotated document of a scenario with overrides applied (not yet validated)."""
    return apply_overrides(_raw_document(name_or_path), overrides)


def load_scenario(
    name_or_path: str | Path, overrides: dict[str, Any] | list[str] | None = None
) -> Scenario:
    """Load a preset name or TOML file, apply dotted overrides and validate.

    Raises :class:`ScenarioError` with a one-line message on any problem.
    """
    doc = load_document(name_or_path, overrides)
    plain, provenance = strip_provenance(doc)
    return validate_document(plain, provenance)


def scenario_from_dict(doc: dict) -> Scenario:
    """Validate an in-memory document (annotated or plain)."""
    plain, provenance = strip_provenance(doc)
    return validate_document(plain, provenance)
