"""The life of startups: founding, growth in capability, revenue, funding, costs, exit.

Startups are rows in :class:`~ecosystem.tables.Startups`; every phase here is a vectorised
operation over the live rows (``alive_startups``), called by ``AIEcosystem.step``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ecosystem.scenario import SECTORS, Origin
from ecosystem.tables import Employer, Stage, Status

if TYPE_CHECKING:
    from agents import BigFirm, University

ORIGIN_BY_EMPLOYER = {
    Employer.BIG_FIRM: Origin.BIG_FIRM,
    Employer.UNIVERSITY: Origin.UNIVERSITY,
    Employer.STARTUP: Origin.STARTUP,
    Employer.NONE: Origin.OTHER,
}
EMPLOYER_BY_ORIGIN = {v: k for k, v in ORIGIN_BY_EMPLOYER.items()}


class StartupLife:
    """Mixin of :class:`~ecosystem.model.AIEcosystem`: the phases and helpers for startups."""

    def alive_startups(self) -> np.ndarray:
        return np.flatnonzero(self.startups.view("status") == Status.ALIVE)

    def create_initial_startups(self, region: int, n: int) -> None:
        """The 2025 stock: ages, stages, sizes and cash drawn to look like a mature population."""
        if n == 0:
            return
        rng, st = self.rng, self.config.startups
        spec = self.config.regions[self.region_keys[region]]
        shares = spec.initial_startup_origin_shares
        names = [o.name.lower() for o in Origin]
        p = np.array([shares.get(k, 0.0) for k in names])
        origin = rng.choice(len(Origin), size=n, p=p / p.sum())
        age = rng.uniform(1, st.initial_age_years_max * 12, n).astype(np.int32)
        # Older firms have usually raised more rounds.
        stage = np.minimum(rng.binomial(5, np.clip(age / (st.initial_age_years_max * 12), 0, 1) * 0.5), 5)
        headcount = np.maximum(
            np.round(st.founding_team * np.exp(rng.normal(0.6 + 0.45 * stage, 0.6))), 1
        ).astype(np.int64)
        alumni = self.config.regions[self.region_keys[region]].talent.initial_alumni_share
        founders = self.add_people(region, n, Employer.NONE, -1, 0.6, age_years=(28, 50), alumni_share=alumni)
        parent_kind, parent_id = self._draw_parents(region, origin)
        rows = self.create_startups(
            region, founders, origin, parent_kind, parent_id, founded_month=-age
        )
        s = self.startups
        s.stage[rows] = stage
        s.capability[rows] *= 1.0 + 0.5 * stage
        wage_cost = self.wage[region] * (1 + st.other_opex_share)
        s.cash[rows] = headcount * wage_cost * rng.uniform(6, 30, n)
        s.next_raise_month[rows] = 0
        # Staff beyond the founder.
        extra = headcount - 1
        staff = self.add_people(region, int(extra.sum()), Employer.NONE, -1, 0.5, alumni_share=alumni)
        self.reassign(staff, Employer.STARTUP, np.repeat(rows, extra))
        # Revenue starts near its market-share level so the stock is not all pre-revenue.
        self.update_revenue(adjust=1.0)

    def _draw_parents(self, region: int, origin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For initial firms: a plausible parent of each origin (weighted by size)."""
        rng = self.rng
        n = len(origin)
        kind = np.array([EMPLOYER_BY_ORIGIN[Origin(o)] for o in origin], dtype=np.int8)
        pid = np.full(n, -1, dtype=np.int32)
        bfs = [b for b in self.big_firms if b.region == region]
        unis = [u for u in self.universities if u.region == region]
        for k, pool, weight in (
            (Employer.BIG_FIRM, bfs, lambda b: b.spec.headcount * b.spec.spinoff_multiplier),
            (Employer.UNIVERSITY, unis, lambda u: u.spec.staff * u.spec.research_quality),
        ):
            mask = kind == k
            if not pool:
                kind[mask] = Employer.NONE
                continue
            w = np.array([weight(a) for a in pool], dtype=float)
            pid[mask] = np.array([a.index for a in pool])[rng.choice(len(pool), mask.sum(), p=w / w.sum())]
        # Initial startup-origin firms have parents outside the 2025 stock: unknown parent.
        return kind, pid

    def spawn(self, founders: np.ndarray, kind, emp) -> None:
        """Found one startup per founder; origin and parent from the employer they leave.

        Founders decided during a phase wait in a buffer; ``found_startups`` creates their firms
        in one batch at fixed points of the step (its start, before hiring, before recording).
        """
        n = founders.size
        if n:
            kind = np.broadcast_to(np.asarray(kind, dtype=np.int8), (n,))
            emp = np.broadcast_to(np.asarray(emp, dtype=np.int64), (n,))
            self._founding.append((founders, kind, emp))

    def found_startups(self) -> None:
        """Create the startups of every founder waiting in the buffer."""
        if not self._founding:
            return
        founders = np.concatenate([f for f, _, _ in self._founding])
        kind = np.concatenate([k for _, k, _ in self._founding])
        emp = np.concatenate([e for _, _, e in self._founding]).astype(np.int32)
        self._founding.clear()
        origin = np.array([ORIGIN_BY_EMPLOYER[Employer(k)] for k in range(4)], dtype=np.int8)[kind]
        region = self.people.region[founders].astype(np.int64)
        largest = (kind == Employer.BIG_FIRM) & (emp == self.largest_firm[region])
        self._count_by_region("founders_largest_firm", region[largest])
        for r in np.unique(region):
            m = region == r
            self.create_startups(int(r), founders[m], origin[m], kind[m], emp[m])

    def create_startups(
        self,
        region: int,
        founders: np.ndarray,
        origin: np.ndarray,
        parent_kind: np.ndarray,
        parent_id: np.ndarray,
        founded_month: np.ndarray | None = None,
    ) -> np.ndarray:
        """Append startups for the given founders; founders become their first employee.

        Capability and (for startup parents) sector are inherited with noise (Klepper's heredity,
        SKIN's clone mechanism); big-firm and university parents pass on their own level.
        ``founded_month`` is given only for the initial stock, which is not counted as founded
        this month and gets no grant.
        """
        initial = founded_month is not None
        rng, st = self.rng, self.config.startups
        n = founders.size
        s = self.startups
        sector = rng.choice(len(SECTORS), size=n, p=self.sector_shares[region])
        base = np.full(n, 0.3)
        m = parent_kind == Employer.BIG_FIRM
        base[m] = self.bf_capability[parent_id[m]]
        m = parent_kind == Employer.UNIVERSITY
        base[m] = self.uni_quality[parent_id[m]]
        m = (parent_kind == Employer.STARTUP) & (parent_id >= 0)
        if m.any():
            parents = parent_id[m]
            alive = self.alive_startups()
            ref = max(float(np.mean(s.capability[alive])), 1e-9) if alive.size else 1.0
            base[m] = np.clip(s.capability[parents] / ref * 0.5, 0.1, 1.0)
            inherit = rng.random(m.sum()) < 0.7
            sector[np.flatnonzero(m)[inherit]] = s.sector[parents[inherit]]
        skill = self.people.skill[founders]
        capability = (base * (0.5 + 0.5 * skill) * rng.uniform(0.5, 1.0, n)) * self._capability_unit()
        cash = st.founding_cash_yuan * rng.lognormal(0.0, 0.5, n)
        if not initial:
            gov = self.governments[region]
            per = np.full(n, gov.policy.startup_grant_yuan)
            paid = gov.budgets["startup_grant"].grant(per)
            cash += paid
            self.counters["startup_grants_spent_yuan"][region] += paid.sum()
        month = founded_month if initial else self.month
        rows = s.append(
            n,
            region=region,
            sector=sector,
            origin=origin,
            parent_kind=parent_kind,
            parent_id=parent_id,
            founder=founders,
            founded_month=month,
            capability=capability,
            cash=cash,
            headcount=0,
            next_raise_month=self.month + 3,
            claims_vouchers=rng.random(n) < self.governments[region].policy.voucher_takeup,
        )
        if not initial:
            old_kind = self.people.employer_kind[founders].copy()
            old_emp = np.where(old_kind == Employer.NONE, region, self.people.employer_id[founders])
            self.flows.add(self.month, old_kind, old_emp, Employer.STARTUP, rows)
            self.counters["startups_founded"][region] += n
            for o in Origin:
                self.counters[f"founders_{o.name.lower()}"][region] += int((origin == o).sum())
        self.reassign(founders, Employer.STARTUP, rows)  # records big-firm alumni as it goes
        s.founder_alumni_of[rows] = self.people.alumni_of[founders]
        st_parent = (parent_kind == Employer.STARTUP) & (parent_id >= 0)
        s.parent_famous[rows[st_parent]] = s.stage[parent_id[st_parent]] >= Stage.SERIES_C
        s.founder_alumni_since[rows] = self.people.alumni_since[founders]
        return rows

    def _capability_unit(self) -> float:
        """Capability of a typical new firm: a firm at parent level 1 starts here."""
        st = self.config.startups
        return st.capability_scale / st.capability_decay_per_month

    def desired_headcount(self, rows: np.ndarray) -> np.ndarray:
        """Staff a startup can afford while keeping its runway target.

        Founders accept a shorter runway to assemble their founding team: up to
        ``founding_team`` people as long as a year of wages is in the bank (at least the founder).
        """
        s, st = self.startups, self.config.startups
        per_head = self.cost_per_head(rows)
        cash = np.maximum(s.cash[rows], 0)
        budget = cash / st.runway_target_months + s.revenue[rows] * (1 - st.target_margin)
        team = np.clip(np.floor(cash / (12 * per_head)), 1, st.founding_team)
        return np.maximum(np.floor(budget / per_head), team).astype(np.int64)

    def cost_per_head(self, rows: np.ndarray) -> np.ndarray:
        """Monthly cost of one more employee: wage, overheads and their training compute."""
        s, st = self.startups, self.config.startups
        region = s.region[rows]
        compute = self.sector_training[s.sector[rows]] * self.reference_price(region)
        return self.wage[region] * (1 + st.other_opex_share) + compute

    def reference_price(self, region: np.ndarray) -> np.ndarray:
        """Cheapest list price of a data center in each region (the firm's planning price)."""
        prices = np.full(self.n_regions, np.inf)
        for dc in self.data_centers:
            prices[dc.region] = min(prices[dc.region], dc.price)
        finite = prices[np.isfinite(prices)]
        prices[~np.isfinite(prices)] = finite.min() if finite.size else 10.0
        return prices[region]

    def acquire_startups(self, firm: BigFirm, n: int) -> int:
        """A big firm buys up to n local startups, favouring high capability; staff join it."""
        s = self.startups
        alive = self.alive_startups()
        cand = alive[(s.region[alive] == firm.region) & (s.stage[alive] >= Stage.SEED)]
        if cand.size == 0:
            return 0
        w = s.capability[cand] ** 2
        n = min(n, cand.size)
        chosen = self.rng.choice(cand, size=n, replace=False, p=w / w.sum())
        s.status[chosen] = Status.ACQUIRED
        s.exit_month[chosen] = self.month
        s.acquirer[chosen] = firm.index
        staff = self.staff_of(chosen)
        self.flows.add(self.month, Employer.STARTUP, self.people.employer_id[staff], Employer.BIG_FIRM, firm.index)
        self.reassign(staff, Employer.BIG_FIRM, firm.index)
        self.counters["startups_acquired"][firm.region] += n
        self.networks.end_partnerships(chosen, self.month)
        return n

    def collaborate_with(self, uni: University, n: int, gain: float) -> int:
        """A university starts collaborations with n random local startups, raising their capability."""
        s = self.startups
        alive = self.alive_startups()
        cand = alive[s.region[alive] == uni.region]
        if cand.size == 0:
            return 0
        chosen = self.rng.choice(cand, size=min(n, cand.size), replace=False)
        s.capability[chosen] *= 1.0 + gain
        self.networks.add_collaborations(uni, chosen, self.month)
        return int(chosen.size)

    def efficiency(self) -> float:
        """Capability per unit of compute rises over time (the DeepSeek effect under chip limits)."""
        return (1.0 + self.efficiency_gain) ** (self.month / 12.0)

    def innovate(self) -> None:
        """Capability grows with training compute and skill-weighted staff, decays with the frontier."""
        s, st, p = self.startups, self.config.startups, self.people
        alive = self.alive_startups()
        if alive.size == 0:
            return
        staff = np.flatnonzero(p.view("employer_kind") == Employer.STARTUP)
        talent = np.bincount(p.employer_id[staff], weights=self.current_skill(staff), minlength=s.n)
        gpu_k = s.training_gpu_h[alive] / 1000.0
        growth = (
            st.capability_scale
            * self.efficiency()
            * gpu_k**st.compute_elasticity
            * talent[alive] ** st.talent_elasticity
            * s.data_multiplier[alive]
        )
        k = s.capability[alive]
        spill = self.networks.spillover(alive, s.capability, s.n) * st.partnership_spillover
        s.capability[alive] = k * (1 - st.capability_decay_per_month) + growth + spill

    def update_revenue(self, adjust: float | None = None) -> None:
        """Revenue moves toward each firm's share of its sector's local demand (K^gamma shares)."""
        s, st = self.startups, self.config.startups
        lam = st.revenue_adjust_per_month if adjust is None else adjust
        alive = self.alive_startups()
        if alive.size == 0:
            return
        demand = self.sector_demand()  # (regions, sectors) yuan per month
        key = s.region[alive].astype(np.int64) * len(SECTORS) + s.sector[alive]
        w = s.capability[alive] ** st.revenue_share_exponent
        total = np.bincount(key, weights=w, minlength=demand.size)
        # A niche share of demand is split evenly among firms that have found product-market fit
        # (capability at least ``fit_threshold`` × their sector's median); the rest goes by
        # capability.
        k = s.capability[alive]
        median = np.zeros(demand.size)
        order = np.lexsort((k, key))
        sk, kk = key[order], k[order]
        first = np.searchsorted(sk, np.arange(demand.size), side="left")
        last = np.searchsorted(sk, np.arange(demand.size), side="right")
        has = last > first
        median[has] = kk[(first[has] + last[has] - 1) // 2]
        fit = k >= st.fit_threshold * median[key]
        count = np.bincount(key, weights=fit, minlength=demand.size)
        niche = st.niche_demand_share
        share = (1 - niche) * w / np.maximum(total[key], 1e-12) + niche * fit / np.maximum(count[key], 1)
        target = demand.ravel()[key] * share
        s.revenue[alive] += lam * (target - s.revenue[alive])

    def sector_demand(self) -> np.ndarray:
        """Local demand for startups' products by region and sector, yuan per month."""
        out = np.zeros((self.n_regions, len(SECTORS)))
        years = self.month / 12.0
        for r, region in enumerate(self.config.regions.values()):
            if region.market is None:
                continue
            base = region.market.startup_demand_yuan_per_year / 12 * (1 + region.market.demand_growth_per_year) ** years
            base += sum(b.procurement_per_month for b in self.big_firms if b.region == r)
            base += self._adoption_demand[r]
            out[r] = base * self.sector_shares[r]
        return out

    def earn_revenue(self) -> None:
        self._adoption_demand = np.zeros(self.n_regions)
        for g in self.governments:
            spent = g.adoption_spending()
            self._adoption_demand[g.region] = spent * g.policy.adoption_multiplier
            self.counters["adoption_spent_yuan"][g.region] += spent
        self.update_revenue()
        s = self.startups
        alive = self.alive_startups()
        s.revenue_year[alive] += s.revenue[alive]
        self._count_by_region("revenue_yuan", s.region[alive].astype(np.int64), s.revenue[alive])

    def monthly_costs(self, rows: np.ndarray) -> np.ndarray:
        s, st = self.startups, self.config.startups
        return s.headcount[rows] * self.wage[s.region[rows]] * (1 + st.other_opex_share) + s.compute_spend[rows]

    def raise_funding(self) -> None:
        """Firms short of runway seek their next round; VC money and the guidance fund are finite."""
        s, st, rng = self.startups, self.config.startups, self.rng
        alive = self.alive_startups()
        if alive.size == 0:
            return
        burn = np.maximum(self.monthly_costs(alive) - s.revenue[alive], 1.0)
        runway = s.cash[alive] / burn
        want = alive[(runway < st.raise_below_runway_months) & (s.next_raise_month[alive] <= self.month)]
        if want.size == 0:
            return
        want = rng.permutation(want)  # first come, first served for VC money
        # Capability percentile among local live firms: better firms close rounds more often.
        pct = np.empty(want.size)
        for r in np.unique(s.region[want]):
            local = alive[s.region[alive] == r]
            ranks = np.searchsorted(np.sort(s.capability[local]), s.capability[want[s.region[want] == r]], side="right")
            pct[s.region[want] == r] = ranks / local.size
        stage = s.stage[want].astype(np.int64)
        nxt = np.minimum(stage, 4)  # index into round tables: next round (D+ repeats)
        prob = np.array(st.round_success)[nxt] * np.clip(2 * pct, 0.1, 2.0)
        size = np.array(st.round_size_yuan)[nxt] * rng.lognormal(0, 0.3, want.size)
        gf_share = np.zeros(want.size)
        for g in self.governments:
            m = s.region[want] == g.region
            if g.budgets["guidance_fund"].remaining > 0:
                gf_share[m] = g.policy.guidance_fund_share
        prob = np.clip(prob * (1 + gf_share), 0, 1)
        closes = rng.random(want.size) < prob
        # Money, first come first served: venture money for the private part (a round falls
        # through once this month's VC money is gone), then the guidance fund's share.
        region = s.region[want]
        for r in np.unique(region[closes]):
            idx = np.flatnonzero(closes & (region == r))
            vc = self.vc_pools[r].grant(size[idx] * (1 - gf_share[idx]))
            funded = vc > 0
            closes[idx[~funded]] = False
            idx, vc = idx[funded], vc[funded]
            gf = self.governments[r].budgets["guidance_fund"].grant(size[idx] * gf_share[idx])
            amount = vc + gf
            firms = want[idx]
            s.cash[firms] += amount
            s.funding_total[firms] += amount
            s.stage[firms] = np.minimum(s.stage[firms] + 1, Stage.SERIES_D_PLUS)
            self.counters["vc_raised_yuan"][r] += amount.sum()
            self.counters["guidance_fund_spent_yuan"][r] += gf.sum()
        self._count_by_region("rounds_closed", s.region[want[closes]].astype(np.int64))
        self._count_by_region("rounds_failed", s.region[want[~closes]].astype(np.int64))
        s.next_raise_month[want[~closes]] = self.month + st.retry_months
        s.next_raise_month[want[closes]] = self.month + 12

    def pay_costs_and_exit(self) -> None:
        """Pay wages and compute; cut staff when runway is short; fail when cash runs out."""
        s, st = self.startups, self.config.startups
        alive = self.alive_startups()
        if alive.size == 0:
            return
        cost = self.monthly_costs(alive) + s.data_spend[alive]
        s.cash[alive] += s.revenue[alive] - cost
        # Layoffs: firms losing money with under 3 months of runway shrink to what revenue pays.
        burn = np.maximum(cost - s.revenue[alive], 1.0)
        short = (s.cash[alive] / burn < 3) & (cost > s.revenue[alive]) & (s.cash[alive] >= 0)
        if short.any():
            rows = alive[short]
            keep = np.floor(s.revenue[rows] * (1 - st.target_margin) / self.cost_per_head(rows))
            self.lay_off(rows, np.maximum(keep, 1).astype(np.int64))
        failed = alive[(s.cash[alive] < 0) | (s.headcount[alive] <= 0)]
        if failed.size:
            s.status[failed] = Status.FAILED
            s.exit_month[failed] = self.month
            self._count_by_region("startups_failed", s.region[failed].astype(np.int64))
            self.release(self.staff_of(failed))
            self.networks.end_partnerships(failed, self.month)

    def lay_off(self, rows: np.ndarray, keep: np.ndarray) -> None:
        """Release staff of the given firms beyond ``keep`` each (founders stay)."""
        s, p = self.startups, self.people
        excess = s.headcount[rows] - keep
        rows, excess = rows[excess > 0], excess[excess > 0]
        if rows.size == 0:
            return
        emp = p.view("employer_id")
        staff = self.staff_of(rows)
        staff = staff[staff != s.founder[emp[staff]]]
        staff = staff[self.rng.permutation(staff.size)]
        firm = emp[staff]
        order = np.argsort(firm, kind="stable")
        staff, firm = staff[order], firm[order]
        # Rank of each employee within their firm; release while rank < excess.
        starts = np.searchsorted(firm, firm, side="left")
        rank = np.arange(firm.size) - starts
        limit = np.zeros(s.n, dtype=np.int64)
        limit[rows] = excess
        self.release(staff[rank < limit[firm]])

    def cooperate(self) -> None:
        """Startups form partnerships that share knowledge (H9); most within a sector."""
        s, st, rng = self.startups, self.config.startups, self.rng
        every = self.alive_startups()
        for r in range(self.n_regions):
            alive = every[s.region[every] == r]
            if alive.size < 2:
                continue
            n = int(rng.poisson(st.partnership_rate_per_year / 12 * alive.size / 2))
            if n == 0:
                continue
            a = rng.choice(alive, n)
            b = rng.choice(alive, n)
            # Half of partners are sought in the same sector: a uniform draw within a's sector.
            same = np.flatnonzero(rng.random(n) < 0.5)
            by_sector = alive[np.argsort(s.sector[alive], kind="stable")]
            sectors = s.sector[by_sector]
            first = np.searchsorted(sectors, s.sector[a[same]], side="left")
            size = np.searchsorted(sectors, s.sector[a[same]], side="right") - first
            b[same] = by_sector[first + (rng.random(same.size) * size).astype(np.int64)]
            ok = a != b
            self.networks.add_partnerships(a[ok], b[ok], self.month)
            self.counters["partnerships_formed"][r] += int(ok.sum())
