"""The scenario schema: every field a scenario may hold, its type, bounds and meaning.

Each field's attribute docstring is its help text. Units: money in yuan, compute in
H100-equivalent GPU-hours, time in months unless a field's name says ``per_year``.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from types import UnionType
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, Strict, model_validator
from pydantic.fields import FieldInfo


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


# --------------------------------------------------------------------------------------------
# Field helpers: every number states its bounds, so errors can say what is allowed.
# --------------------------------------------------------------------------------------------
def _num(ge: float | None = None, le: float | None = None, gt: float | None = None):
    return Field(ge=ge, le=le, gt=gt)


#: Largest amount of money any field may hold, in yuan (a year's flow or a stock): China's GDP is
#: about 1.3e14 yuan a year, so no regional AI budget, market or fund can exceed it, and sums
#: of such amounts over 50 years stay far from float overflow.
MAX_YUAN = 1e14
#: Largest compute quantity, in H100-equivalent GPU-hours per month: 1e12 GPU-h is about
#: 1.4 billion accelerators, hundreds of times the world's installed base.
MAX_GPU_H = 1e12
#: Largest number of people in one population field (staff, headcount, graduates, seekers):
#: ten times the largest AI employer in China; each person is a row of the people table.
MAX_PEOPLE = 2_000_000
#: Largest number of people the people table may be projected to hold at the end of a run
#: (about 45 bytes a row, doubled while growing, plus temporaries: keeps a run within a few GB).
MAX_PEOPLE_PROJECTED = 30_000_000
#: Largest elasticity or exponent of a behavioural response: beyond 10 a 2x difference is a
#: 1000x response, indistinguishable from a hard switch, and powers overflow float64.
MAX_ELASTICITY = 10.0

Share = Annotated[float, _num(ge=0.0, le=1.0)]
NonNeg = Annotated[float, _num(ge=0.0)]
Positive = Annotated[float, _num(gt=0.0)]
Count = Annotated[int, _num(ge=0, le=1_000_000_000)]
People = Annotated[int, _num(ge=0, le=MAX_PEOPLE)]
Yuan = Annotated[float, _num(ge=0.0, le=MAX_YUAN)]
PositiveYuan = Annotated[float, _num(ge=1.0, le=MAX_YUAN)]
GpuHours = Annotated[float, _num(ge=0.0, le=MAX_GPU_H)]
Elasticity = Annotated[float, _num(ge=0.0, le=MAX_ELASTICITY)]
Multiplier = Annotated[float, _num(ge=0.0, le=100.0)]
Months = Annotated[int, _num(ge=0, le=600)]


class FieldRuleError(ValueError):
    """A rule across fields broken by one field, raised inside a table's validator.

    ``field`` is the field's path relative to the table; the one-line scenario error names the
    full path, the value and what is allowed (``errors.format_validation_error``).
    """

    def __init__(self, field: str, value: Any, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field} = {value!r}: {allowed}")


class _Strict(BaseModel):
    """Strict, closed models: unknown keys, wrong types, NaN and infinities are errors."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        validate_assignment=True,
        allow_inf_nan=False,
        use_attribute_docstrings=True,
    )


# --------------------------------------------------------------------------------------------
# National environment
# --------------------------------------------------------------------------------------------
class National(_Strict):
    """Trends no city controls: chips, efficiency, compute prices."""

    efficiency_gain_per_year: Share = 0.3
    """Yearly fall in the compute one unit of capability needs (the DeepSeek effect, H10)."""
    chip_supply_gpu_per_year: Annotated[float, _num(ge=0.0, le=1e8)] = 200_000
    """New H100-equivalent accelerators the country can install per year (export controls)."""
    export_control_strength: Share = 0.5
    """0 = no controls, 1 = strict: scales chip supply down and efficiency gains up."""
    export_control_supply_cut: Share = 0.5
    """Share of chip supply lost at full export-control strength."""
    export_control_efficiency_boost: Multiplier = 0.3
    """Relative boost to efficiency gains at full strength (innovation under constraint, H10)."""
    compute_cost_decline_per_year: Share = 0.2
    """Yearly fall in the cost of a GPU-hour of capacity (price floors follow it)."""
    internal_migration_share: Share = 0.5
    """Share of people leaving a modelled city who move to another modelled city (the rest leave
    the model). Only matters with two or more city regions."""
    migration_wage_elasticity: Elasticity = 2.0
    """ε_w of the one attraction function (arrivals, departures, moves between cities, graduates'
    stay): attraction ∝ (effective wage / ``labour.national_reference_wage_yuan_per_month``) ** ε_w.
    At most 10 (see MAX_ELASTICITY)."""
    voucher_rate: Share = 0.0
    """National compute-voucher programme (V7): rate, valid at any data center for any startup."""
    voucher_budget_yuan: Yuan = 0.0
    voucher_cap_per_firm_yuan: Yuan = 0.0
    voucher_start_year: Annotated[int, _num(ge=2000, le=2100)] = 2025
    voucher_validity_months: Annotated[int, _num(ge=1, le=120)] = 12
    """Months a national voucher entitlement stays valid."""
    voucher_pays_inference: bool = True
    """As ``policy.voucher_pays_inference``, for the national programme."""
    hours_per_month: Annotated[float, _num(ge=1.0, le=744.0)] = 730.0
    gpu_capex_yuan: PositiveYuan = 250_000.0
    """Installed cost of one H100-equivalent accelerator with its share of the building."""
    dc_build_months: Annotated[int, _num(ge=1, le=600)] = 12
    """Months from an expansion decision to capacity coming online (at least the month of the
    decision: capacity ordered during a month cannot already have come online in it)."""
    mobile_founders_per_year: Annotated[float, _num(ge=0.0, le=1e6)] = 0.0
    """Φ: founders a year, nationally, who choose a city to found in (design §6.2); each month's
    Poisson(Φ/12) split over cities by ``founding.mobile_founder_weights``."""
    founder_vc_elasticity: Elasticity = 0.5
    """ε_VC: elasticity of a city's weight for mobile founders to its VC money per startup."""
    mobile_founder_rival_weight: Annotated[float, _num(ge=0.0, le=1e9)] = 0.0
    """Destination weight of the cities the scenario does not model, at month 0 (0 when every
    destination is modelled; single-city presets: derived by ``aieco derive-background``)."""
    mobile_founder_rival_growth_per_year: float = Field(default=0.0, ge=-0.5, le=2.0)
    """Yearly growth of ``mobile_founder_rival_weight``."""
    vc_home_bias: Share = 1.0
    """h: share of each city's VC money (``market.vc_pool_yuan_per_year`` at its trend) that only
    funds the city's own startups; the rest, 1 − h, is the national mobile pool that funds
    justified rounds left unfunded in every city, best value for money first (design §6.2).
    1 = every city's VC is its own (no mobile money)."""
    vc_mobile_pool_yuan_per_year: Yuan | None = None
    """The mobile pool at month 0 when given (single-city presets: the national mobile pool less
    what the other cities draw from it, derived by ``aieco derive-background``); unset (the
    national run, every city that feeds the pool modelled): (1 − h) × the sum of the cities'
    pools, each at its own trend."""
    vc_mobile_pool_growth_per_year: float = Field(default=0.0, ge=-0.5, le=2.0)
    """Yearly growth of ``vc_mobile_pool_yuan_per_year`` (used only when it is given)."""


