"""Full-size simulation-based calibration: the Hangzhou problem (or any spec) with the
production inference settings. Prints coverage of the central 90% credible intervals per
parameter, the binomial 99% band, rank KS p-values, and the wall / CPU time of each step.

    # build (or reuse, --resume) a store of 3,500 prior draws, hold out the last 20 as truths
    .venv/bin/python benchmarks/sbc_full.py --budget 3500 --truths 20 --workers 2
    # reuse a store built by `aieco calibrate hangzhou --budget N --store-only`
    .venv/bin/python benchmarks/sbc_full.py --out results/calibrate_hangzhou --truths 200

Truths are the store's last draws (prior draws of the same spec, simulated by the model), the
training set the draws before them; the ensemble is trained once (amortised) and each truth's
statistics are conditioned on as if observed, with the statistics that have an observed value
in the spec (what ``aieco calibrate`` conditions on). Issue 11's bar: at least 20 truths; with 20
the band is wide (Binomial(20, 0.9): [15, 20]), so run more when the store allows.

Cost: Hangzhou simulations take ~3 CPU-s each (docs/calibration-method.md, measured under load),
so --budget 3500 is ~3 hours of two free cores; training 5 NPEs on 3,500 rows a few CPU-minutes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", default="hangzhou", help="CITY or SPEC.toml (default hangzhou)")
    ap.add_argument("--out", help="the store's directory (default results/calibrate_<name>)")
    ap.add_argument("--budget", type=int, help="build / extend the store to N simulations first")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--truths", type=int, default=20, help="held-out draws used as truths")
    ap.add_argument("--ensemble", type=int, default=5)
    ap.add_argument("--samples", type=int, default=1000, help="posterior samples per truth")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--all-statistics",
        action="store_true",
        help="condition on every statistic of the spec, not only those with a target",
    )
    args = ap.parse_args(argv)

    from experiments import inference as inf
    from experiments.calibrate import load_spec, read_store
    from experiments.cli import main as aieco

    spec = load_spec(args.spec)
    out = Path(args.out) if args.out else ROOT / "results" / f"calibrate_{spec.name}"
    t0 = time.perf_counter()
    if args.budget:
        argv = ["calibrate", args.spec, "--budget", str(args.budget), "--store-only", "--quiet"]
        argv += ["--workers", str(args.workers), "--out", str(out)]
        if out.exists():
            argv.append("--resume")
        code = aieco(argv)
        if code not in (0, 1):
            return code
    t_sim = time.perf_counter() - t0
    df, _ = read_store(out)
    info = spec.describe()
    n = int(df["draw"].max()) + 1
    if args.truths >= n // 2:
        print(f"error: --truths {args.truths} needs a store of more than {2 * args.truths} draws")
        return 2
    cut = n - args.truths
    train, truths = df[df["draw"] < cut], df[df["draw"] >= cut]
    stats = spec.statistics if args.all_statistics else inf.observed_statistics(info)
    names = [p.name for p in spec.priors]

    c0, w0 = time.process_time(), time.perf_counter()
    ts = inf.training_set(train, info, statistics=stats, nan="indicator")
    ens = inf.fit(ts, ensemble=args.ensemble, seed=args.seed, progress=True)
    t_fit, c_fit = time.perf_counter() - w0, time.process_time() - c0
    u = inf.to_unit(truths[names].to_numpy(float), info["parameters"])
    S = truths[ts.encoding.statistics].to_numpy(float, copy=True)
    S[(truths["status"] != "ok").to_numpy()] = np.nan
    w1 = time.perf_counter()
    cov = inf.coverage(ens.sample_unit_batched, u, ts.encoding.encode(S), names, args.samples)
    t_cov = time.perf_counter() - w1

    print(
        f"spec {spec.name} ({spec.spec_hash}), store {out}: {len(train)} training "
        f"simulations ({ts.failed} failed in the store), {len(truths)} truths, statistics "
        f"{', '.join(stats)}"
    )
    print(cov.table())
    S = ens.sample_unit_batched(ts.encoding.encode(S), args.samples)
    lo, hi = np.quantile(S, [0.05, 0.95], axis=0)
    width = (hi - lo).mean(axis=0)
    print(
        "mean 90% interval width / prior width: "
        + ", ".join(f"{p} {w:.2f}" for p, w in zip(names, width, strict=True))
    )
    print(
        f"wall: store {t_sim:.0f} s, training {t_fit:.0f} s ({c_fit:.0f} CPU-s, "
        f"{args.ensemble} NPEs; epochs {[m['epochs'] for m in ens.members]}), "
        f"coverage {t_cov:.1f} s"
    )
    print("PASS" if cov.passes() else "FAIL", "(every count inside the binomial 99% band)")
    return 0 if cov.passes() else 1


if __name__ == "__main__":
    sys.exit(main())
