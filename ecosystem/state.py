"""The explicit state of a run and its read-only parameters, which every phase receives.

A phase is a free function ``phase(state, params, rng)`` in a module named for what happens
(``labour``, ``founding``, ``firm_life``, ``compute_market``, ``partnerships``, ``recording``).
``State`` holds everything that changes during a run: the startup and people tables, the
organisation arrays, the budgets that are not a government's own, the monthly counters and the
founders waiting for their firms. ``Params`` holds what does not change: the validated scenario
and the lookup arrays derived from it. The Mesa agents (universities, big firms, governments, data
centers) are listed in the state; phases read them and ask them to change through their methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from agents import Budget
from ecosystem.networks import FlowLog, Networks
from ecosystem.scenario import SECTORS, Scenario
from ecosystem.tables import Employer, People, Startups, Status

if TYPE_CHECKING:
    from agents import BigFirm, DataCenter, Government, University
    from ecosystem.streams import RandomStreams

#: Monthly counters kept per region and reported as KPIs (see ``recording.kpis``).
COUNTERS = (
    "startups_founded",
    "startups_failed",
    "startups_acquired",
    "graduates",
    "arrivals",
    "departures",
    "moved_in",
    "moved_out",
    "retirements",
    "hires",
    "leavers",
    "founders_big_firm",
    "founders_university",
    "founders_startup",
    "founders_other",
    "leavers_largest_firm",
    "founders_largest_firm",
    "compute_demand_gpu_h",
    "compute_sold_gpu_h",
    "compute_bought_outside_gpu_h",
    "compute_bought_west_gpu_h",
    "voucher_spent_yuan",
    "national_voucher_spent_yuan",
    "voucher_additional_gpu_h",
    "voucher_awarded_yuan",
    "voucher_additional_yuan",
    "voucher_deadweight_yuan",
    "voucher_inference_yuan",
    "voucher_unused_yuan",
    "data_voucher_spent_yuan",
    "talent_subsidy_spent_yuan",
    "startup_grants_spent_yuan",
    "guidance_fund_spent_yuan",
    "adoption_spent_yuan",
    "dc_investment_spent_yuan",
    "vc_raised_yuan",
    "rounds_closed",
    "rounds_failed",
    "revenue_yuan",
    "partnerships_formed",
    "startups_closed",
    "vc_private_yuan",
    "rounds_screened_out",
    "mobile_founders",
    "startups_listed",
    "ma_paid_yuan",
    "rounds_passed_unfunded",
    "liquidation_yuan",
    "liquidation_to_investors_yuan",
    "unpaid_costs_yuan",
    "vc_mobile_yuan",
    "startups_wound_down",
)


@dataclass(eq=False)
class Params:
    """Read-only parameters of a run: the scenario and lookup arrays derived from it."""

    config: Scenario
    region_keys: list[str]
    region_kinds: list[str]
    n_regions: int
    #: Monthly chance of leaving the employer, by (region, employer kind); big firms per firm.
    separation: np.ndarray
    #: Monthly chance of leaving the region, by (region, employer kind).
    outflow: np.ndarray
    #: The largest monthly chance of leaving the region, and of leaving the region or the
    #: employer, that any row can store (as stored: float32), founders' own rate aside
    #: (``people.set_hazards`` looks for new maxima only until the table's reach these).
    out_hazard_bound: float
    move_hazard_bound: float
    retire_months: np.ndarray
    #: Each region's initial (2025) wage; the current wage is ``State.wage``.
    wage: np.ndarray
    sector_training: np.ndarray
    sector_inference: np.ndarray
    sector_shares: np.ndarray
    uni_quality: np.ndarray
    bf_capability: np.ndarray
    bf_attrition: np.ndarray
    bf_spinoff: np.ndarray
    #: Index of each region's largest big firm (Alibaba in Hangzhou), -1 where none.
    largest_firm: np.ndarray
    chip_supply_per_year: float
    efficiency_gain: float
    build_months: int

    @classmethod
    def from_scenario(cls, config: Scenario) -> Params:
        regions = list(config.regions.values())
        n = len(regions)
        n_kinds = len(Employer)
        separation = np.zeros((n, n_kinds))
        outflow = np.zeros((n, n_kinds))
        retire_months = np.full(n, 60 * 12, dtype=np.int32)
        for r, region in enumerate(regions):
            t = region.talent
            if t is None:
                continue
            separation[r, Employer.STARTUP] = t.startup_attrition_per_year / 12
            separation[r, Employer.UNIVERSITY] = t.university_attrition_per_year / 12
            employed = [Employer.STARTUP, Employer.BIG_FIRM, Employer.UNIVERSITY]
            outflow[r, employed] = t.outflow_per_year / 12
            outflow[r, Employer.NONE] = t.seeker_outflow_per_year / 12
            retire_months[r] = int(round(t.retirement_age_years * 12))
        unis = [u for region in regions for u in region.universities.values()]
        bfs = [(r, b) for r, region in enumerate(regions) for b in region.big_firms.values()]
        largest = np.full(n, -1, dtype=np.int32)
        for i in sorted(range(len(bfs)), key=lambda i: bfs[i][1].headcount):
            largest[bfs[i][0]] = i
        shares = np.zeros((n, len(SECTORS)))
        for r, region in enumerate(regions):
            row = np.array([region.sector_shares.get(s, 0.0) for s in SECTORS])
            shares[r] = row / row.sum() if row.sum() > 0 else 1 / len(SECTORS)
        nat = config.national
        strength = nat.export_control_strength
        bf_attrition = np.array([b.attrition_per_year for _, b in bfs]) / 12.0
        move = outflow + separation  # every (region, kind); big firms' staff: each firm's own
        move_bf = outflow[:, Employer.BIG_FIRM][:, None] + bf_attrition[None, :]
        return cls(
            config=config,
            region_keys=list(config.regions),
            region_kinds=[r.kind for r in regions],
            n_regions=n,
            separation=separation,
            outflow=outflow,
            out_hazard_bound=float(np.float32(outflow.max())),
            move_hazard_bound=float(np.float32(max(move.max(), move_bf.max(initial=0.0)))),
            retire_months=retire_months,
            wage=np.array([r.talent.wage_yuan_per_month if r.talent else 0.0 for r in regions]),
            sector_training=np.array([config.sectors[s].training_gpu_h_per_head for s in SECTORS]),
            sector_inference=np.array(
                [config.sectors[s].inference_gpu_h_per_yuan for s in SECTORS]
            ),
            sector_shares=shares,
            uni_quality=np.array([u.research_quality for u in unis]),
            bf_capability=np.array([b.capability for _, b in bfs]),
            bf_attrition=bf_attrition,
            bf_spinoff=np.array([b.spinoff_multiplier for _, b in bfs]),
            largest_firm=largest,
            chip_supply_per_year=nat.chip_supply_gpu_per_year
            * (1.0 - strength * nat.export_control_supply_cut),
            efficiency_gain=nat.efficiency_gain_per_year
            * (1.0 + strength * nat.export_control_efficiency_boost),
            build_months=nat.dc_build_months,
        )

    def region(self, r: int):
        """The scenario's spec of region ``r``."""
        return self.config.regions[self.region_keys[r]]


