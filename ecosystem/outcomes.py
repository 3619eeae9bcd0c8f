"""The outcome registry: every headline number of a run, defined once.

Each :class:`Outcome` has a name, a unit, a one-line meaning and the function that computes it
from a run's tables (:class:`RunData`). Every place that reports outcomes uses this module:
``aieco run``'s summary (``RunResult.summary``), ``aieco calibrate``, ``aieco compare``, sweeps,
``policy``, ``sensitivity``, the EMA adapter and the app. ``aieco outcomes`` style listings come
from :func:`describe`.

Regions: *city* outcomes sum the KPI columns over every region of kind ``city`` (one region in
a single-city preset, all cities in ``china``); *west* means the regions of kind ``hub``.

Choices made once, here (they used to differ between commands):

* **Utilisation** over a window is GPU-hours sold divided by GPU-hours of capacity, both summed
  over the window (a ratio of sums), not the mean of monthly ratios and not the last month. It
  is the share of the capacity on offer that was used, which is what [S92] reports, and a month
  with little capacity does not weigh as much as a month with much. With constant capacity the
  two definitions agree.
* **Windows**: ``_y1`` is the first 12 months of the run; ``_end`` for a stock
  (``startups_alive_end``) is the last month, for a flow or ratio (``west_utilization_end``) the
  last 12 months (fewer when the run is shorter). ``_yN`` for a stock is month ``12N-1``
  (December of year N); NaN when the run is shorter.
* **The target month** is called ``month_target_reached`` everywhere (``target_month`` was
  compare's name): the first month, counted from 0 = January of ``meta.start_year``, in which
  the city regions together have at least ``meta.target_startups`` live startups; NaN if never.
* **Totals** (``_total``) are sums over the whole run.

Missing values are NaN (an outcome that cannot be measured, e.g. year 10 of a 5-year run),
never a sentinel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

NAN = float("nan")
ORIGINS = ("big_firm", "university", "startup", "other")

#: Old names that now have one canonical name (experiment files and tables used them).
RENAMED = {
    "target_month": "month_target_reached",
    "utilization_west": "west_utilization_end",
    "utilization_east": "east_utilization_end",
    "west_utilization_last_year": "west_utilization_end",
}


@dataclass
class RunData:
    """What outcomes are computed from: one run's tables and the scenario facts they need."""

    kpis: pd.DataFrame
    cities: list[str]
    hubs: list[str]
    target_startups: int
    months: int
    firms: pd.DataFrame | None = None
    networks: dict | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_result(cls, result) -> RunData:
        """From an ``ecosystem.run.RunResult``."""
        sc = result.scenario
        return cls(
            kpis=result.kpis,
            cities=[k for k, r in sc.regions.items() if r.kind == "city"],
            hubs=[k for k, r in sc.regions.items() if r.kind == "hub"],
            target_startups=int(sc.meta.target_startups),
            months=int(result.months),
            firms=result.firms,
            networks=result.network_summary,
        )

    def monthly(self, regions: str) -> pd.DataFrame:
        """KPI columns summed by month over the city (``"city"``), hub (``"west"``) or all
        regions."""
        if regions not in self._cache:
            keys = {"city": self.cities, "west": self.hubs}.get(regions)
            k = self.kpis if keys is None else self.kpis[self.kpis["region"].isin(keys)]
            num = k.drop(columns=[c for c in ("date", "region") if c in k.columns])
            self._cache[regions] = num.groupby("month").sum(numeric_only=True).sort_index()
        return self._cache[regions]


@dataclass(frozen=True)
class Outcome:
    name: str
    unit: str
    meaning: str
    compute: Callable[[RunData], float] = field(repr=False)
    needs: str = "kpis"  # kpis | firms | networks


# --------------------------------------------------------------------------------------------
# Definitions
# --------------------------------------------------------------------------------------------
def last_month_of(kpis: pd.DataFrame, regions: list[str]) -> pd.DataFrame:
    """The KPI rows of ``regions`` in the run's last month."""
    return kpis[(kpis["month"] == kpis["month"].max()) & kpis["region"].isin(regions)]


