"""The aieco browser app (Solara): ``aieco viz`` or ``solara run viz/app.py``.

Each browser tab gets its own :class:`~viz.session.Session` (created in ``Page`` with
``use_memo``), so two tabs never share a model.
"""

from __future__ import annotations

import solara

from viz import charts
from viz.components import (
    ChartsView,
    Exports,
    GenealogyView,
    InfoView,
    LeverPanel,
    NetworkView,
    RunControls,
    ScenarioFiles,
    SummaryCards,
    play_loop,
)
from viz.session import Session

TABS = ("Charts", "Network", "Genealogy", "Info")


@solara.component
def Page():
    session = solara.use_memo(Session, [])
    painters = solara.use_memo(lambda: {k: charts.KpiPainter(k) for k in charts.CHART_KEYS}, [])
    version = solara.use_reactive(session.version)
    playing = solara.use_reactive(False)
    target = solara.use_reactive(None)
    speed = solara.use_reactive("5 months/s")
    error = solara.use_reactive("")
    tab = solara.use_reactive(0)

    # Stable callbacks: a child whose arguments are unchanged is not rendered again, which keeps
    # the lever panel out of every step's work.
    refresh = solara.use_memo(lambda: lambda: version.set(session.version), [])

    def loop():
        play_loop(session, playing, target, speed, refresh, error.set)

    solara.lab.use_task(loop, dependencies=[playing.value], prefer_threaded=True)

    def on_counterfactual(on: bool):
        try:
            session.set_counterfactual(on)
        except Exception as exc:  # noqa: BLE001
            error.set(f"Could not start the baseline: {exc}")
        refresh()

    v = version.value
    solara.Title("aieco: AI ecosystems")
    with solara.Column(gap="0px", style={"height": "100vh"}):
        with solara.Row(style={"background": "#37474f", "color": "white", "padding": "8px 16px",
                               "align-items": "center"}):
            solara.Text("aieco: regional AI ecosystems", style={"font-size": "20px", "font-weight": "500"})
            solara.Text("agent-based model of startups, people, universities, big firms and data centers",
                        style={"font-size": "12px", "opacity": "0.8"})
        with solara.Row(gap="0px", style={"flex": "1", "min-height": "0"}):
            with solara.Column(gap="10px", classes=["aieco-sidebar"],
                               style={"width": "350px", "min-width": "350px", "overflow-y": "auto",
                                      "padding": "10px", "border-right": "1px solid #e0e0e0"}):
                RunControls(session, v, playing, target, speed, refresh, error.set)
                solara.Switch(label="Compare with baseline (same seed)", value=session.counterfactual,
                              on_value=on_counterfactual, classes=["aieco-counterfactual"])
                LeverPanel(session, session.settings_version, refresh, error.set)
                with solara.Details("Scenario file", expand=True):
                    ScenarioFiles(session, session.settings_version, refresh, error.set, playing)
                with solara.Details("Export", expand=True):
                    Exports(session, v)
            with solara.Column(gap="8px", style={"flex": "1", "overflow-y": "auto", "padding": "10px"}):
                with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
                    solara.Text(f"Scenario: {session.source} · seed {session.seed}"
                                + (f" · {len(session.changes)} lever(s) changed" if session.changes else "")
                                + (" · playing" if playing.value else ""),
                                classes=["aieco-status"], style={"color": "#455a64"})
                if error.value:
                    solara.Error(error.value, classes=["aieco-error"])
                elif session.message:
                    solara.Info(session.message, dense=True, classes=["aieco-message"])
                SummaryCards(session, v)
                with solara.lab.Tabs(value=tab.value, on_value=tab.set):
                    for i, name in enumerate(TABS):
                        with solara.lab.Tab(name):
                            if tab.value != i:
                                continue  # only the visible view is computed
                            if name == "Charts":
                                ChartsView(session, v, painters)
                            elif name == "Network":
                                NetworkView(session, v)
                            elif name == "Genealogy":
                                GenealogyView(session, v)
                            else:
                                InfoView()