class ComputeMarket(_Strict):
    """How the market matches compute demand to data centers."""

    price_adjust_per_month: Annotated[float, _num(ge=0.0, le=1.0)] = 0.03
    """k: log price change per month per unit of utilisation gap, p ← p·exp(k·(u − u*)). With
    ``center_choice_sensitivity`` λ, ``price_cap_yuan_per_gpu_h`` p_cap and
    ``background_price_elasticity`` ε it must keep 2·k·(λ·p_cap + ε) < 1, else prices oscillate
    (the cobweb; docs/ODD.md §7.4)."""
    target_utilization: Share = 0.7
    center_choice_sensitivity: Annotated[float, _num(ge=0.0, le=100.0)] = 0.3
    """λ: logit sensitivity of the choice among data centers to the effective price, per yuan per
    GPU-hour (0 = price ignored, large = the cheapest center takes all)."""
    price_cap_yuan_per_gpu_h: Annotated[float, _num(ge=0.01, le=1e4)] = 31.0
    """Highest price a data center asks per GPU-hour (prices are clipped to [floor, cap])."""
    expansion_threshold: Share = 0.85
    """Utilisation above which an operator orders more capacity."""
    expansion_share: Share = 0.2
    """Capacity added per expansion, as a share of current capacity."""
    cross_region_friction_yuan: Annotated[float, _num(ge=0.0, le=1e4)] = 3.0
    """Extra cost per GPU-hour of buying outside one's region (data transfer, contracts)."""
    unified_network: Share = 0.0
    """Lever (V10): share of the cross-region friction removed by a unified national network."""
    inference_latency_penalty_yuan: Annotated[float, _num(ge=0.0, le=1e4)] = 6.0
    """Extra cost per GPU-hour of serving inference from a distant hub."""
    inference_efficiency_pass_through: Share = 1.0
    """φ: inference GPU-hours per yuan of revenue fall as E(t)^(−φ), E the efficiency trend
    (docs/ODD.md §7.4): 1 = serving gains from the trend as training does, 0 = not at all."""
    background_price_elasticity: Elasticity = 0.5
    """Elasticity of non-startup demand at a data center to its price. At most 10 (see
    MAX_ELASTICITY)."""
    choice_rule: Literal["marginal", "projects"] = "projects"
    """How a startup chooses its training compute (docs/ODD.md §7.4 step 5): ``marginal``,
    GPU-hours bought until the last one's value equals the price it pays (the limit of many
    small projects; docs/design/causal-core.md §2.8); ``projects``, the prefix of J discrete
    candidate projects worth their price (every preset's rule). Should the presets change rule,
    keep this default: hashes of scenarios leave fields at their default out
    (``loading.run_values``), so changing it would silently give a store or posterior of the
    old rule the hash of the new one."""
    projects_per_month: Annotated[int, _num(ge=1, le=12)] = 4
    """J: candidate training projects each live startup weighs each month (docs/ODD.md §7.4)."""
    candidate_scale: Annotated[float, _num(gt=0.0, le=100.0)] = 2.0
    """GPU-h of all J candidates together, as a multiple of headcount × the sector's
    ``training_gpu_h_per_head``."""
    project_size_sigma: Annotated[float, _num(ge=0.0, le=3.0)] = 0.5
    """σ_c: log-normal spread of candidate project sizes."""
    project_return_sigma: Annotated[float, _num(ge=0.0, le=3.0)] = 0.8
    """σ_z: log-normal spread of project productivity z (mean 1): the heterogeneity of returns
    that makes some projects worth buying only with a voucher."""
    discount_per_month: Annotated[float, _num(ge=0.0, le=1.0)] = 0.025
    """d: firms' monthly discount rate in the horizon 1 / (δ + g_F/12 + d) of a capability gain."""
    compute_liquidity_share: Annotated[float, _num(ge=0.0, le=10.0)] = 1.0
    """ψ: monthly compute budget = ψ · cash / runway target + (1 − margin) · revenue − wages and
    overheads − inference."""
    application_cost_yuan: Yuan = 30_000.0
    """κ̄: median cost to a firm of applying for a voucher (paperwork, contracts, waiting)."""
    application_cost_sigma: Annotated[float, _num(ge=0.0, le=5.0)] = 1.0
    """Log-normal spread of firms' application costs around κ̄ (drawn at founding)."""
    award_planning_margin: Annotated[float, _num(ge=0.0, le=5.0)] = 0.2
    """u_plan: an entitlement is rate × expected yearly spend × (1 + u_plan), capped per firm."""
    spend_memory_months: Annotated[float, _num(ge=1.0, le=120.0)] = 3.0
    """Months over which a firm averages its compute spend (exponential mean) to size the
    voucher it applies for."""
    reference_price_without_centers_yuan: Annotated[float, _num(gt=0.0, le=1e4)] = 10.0
    """Planning price of compute (yuan per GPU-h) when no region has a data center."""

    @model_validator(mode="after")
    def _stable_prices(self) -> ComputeMarket:
        """The price adjustment converges without a cobweb (docs/ODD.md §7.4): a sufficient
        condition is 2·k·(λ·p_cap + ε_bg) < 1 (Gershgorin bound on the linearised update)."""
        slope = self.center_choice_sensitivity * self.price_cap_yuan_per_gpu_h
        slope += self.background_price_elasticity
        if 2.0 * self.price_adjust_per_month * slope >= 1.0:
            k_max = 1.0 / (2.0 * slope)
            raise FieldRuleError(
                "price_adjust_per_month",
                self.price_adjust_per_month,
                f"must be < {k_max:.4g} with center_choice_sensitivity "
                f"{self.center_choice_sensitivity:g}, price_cap_yuan_per_gpu_h "
                f"{self.price_cap_yuan_per_gpu_h:g} and background_price_elasticity "
                f"{self.background_price_elasticity:g}, else prices oscillate "
                "(stability: 2·k·(λ·p_cap + ε) < 1); or lower those",
            )
        return self


# --------------------------------------------------------------------------------------------
# Actors
# --------------------------------------------------------------------------------------------
class Expansion(_Strict):
    month: Months
    add_gpu_h: GpuHours


class DataCenterSpec(_Strict):
    name: str
    capacity_gpu_h: GpuHours
    """Capacity in H100-equivalent GPU-hours per month."""
    price_yuan_per_gpu_h: Annotated[float, _num(ge=0.01, le=1e4)]
    """Initial price per GPU-hour, 0.01 to 10,000 yuan (denormal prices break the price
    arithmetic)."""
    power_cost_yuan_per_kwh: Annotated[float, _num(ge=0.0, le=100.0)]
    pue: Annotated[float, _num(ge=1.0, le=3.0)] = 1.3
    kw_per_gpu: Annotated[float, _num(ge=0.01, le=100.0)] = 0.7
    price_floor_share: Share = 0.5
    """Lowest price, as a share of the initial price (the cost floor), before cost declines."""
    background_demand_gpu_h: GpuHours = 0.0
    """Demand from outside the modelled startups (enterprises, big firms, government)."""
    background_growth_per_year: float = Field(default=0.1, ge=-0.5, le=2.0)
    owner: str = ""
    """Big firm that operates it (a cloud provider), or empty for public or independent centers."""
    expandable: bool = True
    planned_expansions: list[Expansion] = Field(default_factory=list)


class UniversitySpec(_Strict):
    name: str
    graduates_per_year: People
    """AI-relevant graduates entering the labour market each year (in July). At most 2,000,000
    (MAX_PEOPLE): each graduate is a row of the people table."""
    graduate_founding_share: Share = 0.002
    """Share of graduates who found a startup straight from university."""
    research_quality: Share
    staff: People
    """Researchers and faculty in AI-relevant fields (people rows employed by the university)."""
    spinoffs_per_year: Annotated[float, _num(ge=0.0, le=1e4)]
    """Researcher spinoffs per year at research quality 1 (scaled by quality)."""
    collaborations_per_year: Annotated[float, _num(ge=0.0, le=1e5)] = 10.0
    """New university–startup collaborations per year."""
    collaboration_boost: Annotated[float, _num(ge=0.0, le=1.0)] = 0.05
    """Capability gain of a collaborating startup, as a share of the university's research
    quality."""