def _largest_startup_end(d: RunData) -> float:
    k = d.kpis
    if "largest_startup_staff" not in k.columns or k.empty:
        return NAN
    last = last_month_of(k, d.cities)
    return float(last["largest_startup_staff"].max()) if len(last) else NAN


def _alive_at(month_index: Callable[[RunData], int | None]):
    def f(d: RunData) -> float:
        alive = d.monthly("city").get("startups_alive")
        if alive is None or alive.empty:
            return NAN
        m = month_index(d)
        if m is None:
            return float(alive.iloc[-1])
        return float(alive.loc[m]) if m in alive.index else NAN

    return f


def _month_target_reached(d: RunData) -> float:
    alive = d.monthly("city").get("startups_alive")
    if alive is None or alive.empty:
        return NAN
    hit = alive.index[alive.to_numpy() >= d.target_startups]
    return float(hit[0]) if len(hit) else NAN


def _total(col: str, regions: str = "city"):
    def f(d: RunData) -> float:
        t = d.monthly(regions)
        return float(t[col].sum()) if col in t.columns else NAN

    return f


def utilization(sold: pd.Series, capacity: pd.Series) -> float:
    """GPU-hours sold / GPU-hours of capacity over a window (a ratio of sums; NaN without
    capacity)."""
    cap = float(capacity.sum())
    return float(sold.sum()) / cap if cap > 0 else NAN


def _utilization(regions: str, window: str):
    def f(d: RunData) -> float:
        t = d.monthly(regions)
        if t.empty or "dc_capacity_gpu_h" not in t.columns:
            return NAN
        t = t.iloc[:12] if window == "first" else t.iloc[-12:]
        return utilization(t["dc_sold_gpu_h"], t["dc_capacity_gpu_h"])

    return f


def _talent_net_inflow_per_year(d: RunData) -> float:
    t = d.monthly("city")
    if t.empty or "talent_net_inflow" not in t.columns:
        return NAN
    return float(t["talent_net_inflow"].sum() * 12 / len(t))


def _talent_outflow_to_inflow(d: RunData) -> float:
    t = d.monthly("city")
    if t.empty or "arrivals" not in t.columns:
        return NAN
    inflow = float(t["arrivals"].sum())
    return float(t["departures"].sum()) / inflow if inflow > 0 else NAN


def _workforce_growth(d: RunData) -> float:
    t = d.monthly("city")
    if t.empty or "graduates" not in t.columns:
        return NAN
    flows = t["graduates"] + t["arrivals"] - t["departures"] - t["retirements"]
    return float((flows / t["people"].where(t["people"] > 0)).fillna(0.0).sum() * 12 / len(t))


def _public_spending(year: int | None):
    def f(d: RunData) -> float:
        t = d.monthly("all")
        cols = [c for c in t.columns if c.endswith("_spent_yuan")]
        if not cols or t.empty:
            return NAN if year is not None else 0.0
        spent = t[cols].sum(axis=1)
        if year is None:
            return float(spent.sum())
        last = 12 * year - 1
        return float(spent.loc[:last].sum()) if spent.index.max() >= last else NAN

    return f


def _last_year(col: str):
    def f(d: RunData) -> float:
        t = d.monthly("city")
        if col not in t.columns or len(t) < 12:
            return NAN
        return float(t[col].iloc[-12:].sum())

    return f


_VOUCHER_PARTS = ("voucher_additional_yuan", "voucher_deadweight_yuan", "voucher_unused_yuan")


def _voucher_share(part: str):
    """Share of the compute-voucher money resolved during the run (redeemed or lapsed, every
    programme in every region) that was additional, deadweight or unused."""

    def f(d: RunData) -> float:
        t = d.monthly("all")
        if t.empty or any(c not in t.columns for c in (*_VOUCHER_PARTS, part)):
            return NAN
        resolved = float(t[list(_VOUCHER_PARTS)].to_numpy().sum())
        return float(t[part].sum()) / resolved if resolved > 0 else NAN

    return f


