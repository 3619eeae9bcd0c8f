"""One browser session's state: settings, the running model, its baseline, exports.

Nothing here imports Solara, so it is tested like any other Python code. The app creates one
:class:`Session` per browser tab (inside the page component), never at module level.

Rule for settings: any change (a lever, the seed, counterfactual mode) re-runs the model from
month 0 to the month the session was at, with the same seed, so its effect is visible at once;
choosing a preset or loading a scenario file starts again at month 0.
"""

from __future__ import annotations

import copy
import ctypes
import datetime as dt
import functools
import importlib.metadata
import math
import re
import shlex
import threading
import time
import tomllib
import urllib.parse
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import tomli_w

from ecosystem import AIEcosystem, outcomes
from ecosystem.scenario import (
    Scenario,
    ScenarioError,
    dump_toml,
    load_document,
    load_document_text,
    nest,
    preset_names,
    scenario_from_dict,
    set_path,
    strip_provenance,
)
from ecosystem.seeds import seed_problem
from viz.levers import Lever, Programme, levers_for, programmes_for, value_at

ORIGINS = ("big_firm", "university", "startup", "other")
#: The source recorded for a value a user set in the app.
APP_SOURCE = "set in the aieco browser app"
#: Longest replay the app does in one go (months), to keep the page responsive.


@dataclass
class RunFrames:
    """Tables of one run, computed once per model state."""

    kpis: pd.DataFrame  # model.kpis()
    totals: pd.DataFrame  # numeric KPIs summed over regions, indexed by month
    dcs: pd.DataFrame  # model.dc_kpis()
    origin_alive: pd.DataFrame  # startups alive by founder origin, indexed by month
    model: AIEcosystem

    @property
    def firms(self) -> pd.DataFrame:
        """model.firms() (built on first use: the charts do not need it)."""
        if self._firms is None:
            self._firms = self.model.firms()
        return self._firms

    _firms: pd.DataFrame | None = None


def default_preset() -> str:
    names = preset_names()
    return "hangzhou" if "hangzhou" in names else names[0]


