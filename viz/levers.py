"""The levers the browser app shows: which scenario fields, in which units, with which ranges.

Bounds come from the scenario schema (``Policy.model_fields[...].metadata``), explanations from
``ecosystem.scenario.field_help`` (the fields' attribute docstrings; a fallback text where a field
has none), shown as plain words.
A lever is addressed by the dotted path ``aieco run --set`` uses, e.g.
``regions.hangzhou.policy.voucher_rate``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from ecosystem import scenario as sc
from ecosystem.scenario import field_help

Kind = Literal["share", "yuan", "bool", "choice"]

#: Policy levers shown for a city region, in display order (the first are the main ones).
CITY_LEVERS = (
    "voucher_rate",
    "voucher_budget_yuan",
    "voucher_rate_sme",
    "voucher_cap_per_firm_yuan",
    "voucher_portable",
    "voucher_pays_inference",
    "voucher_sme_only",
    "voucher_sme_months",
    "talent_subsidy_yuan_per_person",
    "talent_subsidy_budget_yuan",
    "startup_grant_yuan",
    "startup_grant_budget_yuan",
    "guidance_fund_budget_yuan",
    "adoption_programme_yuan_per_year",
    "dc_investment_yuan_per_year",
    "data_voucher_rate",
    "data_voucher_budget_yuan",
)
#: Policy levers shown for a hub region (a western data-center cluster).
HUB_LEVERS = (
    "voucher_rate",
    "voucher_budget_yuan",
    "voucher_cap_per_firm_yuan",
    "dc_investment_yuan_per_year",
)
#: National levers: (model class, table name in the scenario, field).
NATIONAL_LEVERS = (
    (sc.National, "national", "export_control_strength"),
    (sc.ComputeMarket, "compute", "unified_network"),
)

LABELS = {
    "voucher_rate": "Compute voucher rate",
    "voucher_budget_yuan": "Compute voucher budget",
    "voucher_rate_sme": "Voucher rate for small SMEs",
    "voucher_cap_per_firm_yuan": "Voucher cap per firm",
    "voucher_portable": "Vouchers usable at western hubs",
    "voucher_pays_inference": "Vouchers also pay for inference",
    "voucher_sme_only": "Vouchers for SMEs only",
    "voucher_sme_months": "SME rate duration (months)",
    "talent_subsidy_yuan_per_person": "Talent subsidy per person",
    "talent_subsidy_budget_yuan": "Talent subsidy budget",
    "startup_grant_yuan": "Startup grant",
    "startup_grant_budget_yuan": "Startup grant budget",
    "guidance_fund_budget_yuan": "Guidance fund",
    "adoption_programme_yuan_per_year": "AI adoption programme",
    "dc_investment_yuan_per_year": "Public data-center investment",
    "data_voucher_rate": "Data voucher rate",
    "data_voucher_budget_yuan": "Data voucher budget",
    "export_control_strength": "Export-control strength",
    "unified_network": "Unified national compute network",
}

#: One-line explanations where the schema field has no docstring (or a too technical one).
HELP = {
    "voucher_budget_yuan": "Yearly money for compute vouchers; when it runs out, no more "
    "vouchers that year.",
    "voucher_cap_per_firm_yuan": "Largest voucher entitlement awarded to one firm.",
    "voucher_rate": "Share of a compute contract the voucher pays (standard firms).",
    "voucher_sme_months": "Months the SME rate lasts from a firm's first voucher (0 = no "
    "limit; Shanghai: 12).",
    "talent_subsidy_budget_yuan": "Yearly money for talent subsidies.",
    "startup_grant_budget_yuan": "Yearly money for startup grants.",
    "guidance_fund_budget_yuan": "Government guidance fund: co-invests in local funding rounds "
    "up to this much a year.",
    "data_voucher_rate": "Share of a firm's data purchases a data voucher pays.",
    "data_voucher_budget_yuan": "Yearly money for data vouchers.",
    "unified_network": "Share of the cost of buying compute in another region removed by a "
    "national network.",
}

#: Programmes with a clear on/off: (id, name, table path template, fields). Off sets every field
#: to 0, so the programme pays nothing at all (the SME rate included); on restores the preset's
#: (or loaded file's) values.
PROGRAMMES = (
    (
        "compute_vouchers",
        "Compute vouchers",
        ("voucher_rate", "voucher_rate_sme", "voucher_budget_yuan"),
    ),
    ("data_vouchers", "Data vouchers", ("data_voucher_rate", "data_voucher_budget_yuan")),
    (
        "talent_subsidy",
        "Talent subsidy",
        ("talent_subsidy_yuan_per_person", "talent_subsidy_budget_yuan"),
    ),
    ("startup_grants", "Startup grants", ("startup_grant_yuan", "startup_grant_budget_yuan")),
    ("guidance_fund", "Guidance fund", ("guidance_fund_budget_yuan",)),
    ("adoption", "AI adoption programme", ("adoption_programme_yuan_per_year",)),
    ("dc_investment", "Public data-center investment", ("dc_investment_yuan_per_year",)),
)
#: The national compute-voucher programme (fields of the ``national`` table).
NATIONAL_PROGRAMME = (
    "national_vouchers",
    "National compute vouchers",
    ("voucher_rate", "voucher_budget_yuan"),
)


@dataclass(frozen=True)
class Programme:
    id: str  # e.g. "hangzhou:compute_vouchers"
    name: str
    group: str  # region name or "National"
    paths: tuple[str, ...]  # dotted scenario paths set to 0 when off


def programmes_for(doc: dict) -> list[Programme]:
    """Every programme of a (plain) scenario document, per region, then national ones."""
    out: list[Programme] = []
    for rid, region in (doc.get("regions") or {}).items():
        fields = CITY_LEVERS if region.get("kind", "city") == "city" else HUB_LEVERS
        for pid, name, names in PROGRAMMES:
            paths = tuple(f"regions.{rid}.policy.{f}" for f in names if f in fields)
            if paths:
                out.append(Programme(f"{rid}:{pid}", name, region.get("name", rid), paths))
    pid, name, names = NATIONAL_PROGRAMME
    out.append(Programme(pid, name, "National", tuple(f"national.{f}" for f in names)))
    return out


#: Largest amount a money field accepts (¥ million): ¥1 trillion, far above any budget in the
#: presets; larger numbers are typing errors, not scenarios.
MAX_YUAN_MILLION = 1.0e6
#: The one number format the text fields accept: digits 0-9, an optional minus sign and a
#: decimal point; no thousands separators, exponents, percent signs or other digit systems.
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def parse_number(text: str, label: str, unit: str) -> float:
    """A number typed in a field, in the one accepted format; ValueError names what to change."""
    raw = str(text).strip()
    if NUMBER.fullmatch(raw):
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError(f"{label}: {raw[:20]}…: far too large")
        return value
    where = f"{label}: {raw!r}"
    if not raw:
        raise ValueError(f"{where}: type a number ({unit})")
    if "%" in raw:
        raise ValueError(f"{where}: type the number only, without % (the field is in {unit})")
    if "," in raw or "_" in raw or " " in raw:
        raise ValueError(
            f"{where}: use a point for decimals and no thousands separators "
            "(for example 1.5 or 2500)"
        )
    if any(ch.isdigit() and ch not in "0123456789" for ch in raw):
        raise ValueError(f"{where}: use the digits 0-9")
    if re.fullmatch(r"-?[0-9.]*[eE][-+]?[0-9]+", raw):
        raise ValueError(f"{where}: write the number out, without an exponent")
    raise ValueError(f"{where} is not a number ({unit}); for example 12.5")


def plain_text(text: str) -> str:
    """Help text as plain words: ``field_names`` become their labels, markup is dropped."""

    def name(m: re.Match) -> str:
        word = m.group(1) or m.group(2)
        return LABELS.get(word, word.replace("_yuan", "").replace("_", " ")).lower()

    text = re.sub(r"``([^`]+)``|`([^`]+)`", name, text)
    text = re.sub(r"\[S\d+\]|\[[A-Z]\d+\]", "", text)
    text = " ".join(text.replace("**", "").split())
    return re.sub(r"\s+([.,;:)])", r"\1", text)


#: Upper end of the slider for money levers (yuan) when the preset value is small.
DEFAULT_YUAN_MAX = 1.0e9
#: Money levers are shown in millions of yuan.
YUAN_SCALE = 1.0e6


@dataclass(frozen=True)
class Lever:
    path: str  # dotted scenario path
    field: str
    group: str  # heading in the app ("Hangzhou", "National")
    label: str
    kind: Kind
    help: str
    lo: float | None = None  # schema bounds, in model units
    hi: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def unit(self) -> str:
        return {"share": "%", "yuan": "¥ million", "bool": "", "choice": ""}[self.kind]

    @property
    def scale(self) -> float:
        """Model value = display value × scale."""
        return {"share": 0.01, "yuan": YUAN_SCALE}.get(self.kind, 1.0)

    def slider_max(self, preset_value: float) -> float:
        """Upper end of the slider, in display units."""
        if self.kind == "share":
            return 100.0 * (self.hi if self.hi is not None else 1.0)
        top = max(DEFAULT_YUAN_MAX, 4.0 * float(preset_value or 0.0))
        if self.field.endswith("per_person") or self.field == "startup_grant_yuan":
            top = max(1.0e6, 4.0 * float(preset_value or 0.0))
        elif "cap_per_firm" in self.field:
            top = max(5.0e7, 4.0 * float(preset_value or 0.0))
        return _nice(top / YUAN_SCALE)

    def to_display(self, value: Any) -> Any:
        if self.kind in ("share", "yuan"):
            return float(value) / self.scale
        return value

    def format(self, value: Any) -> str:
        """The value as the text field shows it (display units, no unit sign)."""
        if self.kind in ("share", "yuan"):
            return f"{self.to_display(value):g}"
        return str(value)

    def range_text(self, preset_value: Any) -> str:
        if self.kind == "share":
            return f"0–{100 * (self.hi if self.hi is not None else 1):g} %"
        if self.kind == "yuan":
            return f"≥ 0 ¥ million (slider to {self.slider_max(preset_value):g})"
        if self.kind == "choice":
            return " or ".join(self.choices)
        return "on / off"

    def parse(self, text: str) -> Any:
        """A typed value (display units) as a model value; ValueError with a one-line reason."""
        raw = str(text).strip()
        if self.kind == "bool":
            low = raw.lower()
            if low in ("true", "on", "yes", "1"):
                return True
            if low in ("false", "off", "no", "0"):
                return False
            raise ValueError(f"{self.label}: {text!r} is not on/off")
        if self.kind == "choice":
            if raw not in self.choices:
                raise ValueError(f"{self.label}: {text!r}; allowed: {', '.join(self.choices)}")
            return raw
        shown = parse_number(raw, self.label, self.unit)
        text = raw if len(raw) <= 20 else raw[:20] + "…"
        if self.kind == "yuan" and shown > MAX_YUAN_MILLION:
            raise ValueError(
                f"{self.label} = {text} {self.unit}: must be at most "
                f"{MAX_YUAN_MILLION:,.0f} {self.unit} (¥1 trillion)"
            )
        value = shown * self.scale
        if self.lo is not None and value < self.lo - 1e-12:
            raise ValueError(
                f"{self.label} = {text} {self.unit}: must be at least "
                f"{self.lo / self.scale:g} {self.unit}"
            )
        if self.hi is not None and value > self.hi + 1e-12:
            raise ValueError(
                f"{self.label} = {text} {self.unit}: must be at most "
                f"{self.hi / self.scale:g} {self.unit}"
            )
        return value


def _nice(x: float) -> float:
    """Round up to 1, 2 or 5 times a power of ten."""
    if x <= 0:
        return 1.0
    exp = math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * 10**exp >= x - 1e-9:
            return float(m * 10**exp)
    return float(10 ** (exp + 1))


def _bounds(model: type[BaseModel], name: str) -> tuple[float | None, float | None]:
    lo = hi = None
    info = model.model_fields[name]
    metadata = list(info.metadata)
    tp = info.annotation
    while get_origin(tp) is not None and hasattr(tp, "__metadata__"):
        metadata.extend(tp.__metadata__)
        tp = get_args(tp)[0]
    for m in metadata:
        for sub in getattr(m, "metadata", [m]):
            if getattr(sub, "ge", None) is not None:
                lo = float(sub.ge)
            if getattr(sub, "gt", None) is not None:
                lo = float(sub.gt)
            if getattr(sub, "le", None) is not None:
                hi = float(sub.le)
            if getattr(sub, "lt", None) is not None:
                hi = float(sub.lt)
    return lo, hi


def make_lever(model: type[BaseModel], path: str, field: str, group: str) -> Lever:
    info = model.model_fields[field]
    tp = info.annotation
    if tp is bool:
        kind: Kind = "bool"
    elif get_origin(tp) is Literal:
        kind = "choice"
    elif field.endswith("_yuan") or "_yuan_" in field:
        kind = "yuan"
    else:
        kind = "share"
    lo, hi = _bounds(model, field)
    help_text = plain_text(HELP.get(field) or field_help(path).summary or LABELS.get(field, field))
    return Lever(
        path=path,
        field=field,
        group=group,
        label=LABELS.get(field, field.replace("_", " ")),
        kind=kind,
        help=help_text,
        lo=lo,
        hi=hi,
        choices=tuple(get_args(tp)) if kind == "choice" else (),
    )


def levers_for(doc: dict) -> list[Lever]:
    """The levers of a (plain) scenario document: per region by kind, then national ones."""
    out: list[Lever] = []
    for rid, region in (doc.get("regions") or {}).items():
        kind = region.get("kind", "city")
        name = region.get("name", rid)
        fields = CITY_LEVERS if kind == "city" else HUB_LEVERS
        for field in fields:
            out.append(make_lever(sc.Policy, f"regions.{rid}.policy.{field}", field, name))
    for model, table, field in NATIONAL_LEVERS:
        out.append(make_lever(model, f"{table}.{field}", field, "National"))
    return out


def value_at(scenario: BaseModel, path: str) -> Any:
    """The value at a dotted path of a validated scenario (schema defaults included)."""
    node: Any = scenario
    for part in path.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node