def _voucher_yuan_per_additional_gpu_h(d: RunData) -> float:
    t = d.monthly("all")
    if t.empty or "voucher_additional_yuan" not in t.columns:
        return NAN
    gpu_h = float(t["voucher_additional_gpu_h"].sum())
    paid = float(t["voucher_additional_yuan"].sum() + t["voucher_deadweight_yuan"].sum())
    return paid / gpu_h if gpu_h > 0 else NAN


def _capability_end(d: RunData) -> float:
    """Mean capability of the city regions' live startups in the last month (regions weighted by
    their startups alive)."""
    k = d.kpis
    if "capability_mean" not in k.columns or k.empty:
        return NAN
    last = last_month_of(k, d.cities)
    alive = last["startups_alive"].to_numpy(dtype=float)
    if alive.sum() <= 0:
        return NAN
    return float((last["capability_mean"].to_numpy(dtype=float) * alive).sum() / alive.sum())


def founder_shares(firms: pd.DataFrame) -> dict[str, float]:
    """Founder careers of the startups founded during a run ([S50]'s definition, see
    docs/calibration.md).

    ``founders_big_or_famous``: among founders with a known career (an employer before founding,
    or a big-firm past), the share who had worked at a big firm or came from a startup at Series C
    or later. ``founders_big_firm_last_job``: among founders with a previous employer, the share
    whose last employer was a big firm.
    """
    new = firms[firms["founded_month"] >= 0] if not firms.empty else firms
    if new.empty:
        return {"founders_big_or_famous": NAN, "founders_big_firm_last_job": NAN}
    alumni = new["founder_alumni"] != ""
    known = (new["origin"] != "other") | alumni
    big_or_famous = (alumni | new["parent_famous"])[known]
    last_job = new.loc[new["origin"] != "other", "origin"] == "big_firm"
    return {
        "founders_big_or_famous": float(big_or_famous.mean()) if len(big_or_famous) else NAN,
        "founders_big_firm_last_job": float(last_job.mean()) if len(last_job) else NAN,
    }


def startup_mask(
    status: np.ndarray, headcount: np.ndarray, min_team: int, listed: np.ndarray | bool = False
) -> np.ndarray:
    """The one definition of a *startup* in every KPI and headline (issue 10; design §3.6):
    alive, independent (not acquired, not ``listed``) and a team of at least
    ``startups.startup_min_team`` people (H8's 400 are teams, not sole traders). Survival tables
    count every firm founded, whatever its size."""
    return (np.asarray(status) == 0) & ~np.asarray(listed) & (np.asarray(headcount) >= min_team)


def micro_firm_mask(
    status: np.ndarray, headcount: np.ndarray, min_team: int, listed: np.ndarray | bool = False
) -> np.ndarray:
    """Alive, independent firms below the team line (1 .. min_team − 1 people): reported as
    ``micro_firms_alive``, never in the startup headline."""
    return (np.asarray(status) == 0) & ~np.asarray(listed) & (np.asarray(headcount) < min_team)


#: Exit reasons that end a firm as a shutdown (Carta's "shut"): insolvent or closed by its
#: founders. Acquisitions (and listings) are not failures.
FAILURE_REASONS = ("failed", "closed")


def survival(firms: pd.DataFrame, months: int, horizon: int) -> float:
    """Share of startups founded in the run that have not shut down (failed or closed)
    ``months`` after founding (acquired firms count as survivors), over the cohorts old enough
    to be measured."""
    f = firms[(firms["founded_month"] >= 0) & (firms["founded_month"] + months <= horizon - 1)]
    if f.empty:
        return NAN
    shut = f["exit_reason"].isin(FAILURE_REASONS)
    failed = shut & (f["exit_month"] < f["founded_month"] + months)
    return float(1.0 - failed.mean())


