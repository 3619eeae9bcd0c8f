"""Parameter uncertainty beside seed noise: D parameter draws × S seeds, and what they show apart.

Every interval ``aieco compare``, ``aieco policy`` and ``aieco run --replicates`` print covers
seed noise; with ``--param-draws D`` it covers parameter uncertainty too (issue 11 point 4,
design ``docs/design/causal-core.md`` §9.4; the decomposition is ``docs/outputs.md``,
"Parameter uncertainty").

**The design.** D parameter draws θ_1 … θ_D, each run with its own S seeds (nested: replicate
m·S + r, seed ``replicate_seeds(root, D·S)[m·S + r]``, the seed a seeds-only run of D·S
replicates gives that replicate): D·S runs per scenario and D·S distinct seeds, so the D
per-draw means are independent and a t interval over them covers seed noise as well as
parameters. Every arm of a comparison (policy variant, transplant, baseline) runs the same
(θ_m, seed) pairs, so policy effects are paired twice: common random numbers and common
parameter draws.

**Where draws come from.** The parameters are those of a calibration spec
(``experiments/calibration/<city>.toml``, default ``hangzhou``: its behavioural parameters).
A parameter of one region (``regions.hangzhou.talent.…``) is drawn for the spec's city under its
own name and copied to every other city of the scenario with the same field as
``<name>_<city>``: in a stage-A spec (no ``[core]``) such a parameter is **pooled**, as stage B
of the calibration applies it (``same_as``: every city's copy takes the spec city's value; with
the spec city absent the copy is drawn from the city's documented range, or filled from the
stage-A posterior's column: ``pooled_with``); in a stage-B spec it is that city's own input and
each other city draws its own, independently. Then every city of the scenario with a stage-B
spec draws that spec's own inputs φ_c (initial stock, market potential, VC pool:
``calibrate.stage_b_inputs``) as ``<name>_<city>``, independently between cities; an input the
experiment itself sets is left to it (a note says so). With ``--assumptions all`` (or path
prefixes) every documented assumption of the scenario it names is drawn too, independently
from its documented range (``experiments.assumptions``; never a policy setting): otherwise they
stay at their values and every source line says so (:data:`LEFT_OUT`); ``--screen`` keeps only
the draws that fit the calibration targets as well as the posterior does
(``experiments.screen``). With ``--posterior prior`` every θ is drawn from its prior (the
spec's range, or the documented range of the scenario; log-uniform over more than a decade:
``experiments.calibrate``). With ``--posterior FILE`` the parameters the file has columns for
are drawn from it and the rest from their priors; with the stage-A posterior, a city whose
shipped stage-B posterior was calibrated on it takes its own inputs from that file, joined on
the stage-A row (:func:`city_joins`).

**Which posterior** (:func:`resolve_posterior`). ``--posterior`` takes a ``.parquet`` file, the
name of a shipped posterior (``hangzhou``: ``experiments/calibration/posteriors/hangzhou.parquet``)
or ``preset``: the posterior the scenario names (``meta.posterior``, a name or a path); a scenario
that names none (the national ``china``, the other cities today) takes the one named by the
calibration spec's own preset (``--param-spec``, default hangzhou), since the draws are of that
spec's parameters. A named posterior without a file is not an error: the draws then come from the
priors and the output says "no posterior for CITY: parameters from their prior ranges". The
commands' default is ``preset`` whenever parameters are drawn (``options.posterior_choice``);
``prior`` draws every parameter from its prior. :class:`DrawSource` is what the printed
output and the manifests say about the draws' origin: the file, its SHA-256, its git revision
and where to read its posterior predictive check (``docs/calibration.md``, which says which of
its targets each misses).

**Posterior format** (until the inference step ships its own loader): a Parquet file with one
row per posterior sample, one float column per parameter named as in the spec
(``nest_rho``, ``outside_option``, …), and optionally a ``weight`` column (importance weights,
≥ 0, not all 0; default equal). Other columns (``draw``, ``git_revision``, …) are ignored.

**Reproducible.** Parameter ``name`` in draw m takes the uniform of
``SeedSequence(root_seed, spawn_key=(THETA_KEY, m, crc32(name)))`` through its prior's quantile
function; the posterior row of draw m is chosen (with probability ∝ weight) by
``SeedSequence(root_seed, spawn_key=(THETA_KEY, m))``. A value depends only on the root seed, m
and the parameter's name: not on D, the other parameters, the engine or the worker count, so the
same draw gives Hangzhou's parameters the same values in a national and a single-city run.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ecosystem.scenario import ScenarioError, apply_overrides, strip_provenance
from ecosystem.scenario.schema import POSTERIOR_NAME
from experiments.assumptions import ALL, assumption_priors, is_assumption, parse_selection
from experiments.calibrate import (
    REGION_PATH,
    SPEC_DIR,
    Prior,
    ThetaSpec,
    _prior,
    file_sha256,
    load_spec,
    stage_b_inputs,
)
from experiments.draws import _value, draw_table, read_posterior
from experiments.options import DEFAULT_SPEC, PRESET, PRIOR
from experiments.parameters import RunTask, replicate_seeds, run_id
from experiments.spec import Experiment, load_scenario_document

MAX_DRAWS = 100_000

#: Central level of the seed, parameter and total ranges (as ``aieco compare``'s 5–95%).
LEVEL = 0.90
#: Bootstrap replicates and level of the probability intervals.
BOOTSTRAP = 1000
P_LEVEL = 0.95
#: Where the shipped posteriors are: ``<name>.parquet`` (package data).
POSTERIOR_DIR = SPEC_DIR / "posteriors"
#: Where a posterior's predictive check is read (what it meets and misses).
PPC_DOC = "docs/calibration.md"
#: The page that measures the assumptions the parameter draws hold at their values.
SENSITIVITY_DOC = "docs/sensitivity.md"
#: What every interval's parameter draws leave out (said wherever one is shown).
LEFT_OUT = (
    "Every other documented assumption (a range but no data, outside the calibration spec) "
    f"stays at its value: how much those move the outcomes is measured apart in "
    f"{SENSITIVITY_DOC}, not in these intervals."
)
#: What the commands add: the option that draws them too.
ASSUMPTIONS_HINT = "(--assumptions all draws them from their ranges too.)"
#: What drawing them means (said wherever such an interval is printed).
ASSUMPTIONS_CAVEAT = (
    "each independently over its documented range (uniform; log-uniform over more than a "
    "decade): no data ties them to the calibration targets, so corners the calibration would "
    f"reject are drawn as often as any other ({SENSITIVITY_DOC} traces one, a migration boom)"
)


# --------------------------------------------------------------------------------------------
# Where the draws come from: a posterior file, or the priors
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DrawSource:
    """The origin of parameter draws, as printed and recorded: a posterior file (its name,
    path, SHA-256 and the git revision it was inferred at) or the priors (with why, e.g. "no
    posterior for chengdu")."""

    kind: str  # "posterior" or "prior"
    name: str | None = None
    path: str | None = None
    revision: str | None = None
    sha256: str | None = None
    note: str | None = None

    @property
    def is_posterior(self) -> bool:
        return self.kind == "posterior"

    def short(self) -> str:
        """``calibrated posterior (Hangzhou, revision 5b6ff81)`` or ``prior ranges``."""
        if not self.is_posterior:
            return "prior ranges"
        who = (self.name or Path(self.path or "").stem).replace("_", " ").title()
        rev = f", revision {self.revision}" if self.revision else ""
        return f"calibrated posterior ({who}{rev})"

    def text(self) -> str:
        """One sentence for a terminal or a page: the source and where its check is."""
        if not self.is_posterior:
            return self.note or "the prior ranges (no posterior used)"
        sha = f", sha256 {self.sha256[:12]}" if self.sha256 else ""
        why = f" ({self.note})" if self.note else ""
        return (
            f"{self.short()} from {self.path}{sha}{why}: the best compromise of the model against "
            f"its targets, not a proof that it meets them; its posterior predictive check (which "
            f"targets it misses) is in {PPC_DOC}"
        )

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "name": self.name,
            "path": self.path,
            "git_revision": self.revision,
            "sha256": self.sha256,
            "note": self.note,
            "check": PPC_DOC if self.is_posterior else None,
            "label": self.short(),
        }


