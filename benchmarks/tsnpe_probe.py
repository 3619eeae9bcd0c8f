"""Probe: one truncated sequential round (TSNPE; Deistler, Goncalves & Macke 2022) on top of a
stage-A store, to measure whether simulating again near the observation mends the posterior's
miss of the round funnel (docs/calibration.md, "A sequential round probed"). Not the shipped
inference: ``aieco calibrate`` stays one round of NPE.

    aieco calibrate hangzhou --budget 1000 --workers 2 --out R1          # round 1 (as shipped)
    python benchmarks/tsnpe_probe.py truncate R1 R2 800                  # q1, its HPR, 800 draws
    aieco calibrate hangzhou --ppc 800 --posterior R2/round2_draws.parquet --workers 2 --out R2
    python benchmarks/tsnpe_probe.py combine R1 R2/ppc_<hash> R2         # q2 on both rounds
    aieco calibrate hangzhou --ppc 60 --posterior R2/posterior.parquet --workers 2 --out R2
    python benchmarks/tsnpe_probe.py joint R1 R2/ppc_<hash>              # targets met together

``truncate`` fits the production ensemble q1 on R1's store, takes the highest-probability region
of q1(θ | x_o) at level 1 − eps (the eps-quantile of log q1 over q1's own samples) and draws
prior points inside it by rejection; they are written as a posterior file, so that the store
builder's ``--ppc`` simulates them. ``combine`` fits q2 on both rounds (inside the region the
mixture of prior and truncated prior is proportional to the prior, so q2 estimates the posterior
there) and keeps q2's samples inside the region. ``joint`` counts the simulations of each round
inside every survival band and both funnel bands at once. Seeded (torch and numpy): the same
stores give the same files.
"""

from __future__ import annotations

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import argparse
import json
import pickle
import time
from pathlib import Path

import numpy as np
import pandas as pd

import experiments.inference as inf
from experiments.calibrate import inside_bands, load_spec, store_frame
from experiments.runner import existing_runs

SEED = 20261206
BATCH = 200_000  # prior draws a rejection round
SURVIVAL = ("survival_1y", "survival_2y", "survival_5y")
FUNNEL = ("venture_reached_seed", "venture_reached_a")


