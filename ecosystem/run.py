"""Running a scenario and keeping its results: the one place that turns a model into tables.

result = run_scenario(load_scenario("hangzhou"), seed=7)
result.kpis            # monthly KPIs, one row per month and region
result.summary()       # headline numbers (a flat dict)
result.write("out/")   # parquet tables, GraphML networks, manifest.json
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from ecosystem import outcomes
from ecosystem.model import AIEcosystem
from ecosystem.scenario import Scenario, to_document

PACKAGES = ("aieco", "mesa", "numpy", "pandas", "pyarrow", "pydantic", "networkx")


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
    model: AIEcosystem | None = field(default=None, repr=False)

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
            model=model,
        )

    def summary(self) -> dict[str, float]:
        """Headline outcomes of the run: every outcome of the registry (``ecosystem.outcomes``)."""
        return outcomes.compute(outcomes.RunData.from_result(self))

    def write(self, out_dir: str | Path) -> Path:
        """Write all tables to ``out_dir`` atomically (a temporary folder renamed into place)."""
        out = Path(out_dir)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        tmp.chmod(0o755)
        try:
            self.kpis.to_parquet(tmp / "kpis.parquet", index=False)
            self.dc_kpis.to_parquet(tmp / "data_centers.parquet", index=False)
            self.firms.to_parquet(tmp / "firms.parquet", index=False)
            self.firm_years.to_parquet(tmp / "firm_years.parquet", index=False)
            self.talent_flows.to_parquet(tmp / "talent_flows.parquet", index=False)
            self.partnerships.to_parquet(tmp / "partnerships.parquet", index=False)
            if self.model is not None:
                self.model.networks.write_graphml(tmp / "networks")
            manifest = {
                "scenario": to_document(self.scenario, with_sources=True),
                "seed": self.seed,
                "months": self.months,
                "summary": self.summary(),
                "networks": self.network_summary,
                "versions": package_versions(),
                "git_revision": git_revision(),
                "python": platform.python_version(),
            }
            (tmp / "manifest.json").write_text(
                json.dumps(manifest, indent=2, default=_json_default)
            )
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return out


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


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_revision() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if rev.returncode != 0:
        return "unknown"
    return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float | int | str):
        return obj
    return str(obj)
