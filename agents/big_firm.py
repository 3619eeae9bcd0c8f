"""Big firms (Alibaba and others): employers, sources of alumni founders, acquirers, buyers (H5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from agents.budget import Budget

if TYPE_CHECKING:
    from ecosystem.model import AIEcosystem
    from ecosystem.scenario import BigFirmSpec


class BigFirm(mesa.Agent):
    """A large incumbent whose leavers found startups and which buys and acquires them.

    Its headcount and leavers are columns of the model state (people are rows of the people
    table); ``firm_life.acquisitions`` carries out the acquisitions it decides on.
    """

    model: AIEcosystem

    def __init__(self, model: AIEcosystem, key: str, region: int, spec: BigFirmSpec, index: int):
        super().__init__(model)
        self.key, self.region, self.spec, self.index = key, region, spec, index
        self.name = spec.name
        self.acquisitions_total = 0
        #: Money for buying startups this calendar year (renewed in January by ``open_month``).
        self.ma_budget = Budget(spec.ma_budget_yuan_per_year)
        self._year = 0

    @property
    def leavers_total(self) -> int:
        """People who have left this firm since the start (to any destination)."""
        return int(self.model.state.bf_leavers[self.index])

    @property
    def node(self) -> str:
        return f"big_firm:{self.key}"

    def target_headcount(self) -> int:
        """Labour demand: the 2025 headcount on its growth trend, moved along a demand curve
        through the firm's 2025 point by the city's wage, (wage / initial wage) ** −ε_L."""
        model = self.model
        years = model.month / 12.0
        trend = self.spec.headcount * (1.0 + self.spec.headcount_growth_per_year) ** years
        relative = model.state.wage[self.region] / model.params.wage[self.region]
        elasticity = model.config.labour.big_firm_labour_elasticity
        return int(round(trend * relative**-elasticity))

    @property
    def procurement_per_month(self) -> float:
        return self.spec.procurement_yuan_per_year / 12.0

    def open_month(self, month: int) -> None:
        """The M&A budget renews in January; the month's spending starts at zero."""
        if month // 12 != self._year:
            self._year = month // 12
            self.ma_budget.new_year()
        self.ma_budget.new_month()

    def pay_for(self, price: float) -> bool:
        """Pay for one acquisition if the budget left covers the whole price."""
        if price > self.ma_budget.available:
            return False
        self.ma_budget.grant_one(price)
        return True

    def record_acquisitions(self, n: int) -> None:
        self.acquisitions_total += n
