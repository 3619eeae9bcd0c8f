"""Universities: graduates each July, researcher spinoffs, collaborations with startups (H4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from ecosystem.scenario import UniversitySpec

if TYPE_CHECKING:
    from ecosystem.model import AIEcosystem


class University(mesa.Agent):
    """A university of a region (Zhejiang University, Westlake University, ...)."""

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

    def graduate(self) -> None:
        """July: a cohort enters the labour market; a few found startups straight away."""
        self.graduates_total += self.model.graduate_cohort(self)

    def spin_off(self) -> None:
        """Researchers found startups at a rate that rises with research quality."""
        rate = self.spec.spinoffs_per_year * self.spec.research_quality / 12.0
        n = int(self.model.rng.poisson(rate))
        if n:
            self.spinoffs_total += self.model.found_from_employer(self, n)

    def collaborate(self) -> None:
        """New collaborations raise the capability of random local startups."""
        n = int(self.model.rng.poisson(self.spec.collaborations_per_year / 12.0))
        if n:
            gain = self.spec.collaboration_boost * self.spec.research_quality
            self.collaborations_total += self.model.collaborate_with(self, n, gain)

    def step(self) -> None:
        self.spin_off()
        self.collaborate()
