"""Loading scenarios: presets, files, ``base`` chains, ``include`` fragments, overrides.

Annotated leaves (``{ value = ..., source = "..." }``) are kept through merging and stripped into
:attr:`Scenario.provenance` just before validation.

Every problem a file can have becomes a one-line :class:`ScenarioError`: unreadable or non-UTF-8
files (also reached through ``base``, ``include`` or a sweep's ``scenario``), invalid TOML,
nesting deeper than :data:`MAX_NESTING`, ``base`` chains longer than :data:`MAX_BASE_CHAIN` and
cycles (detected on resolved paths, however they are spelled).

**Restricted loading** (``restricted=True``, used by the browser app for uploads): a document may
``base`` only on a packaged preset and ``include`` only packaged fragments; file paths are
refused with the same message whether or not they exist, so an upload can neither read the
server's files nor learn which exist, and no error echoes content from outside the upload and
the packaged presets.
"""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ecosystem.scenario.errors import ScenarioError, format_validation_error
from ecosystem.scenario.paths import PathError, is_annotated, mark_partly_set, set_path
from ecosystem.scenario.schema import Scenario
from ecosystem.scenario.toml_io import _inline as toml_inline

PRESET_PACKAGE = "ecosystem.presets"
#: Deepest nesting of tables and arrays a scenario file may have (the schema needs 6).
MAX_NESTING = 24
#: Longest ``base`` chain (file -> base -> base ...); the shipped presets need 2.
MAX_BASE_CHAIN = 16
#: Largest scenario file read, in bytes (the largest preset is about 20 kB).
MAX_FILE_BYTES = 2_000_000
#: Most fragments one document may include.
MAX_INCLUDES = 64

_is_annotated = is_annotated  # the name toml_io and older callers use


def strip_provenance(node: Any, path: str = "", out: dict[str, str] | None = None):
    """Return (plain_node, provenance) with ``{value=..., source=...}`` leaves collapsed."""
    if out is None:
        out = {}
    if is_annotated(node):
        if "source" in node:
            out[path] = str(node["source"])
        elif "assumption" in node:
            rng = node.get("range")
            # written as TOML ([false, true], not Python's [False, True]) so that `aieco show`
            # output reads back with its ranges (toml_io._prov_fields parses it)
            shown = f"; range {toml_inline(rng)}" if rng else ""
            out[path] = f"assumption: {node['assumption']}{shown}"
        return node["value"], out
    if isinstance(node, dict):
        plain = {}
        for k, v in node.items():
            plain[k], _ = strip_provenance(v, f"{path}.{k}" if path else k, out)
        return plain, out
    if isinstance(node, list):
        return [strip_provenance(v, f"{path}.{i}", out)[0] for i, v in enumerate(node)], out
    return node, out


def deep_merge(base: dict, over: dict, note: str = "partly set by user") -> dict:
    """Return base updated recursively with over.

    A table merges into the table it overrides key by key, whether that table is written plain
    or annotated (``sector_shares = { value = {...}, source = "..." }``; its source is then
    flagged with ``note``). Anything else replaces: a value, an annotated leaf, or a table over a
    value (``headcount = {}`` replaces the number and validation rejects it).
    """
    result = copy.deepcopy(base)
    for k, v in over.items():
        old = result.get(k)
        if isinstance(v, dict) and not is_annotated(v):
            if is_annotated(old) and isinstance(old["value"], dict):
                mark_partly_set(old, note)
                old["value"] = deep_merge(old["value"], v, note)
                continue
            if isinstance(old, dict) and not is_annotated(old):
                result[k] = deep_merge(old, v, note)
                continue
        result[k] = copy.deepcopy(v)
    return result


def preset_names() -> list[str]:
    files = resources.files(PRESET_PACKAGE)
    return sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".toml"))


def fragment_names(folder: str) -> list[str]:
    """Names of the shipped fragments in a preset subfolder (``regions``, ``variants``...)."""
    if not folder or "/" in folder or folder.startswith("."):
        return []
    files = resources.files(PRESET_PACKAGE).joinpath(folder)
    if not files.is_dir():
        return []
    return sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".toml"))


def _fragment_folders() -> list[str]:
    files = resources.files(PRESET_PACKAGE)
    return sorted(p.name for p in files.iterdir() if p.is_dir() and fragment_names(p.name))


def _check_depth(doc: dict, where: str) -> None:
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ScenarioError(
                where, "(file)", f"nests tables or arrays deeper than {MAX_NESTING}"
            )
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))