def log_q(ens: inf.Ensemble, u: np.ndarray, x_o: np.ndarray) -> np.ndarray:
    """log q(θ | x_o) of the ensemble at unit-box points (unnormalised: a threshold's scale)."""
    with inf._one_thread() as torch:  # as the production fit and sampling
        x = torch.as_tensor(x_o, dtype=torch.float32)
        out = []
        for chunk in np.array_split(u, max(1, len(u) // 20_000)):
            theta = torch.as_tensor(chunk, dtype=torch.float32)
            out.append(ens.posterior.log_prob(theta, x=x, norm_posterior=False).detach().numpy())
    return np.concatenate(out)


def fit_at_observed(
    df: pd.DataFrame, info: dict
) -> tuple[inf.Ensemble, inf.TrainingSet, np.ndarray]:
    ts = inf.training_set(df, info)
    x_o = ts.encoding.encode(inf.observed_vector(info, list(ts.encoding.statistics)))
    t0 = time.perf_counter()
    ens = inf.fit(ts, ensemble=inf.DEFAULT_ENSEMBLE, seed=SEED, progress=True)
    print(f"fit on {ts.used} simulations: {time.perf_counter() - t0:.0f} s", flush=True)
    return ens, ts, x_o


def round_frame(path: Path, spec) -> pd.DataFrame:
    """A store (``store.parquet``) or a ``--ppc`` directory's simulations as store rows."""
    if (path / "store.parquet").is_file():
        return pd.read_parquet(path / "store.parquet")
    hashes = {m.get("design_hash") for m in existing_runs(path).values()}
    if len(hashes) != 1:
        raise SystemExit(f"{path}: expected the runs of one design, found {len(hashes)}")
    return store_frame(path, spec, hashes.pop())


def truncate(round1: Path, out: Path, n2: int, eps: float) -> None:
    spec = load_spec("hangzhou")
    info = spec.describe()
    ens, ts, x_o = fit_at_observed(round_frame(round1, spec), info)
    threshold = float(np.quantile(log_q(ens, ens.sample_unit(x_o, 20_000, seed=SEED), x_o), eps))
    rng = np.random.default_rng(SEED)
    kept, tried = [], 0
    while sum(len(k) for k in kept) < n2:
        u = rng.random((BATCH, ts.u.shape[1]))
        tried += BATCH
        kept.append(u[log_q(ens, u, x_o) >= threshold])
        print(f"tried {tried:,}, inside {sum(len(k) for k in kept):,}", flush=True)
    accept = sum(len(k) for k in kept) / tried
    theta = inf.from_unit(np.concatenate(kept)[:n2], ts.priors)
    head = inf.record_head(info, f"TSNPE proposal: the prior inside q1's HPR at 1 - {eps}")
    meta = {**head, "parameters": ts.priors, "calibrated": False}
    out.mkdir(parents=True, exist_ok=True)
    inf.write_posterior(out / "round2_draws.parquet", inf.posterior_frame(theta, ts.priors), meta)
    with open(out / "q1.pkl", "wb") as f:
        pickle.dump({"ens": ens, "threshold": threshold, "x_o": x_o}, f)
    record = {"eps": eps, "threshold": threshold, "prior_share_inside": accept, "n2": n2}
    (out / "truncation.json").write_text(json.dumps(record, indent=1))
    print(f"log q1 threshold {threshold:.2f}; share of the prior inside the region {accept:.1%}")


def combine(round1: Path, round2: Path, out: Path) -> None:
    spec = load_spec("hangzhou")
    info = spec.describe()
    df1, df2 = round_frame(round1, spec), round_frame(round2, spec)
    df = pd.concat([df1, df2[[c for c in df1.columns if c in df2.columns]]], ignore_index=True)
    print(f"round 1: {len(df1)}, round 2: {len(df2)} simulations", flush=True)
    with open(out / "q1.pkl", "rb") as f:
        q1 = pickle.load(f)
    ens, ts, x_o = fit_at_observed(df, info)
    u = ens.sample_unit(x_o, 3 * inf.DEFAULT_SAMPLES, seed=SEED)
    inside = log_q(q1["ens"], u, q1["x_o"]) >= q1["threshold"]
    print(f"q2's samples inside q1's region: {inside.mean():.1%}")
    theta = inf.from_unit(u[inside][: inf.DEFAULT_SAMPLES], ts.priors)
    stats = list(ts.encoding.statistics)
    method = "TSNPE probe: 2 rounds, ensemble of neural spline flows"
    x_o_raw = inf.observed_vector(info, stats)
    meta = inf.npe_record(info, method, ts, ens, stats, x_o_raw, seed=SEED, samples=len(theta))
    draws = inf.posterior_frame(theta, ts.priors)
    inf.write_posterior(out / "posterior.parquet", draws, meta)
    print(inf.format_posterior(draws, meta))


def joint(paths: list[Path]) -> None:
    spec = load_spec("hangzhou")
    bands = [t for t in spec.describe()["statistics"] if t["low"] is not None]
    for path in paths:
        ok = round_frame(path, spec).query("status == 'ok'")
        inside = pd.DataFrame(inside_bands(ok, bands), columns=[t["name"] for t in bands])
        surv, fun = inside[list(SURVIVAL)].all(axis=1), inside[list(FUNNEL)].all(axis=1)
        print(
            f"{path}: {len(ok)} simulations; every survival band {int(surv.sum())}, both funnel "
            f"bands {int(fun.sum())}, both together {int((surv & fun).sum())}, every band "
            f"{int(inside.all(axis=1).sum())} (most met by one: {int(inside.sum(axis=1).max())} "
            f"of {len(bands)})"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("truncate")
    t.add_argument("round1", type=Path)
    t.add_argument("out", type=Path)
    t.add_argument("n2", type=int)
    t.add_argument("--eps", type=float, default=1e-3)
    c = sub.add_parser("combine")
    c.add_argument("round1", type=Path)
    c.add_argument("round2", type=Path)
    c.add_argument("out", type=Path)
    j = sub.add_parser("joint")
    j.add_argument("paths", type=Path, nargs="+")
    args = ap.parse_args(argv)
    if args.cmd == "truncate":
        truncate(args.round1, args.out, args.n2, args.eps)
    elif args.cmd == "combine":
        combine(args.round1, args.round2, args.out)
    else:
        joint(args.paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
