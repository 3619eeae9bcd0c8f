"""Data centers: capacity, price, power cost, utilisation, expansion under a chip limit (V8–V10)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

if TYPE_CHECKING:
    from ecosystem.model import AIEcosystem
    from ecosystem.scenario import DataCenterSpec


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
        #: Capacity coming online: (month, GPU-h, ordered here rather than planned in the
        #: scenario), in the order it was ordered or planned.
        self._arrivals: list[tuple[int, float, bool]] = []
        for exp in spec.planned_expansions:
            self._schedule(exp.month, exp.add_gpu_h, ordered=False)

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

    def record_sales(self, background: float, startups: float, revenue_startups: float) -> None:
        """This month's sales from the compute market."""
        self.sold_background = background
        self.sold_startups = startups
        self.sold = background + startups
        self.revenue_startups = revenue_startups

    # --- capacity -----------------------------------------------------------------------------
    def _schedule(self, month: int, gpu_h: float, ordered: bool) -> None:
        """Capacity comes online at the start of ``month`` (a Mesa event between steps)."""
        self._arrivals.append((month, gpu_h, ordered))
        self.model.schedule_event(self.bring_online, at=month + 0.5)

    def order_capacity(self, gpu_h: float) -> None:
        """Order capacity; it comes online after the national build time."""
        self.pending_gpu_h += gpu_h
        self._schedule(self.model.month + self.model.params.build_months, gpu_h, ordered=True)

    def bring_online(self) -> None:
        """Capacity due by now comes online (the event of ``_schedule``); fired entries go. Only
        capacity this center ordered leaves ``pending_gpu_h`` (planned expansions never entered
        it)."""
        now = self.model.month
        due = [a for a in self._arrivals if a[0] <= now]
        self._arrivals = [a for a in self._arrivals if a[0] > now]
        for _, gpu_h, ordered in due:
            self.capacity += gpu_h
            if ordered:
                self.pending_gpu_h = max(self.pending_gpu_h - gpu_h, 0.0)

    # --- monthly decisions --------------------------------------------------------------------
    def post_price(self, price: float) -> None:
        """Next month's price, set by ``compute_market.set_prices`` (clipped partial adjustment
        toward the target load, vectorised over centers)."""
        self.price = price

    def consider_expansion(self) -> None:
        """Above the expansion threshold, order more capacity from the national chip supply."""
        cm = self.model.config.compute
        if not self.spec.expandable or self.utilization < cm.expansion_threshold:
            return
        if self.pending_gpu_h > 0:
            return
        granted = self.model.allocate_chips(self.capacity * cm.expansion_share)
        if granted > 0:
            self.order_capacity(granted)
