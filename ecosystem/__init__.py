"""aieco's model: regions, markets, scenarios and presets.

    from ecosystem import AIEcosystem, load_scenario
    model = AIEcosystem(load_scenario("hangzhou"), rng=7)
    model.run_for(120)
    model.kpis()

The names are loaded on first use, so that ``import ecosystem.scenario`` (and with it
``aieco validate``/``presets``) does not pay for Mesa, pandas and numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# First, before anything imports numpy: the same numpy code paths on every x86-64 machine.
from ecosystem import reproducible as _reproducible  # noqa: F401

if TYPE_CHECKING:
    from ecosystem.model import AIEcosystem
    from ecosystem.scenario import Scenario, ScenarioError, load_scenario, preset_names

__all__ = ["AIEcosystem", "Scenario", "ScenarioError", "load_scenario", "preset_names"]


def __getattr__(name: str) -> Any:
    if name == "AIEcosystem":
        from ecosystem.model import AIEcosystem

        return AIEcosystem
    if name in __all__:
        from ecosystem import scenario

        return getattr(scenario, name)
    raise AttributeError(f"module 'ecosystem' has no attribute {name!r}")
