"""Golden outputs: the model's tables for fixed presets and seeds, kept to catch any change.

``tests/test_golden.py`` re-runs every case below and asserts that each table is identical, bit for
bit, to the Parquet file stored here. When a change to the model is *meant* to alter behaviour,
regenerate the files on purpose, in a commit of their own that says why:

    .venv/bin/python tests/golden/regenerate.py          # rewrite and print what changed
    .venv/bin/python tests/golden/regenerate.py --check  # only print what changed (exit 1 if any)

Never regenerate them to hide an accident: a refactoring must leave them untouched.

The simulation-based calibration test's prior simulations (``tests/calibration/sbc_store.parquet``,
``SBC_BUDGET`` two-year runs of ``tests/calibration/sbc.toml``) are kept the same way: the test
re-simulates their first ``SBC_CHECKED`` draws and fails when any differs, and this script
checks those draws and, unless ``--check``, rebuilds the whole store when they differ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE.parents[1]) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(HERE.parents[1]))

#: (preset, years, seed): what the golden files cover.
CASES = [
    ("hangzhou", 10, 1),
    ("hangzhou", 10, 2),
    ("chengdu", 5, 1),
    ("chengdu", 5, 2),
    ("china", 2, 1),
    ("china", 2, 2),
]
#: The tables compared, by the model method that builds them.
TABLES = ("kpis", "dc_kpis", "firms", "firm_years")

#: The SBC test's reduced problem and its stored prior simulations (tests/test_sbc.py).
SBC_SPEC = HERE.parent / "calibration" / "sbc.toml"
SBC_STORE = HERE.parent / "calibration" / "sbc_store.parquet"
#: Draws stored (the test's training draws and synthetic truths) and draws re-simulated to check.
SBC_BUDGET, SBC_CHECKED = 800, 10
#: The store's columns that a behaviour change moves (not timings or the revision that ran it).
SBC_COLUMNS = ("run_id", "seed", "draw", "status")


def case_name(preset: str, years: int, seed: int) -> str:
    return f"{preset}_{years}y_seed{seed}"


def path_of(preset: str, years: int, seed: int, table: str) -> Path:
    return HERE / f"{case_name(preset, years, seed)}__{table}.parquet"


def build(preset: str, years: int, seed: int) -> dict[str, pd.DataFrame]:
    """Run one case and return its tables."""
    from ecosystem import AIEcosystem, load_scenario

    model = AIEcosystem(load_scenario(preset), rng=seed)
    model.run_for(12 * years)
    return {t: getattr(model, t)() for t in TABLES}


def read(preset: str, years: int, seed: int, table: str) -> pd.DataFrame:
    return pd.read_parquet(path_of(preset, years, seed, table))


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """The table as it reads back from Parquet (string columns and the index normalised)."""
    df = df.reset_index(drop=True)
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].astype("str")
    return df


def write(df: pd.DataFrame, path: Path) -> None:
    """Parquet, compressed hard (floats split by byte, no dictionaries for them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    floats = [c for c in df.columns if df[c].dtype.kind == "f"]
    others = [c for c in df.columns if c not in floats]
    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=19,
        use_byte_stream_split=floats,
        use_dictionary=others,
    )


def differences(new: pd.DataFrame, old: pd.DataFrame) -> list[str]:
    """What differs between two versions of a table, one line per finding (empty: identical)."""
    new, old = normalise(new), normalise(old)
    out = []
    if list(new.columns) != list(old.columns):
        added = [c for c in new.columns if c not in old.columns]
        gone = [c for c in old.columns if c not in new.columns]
        out.append(f"columns: added {added}, removed {gone}")
    if len(new) != len(old):
        out.append(f"rows: {len(old)} -> {len(new)}")
    for c in [c for c in new.columns if c in old.columns]:
        a, b = new[c], old[c]
        if a.dtype != b.dtype:
            out.append(f"{c}: dtype {b.dtype} -> {a.dtype}")
            continue
        n = min(len(a), len(b))
        a, b = a.iloc[:n], b.iloc[:n]
        same = (a == b).fillna(False).to_numpy(dtype=bool) | (a.isna() & b.isna()).to_numpy()
        if not same.all():
            first = int(np.flatnonzero(~same)[0])
            out.append(
                f"{c}: {int((~same).sum())} of {n} values differ "
                f"(first at row {first}: {b.iloc[first]!r} -> {a.iloc[first]!r})"
            )
    return out


def build_sbc_store(budget: int, out: Path) -> Path:
    """The SBC spec's first ``budget`` prior simulations, stored by ``aieco calibrate
    --store-only`` in the folder ``out`` (two worker processes); returns its store.parquet."""
    from experiments.cli import main as aieco

    argv = ["calibrate", str(SBC_SPEC), "--budget", str(budget), "--store-only"]
    if aieco([*argv, "--workers", "2", "--quiet", "--out", str(out)]) != 0:
        raise RuntimeError(f"aieco {' '.join(argv)} failed")
    return out / "store.parquet"


def sbc_rows(path: Path, n: int | None = None) -> pd.DataFrame:
    """A store's first ``n`` draws (all if None), in draw order, with the columns a change of
    the model's behaviour or of the spec moves: ``SBC_COLUMNS``, parameters and statistics."""
    from experiments.calibrate import load_spec, read_store

    spec = load_spec(SBC_SPEC)
    df, _ = read_store(path)
    cols = [*SBC_COLUMNS, *(p.name for p in spec.priors), *spec.statistics]
    df = df.sort_values("draw", kind="stable").reset_index(drop=True)
    return df[cols] if n is None else df[cols].head(n)


def sbc_differences() -> list[str]:
    """What differs between the stored SBC simulations' first ``SBC_CHECKED`` draws and the
    same draws simulated now (empty: the store is the current model's)."""
    import tempfile

    if not SBC_STORE.exists():
        return [f"{SBC_STORE} is missing"]
    with tempfile.TemporaryDirectory() as tmp:
        fresh = sbc_rows(build_sbc_store(SBC_CHECKED, Path(tmp) / "store"))
    return differences(fresh, sbc_rows(SBC_STORE, SBC_CHECKED))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only report differences; write nothing")
    args = ap.parse_args(argv)
    changed = 0
    for case in CASES:
        tables = build(*case)
        for table, df in tables.items():
            path = path_of(*case, table)
            label = f"{case_name(*case)} {table}"
            if path.exists():
                diff = differences(df, read(*case, table))
                if not diff:
                    print(f"{label}: unchanged")
                    continue
                changed += 1
                print(f"{label}: CHANGED")
                for line in diff:
                    print(f"    {line}")
            else:
                changed += 1
                print(f"{label}: new")
            if not args.check:
                write(normalise(df), path)
    diff = sbc_differences()
    print(f"SBC store: {'unchanged' if not diff else 'CHANGED'}")
    for line in diff:
        print(f"    {line}")
    if diff:
        changed += 1
        if not args.check:
            import shutil
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                shutil.copyfile(build_sbc_store(SBC_BUDGET, Path(tmp) / "store"), SBC_STORE)
    print(f"{changed} table(s) {'differ' if args.check else 'written'}")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    raise SystemExit(main())
