"""Founding: who founds a startup, and the new firm's sector, capability, cash and parent.

Founders are decided during several phases (leavers of an employer, job seekers, mobile
founders choosing among cities, graduates, researcher spinoffs); ``spawn`` puts them in a queue
and ``found_startups`` creates their firms in one batch at fixed points of the step (its start,
before hiring, before recording). ``create_initial_stock`` builds the 2025 population of each city.
"""

from __future__ import annotations

import numpy as np

from ecosystem import economics
from ecosystem.people import (
    add_people,
    employed_by_kind,
    even_if_zero,
    job_seekers,
    reassign,
    skill_now,
)
from ecosystem.scenario import SECTORS, Origin
from ecosystem.state import Params, State
from ecosystem.tables import Employer, PersonOrigin, Stage

ORIGIN_BY_EMPLOYER = {
    Employer.BIG_FIRM: Origin.BIG_FIRM,
    Employer.UNIVERSITY: Origin.UNIVERSITY,
    Employer.STARTUP: Origin.STARTUP,
    Employer.NONE: Origin.OTHER,
}
EMPLOYER_BY_ORIGIN = {v: k for k, v in ORIGIN_BY_EMPLOYER.items()}


def spawn(state: State, founders: np.ndarray, kind, emp) -> None:
    """Queue one startup per founder; origin and parent from the employer they leave."""
    n = founders.size
    if n:
        kind = np.broadcast_to(np.asarray(kind, dtype=np.int8), (n,))
        emp = np.broadcast_to(np.asarray(emp, dtype=np.int64), (n,))
        state.founding.append((founders, kind, emp))


def found_startups(state: State, params: Params, rng: np.random.Generator) -> None:
    """Create the startups of every founder waiting in the queue."""
    if not state.founding:
        return
    founders = np.concatenate([f for f, _, _ in state.founding])
    kind = np.concatenate([k for _, k, _ in state.founding])
    emp = np.concatenate([e for _, _, e in state.founding]).astype(np.int32)
    state.founding.clear()
    origin = np.array([ORIGIN_BY_EMPLOYER[Employer(k)] for k in range(4)], dtype=np.int8)[kind]
    region = state.people.region[founders].astype(np.int64)
    largest = (kind == Employer.BIG_FIRM) & (emp == params.largest_firm[region])
    state.count("founders_largest_firm", region[largest])
    for r in np.unique(region):
        m = region == r
        create_startups(state, params, rng, int(r), founders[m], origin[m], kind[m], emp[m])


def capability_unit(params: Params, month: float = 0) -> float:
    """Capability of a typical new firm: a firm at parent level 1 starts here, the steady
    state of a unit firm at this month's efficiency (``economics.capability_gain``)."""
    st = params.config.startups
    unit = st.capability_scale / st.capability_depreciation_per_month
    return unit * economics.efficiency(params, month)


def create_startups(
    state: State,
    params: Params,
    rng: np.random.Generator,
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
    st = params.config.startups
    n = founders.size
    s = state.startups
    sector = rng.choice(len(SECTORS), size=n, p=params.sector_shares[region])
    base = np.full(n, st.base_capability)
    m = parent_kind == Employer.BIG_FIRM
    base[m] = params.bf_capability[parent_id[m]]
    m = parent_kind == Employer.UNIVERSITY
    base[m] = params.uni_quality[parent_id[m]]
    m = (parent_kind == Employer.STARTUP) & (parent_id >= 0)
    if m.any():
        parents = parent_id[m]
        alive = state.alive_startups()
        ref = max(float(np.mean(s.capability[alive])), 1e-9) if alive.size else 1.0
        lo, hi = st.parent_capability_min, st.parent_capability_max
        base[m] = np.clip(s.capability[parents] / ref * st.parent_capability_inherited, lo, hi)
        inherit = rng.random(m.sum()) < st.sector_inheritance_share
        sector[np.flatnonzero(m)[inherit]] = s.sector[parents[inherit]]
    skill = skill_now(state, params, founders)  # with what they learnt in the job they leave
    w = st.founder_skill_weight
    lo, hi = st.capability_draw_min, st.capability_draw_max
    capability = (base * ((1 - w) + w * skill) * rng.uniform(lo, hi, n)) * capability_unit(
        params, state.month
    )
    cash = st.founding_cash_yuan * rng.lognormal(0.0, st.founding_cash_sd, n)
    gov = state.governments[region]
    if not initial:
        paid = gov.startup_grants(n)
        cash += paid
        state.counters["startup_grants_spent_yuan"][region] += paid.sum()
    month = founded_month if initial else state.month
    ages = -np.asarray(founded_month) if initial else None
    log_fit, fit_mean, fit_precision = economics.prior_fit(params, n, rng, ages)
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
        log_fit=log_fit,
        fit_mean=fit_mean,
        fit_precision=fit_precision,
        cash=cash,
        headcount=0,
        next_raise_month=state.month + st.first_raise_after_months,
        app_cost=params.config.compute.application_cost_yuan
        * rng.lognormal(0.0, params.config.compute.application_cost_sigma, n),
    )
    if st.venture_share < 1.0 and n:
        # Its own stream, keyed by the first new row: the other phases' numbers do not move.
        u = state.streams.get("venture_type", int(rows[0])).random(n)
        s.venture[rows] = u < st.venture_share
    p = state.people
    if not initial:
        old_kind = p.employer_kind[founders].copy()
        old_emp = np.where(old_kind == Employer.NONE, region, p.employer_id[founders])
        state.flows.add(state.month, old_kind, old_emp, Employer.STARTUP, rows)
        state.counters["startups_founded"][region] += n
        for o in Origin:
            state.counters[f"founders_{o.name.lower()}"][region] += int((origin == o).sum())
    reassign(state, params, founders, Employer.STARTUP, rows)  # records big-firm alumni
    s.founder_alumni_of[rows] = p.alumni_of[founders]
    st_parent = (parent_kind == Employer.STARTUP) & (parent_id >= 0)
    s.parent_famous[rows[st_parent]] = s.stage[parent_id[st_parent]] >= Stage.SERIES_C
    s.founder_alumni_since[rows] = p.alumni_since[founders]
    return rows