PRIORS = DrawSource("prior")


def _short_revision(rev: str | None) -> str | None:
    if not rev:
        return None
    head, dirty = (rev[:-6], "-dirty") if rev.endswith("-dirty") else (rev, "")
    return head[:7] + dirty


def posterior_source(path: str | Path, name: str | None = None) -> DrawSource:
    """The :class:`DrawSource` of a posterior file (its record's name and git revision when
    ``aieco calibrate --infer`` wrote it). ScenarioError if it is not a file."""
    import pyarrow.parquet as pq

    from experiments.inference import POSTERIOR_KEY

    p = Path(path)
    if not p.is_file():
        raise ScenarioError("--posterior", str(path), "file not found")
    record: dict = {}
    try:
        meta = pq.read_schema(p).metadata or {}
        if POSTERIOR_KEY in meta:
            record = json.loads(meta[POSTERIOR_KEY])
    except Exception:  # noqa: BLE001 - read_posterior says what is wrong with the file
        record = {}
    digest = file_sha256(p)
    return DrawSource(
        "posterior",
        name=name or record.get("name") or p.stem,
        path=str(path),
        revision=_short_revision(record.get("git_revision")),
        sha256=digest,
    )


def shipped_posterior(name: str) -> Path:
    """The shipped file of posterior ``name`` (which may not exist)."""
    return POSTERIOR_DIR / f"{name}.parquet"


def add_median_arguments(ap, set_help: str) -> None:
    """The options of the example scripts that run a scenario at a shipped posterior's medians:
    --scenario, --posterior, --prior, --years, --seeds and --set (read by
    :func:`median_overrides`)."""
    ap.add_argument("--scenario", default="hangzhou")
    ap.add_argument(
        "--posterior", default="hangzhou", help="shipped posterior whose medians set the parameters"
    )
    ap.add_argument("--prior", action="store_true", help="the preset's own values (no posterior)")
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=set_help
    )


