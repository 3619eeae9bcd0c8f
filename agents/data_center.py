"""Data centers: capacity, price, power cost, utilisation, expansion under a chip limit (V8–V10)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from ecosystem.scenario import DataCenterSpec

if TYPE_CHECKING:
    from ecosystem.model import AIEcosystem


class DataCenter(mesa.Agent):
    """A data center (or cluster) selling H100-equivalent GPU-hours by the month."""

    model: AIEcosystem

    def __init__(self, model: AIEcosystem, key: str, region: int, spec: DataCenterSpec, index: int):
        super().__init__(model)
        self.key, self.region, self.spec, self.index = key, region, spec, index
        self.name = spec.name
        self.capacity = spec.capacity_gpu_h
        self.price = spec.price_yuan_per_gpu_h
        self.floor = spec.price_yuan_per_gpu_h * spec.price_floor_share
        self.background_base = spec.background_demand_gpu_h
        self.sold = 0.0
        self.sold_startups = 0.0
        self.sold_background = 0.0
        self.revenue_startups = 0.0  # paid by startups this month (their own money plus vouchers)
        self.pending_gpu_h = 0.0  # capacity ordered, not yet online
        for exp in spec.planned_expansions:
            self.model.schedule_capacity(self, exp.add_gpu_h, at_month=exp.month)

    @property
    def node(self) -> str:
        return f"data_center:{self.key}"

    @property
    def is_hub(self) -> bool:
        return self.model.region_kinds[self.region] == "hub"

    @property
    def power_cost_per_gpu_h(self) -> float:
        return self.spec.kw_per_gpu * self.spec.pue * self.spec.power_cost_yuan_per_kwh

    @property
    def utilization(self) -> float:
        return self.sold / self.capacity if self.capacity > 0 else 0.0

    def background_demand(self) -> float:
        """Demand from users outside the model: grows on trend, falls as the price rises."""
        years = self.model.month / 12.0
        trend = (1.0 + self.spec.background_growth_per_year) ** years
        rel_price = self.price / self.spec.price_yuan_per_gpu_h
        elasticity = self.model.config.compute.background_price_elasticity
        return self.background_base * trend * rel_price ** (-elasticity)

    def add_capacity(self, gpu_h: float) -> None:
        """Capacity ordered earlier comes online."""
        self.capacity += gpu_h
        self.pending_gpu_h = max(self.pending_gpu_h - gpu_h, 0.0)

    def set_price(self) -> None:
        """Move the price toward clearing the target load, never below the falling cost floor."""
        cm = self.model.config.compute
        years = self.model.month / 12.0
        floor = self.floor * (1.0 - self.model.config.national.compute_cost_decline_per_year) ** years
        floor = max(floor, self.power_cost_per_gpu_h)
        change = 1.0 + cm.price_adjust_per_month * (self.utilization - cm.target_utilization)
        self.price = max(self.price * change, floor)

    def consider_expansion(self) -> None:
        """Above the expansion threshold, order more capacity from the national chip supply."""
        cm = self.model.config.compute
        if not self.spec.expandable or self.utilization < cm.expansion_threshold:
            return
        if self.pending_gpu_h > 0:
            return
        wanted = self.capacity * cm.expansion_share
        granted = self.model.allocate_chips(wanted)
        if granted > 0:
            self.pending_gpu_h += granted
            self.model.schedule_capacity(self, granted, after_months=self.model.build_months)
