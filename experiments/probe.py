"""What a Dask worker answers before a sweep: can it import aieco, and which version.

This module imports nothing from aieco at load time and is sent to workers by value (cloudpickle
``register_pickle_by_value``), so a worker without aieco can still answer, with the reason.
"""

from __future__ import annotations


def probe_worker() -> dict:
    """{"aieco": version, "git_revision": ..., "host": ..., "pid": ...} or {"error": reason}."""
    import importlib
    import os

    try:
        tasks = importlib.import_module("experiments.tasks")
        importlib.import_module("ecosystem.run")
        return {**tasks.worker_identity(), "pid": os.getpid()}
    except Exception as exc:  # noqa: BLE001 - the reason goes back to the client
        return {"error": f"{type(exc).__name__}: {exc}".replace("\n", " ")}