@dataclass(eq=False)
class State:
    """Everything that changes during a run (see the module docstring)."""

    n_regions: int
    startups: Startups = field(default_factory=lambda: Startups(capacity=8192))
    people: People = field(default_factory=lambda: People(capacity=1 << 18))
    flows: FlowLog = field(default_factory=FlowLog)
    networks: Networks | None = None
    #: The run's random streams (``ecosystem.streams``), for draws keyed by what they concern.
    streams: RandomStreams | None = None
    #: Month in progress (0 = the first); set by the model from Mesa's clock.
    month: int = 0
    universities: list[University] = field(default_factory=list)
    big_firms: list[BigFirm] = field(default_factory=list)
    data_centers: list[DataCenter] = field(default_factory=list)
    governments: list[Government] = field(default_factory=list)
    #: Venture money per region for the current year, paid evenly through the year.
    vc_pools: list[Budget] = field(default_factory=list)
    #: The national mobile VC pool for the current year (after the cities' own; design §6.2).
    vc_mobile: Budget = field(default_factory=lambda: Budget(0.0))
    national_vouchers: Budget = field(default_factory=lambda: Budget(0.0))
    #: H100-equivalent GPUs of this year's national chip supply not yet allocated.
    chips_left: float = 0.0
    #: People by (region, employer kind), kept incrementally (``GONE`` counts those who left).
    people_by_kind: np.ndarray = None  # type: ignore[assignment]
    bf_headcount: np.ndarray = None  # type: ignore[assignment]
    uni_headcount: np.ndarray = None  # type: ignore[assignment]
    bf_leavers: np.ndarray = None  # type: ignore[assignment]
    #: Each city's current monthly wage (``labour.set_wages``); every cost that uses wages reads it.
    wage: np.ndarray = None  # type: ignore[assignment]
    #: Openings and job seekers at the last hiring round, by region (labour-market tightness).
    vacancies_last: np.ndarray = None  # type: ignore[assignment]
    seekers_last: np.ndarray = None  # type: ignore[assignment]
    alive_by_region: np.ndarray = None  # type: ignore[assignment]
    alive_at_start: np.ndarray = None  # type: ignore[assignment]
    #: Demand created by governments' adoption programmes this month, by region.
    adoption_demand: np.ndarray = None  # type: ignore[assignment]
    #: Share of each region's potential AI adopters who have adopted (Bass; 0 without a market).
    adoption: np.ndarray = None  # type: ignore[assignment]
    #: AI spending by region this month (yuan): what startups and the outside option share.
    ai_spending: np.ndarray = None  # type: ignore[assignment]
    #: GPU-h each region's startups bought at each data center this month (regions × centers;
    #: ``compute_market.clear_market``): what ``aieco derive-background`` reads off the hubs.
    sales_by_region: np.ndarray = None  # type: ignore[assignment]
    #: Founders decided during a phase, waiting for ``founding.found_startups``.
    founding: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    counters: dict[str, np.ndarray] = field(default_factory=dict)
    #: Compute- and data-voucher programmes: (kind, payer, award year) -> the fields of
    #: ``compute_market.LEDGER`` (see ``recording.voucher_programmes``).
    voucher_ledger: dict[tuple[str, int, int], np.ndarray] = field(default_factory=dict)
    #: Every round closed during the run, one entry per ``firm_life.close_rounds`` call: (month,
    #: firms, stage reached, amount, pre-money, post-money, VC paid, guidance fund paid, from
    #: the national mobile pool) (see ``recording.rounds``).
    rounds: list[tuple] = field(default_factory=list)
    #: One entry per recorded month (see ``recording.record``).
    history: list[dict] = field(default_factory=list)
    #: December snapshots of the startups (see ``recording.firm_year_snapshot``).
    year_rows: list = field(default_factory=list)

    def __post_init__(self) -> None:
        n, k = self.n_regions, len(Employer)
        self.people_by_kind = np.zeros((n, k), dtype=np.int64)
        self.wage = np.zeros(n)
        self.vacancies_last = np.zeros(n)
        self.seekers_last = np.zeros(n)
        self.adoption_demand = np.zeros(n)
        self.adoption = np.zeros(n)
        self.ai_spending = np.zeros(n)
        self.new_counters()

    def organisations(self, n_big_firms: int, n_universities: int) -> None:
        """Size the per-organisation arrays once the agents exist."""
        self.bf_headcount = np.zeros(n_big_firms, dtype=np.int64)
        self.uni_headcount = np.zeros(n_universities, dtype=np.int64)
        self.bf_leavers = np.zeros(n_big_firms, dtype=np.int64)

    def new_counters(self) -> None:
        """Zero this month's counters (events before a step, e.g. graduation, count into it)."""
        self.counters = {k: np.zeros(self.n_regions) for k in COUNTERS}

    def count(self, key: str, region: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Add one (or ``weights``) per element to counter ``key`` of its region."""
        if region.size:
            self.counters[key] += np.bincount(region, weights=weights, minlength=self.n_regions)

    def alive_startups(self) -> np.ndarray:
        """Rows of the live startups, increasing (read-only): kept until the startup table
        changes (a firm is added, or exits: ``firm_life`` bumps ``changes`` with the status), as
        the phases ask for them about 19 times a month."""
        s = self.startups
        # the status compared as an int: with the IntEnum member numpy copies it to int64 first
        return s.remembered(
            "alive", s.changes, lambda: np.flatnonzero(s.view("status") == int(Status.ALIVE))
        )

    def count_alive(self) -> np.ndarray:
        """Live startups per region."""
        s = self.startups
        alive = s.view("status") == Status.ALIVE
        return np.bincount(s.view("region")[alive], minlength=self.n_regions)

    def people_now(self) -> int:
        """People active in the modelled labour markets now (employed or seeking)."""
        return int(self.people_by_kind[:, : Employer.GONE].sum())
