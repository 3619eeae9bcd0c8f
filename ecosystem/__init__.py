"""aieco's model: regions, markets, scenarios and presets.

    from ecosystem import AIEcosystem, load_scenario
    model = AIEcosystem(load_scenario("hangzhou"), rng=7)
    model.run_for(120)
    model.kpis()
"""

from ecosystem.model import AIEcosystem
from ecosystem.scenario import Scenario, ScenarioError, load_scenario, preset_names

__all__ = ["AIEcosystem", "Scenario", "ScenarioError", "load_scenario", "preset_names"]