class BigFirmSpec(_Strict):
    name: str
    headcount: People
    """Employees in AI-relevant roles, each a row of the people table; at most 2,000,000
    (MAX_PEOPLE). At least one big firm of a region needs staff (alumni are drawn in proportion
    to headcount)."""
    headcount_growth_per_year: float = Field(default=0.02, ge=-0.5, le=1.0)
    attrition_per_year: Share = 0.12
    spinoff_multiplier: Multiplier = 1.0
    """Multiplies the size-based founding hazard of its leavers (culture, wealth of alumni)."""
    ma_budget_yuan_per_year: Yuan = 0.0
    """Money it may spend a year buying local startups (renewed each January; 0: no
    acquisitions)."""
    procurement_yuan_per_year: Yuan = 0.0
    """Spending on startup products (big firms as buyers)."""
    capability: Share = 0.8
    """Technical level its alumni start from."""


class Policy(_Strict):
    """The levers of a local government.

    Budgets are per calendar year; nothing is spent beyond one.
    """

    #: The yearly budgets: what a policy transplant scales to the destination's size
    #: (``aieco compare --policy-from SRC --scale ...``). Every other yuan field is an amount per
    #: firm, per person or per contract, copied as written (tests/test_compare.py checks the split).
    YEARLY_BUDGETS: ClassVar[tuple[str, ...]] = (
        "voucher_budget_yuan",
        "data_voucher_budget_yuan",
        "talent_subsidy_budget_yuan",
        "startup_grant_budget_yuan",
        "guidance_fund_budget_yuan",
        "dc_investment_yuan_per_year",
        "adoption_programme_yuan_per_year",
    )

    voucher_rate: Share = 0.0
    """Share of a compute contract the voucher pays (standard firms)."""
    voucher_rate_sme: Share = 0.0
    """Rate for small SMEs (annual compute contracts up to ``voucher_sme_contract_max_yuan``)."""
    voucher_sme_contract_max_yuan: Yuan = 0.0
    voucher_sme_only: bool = False
    """If true, only firms with at most ``voucher_sme_max_headcount`` staff may claim."""
    voucher_sme_max_headcount: People = 300
    voucher_cap_per_firm_yuan: Yuan = 0.0
    """Largest voucher entitlement awarded to one firm."""
    voucher_budget_yuan: Yuan = 0.0
    voucher_portable: bool = False
    """If true, vouchers may be spent at data centers in hub regions, not only local ones."""
    voucher_claimants: Literal["local_firms", "any_buyer"] = "local_firms"
    """Who may claim: the region's own firms (city programmes) or any firm buying compute at the
    region's data centers (hub programmes such as Qingyang's)."""
    voucher_pays_inference: bool = True
    """If true (every documented programme: a share of the compute rent or contract, with no
    restriction to training, [S62][S66][S67][S76]) the entitlement pays for the firm's inference
    as well as its training; false is a counterfactual programme for training only. Inference is
    bought whatever its price, so what a voucher pays for it is never additional."""
    voucher_validity_months: Annotated[int, _num(ge=1, le=120)] = 12
    """Months an awarded voucher entitlement stays valid; what is left then is unused."""
    voucher_sme_months: Months = 0
    """Months the SME rate lasts from a firm's first award (0 = no limit)."""
    voucher_start_year: Annotated[int, _num(ge=2000, le=2100)] = 2000
    """First calendar year in which the voucher programme pays."""
    data_voucher_rate: Share = 0.0
    data_voucher_budget_yuan: Yuan = 0.0
    data_voucher_cap_per_firm_yuan: Yuan = 0.0
    talent_subsidy_yuan_per_person: Yuan = 0.0
    """One-off subsidy to each graduate or migrant who takes their first job in the region."""
    talent_subsidy_budget_yuan: Yuan = 0.0
    startup_grant_yuan: Yuan = 0.0
    """One-off grant to each new startup."""
    startup_grant_budget_yuan: Yuan = 0.0
    guidance_fund_budget_yuan: Yuan = 0.0
    """Government guidance fund: co-invests in local rounds up to this much a year."""
    guidance_fund_share: Share = 0.2
    """Share of a round the guidance fund puts in (raising the odds that the round closes)."""
    dc_investment_yuan_per_year: Yuan = 0.0
    """Public money for new local data-center capacity (subject to the national chip supply)."""
    adoption_programme_yuan_per_year: Yuan = 0.0
    """Subsidies to local AI adopters: the subsidised purchases themselves (times
    ``adoption_multiplier``, transitory) and a higher adoption hazard
    (``demand.adoption_programme_pull``, persistent)."""
    adoption_multiplier: Multiplier = 2.0
    """Adopter spending on AI products per yuan of adoption subsidy."""


class FoundingHazard(_Strict):
    """Share of leavers who found a startup, by the size of the employer they leave.

    Interpolated log-linearly in size between the points, flat beyond them.
    """

    sizes: list[Annotated[float, _num(gt=0.0, le=1e7)]]
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

    initial_job_seekers: People
    """People looking for work at the start; at most 2,000,000 (MAX_PEOPLE)."""
    wage_yuan_per_month: Annotated[float, _num(ge=100.0, le=1e7)]
    """Fully loaded monthly cost of one AI employee. Between 100 and 1e7 yuan: tiny positive wages
    make hiring arithmetic overflow, and no AI salary is above 10 million a month."""
    gross_inflow_per_year: Share
    """Arrivals from other regions per year, as a share of the workforce, at attraction 1 (the
    national reference wage and normal tightness)."""
    outflow_per_year: Share
    """Departures to other regions per year among the employed, at attraction 1 (divided by the
    region's attraction)."""
    seeker_outflow_per_year: Share
    """Departures per year among job seekers (who leave faster), at attraction 1."""
    graduate_stay_share: Share = 0.7
    """Share of local graduates who look for work in the region, at attraction 1 (times the
    region's attraction, capped at 1)."""
    retirement_age_years: Annotated[float, _num(ge=40.0, le=80.0)] = 60.0
    startup_attrition_per_year: Share = 0.2
    university_attrition_per_year: Share = 0.05
    other_founding_per_year: Share = 0.002
    """Yearly founding hazard of job seekers (origin "other"), times the cluster pull."""
    initial_alumni_share: Share = 0.3
    """Share of the 2025 startup staff and job seekers who once worked at a local big firm."""
    migrant_alumni_share: Share = 0.2
    """Share of arriving migrants who worked at a big firm in another region."""
    startup_spinoff_multiplier: Multiplier = 1.0
    """Multiplies the founding hazard of startup leavers (the size table measures self-employment
    of all small-firm quitters, more than AI founding)."""
    founding_hazard: FoundingHazard


class Market(_Strict):
    """A city's market for AI products (application-led adoption, H7, H9) and its VC money."""

    market_potential_yuan_per_year: Yuan
    """M_r: yearly AI spending if every potential adopter had adopted (2025 prices); startups
    win a share of the adopted part (``demand``)."""
    market_growth_per_year: float = Field(ge=-0.5, le=2.0)
    """g_M: yearly growth of AI spending per adopter (adoption itself grows by the Bass
    process of the ``demand`` section)."""
    vc_pool_yuan_per_year: Yuan
    vc_growth_per_year: float = Field(default=0.0, ge=-0.5, le=2.0)


