"""A closed page leaves no process-global reference to its session (issue 12 point 7).

solara 1.58's ``use_task`` registered a process-global kernel-start callback per mount that
pinned the page's session for good; ``viz.tasks.use_task`` removes it on unmount. (That the
session's memory is then freed is measured by the browser test
``test_memory_returns_after_10_sessions``: outside a server the kernel's own stores, which die with
the kernel there, keep the tasks.)
"""

from __future__ import annotations

import solara
import solara.lifecycle

import viz.app
from viz.components import UncertaintyView
from viz.session import Session


def callbacks() -> int:
    return len(solara.lifecycle._on_kernel_start_callbacks)  # noqa: SLF001


def holds(entry, obj, depth: int = 4) -> bool:
    """Whether a callback's closures reach ``obj`` (through cells, functions, attributes)."""
    seen: set[int] = set()

    def reach(x, d) -> bool:
        if x is obj:
            return True
        if d == 0 or id(x) in seen:
            return False
        seen.add(id(x))
        nxt = [c.cell_contents for c in getattr(x, "__closure__", None) or () if _full(c)]
        nxt += list(getattr(x, "__dict__", {}).values()) if not isinstance(x, type) else []
        nxt += [getattr(x, "__wrapped__", None)]
        return any(reach(y, d - 1) for y in nxt if y is not None)

    return reach(entry.callback, depth * 3)


def _full(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def test_a_closed_page_leaves_no_callback_on_its_session(monkeypatch):
    made: list[Session] = []

    class Recorded(Session):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(viz.app, "Session", Recorded)
    before = callbacks()
    _, rc = solara.render(viz.app.Page(), handle_error=False)
    assert len(made) == 1
    entries = solara.lifecycle._on_kernel_start_callbacks  # noqa: SLF001
    assert any(holds(e, made[0]) for e in entries)  # while open, its tasks' callbacks do
    rc.close()
    assert callbacks() == before
    assert not any(holds(e, made[0]) for e in entries)


def test_leaving_the_uncertainty_view_removes_its_task_callback():
    session = Session()
    before = callbacks()
    _, rc = solara.render(UncertaintyView(session, session.settings_version), handle_error=False)
    assert callbacks() > before
    rc.close()
    assert callbacks() == before