def create_initial_stock(
    state: State, params: Params, rng: np.random.Generator, region: int, n: int
) -> None:
    """The 2025 stock: ages, stages, sizes and cash drawn to look like a mature population."""
    if n == 0:
        return
    st, ini = params.config.startups, params.config.initial_stock
    pop = params.config.population
    spec = params.region(region)
    shares = spec.initial_startup_origin_shares
    names = [o.name.lower() for o in Origin]
    p = np.array([shares.get(k, 0.0) for k in names])
    origin = rng.choice(len(Origin), size=n, p=even_if_zero(p))
    age = rng.uniform(1, st.initial_age_years_max * 12, n).astype(np.int32)
    # Older firms have usually raised more rounds.
    older = np.clip(age / (st.initial_age_years_max * 12), 0, 1)
    stage = np.minimum(rng.binomial(5, older * ini.stage_share_at_max_age), 5)
    log_size = rng.normal(ini.log_size_mean + ini.log_size_per_stage * stage, ini.log_size_sd)
    headcount = np.maximum(np.round(st.founding_team * np.exp(log_size)), 1).astype(np.int64)
    alumni = spec.talent.initial_alumni_share
    founders = add_people(
        state, params, rng, region, n, Employer.NONE, -1, pop.initial_founder_skill,
        (pop.initial_founder_age_min_years, pop.initial_founder_age_max_years),
        alumni_share=alumni,
    )  # fmt: skip
    parent_kind, parent_id = _draw_parents(state, rng, region, origin)
    rows = create_startups(
        state, params, rng, region, founders, origin, parent_kind, parent_id, founded_month=-age
    )
    s = state.startups
    s.stage[rows] = stage
    # Investors of the rounds already raised: one round of each size up to the stage.
    d = st.dilution_per_round
    sizes = np.concatenate([[0.0], np.cumsum(st.round_size_yuan)])
    raised = stage > 0
    s.sought_round[rows] = raised
    s.venture[rows[raised]] = True  # firms that have raised rounds are of the venture type
    s.vc_share[rows] = 1.0 - (1.0 - d) ** stage
    s.vc_invested[rows] = sizes[stage]
    s.capability[rows] *= 1.0 + ini.capability_per_stage * stage
    wage_cost = state.wage[region] * (1 + st.other_opex_share)
    lo, hi = ini.runway_min_months, ini.runway_max_months
    s.cash[rows] = headcount * wage_cost * rng.uniform(lo, hi, n)
    # A raised firm is due for its next round once the interval since its last has passed;
    # where it stands in that interval is uniform (not every firm due in month 0).
    s.next_raise_month[rows] = 0
    s.next_raise_month[rows[raised]] = rng.integers(0, st.months_between_rounds, raised.sum())
    # Staff beyond the founder.
    extra = headcount - 1
    staff = add_people(
        state, params, rng, region, int(extra.sum()), Employer.NONE, -1,
        pop.initial_startup_staff_skill, (pop.staff_age_min_years, pop.staff_age_max_years),
        alumni_share=alumni,
    )  # fmt: skip
    reassign(state, params, staff, Employer.STARTUP, np.repeat(rows, extra))
    # Revenue starts near its market-share level so the stock is not all pre-revenue.
    economics.update_revenue(state, params, adjust=1.0)
    # Their last round's post-money: what a VC values them at today at that round's stage, as
    # on the day of a round; a firm below the viability line (marked 0) is held at the price of
    # a standard round of that stage (its round size / d), as a fund holds one at its last price.
    held = np.asarray(st.round_size_yuan)[stage[raised] - 1] / d
    mark = economics.vc_mark(state, params, rows[raised])
    s.post_money[rows[raised]] = np.where(mark > 0, mark, held)


