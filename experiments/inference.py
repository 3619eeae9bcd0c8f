"""Bayesian calibration by neural posterior estimation (``sbi``) on the simulation store.

    aieco calibrate hangzhou --budget 3500     # simulate the store, then infer (both steps)
    aieco calibrate hangzhou --infer           # infer again from the existing store
    aieco calibrate hangzhou --ppc 200         # re-simulate 200 posterior draws vs the targets

The store (``experiments.calibrate``) holds prior draws θ and their summary statistics. This
module trains an **ensemble of NPEs** (neural spline flows, sbi's ``NPE``; the SBC test chose
them over MAF) on (θ, statistics), conditions it on the observed targets x_o and writes
``posterior.parquet``: posterior samples in θ space with the spec hash, the target set, the
model's git revision, the NaN policy and the library versions in its metadata.
``load_posterior(path)`` gives the θ draws as a DataFrame to anyone who needs parameter
uncertainty (``experiments`` only; nothing here is imported by ``ecosystem`` or ``agents``).

torch and sbi are an optional extra (``pip install 'aieco[calibrate]'``) and are imported only
inside the functions that train or sample, so every other command starts without them.

**Parameter space.** Every θ_j is mapped to the unit interval by its prior's CDF (linear for a
uniform prior, linear in log θ for a log-uniform one), so the prior is the unit box
(``BoxUniform(0, 1)``) and the flows never see a scale; samples are mapped back.

**NaN policy** (statistics undefined in some simulations, e.g. no cohort old enough, and failed
simulations, whose statistics are all missing):

- ``indicator`` (default): a statistic missing in any training simulation is imputed with its
  median over the simulations where it is defined and gets a 0/1 column ``<name>__missing``;
  failed simulations are kept (every statistic missing). This is a deterministic function of the
  simulator's output, so NPE stays exact; conditioning on an observation where every statistic
  is defined puts no mass where the model fails or leaves the statistic undefined.
- ``drop``: a statistic missing in any ok simulation is dropped; failed simulations are dropped.

Either way the share of failed simulations and where in θ they fall (the median prior quantile
of each parameter among them) are printed and recorded. A statistic constant over the training
set carries no information and is dropped (recorded; a warning if its observed value differs).

**Conditioning** (``--condition``): ``point`` (default) conditions on each target's observed
value as if it were exact. ``band`` reads each target's band [lo, hi] as what the sources
allow: every training simulation's statistic x gets an independent error e ~ U(obs − hi,
obs − lo) (its own draw, seeded), so that conditioning on y = x + e = obs gives the likelihood
p(y = obs | θ) ∝ P(lo ≤ x ≤ hi | θ): the posterior of θ given that every statistic, seed noise
included, lies in its band (independent errors across statistics). A target without a band
stays a point. ``normal`` reads the band as the central 90% interval of a normal error around
the observed value instead: e ~ N(0, σ²), σ = (hi − lo) / (2 × 1.645), so a statistic a little
outside its band is less likely, not impossible. Under ``point`` a precise statistic (little
seed noise, e.g. one-year survival) is held at its observed value however wide its band, and
outweighs a noisy one (the round funnel) whose band is as narrow as its noise
(docs/calibration.md, "The funnel miss is the inference's weighting").

**Determinism.** Each ensemble member k trains with ``torch.manual_seed(seed + k)`` on one
thread; sampling uses ``torch.manual_seed(seed)``: the same store gives the same posterior file.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecosystem.scenario import ScenarioError
from experiments.options import CONDITIONING, DEFAULT_ENSEMBLE, NAN_POLICIES
from experiments.parameters import as_run_value

#: Parquet schema metadata key of a posterior file.
POSTERIOR_KEY = b"aieco.posterior"
#: The standard normal's 95% quantile: a band read as a central 90% interval is ±1.645 σ.
NORMAL_90 = 1.6448536269514722
DEFAULT_SAMPLES = 4000
#: Fewer successful simulations than this cannot train (and validate) a density estimator.
MIN_SIMULATIONS = 20
#: Suffix of the missing-value indicator columns (NaN policy ``indicator``).
MISSING = "__missing"
#: Prefix of stage B's θ_core input columns (mode ``conditional``).
CONTEXT = "core__"
INSTALL_HINT = (
    "needs the optional extra calibrate (torch + sbi, ~5.5 GB on Python 3.12): "
    "pip install -e '.[calibrate]'; --store-only builds the store without it"
)


#: What a test environment without the extra needs (the ``test`` extra includes it).
REINSTALL = (
    "reinstall the test extra: pip install -e '.[test]' (with uv: VIRTUAL_ENV=.venv uv pip "
    "install -e '.[test]' torch==2.14.1)"
)


def available() -> bool:
    """True when sbi and torch can be imported (without importing them)."""
    return all(importlib.util.find_spec(m) is not None for m in ("sbi", "torch"))


def require(option: str = "--infer") -> None:
    if not available():
        raise ScenarioError(option, "sbi", INSTALL_HINT)


def library_versions() -> dict[str, str]:
    out = {}
    for name in ("sbi", "torch", "numpy", "pandas"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


# --------------------------------------------------------------------------------------------
# θ <-> unit box
# --------------------------------------------------------------------------------------------
def _bounds(p: dict) -> tuple[float, float, bool]:
    log = p["prior"] == "log_uniform"
    lo, hi = float(p["low"]), float(p["high"])
    return (math.log(lo), math.log(hi), True) if log else (lo, hi, False)


def to_unit(theta: np.ndarray, priors: Sequence[dict]) -> np.ndarray:
    """θ (n × d, spec order) -> prior quantiles in [0, 1]."""
    theta = np.asarray(theta, dtype=float)
    out = np.empty_like(theta)
    for j, p in enumerate(priors):
        a, b, log = _bounds(p)
        v = np.log(theta[:, j]) if log else theta[:, j]
        out[:, j] = np.clip((v - a) / (b - a), 0.0, 1.0)
    return out


def from_unit(u: np.ndarray, priors: Sequence[dict]) -> np.ndarray:
    """Prior quantiles (n × d) -> θ values (integers rounded, as the store's draws)."""
    u = np.asarray(u, dtype=float)
    out = np.empty_like(u)
    for j, p in enumerate(priors):
        a, b, log = _bounds(p)
        v = a + np.clip(u[:, j], 0.0, 1.0) * (b - a)
        v = np.exp(v) if log else v
        v = np.clip(v, float(p["low"]), float(p["high"]))
        out[:, j] = np.round(v) if p.get("integer") else v
    return out


# --------------------------------------------------------------------------------------------
# The training set: θ in the unit box, encoded statistics
# --------------------------------------------------------------------------------------------
@dataclass
class Encoding:
    """How raw statistics become the network's input x (fitted on the training set)."""

    statistics: list[str]  # raw statistics read, in this order
    columns: list[str]  # encoded columns (a statistic, or <statistic>__missing)
    fill: dict[str, float]  # imputation value per statistic with an indicator
    mean: np.ndarray
    std: np.ndarray
    dropped: dict[str, str] = field(default_factory=dict)  # statistic or column -> why

    def encode(self, S: np.ndarray) -> np.ndarray:
        """Raw statistics (n × len(statistics)) -> standardised network input."""
        S = np.atleast_2d(np.asarray(S, dtype=float))
        cols = []
        for name in self.columns:
            base = name.removesuffix(MISSING)
            v = S[:, self.statistics.index(base)]
            if name.endswith(MISSING):
                cols.append(np.isnan(v).astype(float))
            else:
                cols.append(np.where(np.isnan(v), self.fill.get(base, np.nan), v))
        X = np.column_stack(cols) if cols else np.empty((len(S), 0))
        return (X - self.mean) / self.std

    def as_dict(self) -> dict:
        return {
            "statistics": self.statistics,
            "columns": self.columns,
            "imputed_with_median": self.fill,
            "dropped": self.dropped,
        }


@dataclass
class TrainingSet:
    u: np.ndarray  # (n × d) θ as prior quantiles
    x: np.ndarray  # (n × k) encoded statistics
    encoding: Encoding
    priors: list[dict]
    nan_policy: str
    rows: int  # simulations in the store
    failed: int  # simulations with status != ok
    used: int  # simulations trained on
    failed_where: dict[str, float]  # parameter -> median prior quantile among failed runs

    def describe(self) -> dict:
        return {
            "nan_policy": self.nan_policy,
            "simulations": self.rows,
            "failed": self.failed,
            "failed_share": self.failed / self.rows if self.rows else math.nan,
            "failed_median_prior_quantile": self.failed_where,
            "trained_on": self.used,
            "encoding": self.encoding.as_dict(),
        }


def observed_statistics(info: dict) -> list[str]:
    """The statistics of a store with an observed value (the ones inference conditions on)."""
    return [t["name"] for t in info["statistics"] if t.get("observed") is not None]


def training_set(
    df: pd.DataFrame,
    info: dict,
    statistics: Sequence[str] | None = None,
    nan: str = "indicator",
    context: Sequence[str] = (),
    condition: str = "point",
    seed: int = 0,
) -> TrainingSet:
    """Build (θ, x) from store rows under a NaN policy (see the module docstring).
    ``context`` names columns appended to the statistics as inputs of the network that are
    known for every simulation, failed or not (stage B's θ_core, as prior quantiles).
    ``condition`` "band" or "normal" adds each simulation's band error to the statistics with
    a band (:func:`band_errors`, from ``seed``)."""
    if nan not in NAN_POLICIES:
        raise ScenarioError("--nan", nan, "allowed: " + ", ".join(NAN_POLICIES))
    if condition not in CONDITIONING:
        raise ScenarioError("--condition", condition, "allowed: " + ", ".join(CONDITIONING))
    priors = list(info["parameters"])
    names = [p["name"] for p in priors]
    stats = list(statistics) if statistics is not None else observed_statistics(info)
    if not stats:
        raise ScenarioError(
            "statistics", "[]", "no statistic has an observed value (target) to condition on"
        )
    ok = (df["status"] == "ok").to_numpy()
    failed = int((~ok).sum())
    U_all = to_unit(df[names].to_numpy(float), priors)
    where = failed_quantiles(df, priors)
    n_stats = len(stats)
    stats = [*stats, *context]
    S = df[stats].apply(pd.to_numeric, errors="coerce").to_numpy(float, copy=True)
    S[~ok, :n_stats] = np.nan  # a failed run defines no statistic (its θ_core is known)
    if condition != "point":  # NaN + e stays NaN: a missing statistic stays missing
        S[:, :n_stats] += band_errors(info, stats[:n_stats], len(df), seed, condition)
    keep = np.ones(len(df), bool) if nan == "indicator" else ok
    dropped: dict[str, str] = {}
    columns, fill = [], {}
    for j, name in enumerate(stats):
        v = S[keep, j]
        missing = np.isnan(v)
        ok_missing = np.isnan(S[ok, j]).any()
        if missing.all():
            dropped[name] = "undefined in every simulation"
            continue
        if nan == "drop" and ok_missing:
            dropped[name] = f"undefined in {np.isnan(S[ok, j]).mean():.0%} of ok simulations"
            continue
        columns.append(name)
        if missing.any():
            fill[name] = float(np.median(v[~missing]))
            columns.append(name + MISSING)
    enc = Encoding(stats, columns, fill, np.zeros(len(columns)), np.ones(len(columns)), dropped)
    X = enc.encode(S[keep])
    std = X.std(axis=0)
    constant = [c for c, s in zip(columns, std, strict=True) if not s > 0]
    for c in constant:
        enc.dropped[c] = "constant over the training set"
    enc.columns = [c for c in columns if c not in constant]
    if not enc.columns:
        raise ScenarioError("statistics", ", ".join(stats), "no statistic varies over the store")
    enc.mean, enc.std = np.zeros(len(enc.columns)), np.ones(len(enc.columns))
    raw = enc.encode(S[keep])
    enc.mean, enc.std = raw.mean(axis=0), raw.std(axis=0)
    X = enc.encode(S[keep])
    return TrainingSet(U_all[keep], X, enc, priors, nan, len(df), failed, int(keep.sum()), where)


def failed_quantiles(df: pd.DataFrame, priors: Sequence[dict]) -> dict[str, float]:
    """Parameter -> median prior quantile of its values among the store's failed simulations
    (0.5: failures show no pattern in it); empty when none failed."""
    failed = (df["status"] != "ok").to_numpy()
    if not failed.any():
        return {}
    U = to_unit(df.loc[failed, [p["name"] for p in priors]].to_numpy(float), priors)
    return {p["name"]: float(np.median(U[:, j])) for j, p in enumerate(priors)}


def band_errors(
    info: dict, statistics: Sequence[str], n: int, seed: int, kind: str = "band"
) -> np.ndarray:
    """(n × len(statistics)) errors of conditioning on bands, 0 for a statistic without a band.
    ``band``: e ~ U(obs − hi, obs − lo) for a band [lo, hi] and observed value obs, so y = x +
    e = obs exactly when x is in the band; ``normal``: e ~ N(0, σ²), σ = (hi − lo) / 3.29 (the
    band as a central 90% interval). Row i is simulation i's, the same for every ensemble
    member; reproducible from ``seed``."""
    by = {t["name"]: t for t in info["statistics"]}
    rng = np.random.default_rng([seed, 0xBA4D])
    z = (
        rng.random((n, len(statistics)))
        if kind == "band"
        else rng.standard_normal((n, len(statistics)))
    )
    e = np.zeros_like(z)
    for j, name in enumerate(statistics):
        t = by[name]
        if t.get("low") is None or t.get("high") is None or t.get("observed") is None:
            continue
        lo, hi, obs = float(t["low"]), float(t["high"]), float(t["observed"])
        if kind == "band":
            e[:, j] = (obs - hi) + z[:, j] * (hi - lo)
        else:
            e[:, j] = z[:, j] * (hi - lo) / (2 * NORMAL_90)
    return e


def observed_vector(info: dict, statistics: Sequence[str]) -> np.ndarray:
    by = {t["name"]: t for t in info["statistics"]}
    missing = [s for s in statistics if by[s].get("observed") is None]
    if missing:
        raise ScenarioError(f"statistics.{missing[0]}.observed", None, "needed to condition on")
    return np.array([[float(by[s]["observed"]) for s in statistics]])


# --------------------------------------------------------------------------------------------
# Training and sampling (torch, sbi imported here only)
# --------------------------------------------------------------------------------------------
@contextmanager
def _one_thread():
    """torch on one thread (deterministic), its and sbi's advisory warnings silenced."""
    import warnings

    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield torch
    finally:
        torch.set_num_threads(before)


class _NoTracker:
    """sbi's training tracker that keeps nothing (its default writes TensorBoard logs to
    ./sbi-logs in the working directory)."""

    log_dir = None

    def log_metric(self, name, value, step=None) -> None:
        pass

    def log_metrics(self, metrics, step=None) -> None:
        pass

    def log_params(self, params) -> None:
        pass

    def add_figure(self, name, figure, step=None) -> None:
        pass

    def flush(self) -> None:
        pass


#: Rejection rounds (of doubling size) before :meth:`Ensemble.sample_unit_batched` gives up on an
#: observation whose posterior puts almost no mass inside the prior's box.
MAX_SAMPLING_ROUNDS = 40
#: Draws a rejection round takes at most, over all observations still short (memory bound).
SAMPLING_ROUND_DRAWS = 200_000


@dataclass
class Ensemble:
    """An ensemble of NPEs over the unit box, with its training record."""

    posterior: object  # sbi EnsemblePosterior
    members: list[dict]  # per member: seed, epochs, best validation log-prob
    seed: int
    encoding: Encoding
    priors: list[dict]

    def sample_unit(self, x_enc: np.ndarray, n: int, seed: int | None = None) -> np.ndarray:
        """n posterior samples (prior quantiles) for one encoded observation."""
        with _one_thread() as torch:
            torch.manual_seed(self.seed if seed is None else seed)
            x = torch.as_tensor(np.atleast_2d(x_enc), dtype=torch.float32)
            s = self.posterior.sample((n,), x=x, show_progress_bars=False)
        return s.numpy().astype(float)

    def sample_unit_batched(self, X_enc: np.ndarray, n: int, seed: int | None = None) -> np.ndarray:
        """(n × batch × d) posterior samples for many encoded observations at once.

        Each sample's ensemble member is drawn on its own (by the ensemble's weights), and a
        sample counts only inside the unit box, the prior's support: the ensemble's mixture
        truncated to the box, by rejection. Only the observations still short of n are drawn
        again, in rounds of doubling size. sbi's own ``EnsemblePosterior.sample_batched`` did
        neither: it draws the members once for the whole batch (with n = 1, as stage B's
        conditional posterior asks, every observation's sample came from the same network), and
        its rejection loop draws for every observation until the one with the least mass inside
        the box has its n (measured on the SBC test's 200 truths: 150 CPU-s against 6 here,
        one truth at 1.6% acceptance, the median 93%).
        """
        with _one_thread() as torch:
            torch.manual_seed(self.seed if seed is None else seed)
            x = torch.as_tensor(np.atleast_2d(X_enc), dtype=torch.float32)
            members, weights = self.posterior.posteriors, self.posterior.weights
            batch, d = x.shape[0], len(self.priors)
            out = np.full((n, batch, d), np.nan)
            have = np.zeros(batch, dtype=np.int64)
            pending = np.arange(batch) if n > 0 else np.arange(0)
            if pending.size == 0:
                return out
            for r in range(MAX_SAMPLING_ROUNDS):
                # n draws an observation at first, doubling, at most ~200,000 draws a round
                m = max(n, min(n << r, SAMPLING_ROUND_DRAWS // pending.size))
                pick = torch.multinomial(weights, m * pending.size, replacement=True)
                pick = pick.numpy().reshape(m, pending.size)
                raw = np.empty((m, pending.size, d))
                for k in np.unique(pick):
                    mine = pick == k  # member k's draws, its j-th in each column from its j-th
                    rank = np.cumsum(mine, axis=0) - 1
                    got = members[k].sample_batched(
                        (int(rank[-1].max()) + 1,),
                        x=x[pending],
                        show_progress_bars=False,
                        reject_outside_prior=False,
                    )
                    rows, cols = np.nonzero(mine)
                    raw[rows, cols] = got.detach().numpy()[rank[rows, cols], cols]
                # each observation keeps its first draws inside the box, up to what it lacks
                inside = ((raw >= 0.0) & (raw <= 1.0)).all(axis=2)
                slot = have[pending] + np.cumsum(inside, axis=0) - 1  # where each would go
                rows, cols = np.nonzero(inside & (slot < n))
                out[slot[rows, cols], pending[cols]] = raw[rows, cols]
                have[pending] += np.bincount(cols, minlength=pending.size)
                pending = pending[have[pending] < n]
                if pending.size == 0:
                    return out
        raise ScenarioError(
            "posterior",
            f"{pending.size} observation(s)",
            f"have under {n} of their samples inside the prior's box after "
            f"{MAX_SAMPLING_ROUNDS} rounds of rejection: the posterior puts almost none of its "
            "mass where the prior allows (an observation far outside the simulations)",
        )


def fit(
    ts: TrainingSet,
    ensemble: int = DEFAULT_ENSEMBLE,
    seed: int = 0,
    progress: bool = False,
    max_epochs: int = 2000,
    estimator: str = "nsf",
    hidden: int = 50,
    transforms: int = 5,
) -> Ensemble:
    """Train ``ensemble`` NPEs (neural spline flows by default) on the training set;
    deterministic for a given seed."""
    if ensemble < 1:
        raise ScenarioError("--ensemble", ensemble, "must be >= 1")
    import warnings

    from tqdm.auto import tqdm

    with _one_thread() as torch:
        from sbi.inference import NPE, EnsemblePosterior
        from sbi.neural_nets import posterior_nn
        from sbi.utils import BoxUniform

        d = ts.u.shape[1]
        prior = BoxUniform(torch.zeros(d), torch.ones(d))
        theta = torch.as_tensor(ts.u, dtype=torch.float32)
        x = torch.as_tensor(ts.x, dtype=torch.float32)
        posteriors, members = [], []
        bar = tqdm(
            total=ensemble,
            desc="training NPEs",
            unit="net",
            disable=not progress,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        with bar, warnings.catch_warnings(), redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")  # sbi's advice on z-scoring and leakage
            # (sbi prints "Neural network successfully converged after N epochs." on stdout)
            for k in range(ensemble):
                torch.manual_seed(seed + k)
                t0 = time.process_time()
                build = posterior_nn(
                    model=estimator, hidden_features=hidden, num_transforms=transforms
                )
                npe = NPE(
                    prior=prior,
                    density_estimator=build,
                    show_progress_bars=False,
                    tracker=_NoTracker(),
                )
                est = npe.append_simulations(theta, x).train(max_num_epochs=max_epochs)
                posteriors.append(npe.build_posterior(est))
                summ = getattr(npe, "_summary", {})
                members.append(
                    {
                        "seed": seed + k,
                        "epochs": int((summ.get("epochs_trained") or [0])[-1]),
                        "best_validation_loss": float(
                            (summ.get("best_validation_loss") or [math.nan])[-1]
                        ),
                        "cpu_s": round(time.process_time() - t0, 2),
                    }
                )
                bar.update(1)
        post = EnsemblePosterior(posteriors)
    return Ensemble(post, members, seed, ts.encoding, ts.priors)


# --------------------------------------------------------------------------------------------
# The posterior file
# --------------------------------------------------------------------------------------------
def posterior_frame(
    samples_theta: np.ndarray, priors: Sequence[dict], core_draws: pd.DataFrame | None = None
) -> pd.DataFrame:
    """``sample``, one column per parameter and, for stage B, each sample's θ_core row."""
    df = pd.DataFrame(samples_theta, columns=[p["name"] for p in priors])
    df.insert(0, "sample", np.arange(len(df), dtype=np.int64))
    if core_draws is not None:
        for name in core_draws.columns:
            df[name] = core_draws[name].to_numpy()
    return df


def record_head(info: dict, method: str) -> dict:
    """What every posterior record starts with: the spec, targets, code and libraries."""
    from ecosystem.run import git_revision

    return {
        "kind": "aieco posterior",
        "method": method,
        "name": info["name"],
        "scenario": info["scenario"],
        "spec_hash": info["spec_hash"],
        "target_set": info["target_set"],
        "git_revision": git_revision(),
        "libraries": library_versions(),
    }


def write_posterior(path: str | Path, draws: pd.DataFrame, meta: dict) -> Path:
    """Write posterior draws and their record atomically (Parquet, metadata ``aieco.posterior``)."""
    import pyarrow as pa

    from ecosystem.outputs import write_parquet

    table = pa.Table.from_pandas(draws, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), POSTERIOR_KEY: json.dumps(meta, default=str).encode()}
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_parquet(table, path)


def read_posterior(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """(posterior rows incl. ``sample``, the posterior's record) of a posterior file."""
    import pyarrow.parquet as pq

    p = Path(path)
    if not p.is_file():
        raise ScenarioError("--posterior", str(path), "no such posterior file")
    try:
        table = pq.read_table(p)
        meta = json.loads((table.schema.metadata or {})[POSTERIOR_KEY])
    except Exception:  # noqa: BLE001 - any unreadable file is one line
        raise ScenarioError("--posterior", str(path), "is damaged or not a posterior") from None
    return table.to_pandas(), meta


def load_posterior(path: str | Path) -> pd.DataFrame:
    """The posterior's θ draws: one row per draw, one column per calibrated parameter (named as
    in the calibration spec; ``attrs['paths']`` maps each to its dotted scenario path and
    ``attrs['posterior']`` holds the whole record: spec hash, targets, git revision...)."""
    df, meta = read_posterior(path)
    names = [p["name"] for p in meta["parameters"]]
    out = df[names].reset_index(drop=True)
    out.attrs["paths"] = {p["name"]: p["path"] for p in meta["parameters"]}
    out.attrs["posterior"] = meta
    return out


def posterior_medians(path: str | Path) -> dict[str, float | int]:
    """Scenario overrides setting every parameter of a posterior to its median (the examples'
    "one typical parameter set"); an integer parameter (a stage-B city's 2025 stock) at its
    median rounded, as the draws round it (``experiments.draws``).

    A stage-B city's posterior (``core`` in its record) pairs each sample of the city's own
    inputs φ_c with the stage-A row θ_core it was drawn given, stored beside it; its medians are
    those of both, θ_core at the city's paths (stage A's city inputs mapped to this city, the
    excluded ones left at the preset), as its draws run them. Before, only φ_c's: a stage-B
    city ran the preset's hand-set core (no round plan), and Beijing's first-year VC money was
    ¥13bn against a predictive median inside its ¥27.5–37.5bn band."""
    df, record = read_posterior(path)
    core = (record.get("core") or {}).get("parameters", [])
    params = [*core, *record["parameters"]]
    return {
        q["path"]: as_run_value(m, bool(q.get("integer")))
        for q in params
        if q["name"] in df.columns and math.isfinite(m := float(df[q["name"]].median()))
    }


def median_run_changes(args) -> list[str]:
    """The overrides of an example script's run (``experiments.options.add_median_run_arguments``):
    every parameter of ``--posterior`` at its median (none with 'none'), then ``--set``."""
    medians = {} if args.posterior == "none" else posterior_medians(args.posterior)
    return [f"{k}={v}" for k, v in medians.items()] + list(args.set)


def median_run_variants(args) -> list[tuple[str, list[str]]]:
    """(name, overrides) of the base run (``median_run_changes``) and of each ``--variant``: the
    base's overrides plus that one change."""
    base = median_run_changes(args)
    return [("base", base)] + [(v, [*base, v]) for v in args.variant]


def median_run_scenarios(args) -> list[tuple[str, object]]:
    """(name, scenario) of each of :func:`median_run_variants` on ``args.preset``, every one
    loaded and validated before any run (ScenarioError, one line, on a bad value)."""
    from ecosystem import load_scenario

    return [(name, load_scenario(args.preset, c)) for name, c in median_run_variants(args)]


def infer(
    df: pd.DataFrame,
    info: dict,
    *,
    statistics: Sequence[str] | None = None,
    nan: str = "indicator",
    ensemble: int = DEFAULT_ENSEMBLE,
    samples: int = DEFAULT_SAMPLES,
    seed: int | None = None,
    progress: bool = False,
    store_path: str = "",
    core_draws: pd.DataFrame | None = None,
    condition: str = "point",
) -> tuple[pd.DataFrame, dict]:
    """Train on a store and condition on its observed targets: (posterior draws, record);
    ``condition``: on each observed value (``point``) or on each band (``band``, ``normal``;
    module docstring).

    A stage-B store (``info['core']``) needs ``core_draws``: one stage-A posterior row per
    sample (columns: the core names and ``core_row``), paired with the φ samples. Mode
    ``conditional`` trains q(φ | x, θ_core) with θ_core (as prior quantiles) among the inputs
    and draws each sample's φ given x_o and its own θ_core row: the cut posterior
    p_A(θ_core) · p(φ | θ_core, x_o). Mode ``marginal`` trains q(φ | x) (θ_core integrated over
    p_A) and pairs the samples with independent θ_core rows."""
    if samples < 1:
        raise ScenarioError("--samples", samples, "must be >= 1")
    seed = int(info.get("root_seed", 0)) if seed is None else seed
    core = info.get("core")
    mode = core["mode"] if core else None
    context: list[str] = []
    if core:
        if core_draws is None or len(core_draws) != samples:
            raise ValueError("a stage-B store needs one θ_core row per posterior sample")
        core_names = [q["name"] for q in core["parameters"]]
        if mode == "conditional":
            df = df.copy()
            U = to_unit(df[core_names].to_numpy(float), core["parameters"])
            for j, name in enumerate(core_names):
                df[CONTEXT + name] = U[:, j]
                context.append(CONTEXT + name)
    ts = training_set(df, info, statistics, nan, context, condition, seed)
    stats = [s for s in ts.encoding.statistics if s not in context]
    x_o_raw = observed_vector(info, stats)
    x_o = ts.encoding.encode(x_o_raw) if not context else None
    warnings_ = []
    for name, why in ts.encoding.dropped.items():
        if why.startswith("constant") and not name.endswith(MISSING):
            value = x_o_raw[0, stats.index(name)]
            sim = df.loc[df["status"] == "ok", name].dropna()
            if len(sim) and not np.isclose(value, sim.iloc[0]):
                warnings_.append(
                    f"{name}: every simulation gives {sim.iloc[0]:g}, the target {value:g}"
                )
    t0 = time.perf_counter()
    ens = fit(ts, ensemble=ensemble, seed=seed, progress=progress)
    if core is None:
        u = ens.sample_unit(x_o, samples)
    elif mode == "conditional":  # one φ per θ_core row: q(φ | x_o, θ_core), the cut posterior
        ctx = to_unit(core_draws[core_names].to_numpy(float), core["parameters"])
        raw = np.hstack([np.repeat(x_o_raw, len(ctx), axis=0), ctx])
        u = ens.sample_unit_batched(ts.encoding.encode(raw), 1)[0]
    else:  # marginal: q(φ | x_o) with θ_core integrated out in training, paired afterwards
        u = ens.sample_unit(x_o, samples)
    theta = from_unit(u, ts.priors)
    revisions = sorted({str(r) for r in df["git_revision"].dropna().unique()})
    frame = posterior_frame(theta, ts.priors, core_draws if core else None)
    method = "NPE (sbi), ensemble of neural spline flows on the unit prior box"
    if condition != "point":
        how = "uniform" if condition == "band" else "normal, the band a 90% interval"
        method += f", conditioned on the targets' bands ({how} errors)"
    meta = npe_record(
        info,
        method,
        ts,
        ens,
        stats,
        x_o_raw,
        seed=seed,
        samples=samples,
        warnings=warnings_,
        core=core,
        context=context,
        store=store_path,
        store_git_revisions=revisions,
        training_wall_s=round(time.perf_counter() - t0, 2),
        conditioning=condition,
    )
    return frame, meta


def npe_record(
    info: dict,
    method: str,
    ts: TrainingSet,
    ens: Ensemble,
    stats: Sequence[str],
    x_o_raw: np.ndarray,
    *,
    seed: int,
    samples: int,
    warnings: Sequence[str] = (),
    core: dict | None = None,
    context: Sequence[str] = (),
    **provenance,
) -> dict:
    """The record written with a posterior an NPE ensemble ``ens`` fitted on ``ts`` drew,
    conditioned on ``x_o_raw`` (the observed ``stats``); ``provenance`` (the store, its
    revisions, the training time) follows the head."""
    by = {t["name"]: t for t in info["statistics"]}
    return {
        **record_head(info, method),
        **provenance,
        "seed": seed,
        "ensemble": ens.members,
        "samples": samples,
        "parameters": ts.priors,
        "targets": [by[s] for s in stats],
        "observed": {s: float(x_o_raw[0, i]) for i, s in enumerate(stats)},
        "warnings": list(warnings),
        "calibrated": True,
        "core": core,
        "context": list(context),
        **ts.describe(),
    }


def format_posterior(draws: pd.DataFrame, meta: dict, level: float = 0.9) -> str:
    """Per parameter: prior range, posterior median and central interval, interval width as a
    share of the prior's (in prior quantiles: 90% means the data told little)."""
    q = (1 - level) / 2
    pct = f"{level:.0%}"
    if "accepted" in meta:  # experiments.calibrate.rejection_posterior
        how = (
            f"rejection ABC: the {meta['accepted']} of {meta['trained_on']} ok simulations "
            f"(share {meta['accept_share']:.3g}) nearest the targets, band-scaled distance ≤ "
            f"{meta['max_distance']:.3g}, of {meta['simulations']} ({meta['failed']} failed)"
        )
    else:
        how = (
            f"ensemble of {len(meta['ensemble'])} NPEs on {meta['trained_on']} of "
            f"{meta['simulations']} simulations ({meta['failed']} failed), NaN policy "
            f"{meta['nan_policy']}, conditioning {meta.get('conditioning', 'point')}"
        )
    dropped = meta.get("encoding", {}).get("dropped", {})
    lines = [
        f"Posterior of `{meta['name']}`: {len(draws)} draws, {how}; spec {meta['spec_hash']}, "
        f"targets {meta['target_set']}.",
        "Conditioned on: "
        + ", ".join(f"{k} = {v:g}" for k, v in meta["observed"].items())
        + (f"; dropped: {', '.join(f'{k} ({v})' for k, v in dropped.items())}" if dropped else ""),
        "",
        f"| parameter | prior | median | {pct} interval | width / prior width |",
        "|---|---|---|---|---|",
    ]
    U = to_unit(draws[[p["name"] for p in meta["parameters"]]].to_numpy(float), meta["parameters"])
    for j, p in enumerate(meta["parameters"]):
        v = draws[p["name"]].to_numpy(float)
        lo, med, hi = np.quantile(v, [q, 0.5, 1 - q])
        ulo, uhi = np.quantile(U[:, j], [q, 1 - q])
        kind = "log-uniform" if p["prior"] == "log_uniform" else "uniform"
        lines.append(
            f"| {p['name']} | {kind} [{p['low']:.4g}, {p['high']:.4g}] | {med:.4g} | "
            f"{lo:.4g}–{hi:.4g} | {uhi - ulo:.0%} |"
        )
    if meta["failed"]:
        where = ", ".join(f"{k} {v:.2f}" for k, v in meta["failed_median_prior_quantile"].items())
        lines.append(
            f"\nFailed simulations: {meta['failed']} ({meta['failed_share']:.1%}); median prior "
            f"quantile among them: {where} (0.50 = no pattern)."
        )
    core = meta.get("core")
    if core:
        lines.append(
            f"\nθ_core: {len(core['parameters'])} parameters drawn from stage A's posterior "
            f"{core['posterior']} (spec {core['stage_a_spec_hash']}, targets "
            f"{core['stage_a_target_set']}), mode {core['mode']}; this city's statistics do not "
            "update it (cut posterior)."
        )
    for w in meta["warnings"]:
        lines.append(f"warning: {w}")
    return "\n".join(lines)


def prior_posterior(info: dict, theta: np.ndarray, core_draws: pd.DataFrame | None) -> tuple:
    """The "posterior" of a spec with no observed quantity: its prior (φ draws ``theta``) with
    θ_core rows of stage A, recorded as not calibrated. (posterior draws, record)"""
    priors = list(info["parameters"])
    frame = posterior_frame(np.asarray(theta, dtype=float), priors, core_draws)
    meta = {
        **record_head(info, "prior (no observed quantity): φ from its prior, θ_core from stage A"),
        "store": "",
        "store_git_revisions": [],
        "samples": len(frame),
        "parameters": priors,
        "targets": [],
        "observed": {},
        "warnings": [],
        "calibrated": False,
        "no_target_reason": info.get("no_target_reason", ""),
        "core": info.get("core"),
    }
    return frame, meta


# --------------------------------------------------------------------------------------------
# Simulation-based calibration (coverage of central credible intervals)
# --------------------------------------------------------------------------------------------
@dataclass
class Coverage:
    parameters: list[str]
    n: int
    level: float
    inside: np.ndarray  # (truths × d) bool
    ranks: np.ndarray  # (truths × d) posterior samples below the truth
    samples: int

    @property
    def counts(self) -> dict[str, int]:
        return {p: int(self.inside[:, j].sum()) for j, p in enumerate(self.parameters)}

    def band(self, confidence: float = 0.99) -> tuple[int, int]:
        return binomial_band(self.n, self.level, confidence)

    def passes(self, confidence: float = 0.99) -> bool:
        lo, hi = self.band(confidence)
        return all(lo <= c <= hi for c in self.counts.values())

    def table(self, confidence: float = 0.99) -> str:
        lo, hi = self.band(confidence)
        rows = [
            f"SBC: {self.n} synthetic truths, {self.samples} posterior samples each; truths inside "
            f"the central {self.level:.0%} credible interval (binomial {confidence:.0%} band "
            f"[{lo}, {hi}]):",
            "| parameter | inside | coverage | in band | rank KS p |",
            "|---|---|---|---|---|",
        ]
        for j, p in enumerate(self.parameters):
            c = int(self.inside[:, j].sum())
            rows.append(
                f"| {p} | {c} / {self.n} | {c / self.n:.3f} | "
                f"{'yes' if lo <= c <= hi else '**no**'} | {self.rank_p()[j]:.3g} |"
            )
        return "\n".join(rows)

    def rank_p(self) -> list[float]:
        """Kolmogorov-Smirnov p-value of each parameter's normalised ranks against uniform."""
        from scipy.stats import kstest

        r = (self.ranks + 0.5) / (self.samples + 1)
        return [float(kstest(r[:, j], "uniform").pvalue) for j in range(r.shape[1])]


def binomial_band(n: int, p: float = 0.9, confidence: float = 0.99) -> tuple[int, int]:
    """Central ``confidence`` interval of a Binomial(n, p) count (scipy)."""
    from scipy.stats import binom

    lo, hi = binom.interval(confidence, n, p)
    return int(lo), int(hi)


def coverage(
    sampler: Callable[[np.ndarray, int], np.ndarray],
    u_true: np.ndarray,
    x_enc: np.ndarray,
    parameters: Sequence[str],
    samples: int = 500,
    level: float = 0.9,
) -> Coverage:
    """Count truths inside their central credible interval: ``sampler(X_enc, n)`` returns
    (n × truths × d) posterior samples in prior quantiles
    (e.g. ``Ensemble.sample_unit_batched``)."""
    S = np.asarray(sampler(x_enc, samples))
    q = (1 - level) / 2
    lo, hi = np.quantile(S, [q, 1 - q], axis=0)  # (truths × d) each
    inside = (u_true >= lo) & (u_true <= hi)
    ranks = (S < u_true[None, :, :]).sum(axis=0)
    return Coverage(list(parameters), len(u_true), level, inside, ranks, samples)
