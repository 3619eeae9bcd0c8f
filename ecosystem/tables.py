"""Structure-of-arrays tables for the many-of-a-kind entities: startups and people.

Each column is one numpy array; a row is an entity. Rows are never deleted (exited firms and
departed people keep their row, with a status), so row indices are stable ids. Capacity grows by
doubling, so appending is amortised O(1).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class ColumnTable:
    """A growable set of named columns of equal length."""

    COLUMNS: dict[str, tuple[type, object]] = {}
    """name -> (dtype, fill value for new rows)."""

    def __init__(self, capacity: int = 1024):
        self.n = 0
        #: Bumped by every change of rows that derived indexes depend on (appends here; the
        #: people table's employer moves in ``people.reassign``, startups' exits in
        #: ``firm_life``); ``cache`` holds such indexes.
        self.changes = 0
        self.cache: dict[object, tuple[object, np.ndarray]] = {}
        self._cap = max(int(capacity), 16)
        for name, (dtype, fill) in self.COLUMNS.items():
            setattr(self, name, np.full(self._cap, fill, dtype=dtype))

    def __len__(self) -> int:
        return self.n

    def remember(self, key: object, stamp: object, value: np.ndarray) -> np.ndarray:
        """Keep ``value`` (made read-only), derived from this table, under ``key`` while its
        ``stamp`` (which includes ``changes``) holds."""
        value.flags.writeable = False
        self.cache[key] = (stamp, value)
        return value

    def remembered(self, key: object, stamp: object, compute) -> np.ndarray:
        """The array kept under ``key`` if its stamp is ``stamp``, else ``compute()`` kept: the
        phases ask for the same derived rows several times a month, and each scan reads every
        row ever added."""
        hit = self.cache.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        return self.remember(key, stamp, compute())

    def _grow(self, needed: int) -> None:
        if needed <= self._cap:
            return
        cap = self._cap
        while cap < needed:
            cap *= 2
        for name, (dtype, fill) in self.COLUMNS.items():
            old = getattr(self, name)
            new = np.full(cap, fill, dtype=dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)
        self._cap = cap

    def append(self, k: int, **values) -> np.ndarray:
        """Add k rows; columns not given take their fill value. Returns the new row indices."""
        start = self.n
        self._grow(start + k)
        self.n = start + k
        self.changes += 1
        rows = np.arange(start, start + k)
        for name, value in values.items():
            getattr(self, name)[start : start + k] = value
        return rows

    def view(self, name: str) -> np.ndarray:
        """The live part of a column (a view: writes go through)."""
        return getattr(self, name)[: self.n]


class Status(IntEnum):
    ALIVE = 0
    FAILED = 1  # insolvent: cash below zero or no staff left
    ACQUIRED = 2
    CLOSED = 3  # founders shut a firm whose expected revenue cannot pay a minimal team


class Stage(IntEnum):
    BOOTSTRAP = 0
    SEED = 1
    SERIES_A = 2
    SERIES_B = 3
    SERIES_C = 4
    SERIES_D_PLUS = 5


class Employer(IntEnum):
    """Kind of a person's employer; the id column says which one."""

    NONE = 0  # job seeker in the region
    STARTUP = 1
    BIG_FIRM = 2
    UNIVERSITY = 3
    GONE = 4  # left the modelled labour market (departed or retired; see PersonStatus)


class PersonStatus(IntEnum):
    ACTIVE = 0
    DEPARTED = 1  # moved to another region outside the model
    RETIRED = 2


class PersonOrigin(IntEnum):
    INITIAL = 0
    GRADUATE = 1
    MIGRANT = 2


