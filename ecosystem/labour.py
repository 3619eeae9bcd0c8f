"""The labour market: separations, founding by leavers, migration, retirement, graduation, hiring,
wages.

A month of turnover gives each person the chance of moving stored on their row (competing
risks: leaving the region, leaving the employer; the first scaled by the region's attraction),
plus retirement by date. Leavers of an employer may found a startup; the rest seek
jobs. Hiring is a matching function: a city's matches depend on its openings and job seekers,
and the most skilled of the matched seekers go to the most attractive openings. Each city's wage
then moves with its tightness (``set_wages``). One attraction function (``attraction``: wage,
talent subsidy as a wage equivalent, tightness) drives arrivals, departures, moves between
cities and graduates' decision to stay.
"""

from __future__ import annotations

import numpy as np

from ecosystem import economics
from ecosystem.founding import spawn
from ecosystem.people import (
    add_people,
    due_to_retire,
    headcount_delta,
    job_seekers,
    reassign,
    remove_people,
    set_hazards,
    set_retirement,
)
from ecosystem.state import Params, State
from ecosystem.tables import Employer, PersonOrigin, PersonStatus

#: Flow-log node kinds for the world outside a region and for retirement.
OUTSIDE, RETIRED = 5, 6


def top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values, largest first (a partial sort)."""
    if k < values.size:
        part = np.argpartition(-values, k - 1)[:k]
        return part[np.argsort(-values[part])]
    return np.argsort(-values)


def create_population(state: State, params: Params, rng: np.random.Generator, region: int) -> None:
    """People for every big firm and university of a city, plus its job seekers."""
    pop = params.config.population
    talent = params.region(region).talent
    ages = (pop.staff_age_min_years, pop.staff_age_max_years)
    for bf in (b for b in state.big_firms if b.region == region):
        add_people(
            state, params, rng, region, bf.spec.headcount, Employer.BIG_FIRM, bf.index,
            pop.big_firm_staff_skill, ages,
        )  # fmt: skip
    for u in (u for u in state.universities if u.region == region):
        add_people(
            state, params, rng, region, u.spec.staff, Employer.UNIVERSITY, u.index,
            pop.university_staff_skill, ages,
        )  # fmt: skip
    add_people(
        state, params, rng, region, talent.initial_job_seekers, Employer.NONE, -1,
        pop.job_seeker_skill, ages, alumni_share=talent.initial_alumni_share,
    )  # fmt: skip


# --- founding by leavers ------------------------------------------------------------------------
def employer_size(state: State, kind: np.ndarray, emp: np.ndarray) -> np.ndarray:
    size = np.ones(len(kind))
    for k, counts in (
        (Employer.STARTUP, state.startups.headcount),
        (Employer.BIG_FIRM, state.bf_headcount),
        (Employer.UNIVERSITY, state.uni_headcount),
    ):
        m = kind == k
        size[m] = counts[emp[m]]
    return np.maximum(size, 1)


def founding_probability(
    state: State, params: Params, region: np.ndarray, kind: np.ndarray, emp: np.ndarray
) -> np.ndarray:
    """Per leaver: the size-based founding hazard, times the employer's spinoff multiplier."""
    size = employer_size(state, kind, emp)
    prob = np.zeros(len(kind))
    for r in np.unique(region):
        talent = params.region(r).talent
        if talent is None:
            continue
        fh = talent.founding_hazard
        m = region == r
        prob[m] = np.interp(np.log(size[m]), np.log(fh.sizes), fh.rates)
        prob[m & (kind == Employer.STARTUP)] *= talent.startup_spinoff_multiplier
    m = kind == Employer.BIG_FIRM
    prob[m] *= params.bf_spinoff[emp[m]]
    prob[kind == Employer.UNIVERSITY] = 0.0  # researcher spinoffs are the University's own
    return np.clip(prob, 0.0, 1.0)


