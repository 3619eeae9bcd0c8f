"""Big firms (Alibaba and others): employers, sources of alumni founders, acquirers, buyers (H5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from ecosystem.scenario import BigFirmSpec

if TYPE_CHECKING:
    from ecosystem.model import AIEcosystem


class BigFirm(mesa.Agent):
    """A large incumbent whose leavers found startups and which buys and acquires them."""

    model: AIEcosystem

    def __init__(self, model: AIEcosystem, key: str, region: int, spec: BigFirmSpec, index: int):
        super().__init__(model)
        self.key, self.region, self.spec, self.index = key, region, spec, index
        self.name = spec.name
        self.acquisitions_total = 0

    @property
    def leavers_total(self) -> int:
        """People who have left this firm since the start (to any destination)."""
        return int(self.model.bf_leavers[self.index])

    @property
    def node(self) -> str:
        return f"big_firm:{self.key}"

    def target_headcount(self) -> int:
        years = self.model.month / 12.0
        return int(round(self.spec.headcount * (1.0 + self.spec.headcount_growth_per_year) ** years))

    @property
    def procurement_per_month(self) -> float:
        return self.spec.procurement_yuan_per_year / 12.0

    def acquire(self) -> None:
        """Buy promising local startups (a Poisson number a month, best capability first)."""
        n = int(self.model.rng.poisson(self.spec.acquisitions_per_year / 12.0))
        if n:
            self.acquisitions_total += self.model.acquire_startups(self, n)

    def step(self) -> None:
        self.acquire()
