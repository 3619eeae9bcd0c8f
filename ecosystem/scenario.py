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
"""

from __future__ import annotations

import copy
import re
import tomllib
from enum import IntEnum, StrEnum
from importlib import resources
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    ValidationError,
    model_validator,
)

PRESET_PACKAGE = "ecosystem.presets"


class Sector(StrEnum):
    """Application sectors of AI startups (H2, H7, H9)."""

    MANUFACTURING = "manufacturing"
    AUTONOMOUS_DRIVING = "autonomous_driving"
    ROBOTICS = "robotics"
    HEALTH = "health"
    FINANCE = "finance"
    CONSUMER_ECOMMERCE = "consumer_ecommerce"
    FOUNDATION_MODELS = "foundation_models"


SECTORS: tuple[Sector, ...] = tuple(Sector)
SectorKey = Annotated[Sector, Strict(False)]  # TOML keys are strings


class Origin(IntEnum):
    """Where a startup's lead founder worked before founding it."""

    BIG_FIRM = 0
    UNIVERSITY = 1
    STARTUP = 2
    OTHER = 3  # job seekers, migrants and graduates without a known employer


class ScenarioError(ValueError):
    """A scenario that cannot be run; ``str()`` is one line naming field, value and what is allowed."""

    def __init__(self, field: str, value: Any, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field} = {value!r}: {allowed}")


# --------------------------------------------------------------------------------------------
# Field helpers: every number states its bounds, so errors can say what is allowed.
# --------------------------------------------------------------------------------------------
def _num(ge: float | None = None, le: float | None = None, gt: float | None = None):
    return Field(ge=ge, le=le, gt=gt)


