"""The written form of a run's tables: one documented schema (``docs/outputs.md``).

The model's DataFrames (``model.kpis()``, ``firms()``, …) stay as the model builds them; this
module turns them into the files ``aieco run`` writes, at the write layer only:

* every table starts with ``run_id`` (string) and ``seed`` (int64);
* categories are Arrow dictionaries of labelled strings (regions, sectors, kinds, stages, …);
* organisations have one id scheme, shared with the GraphML files: ``<kind>:<key>`` —
  ``startup:<n>``, ``big_firm:<key>``, ``university:<key>``, ``data_center:<key>``, and for the
  labour market's non-organisations ``job_market:<region>``, ``outside:<region>``,
  ``retired:<region>``;
* every month has its calendar ``date`` (the first day of the month; ``<x>_month`` columns get
  ``<x>_date``), model months count from 0 = January of ``meta.start_year`` (negative before);
* missing values are NULL (never −1, ``''`` or NaN);
* no SQL reserved words as column names (``start``/``end`` became ``start_month``/``end_month``);
* booleans are booleans.

:func:`arrow_table` is the generic helper (``exp`` uses it for sweep files): it adds the id
columns, turns NaN into NULL and listed columns into dictionaries.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa

from ecosystem.networks import NODE_KINDS as FLOW_KINDS  # labels of the flow log's node kinds
from ecosystem.recording import ROUND_COLUMNS, VOUCHER_PROGRAMME_COLUMNS
from ecosystem.tables import Stage

#: Labels of the stages.
STAGES = [s.name.lower() for s in Stage]


def month_dates(months, start_year: int) -> pa.Array:
    """Calendar date (first day of the month) of model months; NULL where the month is NULL."""
    m = pd.array(months, dtype="Int64")
    mask = np.asarray(m.isna())
    v = np.asarray(m.fillna(0), dtype=np.int64)
    years, mon = start_year + np.floor_divide(v, 12), np.mod(v, 12) + 1
    days = (
        pd.to_datetime({"year": years, "month": mon, "day": np.ones_like(v)})
        .to_numpy()
        .astype("datetime64[D]")
    )
    return pa.array(days, type=pa.date32(), mask=mask)


def _column(values) -> pa.Array:
    """A column as Arrow, NaN as NULL, object columns of strings as strings."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    s = pd.Series(values)
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        return pa.array(s.astype(object).where(s.notna(), None).tolist(), type=pa.string())
    return pa.array(s, from_pandas=True)


def arrow_table(columns: dict, run_id: str, seed: int, categories: Iterable[str] = ()) -> pa.Table:
    """An Arrow table: ``run_id`` and ``seed`` first, then ``columns`` (name -> values), NaN as
    NULL, the ``categories`` columns as dictionaries of strings."""
    n = len(next(iter(columns.values()))) if columns else 0
    arrays = {
        "run_id": pa.array([run_id] * n, type=pa.string()),
        "seed": pa.array([int(seed)] * n, type=pa.int64()),
    }
    cats = set(categories)
    for name, values in columns.items():
        arr = _column(values)
        if name in cats:
            arr = arr.dictionary_encode() if not pa.types.is_dictionary(arr.type) else arr
        arrays[name] = arr
    return pa.table(arrays)


def _nullable_months(values, missing: int = -1) -> pd.Series:
    s = pd.Series(values).astype("Int64")
    return s.mask(s == missing)


def _org_ids(kind: str, keys) -> pd.Series:
    s = pd.Series(keys, dtype=object)
    empty = s.isna() | (s.astype(str) == "")
    return (kind + ":" + s.astype(str)).where(~empty, None)


def kpis_table(kpis: pd.DataFrame, run_id: str, seed: int, start_year: int) -> pa.Table:
    cols: dict = {
        "month": kpis["month"].astype("int64"),
        "date": month_dates(kpis["month"], start_year),
        "region": kpis["region"].astype(str),
    }
    for c in kpis.columns:
        if c not in cols:
            cols[c] = kpis[c]
    return arrow_table(cols, run_id, seed, categories=["region"])