def release(state: State, params: Params, rng: np.random.Generator, rows: np.ndarray) -> None:
    """People leave their employers: some found startups, the rest seek jobs locally."""
    if rows.size == 0:
        return
    p = state.people
    kind = p.employer_kind[rows].copy()
    emp = p.employer_id[rows].copy()
    region = p.region[rows].astype(np.int64)
    state.count("leavers", region)
    bf = kind == Employer.BIG_FIRM
    largest = bf & (emp == params.largest_firm[region])
    state.count("leavers_largest_firm", region[largest])
    state.bf_leavers += np.bincount(emp[bf], minlength=len(state.big_firms))
    found = rng.random(rows.size) < founding_probability(state, params, region, kind, emp)
    stay = ~found
    state.flows.add(state.month, kind[stay], emp[stay], Employer.NONE, region[stay])
    reassign(state, params, rows[stay], Employer.NONE, -1)
    if found.any():
        spawn(state, rows[found], kind[found], emp[found])


# --- people leaving and arriving ----------------------------------------------------------------
def turnover(state: State, params: Params, rng: np.random.Generator) -> None:
    """Retirement by date; then each person leaves the region, leaves the employer, or stays.

    Leavers of an employer may found a startup (``release``); the rest become job seekers.
    Each row moves with its own monthly probability (its stored hazards, leaving the region
    scaled by the region's attraction); rows are drawn as candidates at an upper bound of those
    probabilities and thinned (``candidates``), which gives every row exactly its own chance
    while touching only the few rows that may move, not every row ever added.
    """
    p = state.people
    retiring = due_to_retire(state)
    _leave_market(state, params, retiring, PersonStatus.RETIRED, "retirements", RETIRED)
    # Rows store the hazards at attraction 1; leaving the region is divided by the region's
    # attraction (capped so that a month's chance stays a probability).
    scale = 1.0 / attraction(state, params)
    # The bound and the two streams keep runs paired (common random numbers): the bound moves
    # with the attraction only in steps of a quarter power of two, the candidates' positions
    # come from one stream and their uniforms from another, so two arms of a policy comparison
    # with the same seed draw the same candidates with the same numbers whatever their sizes.
    step = 2.0 ** (np.ceil(4.0 * np.log2(max(float(scale.max()), 1.0))) / 4.0)
    bound = min(p.move_hazard_max + p.out_hazard_max * (step - 1.0), 1.0)
    positions, uniforms = rng.spawn(2)
    rows = candidates(positions, p.n, bound)
    out = p.out_hazard[rows].astype(np.float64)
    out_now = np.minimum(out * scale[p.region[rows]], 1.0)
    move_now = p.move_hazard[rows] + (out_now - out)  # leave the region or the employer
    u = uniforms.random(rows.size) * bound  # on [0, bound): a candidate moves w.p. move/bound
    moving = u < move_now
    leaves_region = u[moving] < out_now[moving]
    departing, separating = rows[moving][leaves_region], rows[moving][~leaves_region]
    departing = move_between_cities(state, params, rng, departing)
    _leave_market(state, params, departing, PersonStatus.DEPARTED, "departures", OUTSIDE)
    release(state, params, rng, separating)


def candidates(rng: np.random.Generator, n: int, prob: float) -> np.ndarray:
    """Each of the rows 0..n-1 independently with probability ``prob``, in increasing order: a
    Bernoulli process sampled by its geometric gaps, so the cost is the number chosen, not n."""
    if n == 0 or prob <= 0.0:
        return np.zeros(0, dtype=np.int64)
    if prob >= 1.0:
        return np.arange(n, dtype=np.int64)
    expected = n * prob
    chunk = int(expected + 4.0 * np.sqrt(expected) + 16)
    parts, last = [], -1
    while last < n - 1:
        pos = last + np.cumsum(rng.geometric(prob, chunk))
        parts.append(pos)
        last = int(pos[-1])
    pos = np.concatenate(parts)
    return pos[pos < n]