def closed_share(firms: pd.DataFrame) -> float:
    """Of the firms founded in the run that shut down (failed or closed), the share their
    founders closed while solvent; NaN if none shut down. Firms of every size, as the cohort
    studies of new firms count them (docs/design/late-survival.md)."""
    reason = firms.loc[firms["founded_month"] >= 0, "exit_reason"]
    shut = reason.isin(FAILURE_REASONS)
    return float((reason[shut] == "closed").mean()) if shut.any() else NAN


def vc_returns(firms: pd.DataFrame, by: str | list[str] | None = None) -> pd.DataFrame:
    """Investors' TVPI: Σ vc_share × value / Σ vc_invested_yuan, overall or per group (``by``:
    e.g. ``"region"`` or a cohort column). Value: exit value (acquisition price; 0 when shut)
    or, for live firms, the mark m_VC × yearly revenue (docs/ODD.md 7.7)."""
    f = firms.assign(_held=firms["vc_share"] * firms["value_yuan"])
    if by is None:
        inv = float(f["vc_invested_yuan"].sum())
        held = float(f["_held"].sum())
        return pd.DataFrame({"invested_yuan": [inv], "value_yuan": [held],
                             "tvpi": [held / inv if inv > 0 else NAN]})  # fmt: skip
    g = f.groupby(by)[["vc_invested_yuan", "_held"]].sum()
    g.columns = ["invested_yuan", "value_yuan"]
    g["tvpi"] = (g["value_yuan"] / g["invested_yuan"].where(g["invested_yuan"] > 0)).astype(float)
    return g.reset_index()


def _tvpi(d: RunData) -> float:
    if d.firms is None or "vc_invested_yuan" not in d.firms.columns:
        return NAN
    f = d.firms[d.firms["region"].isin(d.cities)]
    return float(vc_returns(f)["tvpi"].iloc[0])


def _founders(key: str):
    def f(d: RunData) -> float:
        if d.firms is None:
            return NAN
        if "founders" not in d._cache:
            d._cache["founders"] = founder_shares(d.firms)
        return d._cache["founders"][key]

    return f


def _survival(months: int):
    def f(d: RunData) -> float:
        return NAN if d.firms is None else survival(d.firms, months, d.months)

    return f


def _network(key: str):
    def f(d: RunData) -> float:
        return float(d.networks[key]) if d.networks and key in d.networks else NAN

    return f


_TOTALS = (
    ("startups_founded", "startups", "startups founded in the city regions"),
    ("startups_failed", "startups", "startups that failed in the city regions"),
    ("startups_acquired", "startups", "startups acquired by big firms in the city regions"),
    ("startups_listed", "startups", "startups that listed (IPO) in the city regions"),
    (
        "startups_closed",
        "startups",
        "startups closed by their founders (expected revenue below a minimal team's cost)",
    ),
    ("voucher_spent_yuan", "yuan", "compute-voucher money paid out by the city regions"),
    (
        "voucher_additional_gpu_h",
        "GPU-hours",
        "GPU-hours bought because of vouchers (beyond what firms would have bought)",
    ),
    ("compute_sold_gpu_h", "GPU-hours", "compute sold to the city regions' startups"),
    (
        "compute_bought_west_gpu_h",
        "GPU-hours",
        "compute the city regions' startups bought in the west",
    ),
    ("vc_raised_yuan", "yuan", "venture capital raised by the city regions' startups"),
    (
        "vc_mobile_yuan",
        "yuan",
        "venture capital the city regions' startups drew from the national mobile pool",
    ),
    ("revenue_yuan", "yuan", "revenue earned by the city regions' startups"),
    *(
        (f"founders_{o}", "startups", f"startups founded by founders whose origin is {o}")
        for o in ORIGINS
    ),
)

