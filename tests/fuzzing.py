"""A seeded fuzzer for aieco's input contract (issue 8 pt 5), shared by ``tests/test_fuzz.py``
and the longer campaign ``benchmarks/fuzz_campaign.py``.

It generates scenario files (a small preset as ``base`` with mutated values, tables, keys, bytes
and references), ``--set``/``--years``/``--seed`` command lines and experiment files, runs
``aieco`` on each in this process and checks the contract:

* exit 0: the output folder holds the run's tables and every number in ``kpis.parquet`` and
  ``data_centers.parquet`` is finite;
* exit 2: exactly one line ``error: ...`` on stderr and nothing written;
* anything else is a finding: a traceback (an exception out of ``main``), another exit code
  (1 = the model failed on a valid scenario), more than one line, files written on error, or
  non-finite outputs.

Every case is a pure function of ``(seed, index)``, so a finding is reproduced with
``case(seed, index)``.
"""

from __future__ import annotations

import contextlib
import io
import math
import random
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

#: Small presets, so that a valid case runs in seconds (one-year horizon).
PRESETS = ("wenzhou", "ningbo", "henan", "chengdu")

WEIRD_NUMBERS: tuple[Any, ...] = (
    0,
    -1,
    1,
    2,
    0.0,
    -0.0,
    1e-300,
    5e-324,
    1e300,
    1e30,
    10**20,
    2**63,
    float("inf"),
    float("-inf"),
    float("nan"),
    0.5,
    1.5,
    12,
    1000,
    1e9,
    -1e9,
)
WEIRD_OTHER: tuple[Any, ...] = ("x", "", True, False, [], [1, 2], {}, {"a": 1}, "hangzhou")
SET_VALUES = (
    "inf",
    "-inf",
    "nan",
    "1e400",
    "5e-324",
    "0",
    "-1",
    "'x'",
    "x",
    "[1, 2]",
    "{a = 1}",
    "{}",
    "",
    "true",
    "1_000",
    "0x10",
    "1e9",
    "2.5",
    "=",
    '""',
    "[[[[1]]]]",
    "-0.0",
    "1e-9",
)
YEARS = ("0", "1", "1", "1", "51", "-1", "1e3", "x", "99999999999999999999")
SEEDS = ("0", "1", "-1", "x", "99999999999999999999", "7")


@dataclass
class Case:
    """One generated input: the files to write and the ``aieco`` arguments."""

    kind: str
    files: dict[str, bytes] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class Outcome:
    kind: str
    note: str
    rc: int | None
    stderr: str
    problem: str = ""  # "" when the contract holds
    ran: bool = False