def data_centers_table(dcs: pd.DataFrame, run_id: str, seed: int, start_year: int) -> pa.Table:
    cols: dict = {
        "month": dcs["month"].astype("int64"),
        "date": month_dates(dcs["month"], start_year),
        "data_center": _org_ids("data_center", dcs["data_center"]),
        "region": dcs["region"].astype(str),
        "hub": dcs["hub"].astype(bool),
    }
    for c in dcs.columns:
        if c not in cols:
            cols[c] = dcs[c]
    return arrow_table(cols, run_id, seed, categories=["region", "data_center"])


def _founder_alumni(values) -> pd.Series:
    s = pd.Series(values, dtype=object)
    out = ("big_firm:" + s.astype(str)).where(~s.isin(["", "elsewhere"]), s)
    return out.where(out != "", None)


def firms_table(firms: pd.DataFrame, run_id: str, seed: int, start_year: int) -> pa.Table:
    founded = firms["founded_month"].astype("int64")
    exit_month = pd.Series(firms["exit_month"]).astype("Int64")
    left = _nullable_months(firms["founder_left_alumni_month"])
    parent_kind = firms["parent_kind"].astype(object).where(firms["parent_kind"] != "none", None)
    acquirer = firms["acquirer"].astype(object)
    cols = {
        "org_id": _org_ids("startup", firms["firm_id"]),
        "region": firms["region"].astype(str),
        "sector": firms["sector"].astype(str),
        "founded_month": founded,
        "founded_date": month_dates(founded, start_year),
        "exit_month": exit_month,
        "exit_date": month_dates(exit_month, start_year),
        "status": firms["exit_reason"].astype(str),
        "origin": firms["origin"].astype(str),
        "parent_kind": parent_kind,
        "parent_org_id": firms["parent_id"].astype(object).where(firms["parent_id"] != "", None),
        "founder_alumni": _founder_alumni(firms["founder_alumni"]),
        "founder_left_alumni_month": left,
        "founder_left_alumni_date": month_dates(left, start_year),
        "parent_famous": firms["parent_famous"].astype(bool),
        "acquirer_org_id": _org_ids("big_firm", acquirer.where(acquirer.notna(), "")),
        "stage": pd.Series(np.array(STAGES, dtype=object)[firms["stage"].to_numpy(np.int64)]),
        "capability": firms["capability"],
        "headcount": firms["headcount"].astype("int64"),
        "cash_yuan": firms["cash_yuan"],
        "funding_total_yuan": firms["funding_total_yuan"],
    }
    extra = set(firms.columns) - {"firm_id", "exit_reason", "parent_id", "acquirer", *cols}
    for c in sorted(extra):  # columns the model adds later keep their name until documented
        cols[c] = firms[c]
    return arrow_table(
        cols,
        run_id,
        seed,
        categories=[
            "region",
            "sector",
            "status",
            "origin",
            "parent_kind",
            "stage",
            "founder_alumni",
        ],
    )


def firm_years_table(fy: pd.DataFrame, run_id: str, seed: int, start_year: int) -> pa.Table:
    year = fy["year"].astype("int64")
    cols = {
        "org_id": _org_ids("startup", fy["firm_id"]),
        "year": year,
        "date": month_dates((year - start_year) * 12 + 11, start_year),
        "region": fy["region"].astype(str),
        "headcount": fy["headcount"].astype("int64"),
        # typed explicitly: a run shorter than a year has no December snapshot, and the empty
        # frame's object columns would otherwise be written as strings
        "revenue_yuan": fy["revenue_yuan"].astype("float64"),
        "compute_gpu_h": fy["compute_gpu_h"].astype("float64"),
        "capability": fy["capability"].astype("float64"),
        "cash_yuan": fy["cash_yuan"].astype("float64"),
        "stage": pd.Series(np.array(STAGES, dtype=object)[fy["stage"].to_numpy(np.int64)]),
        "alive": fy["alive"].astype(bool),
    }
    return arrow_table(cols, run_id, seed, categories=["region", "stage"])


def voucher_programmes_table(vp: pd.DataFrame, run_id: str, seed: int, start_year: int) -> pa.Table:
    """One row per voucher programme and award year (``recording.voucher_programmes``)."""
    vp = vp.reindex(columns=VOUCHER_PROGRAMME_COLUMNS)
    ints = ("award_year", "eligible_firms", "applicants", "awards")
    labels = ("programme", "payer")
    cols = {
        c: vp[c].astype(object if c in labels else ("int64" if c in ints else "float64"))
        for c in VOUCHER_PROGRAMME_COLUMNS
    }
    return arrow_table(cols, run_id, seed, categories=["programme", "payer"])


