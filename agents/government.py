"""Local governments: a yearly budget per instrument, paid first come, first served."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from agents.budget import Budget
from ecosystem.scenario import Policy

if TYPE_CHECKING:
    from ecosystem.model import AIEcosystem

INSTRUMENTS = (
    "voucher",
    "data_voucher",
    "talent_subsidy",
    "startup_grant",
    "guidance_fund",
    "dc_investment",
    "adoption",
)


class Government(mesa.Agent):
    """The government of one region and its policy levers."""

    model: AIEcosystem

    def __init__(self, model: AIEcosystem, region: int, policy: Policy):
        super().__init__(model)
        self.region, self.policy = region, policy
        p = policy
        self.budgets: dict[str, Budget] = {
            "voucher": Budget(p.voucher_budget_yuan),
            "data_voucher": Budget(p.data_voucher_budget_yuan),
            "talent_subsidy": Budget(p.talent_subsidy_budget_yuan),
            "startup_grant": Budget(p.startup_grant_budget_yuan),
            "guidance_fund": Budget(p.guidance_fund_budget_yuan),
            "dc_investment": Budget(p.dc_investment_yuan_per_year),
            "adoption": Budget(p.adoption_programme_yuan_per_year),
        }

    def new_year(self) -> None:
        for b in self.budgets.values():
            b.new_year()

    def new_month(self) -> None:
        for b in self.budgets.values():
            b.new_month()

    @property
    def vouchers_paying(self) -> bool:
        """The compute-voucher programme is running this year and has money left."""
        p = self.policy
        started = self.model.config.meta.start_year + self.model.month // 12 >= p.voucher_start_year
        return started and (p.voucher_rate > 0 or p.voucher_rate_sme > 0) and self.budgets["voucher"].remaining > 0

    def adoption_spending(self) -> float:
        """Spread the adoption programme evenly over the year's remaining months."""
        months_left = 12 - self.model.month % 12
        budget = self.budgets["adoption"]
        return budget.grant_one(budget.remaining / months_left)

    def invest_in_data_centers(self) -> None:
        """Turn this month's share of the DC budget into capacity at a local public center."""
        budget = self.budgets["dc_investment"]
        if budget.remaining <= 0:
            return
        local = [dc for dc in self.model.data_centers if dc.region == self.region and not dc.spec.owner]
        if not local:
            return
        months_left = 12 - self.model.month % 12
        money = budget.remaining / months_left
        nat = self.model.config.national
        gpus_wanted = money / nat.gpu_capex_yuan
        gpu_h = self.model.allocate_chips(gpus_wanted * nat.hours_per_month)
        spent = budget.grant_one(gpu_h / nat.hours_per_month * nat.gpu_capex_yuan)
        if spent > 0:
            target = min(local, key=lambda dc: dc.index)
            gpu_h = spent / nat.gpu_capex_yuan * nat.hours_per_month
            target.pending_gpu_h += gpu_h
            self.model.schedule_capacity(target, gpu_h, after_months=self.model.build_months)

    def step(self) -> None:
        self.invest_in_data_centers()
