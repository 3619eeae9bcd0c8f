"""AIEcosystem: the Mesa model of one or more regions' AI ecosystems.

Startups and people are rows in arrays (``ecosystem.tables``) updated by vectorised phases;
universities, big firms, governments and data centers are Mesa agents (``agents``). One step is
one month. ``docs/ODD.md`` describes every phase below in the order ``step`` runs them.
"""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
from mesa.time import Priority, Schedule

from agents import BigFirm, Budget, DataCenter, Government, University
from ecosystem import compute
from ecosystem.firms import StartupLife
from ecosystem.labour import LabourMarket
from ecosystem.networks import FlowLog, Networks
from ecosystem.scenario import SECTORS, Origin, Scenario
from ecosystem.tables import Employer, People, Startups, Status

#: Monthly counters kept per region and reported as KPIs.
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
)


class AIEcosystem(LabourMarket, StartupLife, mesa.Model):
    """A regional AI ecosystem: startups, people, universities, big firms, governments, data centers.

    Args:
        config: a validated :class:`~ecosystem.scenario.Scenario` (see ``load_scenario``).
        rng: an integer seed (or numpy Generator); one seed fixes a run bit for bit.
    """

    def __init__(self, config: Scenario, rng: int | np.random.Generator | None = None):
        super().__init__(rng=rng)
        self.config = config
        self.month = 0  # months completed
        self.region_keys = list(config.regions)
        self.region_kinds = [r.kind for r in config.regions.values()]
        self.n_regions = len(self.region_keys)
        nat = config.national
        self.build_months = nat.dc_build_months
        strength = nat.export_control_strength
        self.chip_supply_per_year = nat.chip_supply_gpu_per_year * (
            1.0 - strength * nat.export_control_supply_cut
        )
        self.efficiency_gain = nat.efficiency_gain_per_year * (
            1.0 + strength * nat.export_control_efficiency_boost
        )
        self.chips_left = self.chip_supply_per_year
        self.national_vouchers = Budget(nat.voucher_budget_yuan)
        self.startups = Startups(capacity=8192)
        self.people = People(capacity=1 << 18)
        self.flows = FlowLog()
        self.networks = Networks(self)
        self._history: list[dict] = []  # one entry per recorded month (see ``record``)
        self._founding: list[tuple] = []  # founders waiting for ``found_startups``
        self._capacity_events: list[_CapacityEvent] = []  # events hold callbacks weakly; keep them
        self._year_rows: list[pd.DataFrame] = []
        self._adoption_demand = np.zeros(self.n_regions)
        self._new_counters()
        self.create_actors()
        self.create_population()
        self.alive_by_region = self.count_alive()
        self.alive_at_start = self.alive_by_region.copy()
        self.people_at_start = self.people_now()
        self.schedule_recurring(self.new_year, Schedule(interval=12, start=12.5), Priority.HIGH)
        self.schedule_recurring(self.graduation, Schedule(interval=12, start=6.5))

    # ------------------------------------------------------------------------------------------
    # Set-up
    # ------------------------------------------------------------------------------------------
    def create_actors(self) -> None:
        """Create the Mesa agents of every region and the per-region lookup arrays."""
        self.universities: list[University] = []
        self.big_firms: list[BigFirm] = []
        self.data_centers: list[DataCenter] = []
        self.governments: list[Government] = []
        self.vc_pools: list[Budget] = []
        for r, region in enumerate(self.config.regions.values()):
            self.governments.append(Government(self, r, region.policy))
            for key, spec in region.universities.items():
                self.universities.append(University(self, key, r, spec, len(self.universities)))
            for key, spec in region.big_firms.items():
                self.big_firms.append(BigFirm(self, key, r, spec, len(self.big_firms)))
            for key, spec in region.data_centers.items():
                self.data_centers.append(DataCenter(self, key, r, spec, len(self.data_centers)))
            vc = region.market.vc_pool_yuan_per_year if region.market else 0.0
            self.vc_pools.append(Budget(vc))
        # The largest big firm of each region (Alibaba in Hangzhou) is tracked for calibration.
        self.largest_firm = np.full(self.n_regions, -1, dtype=np.int32)
        for bf in sorted(self.big_firms, key=lambda b: b.spec.headcount):
            self.largest_firm[bf.region] = bf.index
        self.uni_quality = np.array([u.spec.research_quality for u in self.universities])
        self.bf_capability = np.array([b.spec.capability for b in self.big_firms])
        self.bf_attrition = np.array([b.spec.attrition_per_year for b in self.big_firms]) / 12.0
        self.bf_spinoff = np.array([b.spec.spinoff_multiplier for b in self.big_firms])
        self.sector_training = np.array(
            [self.config.sectors[s].training_gpu_h_per_head for s in SECTORS]
        )
        self.sector_inference = np.array(
            [self.config.sectors[s].inference_gpu_h_per_yuan for s in SECTORS]
        )
        self.sector_shares = np.zeros((self.n_regions, len(SECTORS)))
        for r, region in enumerate(self.config.regions.values()):
            shares = np.array([region.sector_shares.get(s, 0.0) for s in SECTORS])
            self.sector_shares[r] = shares / shares.sum() if shares.sum() > 0 else 1 / len(SECTORS)
        self.wage = np.array(
            [r.talent.wage_yuan_per_month if r.talent else 0.0 for r in self.config.regions.values()]
        )
        self.bf_leavers = np.zeros(len(self.big_firms), dtype=np.int64)
        self.setup_labour()

    def create_population(self) -> None:
        """People for every big firm, university and initial startup, plus job seekers."""
        for r, region in enumerate(self.config.regions.values()):
            if region.kind != "city":
                continue
            for bf in (b for b in self.big_firms if b.region == r):
                self.add_people(r, bf.spec.headcount, Employer.BIG_FIRM, bf.index, 0.55)
            for u in (u for u in self.universities if u.region == r):
                self.add_people(r, u.spec.staff, Employer.UNIVERSITY, u.index, 0.6)
            self.add_people(
                r, region.talent.initial_job_seekers, Employer.NONE, -1, 0.4,
                alumni_share=region.talent.initial_alumni_share,
            )
            self.create_initial_startups(r, region.initial_startups)

    # ------------------------------------------------------------------------------------------
    # Scheduled events
    # ------------------------------------------------------------------------------------------
    def new_year(self) -> None:
        """January: budgets and VC pools renew, chip supply renews, yearly counters reset."""
        for g in self.governments:
            g.new_year()
        self.national_vouchers.new_year()
        years = self.month / 12.0
        for r, region in enumerate(self.config.regions.values()):
            if region.market:
                pool = self.vc_pools[r]
                pool.annual = region.market.vc_pool_yuan_per_year * (
                    1 + region.market.vc_growth_per_year
                ) ** years
                pool.new_year()
        self.chips_left = self.chip_supply_per_year
        s = self.startups
        for col in ("voucher_year", "national_voucher_year", "contract_year", "data_voucher_year",
                    "compute_year", "revenue_year"):
            s.view(col)[:] = 0.0

    def graduation(self) -> None:
        """July: every university's cohort enters the labour market."""
        self.agents_by_type[University].do("graduate")

    def schedule_capacity(
        self, dc: DataCenter, gpu_h: float, at_month: int | None = None, after_months: int | None = None
    ) -> None:
        """Bring capacity online at the start of a month (an event, not a countdown)."""
        month = at_month if at_month is not None else self.month + after_months
        event = _CapacityEvent(dc, gpu_h)
        self._capacity_events.append(event)
        self.schedule_event(event.fire, at=month + 0.5)

    def allocate_chips(self, gpu_h: float) -> float:
        """Take GPU-hours of new capacity from this year's national chip supply (first come)."""
        hours = self.config.national.hours_per_month
        granted = min(gpu_h, self.chips_left * hours)
        self.chips_left -= granted / hours
        return granted

    # ------------------------------------------------------------------------------------------
    # The monthly step
    # ------------------------------------------------------------------------------------------
    def step(self) -> None:
        self.found_startups()  # founders from events before the step (July graduates)
        for g in self.governments:
            g.new_month()
        self.national_vouchers.new_month()
        for pool in self.vc_pools:  # venture money flows evenly through the year
            pool.new_month()
            pool.pace(12 - self.month % 12)
        self.turnover()
        self.found_from_job_seekers()
        self.arrive()
        self.agents_by_type[University].shuffle_do("step")
        self.agents_by_type[BigFirm].shuffle_do("step")
        self.found_startups()
        self.hire()
        self.agents_by_type[Government].shuffle_do("step")
        self.clear_compute_market()
        self.agents_by_type[DataCenter].shuffle_do("set_price")
        self.agents_by_type[DataCenter].shuffle_do("consider_expansion")
        self.innovate()
        self.earn_revenue()
        self.raise_funding()
        self.pay_costs_and_exit()
        self.cooperate()
        self.found_startups()
        self.record()
        self.month += 1

    # ------------------------------------------------------------------------------------------
    # People: separations, founding, migration, retirement, hiring
    # ------------------------------------------------------------------------------------------























    # ------------------------------------------------------------------------------------------
    # Organisations acting on startups
    # ------------------------------------------------------------------------------------------


    # ------------------------------------------------------------------------------------------
    # Compute, innovation, revenue, funding, costs
    # ------------------------------------------------------------------------------------------
    def clear_compute_market(self) -> None:
        """Startups' training and inference demand meets data centers; vouchers pay their share."""
        compute.clear_market(self)











    # ------------------------------------------------------------------------------------------
    # Recording
    # ------------------------------------------------------------------------------------------
    def _new_counters(self) -> None:
        """Zero this month's counters (events before a step, e.g. graduation, count into it)."""
        self.counters = {k: np.zeros(self.n_regions) for k in COUNTERS}

    def _count_by_region(self, key: str, region: np.ndarray, weights: np.ndarray | None = None) -> None:
        if region.size:
            self.counters[key] += np.bincount(region, weights=weights, minlength=self.n_regions)

    def count_alive(self) -> np.ndarray:
        """Live startups per region."""
        s = self.startups
        alive = s.view("status") == Status.ALIVE
        return np.bincount(s.view("region")[alive], minlength=self.n_regions)

    def date(self, month: int) -> pd.Timestamp:
        start = self.config.meta.start_year
        return pd.Timestamp(year=start + month // 12, month=month % 12 + 1, day=1)

    def record(self) -> None:
        """Keep this month's state as per-region and per-data-center arrays (tables are built on
        demand by ``kpis()`` and ``dc_kpis()``); close the flow log; snapshot firms in December."""
        s = self.startups
        alive = np.flatnonzero(s.view("status") == Status.ALIVE)
        region = s.region[alive].astype(np.int64)
        self.alive_by_region = np.bincount(region, minlength=self.n_regions)
        dc = self.data_centers
        self._history.append({
            "counters": self.counters,
            "alive": self.alive_by_region,
            "people_by_kind": self.people_by_kind.copy(),
            "capability_sum": np.bincount(region, weights=s.capability[alive], minlength=self.n_regions),
            "cash": np.bincount(region, weights=s.cash[alive], minlength=self.n_regions),
            "voucher_left": np.array([g.budgets["voucher"].remaining for g in self.governments]),
            "dc": np.array([[d.capacity, d.sold, d.sold_startups, d.sold_background, d.price] for d in dc]).reshape(len(dc), 5),
        })
        self.flows.close_month(self.month)
        if self.month % 12 == 11:
            self._year_rows.append(self._firm_year_snapshot())
        self._new_counters()

    @property
    def counters_history(self) -> list[dict[str, np.ndarray]]:
        """This run's monthly counters, one dict of per-region arrays per month."""
        return [h["counters"] for h in self._history]

    def _firm_year_snapshot(self) -> pd.DataFrame:
        s = self.startups
        year = self.config.meta.start_year + self.month // 12
        start = self.month - 11
        exit_m = s.view("exit_month")
        rows = np.flatnonzero((s.view("status") == Status.ALIVE) | (exit_m >= start))
        return pd.DataFrame({
            "firm_id": rows,
            "year": year,
            "region": np.array(self.region_keys)[s.region[rows]],
            "headcount": s.headcount[rows],
            "revenue_yuan": s.revenue_year[rows],
            "compute_gpu_h": s.compute_year[rows],
            "capability": s.capability[rows],
            "cash_yuan": s.cash[rows],
            "stage": s.stage[rows],
            "alive": s.status[rows] == Status.ALIVE,
        })

    # ------------------------------------------------------------------------------------------
    # Results
    # ------------------------------------------------------------------------------------------
    def kpis(self) -> pd.DataFrame:
        """Monthly KPIs, one row per month and region."""
        h = self._history
        n, r = len(h), self.n_regions
        if n == 0:
            return pd.DataFrame(columns=["month", "date", "region", "startups_alive"])
        months = np.repeat(np.arange(n), r)
        by_kind = np.stack([x["people_by_kind"] for x in h]).reshape(n * r, -1)
        alive = np.concatenate([x["alive"] for x in h])
        workforce = by_kind[:, : Employer.GONE].sum(axis=1)
        dc_region = np.array([d.region for d in self.data_centers], dtype=np.int64)
        dc = np.stack([x["dc"] for x in h]) if self.data_centers else np.zeros((n, 0, 5))
        per_region = np.zeros((n, r, 3))  # capacity, sold, price sum
        n_dcs = np.bincount(dc_region, minlength=r)
        for j, reg in enumerate(dc_region):
            per_region[:, reg, 0] += dc[:, j, 0]
            per_region[:, reg, 1] += dc[:, j, 1]
            per_region[:, reg, 2] += dc[:, j, 4]
        cap, sold = per_region[:, :, 0].ravel(), per_region[:, :, 1].ravel()
        counters = {k: np.concatenate([x["counters"][k] for x in h]) for k in COUNTERS}
        with np.errstate(invalid="ignore", divide="ignore"):
            out = {
                "month": months,
                "date": [self.date(int(m)) for m in months],
                "region": np.tile(np.array(self.region_keys, dtype=object), n),
                "startups_alive": alive,
                "employment_startups": by_kind[:, Employer.STARTUP],
                "employment_big_firms": by_kind[:, Employer.BIG_FIRM],
                "employment_universities": by_kind[:, Employer.UNIVERSITY],
                "job_seekers": by_kind[:, Employer.NONE],
                "people": workforce,
                "dc_capacity_gpu_h": cap,
                "dc_sold_gpu_h": sold,
                "dc_utilization": np.where(cap > 0, sold / cap, np.nan),
                "dc_price_yuan": np.where(np.tile(n_dcs, n) > 0, per_region[:, :, 2].ravel() / np.tile(np.maximum(n_dcs, 1), n), np.nan),
                "voucher_budget_left_yuan": np.concatenate([x["voucher_left"] for x in h]),
                "talent_net_inflow": np.where(
                    workforce > 0, (counters["arrivals"] - counters["departures"]) / np.maximum(workforce, 1), 0.0
                ),
                "capability_mean": np.where(alive > 0, np.concatenate([x["capability_sum"] for x in h]) / np.maximum(alive, 1), 0.0),
                "cash_yuan": np.concatenate([x["cash"] for x in h]),
            }
        for k, v in counters.items():
            out[k] = v if k.endswith(("_yuan", "_gpu_h")) else v.astype(np.int64)
        return pd.DataFrame(out)

    def dc_kpis(self) -> pd.DataFrame:
        """Monthly state of every data center."""
        h = self._history
        dcs = self.data_centers
        if not h or not dcs:
            return pd.DataFrame(columns=["month", "data_center", "utilization"])
        n, m = len(h), len(dcs)
        dc = np.stack([x["dc"] for x in h]).reshape(n * m, 5)
        months = np.repeat(np.arange(n), m)
        with np.errstate(invalid="ignore", divide="ignore"):
            util = np.where(dc[:, 0] > 0, dc[:, 1] / dc[:, 0], 0.0)
        return pd.DataFrame({
            "month": months,
            "date": [self.date(int(x)) for x in months],
            "data_center": np.tile(np.array([d.key for d in dcs], dtype=object), n),
            "region": np.tile(np.array([self.region_keys[d.region] for d in dcs], dtype=object), n),
            "hub": np.tile(np.array([d.is_hub for d in dcs]), n),
            "capacity_gpu_h": dc[:, 0],
            "sold_gpu_h": dc[:, 1],
            "sold_startups_gpu_h": dc[:, 2],
            "sold_background_gpu_h": dc[:, 3],
            "utilization": util,
            "price_yuan_per_gpu_h": dc[:, 4],
        })

    def firms(self) -> pd.DataFrame:
        """One row per startup ever founded."""
        s = self.startups
        n = s.n
        exit_reason = np.array(["alive", "failed", "acquired"], dtype=object)[s.status[:n]]
        parent_kind = np.array(["none", "startup", "big_firm", "university"], dtype=object)[s.parent_kind[:n]]
        parent_node = self.networks.parent_nodes()
        return pd.DataFrame({
            "firm_id": np.arange(n),
            "region": np.array(self.region_keys, dtype=object)[s.region[:n]],
            "sector": np.array([x.value for x in SECTORS], dtype=object)[s.sector[:n]],
            "founded_month": s.founded_month[:n],
            "exit_month": pd.Series(s.exit_month[:n], dtype="Int64").mask(s.exit_month[:n] < 0),
            "exit_reason": exit_reason,
            "origin": np.array([o.name.lower() for o in Origin], dtype=object)[s.origin[:n]],
            "parent_kind": parent_kind,
            "parent_id": parent_node,
            "founder_alumni": np.array([b.key for b in self.big_firms] + ["elsewhere", ""], dtype=object)[s.founder_alumni_of[:n]],
            "founder_left_alumni_month": s.founder_alumni_since[:n],
            "parent_famous": s.parent_famous[:n],
            "acquirer": np.where(s.acquirer[:n] >= 0, np.array([b.key for b in self.big_firms] + [""], dtype=object)[s.acquirer[:n]], None),
            "stage": s.stage[:n],
            "capability": s.capability[:n],
            "headcount": s.headcount[:n],
            "cash_yuan": s.cash[:n],
            "funding_total_yuan": s.funding_total[:n],
        })

    def firm_years(self) -> pd.DataFrame:
        """Annual panel of startups (December snapshots)."""
        if not self._year_rows:
            return pd.DataFrame(columns=["firm_id", "year", "region", "headcount", "revenue_yuan", "compute_gpu_h", "capability", "cash_yuan", "stage", "alive"])
        return pd.concat(self._year_rows, ignore_index=True)




class _CapacityEvent:
    """A capacity addition waiting for its month (bound method target for the event list)."""

    __slots__ = ("dc", "gpu_h", "__weakref__")

    def __init__(self, dc: DataCenter, gpu_h: float):
        self.dc, self.gpu_h = dc, gpu_h

    def fire(self) -> None:
        self.dc.add_capacity(self.gpu_h)
