"""Operations on the people table that every phase shares: add, move between employers, remove.

People are rows in :class:`~ecosystem.tables.People`. Nothing about a person is updated monthly
unless something happens to them: age comes from the birth month, experience and skill accrue at
each job change (and are read lazily in between), and each row carries the monthly hazards of its
current situation, set whenever it changes employer. Headcounts of startups, big firms and
universities and the people by (region, employer kind) are kept in step incrementally.
"""

from __future__ import annotations

import numpy as np

from ecosystem.state import Params, State
from ecosystem.tables import Employer, PersonOrigin, PersonStatus

_NEVER = np.iinfo(np.int32).max
#: ``alumni_of`` value of people who worked at a big firm in another region.
ALUMNI_ELSEWHERE = -2
#: Employer kinds as plain ints, to compare with the int8 column: numpy compares an int8 array
#: with an ``Employer`` member only after converting every entry to int64.
_NONE, _STARTUP, _BIG_FIRM = int(Employer.NONE), int(Employer.STARTUP), int(Employer.BIG_FIRM)
_UNIVERSITY, _GONE = int(Employer.UNIVERSITY), int(Employer.GONE)
#: Up to this many firms, ``staff_of`` compares the staff's employers with each firm in turn.
_FEW_FIRMS = 3
#: Months ahead of a scan for which ``due_to_retire`` keeps the rows due to retire.
_RETIRE_AHEAD = 12


def add_people(
    state: State,
    params: Params,
    rng: np.random.Generator,
    region: int,
    n: int,
    kind: Employer,
    employer: int,
    skill_mean: float,
    age_years: tuple[float, float],
    origin: PersonOrigin = PersonOrigin.INITIAL,
    alumni_share: float = 0.0,
) -> np.ndarray:
    """Append n people; ages uniform in age_years, skill normal around skill_mean.

    ``alumni_share`` of them have worked at one of the region's big firms before (drawn by size).
    """
    pop = params.config.population
    month = state.month
    age = rng.uniform(age_years[0] * 12, age_years[1] * 12, n).astype(np.int32)
    skill = np.clip(rng.normal(skill_mean, pop.skill_sd, n), pop.skill_min, 1.0)
    rows = state.people.append(
        n,
        region=region,
        employer_kind=kind,
        employer_id=employer,
        skill=skill.astype(np.float32),
        experience=np.maximum(age - int(pop.career_start_age_years * 12), 0),
        since=month,
        birth=month - age,
        retire_at=month - age + params.retire_months[region],
        origin=origin,
        newcomer=origin != PersonOrigin.INITIAL,
    )
    bfs = [b for b in state.big_firms if b.region == region]
    if alumni_share > 0:
        alum = rows[rng.random(n) < alumni_share]
        if origin == PersonOrigin.MIGRANT or not bfs:
            state.people.alumni_of[alum] = ALUMNI_ELSEWHERE
        else:
            w = np.array([b.spec.headcount for b in bfs], dtype=float)
            pick = rng.choice(len(bfs), alum.size, p=even_if_zero(w))
            state.people.alumni_of[alum] = np.array([b.index for b in bfs])[pick]
    p = state.people
    headcount_delta(state, p.employer_kind[rows], p.employer_id[rows], 1, region)
    set_hazards(state, params, rows)
    return rows


def even_if_zero(w: np.ndarray) -> np.ndarray:
    """Probabilities proportional to w; even where every weight is zero (never NaN)."""
    total = w.sum()
    return w / total if total > 0 else np.full(w.size, 1.0 / w.size)