def median_overrides(args) -> dict:
    """The scenario overrides :func:`add_median_arguments`'s options ask for: the posterior's
    medians (none with --prior), then each --set."""
    from ecosystem.scenario import parse_overrides
    from experiments.inference import posterior_medians

    out = {} if args.prior else posterior_medians(shipped_posterior(args.posterior))
    return {**out, **parse_overrides(args.overrides)}


def shipped_posteriors() -> list[str]:
    return sorted(p.stem for p in POSTERIOR_DIR.glob("*.parquet"))


def named_posterior(value: str) -> DrawSource:
    """A scenario's ``meta.posterior``: a name (its shipped file, or the priors with a note
    when there is none) or a path (which must exist: the scenario asked for that file)."""
    if POSTERIOR_NAME.fullmatch(value):
        f = shipped_posterior(value)
        if not f.is_file():
            return DrawSource(
                "prior",
                name=value,
                note=f"no posterior for {value}: parameters from their prior ranges",
            )
        return posterior_source(_display_path(f), value)
    return posterior_source(value)


def _display_path(f: Path) -> str:
    """A shipped file as ``experiments/calibration/posteriors/X.parquet`` when run from a
    checkout (relative to the working folder), else its absolute path."""
    try:
        return str(f.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(f)


def scenario_posterior(doc: dict, key: str = "posterior") -> str | None:
    """The ``meta.posterior`` a scenario document names (None if none; ``key="name"``: its
    name)."""
    plain, _ = strip_provenance(doc.get("meta") or {})
    v = plain.get(key) if isinstance(plain, dict) else None
    return str(v) if v else None


def resolve_posterior(option: str | None, doc: dict, spec: str = DEFAULT_SPEC) -> DrawSource:
    """Where the draws of scenario ``doc`` come from, given ``--posterior`` (None or ``prior``:
    the priors; a ``.parquet`` path; a shipped posterior's name; or ``preset``: the one ``doc``
    names, else the one the calibration spec's preset names). ScenarioError for an unknown name
    or a missing file the user typed."""
    if option is None or option == PRIOR:
        return PRIORS
    if option == PRESET:
        own = scenario_posterior(doc)
        if own is not None:
            return named_posterior(own)
        base = scenario_posterior(load_spec(spec).base_document)
        label = scenario_posterior(doc, "name") or "the scenario"
        if base is None:
            return DrawSource(
                "prior",
                note=f"no posterior for {label} (its meta.posterior is not set, nor the "
                f"calibration spec {spec}'s): parameters from their prior ranges",
            )
        src = named_posterior(base)
        note = (
            f"{label} names no posterior: the calibration spec {spec}'s ({base}) is used, since "
            "the draws are of that spec's parameters"
        )
        return DrawSource(**{**src.__dict__, "note": (src.note or note)})
    if POSTERIOR_NAME.fullmatch(option) and not Path(option).is_file():
        if not shipped_posterior(option).is_file():
            have = ", ".join(shipped_posteriors()) or "none"
            raise ScenarioError(
                "--posterior",
                option,
                f"no shipped posterior of that name (shipped: {have}); give a .parquet file "
                f"or '{PRESET}'",
            )
        return named_posterior(option)
    return posterior_source(option)


@dataclass(frozen=True)
class CityJoin:
    """A city's stage-B posterior joined to the stage-A posterior the draws come from: its own
    inputs φ_c for each stage-A row (``core_row``), as the draws' parameter names."""

    city: str
    path: str
    by_row: pd.DataFrame  # index: core_row; columns: the draws' names of φ_c


def city_joins(source: DrawSource, priors: list[Prior]) -> list[CityJoin]:
    """The shipped stage-B posteriors whose θ_core is ``source`` (same file, by SHA-256) and
    whose inputs φ_c are among ``priors`` (by path). Sample k of a city's posterior is φ_c drawn
    given stage-A row k (``calibrate.Core.sample_rows``), so a draw that takes stage-A row r
    takes, in every such city, φ_c of its sample with ``core_row`` r: the cut posterior
    p_A(θ_core) · Π_c p(φ_c | θ_core, x_c), as the cities were calibrated one by one."""
    from experiments.inference import read_posterior as read_record

    if not source.is_posterior or not source.sha256:
        return []
    by_path = {q.path: q.name for q in priors}
    out = []
    for f in sorted(POSTERIOR_DIR.glob("*.parquet")):
        try:
            df, record = read_record(f)
        except ScenarioError:
            continue
        core = record.get("core") or {}
        if core.get("sha256") != source.sha256 or "core_row" not in df.columns:
            continue
        if not record.get("calibrated", True):  # a city with no observed quantity: its prior
            continue
        cols = {
            q["name"]: by_path[q["path"]]
            for q in record.get("parameters", [])
            if q.get("path") in by_path and q["name"] in df.columns
        }
        if cols:
            first = df.drop_duplicates("core_row").set_index("core_row")
            out.append(CityJoin(f.stem, _display_path(f), first[list(cols)].rename(columns=cols)))
    return out


def join_cities(table: pd.DataFrame, joins: list[CityJoin], priors: list[Prior]) -> pd.DataFrame:
    """``table`` (a draw table with ``posterior_row``) with each joined city's φ_c taken from
    its posterior sample of the same stage-A row (kept from the prior where it has none)."""
    if not joins or "posterior_row" not in table.columns:
        return table
    table = table.copy()
    kind = {p.name: p for p in priors}
    for j in joins:
        rows = table["posterior_row"].to_numpy()
        hit = np.isin(rows, j.by_row.index.to_numpy())
        for c in j.by_row.columns:
            values = j.by_row[c].reindex(rows[hit]).to_numpy()
            table.loc[hit, c] = [_value(kind[c], v) for v in values]
    return table


# --------------------------------------------------------------------------------------------
# Which parameters, from which distribution
# --------------------------------------------------------------------------------------------
@dataclass
class DrawDesign:
    """D parameter draws × S seeds over a scenario's uncertain parameters."""

    priors: list[Prior]
    draws: int
    seeds_per_draw: int
    root_seed: int
    spec: str = DEFAULT_SPEC
    posterior: str | None = None
    posterior_names: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _posterior_table: pd.DataFrame | None = field(default=None, repr=False)
    source: DrawSource = PRIORS
    #: the cities whose own inputs come from their stage-B posterior (:func:`city_joins`)
    joins: list[CityJoin] = field(default_factory=list)
    #: ``--assumptions`` as given (``("all",)`` or path prefixes; () = none)
    assumptions: tuple[str, ...] = ()
    #: ``--screen``'s verdict (``experiments.screen.Screen``): only its kept draws run
    screen: object | None = None
    #: the posterior row of each draw, when fixed (``every_row``); None: drawn by weight
    fixed_rows: tuple[int, ...] | None = None

    def holding(self, held: list[Prior], why: str) -> DrawDesign:
        """This design without the priors ``held`` and their pooled copies (``same_as``): their
        values are set elsewhere, so they are not drawn. Every other parameter keeps its draws
        (a value depends only on the root seed, the draw and the parameter's name), and a note
        says ``why``, with the paths left out."""
        names = {p.name for p in held}
        gone = [p for p in self.priors if p.name in names or p.same_as in names]
        if not gone:
            return self
        return replace(
            self,
            priors=[p for p in self.priors if p not in gone],
            notes=[*self.notes, f"{why}, not drawn: " + ", ".join(p.path for p in gone)],
        )

    @property
    def posterior_weights(self) -> np.ndarray | None:
        """The posterior rows' weights (summing to 1), None when the draws come from priors."""
        t = self._posterior_table
        return None if t is None else t["weight"].to_numpy(dtype=float)

    def every_row(self, first: int | None = None) -> DrawDesign:
        """This design with draw m = posterior row m, each row once (the first ``first`` rows,
        or all): its seeds, joined cities' inputs and pooled copies as any draw's. ScenarioError
        without a posterior, or when a parameter would come from its prior (a row fixes no value
        for it)."""
        if self._posterior_table is None:
            raise ScenarioError("--posterior", self.source.short(), "gives no posterior rows")
        loose = [p.name for p in self.priors if p.name not in set(self.from_posterior)]
        if loose:
            raise ScenarioError(
                "--posterior",
                str(self.posterior),
                "does not fix every drawn parameter (from their priors: "
                + ", ".join(loose[:5])
                + (", …" if len(loose) > 5 else "")
                + ")",
            )
        n = len(self._posterior_table)
        n = n if first is None else min(int(first), n)
        return replace(self, draws=n, fixed_rows=tuple(range(n)), screen=None)

    @property
    def kept(self) -> list[int]:
        """The draws that run: all, or those the screen kept."""
        return list(range(self.draws)) if self.screen is None else self.screen.kept

    @property
    def assumption_names(self) -> list[str]:
        """The documented assumptions among the priors (``experiments.assumptions``)."""
        return [p.name for p in self.priors if is_assumption(p)]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.priors]

    @cached_property
    def seeds(self) -> list[int]:
        """One seed per replicate (draw · S + seed index), the same in every arm: draw m runs
        seeds m·S … m·S + S − 1, so no two draws share one (seeds nested in draws)."""
        return replicate_seeds(self.root_seed, self.draws * self.seeds_per_draw)

    @cached_property
    def table(self) -> pd.DataFrame:
        """(D × parameters) values, one row per draw (``draw`` = row number)."""
        table = draw_table(
            self.priors,
            self.draws,
            self.root_seed,
            self._posterior_table,
            self.posterior_names,
            self.fixed_rows,
        )
        return join_cities(table, self.joins, self.priors)

    @cached_property
    def from_posterior(self) -> list[str]:
        """Names of the parameters the posterior gives: its own columns, the pooled copies of
        them (``Prior.same_as``) and the joined cities' inputs; the rest come from priors."""
        given = set(self.posterior_names).union(*(j.by_row.columns for j in self.joins))
        pooled = {p.name: getattr(p, "same_as", "") for p in self.priors}
        return [p.name for p in self.priors if p.name in given or pooled[p.name] in given]

    def overrides(self, m: int) -> dict:
        """Draw m as scenario overrides (path → value)."""
        row = self.table.iloc[m]
        return {p.path: _value(p, row[p.name]) for p in self.priors}

    def params(self, m: int) -> dict:
        row = self.table.iloc[m]
        return {p.name: _value(p, row[p.name]) for p in self.priors}

    def run_seeds(self) -> list[int]:
        """The seed of every run, in replicate order (the kept draws' S seeds each)."""
        return [s for *_, s in self.pairs()]

    def pairs(self) -> list[tuple[int, int, int]]:
        """(draw, seed index, seed) of every run, draw-major; replicate = draw · S + seed index."""
        S = self.seeds_per_draw
        return [(m, r, self.seeds[m * S + r]) for m in self.kept for r in range(S)]

    def describe(self) -> dict:
        """What manifests record."""
        return {
            "draws": self.draws,
            "seeds_per_draw": self.seeds_per_draw,
            "root_seed": self.root_seed,
            "spec": self.spec,
            "posterior": self.posterior,
            "source": self.source.as_dict(),
            "posterior_parameters": list(self.posterior_names),
            "joined_city_posteriors": {j.city: j.path for j in self.joins},
            "assumptions": list(self.assumptions),
            "assumption_parameters": list(self.assumption_names),
            "screen": self.screen.as_dict() if self.screen is not None else None,
            "replicate": "draw * seeds_per_draw + seed index",
            "seeds": self.run_seeds(),
            "parameters": [p.as_dict() for p in self.priors],
            "table": self.table.to_dict(orient="list"),
            "notes": list(self.notes),
        }

    def label(self) -> str:
        a = len(self.assumption_names)
        n = len(self.priors) - a
        if self.source.is_posterior:
            k = len(self.from_posterior)
            src = (
                f"all from the {self.source.short()}"
                if k == n
                else f"{k} from the {self.source.short()}, {n - k} from their prior ranges "
                f"(spec {self.spec})"
            )
        else:
            src = f"prior ranges of spec {self.spec}"
        what = f"{n} parameters: {src}"
        if a:
            what = f"{n} spec parameters: {src}; {a} documented assumptions from their ranges"
        drawn = f"{self.draws} parameter draws"
        if self.screen is not None:
            drawn = f"{len(self.kept)} parameter draws kept by the screen of {self.draws}"
        return f"{drawn} ({what}) × {self.seeds_per_draw} seeds"

    def source_line(self) -> str:
        """``Parameter draws from: ...`` (one line; what the commands print), and what the
        draws leave out: the documented assumptions ``--assumptions`` did not name stay at
        their values; those it named are drawn from their ranges, independently."""
        text = f"Parameter draws from: {self.source.text()}."
        a = len(self.assumption_names)
        if not a:
            return f"{text} {LEFT_OUT} {ASSUMPTIONS_HINT}"
        which = (
            f"all {a}"
            if self.assumptions == (ALL,)
            else f"{a}, under " + ", ".join(self.assumptions)
        )
        if self.screen is None:
            text += f" Documented assumptions drawn too ({which}), {ASSUMPTIONS_CAVEAT}."
        else:
            text += f" Documented assumptions drawn too ({which}). {self.screen.line()}"
        if self.assumptions != (ALL,):
            text += " The other documented assumptions stay at their values."
        return text


