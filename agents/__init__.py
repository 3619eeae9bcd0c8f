"""The few-and-rich actors of aieco, as Mesa agents.

Startups and people are many-of-a-kind and live as columns in arrays (``ecosystem.tables``);
these agents are the organisations each region has a handful of. They change only their own
state; the model's phases (``ecosystem``) read them and call their methods. This package imports
nothing from ``ecosystem`` at run time (only for type annotations).
"""

from agents.big_firm import BigFirm
from agents.budget import Budget, Instrument
from agents.data_center import DataCenter
from agents.government import Government
from agents.university import University

__all__ = ["BigFirm", "Budget", "DataCenter", "Government", "Instrument", "University"]