def rounds_table(rounds: pd.DataFrame, run_id: str, seed: int, start_year: int) -> pa.Table:
    """One row per round a startup closed during the run (``recording.rounds``)."""
    r = rounds.reindex(columns=ROUND_COLUMNS)
    month = r["month"].astype("int64")
    money = ("amount_yuan", "pre_money_yuan", "post_money_yuan", "vc_yuan", "guidance_fund_yuan")
    cols = {
        "org_id": _org_ids("startup", r["firm_id"]),
        "region": r["region"].astype(object),
        "month": month,
        "date": month_dates(month, start_year),
        "age_months": r["age_months"].astype("int64"),
        "stage": pd.Series(np.array(STAGES, dtype=object)[r["stage"].to_numpy(np.int64)]),
        **{c: r[c].astype("float64") for c in money},
        "mobile_pool": r["mobile_pool"].astype(bool),
    }
    return arrow_table(cols, run_id, seed, categories=["region", "stage"])


def _flow_orgs(kind: np.ndarray, ident: np.ndarray, orgs: dict) -> np.ndarray:
    out = np.empty(kind.size, dtype=object)
    regions = np.array(orgs["regions"], dtype=object)
    for k, label in FLOW_KINDS.items():
        sel = kind == k
        if not sel.any():
            continue
        ids = ident[sel]
        if label == "startup":
            out[sel] = np.char.add("startup:", ids.astype(str)).astype(object)
        elif label in ("big_firm", "university"):
            out[sel] = np.array(orgs[label], dtype=object)[ids]
        else:
            out[sel] = np.char.add(f"{label}:", regions[ids].astype(str)).astype(object)
    return out


def talent_flows_table(
    flows: pd.DataFrame, orgs: dict, run_id: str, seed: int, start_year: int
) -> pa.Table:
    sk = flows["src_kind"].to_numpy(np.int64)
    dk = flows["dst_kind"].to_numpy(np.int64)
    labels = np.array([FLOW_KINDS.get(i, "unknown") for i in range(7)], dtype=object)
    cols = {
        "month": flows["month"].astype("int64"),
        "date": month_dates(flows["month"], start_year),
        "src_kind": pd.Series(labels[sk]),
        "src": pd.Series(_flow_orgs(sk, flows["src_id"].to_numpy(np.int64), orgs)),
        "dst_kind": pd.Series(labels[dk]),
        "dst": pd.Series(_flow_orgs(dk, flows["dst_id"].to_numpy(np.int64), orgs)),
        "people": flows["people"].astype("int64"),
    }
    return arrow_table(cols, run_id, seed, categories=["src_kind", "dst_kind", "src", "dst"])


def partnerships_table(p: pd.DataFrame, run_id: str, seed: int, start_year: int) -> pa.Table:
    start = p["start"].astype("int64")
    end = _nullable_months(p["end"])
    cols = {
        "org_a": _org_ids("startup", p["a"]),
        "org_b": _org_ids("startup", p["b"]),
        "start_month": start,
        "start_date": month_dates(start, start_year),
        "end_month": end,
        "end_date": month_dates(end, start_year),
    }
    return arrow_table(cols, run_id, seed)


def clean_graph(graph, run_id: str, seed: int, start_year: int):
    """A GraphML-ready copy: ``start``/``end`` edge months renamed, −1 (still active) dropped,
    dates added, the run's id and seed as graph attributes."""
    g = graph.copy()
    g.graph.update(run_id=run_id, seed=int(seed), start_year=int(start_year))

    def date(m: int) -> str:
        return f"{start_year + m // 12:04d}-{m % 12 + 1:02d}-01"

    for *_, data in g.edges(data=True):
        for old in ("start", "end", "month"):
            if old in data:
                m = int(data.pop(old))
                if old == "end" and m < 0:
                    continue
                name = "month" if old == "month" else f"{old}_month"
                data[name] = m
                data[name.replace("month", "date")] = date(m)
    for _, data in g.nodes(data=True):
        if "status" in data:
            data["status"] = str(data["status"])
        if "founded_month" in data:
            data["founded_date"] = date(int(data["founded_month"]))
    return g
