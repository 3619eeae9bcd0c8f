"""The few-and-rich actors of aieco, as Mesa agents.

Startups and people are many-of-a-kind and live as columns in arrays (``ecosystem.tables``);
these agents are the organisations each region has a handful of.
"""

from agents.big_firm import BigFirm
from agents.budget import Budget
from agents.data_center import DataCenter
from agents.government import Government
from agents.university import University

__all__ = ["BigFirm", "Budget", "DataCenter", "Government", "University"]
