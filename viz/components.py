"""Solara components of the app: controls, levers, charts, networks, info.

Every component receives the :class:`~viz.session.Session` of its browser tab and the session's
``version`` (a number that changes whenever the model or the settings do); views cache their
figures on it. Callbacks never raise into Solara: user errors become a message.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import reacton.ipyvue as rvue
import reacton.ipyvuetify as rv
import solara

from ecosystem.scenario import ScenarioError, preset_names
from viz import charts, graphs
from viz.levers import Lever
from viz.session import Session, parse_seed, png_bytes

log = logging.getLogger("aieco.viz")

# viz/ODD.md links to docs/ODD.md in the repository; a built wheel carries the file itself.
ODD_PATH = Path(__file__).resolve().parent / "ODD.md"
THINGS_TO_TRY = Path(__file__).resolve().parent / "things_to_try.md"
SPEEDS = {"1 month/s": 1.0, "2 months/s": 2.0, "5 months/s": 5.0, "10 months/s": 10.0, "as fast as possible": 0.0}


def guarded(action: Callable[[], object], on_error: Callable[[str], None]) -> bool:
    """Run a user action; user errors and bugs become a message instead of a crash."""
    try:
        action()
    except (ScenarioError, ValueError) as exc:
        on_error(str(exc))
        return False
    except Exception as exc:  # noqa: BLE001 - the page must survive any bug in a callback
        log.error("callback failed:\n%s", traceback.format_exc())
        on_error(f"Internal error ({type(exc).__name__}: {exc}); the run is unchanged.")
        return False
    on_error("")
    return True


@solara.component_vue("file_input.vue")
def ScenarioFileInput(label: str, event_file_loaded: Callable[[dict], None]):
    pass


def fmt_number(x: float, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:,.{digits}f}"


# ----------------------------------------------------------------------------------------------
# Controls
# ----------------------------------------------------------------------------------------------
@solara.component
def RunControls(session: Session, version: int, playing: solara.Reactive[bool],
                target: solara.Reactive[int | None], speed: solara.Reactive[str],
                refresh: Callable[[], None], set_error: Callable[[str], None]):
    seed_error = solara.use_reactive("")
    months_text = solara.use_reactive("12")
    months_error = solara.use_reactive("")

    def on_preset(name: str):
        playing.set(False)
        guarded(lambda: session.set_preset(name), set_error)
        refresh()

    def on_seed(text: str):
        try:
            seed = parse_seed(text)
        except ValueError as exc:
            seed_error.set(str(exc))
            return
        seed_error.set("")
        guarded(lambda: session.set_seed(seed), set_error)
        refresh()

    def on_step():
        playing.set(False)
        guarded(lambda: session.step(1), set_error)
        refresh()

    def on_play():
        target.set(None)
        playing.set(not playing.value)

    def on_run_n():
        raw = months_text.value.strip()
        try:
            n = int(raw)
            if not 1 <= n <= 600:
                raise ValueError
        except ValueError:
            months_error.set(f"months = {raw!r}: a whole number from 1 to 600")
            return
        months_error.set("")
        target.set(min(session.month + n, session.horizon))
        playing.set(True)

    def on_restart():
        playing.set(False)
        guarded(session.restart, set_error)
        refresh()

    with solara.Column(gap="6px"):
        solara.Select("Preset (city)", values=preset_names(), value=session.preset or "(loaded file)",
                      on_value=on_preset)
        solara.InputText("Seed", value=str(session.seed), on_value=on_seed, continuous_update=False,
                         error=seed_error.value or False, message="same seed, same run; press Enter")
        with solara.Row(gap="4px", style={"flex-wrap": "wrap"}):
            solara.Button("Step", icon_name="mdi-step-forward", on_click=on_step, color="primary",
                          classes=["aieco-step"], disabled=session.finished)
            solara.Button("Pause" if playing.value else "Play",
                          icon_name="mdi-pause" if playing.value else "mdi-play",
                          on_click=on_play, color="primary", classes=["aieco-play"],
                          disabled=session.finished and not playing.value)
            solara.Button("Restart", icon_name="mdi-restart", on_click=on_restart, text=True,
                          classes=["aieco-restart"])
        with solara.Row(gap="4px", style={"align-items": "baseline"}):
            solara.InputText("Months", value=months_text, continuous_update=True,
                             error=months_error.value or False, classes=["aieco-months"],
                             style={"max-width": "90px"})
            solara.Button("Run N months", on_click=on_run_n, outlined=True, classes=["aieco-run-n"],
                          disabled=playing.value)
        solara.Select("Speed", values=list(SPEEDS), value=speed)


@solara.component
def LeverRow(lever: Lever, value, base_value, on_commit: Callable[[str, object], str]):
    """One lever: label with unit and range, slider or switch, exact field, one-line help."""
    error = solara.use_reactive("")
    changed = not _same_value(value, base_value)

    def commit(model_value):
        error.set(on_commit(lever.path, model_value) or "")

    def on_text(text: str):
        try:
            model_value = lever.parse(text)
        except ValueError as exc:
            error.set(str(exc))
            return
        commit(model_value)

    title = lever.label + (f" ({lever.unit})" if lever.unit else "")
    with solara.Column(gap="0px", classes=["aieco-lever", "aieco-lever-" + lever.path.replace(".", "-")],
                       style={"margin-bottom": "6px"}):
        with solara.Row(gap="4px", style={"align-items": "center"}):
            solara.Text(title, style={"font-weight": "500", "font-size": "13px"})
            if changed:
                solara.Text(f"changed (preset: {lever.format(base_value)})",
                            style={"font-size": "11px", "color": "#e65100"})
        if lever.kind == "bool":
            solara.Checkbox(label="on" if value else "off", value=bool(value),
                            on_value=lambda v: commit(bool(v)))
        elif lever.kind == "choice":
            solara.Select(label="", values=list(lever.choices), value=value, on_value=commit)
        else:
            top = lever.slider_max(base_value)
            shown = lever.to_display(value)
            step = 1.0 if lever.kind == "share" else top / 100
            slider = rv.Slider(v_model=min(shown, top), min=0.0, max=top, step=step, hide_details=True,
                               dense=True, class_="aieco-slider")
            rvue.use_event(slider, "change", lambda *args: commit(float(args[-1]) * lever.scale))
            solara.InputText(label=lever.range_text(base_value), value=lever.format(value),
                             on_value=on_text, continuous_update=False,
                             error=error.value or False, classes=["aieco-lever-input"])
        if error.value and lever.kind in ("bool", "choice"):
            solara.Error(error.value, dense=True)
        solara.Text(lever.help, style={"font-size": "11px", "color": "#616161"})


def _same_value(a, b) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@solara.component
def LeverPanel(session: Session, settings_version: int, refresh: Callable[[], None],
               set_error: Callable[[str], None]):
    def on_commit(path: str, value) -> str:
        messages = []
        ok = guarded(lambda: session.set_lever(path, value), lambda m: messages.append(m))
        refresh()
        return "" if ok else messages[-1]

    def on_reset():
        guarded(session.reset_levers, set_error)
        refresh()

    groups: dict[str, list[Lever]] = {}
    for lev in session.levers:
        groups.setdefault(lev.group, []).append(lev)
    n_changed = len(session.changes)
    with solara.Column(gap="4px"):
        with solara.Row(style={"align-items": "center"}):
            solara.Text(f"Levers ({n_changed} changed)" if n_changed else "Levers (preset values)",
                        style={"font-weight": "bold"})
            solara.Button("Reset to preset", icon_name="mdi-undo", on_click=on_reset, small=True,
                          outlined=True, classes=["aieco-reset"], disabled=not n_changed)
        for i, (group, levers) in enumerate(groups.items()):
            with solara.Details(summary=f"{group}", expand=(i == 0)):
                for j, lev in enumerate(levers):
                    if i == 0 and j == 2:
                        solara.Text("More levers", style={"font-size": "12px", "color": "#616161",
                                                          "margin": "4px 0"})
                    LeverRow(lev, session.value(lev.path), session.base_value(lev.path), on_commit)


@solara.component
def ScenarioFiles(session: Session, settings_version: int, refresh: Callable[[], None],
                  set_error: Callable[[str], None], playing: solara.Reactive[bool]):
    def on_file(info: dict):
        playing.set(False)
        if info.get("error") or info.get("text") is None:
            set_error(f"{info.get('name')}: {info.get('error') or 'could not be read'}")
            return
        guarded(lambda: session.load_toml(info["text"], info.get("name") or "scenario.toml"), set_error)
        refresh()

    name = (session.preset or "scenario") + ("-levers" if session.changes else "")
    with solara.Column(gap="4px"):
        solara.FileDownload(lambda: session.scenario_toml().encode(), filename=f"{name}.toml",
                            label="Save levers (TOML)", mime_type="text/plain")
        ScenarioFileInput(label="Load a scenario (TOML)", event_file_loaded=on_file)


@solara.component
def Exports(session: Session, version: int):
    tag = f"{session.preset or 'scenario'}-seed{session.seed}-month{session.month}"
    with solara.Column(gap="4px"):
        solara.FileDownload(session.kpis_csv, filename=f"aieco-kpis-{tag}.csv",
                            label="KPIs (CSV)", mime_type="text/csv")
        solara.FileDownload(session.data_centers_csv, filename=f"aieco-data-centers-{tag}.csv",
                            label="Data centers (CSV)", mime_type="text/csv")
        solara.Text("Each chart has its own PNG button.", style={"font-size": "11px", "color": "#616161"})


# ----------------------------------------------------------------------------------------------
# Views
# ----------------------------------------------------------------------------------------------
@solara.component
def SummaryCards(session: Session, version: int):
    s = session.summary()
    base = None
    if session.counterfactual and session.baseline is not None:
        from viz.session import summary_numbers

        base = summary_numbers(session.frames("baseline"), session.baseline)
    date = session.model.date(max(session.month - 1, 0)) if session.month else None
    items = [
        ("Month", f"{session.month} / {session.horizon}", None, "month"),
        ("Startups alive", fmt_number(s["startups_alive"]), "startups_alive", "alive"),
        ("Founded", fmt_number(s["startups_founded"]), "startups_founded", "founded"),
        ("Failed / acquired", f"{fmt_number(s['startups_failed'])} / {fmt_number(s['startups_acquired'])}", None, "exits"),
        ("Startup jobs", fmt_number(s["employment_startups"]), "employment_startups", "jobs"),
        ("Utilisation east / west", f"{fmt_number(100 * s['east_utilization_end'])}% / {fmt_number(100 * s['west_utilization_end'])}%", None, "util"),
        ("Vouchers paid", f"¥{fmt_number(s['voucher_spent_yuan'] / 1e6)}m", "voucher_spent_yuan", "voucher"),
    ]
    with solara.Row(gap="8px", style={"flex-wrap": "wrap"}, classes=["aieco-summary"]):
        for label, text, key, css in items:
            with solara.Div(classes=["aieco-card", f"aieco-card-{css}"],
                            style={"border": "1px solid #e0e0e0", "border-radius": "6px", "padding": "4px 10px",
                                   "min-width": "110px"}):
                solara.Text(label, style={"font-size": "11px", "color": "#616161", "display": "block"})
                solara.Text(text, style={"font-size": "18px", "font-weight": "600", "display": "block"},
                            classes=[f"aieco-value-{css}"])
                if key == "month" and date is not None:
                    solara.Text(date.strftime("%b %Y"), style={"font-size": "11px", "display": "block"})
                if base is not None and key is not None and not math.isnan(base.get(key, math.nan)):
                    d = s[key] - base[key]
                    scale, unit = (1e6, "m") if key.endswith("yuan") else (1, "")
                    solara.Text(f"{d / scale:+,.0f}{unit} vs baseline",
                                style={"font-size": "11px", "color": "#1565c0" if d >= 0 else "#c62828",
                                       "display": "block"}, classes=[f"aieco-delta-{css}"])


@solara.component
def KpiChart(session: Session, version: int, painter: charts.KpiPainter, counterfactual: bool):
    key = painter.spec.key
    start_year = session.scenario.meta.start_year

    def render() -> bytes:
        with session.lock:
            cur = session.frames("current")
            base = session.frames("baseline") if counterfactual and session.baseline is not None else None
            painter.update(cur, base, start_year)
            return painter.png()

    png = solara.use_memo(render, [version, counterfactual])

    def export() -> bytes:
        with session.lock:
            return painter.png(dpi=charts.EXPORT_DPI)

    with solara.Column(gap="0px", classes=["aieco-chart", f"aieco-chart-{key}"],
                       style={"width": "400px"}):
        solara.Image(png, format="png", width="390px")
        solara.FileDownload(export, filename=f"aieco-{key}-month{session.month}.png",
                            label=f"PNG: {painter.spec.title}", mime_type="image/png")


@solara.component
def ChartsView(session: Session, version: int, painters: dict[str, charts.KpiPainter]):
    cf = session.counterfactual and session.baseline is not None
    with solara.Row(gap="10px", style={"flex-wrap": "wrap"}):
        for key in charts.CHART_KEYS:
            KpiChart(session, version, painters[key], cf)


@solara.component
def NetworkView(session: Session, version: int):
    window = solara.use_reactive("last 12 months")
    kinds = {k: solara.use_reactive(True) for k in charts.EDGE_STYLE}
    chosen = tuple(k for k, r in kinds.items() if r.value)

    def render() -> bytes:
        with session.lock:
            f = session.frames("current")
            net = graphs.org_network(session.model, f.firms, 12 if window.value == "last 12 months" else None)
        return png_bytes(charts.network_figure(net, chosen)), net.notes

    png, notes = solara.use_memo(render, [version, window.value, chosen])
    with solara.Column(classes=["aieco-network"]):
        with solara.Row(gap="12px", style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.ToggleButtonsSingle(value=window, values=["last 12 months", "since the start"])
            for k, r in kinds.items():
                solara.Checkbox(label=charts.EDGE_STYLE[k][1], value=r)
        solara.Image(png, format="png", width="900px")
        for note in notes:
            solara.Text(note, style={"font-size": "11px", "color": "#616161"})
        solara.FileDownload(lambda: png, filename=f"aieco-network-month{session.month}.png",
                            label="PNG: network", mime_type="image/png")


@solara.component
def GenealogyView(session: Session, version: int):
    orgs = session.organisations()
    labels = {label: node for node, label in orgs}
    choice = solara.use_reactive(orgs[0][1] if orgs else "")
    if choice.value not in labels and orgs:
        choice.set(orgs[0][1])

    def render() -> bytes:
        if not orgs:
            return png_bytes(charts.empty_figure("no universities or big firms in this scenario"))
        with session.lock:
            f = session.frames("current")
            g = graphs.genealogy(f.firms, labels.get(choice.value, orgs[0][0]))
        return png_bytes(charts.genealogy_figure(g, choice.value))

    png = solara.use_memo(render, [version, choice.value])
    with solara.Column(classes=["aieco-genealogy"]):
        solara.Select("Organisation", values=list(labels), value=choice)
        solara.Image(png, format="png", width="900px")
        solara.FileDownload(lambda: png, filename=f"aieco-genealogy-month{session.month}.png",
                            label="PNG: genealogy", mime_type="image/png")


def read_info() -> tuple[str, str | None]:
    """The Info page's texts: things to try, and the model description (None if missing)."""
    tips = THINGS_TO_TRY.read_text(encoding="utf-8") if THINGS_TO_TRY.exists() else ""
    if ODD_PATH.exists():
        return tips, ODD_PATH.read_text(encoding="utf-8")
    return tips, None