def scenario_priors(
    doc: dict, spec: str = DEFAULT_SPEC, assumptions: tuple[str, ...] = ()
) -> tuple[list[Prior], list[str]]:
    """The uncertain parameters of a scenario document (annotated) and notes on what was left
    fixed: the calibration spec's parameters, region ones mapped onto every city of ``doc``,
    then every city's own inputs φ_c of its stage-B spec (``calibrate.stage_b_inputs``), then
    the documented assumptions ``assumptions`` names (``experiments.assumptions``: ``("all",)``
    or path prefixes), each over its documented range."""
    from ecosystem.scenario import scenario_from_dict

    cal = load_spec(spec)
    plain, _ = strip_provenance(doc)
    scenario_from_dict(doc)  # a broken scenario fails here, before any prior
    kinds = {
        rid: str(r.get("kind", "city"))
        for rid, r in (plain.get("regions") or {}).items()
        if isinstance(r, dict)
    }
    cities = [rid for rid, k in kinds.items() if k == "city"]
    ts_of = {name: ts for name, ts in cal.spec.parameters.items()}
    # A stage-A spec's city parameters are pooled (stage B applies its value to every city:
    # docs/calibration-method.md, "Stage B"); a stage-B spec's are that city's own inputs.
    pooled = cal.spec.core is None
    priors: list[Prior] = []
    notes: list[str] = []

    def add(name: str, path: str, ts: ThetaSpec, **tie) -> None:
        try:
            priors.append(replace(_prior(name, ts, doc, plain), **tie))
        except (ScenarioError, KeyError, TypeError) as exc:
            notes.append(f"{path} stays fixed: {exc}")

    for p in cal.priors:
        m = REGION_PATH.match(p.path)
        if m is None:
            _check_path(doc, p.path, f"{cal.source}: parameters.{p.name}.path")
            priors.append(p)
            continue
        home, rest = m.groups()
        if pooled and not p.pooled:  # the spec city's own input: that city only
            if home in cities:
                priors.append(p)
            else:
                notes.append(
                    f"{p.name} is not drawn: {home}'s own input ({p.path}, pooled = false in "
                    f"{cal.source}), and {home} is not in this scenario"
                )
            continue
        tie = {"pooled_with": p.path} if pooled else {}
        if pooled and home in cities:
            tie["same_as"] = p.name
        for city in cities:
            if city == home:
                priors.append(p)
                continue
            path = f"regions.{city}.{rest}"
            add(f"{p.name}_{city}", path, ThetaSpec(path=path, prior=ts_of[p.name].prior), **tie)
    taken = {p.path for p in priors}
    for city, name, ts in stage_b_inputs(cal.spec.core.spec if cal.spec.core else cal.name):
        if city in cities and ts.path not in taken:
            add(f"{name}_{city}", ts.path, ts)
    if not priors:
        raise ScenarioError("--param-spec", spec, "gives no parameter this scenario has")
    more, why = assumption_priors(doc, plain, assumptions, {p.path for p in priors})
    return priors + more, notes + why