class Region(_Strict):
    name: str
    kind: Literal["city", "hub"] = "city"
    initial_startups: Annotated[int, _num(ge=0, le=200_000)] = 0
    """Startups alive at the start. At most 200,000: about 100 times the largest preset city
    (1,550), and with their founding teams the startup and people tables stay within memory."""
    gdp_yuan: Yuan | None = None
    """The region's GDP (yuan a year). Used only to scale a transplanted policy's budgets to this
    region's size (``aieco compare --policy-from SRC --scale gdp``); not part of the model."""
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
        if self.big_firms and sum(b.headcount for b in self.big_firms.values()) < 1:
            # Alumni and spinoffs are drawn in proportion to big-firm headcount.
            raise ValueError("big_firms: at least one big firm needs headcount >= 1")
        return self

    def initial_workforce(self, founding_team: int) -> int:
        """People in this region's labour market at the start: big-firm and university staff,
        job seekers and the initial startups' founding teams (0 for a hub)."""
        if self.talent is None:
            return 0
        return (
            sum(b.headcount for b in self.big_firms.values())
            + sum(u.staff for u in self.universities.values())
            + self.talent.initial_job_seekers
            + self.initial_startups * founding_team
        )

    def graduates_staying_per_year(self) -> float:
        """Local graduates a year who look for work here at attraction 1."""
        if self.talent is None:
            return 0.0
        graduates = sum(u.graduates_per_year for u in self.universities.values())
        return graduates * self.talent.graduate_stay_share

    def projected_people(self, years: int, founding_team: int) -> float:
        """A generous upper estimate of this region's people-table rows after ``years``."""
        if self.talent is None:
            return 0.0
        firms = sum(
            b.headcount * (1.0 + max(b.headcount_growth_per_year, 0.0)) ** years
            for b in self.big_firms.values()
        )
        others = (
            sum(u.staff for u in self.universities.values())
            + self.talent.initial_job_seekers
            + self.initial_startups * founding_team
            + sum(u.graduates_per_year for u in self.universities.values()) * years
        )
        net_inflow = self.talent.gross_inflow_per_year - self.talent.outflow_per_year
        return firms + others * (1.0 + max(net_inflow, 0.0)) ** years


class Demand(_Strict):
    """Demand for startups' products: a moving frontier, absolute quality, a nested logit with
    an outside option, and Bass adoption with an adoption-programme term (docs/ODD.md 7.6)."""

    frontier_growth_per_year: Annotated[float, _num(ge=0.0, le=5.0)] = 0.35
    """g_F: yearly growth of the frontier quality index F(t); quality is K / F."""
    quality_elasticity: Annotated[float, _num(gt=0.0, le=MAX_ELASTICITY)] = 1.0
    """η: a product's attraction is quality^η."""
    nest_rho: Annotated[float, _num(gt=0.0, le=1.0)] = 0.5
    """ρ: dissimilarity of the startup-products nest. Near 0 total startup revenue is a fixed
    pool split among firms; 1 means every firm brings its own customers."""
    outside_option: Annotated[float, _num(gt=0.0, le=1e12)] = 30.0
    """V0: attraction of what adopters buy instead (big firms' platforms, frontier APIs, doing
    without), in units of inclusive value^ρ; national, the same for every city and sector."""
    adoption_initial: Share = 0.25
    """A_r(0): share of potential adopters using AI in January of the start year."""
    bass_innovation_per_year: Annotated[float, _num(ge=0.0, le=12.0)] = 0.01
    """p_B: Bass innovation coefficient (adoption hazard without imitation)."""
    bass_imitation_per_year: Annotated[float, _num(ge=0.0, le=12.0)] = 0.2
    """q_B: Bass imitation coefficient (hazard per unit of the adopted share)."""
    adoption_programme_pull: Annotated[float, _num(ge=0.0, le=1000.0)] = 5.0
    """π_A: yearly adoption hazard added per unit of programme spending as a share of the
    year's market potential."""


class SectorSpec(_Strict):
    """Compute intensity of a sector's firms."""

    training_gpu_h_per_head: Annotated[float, _num(ge=0.0, le=1e6)]
    """Training compute wanted per employee per month."""
    inference_gpu_h_per_yuan: Annotated[float, _num(ge=0.0, le=100.0)]
    """Inference compute per yuan of revenue."""


