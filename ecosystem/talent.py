"""The skill-weighted staff of every startup, kept in step with the people table.

A startup's talent (T of ``economics.capability_gain``) is

    T_f(t) = Σ_{i ∈ staff of f} min(s_i + λ (t − τ_i), 1)

with s_i the person's skill when they joined (month τ_i) and λ the skill learnt per month
(``population.learning_per_month``). Scanning every startup employee for it each month is a pass
over ~175k rows by year 10; the ledger keeps instead, per startup, three integers:

- B_f = Σ (S_i − Λ τ_i) over the staff still learning, in units of 2⁻⁴⁰ (S_i = s_i·2⁴⁰,
  Λ = λ·2⁴⁰),
- N_f, their number, and
- C_f, the number whose skill has reached 1,

so that T_f(t) = (B_f + Λ t N_f + 2⁴⁰ C_f) / 2⁴⁰. Joiners add their terms (``join``), leavers
take them away (``leave``), and a person moves from N to C in the month their skill reaches 1
(a schedule by month, checked against the table when due: people who left or moved meanwhile
are skipped).

**Exact, not approximate.** Skills and λ are float32. When each is zero or at least 2⁻¹⁷, every
term s_i + λ (t − τ_i) is a whole multiple of 2⁻⁴⁰ below 2, so each is an integer in these units
and the ledger's integer sums are the exact sums of the terms. A float64 sum of the same terms
in any order (a pass over the table, ``people.talent_from_table``) is exact too while it stays
below 2¹³: for every startup of fewer than 8,192 staff the two agree bit for bit. Above that (a
firm of that many staff: one reaches 18,000 in some Hangzhou runs), the float64 pass rounds its
partial sums and the ledger's value is the exact sum rounded once. If a skill or λ ever fails
the condition (a scenario with learning below 2⁻¹⁷ a month, or a skill drawn below 2⁻¹⁷), the
ledger stops and every later query sums the table (``exact`` is False).
"""

from __future__ import annotations

import numpy as np

#: Units of the ledger: 2⁻⁴⁰ of a unit of skill.
UNIT = 1 << 40
_UNIT_F = float(UNIT)
#: A month that never comes.
_NEVER = 1 << 62
_STARTUP = 1  # ``tables.Employer.STARTUP`` (asserted in tests; tables imports nothing here)