def _check_path(doc: dict, path: str, where: str) -> None:
    from experiments.spec import check_scenario_path

    check_scenario_path(doc, path, None, where)


def preset_designs(
    preset: str,
    posteriors,
    draws: int,
    seeds: int,
    root_seed: int,
    years: int,
    settings=(),
    spec: str = DEFAULT_SPEC,
):
    """(label, scenario document, draw design) of each of ``posteriors`` (``preset``, a name or
    a file, as ``--posterior``) on ``preset``'s document shortened to ``years``: the runs of the
    examples that ask something of a posterior's draws (posterior_ablation,
    posterior_life_table). ``settings`` (``--set``: ``PATH=VALUE`` strings) change the document
    and are **held**, as ``aieco validation --set`` holds them: a parameter they set is not
    drawn (nor its pooled copies), every other one keeps its draws.

    The parameters are those of the calibration spec ``spec`` (by default the stage-A spec,
    mapped onto the preset's cities, plus each city's own stage-B inputs, from its posterior
    where one is shipped): what ``aieco run`` draws for the preset at its default
    ``--param-spec``. (The preset's own name is not the spec: a stage-B spec such as
    ``beijing`` holds only that city's three inputs, so θ_core would stay at the preset's
    values.)"""
    doc = load_scenario_document(preset, "--preset", preset)
    doc = apply_overrides(doc, [f"meta.years={years}", *settings])
    paths = {s.partition("=")[0].strip() for s in settings}
    for label in posteriors:
        design = make_design(doc, draws, seeds, root_seed, spec, label)
        held = [p for p in design.priors if p.path in paths]
        yield label, doc, design.holding(held, "held by --set")


