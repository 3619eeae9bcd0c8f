"""The labour market: people's careers, founding, migration, retirement and hiring.

People are rows in :class:`~ecosystem.tables.People`. Nothing about a person is updated monthly
unless something happens to them: age comes from the birth month, experience and skill accrue at
each job change (and are read lazily in between), and each row carries the monthly hazards of its
current situation, set whenever it changes employer. A month of turnover is then one uniform
draw per person compared against those hazards (competing risks: leaving the region, leaving the
employer), plus retirement by date.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ecosystem.tables import Employer, PersonOrigin, PersonStatus

if TYPE_CHECKING:
    from agents import BigFirm, University

_NEVER = np.iinfo(np.int32).max
#: ``alumni_of`` value of people who worked at a big firm in another region.
ALUMNI_ELSEWHERE = -2
#: Skill gained per month of employment (learning on the job); assumption, see docs/ODD.md.
LEARNING_PER_MONTH = 0.001
#: Flow-log node kinds for the world outside a region and for retirement.
OUTSIDE, RETIRED = 5, 6


def top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values, largest first (a partial sort)."""
    if k < values.size:
        part = np.argpartition(-values, k - 1)[:k]
        return part[np.argsort(-values[part])]
    return np.argsort(-values)


class LabourMarket:
    """Mixin of :class:`~ecosystem.model.AIEcosystem`: the phases and helpers for people."""

    def setup_labour(self) -> None:
        """Lookup tables of monthly hazards and the per-region counters of people by employer kind."""
        n_kinds = len(Employer)
        self.separation = np.zeros((self.n_regions, n_kinds))
        self.outflow = np.zeros((self.n_regions, n_kinds))
        self.retire_months = np.full(self.n_regions, 60 * 12, dtype=np.int32)
        for r, region in enumerate(self.config.regions.values()):
            t = region.talent
            if t is None:
                continue
            self.separation[r, Employer.STARTUP] = t.startup_attrition_per_year / 12
            self.separation[r, Employer.UNIVERSITY] = t.university_attrition_per_year / 12
            self.outflow[r, [Employer.STARTUP, Employer.BIG_FIRM, Employer.UNIVERSITY]] = t.outflow_per_year / 12
            self.outflow[r, Employer.NONE] = t.seeker_outflow_per_year / 12
            self.retire_months[r] = int(round(t.retirement_age_years * 12))
        self.people_by_kind = np.zeros((self.n_regions, n_kinds), dtype=np.int64)
        self.bf_headcount = np.zeros(len(self.big_firms), dtype=np.int64)
        self.uni_headcount = np.zeros(len(self.universities), dtype=np.int64)
        self.tightness_ref = np.ones(self.n_regions)
        self.vacancies_last = np.zeros(self.n_regions)
        self.seekers_last = np.zeros(self.n_regions)

    # --- people in and out of the table -------------------------------------------------------
    def add_people(
        self,
        region: int,
        n: int,
        kind: Employer,
        employer: int,
        skill_mean: float,
        origin: PersonOrigin = PersonOrigin.INITIAL,
        age_years: tuple[float, float] = (24.0, 55.0),
        alumni_share: float = 0.0,
    ) -> np.ndarray:
        """Append n people; ages uniform in age_years, skill normal around skill_mean.

        ``alumni_share`` of them have worked at one of the region's big firms before (drawn by size).
        """
        rng = self.rng
        age = rng.uniform(age_years[0] * 12, age_years[1] * 12, n).astype(np.int32)
        skill = np.clip(rng.normal(skill_mean, 0.15, n), 0.05, 1.0).astype(np.float32)
        rows = self.people.append(
            n,
            region=region,
            employer_kind=kind,
            employer_id=employer,
            skill=skill,
            experience=np.maximum(age - 22 * 12, 0),
            since=self.month,
            birth=self.month - age,
            retire_at=self.month - age + self.retire_months[region],
            origin=origin,
        )
        bfs = [b for b in self.big_firms if b.region == region]
        if alumni_share > 0:
            alum = rows[rng.random(n) < alumni_share]
            if origin == PersonOrigin.MIGRANT or not bfs:
                self.people.alumni_of[alum] = ALUMNI_ELSEWHERE
            else:
                w = np.array([b.spec.headcount for b in bfs], dtype=float)
                pick = rng.choice(len(bfs), alum.size, p=w / w.sum())
                self.people.alumni_of[alum] = np.array([b.index for b in bfs])[pick]
        self._headcount_delta(self.people.employer_kind[rows], self.people.employer_id[rows], 1, region)
        self._set_hazards(rows)
        return rows

    def _set_hazards(self, rows: np.ndarray) -> None:
        p = self.people
        kind = p.employer_kind[rows]
        region = p.region[rows]
        sep = self.separation[region, kind]
        bf = kind == Employer.BIG_FIRM
        sep[bf] = self.bf_attrition[p.employer_id[rows[bf]]]
        p.out_hazard[rows] = out = self.outflow[region, kind]
        p.move_hazard[rows] = out + sep

    def reassign(self, rows: np.ndarray, kind, ident) -> None:
        """Move people to a new employer (kind, id), keeping headcounts, skills and hazards in step."""
        p = self.people
        if rows.size == 0:
            return
        old = p.employer_kind[rows]
        self._headcount_delta(old, p.employer_id[rows], -1, p.region[rows])
        worked = np.where((old != Employer.NONE) & (old != Employer.GONE), self.month - p.since[rows], 0)
        p.experience[rows] += worked
        p.skill[rows] = np.minimum(p.skill[rows] + np.float32(LEARNING_PER_MONTH) * worked, np.float32(1.0))
        bf = old == Employer.BIG_FIRM
        p.alumni_of[rows[bf]] = p.employer_id[rows[bf]]
        p.alumni_since[rows[bf]] = self.month
        p.employer_kind[rows] = kind
        p.employer_id[rows] = ident
        p.since[rows] = self.month
        self._headcount_delta(p.employer_kind[rows], p.employer_id[rows], 1, p.region[rows])
        self._set_hazards(rows)

    def remove_people(self, rows: np.ndarray, status: PersonStatus) -> None:
        """People leave the modelled labour market (to another region, or into retirement)."""
        self.reassign(rows, Employer.GONE, -1)
        p = self.people
        p.status[rows] = status
        p.retire_at[rows] = _NEVER

    def _headcount_delta(self, kind: np.ndarray, ident: np.ndarray, sign: int, region) -> None:
        code = np.asarray(region, dtype=np.int64) * len(Employer) + kind  # region may be a scalar
        self.people_by_kind += sign * np.bincount(
            np.broadcast_to(code, np.shape(kind)), minlength=self.people_by_kind.size
        ).reshape(self.people_by_kind.shape)
        for k, counts in (
            (Employer.STARTUP, self.startups.view("headcount")),
            (Employer.BIG_FIRM, self.bf_headcount),
            (Employer.UNIVERSITY, self.uni_headcount),
        ):
            m = kind == k
            if m.any():
                counts += sign * np.bincount(ident[m], minlength=counts.size).astype(counts.dtype)

    def current_skill(self, rows: np.ndarray) -> np.ndarray:
        """Skill including what was learnt in the current job so far."""
        p = self.people
        kind = p.employer_kind[rows]
        months = np.where((kind != Employer.NONE) & (kind != Employer.GONE), self.month - p.since[rows], 0)
        return np.minimum(p.skill[rows] + np.float32(LEARNING_PER_MONTH) * months, 1.0)

    def staff_of(self, firms: np.ndarray) -> np.ndarray:
        """People rows employed by the given startups."""
        p = self.people
        mark = np.zeros(self.startups.n, dtype=bool)
        mark[firms] = True
        idx = np.flatnonzero(p.view("employer_kind") == Employer.STARTUP)
        return idx[mark[p.employer_id[idx]]]

    def people_now(self) -> int:
        """People active in the modelled labour markets now (employed or seeking)."""
        return int(self.people_by_kind[:, : Employer.GONE].sum())

    def job_seekers(self) -> np.ndarray:
        return np.flatnonzero(self.people.view("employer_kind") == Employer.NONE)

    def refresh_headcount(self) -> dict[str, np.ndarray]:
        """Recount every headcount from the people table (a check on the incremental counts)."""
        p = self.people
        kind, emp, region = p.view("employer_kind"), p.view("employer_id"), p.view("region")
        return {
            "startups": np.bincount(emp[kind == Employer.STARTUP], minlength=self.startups.n),
            "big_firms": np.bincount(emp[kind == Employer.BIG_FIRM], minlength=len(self.big_firms)),
            "universities": np.bincount(emp[kind == Employer.UNIVERSITY], minlength=len(self.universities)),
            "people_by_kind": np.bincount(  # every row: the GONE column counts those who left
                region.astype(np.int64) * len(Employer) + kind,
                minlength=self.people_by_kind.size,
            ).reshape(self.people_by_kind.shape),
        }

    # --- founding ------------------------------------------------------------------------------
    def employer_size(self, kind: np.ndarray, emp: np.ndarray) -> np.ndarray:
        size = np.ones(len(kind))
        for k, counts in (
            (Employer.STARTUP, self.startups.headcount),
            (Employer.BIG_FIRM, self.bf_headcount),
            (Employer.UNIVERSITY, self.uni_headcount),
        ):
            m = kind == k
            size[m] = counts[emp[m]]
        return np.maximum(size, 1)

    def founding_probability(self, region: np.ndarray, kind: np.ndarray, emp: np.ndarray) -> np.ndarray:
        """Per leaver: the size-based founding hazard, times the employer's spinoff multiplier."""
        size = self.employer_size(kind, emp)
        prob = np.zeros(len(kind))
        for r in np.unique(region):
            talent = self.config.regions[self.region_keys[r]].talent
            if talent is None:
                continue
            fh = talent.founding_hazard
            m = region == r
            prob[m] = np.interp(np.log(size[m]), np.log(fh.sizes), fh.rates)
            prob[m & (kind == Employer.STARTUP)] *= talent.startup_spinoff_multiplier
        m = kind == Employer.BIG_FIRM
        prob[m] *= self.bf_spinoff[emp[m]]
        prob[kind == Employer.UNIVERSITY] = 0.0  # researcher spinoffs are the University's own
        return np.clip(prob, 0.0, 1.0)

    def release(self, rows: np.ndarray) -> None:
        """People leave their employers: some found startups, the rest seek jobs locally."""
        if rows.size == 0:
            return
        p = self.people
        kind = p.employer_kind[rows].copy()
        emp = p.employer_id[rows].copy()
        region = p.region[rows].astype(np.int64)
        self._count_by_region("leavers", region)
        bf = kind == Employer.BIG_FIRM
        largest = bf & (emp == self.largest_firm[region])
        self._count_by_region("leavers_largest_firm", region[largest])
        self.bf_leavers += np.bincount(emp[bf], minlength=len(self.big_firms))
        found = self.rng.random(rows.size) < self.founding_probability(region, kind, emp)
        stay = ~found
        self.flows.add(self.month, kind[stay], emp[stay], Employer.NONE, region[stay])
        self.reassign(rows[stay], Employer.NONE, -1)
        if found.any():
            self.spawn(rows[found], kind[found], emp[found])

    def found_from_employer(self, org: University | BigFirm, n: int) -> int:
        """n staff of an organisation leave to found startups (researcher spinoffs)."""
        from agents import University

        p = self.people
        kind = Employer.UNIVERSITY if isinstance(org, University) else Employer.BIG_FIRM
        staff = np.flatnonzero((p.view("employer_kind") == kind) & (p.view("employer_id") == org.index))
        if staff.size == 0:
            return 0
        chosen = self.rng.choice(staff, size=min(n, staff.size), replace=False)
        self.spawn(chosen, kind, org.index)
        return int(chosen.size)

    def cluster_pull(self, region: int) -> float:
        """How much a region's startup cluster multiplies founding by people without an employer.

        (live startups now / at the start) ** cluster_elasticity, capped at 10: founders follow
        founders (Brenner [S20]; Zhang [S21]: a non-founder's choice depends on neighbours').
        """
        talent = self.config.regions[self.region_keys[region]].talent
        if talent is None or talent.cluster_elasticity == 0:
            return 1.0
        ratio = self.alive_by_region[region] / max(self.alive_at_start[region], 1)
        return float(min(max(ratio, 0.1) ** talent.cluster_elasticity, 10.0))

    def found_from_job_seekers(self) -> None:
        """Job seekers found startups (origin 'other'), more often in a larger cluster."""
        p = self.people
        rate = np.zeros(self.n_regions)
        for r, region in enumerate(self.config.regions.values()):
            if region.talent:
                rate[r] = region.talent.other_founding_per_year / 12 * self.cluster_pull(r)
        idx = self.job_seekers()
        chosen = idx[self.rng.random(idx.size) < rate[p.region[idx]]]
        if chosen.size:
            self.spawn(chosen, Employer.NONE, -1)

    # --- monthly phases ------------------------------------------------------------------------
    def turnover(self) -> None:
        """Retirement by date; then one draw per person: leave the region, leave the employer, or stay.

        Leavers of an employer may found a startup (``release``); the rest become job seekers.
        """
        p = self.people
        retiring = np.flatnonzero(p.view("retire_at") <= self.month)
        self._leave_market(retiring, PersonStatus.RETIRED, "retirements", RETIRED)
        u = self.rng.random(p.n, dtype=np.float32)
        moving = np.flatnonzero(u < p.view("move_hazard"))  # leave the region or the employer
        leaves_region = u[moving] < p.out_hazard[moving]
        departing, separating = moving[leaves_region], moving[~leaves_region]
        departing = self.move_between_cities(departing)
        self._leave_market(departing, PersonStatus.DEPARTED, "departures", OUTSIDE)
        self.release(separating)

    def move_between_cities(self, rows: np.ndarray) -> np.ndarray:
        """Some people leaving a city move to another modelled city; returns those who leave the model.

        Each mover picks a destination city with probability ∝ workforce × attractiveness ×
        (wage / mean wage) ** migration_wage_elasticity (openings per seeker, talent subsidies and
        wages: [S53]). Movers arrive as job seekers; they count as a departure where they left and
        an arrival where they land, so people are conserved across regions.
        """
        cities = [r for r in range(self.n_regions) if self.region_kinds[r] == "city"]
        nat = self.config.national
        if len(cities) < 2 or rows.size == 0 or nat.internal_migration_share == 0:
            return rows
        p = self.people
        moving = self.rng.random(rows.size) < nat.internal_migration_share
        movers, leavers = rows[moving], rows[~moving]
        if movers.size == 0:
            return leavers
        city = np.array(cities)
        wage = self.wage[city]
        pull = np.array([self.people_by_kind[r, : Employer.GONE].sum() * self.attractiveness(r) for r in cities])
        pull = pull * (wage / wage.mean()) ** nat.migration_wage_elasticity
        origin = p.region[movers].astype(np.int64)
        # Choose among the other cities: drop the origin's weight, renormalise per mover.
        weights = np.tile(pull, (movers.size, 1))
        weights[np.arange(movers.size), np.searchsorted(city, origin)] = 0.0
        cum = np.cumsum(weights, axis=1)
        pick = (self.rng.random(movers.size) * cum[:, -1])[:, None] < cum
        dest = city[np.argmax(pick, axis=1)]
        kind = p.employer_kind[movers]
        emp = np.where(kind == Employer.NONE, origin, p.employer_id[movers])
        self.flows.add(self.month, kind, emp, Employer.NONE, dest)
        self.reassign(movers, Employer.NONE, -1)
        self._headcount_delta(np.full(movers.size, Employer.NONE), np.full(movers.size, -1), -1, origin)
        p.region[movers] = dest
        p.retire_at[movers] = p.birth[movers] + self.retire_months[dest]
        self._headcount_delta(np.full(movers.size, Employer.NONE), np.full(movers.size, -1), 1, dest)
        self._set_hazards(movers)
        self._count_by_region("departures", origin)
        self._count_by_region("moved_out", origin)
        self._count_by_region("arrivals", dest.astype(np.int64))
        self._count_by_region("moved_in", dest.astype(np.int64))
        return leavers

    def _leave_market(self, rows: np.ndarray, status: PersonStatus, counter: str, node: int) -> None:
        if rows.size == 0:
            return
        p = self.people
        kind = p.employer_kind[rows]
        region = p.region[rows].astype(np.int64)
        emp = np.where(kind == Employer.NONE, region, p.employer_id[rows])
        self.flows.add(self.month, kind, emp, node, region)
        self.remove_people(rows, status)
        self._count_by_region(counter, region)

    def arrive(self) -> None:
        """Migrants arrive at the gross inflow rate, scaled by the region's attractiveness."""
        for r, reg in enumerate(self.config.regions.values()):
            if reg.talent is None:
                continue
            workforce = self.people_by_kind[r, : Employer.GONE].sum()
            lam = reg.talent.gross_inflow_per_year / 12 * workforce * self.attractiveness(r)
            n = int(self.rng.poisson(lam))
            if n:
                rows = self.add_people(
                    r, n, Employer.NONE, -1, 0.5, origin=PersonOrigin.MIGRANT, age_years=(23, 45),
                    alumni_share=reg.talent.migrant_alumni_share,
                )
                self.flows.add_counts(OUTSIDE, r, Employer.NONE, r, n)
                self.counters["arrivals"][r] += n
                # Some come to found a startup here (cities compete for founders, H10, H12).
                share = min(reg.talent.migrant_founder_share * self.cluster_pull(r), 1.0)
                self.spawn(rows[self.rng.random(n) < share], Employer.NONE, -1)

    def graduate_cohort(self, uni: University) -> int:
        """Add a university's graduates who stay; a few found startups at once. Returns stayers."""
        talent = self.config.regions[self.region_keys[uni.region]].talent
        if talent is None:
            return 0
        n = int(self.rng.binomial(uni.spec.graduates_per_year, self.graduate_stay_share(uni.region)))
        if n == 0:
            return 0
        rows = self.add_people(
            uni.region, n, Employer.NONE, -1, 0.35 + 0.3 * uni.spec.research_quality,
            origin=PersonOrigin.GRADUATE, age_years=(22, 27),
        )
        self.people.experience[rows] = 0
        self.flows.add_counts(Employer.UNIVERSITY, uni.index, Employer.NONE, uni.region, n)
        self.counters["graduates"][uni.region] += n
        founders = rows[self.rng.random(n) < uni.spec.graduate_founding_share]
        self.spawn(founders, Employer.UNIVERSITY, uni.index)
        uni.spinoffs_total += founders.size
        return n

    def talent_subsidy_active(self, region: int) -> float:
        """The talent subsidy on offer (yuan per person), if its budget still has money."""
        gov = self.governments[region]
        if gov.budgets["talent_subsidy"].remaining <= 0:
            return 0.0
        return gov.policy.talent_subsidy_yuan_per_person

    def attractiveness(self, region: int) -> float:
        """Relative pull on migrants: job openings per seeker (vs. 2025) and talent subsidies."""
        talent = self.config.regions[self.region_keys[region]].talent
        el = talent.attractiveness_elasticity
        tight = self._tightness(region) / self.tightness_ref[region]
        subsidy = self.talent_subsidy_active(region) / (12 * self.wage[region])
        return float(np.clip(tight, 0.25, 4.0) ** el * (1.0 + el * subsidy))

    def graduate_stay_share(self, region: int) -> float:
        talent = self.config.regions[self.region_keys[region]].talent
        subsidy = self.talent_subsidy_active(region) / (12 * self.wage[region])
        return float(min(1.0, talent.graduate_stay_share * (1.0 + talent.attractiveness_elasticity * subsidy)))

    def _tightness(self, region: int) -> float:
        """Openings per job seeker at last month's hiring round."""
        return (self.vacancies_last[region] + 1.0) / (self.seekers_last[region] + 1.0)

    def hire(self) -> None:
        """Match job seekers to openings: the most skilled go to the most attractive employers."""
        p, s, rng = self.people, self.startups, self.rng
        st = self.config.startups
        alive = self.alive_startups()
        desired = self.desired_headcount(alive)
        hc = s.headcount[alive]
        cap = np.ceil(st.max_growth_per_month * hc).astype(np.int64) + 1
        s_open = np.clip(desired - hc, 0, cap)
        bf_open = np.array(
            [max(b.target_headcount() - self.bf_headcount[b.index], 0) for b in self.big_firms], dtype=np.int64
        )
        un_open = np.array(
            [max(u.spec.staff - self.uni_headcount[u.index], 0) for u in self.universities], dtype=np.int64
        )
        all_seekers = self.job_seekers()
        for r in range(self.n_regions):
            if self.region_kinds[r] != "city":
                continue
            firms = alive[s.region[alive] == r]
            f_open = s_open[s.region[alive] == r]
            bfs = np.array([b.index for b in self.big_firms if b.region == r], dtype=np.int64)
            uns = np.array([u.index for u in self.universities if u.region == r], dtype=np.int64)
            cap_ref = max(float(np.median(s.capability[firms])) if firms.size else 1.0, 1e-9)
            firm_score = 0.3 + 0.1 * s.stage[firms] + 0.2 * np.minimum(s.capability[firms] / cap_ref, 2)
            # Openings as slots: (employer kind, employer id, attractiveness).
            kinds = np.repeat(
                np.array([Employer.STARTUP, Employer.BIG_FIRM, Employer.UNIVERSITY], dtype=np.int8),
                [f_open.sum(), bf_open[bfs].sum(), un_open[uns].sum()],
            )
            ids = np.concatenate([np.repeat(firms, f_open), np.repeat(bfs, bf_open[bfs]), np.repeat(uns, un_open[uns])])
            score = np.concatenate([
                np.repeat(firm_score, f_open),
                np.repeat(self.bf_capability[bfs], bf_open[bfs]),
                np.repeat(self.uni_quality[uns], un_open[uns]),
            ])
            seekers = all_seekers[p.region[all_seekers] == r]
            self.vacancies_last[r] = ids.size
            self.seekers_last[r] = seekers.size
            if self.month == 0:
                self.tightness_ref[r] = self._tightness(r)
            k = min(ids.size, seekers.size)
            if k == 0:
                continue
            slot_order = top_k(score + rng.normal(0, 0.15, score.size), k)
            seeker_order = top_k(p.skill[seekers] + rng.normal(0, 0.1, seekers.size), k)
            hired = seekers[seeker_order]
            newcomers = hired[(p.origin[hired] != PersonOrigin.INITIAL) & (p.experience[hired] == 0)]
            self.reassign(hired, kinds[slot_order], ids[slot_order])
            self.flows.add(self.month, Employer.NONE, r, kinds[slot_order], ids[slot_order])
            self.counters["hires"][r] += k
            # Talent subsidies: graduates and migrants taking their first job here (FCFS budget).
            per = self.governments[r].policy.talent_subsidy_yuan_per_person
            if per > 0 and newcomers.size:
                paid = self.governments[r].budgets["talent_subsidy"].grant(np.full(newcomers.size, per))
                self.counters["talent_subsidy_spent_yuan"][r] += paid.sum()