def diff_documents(base: dict, other: dict, prefix: str = "") -> dict[str, Any]:
    """Dotted paths (and values) where the plain document ``other`` differs from ``base``."""
    out: dict[str, Any] = {}
    for key, value in other.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out.update(diff_documents(base[key], value, path))
        elif key not in base or not _same(base[key], value):
            out[path] = value
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or a == b and type(a) is type(b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
    return a == b


@functools.cache
def version() -> str:
    """The installed aieco version (read once: importlib.metadata parses the package's metadata
    files on every call, ~1 ms, and every figure and card stamp asks for it on every Step)."""
    try:
        return importlib.metadata.version("aieco")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def clean_number(x: Any) -> Any:
    """A float as the short decimal a person typed (0.7, not 0.7000000000000001)."""
    if isinstance(x, float) and math.isfinite(x):
        return float(f"{x:.12g}")
    if isinstance(x, dict):
        return {k: clean_number(v) for k, v in x.items()}
    if isinstance(x, list):
        return [clean_number(v) for v in x]
    return x


def toml_value(x: Any) -> str:
    """A value as ``--set`` reads it (TOML syntax)."""
    return tomli_w.dumps({"v": clean_number(x)})[4:].strip()


def parse_seed(text: Any) -> int:
    raw = str(text).strip()
    try:
        seed: Any = int(raw)
    except ValueError:
        seed = raw
    if problem := seed_problem(seed):
        raise ValueError(f"seed = {seed!r}: {problem}")
    return seed


class Session:
    """Settings and models of one browser session. All public methods are thread-safe."""

    def __init__(self, preset: str | None = None, seed: int = 0):
        self.lock = threading.RLock()
        self.version = 0  # bumped on every change; views cache on it
        self.run_id = 0  # bumped when the runs are rebuilt (charts then get a new figure)
        self.settings_version = 0  # bumped when settings (not the month) change
        self.seed = int(seed)
        self.counterfactual = False
        self.message = ""
        self._frames: dict[str, tuple[int, RunFrames]] = {}
        self.step_seconds = 0.05  # running mean of one model month (for busy-state estimates)
        self._use_preset(preset or default_preset())
        self._restart(0)

    # ------------------------------------------------------------------------------------------
    # Settings
    # ------------------------------------------------------------------------------------------
    def _use_preset(self, name: str) -> None:
        self.settings_version += 1
        self.preset: str | None = name
        self.source = f"preset “{name}”"
        self.base_doc = load_document(name)
        self.base_scenario = scenario_from_dict(self.base_doc)
        self.changes: dict[str, Any] = {}
        self.scenario = self.base_scenario
        self.levers: list[Lever] = levers_for(self.base_scenario.model_dump())
        self.programmes: list[Programme] = programmes_for(self.base_scenario.model_dump())

    def _scenario_with(self, changes: dict[str, Any]) -> Scenario:
        doc = copy.deepcopy(self.base_doc)
        for path, value in changes.items():
            set_path(doc, path, value, source=APP_SOURCE)
        return scenario_from_dict(doc)

    def lever(self, path: str) -> Lever:
        for lev in self.levers:
            if lev.path == path:
                return lev
        raise KeyError(path)

    def value(self, path: str) -> Any:
        return value_at(self.scenario, path)

    def base_value(self, path: str) -> Any:
        return value_at(self.base_scenario, path)

    @property
    def horizon(self) -> int:
        return self.scenario.months

    @property
    def month(self) -> int:
        return self.model.month

    def set_lever(self, path: str, value: Any) -> None:
        """Change one scenario value (model units) and re-run to the current month.

        Raises ScenarioError (one line) if the scenario would be invalid; nothing changes then.
        """
        self.set_levers({path: value})
        label = next((lev.label for lev in self.levers if lev.path == path), path)
        self.message = f"{label} changed; re-ran months 0–{self.month} with the same seed."

    def check_levers(self, values: dict[str, Any]) -> None:
        """Raise ScenarioError if these values would make an invalid scenario (nothing changes)."""
        self._scenario_with({**self.changes, **values})

    def set_levers(self, values: dict[str, Any]) -> None:
        """Change several scenario values at once (one re-run)."""
        with self.lock:
            changes = dict(self.changes)
            for path, value in values.items():
                try:
                    base = value_at(self.base_scenario, path)
                except (AttributeError, KeyError):
                    base = None
                if base is not None and _same(base, value):
                    changes.pop(path, None)
                else:
                    changes[path] = clean_number(value)
            scenario = self._scenario_with(changes)
            self.changes, self.scenario = changes, scenario
            self.settings_version += 1
            self._replay(current=True, baseline=False)

    def programme_on(self, prog: Programme) -> bool:
        """A programme is on when any of its amounts or rates is above 0."""
        return any(float(self.value(p)) > 0 for p in prog.paths)

    def programme_available(self, prog: Programme) -> bool:
        """Whether switching on restores something (the preset has the programme)."""
        return any(float(self.base_value(p)) > 0 for p in prog.paths)

    def set_programme(self, prog_id: str, on: bool) -> None:
        """Off: every amount and rate of the programme is 0 (it pays nothing at all).
        On: the preset's (or loaded file's) values come back."""
        prog = next(p for p in self.programmes if p.id == prog_id)
        if on:
            self.set_levers({p: self.base_value(p) for p in prog.paths})
        else:
            self.set_levers({p: 0.0 for p in prog.paths})
        state = "on" if on else "off"
        self.message = (
            f"{prog.name} ({prog.group}) {state}; re-ran months 0–{self.month} with the same seed."
        )

    def reset_levers(self) -> None:
        """Back to the preset's (or loaded file's) values, at the same month."""
        with self.lock:
            self.changes = {}
            self.scenario = self.base_scenario
            self.settings_version += 1
            self._replay(current=True, baseline=False)
            self.message = f"Levers reset to the values of {self.source}."

    def set_seed(self, seed: int) -> None:
        with self.lock:
            self.seed = parse_seed(seed)
            self.settings_version += 1
            self._replay(current=True, baseline=True)
            self.message = f"Seed {self.seed}: re-ran months 0–{self.month}."

    def set_preset(self, name: str) -> None:
        if name not in preset_names():
            raise ScenarioError("preset", name, f"allowed: {', '.join(preset_names())}")
        with self.lock:
            self._use_preset(name)
            self._restart(0)
            self.message = f"Preset {name} loaded."

    def set_counterfactual(self, on: bool) -> None:
        with self.lock:
            self.counterfactual = bool(on)
            self.settings_version += 1
            self.run_id += 1
            self.baseline = None
            if on:
                self._replay(current=False, baseline=True)
            self.version += 1

    # ------------------------------------------------------------------------------------------
    # Running
    # ------------------------------------------------------------------------------------------
    def _new_model(self, scenario: Scenario) -> AIEcosystem:
        return AIEcosystem(scenario, rng=self.seed)

    def estimate_seconds(self, months: int) -> float:
        """About how long re-running ``months`` months takes (both runs with the baseline)."""
        return months * self.step_seconds * (2 if self.counterfactual else 1)

    def _step_models(self, models: list[AIEcosystem]) -> None:
        t0 = time.perf_counter()
        for m in models:
            m.step()
        dt_ = (time.perf_counter() - t0) / max(1, len(models))
        self.step_seconds = 0.9 * self.step_seconds + 0.1 * dt_

    def close(self) -> None:
        """Drop the runs (the tab closed); the session cannot be used afterwards."""
        with self.lock:
            self._frames.clear()
            self.model = None  # type: ignore[assignment]
            self.baseline = None

    def _restart(self, month: int) -> None:
        self.run_id += 1
        self.model = self._new_model(self.scenario)
        self.baseline = self._new_model(self.base_scenario) if self.counterfactual else None
        for _ in range(min(month, self.horizon)):
            self._step_models([m for m in (self.model, self.baseline) if m is not None])
        self.version += 1

    def _replay(self, current: bool, baseline: bool) -> None:
        self.run_id += 1
        month = self.model.month
        if current:
            self.model = self._new_model(self.scenario)
            for _ in range(month):
                self.model.step()
        if (baseline or self.baseline is None) and self.counterfactual:
            self.baseline = self._new_model(self.base_scenario)
            for _ in range(month):
                self.baseline.step()
        self.version += 1

    def restart(self) -> None:
        """Month 0 with the current settings."""
        with self.lock:
            self._restart(0)
            self.message = "Restarted at month 0."

    def step(self, months: int = 1) -> int:
        """Advance up to ``months`` (not past the horizon); returns the months done."""
        with self.lock:
            todo = max(0, min(int(months), self.horizon - self.model.month))
            for _ in range(todo):
                self._step_models([m for m in (self.model, self.baseline) if m is not None])
            if todo:
                self.version += 1
            return todo

    @property
    def finished(self) -> bool:
        return self.model.month >= self.horizon

    # ------------------------------------------------------------------------------------------
    # Tables for the views
    # ------------------------------------------------------------------------------------------
    def runs(self) -> dict[str, AIEcosystem]:
        out = {"current": self.model}
        if self.counterfactual and self.baseline is not None:
            out["baseline"] = self.baseline
        return out

    def frames(self, run: str = "current") -> RunFrames:
        with self.lock:
            cached = self._frames.get(run)
            if cached and cached[0] == self.version:
                return cached[1]
            model = self.runs()[run]
            frames = run_frames(model)
            self._frames[run] = (self.version, frames)
            return frames

    def summary(self) -> dict[str, float]:
        """Headline numbers of the current state (for the cards above the charts)."""
        return summary_numbers(self.frames("current"), self.model)

    def organisations(self) -> list[tuple[str, str]]:
        """(node, label) of organisations whose founder genealogy can be shown."""
        m = self.model
        return [(o.node, o.name) for o in [*m.big_firms, *m.universities]]

    # ------------------------------------------------------------------------------------------
    # Export, save, load
    # ------------------------------------------------------------------------------------------
    @property
    def scenario_name(self) -> str:
        return self.preset or self.source

    def stamp(self) -> str:
        """What a figure or file must say to be reproduced: scenario, seed, month, version."""
        changed = f" · {len(self.changes)} lever(s) changed" if self.changes else ""
        return (
            f"aieco {version()} · {self.scenario_name} · seed {self.seed} · "
            f"month {self.month}{changed}"
        )

    def command_line(self) -> str:
        """The ``aieco run`` command that reproduces this view (its outputs hold this month)."""
        if self.preset is None:
            return (
                f"aieco run <saved file>.toml --seed {self.seed}   "
                "# save the scenario first (Save levers)"
            )
        parts = ["aieco", "run", self.preset, "--seed", str(self.seed)]
        for path, value in sorted(self.changes.items()):
            parts += ["--set", f"{path}={toml_value(value)}"]
        return " ".join(shlex.quote(p) for p in parts)

    def query(self) -> dict[str, str]:
        """The view as URL parameters: preset, seed, month, baseline and changed levers."""
        q = {"preset": self.preset or "", "seed": str(self.seed), "month": str(self.month)}
        if self.counterfactual:
            q["baseline"] = "1"
        for path, value in sorted(self.changes.items()):
            q["set." + path] = toml_value(value)
        return q

    def query_string(self) -> str:
        return urllib.parse.urlencode(self.query())

    def apply_query(self, search: str | None) -> list[str]:
        """Restore a view from URL parameters; returns one-line problems (bad parts are skipped)."""
        problems: list[str] = []
        q = dict(urllib.parse.parse_qsl(search or "", keep_blank_values=True))
        if not q:
            return problems
        with self.lock:
            preset = q.get("preset") or self.preset
            if preset and preset != self.preset:
                if preset in preset_names():
                    self._use_preset(preset)
                else:
                    problems.append(f"preset = {preset!r}: unknown; kept {self.preset}")
            if "seed" in q:
                try:
                    self.seed = parse_seed(q["seed"])
                except ValueError as exc:
                    problems.append(str(exc))
            changes: dict[str, Any] = {}
            known = {lev.path: lev for lev in self.levers}
            for key, raw in q.items():
                if not key.startswith("set."):
                    continue
                path = key[4:]
                if path not in known:
                    problems.append(f"{path}: not a lever of this scenario; ignored")
                    continue
                try:
                    value = tomllib.loads(f"v = {raw}")["v"]
                    self._scenario_with({**changes, path: value})
                except (tomllib.TOMLDecodeError, ScenarioError) as exc:
                    problems.append(f"{path} = {raw!r}: {exc}; ignored")
                    continue
                changes[path] = value
            self.changes = changes
            self.scenario = self._scenario_with(changes)
            self.counterfactual = q.get("baseline") == "1"
            month = 0
            if "month" in q:
                try:
                    month = int(q["month"])
                    if not 0 <= month <= self.horizon:
                        raise ValueError
                except ValueError:
                    problems.append(f"month = {q['month']!r}: must be from 0 to {self.horizon}")
                    month = 0
            self.settings_version += 1
            self._restart(month)
            self.message = f"Restored from the link: {self.stamp()}."
        return problems

    def kpis_csv(self) -> bytes:
        """Monthly KPIs of the run (and of the baseline in counterfactual mode) as CSV."""
        with self.lock:
            parts = []
            for run in self.runs():
                f = self.frames(run)
                k = f.kpis.copy()
                if k.empty:
                    continue
                alive = f.origin_alive.add_prefix("startups_alive_origin_")
                k = k.merge(alive, left_on="month", right_index=True, how="left")
                k.insert(0, "run", run)
                k.insert(1, "seed", self.seed)
                k["scenario"] = self.scenario_name
                k["levers_changed"] = ";".join(
                    f"{p}={toml_value(v)}" for p, v in sorted(self.changes.items())
                )
                k["aieco_version"] = version()
                parts.append(k)
            table = (
                pd.concat(parts, ignore_index=True)
                if parts
                else pd.DataFrame(columns=["run", "seed", "month"])
            )
            return table.to_csv(index=False).encode()

    def data_centers_csv(self) -> bytes:
        with self.lock:
            parts = []
            for run in self.runs():
                d = self.frames(run).dcs.copy()
                d.insert(0, "run", run)
                d.insert(1, "seed", self.seed)
                d["scenario"] = self.scenario_name
                d["aieco_version"] = version()
                parts.append(d)
            return pd.concat(parts, ignore_index=True).to_csv(index=False).encode()

    def scenario_toml(self) -> str:
        """The levers as a TOML scenario ``aieco run`` accepts.

        From a preset: a small override file (``base = "<preset>"`` plus the changed values);
        from a loaded full scenario: the whole resolved scenario.
        """
        with self.lock:
            stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
            head = (
                f"# Saved by the aieco browser app (aieco {version()}) on {stamp}, "
                f"viewed at month {self.month}.\n"
                f"# seed: {self.seed}  (run it with: aieco run <this file> --seed {self.seed})\n"
            )
            if self.preset is not None:
                body = tomli_w.dumps(clean_number({"base": self.preset, **nest(self.changes)}))
            else:
                body = dump_toml(self.scenario)
            return head + body

    def load_toml(self, text: str, filename: str = "scenario.toml") -> None:
        """Load a saved scenario (an override file on a preset, or a full scenario).

        Raises ScenarioError with a one-line message; the session is unchanged then.
        """
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(filename, "(file)", f"is not valid TOML: {exc}") from None
        base = raw.get("base")
        # Restricted: ``base`` only a packaged preset, ``include`` only packaged fragments; no
        # path on the server is read on an upload's behalf.
        doc = load_document_text(text, filename, restricted=True)
        scenario = scenario_from_dict(doc)  # validates; raises ScenarioError
        seed = _seed_comment(text)
        with self.lock:
            if base is not None:
                self._use_preset(base)
                plain_file, _ = strip_provenance(doc)
                plain_base, _ = strip_provenance(self.base_doc)
                self.changes = diff_documents(plain_base, plain_file)
                self.scenario = self._scenario_with(self.changes)
                self.source = f"preset “{base}”"
            else:
                self.preset = None
                self.base_doc = doc
                self.base_scenario = scenario
                self.changes = {}
                self.scenario = scenario
                self.levers = levers_for(scenario.model_dump())
                self.programmes = programmes_for(scenario.model_dump())
                self.source = f"file “{filename}”"
            if seed is not None:
                self.seed = seed
            self.settings_version += 1
            self._restart(0)
            self.message = (
                f"Loaded {filename} ({len(self.changes)} values differ from {self.source})."
            )


def release_memory() -> None:
    """Give freed memory back to the operating system (glibc keeps it otherwise)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _seed_comment(text: str) -> int | None:
    m = re.search(r"^#\s*seed:\s*(\d+)", text, flags=re.MULTILINE)
    return int(m.group(1)) if m else None


# ----------------------------------------------------------------------------------------------
# Derived tables
# ----------------------------------------------------------------------------------------------
def run_frames(model: AIEcosystem) -> RunFrames:
    kpis = model.kpis()
    dcs = model.dc_kpis()
    months = model.month
    if kpis.empty:
        totals = pd.DataFrame()
    else:
        totals = kpis.drop(columns=["date", "region"]).groupby("month").sum(numeric_only=True)
    return RunFrames(kpis, totals, dcs, origin_alive(model, months), model)


def origin_alive(model: AIEcosystem, months: int) -> pd.DataFrame:
    """Startups alive at the end of each month, by the lead founder's origin (from the columns)."""
    out = {}
    index = pd.RangeIndex(months, name="month")
    if months == 0:
        return pd.DataFrame({o: pd.Series(dtype=int) for o in ORIGINS}, index=index)
    s = model.startups
    n = s.n
    founded = s.founded_month[:n].astype(np.int64)
    exited = s.exit_month[:n].astype(np.int64)
    origin = s.origin[:n]
    for code, o in enumerate(ORIGINS):
        sel = origin == code
        births = np.bincount(np.clip(founded[sel], 0, None), minlength=months)[:months]
        ex = exited[sel]
        ex = ex[(ex >= 0) & (ex < months)]
        exits = np.bincount(ex, minlength=months)[:months]
        out[o] = np.cumsum(births) - np.cumsum(exits)
    return pd.DataFrame(out, index=index)


#: The KPI columns the utilisation outcomes (``east_utilization_end``, ``west_utilization_end``)
#: are computed from.
UTILISATION_COLUMNS = ("dc_sold_gpu_h", "dc_capacity_gpu_h")


def summary_numbers(f: RunFrames, model: AIEcosystem) -> dict[str, float]:
    t = f.totals
    out: dict[str, float] = {"month": float(model.month)}
    if t.empty:
        n = f.firms
        out["startups_alive"] = float((n["exit_reason"] == "alive").sum())
        for key in (
            "startups_founded",
            "startups_failed",
            "startups_acquired",
            "voucher_spent_yuan",
            "voucher_city_yuan",
            "voucher_hub_yuan",
        ):
            out[key] = 0.0
        out["employment_startups"] = out["largest_startup_staff"] = float("nan")
        out["east_utilization_end"] = out["west_utilization_end"] = float("nan")
        return out
    last = t.iloc[-1]
    hubs = {rid for rid, r in model.config.regions.items() if r.kind != "city"}
    k = f.kpis
    is_hub = k["region"].isin(hubs).to_numpy()
    spent = k["voucher_spent_yuan"].to_numpy(float)
    out["voucher_city_yuan"] = float(spent[~is_hub].sum())
    out["voucher_hub_yuan"] = float(spent[is_hub].sum())
    out["startups_alive"] = float(last["startups_alive"])
    for key in ("startups_founded", "startups_failed", "startups_acquired", "voucher_spent_yuan"):
        out[key] = float(t[key].sum())
    out["employment_startups"] = float(last["employment_startups"])
    # The registry's definitions (ecosystem.outcomes): the last 12 months run so far. They read
    # the data-center columns and the largest startup only; summing every KPI column by month
    # for cities and for hubs took ~5 ms of each Step.
    regions = model.config.regions
    data = outcomes.RunData(
        kpis=f.kpis[["month", "region", *UTILISATION_COLUMNS, "largest_startup_staff"]],
        cities=[k for k, r in regions.items() if r.kind == "city"],
        hubs=[k for k, r in regions.items() if r.kind == "hub"],
        target_startups=model.config.meta.target_startups,
        months=model.month,
    )
    # ... and the largest startup of any city now (held-out pattern 13: real ones stay below
    # ~10,000), under the card's key.
    names = ["east_utilization_end", "west_utilization_end", "largest_startup_staff_end"]
    out.update(outcomes.compute(data, names))
    out["largest_startup_staff"] = out.pop("largest_startup_staff_end")
    return out