class Startups(_Strict):
    """Behaviour shared by all startups."""

    founding_cash_yuan: PositiveYuan
    founding_team: Annotated[int, _num(ge=1, le=20)] = 3
    runway_target_months: Annotated[float, _num(gt=0.0, le=600.0)] = 18.0
    """Firms hire only as far as keeps this many months of runway."""
    target_margin: Share = 0.1
    """Share of revenue firms keep as margin rather than spend on staff."""
    raise_below_runway_months: Annotated[float, _num(gt=0.0, le=600.0)] = 6.0
    retry_months: Annotated[int, _num(ge=1, le=600)] = 6
    max_growth_per_month: Share = 0.15
    round_size_yuan: list[Yuan]
    """Size of the next round asked for, by stage reached next: seed, A, B, C, D+."""
    other_opex_share: Share = 0.2
    """Non-wage, non-compute costs as a share of the wage bill."""
    capability_depreciation_per_month: Annotated[float, _num(ge=1e-4, le=1.0)] = 0.01
    """δ: absolute monthly depreciation of capability (staff leave, code and data age); the
    moving frontier enters through quality K/F instead. A new firm's capability unit is
    capability_scale divided by it, so it must be at least 1e-4 (a half-life under 600
    years): 0 or a denormal makes that unit infinite."""
    compute_elasticity: Share = 0.3
    """α: exponent of training compute in capability production (diminishing returns)."""
    talent_elasticity: Share = 0.5
    capability_scale: Annotated[float, _num(gt=0.0, le=100.0)] = 0.05
    """σ_K: monthly capability gain of a firm with one unit of skill-weighted staff buying
    ``capability_compute_unit_gpu_h`` in 2025; at most 100."""
    catchup_ceiling: Annotated[float, _num(ge=0.0, le=1000.0)] = 0.0
    """κ: the ceiling of a firm's quality, as a multiple of a unit firm's steady state at the
    frontier (κ × F(t) × capability_scale / capability_depreciation_per_month): capability gains
    and spillovers shrink by max(0, 1 − K / ceiling) (distance to the frontier, docs/ODD.md
    7.5). 0 = no ceiling."""
    capability_compute_unit_gpu_h: Annotated[float, _num(gt=0.0, le=MAX_GPU_H)] = 100.0
    """Training GPU-h a month at which capability production is normalised: with
    compute_elasticity 0 (compute irrelevant) every firm produces as if it bought this much."""
    revenue_adjust_per_month: Share = 0.1
    """λ_R: share of the gap to target revenue closed each month (customers follow slowly)."""
    partnership_rate_per_year: Annotated[float, _num(ge=0.0, le=12.0)] = 0.1
    """New partnerships per startup per year. At most 12 (one a month per firm); each month draws
    rate/12 x alive/2 pairs, so larger rates only cost memory."""
    partnership_spillover: Share = 0.05
    """Knowledge a firm absorbs a month from each better-placed current partner, as a share of
    the capability gap (SKIN [S4]; docs/ODD.md 7.5)."""
    partnership_customer_share: Annotated[float, _num(ge=0.0, le=1.0)] = 0.1
    """ω, partner bundles: a firm's attraction rises by up to ω while it has current partners
    (all of ω once their attractions together match its own; docs/ODD.md 7.6). 0 = partners
    share knowledge only."""
    data_spend_share: Share = 0.2
    """Data spending as a share of training-compute spending."""
    initial_age_years_max: Annotated[float, _num(ge=0.25, le=50.0)] = 8.0
    """Oldest initial startup, in years; ages are drawn uniformly from 1 month up to it, so it must
    be at least 0.25 (3 months), and at most 50."""
    founding_team_runway_months: Annotated[float, _num(gt=0.0, le=600.0)] = 12.0
    """Months of wages a founder wants in the bank to hire the founding team."""
    base_capability: Share = 0.3
    """Parent level of a firm whose founder has no known employer (big firms and universities
    pass on their own capability or research quality)."""
    parent_capability_inherited: Multiplier = 0.5
    """Parent level of a startup spinoff: this factor times the parent's capability relative to
    the mean of live firms, bounded by ``parent_capability_min`` and ``parent_capability_max``."""
    parent_capability_min: Multiplier = 0.1
    parent_capability_max: Multiplier = 1.0
    sector_inheritance_share: Share = 0.7
    """Chance that a startup spinoff stays in its parent's sector."""
    founder_skill_weight: Share = 0.5
    """Weight of the founder's skill in the new firm's capability: (1 - w) + w · skill."""
    capability_draw_min: Multiplier = 0.5
    """New firms' capability is drawn uniformly between min and max times their parent level."""
    capability_draw_max: Multiplier = 1.0
    founding_cash_sd: Annotated[float, _num(ge=0.0, le=5.0)] = 0.5
    """Spread (log-normal sigma) of founding cash around ``founding_cash_yuan``."""
    first_raise_after_months: Months = 3
    """Months after founding before a startup first seeks a round."""
    venture_share: Share = 1.0
    """v: share of founding teams of the venture type, drawn once at founding (docs/ODD.md 7.7):
    only they ever apply for a priced round; the others live on founding cash, grants and
    revenue (they lay off, close or fail as any firm does). 1 = every firm may apply, the model
    until 3 December 2026. The 2025 stock's firms that have raised rounds are of the type."""
    founder_attrition_ratio: Annotated[float, _num(ge=0.0, le=3.0)] = 1.0
    """ρ_f: a startup's lead founder leaves the firm, and the region, ρ_f times as often as the
    firm's employees (``talent.startup_attrition_per_year``, ``talent.outflow_per_year``); a
    firm left with nobody fails. 1 = founders leave like employees (the model before the
    parameter); 0 = founders leave only when their firm ends or they retire. No source gives
    founders' own departure rate: stage A calibrates it (prior [0, 1.5]; docs/ODD.md 7.1,
    "Turnover"; docs/calibration.md)."""
    months_between_rounds: Annotated[int, _num(ge=1, le=600)] = 12
    """Months after a closed round before the next can be sought."""
    layoff_below_runway_months: Annotated[float, _num(ge=0.0, le=600.0)] = 3.0
    """Firms losing money with less runway than this lay off staff down to what revenue pays."""
    acquisition_hazard: Annotated[float, _num(ge=0.0, le=1.0)] = 0.002
    """h_A: monthly chance that a big firm with budget acquires a given local candidate of
    average quality (seed stage or later, not stalled)."""
    acquisition_quality_elasticity: Elasticity = 1.0
    """ζ: the hazard × (quality / mean quality of local candidates)^ζ."""
    acquisition_stall_multiplier: Multiplier = 3.0
    """m_stall: the hazard × (1 + m_stall) for a stalled firm (revenue not above its 12-month
    average and runway short): acqui-hires of firms that stopped growing."""
    distress_haircut: Share = 0.5
    """A stalled firm's price is its last post-money × (1 − haircut), at least the floor."""
    acquisition_revenue_multiple_floor: Multiplier = 2.0
    """The price is at least this × yearly revenue."""
    ipo_min_revenue_yuan: Yuan = 2.0e8
    """A firm at Series C or later lists only with at least this yearly revenue..."""
    ipo_min_value_yuan: Yuan = 2.0e9
    """... and a last post-money of at least this."""
    ipo_hazard: Share = 1.0 / 24.0
    """Monthly chance that an eligible firm lists (queue and approval)."""
    ipo_revenue_multiple: Annotated[float, _num(gt=0.0, le=1000.0)] = 10.0
    """m_IPO: value at listing = m_IPO × yearly revenue (investors' exit value)."""
    same_sector_partner_share: Share = 0.5
    """Share of new partnerships sought within the firm's own sector."""
    # Fit, learning, closure, VC screening and valuations (docs/ODD.md 7.6-7.8).
    fit_sigma: Annotated[float, _num(gt=0.0, le=3.0)] = 1.0
    """σ_θ: spread of log product-market fit at founding (log θ ~ N(−σ²/2, σ²), E θ = 1)."""
    fit_drift_sigma: Annotated[float, _num(ge=0.0, le=1.0)] = 0.05
    """σ_w: monthly random walk of log fit (markets move; E θ stays 1)."""
    sales_noise_sigma: Annotated[float, _num(gt=0.0, le=10.0)] = 0.5
    """σ_y: noise of what a month's sales reveal about log fit (Kalman observation)."""
    startup_min_team: Annotated[int, _num(ge=1, le=20)] = 3
    """H_min: the smallest team counted as a startup in the KPIs (smaller firms are micro firms)
    and the team whose market wages a founder compares expected revenue with when closing."""
    closure_revenue_share: Annotated[float, _num(ge=0.0, le=10.0)] = 0.5
    """χ: a firm closes when expected revenue is below χ × the cost of a minimal team."""
    closure_min_age_months: Months = 6
    """Firms younger than this do not close (they may still become insolvent)."""
    closure_review_per_year: Annotated[float, _num(ge=0.0, le=12.0)] = 0.0
    """h_rev: how often a year founders whose runway is not short review the business against
    the viability line (a firm that pays its way but cannot pay a minimal team); 0 = only
    when runway runs short (every preset, until it is calibrated: docs/ODD.md 7.8)."""
    dilution_per_round: Annotated[float, _num(gt=0.0, le=0.9)] = 0.2
    """d: share of the firm each past round sold in the 2025 stock (post-money = round size /
    d); rounds during the run sell size / V̂."""
    max_dilution_per_round: Annotated[float, _num(gt=0.0, le=0.95)] = 0.35
    """d_max: the largest share of the firm one round may sell (size / V̂): rounds asking more
    than the VC's valuation justifies are screened out."""
    vc_revenue_multiple: Annotated[float, _num(gt=0.0, le=1000.0)] = 10.0
    """m_VC: value = m_VC × expected yearly revenue × stage growth."""
    stage_growth: list[Annotated[float, _num(gt=0.0, le=1000.0)]] = [5.0, 3.0, 2.0, 1.5, 1.2]
    """G_stage: growth VCs expect, by stage reached next: seed, A, B, C, D+."""
    target_ownership: list[Annotated[float, _num(gt=0.0, le=0.95)]] = [
        0.205, 0.195, 0.172, 0.126, 0.103
    ]  # fmt: skip
    """d*_stage: the share of the firm a round buys, by the round sought (seed, A, B, C, D+):
    size = max(need, d* × V̂); at most ``max_dilution_per_round``."""
    stage_growth_scale: Annotated[float, _num(gt=0.0, le=100.0)] = 1.0
    """g: one factor on every G_stage (the calibration's single knob for VC optimism)."""
    vc_traction_weight: Share = 0.0
    """ω: the weight VCs give the revenue a firm shows now (its run-rate, this month's revenue)
    against the revenue they expect it to reach (R̂*) when they value it: V̂ prices (1 − ω) R̂*
    + ω R. 0 = expected revenue alone (the model before 6 December 2026, latest)."""
    vc_target_return: list[Annotated[float, _num(ge=0.0, le=10.0)]] = [0.6, 0.5, 0.425, 0.36, 0.3]
    """r_stage: the yearly return a VC targets by the round sought (seed, A, B, C, D+), the VC
    method's discount rate: early investors ask more (Plummer 1987; Scherlis & Sahlman 1987)."""
    vc_years_per_round: Annotated[float, _num(ge=0.0, le=20.0)] = 0.0
    """y: the years a VC expects between rounds on the way to an exit; a round sought at stage
    k discounts the exit over H_k = (5 − k) y years at r_k, relative to Series A (the stage
    discount (1 + r_A)^H_A / (1 + r_k)^H_k). 0 = no stage discount (the model before 6 December
    2026)."""
    raise_for_growth_gap: Annotated[float, _num(ge=0.0, le=100.0)] = 0.5
    """γ: a firm also seeks a round when the staff its expected revenue justifies exceed what
    its cash and revenue pay by this share (capital limits its growth)."""
    # The round's plan (docs/ODD.md §7.7, §7.8): a round buys burn and a deadline, not runway.
    # Every default is "off" (the model before 4 December 2026); stage A's posterior turns it on.
    round_plan_months: Annotated[float, _num(ge=0.0, le=600.0)] = 0.0
    """P: after closing a round a firm plans to spend the cash it then holds over P months (its
    plan burn b = cash / P until the plan's deadline, P months on) and hires ahead of revenue
    toward it (desired headcount at least ⌊b / cost per head⌋). 0 = no plan."""
    plan_unstaffed_spend_share: Share = 0.0
    """φ: the share of the plan burn not spent on staff, compute and data that a firm with a
    plan spends anyway (contractors, sales, offices, recruiting: burn that does not wait for
    the labour market). 0 = burn follows the staff found."""
    wind_down_below_staff_share: Share = 0.0
    """ψ: a firm that raised a priced round and reaches the layoff point (runway below
    ``layoff_below_runway_months``, losing money) is wound down (closed) instead of shrinking
    when its revenue pays for less than ψ of its staff: default dead, no round. 0 = it always
    shrinks to what revenue pays."""
    min_step_up: Annotated[float, _num(ge=0.0, le=100.0)] = 0.0
    """s: a follow-on round is justified only if the VC's value V̂ is at least s × the last
    post-money (s = 1: no down rounds; the growth the last round priced must show). 0 = off."""
    milestone_step_up: Annotated[float, _num(ge=0.0, le=100.0)] = 0.0
    """μ: raising on milestones (staged financing): a firm that has raised a round applies for
    the next once it is due and the VC would value it at least μ × its last post-money (its
    traction has grown into the next stage), whatever its runway or staff; such a round buys
    the VC's target ownership d* × V̂ even when cash covers the firm's plan. 0 = off (the model
    before 7 December 2026)."""
    round_ranking: Literal["value_for_money", "stage_norm"] = "stage_norm"
    """How a city's VC money ranks the justified rounds of a month when it cannot fund them all
    (``firm_life.raise_funding``). ``stage_norm`` (every preset since d024dfb, 7 December
    2026): by the stage's target ownership over the share the round sells, d*[stage] × V̂ /
    size: exactly 1 for every round sized at its target, less for one a firm's need sizes
    above it; no stage queues before another. ``value_for_money``: by V̂ / size, which is
    1 / d*[stage] for a round sized at its target, so the stages queue by d* (later stages
    first) and rounds of one stage tie (the model before d024dfb, up to the rounding of its
    ties). Ties at random under both."""

    @model_validator(mode="after")
    def _stages(self) -> Startups:
        for name in ("round_size_yuan", "stage_growth", "target_ownership", "vc_target_return"):
            if len(getattr(self, name)) != 5:
                raise ValueError(
                    f"{name} has {len(getattr(self, name))} values; it needs 5 (seed, A, B, C, D+)"
                )
        _ordered(self, "parent_capability", "capability_draw")
        d_max = self.max_dilution_per_round
        if max(self.target_ownership) > d_max:
            raise ValueError(
                f"target_ownership = {self.target_ownership!r} has a share above "
                f"max_dilution_per_round = {d_max!r}; each must be at most it (a round sized at "
                "the target would always be screened out)"
            )
        return self