def set_hazards(state: State, params: Params, rows: np.ndarray, kind=None, region=None) -> None:
    """Each person's monthly chance of leaving the region, and of leaving region or employer.

    ``kind`` and ``region``: the rows' employer kind (an array, or one kind for all the rows)
    and region, where the caller has them (the table is read otherwise). With one kind the
    hazards are looked up by region alone: most moves (releases, exits, departures,
    acquisitions) send everyone to one kind of employer, and the lookups by (region, kind) code
    and the big-firm mask cost more than the rest of a small move."""
    p = state.people
    region = p.region[rows] if region is None else region
    if kind is not None and np.ndim(kind) == 0:
        k = int(kind)
        out = params.outflow[:, k][region]
        if k == Employer.BIG_FIRM:  # the firm's own attrition, as below
            sep = params.bf_attrition[p.employer_id[rows]]
        else:
            sep = params.separation[:, k][region]
    else:
        kind = p.employer_kind[rows] if kind is None else kind
        code = _code(region, kind)
        sep = params.separation.ravel()[code]
        bf = kind == _BIG_FIRM
        sep[bf] = params.bf_attrition[p.employer_id[rows[bf]]]
        out = params.outflow.ravel()[code]
    ratio = params.config.startups.founder_attrition_ratio
    beyond = False  # whether a hazard may exceed the largest a row can store (params' bounds)
    if ratio != 1.0:  # lead founders at their own firm leave ρ_f times as often (ODD 7.1)
        own = founders_at_their_firm(state, rows, kind)
        if own.any():
            out = np.array(np.broadcast_to(out, rows.shape), dtype=np.float64)
            sep = np.array(np.broadcast_to(sep, rows.shape), dtype=np.float64)
            out[own] *= ratio
            sep[own] *= ratio
            beyond = ratio > 1.0
    move = out + sep
    # Rounded to the columns' float32 before the scatter (the same rounding): numpy's scatter
    # with a cast takes its slow general path.
    p.out_hazard[rows] = out.astype(np.float32)
    p.move_hazard[rows] = move.astype(np.float32)
    # Once the stored maxima reach the largest hazards a row can have (from the first people
    # on), no move changes them: they are looked for only until then.
    reached = (
        p.out_hazard_max >= params.out_hazard_bound
        and p.move_hazard_max >= params.move_hazard_bound
    )
    if rows.size and (beyond or not reached):
        # rounding to the stored float32 keeps the order: the maxima are the stored ones
        p.out_hazard_max = max(p.out_hazard_max, float(np.float32(out.max())))
        p.move_hazard_max = max(p.move_hazard_max, float(np.float32(move.max())))


def founders_at_their_firm(state: State, rows: np.ndarray, kind=None) -> np.ndarray:
    """Which ``rows`` are the lead founder of the startup they work for (``kind``: the rows'
    employer kind, an array or one kind for all; read from the table when None)."""
    p = state.people
    kind = p.employer_kind[rows] if kind is None else kind
    own = np.zeros(rows.size, dtype=bool)
    at_startup = np.broadcast_to(np.asarray(kind) == _STARTUP, rows.shape)
    if at_startup.any():
        r = rows[at_startup]
        own[at_startup] = state.startups.founder[p.employer_id[r]] == r
    return own


def _code(region, kind: np.ndarray) -> np.ndarray:
    """Flat index of each (region, employer kind) pair into a (regions × kinds) array such as
    ``State.people_by_kind`` (``region`` may be a scalar)."""
    return np.asarray(region, dtype=np.int64) * len(Employer) + kind


def reassign(state: State, params: Params, rows: np.ndarray, kind, ident) -> None:
    """Move people to a new employer (kind, id), keeping headcounts, skills and hazards in step.

    ``kind`` and ``ident`` are arrays (one per row) or single values for all the rows; single
    values stay so down to ``headcount_delta`` and ``set_hazards``, which count and look them
    up once instead of once per row."""
    p = state.people
    if rows.size == 0:
        return
    month = state.month
    old, old_id, region = p.employer_kind[rows], p.employer_id[rows], p.region[rows]
    headcount_delta(state, old, old_id, -1, region)
    worked = _months_in_job(state, rows, old)
    p.experience[rows] += worked
    skill = skill_now(state, params, rows, worked)
    p.skill[rows] = skill.astype(np.float32)  # rounded before the scatter: see set_hazards
    bf = old == _BIG_FIRM
    p.alumni_of[rows[bf]] = old_id[bf]
    p.alumni_since[rows[bf]] = month
    p.employer_kind[rows] = kind
    p.employer_id[rows] = ident
    p.newcomer[rows] = False  # a newcomer's first move is to a job here or away
    p.changes += 1
    p.since[rows] = month
    if np.ndim(kind) == 0:
        p.joins[int(kind)] += 1
    else:
        p.joins += np.bincount(kind, minlength=len(Employer)) > 0
    headcount_delta(state, kind, ident, 1, region)
    set_hazards(state, params, rows, kind, region)


