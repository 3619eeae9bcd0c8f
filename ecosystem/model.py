"""AIEcosystem: the Mesa model of one or more regions' AI ecosystems.

The model builds the run's explicit state (``ecosystem.state``), creates the organisations as
Mesa agents (``agents``), schedules the events between months, and runs the monthly phases in
``step``, in the order ``docs/ODD.md`` describes. Each phase is a free function in a module named
for what happens (``labour``, ``founding``, ``firm_life``, ``compute_market``, ``partnerships``,
``recording``) that receives the state, the parameters and a random generator of its own for the
month (``ecosystem.streams``), so that paired runs share their random numbers phase by phase.
"""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
from mesa.time import Priority, Schedule

from agents import BigFirm, Budget, DataCenter, Government, University
from ecosystem import (
    compute_market,
    economics,
    firm_life,
    founding,
    labour,
    partnerships,
    recording,
    reproducible,
)
from ecosystem.networks import Networks
from ecosystem.people import recount_headcount
from ecosystem.scenario import Scenario
from ecosystem.state import Params, State
from ecosystem.streams import RandomStreams

#: The phases of ``AIEcosystem.step`` that get a random generator of their own each month.
PHASES = (
    "found_after_events",
    "turnover",
    "found_from_job_seekers",
    "arrive",
    "place_mobile_founders",
    "university_links",
    "acquisitions",
    "found_after_moves",
    "hire",
    "public_investment",
    "clear_market",
    "set_prices",
    "innovate",
    "adopt",
    "earn_revenue",
    "raise_funding",
    "list_ipos",
    "pay_costs_and_exit",
    "cooperate",
    "found_after_exits",
)