def _ordered(model: BaseModel, *prefixes: str, suffix: str = "") -> None:
    """Each ``<prefix>_min<suffix>`` is at most its ``<prefix>_max<suffix>``."""
    for prefix in prefixes:
        lo_name, hi_name = f"{prefix}_min{suffix}", f"{prefix}_max{suffix}"
        lo, hi = getattr(model, lo_name), getattr(model, hi_name)
        if lo > hi:
            raise ValueError(f"{lo_name} = {lo!r} is larger than {hi_name} = {hi!r}")


class Population(_Strict):
    """The people of the initial population and of later arrivals: skills, ages, learning."""

    learning_per_month: Annotated[float, _num(ge=0.0, le=0.1)] = 0.001
    """Skill (0–1) gained per month of employment (learning on the job)."""
    skill_sd: Annotated[float, _num(ge=0.0, le=1.0)] = 0.15
    """Spread of skill around each group's mean (normal, clipped to [skill_min, 1])."""
    skill_min: Share = 0.05
    career_start_age_years: Annotated[float, _num(ge=14.0, le=40.0)] = 22.0
    """Age at which work experience starts counting."""
    big_firm_staff_skill: Share = 0.55
    university_staff_skill: Share = 0.6
    job_seeker_skill: Share = 0.4
    initial_founder_skill: Share = 0.6
    initial_startup_staff_skill: Share = 0.5
    migrant_skill: Share = 0.5
    graduate_skill_base: Share = 0.35
    """Graduates' mean skill is this plus ``graduate_skill_per_quality`` × research quality."""
    graduate_skill_per_quality: Share = 0.3
    staff_age_min_years: Annotated[float, _num(ge=14.0, le=80.0)] = 24.0
    """Ages of the initial staff and job seekers: uniform between min and max."""
    staff_age_max_years: Annotated[float, _num(ge=14.0, le=80.0)] = 55.0
    initial_founder_age_min_years: Annotated[float, _num(ge=14.0, le=80.0)] = 28.0
    initial_founder_age_max_years: Annotated[float, _num(ge=14.0, le=80.0)] = 50.0
    migrant_age_min_years: Annotated[float, _num(ge=14.0, le=80.0)] = 23.0
    migrant_age_max_years: Annotated[float, _num(ge=14.0, le=80.0)] = 45.0
    graduate_age_min_years: Annotated[float, _num(ge=14.0, le=80.0)] = 22.0
    graduate_age_max_years: Annotated[float, _num(ge=14.0, le=80.0)] = 27.0

    @model_validator(mode="after")
    def _ages(self) -> Population:
        ages = ("staff_age", "initial_founder_age", "migrant_age", "graduate_age")
        _ordered(self, *ages, suffix="_years")
        return self