def parameter_table(designs) -> pd.DataFrame:
    """Each (label, draw)'s drawn parameter values, one row per draw that runs, from
    ``(label, document, design)`` triples such as :func:`preset_designs` yields: columns
    ``posterior``, ``draw`` and one per parameter (name: value)."""
    return pd.DataFrame(
        {"posterior": label, "draw": m, **design.params(m)}
        for label, _, design in designs
        for m in design.kept
    )


def make_design(
    doc: dict,
    draws: int,
    seeds: int,
    root_seed: int,
    spec: str = DEFAULT_SPEC,
    posterior: str | None = None,
    priors: list[Prior] | None = None,
    assumptions: str | tuple[str, ...] | None = None,
) -> DrawDesign:
    """Validate the options and build the design (ScenarioError on bad input). ``assumptions``
    (``--assumptions``: ``all``, comma-separated path prefixes, or none) adds the documented
    assumptions it names, each drawn from its range."""
    selection = assumptions if isinstance(assumptions, tuple) else parse_selection(assumptions)
    check_draw_options(draws, seeds, posterior, selection)
    notes: list[str] = []
    if priors is None:
        priors, notes = scenario_priors(doc, spec, selection)
    source = resolve_posterior(posterior, doc, spec) if draws else PRIORS
    if source.note:
        notes.append(source.note)
    design = design_from_source(priors, draws, seeds, root_seed, source, spec, notes)
    design.assumptions = selection
    if source.is_posterior:
        notes += [
            f"{j.city}'s own inputs from its posterior {j.path} (joined on the stage-A row)"
            for j in design.joins
        ]
        rest = [
            p.name
            for p in priors
            if p.name not in set(design.from_posterior) and not is_assumption(p)
        ]
        if rest:
            notes.append("from their priors (not in the posterior): " + ", ".join(rest))
    return design