def move_between_cities(
    state: State, params: Params, rng: np.random.Generator, rows: np.ndarray
) -> np.ndarray:
    """Some people leaving a city move to another modelled city; returns those who leave the model.

    Each mover picks a destination city with probability ∝ workforce × attraction (wages, talent
    subsidies and openings per seeker: [S53]; the same function as arrivals from outside).
    Movers arrive as job seekers; they count as a departure where they left and an arrival where
    they land, so people are conserved across regions.
    """
    cities = [r for r in range(params.n_regions) if params.region_kinds[r] == "city"]
    nat = params.config.national
    if len(cities) < 2 or rows.size == 0 or nat.internal_migration_share == 0:
        return rows
    p = state.people
    moving = rng.random(rows.size) < nat.internal_migration_share
    movers, leavers = rows[moving], rows[~moving]
    if movers.size == 0:
        return leavers
    city = np.array(cities)
    pull = state.people_by_kind[city, : Employer.GONE].sum(axis=1) * attraction(state, params)[city]
    origin = p.region[movers].astype(np.int64)
    # Choose among the other cities: drop the origin's weight, renormalise per mover.
    weights = np.tile(pull, (movers.size, 1))
    weights[np.arange(movers.size), np.searchsorted(city, origin)] = 0.0
    # Where every other city has zero pull (no workforce), movers choose among them evenly.
    none = weights.sum(axis=1) <= 0
    weights[none] = 1.0
    weights[none, np.searchsorted(city, origin[none])] = 0.0
    cum = np.cumsum(weights, axis=1)
    pick = (rng.random(movers.size) * cum[:, -1])[:, None] < cum
    dest = city[np.argmax(pick, axis=1)]
    kind = p.employer_kind[movers]
    emp = np.where(kind == Employer.NONE, origin, p.employer_id[movers])
    state.flows.add(state.month, kind, emp, Employer.NONE, dest)
    reassign(state, params, movers, Employer.NONE, -1)
    seekers = np.full(movers.size, Employer.NONE)
    nobody = np.full(movers.size, -1)
    headcount_delta(state, seekers, nobody, -1, origin)
    p.region[movers] = dest
    set_retirement(state, movers, p.birth[movers] + params.retire_months[dest])
    headcount_delta(state, seekers, nobody, 1, dest)
    set_hazards(state, params, movers)
    state.count("departures", origin)
    state.count("moved_out", origin)
    state.count("arrivals", dest.astype(np.int64))
    state.count("moved_in", dest.astype(np.int64))
    return leavers


def _leave_market(
    state: State, params: Params, rows: np.ndarray, status: PersonStatus, counter: str, node: int
) -> None:
    if rows.size == 0:
        return
    p = state.people
    kind = p.employer_kind[rows]
    region = p.region[rows].astype(np.int64)
    emp = np.where(kind == Employer.NONE, region, p.employer_id[rows])
    state.flows.add(state.month, kind, emp, node, region)
    remove_people(state, params, rows, status)
    state.count(counter, region)


def arrive(state: State, params: Params, rng: np.random.Generator) -> None:
    """Migrants arrive at the gross inflow rate, scaled by the region's attraction."""
    pop = params.config.population
    att = attraction(state, params)
    for r in range(params.n_regions):
        talent = params.region(r).talent
        if talent is None:
            continue
        workforce = state.people_by_kind[r, : Employer.GONE].sum()
        lam = talent.gross_inflow_per_year / 12 * workforce * att[r]
        n = int(rng.poisson(lam))
        if n:
            add_people(
                state, params, rng, r, n, Employer.NONE, -1, pop.migrant_skill,
                (pop.migrant_age_min_years, pop.migrant_age_max_years),
                origin=PersonOrigin.MIGRANT,
                alumni_share=talent.migrant_alumni_share,
            )  # fmt: skip
            state.flows.add_counts(OUTSIDE, r, Employer.NONE, r, n)
            state.counters["arrivals"][r] += n