class AIEcosystem(mesa.Model):
    """A regional AI ecosystem: startups, people, universities, big firms, governments, DCs.

    Args:
        config: a validated :class:`~ecosystem.scenario.Scenario` (see ``load_scenario``).
        rng: an integer seed (or numpy Generator); one seed fixes a run bit for bit. The phases
            draw from :class:`~ecosystem.streams.RandomStreams` keyed by this seed; ``self.rng``
            (Mesa's generator) is left to Mesa.
    """

    def __init__(self, config: Scenario, rng: int | np.random.Generator | None = None):
        super().__init__(rng=rng)
        reproducible.check()  # warns once if numpy runs machine-specific (AVX-512) paths
        seed = rng if isinstance(rng, (int, np.integer)) else self.rng.integers(2**63)
        self.streams = RandomStreams(int(seed))
        self.config = config
        self.params = Params.from_scenario(config)
        self.state = State(n_regions=self.params.n_regions, streams=self.streams)
        self.state.networks = Networks(self.state, self.params, self.firms)
        self.state.chips_left = self.params.chip_supply_per_year
        self.state.national_vouchers = Budget(config.national.voucher_budget_yuan)
        self.state.adoption = economics.initial_adoption(self.params)
        self.state.wage = self.params.wage.copy()
        self.create_organisations()
        self.create_population()
        self.state.alive_by_region = self.state.count_alive()
        self.state.alive_at_start = self.state.alive_by_region.copy()
        self.schedule_recurring(self.new_year, Schedule(interval=12, start=12.5), Priority.HIGH)
        self.schedule_recurring(self.graduation, Schedule(interval=12, start=6.5))

    # --- set-up -------------------------------------------------------------------------------
    def create_organisations(self) -> None:
        """The Mesa agents of every region, and each region's pool of venture money."""
        st = self.state
        for r, region in enumerate(self.config.regions.values()):
            st.governments.append(Government(self, r, region.policy))
            for key, spec in region.universities.items():
                st.universities.append(University(self, key, r, spec, len(st.universities)))
            for key, spec in region.big_firms.items():
                st.big_firms.append(BigFirm(self, key, r, spec, len(st.big_firms)))
            for key, spec in region.data_centers.items():
                st.data_centers.append(DataCenter(self, key, r, spec, len(st.data_centers)))
            st.vc_pools.append(Budget(0.0))
        self.set_vc_pools(0.0)
        for pool in (*st.vc_pools, st.vc_mobile):
            pool.new_year()
        st.organisations(len(st.big_firms), len(st.universities))

    def set_vc_pools(self, years: float) -> None:
        """This year's venture money (docs/ODD.md 7.7): each city's pool V_r(t) =
        ``vc_pool_yuan_per_year`` × (1 + ``vc_growth_per_year``)^t splits into its local part
        h · V_r(t) (``national.vc_home_bias`` h) and a mobile part; the national mobile pool is
        (1 − h) · Σ_r V_r(t), or the given ``vc_mobile_pool_yuan_per_year`` at its trend (in a
        single-city preset: the part the other cities leave, derived from the national run)."""
        st, nat = self.state, self.config.national
        total = 0.0
        for r, region in enumerate(self.config.regions.values()):
            m = region.market
            full = m.vc_pool_yuan_per_year * (1 + m.vc_growth_per_year) ** years if m else 0.0
            st.vc_pools[r].annual = nat.vc_home_bias * full
            total += full
        if nat.vc_mobile_pool_yuan_per_year is None:
            st.vc_mobile.annual = (1.0 - nat.vc_home_bias) * total
        else:
            growth = (1 + nat.vc_mobile_pool_growth_per_year) ** years
            st.vc_mobile.annual = nat.vc_mobile_pool_yuan_per_year * growth

    def create_population(self) -> None:
        """People for every big firm and university, job seekers, and the initial startups."""
        for r, region in enumerate(self.config.regions.values()):
            if region.kind != "city":
                continue
            labour.create_population(self.state, self.params, self.streams.get("population", r), r)
            founding.create_initial_stock(
                self.state, self.params, self.streams.get("initial_stock", r), r,
                region.initial_startups,
            )  # fmt: skip

    # --- events between months ----------------------------------------------------------------
    def new_year(self) -> None:
        """January: budgets and VC pools renew, chip supply renews, yearly counters reset."""
        st = self.state
        for g in st.governments:
            g.new_year()
        st.national_vouchers.new_year()
        self.set_vc_pools(st.month / 12.0)
        for pool in (*st.vc_pools, st.vc_mobile):
            pool.new_year()
        st.chips_left = self.params.chip_supply_per_year
        s = st.startups
        for col in ("voucher_year", "national_voucher_year", "contract_year", "data_voucher_year",
                    "compute_year", "revenue_year"):  # fmt: skip
            s.view(col)[:] = 0.0

    def graduation(self) -> None:
        """July: every university's cohort enters the labour market."""
        rng = self.streams.get("graduation", self.state.month)
        self.agents_by_type[University].do(labour.graduation, self.state, self.params, rng)

    def allocate_chips(self, gpu_h: float) -> float:
        """Take GPU-hours of new capacity from this year's national chip supply (first come)."""
        hours = self.config.national.hours_per_month
        granted = min(gpu_h, self.state.chips_left * hours)
        self.state.chips_left -= granted / hours
        return granted

    # --- the monthly step ---------------------------------------------------------------------
    def step(self) -> None:
        """One month: the phases in the order docs/ODD.md (section 3) lists them."""
        st, par = self.state, self.params
        # Mesa runs step k (k = 0, 1, ...) at time k + 1, and counts it in ``steps`` before
        # calling it; phases and the events between months need the month in progress (k).
        st.month = month = self.steps - 1

        gens = self.streams.generators(PHASES, month)  # made together (RandomStreams.generators)

        def rng(phase: str) -> np.random.Generator:
            return gens[phase]

        # founders from the events before the step (graduates)
        founding.found_startups(st, par, rng("found_after_events"))
        self.open_month()
        labour.turnover(st, par, rng("turnover"))
        founding.found_from_job_seekers(st, par, rng("found_from_job_seekers"))
        labour.arrive(st, par, rng("arrive"))
        founding.place_mobile_founders(st, par, rng("place_mobile_founders"))
        self.agents_by_type[University].shuffle_do(
            firm_life.university_links, st, par, rng("university_links")
        )
        self.agents_by_type[BigFirm].shuffle_do(
            firm_life.acquisitions, st, par, rng("acquisitions")
        )
        founding.found_startups(st, par, rng("found_after_moves"))
        labour.hire(st, par, rng("hire"))
        labour.set_wages(st, par)
        self.agents_by_type[Government].shuffle_do(
            compute_market.public_investment, st, par, rng("public_investment")
        )
        compute_market.clear_market(st, par, rng("clear_market"))
        compute_market.set_prices(st, par, rng("set_prices"))
        self.agents_by_type[DataCenter].shuffle_do("consider_expansion")
        firm_life.innovate(st, par, rng("innovate"))
        firm_life.adopt(st, par, rng("adopt"))
        firm_life.earn_revenue(st, par, rng("earn_revenue"))
        firm_life.raise_funding(st, par, rng("raise_funding"))
        firm_life.list_ipos(st, par, rng("list_ipos"))
        firm_life.pay_costs_and_exit(st, par, rng("pay_costs_and_exit"))
        partnerships.cooperate(st, par, rng("cooperate"))
        founding.found_startups(st, par, rng("found_after_exits"))
        recording.record(st, par)
        st.month = self.steps  # months completed: what the events before the next step see

    def open_month(self) -> None:
        """Budgets start the month; venture money (the cities' and the mobile pool) flows evenly
        through the year."""
        st = self.state
        for g in st.governments:
            g.new_month()
        st.national_vouchers.new_month()
        for pool in (*st.vc_pools, st.vc_mobile):
            pool.new_month()
            pool.pace(12 - st.month % 12)

    # --- the state, as the app, the experiments and the tests read it -------------------------
    @property
    def month(self) -> int:
        """Months completed (inside a step: the month in progress)."""
        return self.state.month

    @property
    def n_regions(self) -> int:
        return self.params.n_regions

    @property
    def region_keys(self) -> list[str]:
        return self.params.region_keys

    @property
    def region_kinds(self) -> list[str]:
        return self.params.region_kinds

    @property
    def startups(self):
        return self.state.startups

    @property
    def people(self):
        return self.state.people

    @property
    def flows(self):
        return self.state.flows

    @property
    def networks(self) -> Networks:
        return self.state.networks

    @property
    def universities(self) -> list[University]:
        return self.state.universities

    @property
    def big_firms(self) -> list[BigFirm]:
        return self.state.big_firms

    @property
    def data_centers(self) -> list[DataCenter]:
        return self.state.data_centers

    @property
    def governments(self) -> list[Government]:
        return self.state.governments

    @property
    def national_vouchers(self) -> Budget:
        return self.state.national_vouchers

    @property
    def people_by_kind(self) -> np.ndarray:
        return self.state.people_by_kind

    @property
    def alive_by_region(self) -> np.ndarray:
        return self.state.alive_by_region

    @property
    def counters_history(self) -> list[dict[str, np.ndarray]]:
        """This run's monthly counters, one dict of per-region arrays per month."""
        return [h["counters"] for h in self.state.history]

    def people_now(self) -> int:
        """People active in the modelled labour markets now (employed or seeking)."""
        return self.state.people_now()

    def refresh_headcount(self) -> dict[str, np.ndarray]:
        """Every headcount recounted from the people table (a check on the incremental counts)."""
        return recount_headcount(self.state)

    def date(self, month: int) -> pd.Timestamp:
        """First day of model month ``month``."""
        return recording.date(self.params, month)

    # --- results ------------------------------------------------------------------------------
    def kpis(self) -> pd.DataFrame:
        """Monthly KPIs, one row per month and region."""
        return recording.kpis(self.state, self.params)

    def dc_kpis(self) -> pd.DataFrame:
        """Monthly state of every data center."""
        return recording.dc_kpis(self.state, self.params)

    def firms(self) -> pd.DataFrame:
        """One row per startup ever founded."""
        return recording.firms(self.state, self.params)

    def voucher_programmes(self) -> pd.DataFrame:
        """Voucher programmes by paying government and award year (awarded, additional,
        deadweight, unused, take-up)."""
        return recording.voucher_programmes(self.state, self.params)

    def rounds(self) -> pd.DataFrame:
        """Every round a startup closed during the run (stage reached, amount, valuations)."""
        return recording.rounds(self.state, self.params)

    def firm_years(self) -> pd.DataFrame:
        """Annual panel of startups (December snapshots)."""
        return recording.firm_years(self.state)