OUTCOMES: dict[str, Outcome] = {
    o.name: o
    for o in (
        *(
            Outcome(
                f"startups_alive_y{y}",
                "startups",
                f"startups alive in the city regions at the end of year {y} (month {12 * y - 1})",
                _alive_at(lambda d, y=y: 12 * y - 1),
            )
            for y in (1, 5, 10)
        ),
        Outcome(
            "startups_alive_end",
            "startups",
            "startups alive in the city regions in the run's last month",
            _alive_at(lambda d: None),
        ),
        Outcome(
            "micro_firms_alive_end",
            "firms",
            "live independent firms below startups.startup_min_team people in the city regions "
            "in the run's last month (not startups: reported apart from the headline)",
            lambda d: (
                float(d.monthly("city")["micro_firms_alive"].iloc[-1])
                if "micro_firms_alive" in d.monthly("city").columns and len(d.monthly("city"))
                else NAN
            ),
        ),
        Outcome(
            "largest_startup_staff_end",
            "people",
            "staff of the largest startup of any city region in the run's last month (held-out "
            "pattern 13: a startup of a big firm's size; docs/design/superstar-firms.md)",
            _largest_startup_end,
        ),
        Outcome(
            "month_target_reached",
            "month",
            "first month (0 = January of meta.start_year) with at least meta.target_startups "
            "startups alive in the city regions; NaN if never",
            _month_target_reached,
        ),
        Outcome(
            "target_reached",
            "0/1",
            "1 if the city regions reach meta.target_startups startups within the run, else 0",
            lambda d: float(np.isfinite(_month_target_reached(d))),
        ),
        *(
            Outcome(f"{col}_total", unit, f"{meaning}, summed over the run", _total(col))
            for col, unit, meaning in _TOTALS
        ),
        Outcome(
            "shutdowns_closed_share",
            "share",
            "of the firms founded in the run that shut down (failed or closed), the share "
            "closed by their founders while solvent; NaN without shutdowns (a candidate target "
            "for the founders' reviews: docs/design/late-survival.md)",
            lambda d: NAN if d.firms is None else closed_share(d.firms),
            "firms",
        ),
        *(
            Outcome(
                f"voucher_{part}_share",
                "share",
                f"{meaning}: share of the compute-voucher money resolved in the run (redeemed or "
                "lapsed; every programme, every region; the programme-year table is "
                "voucher_programmes); NaN without vouchers",
                _voucher_share(f"voucher_{part}_yuan"),
            )
            for part, meaning in (
                ("additional", "paid for projects firms bought only with the voucher"),
                ("deadweight", "paid for what firms would have bought anyway (incl. inference)"),
                (
                    "inference",
                    "the part of the deadweight that paid for inference (bought whatever its "
                    "price)",
                ),
                ("unused", "awarded and never redeemed (entitlements that lapsed)"),
            )
        ),
        Outcome(
            "voucher_yuan_per_additional_gpu_h",
            "yuan per GPU-hour",
            "compute-voucher money redeemed (additional + deadweight) per GPU-hour bought only "
            "because of vouchers, every programme; NaN if none was additional",
            _voucher_yuan_per_additional_gpu_h,
        ),
        Outcome(
            "revenue_yuan_last_year",
            "yuan",
            "revenue earned by the city regions' startups in the run's last 12 months (the size "
            "of their market at the end); NaN if the run is shorter",
            _last_year("revenue_yuan"),
        ),
        Outcome(
            "capability_mean_end",
            "capability",
            "mean capability of the city regions' live startups in the last month",
            _capability_end,
        ),
        Outcome(
            "talent_net_inflow_per_year",
            "share of workforce per year",
            "(arrivals - departures) / AI workforce of the city regions, annualised "
            "(sum of the monthly rates x 12 / months)",
            _talent_net_inflow_per_year,
        ),
        Outcome(
            "talent_outflow_to_inflow",
            "ratio",
            "departures / arrivals of the city regions over the run (movers between modelled "
            "cities count on both sides): [S53] gives a city's outflow and gross inflow as "
            "shares of China's mobile talent, so only their ratio compares with the model",
            _talent_outflow_to_inflow,
        ),
        Outcome(
            "workforce_growth",
            "share of workforce per year",
            "(graduates + arrivals - departures - retirements) / AI workforce of the city "
            "regions, annualised (sum of the monthly rates x 12 / months); graduates included, "
            "unlike talent_net_inflow_per_year",
            _workforce_growth,
        ),
        Outcome(
            "west_utilization_y1",
            "share",
            "western hubs' GPU-hours sold / capacity over the first 12 months",
            _utilization("west", "first"),
        ),
        Outcome(
            "west_utilization_end",
            "share",
            "western hubs' GPU-hours sold / capacity over the last 12 months",
            _utilization("west", "last"),
        ),
        Outcome(
            "east_utilization_end",
            "share",
            "city regions' GPU-hours sold / capacity over the last 12 months",
            _utilization("city", "last"),
        ),
        Outcome(
            "public_spending_yuan_total",
            "yuan",
            "all public money paid (every *_spent_yuan KPI, every region) over the run",
            _public_spending(None),
        ),
        *(
            Outcome(
                f"public_spending_yuan_y{y}",
                "yuan",
                f"all public money paid in every region up to the end of year {y}; NaN if shorter",
                _public_spending(y),
            )
            for y in (5, 10)
        ),
        Outcome(
            "founders_big_or_famous",
            "share",
            "founders with a known career who worked at a big firm or a Series C+ startup [S50]",
            _founders("founders_big_or_famous"),
            "firms",
        ),
        Outcome(
            "founders_big_firm_last_job",
            "share",
            "founders with a previous employer whose last employer was a big firm",
            _founders("founders_big_firm_last_job"),
            "firms",
        ),
        Outcome(
            "survival_1y",
            "share",
            "startups founded in the run not shut 12 months after founding (old-enough cohorts)",
            _survival(12),
            "firms",
        ),
        Outcome(
            "survival_5y",
            "share",
            "startups founded in the run not shut 60 months after founding (old-enough cohorts)",
            _survival(60),
            "firms",
        ),
        Outcome(
            "vc_tvpi",
            "multiple",
            "investors' TVPI over every firm of the city regions: Σ ownership × value (exit value, "
            "or m_VC × yearly revenue while alive) / Σ money invested",
            _tvpi,
            "firms",
        ),
        Outcome(
            "share_founders_from_largest_firm",
            "share",
            "startups founded in the run whose founder left the region's largest firm",
            _network("share_founders_from_largest_firm"),
            "networks",
        ),
        Outcome(
            "genealogy_max_depth",
            "generations",
            "longest parent-to-spin-off chain among startups",
            _network("genealogy_max_depth"),
            "networks",
        ),
    )
}