def graduate_cohort(state: State, params: Params, rng: np.random.Generator, uni) -> tuple[int, int]:
    """July: a university's graduates who stay join the job market; a few found startups at once.

    Returns (graduates who stay, founders among them).
    """
    talent = params.region(uni.region).talent
    if talent is None:
        return 0, 0
    pop = params.config.population
    n = int(
        rng.binomial(uni.spec.graduates_per_year, graduate_stay_share(state, params, uni.region))
    )
    if n == 0:
        return 0, 0
    skill = pop.graduate_skill_base + pop.graduate_skill_per_quality * uni.spec.research_quality
    rows = add_people(
        state, params, rng, uni.region, n, Employer.NONE, -1, skill,
        (pop.graduate_age_min_years, pop.graduate_age_max_years), origin=PersonOrigin.GRADUATE,
    )  # fmt: skip
    state.people.experience[rows] = 0
    state.flows.add_counts(Employer.UNIVERSITY, uni.index, Employer.NONE, uni.region, n)
    state.counters["graduates"][uni.region] += n
    founders = rows[rng.random(n) < uni.spec.graduate_founding_share]
    spawn(state, founders, Employer.UNIVERSITY, uni.index)
    return n, int(founders.size)


def graduation(uni, state: State, params: Params, rng: np.random.Generator) -> None:
    """A university's graduation (the July event): its cohort joins the job market."""
    uni.record_graduation(*graduate_cohort(state, params, rng, uni))


# --- attraction ---------------------------------------------------------------------------------
def tightness(state: State) -> np.ndarray:
    """Openings per job seeker at each region's last hiring round, (V + 1) / (S + 1)."""
    return (state.vacancies_last + 1.0) / (state.seekers_last + 1.0)


def attraction(state: State, params: Params) -> np.ndarray:
    """How much each region pulls people, by region (1 for regions without a labour market).

    Att = ((w + subsidy / (12 T_stay)) / w̄) ** ε_w × clip(tightness / tight*, lo, hi) ** ε_T,
    clipped to [``attraction_min``, ``attraction_max``]: the current wage with the talent
    subsidy on offer spread over the expected stay, against the national reference wage, and
    last month's openings per seeker against the national normal tightness. Arrivals are
    proportional to it, departures inversely, graduates stay in proportion (capped at all of
    them) and movers between cities choose destinations in proportion to workforce × Att.
    """
    lab, nat = params.config.labour, params.config.national
    att = np.ones(params.n_regions)
    cities = np.array([r for r in range(params.n_regions) if params.region(r).talent is not None])
    if cities.size == 0:
        return att
    subsidy = np.array([state.governments[r].talent_subsidy_on_offer() for r in cities])
    wage = state.wage[cities] + subsidy / (12.0 * lab.expected_stay_years)
    tight = np.clip(
        tightness(state)[cities] / lab.normal_tightness, lab.tightness_min, lab.tightness_max
    )
    with np.errstate(over="ignore"):
        pull = (wage / lab.national_reference_wage_yuan_per_month) ** nat.migration_wage_elasticity
    att[cities] = np.clip(
        pull * tight**lab.migration_tightness_elasticity, lab.attraction_min, lab.attraction_max
    )
    return att


def graduate_stay_share(state: State, params: Params, region: int) -> float:
    """Share of a region's graduates who stay: the base share × its attraction, at most all."""
    talent = params.region(region).talent
    return float(min(1.0, talent.graduate_stay_share * attraction(state, params)[region]))


# --- wages --------------------------------------------------------------------------------------
def wage_step(tight: np.ndarray, params: Params) -> np.ndarray:
    """Change of log wage for a month at tightness ``tight`` (partial adjustment).

    gap = log(tight / tight*); no change while |gap| < dead band; else κ_w × clip(gap, ±clip).
    """
    lab = params.config.labour
    gap = np.log(tight / lab.normal_tightness)
    step = lab.wage_adjust_per_month * np.clip(gap, -lab.wage_gap_clip, lab.wage_gap_clip)
    return np.where(np.abs(gap) < lab.wage_dead_band, 0.0, step)


def set_wages(state: State, params: Params) -> None:
    """After hiring: each city's wage moves toward clearing its labour market."""
    cities = np.array([params.region(r).talent is not None for r in range(params.n_regions)])
    step = wage_step(tightness(state), params)
    state.wage[cities] *= np.exp(step[cities])


