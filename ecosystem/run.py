"""Running a scenario and keeping its results: the one place that turns a model into tables.

result = run_scenario(load_scenario("hangzhou"), seed=7)
result.kpis            # monthly KPIs, one row per month and region
result.summary()       # headline numbers (a flat dict)
result.write("out/")   # parquet tables, GraphML networks, manifest.json
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ecosystem import outcomes, outputs, reproducible
from ecosystem import output_tables as ot
from ecosystem.model import AIEcosystem
from ecosystem.scenario import Scenario, ScenarioError, scenario_from_dict, to_document

#: The files ``aieco run`` writes (``docs/outputs.md`` describes each column).
TABLE_FILES = {
    "kpis.parquet": "kpis",
    "data_centers.parquet": "data_centers",
    "firms.parquet": "firms",
    "firm_years.parquet": "firm_years",
    "talent_flows.parquet": "talent_flows",
    "partnerships.parquet": "partnerships",
    "voucher_programmes.parquet": "voucher_programmes",
    "rounds.parquet": "rounds",
}


@dataclass
class RunResult:
    """Everything a run produced, as tables (no live model needed)."""

    scenario: Scenario
    seed: int
    months: int
    kpis: pd.DataFrame
    dc_kpis: pd.DataFrame
    firms: pd.DataFrame
    firm_years: pd.DataFrame
    talent_flows: pd.DataFrame
    partnerships: pd.DataFrame
    network_summary: dict
    voucher_programmes: pd.DataFrame = field(default_factory=pd.DataFrame)
    rounds: pd.DataFrame = field(default_factory=pd.DataFrame)
    model: AIEcosystem | None = field(default=None, repr=False)
    orgs: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_model(cls, model: AIEcosystem, seed: int) -> RunResult:
        return cls(
            scenario=model.config,
            seed=seed,
            months=model.month,
            kpis=model.kpis(),
            dc_kpis=model.dc_kpis(),
            firms=model.firms(),
            firm_years=model.firm_years(),
            talent_flows=model.flows.table(),
            partnerships=model.networks.partnerships(),
            network_summary=model.networks.summary(),
            voucher_programmes=model.voucher_programmes(),
            rounds=model.rounds(),
            model=model,
            orgs={
                "regions": list(model.region_keys),
                "big_firm": [b.node for b in model.big_firms],
                "university": [u.node for u in model.universities],
            },
        )

    def summary(self) -> dict[str, float]:
        """Headline outcomes of the run: every outcome of the registry (``ecosystem.outcomes``)."""
        return outcomes.compute(outcomes.RunData.from_result(self))

    @property
    def run_id(self) -> str:
        """``<scenario>-s<seed>-<hash>``: the same scenario, seed and horizon give the same id."""
        doc = to_document(self.scenario, with_sources=False)
        key = json.dumps([doc, int(self.seed), int(self.months)], sort_keys=True, default=str)
        digest = hashlib.sha256(key.encode()).hexdigest()[:10]
        return f"{self.scenario.meta.name}-s{self.seed}-{digest}"

    def tables(self) -> dict[str, pa.Table]:
        """The written tables (file name -> Arrow table), in the schema of ``docs/outputs.md``."""
        rid, seed, start = self.run_id, self.seed, self.scenario.meta.start_year
        return {
            "kpis.parquet": ot.kpis_table(self.kpis, rid, seed, start),
            "data_centers.parquet": ot.data_centers_table(self.dc_kpis, rid, seed, start),
            "firms.parquet": ot.firms_table(self.firms, rid, seed, start),
            "firm_years.parquet": ot.firm_years_table(self.firm_years, rid, seed, start),
            "talent_flows.parquet": ot.talent_flows_table(
                self.talent_flows, self.orgs, rid, seed, start
            ),
            "partnerships.parquet": ot.partnerships_table(self.partnerships, rid, seed, start),
            "voucher_programmes.parquet": ot.voucher_programmes_table(
                self.voucher_programmes, rid, seed, start
            ),
            "rounds.parquet": ot.rounds_table(self.rounds, rid, seed, start),
        }

    def manifest(self, command: list[str] | None = None) -> dict:
        """What ``aieco run DIR/manifest.json`` needs to reproduce the run, and what it gave."""
        return {
            "aieco_output": "run",
            "run_id": self.run_id,
            "scenario": to_document(self.scenario, with_sources=True),
            "seed": self.seed,
            "months": self.months,
            "years": self.months / 12,
            "command": list(sys.argv if command is None else command),
            "summary": self.summary(),
            "outcomes": {
                name: {"unit": o.unit, "meaning": o.meaning}
                for name, o in outcomes.OUTCOMES.items()
            },
            "networks": self.network_summary,
            "versions": package_versions(),
            "git_revision": git_revision(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            # numpy's AVX-512 paths in use ([] = the machine-independent ones; reproducible.py)
            "numpy_avx512_paths": reproducible.avx512_paths_active(),
        }

    def write(
        self, out_dir: str | Path, overwrite: bool = False, command: list[str] | None = None
    ) -> Path:
        """Write every table, the GraphML networks and ``manifest.json`` to ``out_dir``.

        Through ``ecosystem.outputs.write_dir``: a temporary folder beside the target, moved into
        place; a non-empty folder aieco did not write is refused unless ``overwrite`` (and then
        only aieco's files there are replaced). Raises ``OutputError`` (one line).
        """
        tables = self.tables()
        manifest = self.manifest(command)

        def fill(tmp: Path) -> None:
            for name, table in tables.items():
                pq.write_table(table, tmp / name)
            if self.model is not None:
                self.write_graphml(tmp / "networks")
            text = json.dumps(_finite(manifest), indent=2, default=_json_default, allow_nan=False)
            (tmp / "manifest.json").write_text(text + "\n", encoding="utf-8")

        return outputs.write_dir(out_dir, fill, kind="run", overwrite=overwrite)

    def write_graphml(self, directory: Path) -> list[Path]:
        """The three networks as GraphML, with the output schema's ids, months and dates."""
        import networkx as nx

        directory.mkdir(parents=True, exist_ok=True)
        net = self.model.networks
        paths = []
        for name, graph in (
            ("genealogy", net.genealogy()),
            ("talent_flows", net.talent_graph()),
            ("partnerships", net.partnership_graph()),
        ):
            g = ot.clean_graph(graph, self.run_id, self.seed, self.scenario.meta.start_year)
            path = directory / f"{name}.graphml"
            nx.write_graphml(g, path)
            paths.append(path)
        return paths


def run_scenario(
    scenario: Scenario,
    seed: int,
    months: int | None = None,
    on_month: Callable[[AIEcosystem], None] | None = None,
) -> RunResult:
    """Run a scenario for ``months`` (default: its horizon) from one integer seed."""
    model = AIEcosystem(scenario, rng=int(seed))
    months = scenario.months if months is None else int(months)
    for _ in range(months):
        model.step()
        if on_month is not None:
            on_month(model)
    return RunResult.from_model(model, int(seed))


# --------------------------------------------------------------------------------------------
# Re-running from a manifest
# --------------------------------------------------------------------------------------------
def is_manifest_path(text: str | Path) -> bool:
    """Whether ``aieco run`` was given a run's manifest (or its folder) instead of a scenario."""
    p = Path(text)
    return p.name == "manifest.json" or (p.is_dir() and (p / "manifest.json").is_file())


def load_manifest(path: str | Path) -> dict:
    """A run's manifest (``DIR/manifest.json`` or ``DIR``); ScenarioError (one line) otherwise."""
    p = Path(path)
    if p.is_dir():
        p = p / "manifest.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError("manifest", str(p), "file not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ScenarioError(
            "manifest", str(p), f"is not a readable JSON manifest ({why})"
        ) from None
    if not isinstance(data, dict) or data.get("aieco_output", "run") != "run":
        raise ScenarioError("manifest", str(p), "is not the manifest of an `aieco run`")
    missing = [k for k in ("scenario", "seed", "months") if k not in data]
    if missing:
        raise ScenarioError("manifest", str(p), f"lacks {', '.join(missing)}; cannot re-run it")
    if not isinstance(data["seed"], int) or not isinstance(data["months"], int):
        raise ScenarioError("manifest", str(p), "seed and months must be whole numbers")
    return data


def rerun(
    manifest_path: str | Path,
    out: str | Path | None = None,
    overwrite: bool = False,
    on_month: Callable[[AIEcosystem], None] | None = None,
) -> RunResult:
    """Run again what a manifest records (resolved scenario, seed, months): bit for bit the same
    tables. With ``out``, write them there (the output folder is checked before running)."""
    data = load_manifest(manifest_path)
    if out is not None:
        outputs.check_out_dir(out, overwrite=overwrite)
    scenario = scenario_from_dict(data["scenario"])
    result = run_scenario(scenario, data["seed"], months=data["months"], on_month=on_month)
    if out is not None:
        result.write(out, overwrite=overwrite)
    return result


def package_versions() -> dict[str, str]:
    """Every installed distribution and its version (importlib.metadata), by normalised name
    (PEP 503: lower case, runs of ``-_.`` as ``-``), sorted."""
    out: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            out.setdefault(re.sub(r"[-_.]+", "-", name).lower(), dist.version)
    return dict(sorted(out.items()))


def git_revision(root: Path | None = None) -> str:
    """The checkout's commit (of aieco's own by default), ``-dirty`` if a tracked file changed."""
    root = Path(__file__).resolve().parent.parent if root is None else root
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        # changes to tracked files only: an untracked file (a worktree's link to a shared
        # virtual environment, a results folder) does not change the code that ran
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if rev.returncode != 0:
        return "unknown"
    return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def _finite(obj):
    """A JSON-ready copy: NaN and infinities become null (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _json_default(obj):
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, float | int | str):
        return obj
    return str(obj)