class LabourRules(_Strict):
    """How the labour market matches people, sets wages and attracts people; how clusters pull
    founders and migrants."""

    cluster_elasticity: Annotated[float, _num(ge=0.0, le=2.0)] = 0.3
    """Elasticity of founding without an employer, migrant founders and partnership formation
    to the cluster index X_r (``founding.cluster_index``); one value for every region."""
    cluster_weight_startups: Share = 0.5
    """Weight of live startups in the cluster index (the three weights are normalised)."""
    cluster_weight_workforce: Share = 0.3
    """Weight of the AI workforce in the cluster index."""
    cluster_weight_vc: Share = 0.2
    """Weight of venture money raised over the last 12 months in the cluster index."""
    cluster_ref_startups: Annotated[float, _num(ge=1.0, le=1e7)] = 1000.0
    """Reference units of the cluster index: a national constant, the same for every city."""
    cluster_ref_workforce: Annotated[float, _num(ge=1.0, le=1e9)] = 200_000.0
    cluster_ref_vc_yuan_per_year: Annotated[float, _num(ge=1.0, le=MAX_YUAN)] = 1e10
    tightness_min: Annotated[float, _num(gt=0.0, le=1000.0)] = 0.25
    """Openings per seeker relative to ``normal_tightness``, bounded in the attraction function to
    [min, max]."""
    tightness_max: Annotated[float, _num(gt=0.0, le=1000.0)] = 4.0
    normal_tightness: Annotated[float, _num(gt=0.0, le=100.0)] = 1.0
    """tight*: openings per job seeker at which wages stand still; one national constant, the
    same for every city."""
    wage_adjust_per_month: Annotated[float, _num(ge=0.0, le=0.03)] = 0.01
    """κ_w: log wage moves κ_w × clip(log(tightness / tight*), −gap clip, +gap clip) a month. At
    most 0.03 (faster adjustment overshoots into a wage cobweb; see docs/ODD.md, wages)."""
    wage_gap_clip: Annotated[float, _num(gt=0.0, le=1.0)] = 0.5
    """Largest |log(tightness / tight*)| a month's wage change responds to."""
    wage_dead_band: Annotated[float, _num(ge=0.0, le=1.0)] = 0.1
    """Wages stand still while |log(tightness / tight*)| is below this (sticky wages)."""
    matching_efficiency: Annotated[float, _num(gt=0.0, le=1.0)] = 0.5
    """μ_m: matches = min(openings, seekers, μ_m × seekers^α_m × openings^(1 − α_m)) a month."""
    matching_elasticity: Share = 0.5
    """α_m: elasticity of matches with respect to job seekers (Cobb–Douglas matching)."""
    big_firm_labour_elasticity: Elasticity = 0.5
    """ε_L: big firms' target headcount × (wage / initial wage) ** −ε_L."""
    migration_tightness_elasticity: Elasticity = 0.3
    """ε_T: attraction × clip(tightness / tight*, tightness_min, tightness_max) ** ε_T."""
    expected_stay_years: Annotated[float, _num(ge=0.1, le=50.0)] = 3.0
    """T_stay: a one-off talent subsidy counts as subsidy / (12 × T_stay) yuan a month of wage."""
    national_reference_wage_yuan_per_month: Annotated[float, _num(ge=100.0, le=1e7)] = 30_000.0
    """w̄: the wage of the outside option (the rest of the country) in the attraction function."""
    attraction_min: Annotated[float, _num(gt=0.0, le=1.0)] = 0.1
    """Lowest attraction of a city (its arrivals at least this share, its departures at most
    1 / this times the rates at attraction 1)."""
    attraction_max: Annotated[float, _num(ge=1.0, le=1000.0)] = 10.0
    """Highest attraction of a city."""
    graduate_inflow_warn_share: Share = 0.15
    """Scenario validation warns when a city's graduates who stay each year exceed this share of
    its initial workforce (staff, job seekers, founding teams)."""
    hiring_score_base: Multiplier = 0.3
    """A startup opening's attractiveness: base + per_stage × funding stage + per_capability ×
    min(capability / local median, ``hiring_capability_cap``) (big firms: their capability;
    universities: their research quality)."""
    hiring_score_per_stage: Multiplier = 0.1
    hiring_score_per_capability: Multiplier = 0.2
    hiring_capability_cap: Annotated[float, _num(gt=0.0, le=100.0)] = 2.0
    opening_noise_sd: Annotated[float, _num(ge=0.0, le=10.0)] = 0.15
    """Noise (normal sd) on openings' attractiveness when ranking them."""
    seeker_noise_sd: Annotated[float, _num(ge=0.0, le=10.0)] = 0.1
    """Noise (normal sd) on seekers' skill when ranking them."""

    @model_validator(mode="after")
    def _bounds(self) -> LabourRules:
        _ordered(self, "tightness", "attraction")
        return self


class InitialStock(_Strict):
    """The generator of the 2025 startup population (ages, stages, sizes, cash)."""

    stage_share_at_max_age: Share = 0.5
    """Funding stage ~ Binomial(5, age / oldest age × this)."""
    log_size_mean: float = Field(default=0.6, ge=-5.0, le=5.0)
    """Headcount = founding team × exp(Normal(mean + per_stage × stage, sd))."""
    log_size_per_stage: float = Field(default=0.45, ge=0.0, le=2.0)
    log_size_sd: float = Field(default=0.6, ge=0.0, le=3.0)
    capability_per_stage: Multiplier = 0.5
    """Capability multiplied by 1 + this × stage."""
    runway_min_months: Annotated[float, _num(ge=0.0, le=600.0)] = 6.0
    """Cash = headcount × monthly cost × Uniform(min, max) months."""
    runway_max_months: Annotated[float, _num(ge=0.0, le=600.0)] = 30.0

    @model_validator(mode="after")
    def _bounds(self) -> InitialStock:
        _ordered(self, "runway", suffix="_months")
        return self


class Meta(_Strict):
    name: str
    description: str = ""
    start_year: Annotated[int, _num(ge=2000, le=2100)] = 2025
    years: Annotated[int, _num(ge=1, le=50)] = 10
    target_startups: Annotated[int, _num(ge=0, le=10_000_000)] = 5000
    posterior: str | None = None
    """The calibrated posterior the parameter draws of this scenario may come from: a name
    (``hangzhou``: the file ``experiments/calibration/posteriors/hangzhou.parquet`` shipped with
    aieco) or a path to a ``.parquet`` file. A plain label here: the model never reads it;
    ``experiments.uncertainty`` and the app resolve it (a name without a file means "no
    posterior for that city: parameters from their prior ranges")."""

    @model_validator(mode="after")
    def _posterior_is_a_name_or_a_parquet_path(self) -> Meta:
        v = self.posterior
        if v is None:
            return self
        if POSTERIOR_NAME.fullmatch(v) or (
            v.endswith(".parquet") and len(v) <= 1000 and v.strip() == v and "\0" not in v
        ):
            return self
        raise FieldRuleError(
            "posterior",
            v,
            "must be a posterior's name (lower-case letters, digits, _; e.g. hangzhou) or a path "
            "ending in .parquet",
        )


#: A posterior named by its city (``Meta.posterior``): resolved to the shipped file of that name.
POSTERIOR_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


class Scenario(_Strict):
    """A fully resolved scenario."""

    meta: Meta
    national: National = Field(default_factory=National)
    compute: ComputeMarket = Field(default_factory=ComputeMarket)
    demand: Demand = Field(default_factory=Demand)
    startups: Startups
    population: Population = Field(default_factory=Population)
    labour: LabourRules = Field(default_factory=LabourRules)
    initial_stock: InitialStock = Field(default_factory=InitialStock)
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
        cap = self.compute.price_cap_yuan_per_gpu_h
        for rid, r in self.regions.items():
            for did, dc in r.data_centers.items():
                where = f"regions.{rid}.data_centers.{did}"
                if dc.price_yuan_per_gpu_h > cap:
                    raise FieldRuleError(
                        f"{where}.price_yuan_per_gpu_h",
                        dc.price_yuan_per_gpu_h,
                        f"must be <= compute.price_cap_yuan_per_gpu_h ({cap:g})",
                    )
                power = dc.kw_per_gpu * dc.pue * dc.power_cost_yuan_per_kwh
                if power > cap:
                    raise FieldRuleError(
                        f"{where}.power_cost_yuan_per_kwh",
                        dc.power_cost_yuan_per_kwh,
                        f"power cost per GPU-h (kW × PUE × ¥/kWh = {power:.4g}) must be <= "
                        f"compute.price_cap_yuan_per_gpu_h ({cap:g}): a center cannot sell "
                        "below cost",
                    )
                if dc.owner and dc.owner not in r.big_firms:
                    raise ValueError(
                        f"regions.{rid}.data_centers.{did}.owner {dc.owner!r} is not a big firm "
                        f"of region {rid}"
                    )
        self._marginal_choice_is_stable()
        people = sum(
            r.projected_people(self.meta.years, self.startups.founding_team)
            for r in self.regions.values()
        )
        if people > MAX_PEOPLE_PROJECTED:
            raise ValueError(
                f"the people table would grow to about {people:,.0f} rows over "
                f"{self.meta.years} years, more than {MAX_PEOPLE_PROJECTED:,} (memory): "
                "use fewer people, slower growth or fewer years"
            )
        for message in [*implausible_graduates(self), *supercritical_capability_loop(self)]:
            warnings.warn(message, ScenarioWarning, stacklevel=2)
        return self

    def _marginal_choice_is_stable(self) -> None:
        """With ``choice_rule = "marginal"`` startups' training demand has price elasticity up
        to 1/(1 − α) (c* ∝ u^(−1/(1−α)); 1 where liquidity binds), which adds to the slope of
        the stability condition of ``ComputeMarket._stable_prices``: 2·k·(λ·p_cap + ε_bg +
        1/(1 − α)) < 1, and α < 1 (at α = 1 demand has no finite optimum)."""
        c, alpha = self.compute, self.startups.compute_elasticity
        if c.choice_rule != "marginal":
            return
        if alpha >= 1.0:
            raise FieldRuleError(
                "startups.compute_elasticity",
                alpha,
                'must be < 1 with compute.choice_rule "marginal" (returns must diminish)',
            )
        slope = c.center_choice_sensitivity * c.price_cap_yuan_per_gpu_h
        slope += c.background_price_elasticity + 1.0 / (1.0 - alpha)
        if 2.0 * c.price_adjust_per_month * slope >= 1.0:
            raise FieldRuleError(
                "compute.price_adjust_per_month",
                c.price_adjust_per_month,
                f'must be < {1.0 / (2.0 * slope):.4g} with compute.choice_rule "marginal" '
                f"and startups.compute_elasticity {alpha:g}: training demand's price "
                f"elasticity 1/(1 − α) = {1.0 / (1.0 - alpha):.3g} joins the stability "
                "condition 2·k·(λ·p_cap + ε_bg + 1/(1 − α)) < 1, else prices oscillate",
            )

    @property
    def months(self) -> int:
        return self.meta.years * 12