def _draw_parents(
    state: State, rng: np.random.Generator, region: int, origin: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For initial firms: a plausible parent of each origin (weighted by size)."""
    n = len(origin)
    kind = np.array([EMPLOYER_BY_ORIGIN[Origin(o)] for o in origin], dtype=np.int8)
    pid = np.full(n, -1, dtype=np.int32)
    bfs = [b for b in state.big_firms if b.region == region]
    unis = [u for u in state.universities if u.region == region]
    for k, pool, weight in (
        (Employer.BIG_FIRM, bfs, lambda b: b.spec.headcount * b.spec.spinoff_multiplier),
        (Employer.UNIVERSITY, unis, lambda u: u.spec.staff * u.spec.research_quality),
    ):
        mask = kind == k
        if not pool:
            kind[mask] = Employer.NONE
            continue
        w = np.array([weight(a) for a in pool], dtype=float)
        pick = rng.choice(len(pool), mask.sum(), p=even_if_zero(w))
        pid[mask] = np.array([a.index for a in pool])[pick]
    # Initial startup-origin firms have parents outside the 2025 stock: unknown parent.
    return kind, pid


def cluster_index(state: State, params: Params) -> np.ndarray:
    """The size of each region's AI cluster, the same function in every region (issue 10.4).

    X_r = (N_r / N_ref)^w_N · (L_r / L_ref)^w_L · (VC_r / VC_ref)^w_V with N_r live startups
    plus one (the founder-to-be: a region without startups is small, not dead), L_r the AI
    workforce (everyone employed or seeking work in the region), VC_r venture money raised by its
    startups over the last 12 months (months before the start count as the region's
    ``market.vc_pool_yuan_per_year`` fully raised) plus one seed round (the founder-to-be's: a
    region where no round closed for a year has a small index, not zero), and national reference
    units ``labour.cluster_ref_*`` (weights normalised to sum to 1). A city that starts larger
    starts with a larger index; none is measured against its own start. Regions without people
    (hubs) get 0.
    """
    lab = params.config.labour
    w = np.array([lab.cluster_weight_startups, lab.cluster_weight_workforce, lab.cluster_weight_vc])
    w = w / w.sum() if w.sum() > 0 else w
    recent = state.history[-12:]
    vc = sum((h["counters"]["vc_raised_yuan"] for h in recent), np.zeros(params.n_regions))
    pools = np.array(
        [
            m.vc_pool_yuan_per_year if (m := params.region(r).market) else 0.0
            for r in range(params.n_regions)
        ]
    )
    vc = vc + pools * (12 - len(recent)) / 12 + params.config.startups.round_size_yuan[0]
    size = np.stack(
        [
            (state.alive_by_region + 1) / lab.cluster_ref_startups,
            state.people_by_kind[:, : Employer.GONE].sum(axis=1) / lab.cluster_ref_workforce,
            vc / lab.cluster_ref_vc_yuan_per_year,
        ]
    ).astype(float)
    # log 0 = -inf where a region has no people or money (hubs); a zero weight times it is NaN,
    # discarded by the where (GSA designs set weights to 0): neither is worth a warning
    with np.errstate(divide="ignore", invalid="ignore"):
        log_x = np.where(w[:, None] > 0, w[:, None] * np.log(size), 0.0).sum(axis=0)
    people = state.people_by_kind[:, : Employer.GONE].sum(axis=1) > 0
    return np.where(people, np.exp(log_x), 0.0)


def cluster_pull(state: State, params: Params) -> np.ndarray:
    """How much each region's cluster multiplies founding by people without an employer, migrant
    founders and partnership formation: X_r ** ``labour.cluster_elasticity`` (Brenner [S20]:
    local mechanisms make clusters self-reinforcing; Zhang [S21]: a non-founder's choice depends
    on neighbours'). One elasticity and one index for every region; one value per region."""
    eps = params.config.labour.cluster_elasticity
    if eps == 0:
        return np.ones(params.n_regions)
    return cluster_index(state, params) ** eps


def found_from_job_seekers(state: State, params: Params, rng: np.random.Generator) -> None:
    """Job seekers found startups (origin 'other'), more often in a larger cluster."""
    p = state.people
    base = [
        t.other_founding_per_year if (t := params.region(r).talent) else 0.0
        for r in range(params.n_regions)
    ]
    rate = np.array(base) / 12 * cluster_pull(state, params)
    idx = job_seekers(state)
    chosen = idx[rng.random(idx.size) < rate[p.region[idx]]]
    if chosen.size:
        spawn(state, chosen, Employer.NONE, -1)


def found_from_employer(
    state: State, rng: np.random.Generator, kind: Employer, index: int, n: int
) -> int:
    """n staff of an organisation leave to found startups (researcher spinoffs)."""
    staff = employed_by_kind(state, kind)  # kept while nobody moves: shared by the month's calls
    staff = staff[state.people.employer_id[staff] == index]
    if staff.size == 0:
        return 0
    chosen = rng.choice(staff, size=min(n, staff.size), replace=False)
    spawn(state, chosen, kind, index)
    return int(chosen.size)


# --- mobile founders: a national flow choosing among cities (design §6.2) ----------------------
def mobile_founder_weights(state: State, params: Params) -> np.ndarray:
    """Each region's weight as a destination of mobile founders (0 for regions without people).

    w_r = X_r^ε_C · (v_r / v_ref)^ε_VC · (1 + grant_r / cash₀): the cluster pull
    (``cluster_pull``), venture money per competitor (v_r = this year's VC pool + one seed round,
    over live startups + 1, against the national reference units ``labour.cluster_ref_vc`` /
    ``labour.cluster_ref_startups``; ε_VC = ``national.founder_vc_elasticity``), and the city's
    startup grant on offer while its budget lasts, relative to a founder's own cash
    (``startups.founding_cash_yuan``).
    """
    nat, lab, st = params.config.national, params.config.labour, params.config.startups
    people = state.people_by_kind[:, : Employer.GONE].sum(axis=1) > 0
    city = np.array([params.region(r).talent is not None for r in range(params.n_regions)])
    pull = cluster_pull(state, params)
    pools = np.array([pool.annual for pool in state.vc_pools], dtype=float)
    v = (pools + st.round_size_yuan[0]) / (state.alive_by_region + 1.0)
    v_ref = lab.cluster_ref_vc_yuan_per_year / lab.cluster_ref_startups
    grant = np.array([g.startup_grant_on_offer() for g in state.governments])
    w = pull * (v / v_ref) ** nat.founder_vc_elasticity * (1.0 + grant / st.founding_cash_yuan)
    return np.where(city & people, w, 0.0)


def rival_weight(params: Params, month: float) -> float:
    """Destination weight of the cities this scenario does not model (0 in the national run;
    a single-city preset's is derived from the national run by ``aieco derive-background``)."""
    nat = params.config.national
    return nat.mobile_founder_rival_weight * (1.0 + nat.mobile_founder_rival_growth_per_year) ** (
        month / 12.0
    )


def mobile_founder_destinations(
    state: State, params: Params, rng: np.random.Generator
) -> np.ndarray:
    """This month's mobile founders by destination: n ~ Poisson(Φ / 12) nationally, split
    multinomially over the regions in proportion to ``mobile_founder_weights`` and over the
    cities outside the scenario in proportion to ``rival_weight``. Returns counts per region and,
    last, those who went to a city outside the scenario; they sum to n (the flow is conserved)."""
    phi = params.config.national.mobile_founders_per_year / 12.0
    w = np.append(mobile_founder_weights(state, params), rival_weight(params, state.month))
    n = int(rng.poisson(phi)) if phi > 0 else 0
    if n == 0 or w.sum() <= 0:
        return np.zeros(w.size, dtype=np.int64)
    return rng.multinomial(n, w / w.sum())


def place_mobile_founders(state: State, params: Params, rng: np.random.Generator) -> None:
    """Mobile founders arrive in the city they chose and found a startup there (origin "other").

    They are new people from outside the region (migrants: they count in its arrivals and talent
    balance) and queue for ``found_startups`` like every other founder.
    """
    from ecosystem.labour import OUTSIDE  # labour imports this module

    pop = params.config.population
    counts = mobile_founder_destinations(state, params, rng)[:-1]
    for r in np.flatnonzero(counts):
        n, talent = int(counts[r]), params.region(int(r)).talent
        rows = add_people(
            state, params, rng, int(r), n, Employer.NONE, -1, pop.migrant_skill,
            (pop.migrant_age_min_years, pop.migrant_age_max_years),
            origin=PersonOrigin.MIGRANT, alumni_share=talent.migrant_alumni_share,
        )  # fmt: skip
        state.flows.add_counts(OUTSIDE, int(r), Employer.NONE, int(r), n)
        state.counters["arrivals"][r] += n
        state.counters["mobile_founders"][r] += n
        spawn(state, rows, Employer.NONE, -1)