@solara.component
def InfoView():
    tips, odd = solara.use_memo(read_info, [])
    with solara.Column(classes=["aieco-info"], style={"max-width": "900px"}):
        solara.Markdown(tips)
        if odd is None:
            solara.Warning(f"The model description (docs/ODD.md) is not available in this installation "
                           f"(looked for {ODD_PATH}).", classes=["aieco-odd-missing"])
        else:
            solara.Markdown(odd)


def play_loop(session: Session, playing: solara.Reactive[bool], target: solara.Reactive[int | None],
              speed: solara.Reactive[str], refresh: Callable[[], None], set_error: Callable[[str], None]):
    """Step while playing (at the chosen speed) or until the Run-N target month."""
    while playing.value:
        t0 = time.perf_counter()
        goal = target.value
        n = 1 if goal is None else max(0, min(6, goal - session.month))
        done = 0
        try:
            done = session.step(n)
        except Exception as exc:  # noqa: BLE001
            log.error("step failed:\n%s", traceback.format_exc())
            set_error(f"Internal error while stepping ({type(exc).__name__}: {exc}).")
        refresh()
        if done == 0 or session.finished or (goal is not None and session.month >= goal):
            if session.finished:
                set_error("")
            target.set(None)
            playing.set(False)
            break
        rate = SPEEDS.get(speed.value, 0.0)
        if goal is None and rate > 0:
            time.sleep(max(0.0, 1.0 / rate - (time.perf_counter() - t0)))
