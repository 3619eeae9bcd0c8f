"""The documented assumptions of a scenario as priors: inputs with a range but no data.

Every numeric scenario field whose provenance documents a ``range`` (``aieco show SCENARIO``:
``{value, assumption or source, range}``) is an uncertain input. Two tools draw them over their
ranges: the global sensitivity analysis (``experiments.global_sensitivity``: each is a factor or
in a group) and the parameter draws' ``--assumptions`` (``experiments.uncertainty``: drawn
beside the calibrated parameters, each independently from its documented range). One reading
of the documents serves both: which fields count, and why one cannot be drawn.

A field is **drawable** when its value is a finite scalar number, its range is ``[low, high]``
with low < high, and the schema accepts both ends at the scenario's other values
(``experiments.calibrate._prior``: uniform, or log-uniform over more than a decade). The prior's
name is the path with every non-name character as ``_`` (``labour.normal_tightness`` →
``labour_normal_tightness``), so a path has the same name in every scenario and the same value
in every draw of the same root seed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from ecosystem.scenario import ScenarioError, is_annotated
from experiments.calibrate import Prior, ThetaSpec, _prior

#: Documented fields the parameter draws never take, whatever ``--assumptions`` says: the
#: settings a run or a comparison chooses, not uncertain facts about the world. Matched as a
#: path prefix (``meta.``) or a path segment (``.policy.``: every city's levers, which policy
#: variants set; their uncertainty about the status quo is measured in docs/sensitivity.md).
NOT_DRAWN = {
    "meta.": "the run's horizon and yardstick, not a world input",
    ".policy.": "a policy setting: a decision the comparison makes, not an uncertain input",
    "labour.graduate_inflow_warn_share": "only sets when validation warns; no effect on a run",
}
ALL = "all"
#: How a drawn assumption's prior says what it is (``Prior.description``).
DOCUMENTED = "documented assumption"


def documented_ranges(doc: dict, path: str = "") -> Iterator[tuple[str, dict]]:
    """(path, annotated leaf) of every annotated leaf of ``doc`` with a documented range."""
    if is_annotated(doc):
        if "range" in doc:
            yield path, doc
        return
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from documented_ranges(v, f"{path}.{k}" if path else k)


def provenance(leaf: dict) -> str:
    """The leaf's source, or ``assumption: …`` with the assumption's text."""
    if "source" in leaf:
        return str(leaf["source"])
    return f"assumption: {leaf.get('assumption', '')}"


def scalar_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def column_name(path: str) -> str:
    """A path as a parameter name (``labour.normal_tightness`` → ``labour_normal_tightness``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", path)


def shape_reason(leaf: dict) -> str | None:
    """Why a documented leaf cannot vary as a number over its range, or None when it can."""
    value, rng = leaf["value"], leaf["range"]
    if not scalar_number(value):
        return f"not a scalar number ({type(value).__name__})"
    if not (isinstance(rng, list) and len(rng) == 2 and all(map(scalar_number, rng))):
        return f"range {rng!r} is not [low, high]"
    if rng[0] == rng[1]:
        return f"range is a point ({rng[0]:g}): a constant"
    return None


def range_prior(path: str, doc: dict, plain: dict) -> Prior | str:
    """The prior of the documented field at ``path`` over its range, or the schema's reason
    when one end is rejected at the other inputs' values (a joint constraint such as the price
    stability bound)."""
    try:
        return _prior(column_name(path), ThetaSpec(path=path), doc, plain)
    except ScenarioError as exc:
        return f"documented range not admissible: {exc.allowed}"


def not_drawn(path: str) -> str | None:
    """Why the parameter draws never take ``path`` (:data:`NOT_DRAWN`), or None."""
    for key, why in NOT_DRAWN.items():
        if path.startswith(key) or (key.startswith(".") and key in f".{path}"):
            return why
    return None


def _listed(paths: list[str], most: int = 4) -> str:
    more = len(paths) - most
    return ", ".join(paths[:most]) + (f" and {more} more (aieco show)" if more > 0 else "")


def is_assumption(prior: Prior) -> bool:
    """Whether ``prior`` is a documented assumption :func:`assumption_priors` added."""
    return prior.description.startswith(DOCUMENTED)


def parse_selection(value: str | None) -> tuple[str, ...]:
    """``--assumptions``: None/``none`` → (); ``all``; or comma-separated path prefixes.
    ScenarioError (one line) on an empty or malformed prefix."""
    if value is None or value.strip().lower() in ("", "none"):
        return ()
    parts = tuple(p.strip() for p in value.split(","))
    if any(p.lower() == ALL for p in parts):
        if len(parts) > 1:
            raise ScenarioError("--assumptions", value, "is 'all' or path prefixes, not both")
        return (ALL,)
    for p in parts:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*\.?", p):
            raise ScenarioError(
                "--assumptions",
                p,
                "must be 'all', 'none' or scenario path prefixes such as labour. or "
                "regions.hangzhou.talent. (comma-separated)",
            )
    return parts


def assumption_priors(
    doc: dict, plain: dict, selection: tuple[str, ...], taken: set[str]
) -> tuple[list[Prior], list[str]]:
    """The documented assumptions of ``doc`` that ``selection`` names (``("all",)`` or path
    prefixes), leaving out the paths in ``taken`` (drawn already: the calibration spec's
    parameters and the cities' own inputs) and those :data:`NOT_DRAWN`; with notes on what
    stays at its value and why. A prefix that names a region the scenario has, or no region,
    must match a drawable field (ScenarioError otherwise): a typo is not a silent no-op."""
    if not selection:
        return [], []
    regions = set((plain.get("regions") or {}).keys())
    priors: list[Prior] = []
    fixed: dict[str, list[str]] = {}
    used = dict.fromkeys(selection, False)
    for path, leaf in documented_ranges(doc):
        hits = [s for s in selection if s == ALL or path.startswith(s)]
        if not hits or path in taken:
            continue
        why = not_drawn(path) or shape_reason(leaf)
        prior = range_prior(path, doc, plain) if why is None else why
        if isinstance(prior, str):
            fixed.setdefault(re.sub(r" \(.*?\)", "", prior.split(":")[0]), []).append(path)
            continue
        priors.append(replace(prior, description=f"{DOCUMENTED} ({provenance(leaf)})"))
        used.update(dict.fromkeys(hits, True))
    absent = []
    for s, ok in used.items():
        m = re.match(r"regions\.([^.]+)", s)
        if not ok and m is not None and m.group(1) not in regions:
            absent.append(s)
        elif not ok and s != ALL:
            raise ScenarioError(
                "--assumptions",
                s,
                "matches no documented assumption this scenario can draw (see aieco show; "
                "policy settings and the calibration spec's parameters are not taken)",
            )
    notes = [f"--assumptions {s}: no such region in this scenario" for s in absent]
    notes += [
        f"{len(paths)} documented input(s) stay at their value, {why}: {_listed(paths)}"
        for why, paths in fixed.items()
    ]
    return priors, notes