Share = Annotated[float, _num(ge=0.0, le=1.0)]
NonNeg = Annotated[float, _num(ge=0.0)]
Positive = Annotated[float, _num(gt=0.0)]
Count = Annotated[int, _num(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True)


# --------------------------------------------------------------------------------------------
# National environment
# --------------------------------------------------------------------------------------------
class National(_Strict):
    """Trends no city controls: chips, efficiency, compute prices."""

    efficiency_gain_per_year: Share = 0.3
    """Yearly fall in the compute one unit of capability needs (the DeepSeek effect, H10)."""
    chip_supply_gpu_per_year: NonNeg = 200_000
    """New H100-equivalent accelerators the country can install per year (export controls)."""
    export_control_strength: Share = 0.5
    """0 = no controls, 1 = strict: scales chip supply down and efficiency gains up."""
    export_control_supply_cut: Share = 0.5
    """Share of chip supply lost at full export-control strength."""
    export_control_efficiency_boost: NonNeg = 0.3
    """Relative boost to efficiency gains at full strength (innovation under constraint, H10)."""
    compute_cost_decline_per_year: Share = 0.2
    """Yearly fall in the cost of a GPU-hour of capacity (price floors follow it)."""
    internal_migration_share: Share = 0.5
    """Share of people leaving a modelled city who move to another modelled city (the rest leave
    the model). Only matters with two or more city regions."""
    migration_wage_elasticity: NonNeg = 1.0
    """How strongly movers between cities prefer higher wages (with openings and subsidies)."""
    voucher_rate: Share = 0.0
    """National compute-voucher programme (V7): rate, valid at any data center for any startup."""
    voucher_budget_yuan: NonNeg = 0.0
    voucher_cap_per_firm_yuan: NonNeg = 0.0
    voucher_start_year: Annotated[int, _num(ge=2000, le=2100)] = 2025
    hours_per_month: Positive = 730.0
    gpu_capex_yuan: Positive = 250_000.0
    """Installed cost of one H100-equivalent accelerator with its share of the building."""
    dc_build_months: Count = 12
    """Months from an expansion decision to capacity coming online."""


class ComputeMarket(_Strict):
    """How the market matches compute demand to data centers."""

    price_adjust_per_month: NonNeg = 0.03
    """Relative price change per month per unit of utilisation gap."""
    target_utilization: Share = 0.7
    expansion_threshold: Share = 0.85
    """Utilisation above which an operator orders more capacity."""
    expansion_share: Share = 0.2
    """Capacity added per expansion, as a share of current capacity."""
    cross_region_friction_yuan: NonNeg = 3.0
    """Extra cost per GPU-hour of buying outside one's region (data transfer, contracts)."""
    unified_network: Share = 0.0
    """Lever (V10): share of the cross-region friction removed by a unified national network."""
    inference_latency_penalty_yuan: NonNeg = 6.0
    """Extra cost per GPU-hour of serving inference from a distant hub."""
    background_price_elasticity: NonNeg = 0.5
    """Elasticity of non-startup demand at a data center to its price."""


# --------------------------------------------------------------------------------------------
# Actors
# --------------------------------------------------------------------------------------------
class Expansion(_Strict):
    month: Count
    add_gpu_h: NonNeg


class DataCenterSpec(_Strict):
    name: str
    capacity_gpu_h: NonNeg
    """Capacity in H100-equivalent GPU-hours per month."""
    price_yuan_per_gpu_h: Positive
    power_cost_yuan_per_kwh: NonNeg
    pue: Annotated[float, _num(ge=1.0, le=3.0)] = 1.3
    kw_per_gpu: Positive = 0.7
    price_floor_share: Share = 0.5
    """Lowest price, as a share of the initial price (the cost floor), before cost declines."""
    background_demand_gpu_h: NonNeg = 0.0
    """Demand from outside the modelled startups (enterprises, big firms, government)."""
    background_growth_per_year: float = Field(default=0.1, ge=-0.5, le=2.0)
    owner: str = ""
    """Big firm that operates it (a cloud provider), or empty for public or independent centers."""
    expandable: bool = True
    planned_expansions: list[Expansion] = Field(default_factory=list)


class UniversitySpec(_Strict):
    name: str
    graduates_per_year: Count
    """AI-relevant graduates entering the labour market each year (in July)."""
    graduate_founding_share: Share = 0.002
    """Share of graduates who found a startup straight from university."""
    research_quality: Share
    staff: Count
    """Researchers and faculty in AI-relevant fields (people rows employed by the university)."""
    spinoffs_per_year: NonNeg
    """Researcher spinoffs per year at research quality 1 (scaled by quality)."""
    collaborations_per_year: NonNeg = 10.0
    """New university–startup collaborations per year."""
    collaboration_boost: NonNeg = 0.05
    """Capability gain of a collaborating startup, as a share of the university's research quality."""


class BigFirmSpec(_Strict):
    name: str
    headcount: Count
    headcount_growth_per_year: float = Field(default=0.02, ge=-0.5, le=1.0)
    attrition_per_year: Share = 0.12
    spinoff_multiplier: NonNeg = 1.0
    """Multiplies the size-based founding hazard of its leavers (culture, wealth of alumni)."""
    acquisitions_per_year: NonNeg = 1.0
    procurement_yuan_per_year: NonNeg = 0.0
    """Spending on startup products (big firms as buyers)."""
    capability: Share = 0.8
    """Technical level its alumni start from."""


class Policy(_Strict):
    """The levers of a local government. Budgets are per calendar year; nothing is spent beyond one."""

    voucher_rate: Share = 0.0
    """Share of a compute contract the voucher pays (standard firms)."""
    voucher_rate_sme: Share = 0.0
    """Rate for small SMEs (annual compute contracts up to ``voucher_sme_contract_max_yuan``)."""
    voucher_sme_contract_max_yuan: NonNeg = 0.0
    voucher_sme_only: bool = False
    """If true, only firms with at most ``voucher_sme_max_headcount`` staff may claim."""
    voucher_sme_max_headcount: Count = 300
    voucher_cap_per_firm_yuan: NonNeg = 0.0
    """Largest voucher payment to one firm in one year."""
    voucher_budget_yuan: NonNeg = 0.0
    voucher_portable: bool = False
    """If true, vouchers may be spent at data centers in hub regions, not only local ones."""
    voucher_claimants: Literal["local_firms", "any_buyer"] = "local_firms"
    """Who may claim: the region's own firms (city programmes) or any firm buying compute at the
    region's data centers (hub programmes such as Qingyang's)."""
    voucher_additionality: Share = 0.5
    """Share of the compute a voucher pays for that is additional (not bought anyway)."""
    voucher_takeup: Share = 0.9
    """Share of eligible firms that claim at all."""
    voucher_start_year: Annotated[int, _num(ge=2000, le=2100)] = 2000
    """First calendar year in which the voucher programme pays."""
    data_voucher_rate: Share = 0.0
    data_voucher_budget_yuan: NonNeg = 0.0
    data_voucher_cap_per_firm_yuan: NonNeg = 0.0
    talent_subsidy_yuan_per_person: NonNeg = 0.0
    """One-off subsidy to each graduate or migrant who takes a job in the region."""
    talent_subsidy_budget_yuan: NonNeg = 0.0
    startup_grant_yuan: NonNeg = 0.0
    """One-off grant to each new startup."""
    startup_grant_budget_yuan: NonNeg = 0.0
    guidance_fund_budget_yuan: NonNeg = 0.0
    """Government guidance fund: co-invests in local rounds up to this much a year."""
    guidance_fund_share: Share = 0.2
    """Share of a round the guidance fund puts in (raising the odds that the round closes)."""
    dc_investment_yuan_per_year: NonNeg = 0.0
    """Public money for new local data-center capacity (subject to the national chip supply)."""
    adoption_programme_yuan_per_year: NonNeg = 0.0
    """Subsidies to local AI adopters; each yuan raises startup demand by ``adoption_multiplier``."""
    adoption_multiplier: NonNeg = 2.0


class FoundingHazard(_Strict):
    """Share of leavers who found a startup, by the size of the employer they leave.

    Interpolated log-linearly in size between the points, flat beyond them.
    """

    sizes: list[Annotated[float, _num(gt=0.0)]]
    rates: list[Share]

    @model_validator(mode="after")
    def _check(self) -> FoundingHazard:
        if len(self.sizes) != len(self.rates) or len(self.sizes) < 2:
            raise ValueError("sizes and rates need the same length, at least 2")
        if any(b <= a for a, b in zip(self.sizes, self.sizes[1:], strict=False)):
            raise ValueError("sizes must increase")
        return self


class Talent(_Strict):
    """A region's labour market for AI talent."""

    initial_job_seekers: Count
    wage_yuan_per_month: Positive
    """Fully loaded monthly cost of one AI employee."""
    gross_inflow_per_year: Share
    """Arrivals from other regions per year, as a share of the workforce, at neutral attractiveness."""
    outflow_per_year: Share
    """Departures to other regions per year among the employed."""
    seeker_outflow_per_year: Share
    """Departures per year among job seekers (who leave faster)."""
    graduate_stay_share: Share = 0.7
    """Share of local graduates who look for work in the region."""
    attractiveness_elasticity: NonNeg = 1.0
    """How strongly arrivals respond to job openings per seeker and to talent subsidies."""
    retirement_age_years: Annotated[float, _num(ge=40.0, le=80.0)] = 60.0
    startup_attrition_per_year: Share = 0.2
    university_attrition_per_year: Share = 0.05
    other_founding_per_year: Share = 0.002
    """Yearly founding hazard of job seekers (origin "other")."""
    initial_alumni_share: Share = 0.3
    """Share of the 2025 startup staff and job seekers who once worked at a local big firm."""
    migrant_alumni_share: Share = 0.2
    """Share of arriving migrants who worked at a big firm in another region."""
    migrant_founder_share: Share = 0.0
    """Share of arriving migrants who come to found a startup (origin "other")."""
    cluster_elasticity: NonNeg = 0.0
    """Founding by job seekers and migrants scales with (live startups / initial) ** this."""
    startup_spinoff_multiplier: NonNeg = 1.0
    """Multiplies the founding hazard of startup leavers (the size table measures self-employment
    of all small-firm quitters, more than AI founding)."""
    founding_hazard: FoundingHazard


class Market(_Strict):
    """Local demand for startups' AI products (application-led adoption, H7, H9)."""

    startup_demand_yuan_per_year: NonNeg
    demand_growth_per_year: float = Field(ge=-0.5, le=2.0)
    vc_pool_yuan_per_year: NonNeg
    vc_growth_per_year: float = Field(default=0.0, ge=-0.5, le=2.0)


class Region(_Strict):
    name: str
    kind: Literal["city", "hub"] = "city"
    initial_startups: Count = 0
    initial_startup_origin_shares: dict[str, Share] = Field(
        default_factory=lambda: {"big_firm": 0.6, "university": 0.1, "startup": 0.1, "other": 0.2}
    )
    sector_shares: dict[SectorKey, Share] = Field(default_factory=dict)
    talent: Talent | None = None
    market: Market | None = None
    policy: Policy = Field(default_factory=Policy)
    universities: dict[str, UniversitySpec] = Field(default_factory=dict)
    big_firms: dict[str, BigFirmSpec] = Field(default_factory=dict)
    data_centers: dict[str, DataCenterSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _city_needs_people(self) -> Region:
        if self.kind == "city" and (self.talent is None or self.market is None):
            raise ValueError("a city region needs [talent] and [market] tables")
        if self.sector_shares and abs(sum(self.sector_shares.values()) - 1.0) > 1e-6:
            raise ValueError("sector_shares must add up to 1")
        unknown = set(self.initial_startup_origin_shares) - {o.name.lower() for o in Origin}
        if unknown:
            raise ValueError(f"initial_startup_origin_shares has unknown origins {sorted(unknown)}")
        return self


class SectorSpec(_Strict):
    """Compute intensity of a sector's firms."""

    training_gpu_h_per_head: NonNeg
    """Training compute wanted per employee per month."""
    inference_gpu_h_per_yuan: NonNeg
    """Inference compute per yuan of revenue."""


class Startups(_Strict):
    """Behaviour shared by all startups."""

    founding_cash_yuan: Positive
    founding_team: Annotated[int, _num(ge=1, le=20)] = 3
    runway_target_months: Positive = 18.0
    """Firms hire only as far as keeps this many months of runway."""
    target_margin: Share = 0.1
    """Share of revenue firms keep as margin rather than spend on staff."""
    raise_below_runway_months: Positive = 6.0
    retry_months: Annotated[int, _num(ge=1)] = 6
    max_growth_per_month: Share = 0.15
    round_success: list[Share]
    """Chance that a round closes, by stage reached next: seed, A, B, C, D+ (at median capability)."""
    round_size_yuan: list[NonNeg]
    other_opex_share: Share = 0.2
    """Non-wage, non-compute costs as a share of the wage bill."""
    capability_decay_per_month: Share = 0.02
    compute_elasticity: Share = 0.3
    talent_elasticity: Share = 0.5
    capability_scale: Positive = 0.05
    revenue_share_exponent: NonNeg = 1.5
    niche_demand_share: Share = 0.3
    """Share of a sector's demand split evenly among its firms (local, relationship-based
    customers); the rest is won in proportion to capability^revenue_share_exponent."""
    fit_threshold: NonNeg = 0.5
    """Capability, as a share of the sector median, a firm needs to win niche customers."""
    revenue_adjust_per_month: Share = 0.1
    partnership_rate_per_year: NonNeg = 0.1
    partnership_spillover: Share = 0.05
    data_spend_share: Share = 0.2
    """Data spending as a share of training-compute spending."""
    data_capability_boost: NonNeg = 0.2
    initial_age_years_max: Positive = 8.0

    @model_validator(mode="after")
    def _stages(self) -> Startups:
        if len(self.round_success) != 5 or len(self.round_size_yuan) != 5:
            raise ValueError("round_success and round_size_yuan need 5 values (seed, A, B, C, D+)")
        return self


class Meta(_Strict):
    name: str
    description: str = ""
    start_year: Annotated[int, _num(ge=2000, le=2100)] = 2025
    years: Annotated[int, _num(ge=1, le=50)] = 10
    target_startups: Count = 5000


class Scenario(_Strict):
    """A fully resolved scenario."""

    meta: Meta
    national: National = Field(default_factory=National)
    compute: ComputeMarket = Field(default_factory=ComputeMarket)
    startups: Startups
    sectors: dict[SectorKey, SectorSpec]
    regions: dict[str, Region]

    _provenance: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def provenance(self) -> dict[str, str]:
        """Dotted path -> source or assumption text, for every annotated value."""
        return self._provenance

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if not self.regions:
            raise ValueError("at least one region is needed")
        missing = set(SECTORS) - set(self.sectors)
        if missing:
            raise ValueError(f"sectors missing: {sorted(missing)}")
        for rid, r in self.regions.items():
            for did, dc in r.data_centers.items():
                if dc.owner and dc.owner not in r.big_firms:
                    raise ValueError(
                        f"regions.{rid}.data_centers.{did}.owner {dc.owner!r} is not a big firm "
                        f"of region {rid}"
                    )
        return self

    @property
    def months(self) -> int:
        return self.meta.years * 12


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------
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
        if not Path(base).is_absolute() and path.suffix == ".toml" and (path.parent / base).exists():
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
        allowed = ", ".join(f"{folder}/{n}" for n in fragment_names(folder)) if folder else "regions/<id>"
        raise ScenarioError("include", name, f"unknown fragment; allowed: {allowed} or a .toml file")
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
                child["source"] = f"{child.get('source', child.get('assumption', ''))} (partly set by user)"
                child.pop("assumption", None)
                child.pop("range", None)
                child = child["value"]
            if child is None:
                # A table the file leaves to its defaults: create it; validation rejects unknown keys.
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
            f"{sym} {ctx[k]}" for k, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")) if k in ctx
        )
        allowed = f"must be {bounds}" if bounds else msg
    else:
        allowed = (msg[0].lower() + msg[1:]).replace("value error, ", "") if msg else "invalid"
    if isinstance(value, dict):
        value = "{...}"
    return ScenarioError(field, value, allowed)


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
