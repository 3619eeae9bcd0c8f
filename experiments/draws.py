"""Parameter draws of a calibration spec's priors, or rows of a posterior file (layer below
``experiments.calibrate`` and ``experiments.uncertainty``, which both draw θ; see
``experiments.uncertainty`` for how the draws are used and why they are reproducible)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from ecosystem.scenario import ScenarioError
from experiments.parameters import as_run_value


class Prior(Protocol):
    """What a draw needs of a prior (``experiments.calibrate.Prior`` is one)."""

    name: str
    path: str
    low: float
    high: float
    integer: bool
    # Optional (read with getattr): ``same_as``, the name of the prior whose value a pooled copy
    # takes; ``pooled_with``, the stage-A path a pooled copy stands for.

    def from_unit(self, u: np.ndarray) -> np.ndarray: ...


#: The first spawn-key element of parameter draws (seeds use ``(r,)``; no collision below it).
THETA_KEY = 2**31 - 7
#: Columns of a posterior file that are never parameters.
POSTERIOR_META = frozenset(
    {"weight", "draw", "git_revision", "target_set", "spec_hash", "log_prob"}
)


def _value(p: Prior, x) -> float | int:
    return as_run_value(x, p.integer)


def read_posterior(path: str | Path, priors: list[Prior]) -> tuple[pd.DataFrame, list[str]]:
    """The posterior samples of a Parquet file: (table with the matched θ columns and
    ``weight``, matched names). ScenarioError (one line) when it cannot be used."""
    import pyarrow.parquet as pq

    p = Path(path)
    if not p.is_file():
        raise ScenarioError("--posterior", str(path), "file not found")
    try:
        df = pq.read_table(p).to_pandas()
    except Exception as exc:  # noqa: BLE001 - any unreadable file: one line
        raise ScenarioError(
            "--posterior", str(path), f"is not a readable Parquet file ({exc})"
        ) from None
    by_name = {q.name: q for q in priors}
    by_path = {q.path: q for q in priors}
    for q in priors:  # a pooled copy is filled from its stage-A column when no prior has it
        home = getattr(q, "pooled_with", "")
        if home and not getattr(q, "same_as", ""):
            by_path.setdefault(home, q)
    paths = _posterior_paths(p)  # a file of aieco calibrate --infer: its record's paths
    # A recorded column goes to the prior of its path (chengdu's ``other_founding_per_year`` at
    # regions.chengdu.… is ``other_founding_per_year_chengdu`` in a national run); a plain
    # file's columns go by name.
    rename: dict[str, str] = {}
    for c in df.columns:
        if c in POSTERIOR_META:
            continue
        if c in paths and paths[c] in by_path:
            q = by_path[paths[c]]
            # a pooled copy's column is the pooled value: it goes to the prior copied
            src = getattr(q, "same_as", "")
            name = src if src in by_name else q.name
            if name not in rename.values():  # one column per parameter: the first
                rename[c] = name
        elif c in paths and c in by_name:
            raise ScenarioError(
                f"--posterior column {c}",
                paths[c],
                f"is calibrated at another path than the draws' {by_name[c].path}; "
                "use the --param-spec the posterior was calibrated with",
            )
        elif c not in paths and c in by_name:
            rename[c] = c
    df = df[[*rename, *(["weight"] if "weight" in df.columns else [])]].rename(columns=rename)
    names = list(rename.values())
    if not names:
        raise ScenarioError(
            "--posterior",
            str(path),
            "has no column named as a parameter; expected some of " + ", ".join(by_name),
        )
    if len(df) == 0:
        raise ScenarioError("--posterior", str(path), "has no rows")
    for c in names:
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(v).all():
            raise ScenarioError(f"--posterior column {c}", str(path), "must be finite numbers")
        q = by_name[c]
        if v.min() < q.low or v.max() > q.high:
            raise ScenarioError(
                f"--posterior column {c}",
                f"[{v.min():g}, {v.max():g}]",
                f"must lie in the prior range [{q.low:g}, {q.high:g}]",
            )
        df[c] = v
    if "weight" in df.columns:
        w = pd.to_numeric(df["weight"], errors="coerce").to_numpy(dtype=float)
        if not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
            raise ScenarioError(
                "--posterior column weight", str(path), "must be finite, >= 0, not all 0"
            )
    else:
        w = np.ones(len(df))
    out = df[names].copy()
    out["weight"] = w / w.sum()
    return out.reset_index(drop=True), names


def _posterior_paths(path: Path) -> dict[str, str]:
    """name → scenario path of a posterior written by ``aieco calibrate --infer`` (its
    ``experiments.inference`` record), {} for a plain Parquet file of θ columns."""
    import pyarrow.parquet as pq

    from experiments.inference import POSTERIOR_KEY

    meta = pq.read_schema(path).metadata or {}
    if POSTERIOR_KEY not in meta:
        return {}
    try:
        record = json.loads(meta[POSTERIOR_KEY])
        return {q["name"]: q["path"] for q in record.get("parameters", [])}
    except (ValueError, KeyError, TypeError):
        raise ScenarioError("--posterior", str(path), "has a damaged posterior record") from None


def draw_table(
    priors: list[Prior],
    n: int,
    root_seed: int,
    posterior: pd.DataFrame | None = None,
    posterior_names: list[str] = (),
    fixed_rows: list[int] | None = None,
) -> pd.DataFrame:
    """(n × parameters) draws; row m depends only on ``root_seed`` and m. A prior with
    ``same_as`` (a pooled city copy) takes the value of the prior it names, if that is drawn.
    ``fixed_rows`` (with a posterior): draw m takes posterior row ``fixed_rows[m]``, not a row drawn
    by weight (``DrawDesign.every_row``: each row once)."""
    cols: dict[str, list] = {p.name: [] for p in priors}
    rows = []
    cum = np.cumsum(posterior["weight"].to_numpy()) if posterior is not None else None
    keys = [zlib.crc32(p.name.encode()) for p in priors]
    for m in range(n):
        rng = np.random.default_rng(np.random.SeedSequence(root_seed, spawn_key=(THETA_KEY, m)))
        u = [
            np.random.default_rng(
                np.random.SeedSequence(root_seed, spawn_key=(THETA_KEY, m, k))
            ).random()
            for k in keys
        ]
        row = None
        if cum is not None and fixed_rows is not None:
            row = int(fixed_rows[m])
        elif cum is not None:
            row = int(min(np.searchsorted(cum, rng.random() * cum[-1], side="right"), len(cum) - 1))
        rows.append(row)
        for j, p in enumerate(priors):
            if row is not None and p.name in posterior_names:
                x = float(posterior[p.name].iloc[row])
            else:
                x = float(p.from_unit(np.array([u[j]]))[0])
            cols[p.name].append(_value(p, x))
        for p in priors:  # pooled copies: the value of the prior they copy
            src = getattr(p, "same_as", "")
            if src in cols:
                cols[p.name][-1] = _value(p, cols[src][-1])
    df = pd.DataFrame(cols)
    if posterior is not None:
        df["posterior_row"] = rows
    df.insert(0, "draw", np.arange(n, dtype=np.int64))
    return df