class Startups(ColumnTable):
    """One row per startup ever founded."""

    COLUMNS = {
        "region": (np.int16, -1),
        "sector": (np.int8, 0),
        "origin": (np.int8, 3),
        "parent_kind": (np.int8, 0),  # Employer kind of the founder's previous employer
        "parent_id": (np.int32, -1),
        "founder": (np.int64, -1),  # person row of the lead founder
        "founder_alumni_of": (
            np.int32,
            -1,
        ),  # big firm the founder had worked at (-1 none, -2 elsewhere)
        "founder_alumni_since": (np.int32, -1),  # month the founder left it (-1: before the run)
        "parent_famous": (np.bool_, False),  # parent was a startup at Series C or later at founding
        "founded_month": (np.int32, 0),
        "exit_month": (np.int32, -1),
        "status": (np.int8, Status.ALIVE),
        "acquirer": (np.int32, -1),
        "capability": (np.float64, 0.0),
        "headcount": (np.int32, 0),
        "cash": (np.float64, 0.0),
        "revenue": (np.float64, 0.0),  # this month, yuan
        "stage": (np.int8, Stage.BOOTSTRAP),
        "next_raise_month": (np.int32, 0),
        "training_gpu_h": (np.float64, 0.0),  # bought this month
        "inference_gpu_h": (np.float64, 0.0),
        "compute_spend": (np.float64, 0.0),  # own money paid for compute this month
        "voucher_year": (np.float64, 0.0),  # voucher received this calendar year (local programmes)
        "national_voucher_year": (np.float64, 0.0),  # from the national programme this year
        "contract_year": (np.float64, 0.0),  # compute contracts this calendar year
        "data_voucher_year": (np.float64, 0.0),
        "funding_total": (np.float64, 0.0),
        "compute_year": (np.float64, 0.0),  # GPU-h bought this calendar year
        "revenue_year": (np.float64, 0.0),
        "data_spend": (np.float64, 0.0),  # own money paid for data this month
        "data_multiplier": (np.float64, 1.0),  # data input D of capability production
        # Fit and learning (docs/ODD.md 7.6): true log fit, belief mean and precision.
        "log_fit": (np.float64, 0.0),
        "fit_mean": (np.float64, 0.0),
        "fit_precision": (np.float64, 1.0),
        "revenue_target": (np.float64, 0.0),  # R*: nested-logit target revenue this month
        # Rounds and ownership (docs/ODD.md 7.7).
        "sought_round": (np.bool_, False),  # ever applied for a priced round (venture-track)
        "venture": (np.bool_, True),  # of the venture type: may apply for rounds (venture_share)
        "post_money": (np.float64, 0.0),  # post-money valuation of the last round, yuan
        "vc_share": (np.float64, 0.0),  # investors' cumulative ownership
        "vc_invested": (np.float64, 0.0),  # investor money put in (VC pools + guidance fund)
        "exit_value": (np.float64, 0.0),  # price when acquired, value when listed, yuan
        # Compute projects and voucher entitlements (compute_market, docs/ODD.md 7.4).
        "training_effective_gpu_h": (np.float64, 0.0),  # Σ z·c of the projects bought
        "app_cost": (np.float64, 0.0),  # cost of applying for a voucher, drawn at founding
        "spend_avg": (np.float64, 0.0),  # exponential mean of monthly compute + data spend
        "ent_remaining": (np.float64, 0.0),  # voucher entitlement left (yuan)
        "ent_expiry": (np.int32, -1),  # month it lapses
        "ent_payer": (np.int16, -1),  # paying region, -2 national, -1 none
        "ent_year": (np.int16, 0),  # award year
        "sme_until": (np.int32, -1),  # SME rate ends (set at the first award; -1 not yet)
        "elig_key": (np.int32, -1),  # programme-year last counted eligible (take-up)
        "app_key": (np.int32, -1),  # programme-year last counted as applicant
        "listed": (np.bool_, False),  # listed (IPO): alive and employing, no longer a startup
        "listed_month": (np.int32, -1),
        "revenue_avg12": (np.float64, 0.0),  # 12-month moving average of monthly revenue
        # The round's plan (docs/ODD.md §7.7): the monthly burn the last round bought, yuan; 0
        # when the firm has no plan (never raised, or abandoned at the layoff point).
        "plan_burn": (np.float64, 0.0),
    }


class People(ColumnTable):
    """One row per person who has ever been in a modelled region's AI labour market."""

    def __init__(self, capacity: int = 1024):
        super().__init__(capacity)
        #: The largest ``move_hazard`` and ``out_hazard`` ever stored on a row (upper bounds
        #: of every row's hazards, kept by ``people.set_hazards``): ``labour.turnover`` draws
        #: candidates at the bound instead of one number per row.
        self.move_hazard_max = 0.0
        self.out_hazard_max = 0.0
        #: By employer kind, bumped whenever people join an employer of that kind
        #: (``people.reassign``): ``people.employed_by_kind`` keeps one scan of the table for
        #: as long as people only leave employers of the kind.
        self.joins = np.zeros(len(Employer), dtype=np.int64)

    COLUMNS = {
        "region": (np.int16, -1),
        "employer_kind": (np.int8, Employer.NONE),
        "employer_id": (np.int32, -1),
        "skill": (np.float32, 0.0),
        "experience": (np.int32, 0),  # months of work up to ``since``
        "since": (np.int32, 0),  # month of joining the current employer (or of starting to seek)
        "birth": (np.int32, 0),  # month of birth (model months; negative before the start)
        "retire_at": (np.int32, np.iinfo(np.int32).max),
        "origin": (np.int8, PersonOrigin.INITIAL),
        # A graduate or migrant who has not yet held a job in the region (their first employer,
        # whether a hire or their own startup, or their leaving clears it; ``people.reassign``):
        # who may claim the talent subsidy when hired (``labour.hire``).
        "newcomer": (np.bool_, False),
        "status": (np.int8, PersonStatus.ACTIVE),
        "alumni_of": (np.int32, -1),  # last big firm worked at (-1: never; -2: one elsewhere)
        "alumni_since": (np.int32, -1),  # month they left it (-1: before the run)
        "out_hazard": (np.float32, 0.0),  # monthly chance of leaving the region
        "move_hazard": (
            np.float32,
            0.0,
        ),  # ... of leaving the region or the employer (out + separation)
    }