def design_from_source(
    priors: list[Prior],
    draws: int,
    seeds: int,
    root_seed: int,
    source: DrawSource,
    spec: str = DEFAULT_SPEC,
    notes: list[str] | None = None,
) -> DrawDesign:
    """The draws of ``priors`` from ``source`` (a posterior file, with every calibrated city
    joined on its stage-A row, or the priors): what the CLI runs and the app shows, row m the
    same for the same root seed. ScenarioError when the posterior cannot be used."""
    table, names, joins = None, [], []
    if source.is_posterior:
        table, names = read_posterior(source.path, priors)
        joins = city_joins(source, priors)
    return DrawDesign(
        priors,
        draws,
        seeds,
        root_seed,
        spec,
        source.path,
        names,
        [] if notes is None else notes,
        table,
        source,
        joins,
    )


def check_draw_options(
    draws: int, seeds: int, posterior: str | None, assumptions: tuple[str, ...] = ()
) -> None:
    if not 0 <= draws <= MAX_DRAWS:
        raise ScenarioError("--param-draws", draws, f"must be between 0 and {MAX_DRAWS:,}")
    if seeds < 1:
        raise ScenarioError("--seeds", seeds, "must be >= 1")
    if posterior is not None and draws == 0:
        raise ScenarioError("--posterior", posterior, "needs --param-draws D >= 1")
    if assumptions and draws == 0:
        raise ScenarioError("--assumptions", ",".join(assumptions), "needs --param-draws D >= 1")