class TalentLedger:
    """Per-startup sums that give every startup's talent at a month without a table scan.

    Args:
        learning: skill learnt per month, as the model stores it (float32).
        window: months of the schedule of skills reaching 1 that are kept at a time. Reaching
            1 takes up to 1 / λ months (a thousand at the default λ), so the schedule holds
            only the people who reach it in the next ``window`` months: joiners are added if
            they reach it before the window ends, and when it ends one scan of the startup
            staff fills the next (a table scan every ``window`` months instead of every month).
    """

    def __init__(self, learning: np.float32, window: int = 12):
        #: λ as the people table's skills use it (a different λ needs a new ledger).
        self.rate = np.float32(learning)
        step = float(self.rate) * _UNIT_F
        self.exact = step == int(step)
        #: Λ: skill learnt per month, in ledger units.
        self.step = int(step) if self.exact else 0
        self.window = int(window)
        self.started = False
        self.base = np.zeros(0, dtype=np.int64)  # B_f
        self.learning = np.zeros(0, dtype=np.int64)  # N_f
        self.capped = np.zeros(0, dtype=np.int64)  # C_f
        #: month -> [(rows, months joined)]: staff whose skill reaches 1 that month, for the
        #: months up to ``window_end``.
        self.due: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        #: Reaching 1 is counted (``capped``) for every month up to this one ...
        self.through = -_NEVER
        #: ... and scheduled in ``due`` up to this one (both set by the first query).
        self.window_end = -_NEVER

    @staticmethod
    def _units(skill: np.ndarray) -> np.ndarray:
        """Skills (float32) in ledger units: whole numbers, as every stored skill is zero or
        at least 2⁻¹⁷ (``usable`` checks where skills are drawn; learning only adds whole
        units and rounds to float32 values of at least that size)."""
        return (skill.astype(np.float64) * _UNIT_F).astype(np.int64)

    def usable(self, skill: np.ndarray) -> None:
        """Stop the ledger if a newly drawn skill is not a whole number of units."""
        if (
            self.exact
            and skill.size
            and not np.array_equal(
                self._units(skill).astype(np.float64), skill.astype(np.float64) * _UNIT_F
            )
        ):
            self.exact = False

    def _fit(self, size: int) -> None:
        if size > self.base.size:
            size = max(size, 2 * self.base.size, 1024)
            for name in ("base", "learning", "capped"):
                grown = np.zeros(size, dtype=np.int64)
                old = getattr(self, name)
                grown[: old.size] = old
                setattr(self, name, grown)

    def _reach(self, units: np.ndarray, since) -> np.ndarray:
        """The month each person's skill reaches 1 (the month they joined, at 1 already;
        never, if nobody learns)."""
        if self.step == 0:
            return np.where(units >= UNIT, since, _NEVER)
        gap = np.maximum(UNIT - units, 0)
        return since + (gap + self.step - 1) // self.step  # ceil: exact integer division

    def _reached(self, units: np.ndarray, since, month: int) -> np.ndarray:
        """Whether each skill has reached 1 by ``month`` (``_reach(...) <= month``)."""
        return units >= UNIT - self.step * (month - since)

    def _schedule(self, rows: np.ndarray, since, units: np.ndarray) -> None:
        """Keep the people (still learning after ``through``) whose skill reaches 1 by
        ``window_end`` in ``due``."""
        soon = self._reached(units, since, self.window_end)
        if not soon.any():
            return
        rows, units = rows[soon], units[soon]
        since = since[soon] if np.ndim(since) else np.full(rows.size, since, dtype=np.int64)
        reach = self._reach(units, since)
        for when in np.unique(reach):  # at most ``window`` months
            pick = reach == when
            self.due.setdefault(int(when), []).append((rows[pick], since[pick]))

    def _count(self, firms: np.ndarray, units: np.ndarray, since: np.ndarray, sign: int):
        """Add (``sign`` 1) or take away (−1) people's terms at ``firms``: to the capped count
        those whose skill has reached 1 by the last counted month, to the learning sums the
        others. Returns which are learning."""
        learning = ~self._reached(units, since, self.through)
        if not learning.all():
            np.add.at(self.capped, firms[~learning], sign)
            firms, units, since = firms[learning], units[learning], since[learning]
        np.add.at(self.base, firms, sign * (units - self.step * since))
        np.add.at(self.learning, firms, sign)
        return learning

    def join(self, rows: np.ndarray, firms, skill: np.ndarray, month: int) -> None:
        """``rows`` join startups ``firms`` (one or one each) in ``month`` with ``skill``
        (float32)."""
        if not (self.started and self.exact) or rows.size == 0:
            return
        units = self._units(skill)
        if np.ndim(firms) == 0:
            firms = np.full(rows.size, firms, dtype=np.intp)
        self._fit(int(firms.max()) + 1)
        learning = self._count(firms, units, np.full(rows.size, month, dtype=np.int64), 1)
        self._schedule(rows[learning], month, units[learning])

    def leave(self, firms: np.ndarray, skill: np.ndarray, since: np.ndarray) -> None:
        """People leave startups ``firms``: their skill and month of joining as stored then."""
        if self.started and self.exact and firms.size:
            self._count(firms, self._units(skill), since.astype(np.int64), -1)

    def _start(self, month: int, people, rows: np.ndarray) -> None:
        """Sum the current startup staff (``rows``) from the table: the ledger is kept from
        its first query on (joins and departures before it change nothing)."""
        self.started = True
        self.through = self.window_end = month - 1
        self.usable(people.view("skill"))  # anyone may join a startup later
        firms = people.employer_id[rows].astype(np.intp)
        self._fit(int(firms.max()) + 1 if firms.size else 0)
        self._count(firms, self._units(people.skill[rows]), people.since[rows].astype(np.int64), 1)

    def _count_reached(self, month: int, people, staff) -> None:
        """Move the staff whose skill reaches 1 by ``month`` and who are still where they
        were then from the learning to the capped counts; ``staff()`` gives the rows of every
        startup employee, read when the schedule's window has run out."""
        while self.through < month:
            if self.through >= self.window_end:  # schedule the next window from the table
                self.window_end = self.through + self.window
                rows = staff()
                units = self._units(people.skill[rows])
                since = people.since[rows].astype(np.int64)
                learning = ~self._reached(units, since, self.through)
                self._schedule(rows[learning], since[learning], units[learning])
            when = self.through + 1
            listed = self.due.pop(when, None)
            if listed:
                rows = np.concatenate([r for r, _ in listed])
                since = np.concatenate([s for _, s in listed])
                here = (people.employer_kind[rows] == _STARTUP) & (people.since[rows] == since)
                # Someone who moved between startups in the month they joined is listed twice.
                rows, first = np.unique(rows[here], return_index=True)
                since = since[here][first]
                firms = people.employer_id[rows].astype(np.intp)
                units = self._units(people.skill[rows])
                np.subtract.at(self.base, firms, units - self.step * since)
                np.subtract.at(self.learning, firms, 1)
                np.add.at(self.capped, firms, 1)
            self.through = when

    def talent(self, month: int, people, n: int, staff) -> np.ndarray | None:
        """Every startup row's talent at ``month`` (length ``n``), or None if the ledger has
        stopped (the caller sums the table). ``staff()``: the rows of every startup employee
        (read when the ledger starts and once a window)."""
        if not self.started:
            self._start(month, people, staff())
        if not self.exact:
            return None
        self._count_reached(month, people, staff)
        self._fit(n)
        units = self.base[:n] + (self.step * month) * self.learning[:n] + UNIT * self.capped[:n]
        return units / _UNIT_F  # exact below 2⁵³ units; rounded to the nearest float64 above
