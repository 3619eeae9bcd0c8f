"""The aieco browser app (Solara): ``aieco viz`` or ``solara run viz/app.py``.

Each browser tab gets its own :class:`~viz.session.Session` (created in ``Page`` with
``use_memo``), so two tabs never share a model; closing the tab frees it.

Any recompute that may take more than a moment (a lever change re-runs the model to the current
month, a preset switch, the baseline) runs as a background job: the page shows what it is doing
and stays responsive; short ones run at once.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable

import reacton.core
import solara

from viz.components import (
    CSS,
    BusyBar,
    ChartsView,
    Exports,
    GenealogyView,
    GuideView,
    LeverPanel,
    MapView,
    NetworkView,
    RunControls,
    ScenarioFiles,
    SummaryCards,
    UncertaintyView,
    UrlSync,
    guarded,
    play_loop,
)
from viz.session import Session, release_memory
from viz.tasks import use_task

TABS = ("Map", "Charts", "Uncertainty", "Network", "Genealogy", "Guide")


@solara.component
def Page():
    router = solara.use_router()
    session = solara.use_memo(Session, [])
    version = solara.use_reactive(session.version)
    settings = solara.use_reactive(session.settings_version)
    playing = solara.use_reactive(False)
    target = solara.use_reactive(None)
    speed = solara.use_reactive("10 months/s")
    redraw = solara.use_reactive("every month")
    error = solara.use_reactive("")
    tab = solara.use_reactive(0)
    drawer = solara.use_reactive(False)
    job = solara.use_reactive((0, "", None))

    # Stable callbacks: a child whose arguments are unchanged is not rendered again, which keeps
    # the lever panel out of every step's work.
    rc = reacton.core.get_render_context(required=False)

    def refresh_factory():
        def refresh():
            # One render for both changes (each render visits the whole page).
            with rc if rc is not None else contextlib.nullcontext():
                settings.set(session.settings_version)
                version.set(session.version)

        return refresh

    refresh = solara.use_memo(refresh_factory, [])

    def submit_factory() -> Callable[[str, Callable[[], object], int], None]:
        def submit(label: str, action: Callable[[], object], months: int | None = None) -> None:
            """Run a recompute now if it is short, else as a background job with a busy bar."""
            months = session.month if months is None else months
            if session.estimate_seconds(months) < 0.25:
                guarded(action, error.set)
                refresh()
            else:
                n = job.value[0] + 1
                job.set((n, label, action))

        return submit

    submit = solara.use_memo(submit_factory, [])

    def run_job():
        _, label, action = job.value
        if action is None:
            return
        guarded(action, error.set)
        refresh()

    busy = use_task(run_job, dependencies=[job.value[0]])

    def loop():
        play_loop(session, playing, target, speed, redraw, refresh, error.set)

    use_task(loop, dependencies=[playing.value])

    def restore_from_link():
        search = router.search
        if search and "preset=" in search:

            def restore():
                problems = session.apply_query(search)
                if problems:
                    raise ValueError("Link: " + "; ".join(problems))

            submit("Restoring the view from the link", restore, months=240)

    solara.use_effect(restore_from_link, [])

    def on_unmount():
        def cleanup():
            playing.value = False
            session.close()
            gc.collect()
            release_memory()

        return cleanup

    solara.use_effect(on_unmount, [])

    pending = busy.pending and job.value[2] is not None
    solara.Title("aieco: AI ecosystems")
    solara.Style(CSS)
    with solara.Column(gap="0px", classes=["aieco-root"], style={"height": "100vh"}):
        with solara.Row(
            classes=["aieco-header"], style={"background": "#37474f", "color": "white"}
        ):
            solara.Button(
                "Controls",
                icon_name="mdi-tune",
                text=True,
                classes=["aieco-drawer-toggle"],
                on_click=lambda: drawer.set(not drawer.value),
                style={"color": "white"},
            )
            solara.Text("aieco: regional AI ecosystems", classes=["aieco-title"])
            solara.Text(
                "agent-based model of startups, people, universities, big firms and data centers",
                classes=["aieco-subtitle"],
            )
        with solara.Row(gap="0px", style={"flex": "1", "min-height": "0"}):
            with solara.Column(
                gap="10px", classes=["aieco-sidebar"] + (["aieco-open"] if drawer.value else [])
            ):
                Controls(session, version, playing, target, speed, redraw, refresh, error, submit)
                Settings(session, settings, error, submit)
                with solara.Details("Share and reproduce", expand=True):
                    Share(session, version)
                with solara.Details("Scenario file", expand=False):
                    Files(session, settings, error, playing, submit)
            with solara.Column(gap="8px", classes=["aieco-main"]):
                Status(session, version, playing, error, job.value[1] if pending else "")
                with solara.lab.Tabs(value=tab.value, on_value=tab.set):
                    for i, name in enumerate(TABS):
                        with solara.lab.Tab(name):
                            if tab.value != i:
                                continue  # only the visible view is computed
                            View(session, version, name)


# Each piece below reads the session's version (or settings version) itself, so a step re-renders
# only the pieces that show the month, never the page or the lever panel.
@solara.component
def Controls(session, version, playing, target, speed, redraw, refresh, error, submit):
    def on_counterfactual(on: bool):
        submit("Running the baseline to this month", lambda: session.set_counterfactual(on))

    # Reading the version re-renders this on each Step (cheap); the run controls get only what
    # they show, which changes with a preset, seed or the end of the run, not with the month, so
    # a Step does not render them again.
    _ = version.value
    shown = (session.preset, session.seed, session.finished)
    RunControls(session, shown, playing, target, speed, redraw, refresh, error.set, submit)
    solara.Switch(
        label="Compare with baseline (same seed)",
        value=session.counterfactual,
        on_value=on_counterfactual,
        classes=["aieco-counterfactual"],
    )


@solara.component
def Settings(session, settings, error, submit):
    LeverPanel(session, settings.value, error.set, submit)


@solara.component
def Share(session, version):
    Exports(session, version.value)


@solara.component
def Files(session, settings, error, playing, submit):
    ScenarioFiles(session, settings.value, error.set, playing, submit)


@solara.component
def Status(session, version, playing, error, busy_label: str):
    v = version.value
    UrlSync(query=session.query_string())
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
        solara.Text(
            f"Scenario: {session.source} · seed {session.seed}"
            + (f" · {len(session.changes)} lever(s) changed" if session.changes else "")
            + (" · playing" if playing.value else ""),
            classes=["aieco-status"],
            style={"color": "#455a64"},
        )
    BusyBar(busy_label)
    if error.value:
        solara.Error(error.value, classes=["aieco-error"])
    elif session.message:
        solara.Info(session.message, dense=True, classes=["aieco-message"])
    SummaryCards(session, v)


@solara.component
def View(session, version, name: str):
    v = version.value
    if name == "Map":
        MapView(session, v)
    elif name == "Charts":
        ChartsView(session, v)
    elif name == "Uncertainty":
        UncertaintyView(session, session.settings_version)
    elif name == "Network":
        NetworkView(session, v)
    elif name == "Genealogy":
        GenealogyView(session, v)
    else:
        GuideView()
