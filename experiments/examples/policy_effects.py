"""Regenerate ``docs/policy-effects.md``: every lever's effect on Hangzhou, paired over
parameter draws and seeds.

    python experiments/examples/policy_effects.py            # 12 draws x 2 seeds, 408 runs
    python experiments/examples/policy_effects.py --param-draws 0 --replicates 10  # seeds only
    python experiments/examples/policy_effects.py --param-draws 2 --seeds 2 --years 1 \
        --doc /tmp/pe.md                                     # smoke
    python experiments/examples/policy_effects.py --set compute.choice_rule=marginal \
        --doc docs/policy-effects-marginal.md                # every arm under the structural
                                                             # alternative (design §2.8)

Runs ``policy_effects.toml`` (next to this file) through the same code as ``aieco policy``
(``experiments.policy.apply_draws``, ``experiments.runner.run_experiment`` and
``experiments.policy.policy_effects``): every variant on the same parameter draws (from the
calibrated posterior the preset names, by default) and the same seeds as the baseline (common
parameter draws and common random numbers); effects are mean paired differences with a 95% t
interval over the draws, and the 90% ranges of the paired effect from seed noise and from
parameter uncertainty are shown apart. The page says, for every lever, how it enters the model
(``CHANNELS``, checked against ``docs/ODD.md`` when the page is regenerated) and which effects
are distinguishable from zero.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import ecosystem.reproducible  # noqa: F401 (first: numpy's machine-independent paths)

# isort: split
import numpy as np
import pandas as pd
import tomli_w

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SPEC = HERE / "policy_effects.toml"
DOC = ROOT / "docs" / "policy-effects.md"

#: Outcome -> (column title, unit divisor, unit label).
SHOWN = {
    "startups_alive_y10": ("startups alive, year 10", 1.0, ""),
    "revenue_yuan_last_year": ("startup revenue, last 12 months", 1e9, "¥bn"),
    "compute_sold_gpu_h_total": ("compute bought", 1e6, "m GPU-h"),
    "capability_mean_end": ("mean capability, end", 1.0, ""),
    "west_utilization_end": ("western utilisation, last 12 months", 0.01, "pp"),
    "voucher_spent_yuan_total": ("voucher money paid", 1e6, "¥m"),
    "public_spending_yuan_y10": ("public spending to year 10", 1e6, "¥m"),
    "yuan_per_additional_startup_y10": ("yuan per additional startup", 1e6, "¥m"),
}

#: Outcomes whose seed / parameter ranges get their own table (the rest: the runs' Parquet).
RANGES = [
    "startups_alive_y10",
    "revenue_yuan_last_year",
    "compute_sold_gpu_h_total",
    "capability_mean_end",
]
#: Default parameter draws and seeds per draw of the page.
DRAWS, SEEDS_PER_DRAW = 12, 2

#: How each variant's lever enters the model (docs/ODD.md describes the same code).
CHANNELS = {
    "vouchers_off": "Hangzhou's compute voucher (25%, SMEs 50%, ¥250m a year, first come first "
    "served) stops paying. A voucher is an entitlement a firm applies for when the expected "
    "subsidy exceeds its application cost; it lowers the price of the firm's training projects, "
    "so some become worth buying (additional) while the rest, and all inference, would have been "
    "bought anyway (deadweight); it also lowers the effective price in the logit split over "
    "data centers (§7.4).",
    "voucher_rate_50": "standard firms' voucher rate rises from 25% to the SME rate of 50%: "
    "projects worth between 50% and 75% of their price become additional, larger entitlements "
    "commit the same yearly budget sooner.",
    "voucher_cap_half": "each firm can claim at most ¥4m a year instead of ¥8m: the budget is "
    "spread over more firms.",
    "voucher_budget_1bn": "the yearly budget rises from ¥250m to ¥1bn: the programme pays for "
    "more of the year before it runs out — if it runs out: when the firms' claims stay below "
    "¥250m a year, a larger budget pays nothing more.",
    "vouchers_portable": "vouchers may be spent at the western hubs too: a lower effective price "
    "there for Hangzhou's firms in the logit split, pulling part of their demand west.",
    "vouchers_training_only": "the voucher pays only for training projects, not for inference "
    "(every documented programme pays a share of the whole rent or contract): the entitlement "
    "is no longer spent first on inference the firm buys whatever its price, so more of it can "
    "make projects worth buying; firms expect and ask for less (§7.4).",
    "voucher_sme_one_year": "the SME rate (50%) lasts only 12 months from a firm's first award, "
    "as Shanghai's [S66]; afterwards small firms get the standard 25%: fewer projects pass.",
    "data_vouchers": "a data voucher (30%, ¥100m a year) pays part of the data each training "
    "project needs (data_spend_share of its compute), so some projects become worth buying "
    "(§7.4).",
    "talent_subsidy_off": "no subsidy to graduates and migrants taking their first AI job in "
    "Hangzhou (the preset pays ¥20,000 each from a ¥100m budget, spent in full each year: ODD "
    "§7.2). The subsidy enters the one attraction function as a wage equivalent, subsidy / "
    "(12 × 3 years) a month, while its budget lasts (§7.1).",
    "talent_subsidy_100k": "the subsidy per person rises to ¥100,000 (same budget): a larger "
    "wage equivalent while the budget lasts.",
    "adoption_off": "no adoption programme: the ¥200m a year that subsidises local AI adopters "
    "stops — both its one-off purchases and its pull on Bass adoption, which grows the market "
    "for good (§7.6).",
    "adoption_500m": "the adoption programme grows to ¥500m a year (more subsidised purchases and "
    "a stronger programme term in Bass adoption).",
    "dc_investment_1bn": "¥1bn a year of public money for new local data-center capacity "
    "(subject to the national chip supply): more capacity, and prices that adjust down toward "
    "target utilisation (§7.4); it does not touch adoption.",
    "export_controls_none": "export-control strength 0 instead of 0.5: more chips can be "
    "installed, and efficiency gains (capability per GPU-hour) are not pushed up (H10).",
    "export_controls_strict": "export-control strength 1: fewer chips, faster efficiency gains "
    "(H10).",
    "unified_network": "the unified national network (V10) removes the extra cost of buying "
    "compute outside one's region from the effective prices of the logit split.",
}


def _spec_copy(
    replicates: int | None, years: int | None, tmp: Path, constants: dict | None = None
) -> Path:
    """The spec with the command line's changes; ``constants`` (from ``--set``) join its
    ``[constants]``: every arm, baseline and variants, runs with them."""
    doc = tomllib.loads(SPEC.read_text(encoding="utf-8"))
    if replicates is not None:
        doc["experiment"]["replicates"] = replicates
    if years is not None:
        doc["experiment"]["months"] = 12 * years
    if constants:
        doc["constants"] = {**doc.get("constants", {}), **constants}
    path = tmp / SPEC.name
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


def _num(x: float, sign: str = "+") -> str:
    """Plain figures (no exponents): thousands separated, three significant digits below 100."""
    if abs(x) >= 100:
        return f"{x:{sign},.0f}"
    return f"{x:{sign}.3g}" if abs(x) >= 0.001 or x == 0 else f"{x:{sign}.1e}"


#: False discovery rate of the bold cells (Benjamini–Hochberg over every cell of the table).
FDR = 0.05
#: A paired difference this small against the baseline's size is floating-point noise.
IDENTICAL = 1e-9


#: Western utilisation at or above this in the baseline's last 12 months: the hubs are (nearly)
#: full, within 5 points of capacity, well above the load at which operators expand (0.85).
SATURATED = 0.95


def _saturation_caveat(baseline_means: dict) -> list[str]:
    """A paragraph when the baseline's western hubs are (nearly) full: a lever that works through
    western compute can barely move their utilisation, whatever it does (docs/validation.md,
    patterns 8a and 11)."""
    west = baseline_means.get("west_utilization_end", np.nan)
    if not (np.isfinite(west) and west >= SATURATED):
        return []
    return [
        f"**The western hubs are nearly full in the baseline** ({west:.0%} in the last 12 "
        "months): startups' and outside users' demand for them grows faster than they expand. "
        "So no variant can raise western utilisation much, and a lever that works through "
        "western compute (portable vouchers, the unified network) finds little to buy there. "
        "Read its western effects as this imbalance, measured in `docs/validation.md` "
        '("Patterns 8a and 11: the compute balance"), not as a finding about the lever.',
        "",
    ]


def _p_values(effects: pd.DataFrame, confidence: float) -> np.ndarray:
    """Two-sided paired-t p-value of each effect, from its mean, t interval and n."""
    from scipy import stats

    p = np.full(len(effects), np.nan)
    for i, r in enumerate(effects.itertuples()):
        # with parameter draws the interval is a t interval over the draws' mean effects
        draws = getattr(r, "draws", 0)
        n = int(draws) if draws and np.isfinite(draws) else getattr(r, "n", 0)
        if not (n and n > 1 and np.isfinite(r.effect) and np.isfinite(r.ci_low)):
            continue
        half = (r.ci_high - r.ci_low) / 2
        if _identical(r):
            p[i] = 1.0
        elif half <= 0:  # the same nonzero difference in every replicate
            p[i] = 0.0
        else:
            se = half / stats.t.ppf(0.5 + confidence / 2, n - 1)
            p[i] = 2 * stats.t.sf(abs(r.effect) / se, n - 1)
    return p


def _identical(r) -> bool:
    scale = max(abs(getattr(r, "baseline_mean", 0.0) or 0.0), 1.0)
    return max(abs(r.effect), abs(r.ci_low), abs(r.ci_high)) <= IDENTICAL * scale


def benjamini_hochberg(p: np.ndarray, q: float = FDR) -> np.ndarray:
    """Which p-values are discoveries at false discovery rate q (NaN: never)."""
    ok = np.isfinite(p)
    out = np.zeros(p.size, dtype=bool)
    if not ok.any():
        return out
    idx = np.flatnonzero(ok)
    order = idx[np.argsort(p[idx], kind="stable")]
    m = order.size
    below = p[order] <= q * np.arange(1, m + 1) / m
    if below.any():
        out[order[: np.flatnonzero(below).max() + 1]] = True
    return out


def mark(effects: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """``effects`` with ``p_value``, ``discovery`` (Benjamini–Hochberg at :data:`FDR` over the
    table's cells; the cost ratio is left out: it is a ratio of two effects already tested) and
    ``identical`` (no change in any replicate)."""
    effects = effects.reset_index(drop=True).copy()
    tested = ~effects["outcome"].str.startswith("yuan_per")
    p = _p_values(effects, confidence)
    p[~tested.to_numpy()] = np.nan
    effects["p_value"] = p
    effects["discovery"] = benjamini_hochberg(p)
    effects["identical"] = [
        _identical(r) and tested.iloc[i] for i, r in enumerate(effects.itertuples())
    ]
    return effects


def _cell(row: pd.Series, divisor: float) -> str:
    m, lo, hi = (row[k] / divisor for k in ("effect", "ci_low", "ci_high"))
    if not np.isfinite(m):
        return "n/a"
    if row.get("identical", False):
        return "0 (identical)"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return _num(m)
    text = f"{_num(m)} [{_num(lo)}, {_num(hi)}]"
    if row.get("discovery", False):
        return f"**{text}**"
    return f"{text} †" if lo > 0 or hi < 0 else text


def _reading(rows: pd.DataFrame, noise: str) -> str:
    tested = rows[rows["outcome"].isin(SHOWN) & ~rows["outcome"].str.startswith("yuan_per")]
    if len(tested) and tested.get("identical", pd.Series(False)).astype(bool).all():
        return (
            "no change at all: every outcome was the same in every pair of runs, so the lever "
            "never binds in these runs"
        )
    ups, downs = [], []
    for _, r in rows.iterrows():
        if r["outcome"] not in SHOWN or r["outcome"].startswith("yuan_per"):
            continue
        name = SHOWN[r["outcome"]][0]
        if not r.get("discovery", False):
            continue
        if r["effect"] > 0:
            ups.append(name)
        elif r["effect"] < 0:
            downs.append(name)
    parts = []
    if ups:
        parts.append("raises " + "; ".join(ups))
    if downs:
        parts.append("lowers " + "; ".join(downs))
    return (
        " — ".join(parts)
        if parts
        else f"no effect distinguishable from {noise} (at a false discovery rate of {FDR:.0%})"
    )


def _regenerate_flags(info: dict) -> str:
    """The options that regenerate a page made with other than the defaults (``--param-draws``,
    ``--seeds``, ``--set``, ``--assumptions``, ``--screen``), and its ``--doc``."""
    constants = info.get("constants") or {}
    assumptions = info.get("assumptions")
    drawn = info.get("drawn", info.get("draws"))  # D asked for (the screen may keep fewer)
    flags = f" --param-draws {drawn}" if drawn not in (None, DRAWS) else ""
    seeds = info.get("seeds_per_draw")
    flags += f" --seeds {seeds}" if drawn and seeds not in (None, SEEDS_PER_DRAW) else ""
    flags += "".join(f" --set {k}={v}" for k, v in constants.items())
    flags += f" --assumptions {assumptions}" if assumptions else ""
    flags += " --screen" if info.get("screen") else ""
    if not flags:
        return ""
    return f"{flags} --doc {info['doc']}" if info.get("doc") else flags


def render(effects: pd.DataFrame, baseline_means: dict[str, float], info: dict) -> str:
    effects = marked = mark(effects, info.get("confidence", 0.95))
    n_tested = int(np.isfinite(marked["p_value"]).sum())
    excludes = (marked["ci_low"] > 0) | (marked["ci_high"] < 0)
    n_dagger = int((excludes & ~marked["discovery"] & np.isfinite(marked["p_value"])).sum())
    variants = list(dict.fromkeys(effects["variant"]))
    years = info["years"]
    draws = info.get("draws", 0)
    minutes = info.get("minutes")
    took = f", {max(minutes, 1):.0f} minute{'s' * (minutes >= 1.5)} on 2 cores" if minutes else ""
    lines = [
        "# Policy effects: each lever against Hangzhou as it is"
        + "".join(f", {k} = {v!r}" for k, v in (info.get("constants") or {}).items())
        + (
            f", documented assumptions drawn ({info['assumptions']})"
            + (", screened against the calibration targets" if info.get("screen") else "")
            if info.get("assumptions")
            else ""
        ),
        "",
        f"Generated by `{info['command']}` on {info['date']} at git revision `{info['git']}`",
        f"({info['runs']} {years}-year runs{took}; regenerate with "
        f"`python experiments/examples/policy_effects.py{_regenerate_flags(info)}`);",
    ]
    if draws:
        lines += [
            f"scenario `hangzhou` ({years} year{'s' * (years != 1)}), {draws} parameter draws"
            + (f" (kept by the screen of {info['drawn']})" if info.get("screen") else "")
            + " × "
            f"{info['seeds_per_draw']} seeds ({draws * info['seeds_per_draw']} distinct seeds: "
            "each draw its own): every variant runs on the baseline's draws and seeds (common "
            "parameter draws and common random numbers). "
            f"{info['source']} Each cell is the mean paired difference variant − baseline, "
            f"averaged over seeds and draws, with its 95% t interval over the {draws} draws: "
            "it includes both seed noise and parameter uncertainty. How much of each effect's "
            "spread comes from each is in the second table.",
        ]
    else:
        lines += [
            f"scenario `hangzhou` ({years} year{'s' * (years != 1)}), {info['replicates']} "
            "replicates with common random numbers (every variant runs with the baseline's "
            "seeds), the preset's parameters. Each cell is the mean paired difference variant − "
            "baseline with its 95% t interval across replicates. **Intervals cover seed noise "
            "only** (`--param-draws 0`): parameter uncertainty is not included.",
        ]
    if info.get("constants"):
        settings = ", ".join(f"`{k} = {v!r}`" for k, v in info["constants"].items())
        lines += [
            "",
            f"**Every arm, baseline and variants, runs with these settings changed from the "
            f"preset:** {settings}. The effects below are those of the levers *given* these "
            "settings; the preset's own page is docs/policy-effects.md.",
            "",
        ]
    lines += [
        "Variants are defined in `experiments/examples/policy_effects.toml`; how each lever",
        "enters the model is said below and in `docs/ODD.md`. A lever with no distinguishable",
        "effect is reported as such.",
        "",
        f"**Multiple comparisons.** The table holds {n_tested} tested effects; at 95% about "
        f"{n_tested / 20:.0f} would exclude zero by chance alone even if no lever did anything. "
        f"So a cell is **bold** only when it is a discovery at a false discovery rate of {FDR:.0%} "
        "over the whole table (Benjamini–Hochberg on the paired-t p-values: "
        f"{int(marked['discovery'].sum())} cells); a cell whose own 95% interval excludes zero "
        f"but that is not a discovery is marked † ({n_dagger} cells): a lead to confirm with more "
        f"{'draws (`--param-draws`)' if draws else 'replicates (`--replicates`)'}, not a finding. "
        "`0 (identical)`: the outcome was the same in "
        "every pair of runs. Yuan per additional startup is not tested (a ratio of two effects "
        "above).",
        "",
        ("Baseline means (over the draws and seeds): " if draws else "Baseline means: ")
        + "; ".join(
            f"{SHOWN[o][0]} {_num(baseline_means[o] / SHOWN[o][1], '')} "
            f"{SHOWN[o][2].replace('pp', '%')}".rstrip()
            for o in SHOWN
            if o in baseline_means and np.isfinite(baseline_means[o])
        )
        + ".",
        "",
    ]
    lines += _saturation_caveat(baseline_means)
    shown = [o for o in SHOWN if o in set(effects["outcome"])]
    head = [
        "variant",
        *(f"{SHOWN[o][0]}" + (f" ({SHOWN[o][2]})" if SHOWN[o][2] else "") for o in shown),
    ]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for v in variants:
        rows = effects[effects["variant"] == v].set_index("outcome")
        cells = [_cell(rows.loc[o], SHOWN[o][1]) if o in rows.index else "n/a" for o in shown]
        lines.append(f"| `{v}` | " + " | ".join(cells) + " |")
    if draws:
        lines += ["", *_ranges_table(effects, variants)]
    noise = "seed noise and parameter uncertainty" if draws else "seed noise"
    lines += ["", "## What each lever does in the model, and what it changed", ""]
    for v in variants:
        rows = effects[effects["variant"] == v]
        lines += [
            f"- **`{v}`**: {CHANNELS.get(v, '(no description)')} *Result:* "
            f"{_reading(rows, noise)}.",
        ]
    lines += [
        "",
        "Yuan per additional startup is the paired ratio (Δ public spending to year 10) / (Δ",
        "startups alive at year 10) over replicates whose startup count changed; it is undefined",
        "(n/a) or unstable when the lever barely moves the count.",
        "",
    ]
    return "\n".join(lines)


def _ranges_table(effects: pd.DataFrame, variants: list[str]) -> list[str]:
    """Per variant and headline outcome: the 90% range of the paired effect from seed noise
    (within a draw) and from parameter uncertainty (across draws), and the parameters' share of
    its variance (``experiments.uncertainty.spread``)."""
    from experiments.uncertainty import LEVEL

    shown = [o for o in RANGES if o in set(effects["outcome"])]
    head = ["variant", *(SHOWN[o][0] + (f" ({SHOWN[o][2]})" if SHOWN[o][2] else "") for o in shown)]
    lines = [
        "## Where the uncertainty comes from",
        "",
        f"The {LEVEL:.0%} range of the paired effect (one pair of runs, not the mean) from seed "
        "noise alone (the pooled spread within a parameter draw) and from parameter uncertainty "
        "alone (the spread of the draws' mean effects), and the parameters' share of the "
        "effect's variance (law of total variance, `docs/outputs.md`). A wide parameter range "
        "with a narrow seed range means the effect depends on what the calibration left "
        "uncertain, not on luck.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for v in variants:
        rows = effects[effects["variant"] == v].set_index("outcome")
        cells = []
        for o in shown:
            r, div = rows.loc[o], SHOWN[o][1]
            if r.get("identical", False) or not np.isfinite(r.get("param_low", np.nan)):
                cells.append("–")
                continue
            share = r.get("param_share", np.nan)
            cells.append(
                f"seed [{_num(r['seed_low'] / div)}, {_num(r['seed_high'] / div)}]; "
                f"parameters [{_num(r['param_low'] / div)}, {_num(r['param_high'] / div)}]"
                + (f" ({share:.0%})" if np.isfinite(share) else "")
            )
        lines.append(f"| `{v}` | " + " | ".join(cells) + " |")
    return lines


def _ran(folder: Path, default: str) -> tuple[float | None, str, str | None]:
    """(minutes the sweep took, its git revision, its design hash) from the manifest of kept
    runs."""
    import json

    try:
        m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, default, None
    try:
        took = dt.datetime.fromisoformat(m["updated"]) - dt.datetime.fromisoformat(m["started"])
        minutes = took.total_seconds() / 60
    except (KeyError, ValueError):
        minutes = None
    return minutes, m.get("git_revision") or default, m.get("design_hash")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--replicates", type=int, help="replicates with --param-draws 0 (default: the file's, 10)"
    )
    ap.add_argument("--years", type=int, help="horizon in years (default: the preset's, 10)")
    ap.add_argument("--workers", type=int, default=None, help="local processes (default: cores)")
    ap.add_argument("--out", help="keep the runs in this new folder (default: discarded)")
    ap.add_argument("--doc", default=str(DOC), help=f"page to write (default {DOC})")
    ap.add_argument(
        "--from-runs",
        metavar="DIR",
        help="rewrite the page from the runs kept in DIR by an earlier --out (no new runs)",
    )
    sys.path.insert(0, str(ROOT))
    from experiments.options import add_draw_arguments

    add_draw_arguments(
        ap,
        seeds_help=f"seeds per parameter draw (default {SEEDS_PER_DRAW} with draws)",
        default_draws=DRAWS,
    )
    ap.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a scenario setting in every arm (baseline and variants), e.g. the "
        "structural alternative --set compute.choice_rule=marginal; repeatable",
    )
    args = ap.parse_args(argv)
    if args.param_draws and args.seeds is None:
        args.seeds = SEEDS_PER_DRAW
    from ecosystem.outputs import write_text
    from ecosystem.run import git_revision
    from ecosystem.scenario import parse_overrides
    from experiments.policy import apply_draws, policy_effects
    from experiments.runner import prepare_out_dir, run_experiment
    from experiments.spec import load_experiment

    constants = parse_overrides(args.overrides)
    minutes, revision = None, git_revision()
    with tempfile.TemporaryDirectory() as tmp:
        spec = _spec_copy(args.replicates, args.years, Path(tmp), constants)
        exp = apply_draws(load_experiment(spec), args)
        if args.from_runs:
            minutes, revision, design = _ran(Path(args.from_runs), revision)
            if design != exp.design_hash:  # as the sweep runner's --resume checks it
                print(
                    f"policy_effects: --from-runs {args.from_runs}: its runs are of design "
                    f"{design}, this command's is {exp.design_hash} (other options, seeds or "
                    "draws): rerun without --from-runs",
                    file=sys.stderr,
                )
                return 2
            summary = pd.read_parquet(Path(args.from_runs) / "summary.parquet")
            failed = int((summary["status"].astype(str) != "ok").sum())
        else:
            out = Path(args.out) if args.out else Path(tmp) / "runs"
            prepare_out_dir(exp, out, resume=False)
            start = time.perf_counter()
            report = run_experiment(exp, out, workers=args.workers, progress=True)
            minutes = (time.perf_counter() - start) / 60
            summary, failed = report.summary, report.failed
    summary = summary.assign(status=summary["status"].astype(str))
    pol = exp.spec.policy
    design = getattr(exp, "design", None)
    per_draw = design.seeds_per_draw if design is not None else None
    effects = policy_effects(summary, pol.baseline, exp.summary_outcomes, pol.confidence, per_draw)
    base = summary[summary["variant"] == pol.baseline]
    means = {o: float(base[o].mean()) for o in SHOWN if o in base}
    command = "python experiments/examples/policy_effects.py" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:])
    )
    info = {
        "command": command,
        "date": dt.date.today().isoformat(),
        "git": revision[:12],
        "years": exp.horizon_months // 12,
        "replicates": exp.replicates,
        "runs": len(summary),
        "confidence": pol.confidence,
        "minutes": minutes,
        "draws": len(design.kept) if design is not None else 0,  # the draws that ran
        "drawn": design.draws if design is not None else 0,
        "seeds_per_draw": per_draw,
        "source": design.source_line() if design is not None else "",
        "constants": constants,
        "assumptions": args.assumptions if design is not None and design.assumptions else None,
        "screen": design is not None and design.screen is not None,
        "doc": args.doc,  # as typed, like the command line above it
    }
    write_text(Path(args.doc), render(effects, means, info))
    print(f"wrote {args.doc} ({len(effects)} effects, {len(summary)} runs)")
    return 1 if failed else 0


if __name__ == "__main__":
    from ecosystem.scenario import ScenarioError

    try:
        raise SystemExit(main())
    except ScenarioError as exc:  # a used --out, a bad spec: one line, exit 2, no traceback
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
