"""Local governments: a yearly budget per instrument, paid first come, first served.

Phases ask a government to pay (``compute_vouchers``, ``startup_grants``, ...); only the
government changes its budgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from agents.budget import Budget, Instrument

if TYPE_CHECKING:
    from ecosystem.model import AIEcosystem
    from ecosystem.scenario import Policy


class Government(mesa.Agent):
    """The government of one region and its policy levers."""

    model: AIEcosystem

    def __init__(self, model: AIEcosystem, region: int, policy: Policy):
        super().__init__(model)
        self.region, self.policy = region, policy
        p = policy
        self.budgets: dict[Instrument, Budget] = {
            Instrument.VOUCHER: Budget(p.voucher_budget_yuan),
            Instrument.DATA_VOUCHER: Budget(p.data_voucher_budget_yuan),
            Instrument.TALENT_SUBSIDY: Budget(p.talent_subsidy_budget_yuan),
            Instrument.STARTUP_GRANT: Budget(p.startup_grant_budget_yuan),
            Instrument.GUIDANCE_FUND: Budget(p.guidance_fund_budget_yuan),
            Instrument.DC_INVESTMENT: Budget(p.dc_investment_yuan_per_year),
            Instrument.ADOPTION: Budget(p.adoption_programme_yuan_per_year),
        }

    def new_year(self) -> None:
        for b in self.budgets.values():
            b.new_year()

    def new_month(self) -> None:
        for b in self.budgets.values():
            b.new_month()

    # --- what is on offer ---------------------------------------------------------------------
    @property
    def vouchers_paying(self) -> bool:
        """The compute-voucher programme is running this year and has money left."""
        p = self.policy
        year = self.model.config.meta.start_year + self.model.month // 12
        rate = p.voucher_rate > 0 or p.voucher_rate_sme > 0
        return year >= p.voucher_start_year and rate and self.voucher_budget_left > 0

    @property
    def voucher_budget(self) -> Budget:
        """The compute-voucher budget: entitlements are committed from it when awarded."""
        return self.budgets[Instrument.VOUCHER]

    @property
    def voucher_budget_left(self) -> float:
        return self.budgets[Instrument.VOUCHER].remaining

    @property
    def data_vouchers_paying(self) -> bool:
        return self.budgets[Instrument.DATA_VOUCHER].remaining > 0

    def talent_subsidy_on_offer(self) -> float:
        """The talent subsidy on offer (yuan per person), if its budget still has money."""
        if self.budgets[Instrument.TALENT_SUBSIDY].remaining <= 0:
            return 0.0
        return self.policy.talent_subsidy_yuan_per_person

    def startup_grant_on_offer(self) -> float:
        """The grant a new startup would get now (yuan), if the grant budget has money left."""
        if self.budgets[Instrument.STARTUP_GRANT].remaining <= 0:
            return 0.0
        return self.policy.startup_grant_yuan

    def guidance_fund_share_on_offer(self) -> float:
        """Share of a round the guidance fund co-invests, if it has money left this year."""
        if self.budgets[Instrument.GUIDANCE_FUND].remaining > 0:
            return self.policy.guidance_fund_share
        return 0.0

    # --- paying out (first come, first served) ------------------------------------------------
    def data_vouchers(self, claims: np.ndarray) -> np.ndarray:
        return self.budgets[Instrument.DATA_VOUCHER].grant(claims)

    def guidance_fund(self, requests: np.ndarray) -> np.ndarray:
        return self.budgets[Instrument.GUIDANCE_FUND].grant(requests)

    def startup_grants(self, n: int) -> np.ndarray:
        """Grants for n new startups, in founding order."""
        per = np.full(n, self.policy.startup_grant_yuan)
        return self.budgets[Instrument.STARTUP_GRANT].grant(per)

    def talent_subsidies(self, n: int) -> np.ndarray:
        """Subsidies for n newcomers taking their first job here (zero if there is none)."""
        per = self.policy.talent_subsidy_yuan_per_person
        if per <= 0:
            return np.zeros(n)
        return self.budgets[Instrument.TALENT_SUBSIDY].grant(np.full(n, per))

    def adoption_spending(self) -> float:
        """Spread the adoption programme evenly over the year's remaining months."""
        months_left = 12 - self.model.month % 12
        budget = self.budgets[Instrument.ADOPTION]
        return budget.grant_one(budget.remaining / months_left)

    def invest_in_data_centers(self) -> float:
        """Turn this month's share of the DC budget into capacity at a local public center.

        Returns the yuan spent (capacity is bought only as far as the national chip supply
        allows)."""
        budget = self.budgets[Instrument.DC_INVESTMENT]
        if budget.remaining <= 0:
            return 0.0
        local = [
            dc for dc in self.model.data_centers if dc.region == self.region and not dc.spec.owner
        ]
        if not local:
            return 0.0
        months_left = 12 - self.model.month % 12
        money = budget.remaining / months_left
        nat = self.model.config.national
        gpus_wanted = money / nat.gpu_capex_yuan
        gpu_h = self.model.allocate_chips(gpus_wanted * nat.hours_per_month)
        spent = budget.grant_one(gpu_h / nat.hours_per_month * nat.gpu_capex_yuan)
        if spent > 0:
            target = min(local, key=lambda dc: dc.index)
            target.order_capacity(spent / nat.gpu_capex_yuan * nat.hours_per_month)
        return spent
