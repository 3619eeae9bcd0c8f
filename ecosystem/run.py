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
        """Headline outcomes of the run (see ``summarise``)."""
        return summarise(self.kpis, self.firms, self.scenario, self.network_summary)

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
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=_json_default))
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


def summarise(kpis: pd.DataFrame, firms: pd.DataFrame, scenario: Scenario, networks: dict | None = None) -> dict[str, float]:
    """Headline outcomes across all city regions of a run (flat dict of numbers)."""
    out: dict[str, float] = {}
    cities = [k for k, r in scenario.regions.items() if r.kind == "city"]
    k = kpis[kpis["region"].isin(cities)]
    if k.empty:
        return out
    by_month = k.groupby("month").sum(numeric_only=True)
    alive = by_month["startups_alive"]
    for year in (1, 5, 10):
        m = 12 * year - 1
        out[f"startups_alive_y{year}"] = float(alive.loc[m]) if m in alive.index else float("nan")
    out["startups_alive_end"] = float(alive.iloc[-1])
    target = scenario.meta.target_startups
    hit = alive.index[alive.to_numpy() >= target]
    out["month_target_reached"] = float(hit[0]) if len(hit) else float("nan")
    out["target_reached"] = float(len(hit) > 0)
    for col in ("startups_founded", "startups_failed", "startups_acquired", "voucher_spent_yuan",
                "voucher_additional_gpu_h", "compute_sold_gpu_h", "compute_bought_west_gpu_h", "vc_raised_yuan"):
        out[f"{col}_total"] = float(by_month[col].sum())
    out.update(founder_shares(firms))
    years = len(by_month) / 12
    inflow = by_month["talent_net_inflow"] if "talent_net_inflow" in by_month else None
    if inflow is not None and years >= 1:
        out["talent_net_inflow_per_year"] = float(inflow.sum() / years)
    hubs = [kk for kk, r in scenario.regions.items() if r.kind == "hub"]
    hub_k = kpis[kpis["region"].isin(hubs)]
    if not hub_k.empty:
        cap = hub_k.groupby("month")["dc_capacity_gpu_h"].sum()
        sold = hub_k.groupby("month")["dc_sold_gpu_h"].sum()
        util = sold / cap
        out["west_utilization_y1"] = float(util.iloc[:12].mean())
        out["west_utilization_end"] = float(util.iloc[-12:].mean())
    east_cap = k.groupby("month")["dc_capacity_gpu_h"].sum()
    east_sold = k.groupby("month")["dc_sold_gpu_h"].sum()
    out["east_utilization_end"] = float((east_sold / east_cap).iloc[-12:].mean()) if east_cap.iloc[-1] > 0 else float("nan")
    if networks:
        for key in ("share_founders_from_largest_firm", "genealogy_max_depth"):
            if key in networks:
                out[key] = float(networks[key])
    return out


def founder_shares(firms: pd.DataFrame) -> dict[str, float]:
    """Founder careers of the startups founded during a run ([S50]'s definition, docs/calibration.md).

    ``founders_big_or_famous``: among founders with a known career (an employer before founding,
    or a big-firm past), the share who had worked at a big firm or came from a startup at Series C
    or later. ``founders_big_firm_last_job``: among founders with a previous employer, the share
    whose last employer was a big firm.
    """
    new = firms[firms["founded_month"] >= 0] if not firms.empty else firms
    if new.empty:
        return {"founders_big_or_famous": float("nan"), "founders_big_firm_last_job": float("nan")}
    alumni = new["founder_alumni"] != ""
    known = (new["origin"] != "other") | alumni
    big_or_famous = (alumni | new["parent_famous"])[known]
    last_job = new.loc[new["origin"] != "other", "origin"] == "big_firm"
    return {
        "founders_big_or_famous": float(big_or_famous.mean()) if len(big_or_famous) else float("nan"),
        "founders_big_firm_last_job": float(last_job.mean()) if len(last_job) else float("nan"),
    }


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
            ["git", "-C", str(root), "status", "--porcelain"], capture_output=True, text=True, timeout=5
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
