"""Stage B of the staged calibration (design §9.6; docs/calibration-method.md, "Stage B"): every
city's spec, θ_core drawn from stage A's posterior, and ``aieco calibrate all`` (stage A only if
its posterior is missing or stale, then every city: store, posterior, check; resumable).

The shipped specs are checked without simulating (they load, name a source for every target,
take θ_core from the shipped Hangzhou posterior). ``calibrate all`` runs on a spec folder of its
own (tests/presets/tiny.toml, 12 months, budgets of 20): a stage-A stand-in, one calibrated city
and one with no observed quantity. Structure only, never the model's numbers."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import experiments.calibrate as cal
import experiments.calibrate_all as call
import experiments.runner as runner
from experiments.cli import main
from experiments.inference import read_posterior

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "presets" / "tiny.toml"
SHIPPED_A = cal.SPEC_DIR / "posteriors" / "hangzhou.parquet"
CITIES = ["beijing", "chengdu", "guangzhou", "henan", "ningbo", "shandong", "shanghai",
          "shenzhen", "wenzhou"]  # fmt: skip
CALIBRATED = {"beijing", "shanghai", "shenzhen"}


# --------------------------------------------------------------------------------------------
# The shipped specs (no simulation)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("city", CITIES)
def test_every_city_spec_loads_and_draws_core_from_the_hangzhou_posterior(city):
    spec = cal.load_spec(city)
    assert spec.core is not None and spec.core.posterior.resolve() == SHIPPED_A.resolve()
    assert spec.core.mode == "conditional"
    assert 1 <= len(spec.priors) <= 4  # φ_c: a few city inputs
    assert all(p.path.startswith(f"regions.{city}.") for p in spec.priors)
    # Hangzhou's own inputs are pooled onto this city's fields, under <name>_<city>
    by = {p.name: p.path for p in spec.core.priors}
    assert by[f"other_founding_per_year_{city}"] == f"regions.{city}.talent.other_founding_per_year"
    assert not any(p.startswith("regions.hangzhou.") for p in by.values())
    assert spec.calibrated == (city in CALIBRATED)
    if spec.calibrated:
        for t in spec.targets:
            if t.has_target:
                assert "[S" in t.source
    else:
        assert spec.meta.no_target_reason.strip()
    # never the number of startups, never a city's own target
    assert not any(s.startswith("startups_") or "target" in s for s in spec.statistics)


def test_the_shipped_stage_a_posterior_is_fresh_for_the_shipped_spec():
    fresh, why = call.stage_a_freshness(SHIPPED_A, cal.load_spec("hangzhou"))
    assert fresh, why
    fresh, why = call.stage_a_freshness(SHIPPED_A, cal.load_spec("hangzhou", months=12))
    assert not fresh and "spec" in why


@pytest.mark.parametrize("city", sorted(CALIBRATED))
def test_every_calibrated_city_ships_a_fresh_posterior_its_preset_names(city):
    """Each calibrated city's posterior (aieco calibrate all) is shipped, inferred from its spec
    as it is now, on the shipped stage A (same SHA-256), with sample k on stage-A row k mod N (what
    lets a national run join the cities: experiments.uncertainty.city_joins); the city's preset
    names it, so `--posterior preset` and the app draw from it."""
    from ecosystem.scenario import load_document
    from experiments.uncertainty import resolve_posterior

    spec = cal.load_spec(city)
    path = cal.SPEC_DIR / "posteriors" / f"{city}.parquet"
    assert call._posterior_current(path, spec, None), f"{path} is missing or stale"
    post, rec = read_posterior(path)
    assert rec["calibrated"] and rec["core"]["sha256"] == cal.file_sha256(SHIPPED_A)
    rows = len(read_posterior(SHIPPED_A)[0])  # sample k on stage-A row k mod its rows
    assert post["core_row"].tolist() == [k % rows for k in range(len(post))]
    src = resolve_posterior("preset", load_document(city))
    assert src.is_posterior and Path(src.path).resolve() == path.resolve()


def test_core_rows_really_come_from_the_posterior_file(tmp_path):
    spec = cal.load_spec("beijing")
    post, _ = read_posterior(SHIPPED_A)
    exp = spec.experiment(40)
    rows = pd.DataFrame(exp.points)
    assert rows[cal.CORE_ROW].nunique() > 30  # rows vary across draws
    for src_name, (name, path) in {
        "nest_rho": ("nest_rho", "demand.nest_rho"),
        "other_founding_per_year": (
            "other_founding_per_year_beijing",
            "regions.beijing.talent.other_founding_per_year",
        ),
    }.items():
        want = post[src_name].to_numpy()[rows[cal.CORE_ROW].to_numpy()]
        np.testing.assert_array_equal(rows[name].to_numpy(), want)
        # and the value reaches the model at the city's path
        assert [t.overrides[path] for t in exp.tasks] == list(want)
    # the same draws whatever the budget (a larger budget extends the store)
    again = pd.DataFrame(spec.experiment(10).points)
    pd.testing.assert_frame_equal(again, rows.iloc[:10])
    # the stage-A posterior is part of the spec hash: another posterior, another store
    from experiments.inference import write_posterior

    post_full, meta = read_posterior(SHIPPED_A)
    other = write_posterior(tmp_path / "a.parquet", post_full.iloc[: len(post_full) // 2], meta)
    assert cal.load_spec("beijing", core_posterior=other).spec_hash != spec.spec_hash
    assert cal.load_spec("beijing").spec_hash == spec.spec_hash


BAD_CORE = [
    ({"core": {"posterior": "nowhere.parquet"}}, "core.posterior", "no such posterior file"),
    ({"core": {"posterior": str(SHIPPED_A), "mode": "joint"}}, "core.mode", "conditional"),
    ({"core": {"posterior": str(SHIPPED_A), "exclude": ["nope"]}}, "core.exclude", "allowed"),
    ({"core": {"posterior": str(SHIPPED_A), "colour": 1}}, "core.colour", ""),
    ({"statistics": {"vc_deals_per_year": {}}}, "calibration.no_target_reason", "say why"),
]


@pytest.mark.parametrize(("change", "field", "allowed"), BAD_CORE)
def test_a_bad_city_spec_is_one_line_and_exit_2(tmp_path, capsys, change, field, allowed):
    raw = tomllib.loads((cal.SPEC_DIR / "beijing.toml").read_text(encoding="utf-8"))
    raw["calibration"]["scenario"] = "beijing"
    for key, value in change.items():
        raw[key] = value if key == "statistics" else {**raw.get(key, {}), **value}
    path = tmp_path / "bad.toml"
    path.write_text(_toml(raw), encoding="utf-8")
    code = main(["calibrate", str(path), "--budget", "20", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    assert field in err and allowed in err
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------------------------
# aieco calibrate all, on a spec folder of its own
# --------------------------------------------------------------------------------------------
STAGE_A_SPEC = f'''
[calibration]
name = "hangzhou"
scenario = "{TINY}"
months = 12
root_seed = 11
default_budget = 20

[parameters.founding_cash_yuan]
path = "startups.founding_cash_yuan"

[parameters.other_founding_per_year]
path = "regions.ningbo.talent.other_founding_per_year"

[statistics.vc_deals_per_year]
target = [5, 40]
source = "test band"

[statistics.survival_1y]
target = [0.6, 0.95]
source = "test band"
'''

CITY_SPEC = f'''
[calibration]
name = "{{name}}"
scenario = "{TINY}"
months = 12
root_seed = {{seed}}
default_budget = 20
no_target_reason = "{{reason}}"

[core]
posterior = "posteriors/hangzhou.parquet"

[parameters.vc_pool_yuan_per_year]
path = "regions.ningbo.market.vc_pool_yuan_per_year"

[statistics.vc_money_yuan_per_year]
{{target}}
'''


def _city(name: str, seed: int, calibrated: bool) -> str:
    target = 'target = [1e8, 2e9]\nsource = "test band"' if calibrated else 'source = "reported"'
    reason = "" if calibrated else "nothing observed (test)"
    return CITY_SPEC.format(name=name, seed=seed, reason=reason, target=target)


@pytest.fixture
def spec_dir(tmp_path, monkeypatch):
    d = tmp_path / "specs"
    d.mkdir()
    (d / "hangzhou.toml").write_text(STAGE_A_SPEC, encoding="utf-8")
    (d / "alpha.toml").write_text(_city("alpha", 21, True), encoding="utf-8")
    (d / "beta.toml").write_text(_city("beta", 22, False), encoding="utf-8")
    monkeypatch.setattr(cal, "SPEC_DIR", d)
    return d


ALL = ["calibrate", "all", "--ppc", "3", "--workers", "1", "--ensemble", "1",
       "--samples", "60", "--quiet"]  # fmt: skip
SIMS = 20 + 3 + 20 + 3  # stage A and alpha: store + check; beta: none


def _count_runs(monkeypatch, fail_at: int | None = None) -> list:
    calls = []
    real = runner.run_one

    def counted(task, *a, **k):
        calls.append(task.run_id)
        if fail_at is not None and len(calls) == fail_at:
            raise KeyboardInterrupt
        return real(task, *a, **k)

    monkeypatch.setattr(runner, "run_one", counted)
    return calls


def _run_files(out: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in out.glob("stores/*/**/runs/*.parquet")}


def test_calibrate_all_runs_stage_a_then_every_city_and_resumes(spec_dir, tmp_path, monkeypatch,
                                                                 capsys):  # fmt: skip
    out = tmp_path / "all"
    # 1. interrupted in the middle of the first city's store (stage A is missing: it runs first)
    calls = _count_runs(monkeypatch, fail_at=30)
    assert main([*ALL, "--out", str(out)]) == 130
    assert "--resume" in capsys.readouterr().err
    assert (out / "posteriors" / "hangzhou.parquet").is_file()
    assert not (out / "posteriors" / "alpha.parquet").exists()
    before = _run_files(out)
    assert len(before) == 29  # every finished simulation is on disk
    posterior_a = (out / "posteriors" / "hangzhou.parquet").stat().st_mtime_ns

    # 2. without --resume the folder is refused; with it, only the missing work is done
    assert main([*ALL, "--out", str(out)]) == 2
    capsys.readouterr()
    calls = _count_runs(monkeypatch)
    assert main([*ALL, "--out", str(out), "--resume"]) == 0
    text = capsys.readouterr().out
    assert len(calls) == SIMS - 29  # nothing finished was simulated again
    assert len(set(calls)) == len(calls)
    after = _run_files(out)
    assert all(after[f] == t for f, t in before.items())  # finished runs untouched
    assert (out / "posteriors" / "hangzhou.parquet").stat().st_mtime_ns == posterior_a

    # 3. one posterior per city, with the model's revision, the targets and θ_core recorded
    hz, rec_a = read_posterior(out / "posteriors" / "hangzhou.parquet")
    alpha, rec = read_posterior(out / "posteriors" / "alpha.parquet")
    beta, rec_b = read_posterior(out / "posteriors" / "beta.parquet")
    assert rec["git_revision"] and rec["store_git_revisions"]
    assert [t["name"] for t in rec["targets"]] == ["vc_money_yuan_per_year"]
    alpha_spec = cal.load_spec("alpha", core_posterior=out / "posteriors" / "hangzhou.parquet")
    assert rec["target_set"] == alpha_spec.target_set and rec["spec_hash"] == alpha_spec.spec_hash
    assert rec["calibrated"] and rec["core"]["sha256"] == cal.file_sha256(
        out / "posteriors" / "hangzhou.parquet"
    )
    assert not rec_b["calibrated"] and rec_b["no_target_reason"] == "nothing observed (test)"
    for post in (alpha, beta):  # θ_core: rows of stage A's posterior, as recorded
        rows = post[cal.CORE_ROW].to_numpy()
        for name in ("founding_cash_yuan", "other_founding_per_year"):
            np.testing.assert_array_equal(post[name].to_numpy(), hz[name].to_numpy()[rows])
    # the store records which rows were drawn, and they are the posterior's
    store, _ = cal.read_store(out / "stores" / "alpha")
    assert len(store) == 20 and store["status"].eq("ok").all()
    np.testing.assert_array_equal(
        store["founding_cash_yuan"].to_numpy(),
        hz["founding_cash_yuan"].to_numpy()[store[cal.CORE_ROW].to_numpy()],
    )
    # the report: each calibrated city's check, the uncalibrated one said so
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| alpha | yes |" in report and "| beta | **no**" in report
    assert "nothing observed (test)" in report and "Stage A" in report
    assert "alpha" in text and (out / "ppc" / "alpha.md").is_file()
    assert not (out / "stores" / "beta").exists()  # nothing simulated for beta

    # 4. once complete, --resume simulates nothing and infers nothing again
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "posteriors").iterdir()}
    calls = _count_runs(monkeypatch)
    assert main([*ALL, "--out", str(out), "--resume"]) == 0
    assert calls == []
    assert {p.name: p.stat().st_mtime_ns for p in (out / "posteriors").iterdir()} == mtimes
    job = json.loads((out / "job.json").read_text(encoding="utf-8"))
    assert job["stage_a"]["posterior"] == str(out / "posteriors" / "hangzhou.parquet")


def test_calibrate_all_reuses_a_fresh_stage_a_posterior(spec_dir, tmp_path, monkeypatch, capsys):
    # a fresh stage-A posterior beside the specs: stage A does not run
    first = tmp_path / "first"
    assert main([*ALL, "--out", str(first)]) == 0
    (spec_dir / "posteriors").mkdir()
    shipped = spec_dir / "posteriors" / "hangzhou.parquet"
    shipped.write_bytes((first / "posteriors" / "hangzhou.parquet").read_bytes())
    capsys.readouterr()
    calls = _count_runs(monkeypatch)
    out = tmp_path / "second"
    assert main([*ALL, "--out", str(out)]) == 0
    assert "stage A reused" in capsys.readouterr().out
    assert len(calls) == 20 + 3  # alpha only
    assert not (out / "stores" / "hangzhou").exists()
    _, rec = read_posterior(out / "posteriors" / "alpha.parquet")
    assert rec["core"]["posterior"] == str(shipped)
    # a stale one (its spec changed: another horizon) is not used
    assert main([*ALL, "--out", str(tmp_path / "third"), "--months", "6",
                 "--budget", "20", "--stage-a-budget", "20"]) == 0  # fmt: skip
    assert "stage A runs" in capsys.readouterr().out


def test_bad_options_of_all_are_one_line(tmp_path, capsys):
    for argv, field in (
        (["--budget", "5"], "--budget"),
        (["--infer"], "--infer"),
        (["--workers", "2", "--scheduler", "tcp://x:1"], "--workers"),
        (["--core-posterior", str(tmp_path / "none.parquet")], "--core-posterior"),
        (["--samples", "0"], "--samples"),
        (["--ppc", "0"], "--ppc"),
        (["--method", "rejection"], "--method"),
        (["--accept", "0.1"], "--accept"),
    ):
        code = main(["calibrate", "all", "--out", str(tmp_path / "o"), *argv])
        err = capsys.readouterr().err.strip()
        assert code == 2 and err.startswith("error: ") and field in err and "\n" not in err
    assert not (tmp_path / "o").exists()


def _toml(d: dict) -> str:
    """A minimal TOML writer for the test's specs (tables of scalars, lists and sub-tables)."""

    def value(v):
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    lines: list[str] = []

    def table(prefix: str, t: dict):
        scalars = {k: v for k, v in t.items() if not isinstance(v, dict)}
        subs = {k: v for k, v in t.items() if isinstance(v, dict)}
        if prefix:
            lines.append(f"[{prefix}]")
        lines.extend(f"{k} = {value(v)}" for k, v in scalars.items())
        for k, v in subs.items():
            table(f"{prefix}.{k}" if prefix else k, v)

    table("", d)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("mode", ["conditional", "marginal"])