def _read_toml(text: str | bytes, where: str) -> dict:
    """Parse TOML text (bytes must be UTF-8) into a dict; one-line ScenarioError otherwise."""
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise ScenarioError(where, "(file)", f"is larger than {MAX_FILE_BYTES:,} bytes")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ScenarioError(
                where, "(file)", f"is not UTF-8 text (invalid byte at offset {exc.start})"
            ) from None
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(where, "(file)", f"is larger than {MAX_FILE_BYTES:,} bytes")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(where, "(file)", f"is not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(
            where, "(file)", f"nests tables or arrays deeper than {MAX_NESTING}"
        ) from None
    _check_depth(doc, where)
    return doc


def _read_file(path: Path, field: str, shown: str) -> bytes:
    """The bytes of a user's file; ScenarioError naming ``field`` and ``shown`` otherwise."""
    try:
        if not path.is_file():
            raise ScenarioError(field, shown, "file not found")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ScenarioError(field, shown, f"is larger than {MAX_FILE_BYTES:,} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise ScenarioError(field, shown, f"cannot be read ({exc.strerror or exc})") from None


def _preset_text(name: str) -> bytes:
    return resources.files(PRESET_PACKAGE).joinpath(f"{name}.toml").read_bytes()


def _restricted_base_error(value: Any) -> ScenarioError:
    return ScenarioError(
        "base", value, f"uploads may only start from a packaged preset: {', '.join(preset_names())}"
    )


def _source(
    name_or_path: str | Path, field: str, restricted: bool
) -> tuple[str, bytes, Path | None]:
    """(identity, bytes, folder for relative paths) of a preset or file."""
    key = str(name_or_path)
    if key in preset_names():
        return f"preset:{key}", _preset_text(key), None
    if restricted:
        raise _restricted_base_error(key)
    path = Path(key)
    if path.suffix == ".toml" or _exists(path):
        data = _read_file(path, field, key)
        try:
            ident = str(path.resolve())
        except (OSError, RuntimeError):
            ident = key
        return ident, data, path.parent
    raise ScenarioError(
        field, key, f"unknown preset; allowed: {', '.join(preset_names())} or a .toml file"
    )


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def _resolve_document(
    doc: dict,
    where: str,
    folder: Path | None,
    restricted: bool,
    seen: tuple[str, ...],
) -> dict:
    """Apply a parsed document's ``include`` list and ``base`` chain."""
    includes = doc.pop("include", [])
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise ScenarioError("include", includes, "must be a list of fragment names or file paths")
    if len(includes) > MAX_INCLUDES:
        raise ScenarioError("include", f"{len(includes)} entries", f"at most {MAX_INCLUDES}")
    merged: dict = {}
    for inc in includes:
        merged = deep_merge(merged, _fragment(inc, folder, restricted))
    doc = deep_merge(merged, doc)
    base = doc.pop("base", None)
    if base is None:
        return doc
    if not isinstance(base, str) or not base:
        raise ScenarioError("base", base, "must be a preset name or a file path")
    if len(seen) >= MAX_BASE_CHAIN:
        raise ScenarioError("base", base, f"chain of bases longer than {MAX_BASE_CHAIN}")
    if base not in preset_names() and not restricted and folder is not None:
        candidate = folder / base
        if not Path(base).is_absolute() and _exists(candidate):
            base = str(candidate)
    return deep_merge(_raw_document(base, restricted, seen, field="base"), doc)


def _raw_document(
    name_or_path: str | Path,
    restricted: bool = False,
    seen: tuple[str, ...] = (),
    field: str = "scenario",
) -> dict:
    """The annotated TOML document of a preset or file, with ``base`` chains resolved."""
    ident, data, folder = _source(name_or_path, field, restricted)
    if ident in seen:
        raise ScenarioError("base", str(name_or_path), "must not refer back to itself")
    doc = _read_toml(data, str(name_or_path))
    return _resolve_document(doc, str(name_or_path), folder, restricted, (*seen, ident))


def _fragment(name: str, relative_to: Path | None, restricted: bool = False) -> dict:
    """An included fragment: ``regions/hangzhou`` (shipped) or a .toml path (next to the file)."""
    if name.endswith(".toml") and not restricted:
        path = Path(name)
        if not path.is_absolute() and relative_to is not None:
            path = relative_to / path
        return _read_toml(_read_file(path, "include", name), name)
    folder, _, stem = name.partition("/")
    if not stem or stem not in fragment_names(folder):
        shipped = [f"{f}/{n}" for f in _fragment_folders() for n in fragment_names(f)]
        if folder in _fragment_folders():
            shipped = [f"{folder}/{n}" for n in fragment_names(folder)]
        more = "" if restricted else " or a .toml file"
        raise ScenarioError(
            "include", name, f"unknown fragment; allowed: {', '.join(shipped)}{more}"
        )
    res = resources.files(PRESET_PACKAGE).joinpath(f"{folder}/{stem}.toml")
    doc = _read_toml(res.read_bytes(), name)
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
    except RecursionError:
        raise ScenarioError("--set", key, f"value nests deeper than {MAX_NESTING}") from None
    if isinstance(value, dict | list):
        _check_depth({"v": value}, f"--set {key}")
    return key.split("."), value


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``--set`` strings as a dict of dotted path -> value (:func:`parse_override` each)."""
    return {".".join(parts): value for parts, value in map(parse_override, items)}


def apply_overrides(doc: dict, overrides: dict[str, Any] | list[str] | None) -> dict:
    """Return doc with dotted-path overrides applied (from ``--set`` strings or a dict).

    Setting a whole table to a plain value (``--set meta=0.5``) is refused: name a key inside.
    """
    if not overrides:
        return doc
    doc = copy.deepcopy(doc)
    items = (
        [parse_override(s) for s in overrides]
        if isinstance(overrides, list)
        else [(k.split("."), v) for k, v in overrides.items()]
    )
    for parts, value in items:
        dotted = ".".join(parts)
        try:
            old = _table_at(doc, parts)
        except PathError:
            old = None
        if old is not None and not isinstance(value, dict):
            inside = sorted(old)[:6]
            hint = f"; keys inside: {', '.join(inside)}" if inside else ""
            raise ScenarioError(
                dotted, value, f"is a table, not a value; set a key inside it{hint}"
            )
        try:
            set_path(doc, parts, value)
        except PathError as exc:
            raise ScenarioError(
                dotted, value, f"{exc.prefix or exc.part!r} is a value, not a table"
            ) from None
    return doc


def _table_at(doc: dict, parts: list[str]) -> dict | None:
    """The plain table at a path of an annotated document, or None when it is no table."""
    node: Any = doc
    for part in parts:
        if is_annotated(node):
            node = node["value"]
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if is_annotated(node):
        node = node["value"]
    return node if isinstance(node, dict) else None


def validate_document(doc: dict, provenance: dict[str, str] | None = None) -> Scenario:
    """Validate a plain (provenance-stripped) document into a Scenario."""
    try:
        scenario = Scenario.model_validate(doc)
    except ValidationError as exc:
        raise format_validation_error(exc) from None
    scenario._provenance = dict(provenance or {})
    return scenario


def load_document(
    name_or_path: str | Path,
    overrides: dict | list | None = None,
    *,
    restricted: bool = False,
) -> dict:
    """The annotated document of a scenario with overrides applied (not yet validated).

    With ``restricted=True`` only a packaged preset name is accepted (see the module notes).
    """
    return apply_overrides(_raw_document(name_or_path, restricted), overrides)


def load_document_text(
    text: str | bytes,
    name: str = "upload.toml",
    overrides: dict | list | None = None,
    *,
    restricted: bool = True,
) -> dict:
    """The annotated document of scenario TOML given as text or bytes (an upload).

    By default restricted: ``base`` may name only a packaged preset and ``include`` only
    packaged fragments (``regions/<id>``, ``variants/<id>``); any file path is refused with one
    message whether or not it exists. ``name`` is used in messages only. With
    ``restricted=False`` relative paths are read from the current folder.
    """
    doc = _read_toml(text, name)
    folder = None if restricted else Path(".")
    return apply_overrides(_resolve_document(doc, name, folder, restricted, ()), overrides)


def load_scenario(
    name_or_path: str | Path,
    overrides: dict[str, Any] | list[str] | None = None,
    *,
    restricted: bool = False,
) -> Scenario:
    """Load a preset name or TOML file, apply dotted overrides and validate.

    Raises :class:`ScenarioError` with a one-line message on any problem.
    """
    return scenario_from_dict(load_document(name_or_path, overrides, restricted=restricted))


def load_scenario_text(
    text: str | bytes,
    name: str = "upload.toml",
    overrides: dict | list | None = None,
    *,
    restricted: bool = True,
) -> Scenario:
    """Validate scenario TOML given as text (an upload); restricted by default, see
    :func:`load_document_text`. Raises :class:`ScenarioError` (one line) on any problem."""
    return scenario_from_dict(load_document_text(text, name, overrides, restricted=restricted))


def run_values(doc: dict) -> dict:
    """What of a scenario document a run depends on, for hashing designs and stores: its
    validated values with every field at its schema default left out. Adding a key at its
    default (annotating a parameter in a preset, say) or rewording a source therefore keeps
    every hash built on it, while any value that changes a run changes them."""
    return scenario_from_dict(doc).model_dump(mode="json", exclude_defaults=True)


def scenario_from_dict(doc: dict) -> Scenario:
    """Validate an in-memory document (annotated or plain)."""
    if not isinstance(doc, dict):
        raise ScenarioError("scenario", type(doc).__name__, "must be a table")
    _check_depth(doc, "scenario")
    plain, provenance = strip_provenance(doc)
    return validate_document(plain, provenance)