# --- hiring -------------------------------------------------------------------------------------
def matches(openings: int, seekers: int, params: Params, rng: np.random.Generator) -> int:
    """Matches of a month: min(V, S, μ_m S^α_m V^(1 − α_m)), rounded up with probability equal
    to the fraction (so the expected number is the matching function's)."""
    if openings == 0 or seekers == 0:
        return 0
    lab = params.config.labour
    a = lab.matching_elasticity
    m = lab.matching_efficiency * float(seekers) ** a * float(openings) ** (1.0 - a)
    whole = int(m)
    return min(openings, seekers, whole + int(rng.random() < m - whole))


def hire(state: State, params: Params, rng: np.random.Generator) -> None:
    """Match job seekers to openings: a matching function sets how many matches each city makes;
    the most skilled seekers among them go to the most attractive openings."""
    p, s = state.people, state.startups
    st, lab = params.config.startups, params.config.labour
    alive = state.alive_startups()
    desired = economics.desired_headcount(state, params, alive)
    hc = s.headcount[alive]
    cap = np.ceil(st.max_growth_per_month * hc).astype(np.int64) + 1
    s_open = np.clip(desired - hc, 0, cap)
    bf_open = np.array(
        [max(b.target_headcount() - state.bf_headcount[b.index], 0) for b in state.big_firms],
        dtype=np.int64,
    )
    un_open = np.array(
        [max(u.spec.staff - state.uni_headcount[u.index], 0) for u in state.universities],
        dtype=np.int64,
    )
    all_seekers = job_seekers(state)
    for r in range(params.n_regions):
        if params.region_kinds[r] != "city":
            continue
        firms = alive[s.region[alive] == r]
        f_open = s_open[s.region[alive] == r]
        bfs = np.array([b.index for b in state.big_firms if b.region == r], dtype=np.int64)
        uns = np.array([u.index for u in state.universities if u.region == r], dtype=np.int64)
        cap_ref = max(float(np.median(s.capability[firms])) if firms.size else 1.0, 1e-9)
        relative = np.minimum(s.capability[firms] / cap_ref, lab.hiring_capability_cap)
        firm_score = (
            lab.hiring_score_base
            + lab.hiring_score_per_stage * s.stage[firms]
            + lab.hiring_score_per_capability * relative
        )
        # Openings as slots: (employer kind, employer id, attractiveness).
        kinds = np.repeat(
            np.array([Employer.STARTUP, Employer.BIG_FIRM, Employer.UNIVERSITY], dtype=np.int8),
            [f_open.sum(), bf_open[bfs].sum(), un_open[uns].sum()],
        )
        ids = np.concatenate(
            [np.repeat(firms, f_open), np.repeat(bfs, bf_open[bfs]), np.repeat(uns, un_open[uns])]
        )
        score = np.concatenate(
            [
                np.repeat(firm_score, f_open),
                np.repeat(params.bf_capability[bfs], bf_open[bfs]),
                np.repeat(params.uni_quality[uns], un_open[uns]),
            ]
        )
        seekers = all_seekers[p.region[all_seekers] == r]
        state.vacancies_last[r] = ids.size
        state.seekers_last[r] = seekers.size
        k = matches(ids.size, seekers.size, params, rng)
        if k == 0:
            continue
        slot_order = top_k(score + rng.normal(0, lab.opening_noise_sd, score.size), k)
        noisy_skill = p.skill[seekers] + rng.normal(0, lab.seeker_noise_sd, seekers.size)
        hired = seekers[top_k(noisy_skill, k)]
        newcomers = hired[p.newcomer[hired]]
        reassign(state, params, hired, kinds[slot_order], ids[slot_order])
        state.flows.add(state.month, Employer.NONE, r, kinds[slot_order], ids[slot_order])
        state.counters["hires"][r] += k
        # Talent subsidies: graduates and migrants taking their first job here (FCFS budget).
        if newcomers.size:
            paid = state.governments[r].talent_subsidies(newcomers.size)
            state.counters["talent_subsidy_spent_yuan"][r] += paid.sum()