# --------------------------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------------------------
class UnknownOutcome(KeyError):
    """An outcome name the registry does not know; ``str()`` is one line naming what to use."""

    def __init__(self, name: str):
        self.name = name
        if name in RENAMED:
            self.message = f"renamed to {RENAMED[name]!r}"
        else:
            self.message = "unknown outcome; allowed: " + ", ".join(names())
        super().__init__(name)

    def __str__(self) -> str:
        return f"{self.name!r}: {self.message}"


def names(needs: Iterable[str] | None = None) -> list[str]:
    """Every registered outcome name (optionally only those computable from ``needs``)."""
    allowed = set(needs) if needs is not None else None
    return [n for n, o in OUTCOMES.items() if allowed is None or o.needs in allowed]


def get(name: str) -> Outcome:
    """The outcome called ``name``; :class:`UnknownOutcome` (naming the new name) otherwise."""
    try:
        return OUTCOMES[name]
    except KeyError:
        raise UnknownOutcome(name) from None


def compute(data: RunData, which: Iterable[str] | None = None) -> dict[str, float]:
    """The named outcomes (default: all) of one run, as a flat dict of floats (NaN if missing)."""
    chosen = list(OUTCOMES) if which is None else list(which)
    return {name: float(get(name).compute(data)) for name in chosen}


def describe() -> pd.DataFrame:
    """The registry as a table: name, unit, meaning, computed from."""
    return pd.DataFrame(
        [
            {"name": o.name, "unit": o.unit, "meaning": o.meaning, "from": o.needs}
            for o in OUTCOMES.values()
        ]
    )
