"""Scenarios: what a run is made of, validated before any work.

A scenario is a TOML file (or a shipped preset) with these parts, in EMA Workbench vocabulary:

* ``regions.<id>.policy`` holds the **levers** a local government chooses;
* everything else is **constants and uncertainties**: behavioural parameters, calibration inputs
  and the national environment.

Preset files annotate every number with its provenance, written as an inline table::

    voucher_budget_yuan = { value = 2.5e8, source = "[S67][S68] about ¥250m a year" }
    attrition_per_year = { value = 0.12, assumption = "no source found", range = [0.08, 0.20] }

:func:`load_scenario` strips those annotations into :attr:`Scenario.provenance` (a dict keyed by the
dotted path of each value) and validates the plain values with pydantic. A scenario file may start
from a preset with ``base = "hangzhou"`` and override only what it changes; ``--set key=value``
overrides on the command line use the same dotted paths.

Units: money in yuan, compute in H100-equivalent GPU-hours, time in months unless a field's name
says ``per_year``.

The package is split by concern: :mod:`~ecosystem.scenario.schema` (the pydantic models),
:mod:`~ecosystem.scenario.loading` (presets, files, ``base``/``include``, overrides),
:mod:`~ecosystem.scenario.errors` (one-line messages) and :mod:`~ecosystem.scenario.toml_io`
(writing TOML back). Everything public is re-exported here.
"""

from ecosystem.scenario.errors import ScenarioError, format_validation_error
from ecosystem.scenario.loading import (
    PRESET_PACKAGE,
    apply_overrides,
    deep_merge,
    fragment_names,
    load_document,
    load_document_text,
    load_scenario,
    load_scenario_text,
    parse_override,
    parse_overrides,
    preset_names,
    run_values,
    scenario_from_dict,
    strip_provenance,
    validate_document,
)
from ecosystem.scenario.paths import ANNOTATION_KEYS, get_path, is_annotated, nest, set_path
from ecosystem.scenario.schema import (
    SECTORS,
    BigFirmSpec,
    ComputeMarket,
    Count,
    DataCenterSpec,
    Demand,
    Expansion,
    FieldHelp,
    FoundingHazard,
    Market,
    Meta,
    National,
    NonNeg,
    Origin,
    Policy,
    Positive,
    Region,
    Scenario,
    ScenarioWarning,
    Sector,
    SectorKey,
    SectorSpec,
    Share,
    Startups,
    Talent,
    UniversitySpec,
    field_help,
    implausible_graduates,
    loop_gain,
    supercritical_capability_loop,
)
from ecosystem.scenario.toml_io import dump_toml, dumps_document, to_document

__all__ = [
    "ANNOTATION_KEYS",
    "FieldHelp",
    "field_help",
    "implausible_graduates",
    "loop_gain",
    "supercritical_capability_loop",
    "ScenarioWarning",
    "get_path",
    "is_annotated",
    "load_document_text",
    "load_scenario_text",
    "nest",
    "set_path",
    "PRESET_PACKAGE",
    "SECTORS",
    "BigFirmSpec",
    "ComputeMarket",
    "Count",
    "DataCenterSpec",
    "Demand",
    "Expansion",
    "FoundingHazard",
    "Market",
    "Meta",
    "National",
    "NonNeg",
    "Origin",
    "Policy",
    "Positive",
    "Region",
    "Scenario",
    "ScenarioError",
    "Sector",
    "SectorKey",
    "SectorSpec",
    "Share",
    "Startups",
    "Talent",
    "UniversitySpec",
    "apply_overrides",
    "deep_merge",
    "dump_toml",
    "dumps_document",
    "format_validation_error",
    "fragment_names",
    "load_document",
    "load_scenario",
    "parse_override",
    "parse_overrides",
    "preset_names",
    "run_values",
    "scenario_from_dict",
    "strip_provenance",
    "to_document",
    "validate_document",
]