def _months_in_job(state: State, rows: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Months each row has worked for its current employer (0 for job seekers and leavers)."""
    employed = (kind != _NONE) & (kind != _GONE)
    return np.where(employed, state.month - state.people.since[rows], 0)


def skill_now(
    state: State, params: Params, rows: np.ndarray, worked: np.ndarray | None = None
) -> np.ndarray:
    """Skill of people ``rows`` this month (float64, at most 1): their stored skill, as of their
    last move, plus what they have learnt in their current job since (``worked`` months, as
    ``_months_in_job`` gives them)."""
    p = state.people
    if worked is None:
        worked = _months_in_job(state, rows, p.employer_kind[rows])
    skill = np.multiply(worked, np.float32(params.config.population.learning_per_month),
                        dtype=np.float64)  # fmt: skip
    skill += p.skill[rows]
    return np.minimum(skill, 1.0, out=skill)


def remove_people(state: State, params: Params, rows: np.ndarray, status: PersonStatus) -> None:
    """People leave the modelled labour market (to another region, or into retirement)."""
    reassign(state, params, rows, Employer.GONE, -1)
    p = state.people
    p.status[rows] = status
    p.retire_at[rows] = _NEVER


def due_to_retire(state: State) -> np.ndarray:
    """Rows whose retirement month has come (``retire_at`` up to this month), increasing: what
    ``np.flatnonzero(retire_at <= month)`` gives, without reading every row every month.

    A scan of the whole table keeps the rows due within ``_RETIRE_AHEAD`` months; until then a
    month reads only those and the rows added since (whose own due ones join the kept rows).
    A kept row that no longer retires then (``remove_people`` puts it off for ever) is dropped
    by reading its date again; a date brought forward (``set_retirement``) drops the kept rows.
    """
    p, month = state.people, state.month
    kept = p.cache.get("retire")
    if kept is None or not kept[0] <= month <= kept[0] + _RETIRE_AHEAD:
        horizon = month + _RETIRE_AHEAD
        due = np.flatnonzero(p.view("retire_at") <= horizon)
        kept = (month, p.n, due)
    elif kept[1] < p.n:  # rows added since: their own due ones join in row order
        start, scanned, due = kept
        new = scanned + np.flatnonzero(p.retire_at[scanned : p.n] <= start + _RETIRE_AHEAD)
        kept = (start, p.n, np.concatenate([due, new]))
    p.cache["retire"] = kept
    due = kept[2]
    return due[p.retire_at[due] <= month]


def set_retirement(state: State, rows: np.ndarray, month: np.ndarray) -> None:
    """Set the retirement month of ``rows`` (any change of ``retire_at`` but for a removal
    goes through here: ``due_to_retire`` keeps the rows due soon)."""
    state.people.retire_at[rows] = month
    state.people.cache.pop("retire", None)


def headcount_delta(state: State, kind, ident, sign: int, region) -> None:
    """Add (sign 1) or remove (-1) people from the headcounts of their employers and regions.

    ``kind`` and ``ident`` are arrays, one per person, or single values for everyone (then
    ``region`` must be an array, one per person): one kind is counted by region alone and one
    employer by the number of people, without a count over every (region, kind) code. The
    employers' headcounts take each person's ``sign`` in place (``np.add.at``, the sign of the
    counts' own integer type): a count over every employer of the kind costs more for the few
    people of a move."""
    by_kind = state.people_by_kind
    if np.ndim(kind) == 0:
        k = int(kind)
        by_kind[:, k] += sign * np.bincount(region, minlength=by_kind.shape[0])
        counts = _headcounts(state, k)
        if counts is None:
            return
        if np.ndim(ident) == 0:
            counts[int(ident)] += sign * len(region)  # everyone joins or leaves the one employer
        else:
            np.add.at(counts, ident, counts.dtype.type(sign))
        return
    delta = np.bincount(_code(region, kind), minlength=by_kind.size).reshape(by_kind.shape)
    by_kind += sign * delta
    present = delta.any(axis=0)  # the employer kinds among these people
    for k in (_STARTUP, _BIG_FIRM, _UNIVERSITY):
        if present[k]:
            counts = _headcounts(state, k)
            np.add.at(counts, ident[kind == k], counts.dtype.type(sign))


def _headcounts(state: State, kind: int) -> np.ndarray | None:
    """The headcount array of the employers of ``kind`` (None for job seekers and leavers)."""
    if kind == _STARTUP:
        return state.startups.view("headcount")
    if kind == _BIG_FIRM:
        return state.bf_headcount
    if kind == _UNIVERSITY:
        return state.uni_headcount
    return None


def _kind_scan(state: State, kind: Employer) -> tuple[np.ndarray, np.ndarray]:
    """Rows employed by an employer of ``kind`` at the last scan of the whole table, increasing,
    and the employer each worked for then (as index integers: ready to index per-employer
    arrays); kept until someone joins an employer of that kind.

    Until then people only leave such employers: the scan holds everyone employed by one, and
    a row of it still employed by one still works for the one it did at the scan. Rows added
    to the table since are scanned on their own and appended. Phases that release or move
    staff several times a month (exits, layoffs, acquisitions) share one scan this way, and so
    do the job-seeker founding and hiring, and the skill-weighted staff (``startup_talent``). A
    new scan is also ``employed_by_kind`` until the next move."""
    p = state.people
    kind = int(kind)  # see employed_by_kind
    key, stamp = ("scan", kind), int(p.joins[kind])
    kept = p.cache.get(key)
    if kept is not None and kept[0] == stamp:
        _, scanned, rows, ids = kept
        if scanned == p.n:
            return rows, ids
        new = scanned + np.flatnonzero(p.employer_kind[scanned : p.n] == kind)
        ids = np.concatenate([ids, p.employer_id[new].astype(np.intp)])
        rows = np.concatenate([rows, new])
    else:
        rows = np.flatnonzero(p.view("employer_kind") == kind)
        ids = p.employer_id[rows].astype(np.intp)
        p.remember(("kind", kind), p.changes, rows)
    rows.flags.writeable = ids.flags.writeable = False
    p.cache[key] = (stamp, p.n, rows, ids)
    return rows, ids


def employed_by_kind(state: State, kind: Employer) -> np.ndarray:
    """Rows of the people whose employer is of ``kind``, increasing (read-only): the rows of
    ``_kind_scan`` whose current employer is still of that kind.

    The kind is compared as a plain int: numpy compares an int8 column with an ``Employer``
    member only after converting every row to int64 (17 times slower on the whole table)."""
    p = state.people
    kind = int(kind)
    superset, _ = _kind_scan(state, kind)
    return p.remembered(
        ("kind", kind), p.changes, lambda: superset[p.employer_kind[superset] == kind]
    )


def staff_of(state: State, firms: np.ndarray) -> np.ndarray:
    """People rows employed by the given startups, increasing.

    The firms asked about are mostly small: a firm that fails or closes has often no staff left
    or only its founder. When every firm's headcount is its founder alone, still working for
    it, or nobody, the founders are the answer (``headcount_delta`` keeps the headcounts equal
    to the table's counts), without reading the staff of every startup. Otherwise the answer is
    the rows of ``_kind_scan`` that worked for one of the firms then and are still employed by
    a startup; for up to ``_FEW_FIRMS`` firms those are found by comparing the scan's employers
    with each firm, cheaper than looking every employer up in a table of the firms asked."""
    p, s = state.people, state.startups
    firms = np.asarray(firms, dtype=np.intp)
    founder = s.founder[firms]
    alone = (founder >= 0) & (p.employer_id[founder] == firms)
    alone &= p.employer_kind[founder] == _STARTUP
    if np.array_equal(s.headcount[firms], alone):
        return np.unique(founder[alone])
    superset, firm = _kind_scan(state, Employer.STARTUP)
    if firms.size <= _FEW_FIRMS:
        mine = firm == firms[0]
        for f in firms[1:]:
            mine |= firm == f
    else:
        mark = np.zeros(s.n, dtype=bool)
        mark[firms] = True
        mine = mark[firm]
    rows = superset[np.flatnonzero(mine)]  # few of many: indices beat a boolean mask here
    return rows[p.employer_kind[rows] == _STARTUP]


def job_seekers(state: State) -> np.ndarray:
    return employed_by_kind(state, Employer.NONE)


def recount_headcount(state: State) -> dict[str, np.ndarray]:
    """Recount every headcount from the people table (a check on the incremental counts)."""
    p = state.people
    kind, emp, region = p.view("employer_kind"), p.view("employer_id"), p.view("region")
    by_kind = state.people_by_kind
    return {
        "startups": np.bincount(emp[kind == Employer.STARTUP], minlength=state.startups.n),
        "big_firms": np.bincount(emp[kind == Employer.BIG_FIRM], minlength=len(state.big_firms)),
        "universities": np.bincount(
            emp[kind == Employer.UNIVERSITY], minlength=len(state.universities)
        ),
        "people_by_kind": np.bincount(  # every row: the GONE column counts those who left
            region.astype(np.int64) * len(Employer) + kind,
            minlength=by_kind.size,
        ).reshape(by_kind.shape),
    }


def startup_talent(state: State, params: Params) -> np.ndarray:
    """Skill-weighted staff of every startup row (T of ``economics.capability_gain``)."""
    p, s = state.people, state.startups

    def talent() -> np.ndarray:
        # Over the last scan of startup staff (each row still at a startup works for the firm it
        # did then), rows that have left weighing 0: adding +0.0 leaves every firm's sum as it
        # is, bit for bit, and saves picking the staff out of the scan (175k rows).
        scan, firm = _kind_scan(state, Employer.STARTUP)
        # Skill now (every row of the scan worked since ``since``; leavers weigh 0 below).
        worked = np.subtract(state.month, p.since[scan], dtype=np.float64)  # exact: whole months
        skill = skill_now(state, params, scan, worked)
        # A scan made since the last move (most months: the hires come just before the compute
        # market asks) is the startups' staff as they are: nobody in it has left.
        fresh = p.cache.get(("kind", _STARTUP))
        if fresh is None or fresh[0] != p.changes or fresh[1] is not scan:
            skill[p.employer_kind[scan] != _STARTUP] = 0.0
        return np.bincount(firm, weights=skill, minlength=s.n)

    # Skill grows with the month; the startup table's length sets the result's.
    return p.remembered("talent", (p.changes, state.month, s.n), talent)