def _leaves(node: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _leaves(v, (*path, k))
    elif isinstance(node, list) and node and not isinstance(node[0], dict):
        out.append((path, node))
    elif not isinstance(node, list):
        out.append((path, node))
    return out


def _tables(node: Any, path: tuple = ()) -> list[tuple]:
    out = []
    if isinstance(node, dict):
        if path:
            out.append(path)
        for k, v in node.items():
            out += _tables(v, (*path, k))
    return out


_PLAIN: dict[str, dict] = {}


def _plain(preset: str) -> dict:
    if preset not in _PLAIN:
        from ecosystem.scenario import load_document, strip_provenance

        _PLAIN[preset] = strip_provenance(load_document(preset))[0]
    return _PLAIN[preset]


def _weird(rng: random.Random, old: Any) -> Any:
    r = rng.random()
    if r < 0.45 and isinstance(old, int | float) and not isinstance(old, bool):
        scaled = old * rng.choice((0, 0.5, 2, 10, 1000, 1e-3))
        return round(scaled) if isinstance(old, int) else float(scaled)
    if r < 0.85:
        return rng.choice(WEIRD_NUMBERS)
    return rng.choice(WEIRD_OTHER)


def _put(doc: dict, path: tuple, value: Any) -> None:
    node = doc
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def _toml(doc: dict) -> bytes:
    try:
        return tomli_w.dumps(doc).encode()
    except (TypeError, ValueError):  # tomli_w refuses some values: write them by hand
        lines = []
        for path, value in _leaves(doc):
            key = ".".join(f'"{p}"' for p in path)
            text = (
                {math.inf: "inf", -math.inf: "-inf"}.get(value)
                if isinstance(value, float)
                else None
            )
            if isinstance(value, float) and math.isnan(value):
                text = "nan"
            lines.append(f"{key} = {text if text is not None else _literal(value)}")
        return ("\n".join(lines) + "\n").encode()


def _literal(value: Any) -> str:
    try:
        return tomli_w.dumps({"x": value}).split("=", 1)[1].strip()
    except (TypeError, ValueError):
        return repr(str(value)).replace("'", '"')


def scenario_case(rng: random.Random) -> Case:
    preset = rng.choice(PRESETS)
    plain = _plain(preset)
    over: dict = {"base": preset, "meta": {"years": 1}}
    notes = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        r = rng.random()
        if r < 0.6:
            path, old = rng.choice(_leaves(plain))
            value = _weird(rng, old)
            _put(over, path, value)
            notes.append(f"{'.'.join(map(str, path))}={value!r}")
        elif r < 0.7:
            path = rng.choice(_tables(plain))
            value = rng.choice(({}, 0, "x", []))
            _put(over, path, value)
            notes.append(f"{'.'.join(map(str, path))}={value!r}")
        elif r < 0.8:
            path = (*rng.choice(_tables(plain)), "no_such_key")
            _put(over, path, 1)
            notes.append(f"unknown {'.'.join(map(str, path))}")
        elif r < 0.88:
            over["base"] = rng.choice(("atlantis", "self.toml", "missing.toml", "", "../x.toml"))
            notes.append(f"base={over['base']}")
        else:
            over["include"] = rng.choice(
                (["regions/hangzhou"], ["nope/x"], ["../../etc/x"], ["missing.toml"], "x", [1])
            )
            notes.append(f"include={over['include']}")
    data = _toml(over)
    r = rng.random()
    if r < 0.05:
        data = data.replace(b"\n", "\n# caf\u00e9\n".encode("latin-1"), 1)
        notes.append("latin-1 byte")
    elif r < 0.08:
        data = data[: rng.randrange(1, max(2, len(data)))]
        notes.append("truncated")
    elif r < 0.1:
        pos = rng.randrange(len(data))
        data = data[:pos] + bytes([rng.randrange(256)]) + data[pos:]
        notes.append("random byte")
    return Case("scenario", {"self.toml": data}, ["validate+run", "self.toml"], "; ".join(notes))


def override_case(rng: random.Random) -> Case:
    preset = rng.choice(PRESETS)
    plain = _plain(preset)
    argv = ["run", preset, "--years", rng.choice(YEARS), "--seed", rng.choice(SEEDS)]
    for _ in range(rng.choice((0, 1, 1, 2))):
        r = rng.random()
        if r < 0.8:
            path, _old = rng.choice(_leaves(plain))
            key = ".".join(map(str, path))
        elif r < 0.9:
            key = ".".join(map(str, rng.choice(_tables(plain))))
        else:
            key = rng.choice(("meta", "", "a..b", "regions.nowhere.x", "=", "meta.years.x"))
        argv += ["--set", f"{key}={rng.choice(SET_VALUES)}"]
    return Case("override", {}, argv, " ".join(argv))


EXPERIMENT = {
    "experiment": {
        "name": "fz",
        "scenario": "wenzhou",
        "replicates": 1,
        "root_seed": 3,
        "months": 12,
    },
    "levers": {
        "voucher_rate": {"path": "regions.wenzhou.policy.voucher_rate", "values": [0.0, 0.5]}
    },
    "design": {"method": "factorial"},
    "outcomes": {"summary": ["startups_alive_end"], "kpis": ["startups_alive"]},
}


def experiment_case(rng: random.Random) -> Case:
    import copy

    doc = copy.deepcopy(EXPERIMENT)
    notes = []
    for _ in range(rng.choice((1, 1, 2))):
        path, old = rng.choice(_leaves(doc))
        r = rng.random()
        if r < 0.6:
            value = _weird(rng, old)
        elif r < 0.8:
            value = rng.choice(
                (
                    "regions.wenzhou.policy.nope",
                    "startups_alive_end",
                    "self.toml",
                    "hangzhou",
                    "sobol",
                    "lhs",
                    "regions.wenzhou.talent.wage_yuan_per_month",
                    "meta",
                )
            )
        else:
            value = rng.choice(([0.0, 1.0], [], [1e300, float("inf")], ["a", 1]))
        _put(doc, path, value)
        notes.append(f"{'.'.join(map(str, path))}={value!r}")
    if rng.random() < 0.1:
        doc["constants"] = {
            rng.choice(
                ("meta.years", "regions.wenzhou.initial_startups", "meta", "x.y")
            ): rng.choice(WEIRD_NUMBERS)
        }
        notes.append(f"constants={doc['constants']}")
    return Case(
        "experiment",
        {"self.toml": _toml(doc)},
        ["sweep", "self.toml", "--workers", "1"],
        "; ".join(notes),
    )


def case(
    seed: int,
    index: int,
    kinds: tuple[str, ...] = ("scenario", "override", "experiment"),
    weights: tuple[float, ...] = (0.5, 0.35, 0.15),
) -> Case:
    """The ``index``-th case of the campaign with root ``seed``."""
    rng = random.Random(f"{seed}:{index}")
    kind = rng.choices(kinds, weights)[0]
    return {"scenario": scenario_case, "override": override_case, "experiment": experiment_case}[
        kind
    ](rng)


def _finite_tables(out: Path) -> str:
    import numpy as np
    import pandas as pd

    for name in ("kpis.parquet", "data_centers.parquet", "summary.parquet"):
        f = out / name
        if not f.exists():
            continue
        df = pd.read_parquet(f)
        num = df.select_dtypes("number")
        values = num.to_numpy(dtype=float)
        if name == "summary.parquet":  # NaN means "not reached" there; infinities never
            ok = ~np.isinf(values)
        else:
            ok = np.isfinite(values)
            # Utilisation of zero capacity is missing by design (documented); nothing else is.
            cap = next((c for c in num if "capacity" in c), None)
            if cap is not None:
                zero = (num[cap].to_numpy(dtype=float) == 0)[:, None]
                util = np.array(["utilization" in c for c in num])[None, :]
                ok |= np.isnan(values) & zero & util
        if not ok.all():
            cols = [c for c, good in zip(num, ok.all(axis=0), strict=True) if not good]
            return f"non-finite values in {name}: {cols[:5]}"
    return ""


def run_case(c: Case, workdir: Path) -> Outcome:
    """Run one case in ``workdir`` (an empty folder) and judge it against the contract."""
    from experiments.cli import main

    for name, data in c.files.items():
        (workdir / name).write_bytes(data)
    out = workdir / "out"
    argv = list(c.argv)
    if argv[0] == "validate+run":  # validate, then run what validates
        rc, err, problem = _call(main, ["validate", *argv[1:]], cwd=workdir)
        o = Outcome(c.kind, c.note, rc, err, problem)
        if problem or rc != 0:
            return _judge(o, out)
        argv = ["run", argv[1], "--quiet"]
    argv += ["--out", str(out)] + (["--quiet"] if "--quiet" not in argv else [])
    rc, err, problem = _call(main, argv, cwd=workdir)
    return _judge(Outcome(c.kind, c.note, rc, err, problem, ran=rc == 0), out)


def _call(main, argv: list[str], cwd: Path | None = None) -> tuple[int | None, str, str]:
    import os

    err = io.StringIO()
    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                rc = main(argv)
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 2
    except BaseException as exc:  # noqa: BLE001 - a traceback is exactly what we count
        if isinstance(exc, KeyboardInterrupt):
            raise
        tb = traceback.format_exc(limit=-3)
        return None, err.getvalue(), f"traceback: {type(exc).__name__}: {exc}\n{tb}"
    finally:
        os.chdir(old)
    return rc, err.getvalue(), ""


def _judge(o: Outcome, out: Path) -> Outcome:
    if o.problem:
        return o
    lines = o.stderr.strip().splitlines()
    if o.rc == 0:
        if out.exists():
            o.problem = _finite_tables(out)
        return o
    if o.rc == 2:
        if len(lines) != 1 or not lines[0].startswith("error: "):
            o.problem = f"exit 2 with {len(lines)} stderr lines"
        elif out.exists():
            o.problem = "files written on error"
        return o
    o.problem = f"exit {o.rc}: {lines[-1] if lines else ''}"
    return o
