"""Preloaded by aieco's local Dask workers: import the model early, ignore Ctrl-C.

A terminal's Ctrl-C reaches every process of the sweep; the client alone handles it (it stops
the cluster and prints one line), so workers ignore SIGINT instead of printing tracebacks.
"""

from __future__ import annotations

import signal

import experiments.tasks  # noqa: F401 - the model, imported while the cluster starts

signal.signal(signal.SIGINT, signal.SIG_IGN)