# --------------------------------------------------------------------------------------------
# The sweep runner's experiment: every design point × D draws × S seeds
# --------------------------------------------------------------------------------------------
class DrawExperiment(Experiment):
    """An experiment whose every point runs D parameter draws × S seeds (common to all points).

    ``replicate`` = draw · S + seed index, so runs pair across points by replicate."""

    design: DrawDesign

    @property
    def replicates(self) -> int:
        return self.design.draws * self.design.seeds_per_draw

    @cached_property
    def seeds(self) -> list[int]:
        return self.design.run_seeds()

    @cached_property
    def tasks(self) -> list[RunTask]:
        months = self.spec.experiment.months
        d = self.design
        out = []
        for i, point in enumerate(self.points):
            fixed = {self.parameter(k).path: v for k, v in point.items()}
            for m, r, seed in d.pairs():
                rep = m * d.seeds_per_draw + r
                out.append(
                    RunTask(
                        run_id(i, rep, self.design_hash),
                        i,
                        rep,
                        self.point_names[i],
                        seed,
                        {**point, **d.params(m)},
                        {**d.overrides(m), **fixed},
                        months,
                    )
                )
        return out

    @cached_property
    def design_hash(self) -> str:
        import json

        blob = json.dumps(
            {
                "base": Experiment.design_hash.func(self),
                "draws": self.design.table.to_dict(orient="list"),
                "paths": [p.path for p in self.design.priors],
                "seeds": self.design.seeds,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def with_draws(exp: Experiment, design: DrawDesign) -> DrawExperiment:
    """``exp`` with every point run over ``design``'s draws and seeds; θ become parameters
    (columns of summary.parquet). ScenarioError if a θ is also one of the design's parameters."""
    names = set(exp.param_names)
    paths = {p.path for p in exp.parameters} | set(exp.spec.constants)
    # A city's own input (added for every city: stage_b_inputs) or a documented assumption that
    # the experiment sets is the experiment's to set: it is left out of the draws, with a note.
    inputs = {ts.path for _, _, ts in stage_b_inputs()}
    inputs |= {p.path for p in design.priors if is_assumption(p)}
    mine = [p for p in design.priors if p.path in paths and p.path in inputs]
    design = design.holding(mine, "set by the experiment")
    for p in design.priors:
        if p.name in names:
            raise ScenarioError("--param-draws", p.name, "is also a parameter of the experiment")
        if p.path in paths:
            raise ScenarioError(
                "--param-draws",
                p.path,
                "is set by the experiment (a lever, uncertainty or constant); "
                "use another --param-spec",
            )
    theta = [p.as_parameter(f"parameter draw ({p.kind} prior)") for p in design.priors]
    values = {f.name: getattr(exp, f.name) for f in fields(exp)}
    values["parameters"] = [*exp.parameters, *theta]
    values["notes"] = [
        *exp.notes,
        f"{design.label()}: replicate = draw × {design.seeds_per_draw} + seed index",
        design.source_line(),
        *(n for n in design.notes if n != design.source.note),
    ]
    new = DrawExperiment(**values)
    new.design = design
    return new


# --------------------------------------------------------------------------------------------
# The decomposition
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spread:
    """One outcome over D draws × S seeds: mean, three central ranges, variance shares."""

    mean: float
    seed: tuple[float, float]
    param: tuple[float, float]
    total: tuple[float, float]
    var_seed: float
    var_param: float
    n: int
    draws: int

    @property
    def param_share(self) -> float:
        v = self.var_seed + self.var_param
        return self.var_param / v if v > 0 else math.nan

    def as_dict(self, prefix: str = "") -> dict:
        return {
            f"{prefix}mean": self.mean,
            f"{prefix}seed_low": self.seed[0],
            f"{prefix}seed_high": self.seed[1],
            f"{prefix}param_low": self.param[0],
            f"{prefix}param_high": self.param[1],
            f"{prefix}total_low": self.total[0],
            f"{prefix}total_high": self.total[1],
            f"{prefix}var_seed": self.var_seed,
            f"{prefix}var_param": self.var_param,
            f"{prefix}param_share": self.param_share,
        }


NAN2 = (math.nan, math.nan)


def spread(y, draw, level: float = LEVEL) -> Spread:
    """Seed noise, parameter uncertainty and total of the values ``y`` of runs of ``draw``.

    Law of total variance over the runs' empirical distribution (exact, also when failed runs
    leave draws unequal): Var(Y) = Σ_m w_m Var(Y | m) + Σ_m w_m (Ȳ_m − Ȳ)², w_m = n_m / n.
    Ranges at ``level``: seed = Ȳ + quantiles of the pooled within-draw deviations Y − Ȳ_m;
    parameter = quantiles of the draw means Ȳ_m; total = quantiles of every Y. Without
    parameter draws (every draw < 0) the parameter range and variance are NaN and seed = total.
    """
    y = np.asarray(y, dtype=float)
    draw = np.asarray(draw)
    ok = np.isfinite(y)
    y, draw = y[ok], draw[ok]
    n = len(y)
    if n == 0:
        return Spread(math.nan, NAN2, NAN2, NAN2, math.nan, math.nan, 0, 0)
    q = ((1 - level) / 2, (1 + level) / 2)
    mean = float(y.mean())
    total = tuple(float(v) for v in np.quantile(y, q))
    if (draw < 0).all():
        var = float(y.var())
        return Spread(mean, total, NAN2, total, var, math.nan, n, 0)
    groups, inv, counts = np.unique(draw, return_inverse=True, return_counts=True)
    means = np.bincount(inv, weights=y) / counts
    dev = y - means[inv]
    var_seed = float((dev**2).sum() / n)
    var_param = float((counts * (means - mean) ** 2).sum() / n)
    seed = tuple(float(mean + v) for v in np.quantile(dev, q)) if (counts > 1).any() else NAN2
    param = tuple(float(v) for v in np.quantile(means, q))
    if not (counts > 1).any():
        var_seed = math.nan
    return Spread(mean, seed, param, total, var_seed, var_param, n, len(groups))


def reach_probability(
    reached, draw, seed: int, level: float = P_LEVEL, boot: int = BOOTSTRAP
) -> tuple[float, float, float]:
    """P(event) over runs (``reached``: 0/1, NaN for failed runs) with an interval.

    Two-level bootstrap (draws with replacement, then seeds within each drawn draw with
    replacement) when runs have draws (draw >= 0); over runs otherwise. ``seed`` fixes it. A
    bootstrap cannot leave 0 or 1 when every run agrees, so the interval is widened to contain
    the Wilson score interval with n = the independent units (draws with draws, runs without)."""
    x = np.asarray(reached, dtype=float)
    d = np.asarray(draw)
    ok = np.isfinite(x)
    x, d = x[ok], d[ok]
    if not len(x):
        return math.nan, math.nan, math.nan
    p = float(x.mean())
    rng = np.random.default_rng(np.random.SeedSequence(int(seed) % 2**63, spawn_key=(7,)))
    if (d < 0).all():
        idx = rng.integers(0, len(x), size=(boot, len(x)))
        stats = x[idx].mean(axis=1)
    else:
        _, inv, counts = np.unique(d, return_inverse=True, return_counts=True)
        G = np.zeros((len(counts), counts.max()))
        pos = np.zeros(len(x), dtype=np.int64)
        for g in range(len(counts)):
            pos[inv == g] = np.arange(counts[g])
        G[inv, pos] = x
        pick = rng.integers(0, len(counts), size=(boot, len(counts)))
        n = counts[pick]  # (boot, D): runs of each picked draw
        within = (rng.random((boot, len(counts), counts.max())) * n[..., None]).astype(np.int64)
        mask = np.arange(counts.max())[None, None, :] < n[..., None]
        vals = np.take_along_axis(G[pick], within, axis=2)
        stats = (vals * mask).sum(axis=(1, 2)) / n.sum(axis=1)
    lo, hi = np.quantile(stats, ((1 - level) / 2, (1 + level) / 2))
    units = len(x) if (d < 0).all() else len(np.unique(d))
    wlo, whi = wilson(p, units, level)
    return p, float(min(lo, wlo)), float(max(hi, whi))


def wilson(p: float, n: int, level: float = P_LEVEL) -> tuple[float, float]:
    """Wilson score interval of a proportion ``p`` observed over ``n`` trials."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + level / 2)
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def first_month_at_least(alive: np.ndarray, threshold: float) -> float:
    """First month index with ``alive >= threshold``, NaN if never."""
    hit = np.flatnonzero(np.asarray(alive, dtype=float) >= threshold)
    return float(hit[0]) if len(hit) else math.nan


def fmt_range(lo: float, hi: float, fmt=None) -> str:
    fmt = fmt or (lambda v: f"{v:,.0f}")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "n/a"
    return f"{fmt(lo)}–{fmt(hi)}"