class ScenarioWarning(UserWarning):
    """A scenario that runs but holds a number that is implausible against another."""


def implausible_graduates(scenario: Scenario) -> list[str]:
    """One message per city whose graduates staying a year exceed
    ``labour.graduate_inflow_warn_share`` of its initial workforce (issue 10: Henan's 8,000
    assumed graduates a year on a workforce of ~8,800)."""
    share = scenario.labour.graduate_inflow_warn_share
    team = scenario.startups.founding_team
    out = []
    for key, region in scenario.regions.items():
        workforce = region.initial_workforce(team)
        staying = region.graduates_staying_per_year()
        if region.kind == "city" and staying > share * max(workforce, 1):
            out.append(
                f"regions.{key}: {staying:,.0f} graduates a year stay (universities' "
                "graduates_per_year × talent.graduate_stay_share), "
                f"{staying / max(workforce, 1):.0%} of the initial workforce of {workforce:,} "
                "(big-firm and university staff, job seekers, founding teams); more than "
                f"labour.graduate_inflow_warn_share = {share:g} is implausible: check the "
                "graduates or the workforce"
            )
    return out


def loop_gain(scenario: Scenario) -> float:
    """g = η(α + β): the elasticity of a startup's revenue with respect to its inputs around
    the loop revenue → staff → compute and talent → capability → revenue (docs/ODD.md 7.5,
    docs/design/superstar-firms.md), while its share of its nest is small."""
    st = scenario.startups
    return scenario.demand.quality_elasticity * (st.compute_elasticity + st.talent_elasticity)


def supercritical_capability_loop(scenario: Scenario) -> list[str]:
    """One message if the loop gain is 1 or more: a firm's revenue then has no finite fixed
    point in its fit, and only its region × sector nest bounds its size."""
    g = loop_gain(scenario)
    if g < 1.0:
        return []
    return [
        f"demand.quality_elasticity × (startups.compute_elasticity + "
        f"startups.talent_elasticity) = {g:.3g} ≥ 1: the revenue → staff → capability loop "
        "has no finite firm size, so the best-fitting startup grows until its nest's market "
        "bounds it (docs/design/superstar-firms.md); the documented ranges keep it ≤ 0.9"
    ]


# --------------------------------------------------------------------------------------------
# Field help: what a field means, its unit and its bounds, by dotted path
# --------------------------------------------------------------------------------------------
_UNITS = (
    ("_yuan_per_month", "yuan/month"),
    ("_yuan_per_year", "yuan/year"),
    ("_yuan_per_person", "yuan/person"),
    ("_yuan_per_kwh", "yuan/kWh"),
    ("_yuan_per_gpu_h", "yuan/GPU-h"),
    ("_gpu_h_per_head", "GPU-h/person/month"),
    ("_gpu_h_per_yuan", "GPU-h/yuan"),
    ("_gpu_h", "GPU-h/month"),
    ("_gpu_per_year", "GPUs/year"),
    ("_yuan", "yuan"),
    ("_per_year", "per year"),
    ("_per_month", "per month"),
    ("_months", "months"),
    ("_years_max", "years"),
    ("_years", "years"),
    ("_year", "calendar year"),
)


@dataclass(frozen=True)
class FieldHelp:
    """What :func:`field_help` returns for one scenario field."""

    path: str
    """The dotted path asked for."""
    help: str
    """The field's attribute docstring, whitespace collapsed ('' if it has none)."""
    unit: str
    """Unit read from the field's name (``yuan/year``, ``GPU-h/month``...), or ''."""
    ge: float | None
    gt: float | None
    le: float | None
    lt: float | None
    default: Any
    """The schema default, or None when the field is required or defaults to a table."""

    @property
    def summary(self) -> str:
        """The first sentence of the help text."""
        return self.help.split(". ")[0].rstrip(".") + "." if self.help else ""


def field_help(path: str) -> FieldHelp:
    """Help text, unit and bounds of the scenario field at a dotted path.

    Keys of tables such as ``regions``, ``big_firms`` or ``sectors`` may be any name:
    ``field_help("regions.hangzhou.policy.voucher_rate")`` and ``"regions.x.policy.voucher_rate"``
    give the same. Raises KeyError naming the first part that is not a field.
    """
    info, name, _tp, _inside = _walk(Scenario, path.split("."))
    unit = next((u for suffix, u in _UNITS if name.endswith(suffix)), "")
    default = None if info.is_required() or info.default_factory else info.default
    return FieldHelp(
        path=path,
        help=" ".join((info.description or "").split()),
        unit=unit,
        default=default,
        **bounds_at(path.split(".")),
    )


def bounds_at(parts: list[str], root: type[BaseModel] | None = None) -> dict[str, float | None]:
    """``{"ge", "gt", "le", "lt"}`` of the number at a path of ``root`` (default: Scenario);
    a list item or table entry takes the bounds of the item type. KeyError if no such field."""
    info, _name, tp, inside = _walk(root or Scenario, parts)
    metadata = [] if inside else list(info.metadata)
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            args = get_args(tp)
            for a in args[1:]:
                metadata.extend(getattr(a, "metadata", [a]))
            tp = args[0]
        elif origin in (UnionType, Union):
            tp = next(a for a in get_args(tp) if a is not type(None))
        else:
            break
    bounds: dict[str, float | None] = dict.fromkeys(("ge", "gt", "le", "lt"))
    for meta in metadata:
        for key in bounds:
            if getattr(meta, key, None) is not None:
                bounds[key] = getattr(meta, key)
    return bounds


def _walk(root: type[BaseModel], parts: list[str]) -> tuple[FieldInfo, str, Any, bool]:
    """(last field's info, its name, the type at the path, whether the path ends inside a
    list or table of that field) for a dotted path of a model class."""
    tp: Any = root
    info: FieldInfo | None = None
    name = ""
    inside = False
    for part in parts:
        tp = _strip_optional(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if part not in tp.model_fields:
                raise KeyError(f"{'.'.join(parts)}: {part!r} is not a field of {tp.__name__}")
            info, name, inside = tp.model_fields[part], part, False
            tp = info.annotation
        elif get_origin(tp) in (dict, list):
            tp, inside = get_args(tp)[-1], True
        else:
            raise KeyError(f"{'.'.join(parts)}: {part!r} is inside a value, not a table")
    if info is None:
        raise KeyError(f"{'.'.join(parts)}: not a field")
    return info, name, tp, inside


def _strip_optional(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (UnionType, Union):
            tp = next(a for a in get_args(tp) if a is not type(None))
        else:
            return tp
