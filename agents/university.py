"""Universities: graduates each July, researcher spinoffs, collaborations with startups (H4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from ecosystem.model import AIEcosystem
    from ecosystem.scenario import UniversitySpec


class University(mesa.Agent):
    """A university of a region (Zhejiang University, Westlake University, ...).

    It decides how many spinoffs and collaborations to start; ``labour.graduation`` and
    ``firm_life.university_links`` carry them out on the people and startup tables.
    """

    model: AIEcosystem

    def __init__(self, model: AIEcosystem, key: str, region: int, spec: UniversitySpec, index: int):
        super().__init__(model)
        self.key, self.region, self.spec, self.index = key, region, spec, index
        self.name = spec.name
        self.graduates_total = 0
        self.spinoffs_total = 0
        self.collaborations_total = 0

    @property
    def node(self) -> str:
        return f"university:{self.key}"

    @property
    def collaboration_gain(self) -> float:
        """Capability gain of a startup from one collaboration."""
        return self.spec.collaboration_boost * self.spec.research_quality

    def spinoffs_wanted(self, rng: np.random.Generator) -> int:
        """Researchers founding startups this month: rises with research quality (Poisson)."""
        return int(rng.poisson(self.spec.spinoffs_per_year * self.spec.research_quality / 12.0))

    def collaborations_wanted(self, rng: np.random.Generator) -> int:
        return int(rng.poisson(self.spec.collaborations_per_year / 12.0))

    def record_graduation(self, stayed: int, founders: int) -> None:
        self.graduates_total += stayed
        self.spinoffs_total += founders

    def record_spinoffs(self, n: int) -> None:
        self.spinoffs_total += n

    def record_collaborations(self, n: int) -> None:
        self.collaborations_total += n
