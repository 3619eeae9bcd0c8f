"""``solara.lab.use_task`` without its leak of one closed session per mount.

In solara 1.58 every ``use_task`` mount wraps its task in a ``Singleton``, which registers a reset
callback in the process-global ``solara.lifecycle._on_kernel_start_callbacks`` and drops the
cleanup that would remove it. The entry pins the task's function, so a closed tab's whole
:class:`~viz.session.Session`, render tree and callbacks stayed in the server for good (and every
new tab ran all those callbacks at kernel start). Fixed upstream in solara PR #1180; until the pin
moves past it, :func:`use_task` removes its own entry when the component unmounts (the tab
closes, or the view is left).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import solara
import solara.lifecycle


def _forget(singleton: Any) -> None:
    """Remove the kernel-start callbacks that ``singleton`` registered (they close over it)."""
    for entry in list(solara.lifecycle._on_kernel_start_callbacks):  # noqa: SLF001
        cells = getattr(entry.callback, "__closure__", None) or ()
        if any(_holds(cell, singleton) for cell in cells):
            try:
                entry.cleanup()
            except ValueError:  # already removed
                pass


def _holds(cell: Any, obj: Any) -> bool:
    try:
        return cell.cell_contents is obj
    except ValueError:  # an empty cell
        return False


def use_task(f: Callable[[], Any], dependencies: list) -> Any:
    """``solara.lab.use_task(f, dependencies=..., prefer_threaded=True)`` that frees on unmount."""
    task = solara.lab.use_task(f, dependencies=dependencies, prefer_threaded=True)

    def on_unmount():
        singleton = vars(task).get("_instance")  # solara.tasks.Proxy: the task's Singleton
        return lambda: _forget(singleton) if singleton is not None else None

    solara.use_effect(on_unmount, [])
    return task