def test_one_city_in_either_mode_pairs_each_sample_with_a_stage_a_row(spec_dir, tmp_path, mode):
    from experiments.inference import prior_posterior, write_posterior

    # a stage-A file (here its prior: any posterior file with a record will do)
    hz = cal.load_spec("hangzhou")
    draws, meta = prior_posterior(hz.describe(), hz.draws(300), None)
    (spec_dir / "posteriors").mkdir()
    stage_a = write_posterior(spec_dir / "posteriors" / "hangzhou.parquet", draws, meta)
    text = _city("alpha", 21, True).replace("[core]\n", f'[core]\nmode = "{mode}"\n')
    (spec_dir / "alpha.toml").write_text(text, encoding="utf-8")
    out = tmp_path / "alpha"
    argv = ["calibrate", "alpha", "--budget", "20", "--out", str(out), "--workers", "1"]
    assert main([*argv, "--ensemble", "1", "--samples", "50", "--quiet"]) == 0
    post, rec = read_posterior(out / "posterior.parquet")
    assert rec["core"]["mode"] == mode and rec["core"]["posterior"] == str(stage_a)
    # conditional: θ_core is an input of the networks; marginal: it is not
    assert bool(rec["context"]) == (mode == "conditional")
    assert all(c.startswith("core__") for c in rec["context"])
    a, _ = read_posterior(stage_a)
    rows = post[cal.CORE_ROW].to_numpy()
    assert len(set(rows)) > 25
    np.testing.assert_array_equal(
        post["founding_cash_yuan"], a["founding_cash_yuan"].to_numpy()[rows]
    )
    lo, hi = 1e8, 1.5e9  # vc_pool's documented range in the region file
    assert post["vc_pool_yuan_per_year"].between(lo, hi).all()
