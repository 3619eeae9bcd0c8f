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
from viz import charts, graphs, netcharts
from viz.levers import Lever
from viz.livechart import LiveChart
from viz.session import Session, parse_seed
from viz.tasks import use_task

log = logging.getLogger("aieco.viz")

# viz/ODD.md links to docs/ODD.md in the repository; a built wheel carries the file itself.
ODD_PATH = Path(__file__).resolve().parent / "ODD.md"
THINGS_TO_TRY = Path(__file__).resolve().parent / "things_to_try.md"
GUIDE = Path(__file__).resolve().parent / "guide.md"
SPEEDS = {
    "1 month/s": 1.0,
    "2 months/s": 2.0,
    "5 months/s": 5.0,
    "10 months/s": 10.0,
    "20 months/s": 20.0,
    "as fast as possible": 0.0,
}
#: While playing, the page is redrawn after this many months (large presets: fewer redraws).
REDRAWS = {"every month": 1, "every 3 months": 3, "every 6 months": 6, "every 12 months": 12}
Submit = Callable[..., None]

CSS = """
.aieco-header { background: #37474f; color: white; padding: 6px 16px; align-items: center;
  flex-wrap: nowrap; }
.aieco-title { font-size: 20px; font-weight: 500; white-space: nowrap; }
.aieco-subtitle { font-size: 13px; opacity: 0.85; }
.aieco-drawer-toggle { display: none !important; }
.aieco-sidebar { width: 340px; min-width: 340px; overflow-y: auto; padding: 10px;
  border-right: 1px solid #e0e0e0; background: white; }
.aieco-main { flex: 1; min-width: 0; overflow-y: auto; padding: 10px; }
.aieco-charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr));
  gap: 14px; width: 100%; }
.aieco-chart-cell { min-width: 0; border: 1px solid #eceff1; border-radius: 6px; padding: 4px; }
.aieco-help { font-size: 12px; color: #546e7a; line-height: 1.3; }
.aieco-busy { visibility: hidden; animation: aieco-show 0s linear 0.3s forwards; }
@keyframes aieco-show { to { visibility: visible; } }
.aieco-command { font-family: monospace; font-size: 12px; background: #eceff1; padding: 6px;
  border-radius: 4px; word-break: break-all; user-select: all; }
@media (max-width: 1100px) {
  .aieco-sidebar { width: 290px; min-width: 290px; }
  .aieco-subtitle { display: none; }
  .aieco-charts { grid-template-columns: 1fr; }
}
@media (max-width: 700px) {
  .aieco-drawer-toggle { display: inline-flex !important; }
  .aieco-title { font-size: 16px; }
  .aieco-sidebar { position: fixed; top: 48px; bottom: 0; left: 0; z-index: 20; width: 88vw;
    min-width: 0; transform: translateX(-100%); transition: transform 0.2s;
    box-shadow: 2px 0 12px rgba(0, 0, 0, 0.3); }
  .aieco-sidebar.aieco-open { transform: none; }
  .aieco-main { padding: 4px; }
  .aieco-card { min-width: 96px !important; }
}
"""


@solara.component_vue("urlsync.vue")
def UrlSync(query: str):
    pass


@solara.component_vue("copybutton.vue")
def CopyButton(text: str, label: str = "Copy", css_class: str = ""):
    pass


@solara.component
def BusyBar(label: str):
    """Shown while a background recompute runs (visible only after 0.3 s)."""
    if not label:
        return solara.Div(classes=["aieco-idle"])
    with solara.Column(gap="2px", classes=["aieco-busy"]) as main:
        solara.Text(f"{label}… the page stays usable.", style={"color": "#1565c0"})
        solara.ProgressLinear(True)
    return main


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
def RunControls(
    session: Session,
    shown: tuple,
    playing: solara.Reactive[bool],
    target: solara.Reactive[int | None],
    speed: solara.Reactive[str],
    redraw: solara.Reactive[str],
    refresh: Callable[[], None],
    set_error: Callable[[str], None],
    submit: Submit,
):
    seed_error = solara.use_reactive("")
    months_text = solara.use_reactive("12")
    months_error = solara.use_reactive("")

    def on_preset(name: str):
        playing.set(False)
        submit(f"Loading preset {name}", lambda: session.set_preset(name), months=0)

    def on_seed(text: str):
        try:
            seed = parse_seed(text)
        except ValueError as exc:
            seed_error.set(str(exc))
            return
        seed_error.set("")
        submit(
            f"Re-running months 0–{session.month} with seed {seed}", lambda: session.set_seed(seed)
        )

    def on_step():
        playing.set(False)
        guarded(lambda: session.step(1), set_error)
        refresh()

    def on_play():
        target.set(None)
        if playing.value:
            # Wait for the month in progress, then stop: with the lock held no month starts, so
            # the render that drops "playing" from the status shows the month where Play stopped
            # (the browser may receive its widgets one message at a time).
            with session.lock:
                playing.set(False)
                refresh()
        else:
            playing.set(True)

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
        solara.Select(
            "Preset (city)",
            values=preset_names(),
            value=session.preset or "(loaded file)",
            on_value=on_preset,
        )
        solara.InputText(
            "Seed",
            value=str(session.seed),
            on_value=on_seed,
            continuous_update=False,
            error=seed_error.value or False,
            message="same seed, same run; press Enter",
        )
        with solara.Row(gap="4px", style={"flex-wrap": "wrap"}):
            solara.Button(
                "Step",
                icon_name="mdi-step-forward",
                on_click=on_step,
                color="primary",
                classes=["aieco-step"],
                disabled=session.finished,
            )
            solara.Button(
                "Pause" if playing.value else "Play",
                icon_name="mdi-pause" if playing.value else "mdi-play",
                on_click=on_play,
                color="primary",
                classes=["aieco-play"],
                disabled=session.finished and not playing.value,
            )
            solara.Button(
                "Restart",
                icon_name="mdi-restart",
                on_click=on_restart,
                text=True,
                classes=["aieco-restart"],
            )
        with solara.Row(gap="4px", style={"align-items": "baseline"}):
            solara.InputText(
                "Months",
                value=months_text,
                continuous_update=True,
                error=months_error.value or False,
                classes=["aieco-months"],
                style={"max-width": "90px"},
            )
            solara.Button(
                "Run N months",
                on_click=on_run_n,
                outlined=True,
                classes=["aieco-run-n"],
                disabled=playing.value,
            )
        with solara.Row(gap="6px"):
            solara.Select("Speed", values=list(SPEEDS), value=speed, classes=["aieco-speed"])
            solara.Select(
                "Redraw while playing", values=list(REDRAWS), value=redraw, classes=["aieco-redraw"]
            )


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
    with solara.Column(
        gap="0px",
        classes=["aieco-lever", "aieco-lever-" + lever.path.replace(".", "-")],
        style={"margin-bottom": "6px"},
    ):
        with solara.Row(gap="4px", style={"align-items": "center"}):
            solara.Text(title, style={"font-weight": "500", "font-size": "13px"})
            if changed:
                solara.Text(
                    f"changed (preset: {lever.format(base_value)})",
                    style={"font-size": "11px", "color": "#e65100"},
                )
        if lever.kind == "bool":
            solara.Checkbox(
                label="on" if value else "off",
                value=bool(value),
                on_value=lambda v: commit(bool(v)),
            )
        elif lever.kind == "choice":
            solara.Select(label="", values=list(lever.choices), value=value, on_value=commit)
        else:
            top = lever.slider_max(base_value)
            shown = lever.to_display(value)
            step = 1.0 if lever.kind == "share" else top / 100
            slider = rv.Slider(
                v_model=min(shown, top),
                min=0.0,
                max=top,
                step=step,
                hide_details=True,
                dense=True,
                class_="aieco-slider",
            )
            rvue.use_event(slider, "change", lambda *args: commit(float(args[-1]) * lever.scale))
            solara.InputText(
                label=lever.range_text(base_value),
                value=lever.format(value),
                on_value=on_text,
                continuous_update=False,
                error=error.value or False,
                classes=["aieco-lever-input"],
            )
        if error.value and lever.kind in ("bool", "choice"):
            solara.Error(error.value, dense=True)
        solara.Text(lever.help, classes=["aieco-help"])


def _same_value(a, b) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@solara.component
def ProgrammeSwitch(session: Session, prog, on: bool, available: bool, submit: Submit):
    def flip(value: bool):
        state = "on" if value else "off"
        submit(
            f"Turning {prog.name} {state} and re-running months 0–{session.month}",
            lambda: session.set_programme(prog.id, value),
        )

    with solara.Div(classes=["aieco-programme", f"aieco-programme-{prog.id.replace(':', '-')}"]):
        solara.Switch(
            label=f"{prog.name}: {'on' if on else 'off'}",
            value=on,
            on_value=flip,
            disabled=not on and not available,
        )
        if not on and not available:
            solara.Text(
                "not in this preset: set an amount below to start it", classes=["aieco-help"]
            )


@solara.component
def LeverGroup(session: Session, group: str, levers: list, on_commit, settings_version: int):
    """Amounts and rates of one region, drawn only when opened (a closed group costs nothing
    when the page updates)."""
    open_ = solara.use_reactive(False)
    n_changed = sum(1 for lev in levers if lev.path in session.changes)
    label = f"Amounts and rates ({len(levers)}" + (f", {n_changed} changed)" if n_changed else ")")
    css = "aieco-group-" + "".join(ch if ch.isalnum() else "-" for ch in group.lower())
    with solara.Column(gap="0px", classes=["aieco-lever-group", css]):
        solara.Button(
            label,
            icon_name="mdi-chevron-up" if open_.value else "mdi-chevron-down",
            text=True,
            small=True,
            classes=["aieco-open-levers"],
            on_click=lambda: open_.set(not open_.value),
        )
        if open_.value:
            for lev in levers:
                LeverRow(lev, session.value(lev.path), session.base_value(lev.path), on_commit)


@solara.component
def LeverPanel(
    session: Session, settings_version: int, set_error: Callable[[str], None], submit: Submit
):
    def on_commit(path: str, value) -> str:
        try:  # validate at once (the field shows the message); the re-run may take a while
            session.check_levers({path: value})
        except (ScenarioError, ValueError) as exc:
            return str(exc)
        label = session.lever(path).label
        submit(
            f"{label} changed: re-running months 0–{session.month}",
            lambda: session.set_lever(path, value),
        )
        return ""

    def on_reset():
        submit(
            f"Resetting the levers and re-running months 0–{session.month}", session.reset_levers
        )

    groups: dict[str, list[Lever]] = {}
    for lev in session.levers:
        groups.setdefault(lev.group, []).append(lev)
    progs: dict[str, list] = {}
    for prog in session.programmes:
        progs.setdefault(prog.group, []).append(prog)
    n_changed = len(session.changes)
    with solara.Column(gap="4px"):
        with solara.Row(style={"align-items": "center"}):
            solara.Text(
                f"Levers ({n_changed} changed)" if n_changed else "Levers (preset values)",
                style={"font-weight": "bold"},
            )
            solara.Button(
                "Reset to preset",
                icon_name="mdi-undo",
                on_click=on_reset,
                small=True,
                outlined=True,
                classes=["aieco-reset"],
                disabled=not n_changed,
            )
        for i, (group, levers) in enumerate(groups.items()):
            with solara.Details(summary=f"{group}", expand=(i == 0)):
                solara.Text(
                    "Programmes (off: pays nothing at all)",
                    style={"font-size": "12px", "font-weight": "500"},
                )
                for prog in progs.get(group, []):
                    ProgrammeSwitch(
                        session,
                        prog,
                        session.programme_on(prog),
                        session.programme_available(prog),
                        submit,
                    )
                LeverGroup(session, group, levers, on_commit, settings_version)


@solara.component
def ScenarioFiles(
    session: Session,
    settings_version: int,
    set_error: Callable[[str], None],
    playing: solara.Reactive[bool],
    submit: Submit,
):
    def on_file(info: dict):
        playing.set(False)
        if info.get("error") or info.get("text") is None:
            set_error(f"{info.get('name')}: {info.get('error') or 'could not be read'}")
            return
        name = info.get("name") or "scenario.toml"
        submit(f"Loading {name}", lambda: session.load_toml(info["text"], name), months=0)

    name = (session.preset or "scenario") + ("-levers" if session.changes else "")
    with solara.Column(gap="4px"):
        solara.FileDownload(
            lambda: session.scenario_toml().encode(),
            filename=f"{name}.toml",
            label="Save levers (TOML)",
            mime_type="text/plain",
        )
        ScenarioFileInput(label="Load a scenario (TOML)", event_file_loaded=on_file)


@solara.component
def Exports(session: Session, version: int):
    tag = f"{session.preset or 'scenario'}-seed{session.seed}-month{session.month}"
    command = session.command_line()
    with solara.Column(gap="4px"):
        solara.Text(
            "The address bar always holds a link to this view (preset, seed, month, "
            "levers): copy it to share.",
            classes=["aieco-help"],
        )
        solara.Text("Command line that reproduces this run:", classes=["aieco-help"])
        solara.Text(command, classes=["aieco-command"])
        CopyButton(text=command, label="Copy command", css_class="aieco-copy-command")
        solara.FileDownload(
            session.kpis_csv,
            filename=f"aieco-kpis-{tag}.csv",
            label="KPIs (CSV)",
            mime_type="text/csv",
        )
        solara.FileDownload(
            session.data_centers_csv,
            filename=f"aieco-data-centers-{tag}.csv",
            label="Data centers (CSV)",
            mime_type="text/csv",
        )
        solara.Text(
            "Each chart has its own PNG button; files and images carry the scenario, "
            "seed, month and version.",
            classes=["aieco-help"],
        )


# ----------------------------------------------------------------------------------------------
# Views
# ----------------------------------------------------------------------------------------------
def summary_cards(session: Session) -> list[dict]:
    """The headline cards: label, text, css key, and the difference from the baseline where there
    is one (plain data, for :func:`SummaryCards`)."""
    s = session.summary()
    base = None
    if session.counterfactual and session.baseline is not None:
        from viz.session import summary_numbers

        base = summary_numbers(session.frames("baseline"), session.baseline)
    items = [
        ("Month", f"{session.month} / {session.horizon}", None, "month"),
        ("Startups alive", fmt_number(s["startups_alive"]), "startups_alive", "alive"),
        ("Founded", fmt_number(s["startups_founded"]), "startups_founded", "founded"),
        (
            "Failed / acquired",
            f"{fmt_number(s['startups_failed'])} / {fmt_number(s['startups_acquired'])}",
            None,
            "exits",
        ),
        ("Startup jobs", fmt_number(s["employment_startups"]), "employment_startups", "jobs"),
        (
            "Largest startup (people)",
            fmt_number(s["largest_startup_staff"]),
            "largest_startup_staff",
            "largest",
        ),
        (
            "Utilisation east / west",
            f"{fmt_number(100 * s['east_utilization_end'])}% / "
            f"{fmt_number(100 * s['west_utilization_end'])}%",
            None,
            "util",
        ),
        (
            "Vouchers paid by cities",
            f"¥{fmt_number(s['voucher_city_yuan'] / 1e6)}m",
            "voucher_city_yuan",
            "voucher",
        ),
        (
            "Vouchers paid by western hubs",
            f"¥{fmt_number(s['voucher_hub_yuan'] / 1e6)}m",
            "voucher_hub_yuan",
            "voucher-hubs",
        ),
    ]
    cards = []
    for label, text, key, css in items:
        card = {"label": label, "text": text, "css": css}
        if css == "month" and session.month:  # the calendar month just simulated
            card["sub"] = session.model.date(session.month - 1).strftime("%b %Y")
        if base is not None and key is not None and not math.isnan(base.get(key, math.nan)):
            d = s[key] - base[key]
            scale, unit = (1e6, "m") if key.endswith("yuan") else (1, "")
            card["delta"] = f"{d / scale:+,.0f}{unit} vs baseline"
            card["delta_color"] = "#1565c0" if d >= 0 else "#c62828"
        cards.append(card)
    return cards


@solara.component_vue("cards.vue")
def CardRow(cards: list):
    pass


@solara.component
def SummaryCards(session: Session, version: int):
    # One widget for the nine cards: a Step sends one message, not one per card (each message
    # is a blocking hand-over to the server's event loop and a Vue update in the browser).
    CardRow(cards=summary_cards(session))


def chart_context(session: Session, detail: bool = False) -> dict:
    """What the chart builders need besides the tables: times, human names."""
    m = session.model
    start = session.scenario.meta.start_year
    return {
        "times": lambda n: charts.month_times(start, n),
        "dc_names": {d.key: f"{d.name} ({'west' if d.is_hub else 'east'})" for d in m.data_centers},
        "region_names": {rid: r.name for rid, r in session.scenario.regions.items()},
        "detail": detail,
    }


@solara.component
def KpiChart(session: Session, version: int, key: str, counterfactual: bool, detail: bool = False):
    """One live chart: the figure is sent once per run, then only each new month's points."""
    ctx = solara.use_memo(lambda: chart_context(session, detail), [session.run_id, detail])
    sent = solara.use_ref({"base": None, "n": {}, "seq": 0})

    def lines():
        with session.lock:
            cur = session.frames("current")
            base = session.frames("baseline") if counterfactual else None
            return charts.series(key, cur, base, ctx)

    current = solara.use_memo(lines, [version, session.run_id, counterfactual, detail])
    # A new figure when the runs are rebuilt or the set of lines changes (the first month adds
    # lines that an empty run does not have); otherwise only new points travel.
    ids = ",".join(line.id for line in current)
    empty = all(not line.points for line in current)
    token = f"{session.run_id}:{int(counterfactual)}:{int(detail)}:{int(empty)}:{hash(ids)}"
    filename = f"aieco-{key}-{session.scenario_name}-seed{session.seed}"

    def build() -> dict:
        return charts.figure(key, current, token, session.stamp(), filename)

    option = solara.use_memo(build, [token])

    def make_tail() -> dict:
        ref = sent.current
        if ref["base"] != token:
            ref["base"] = token
            ref["n"] = {line.id: len(line.points) for line in current}
        ref["seq"] += 1
        out = []
        for line in current:
            n0 = ref["n"].get(line.id, 0)
            if len(line.points) != n0:
                out.append({"id": line.id, "from": n0, "data": line.points[n0:]})
                ref["n"][line.id] = len(line.points)
        return {
            "seq": ref["seq"],
            "base": token,
            "stamp": session.stamp(),
            "filename": f"{filename}-month{session.month}",
            "series": out,
        }

    tail = solara.use_memo(make_tail, [version, token])
    LiveChart(option, tail, height="340px", css_class=f"aieco-chart aieco-chart-{key}")


@solara.component
def ChartsView(session: Session, version: int):
    cf = session.counterfactual and session.baseline is not None
    detail = solara.use_reactive(False)
    with solara.Div(classes=["aieco-charts"]):
        for key in charts.CHART_KEYS:
            with solara.Div(classes=["aieco-chart-cell"]):
                KpiChart(session, version, key, cf, detail.value if key == "utilisation" else False)
                if key == "utilisation":
                    with solara.Div(classes=["aieco-dc-detail"]):
                        solara.Checkbox(label="show each data center", value=detail)


@solara.component
def MapView(session: Session, version: int):
    """The map of China (first view): circles, squares and animated flows; data sent as updates."""
    from viz import chinamap

    kinds_state = {k: solara.use_reactive(True) for k in chinamap.FLOW_NAMES}
    kinds = tuple(k for k, r in kinds_state.items() if r.value)
    sent = solara.use_ref({"seq": 0})

    def data():
        with session.lock:
            return chinamap.map_data(session)

    current = solara.use_memo(data, [version, session.run_id])
    token = f"map:{session.run_id}:{','.join(kinds)}"
    filename = f"aieco-map-{session.scenario_name}-seed{session.seed}"

    def build():
        return chinamap.figure(current, token, session.stamp(), filename, kinds)

    option = solara.use_memo(build, [token])
    maps = solara.use_memo(lambda: {"china": chinamap.outline()}, [])

    def make_tail():
        sent.current["seq"] += 1
        series = [
            {"id": sid, "from": 0, "data": pts}
            for sid, pts in chinamap.series_data(current, kinds).items()
        ]
        return {
            "seq": sent.current["seq"],
            "base": token,
            "stamp": session.stamp(),
            "filename": f"{filename}-month{session.month}",
            "series": series,
        }

    tail = solara.use_memo(make_tail, [version, token])
    with solara.Column(gap="4px", classes=["aieco-map"]):
        with solara.Row(gap="12px", style={"flex-wrap": "wrap", "align-items": "center"}):
            solara.Text("Show flows:", style={"font-weight": "500"})
            for k, r in kinds_state.items():
                with solara.Div(classes=[f"aieco-flow-{k}"]):
                    solara.Checkbox(label=chinamap.FLOW_NAMES[k], value=r)
        LiveChart(option, tail, height="560px", css_class="aieco-chart-map", maps=maps)
        text = (
            "Drag to move, scroll to zoom, hover a circle, square or flow for its numbers. "
            "Flows are totals of the last 12 months; the model counts purchases and moves "
            "per region, so routes are split in proportion (see the Guide)."
        )
        if current["missing"]:
            text += " Not on the map (no place known): " + ", ".join(current["missing"]) + "."
        solara.Text(text, classes=["aieco-help"])


@solara.component
def UncertaintyView(session: Session, settings_version: int):
    """Several seeds in the background; bands for your settings and for the baseline."""
    from viz import uncertainty as unc

    n_seeds = solara.use_reactive("8")
    with_params = solara.use_reactive(False)
    with_assumptions = solara.use_reactive(False)
    metric = solara.use_reactive("startups_alive")
    progress = solara.use_reactive((0, 0))
    result = solara.use_reactive(None)  # (settings_version, month, Bands)
    message = solara.use_reactive("")
    job_ref = solara.use_ref(None)
    run_no = solara.use_reactive(0)
    months = session.month if session.month >= 6 else min(36, session.horizon)

    def work():
        if run_no.value == 0:
            return
        seeds = [session.seed + i for i in range(int(n_seeds.value))]
        draws = None
        if with_params.value:
            draws = unc.parameter_draws(
                session.base_doc,
                len(seeds),
                session.seed,
                session.changes,
                session.scenario.meta.posterior,
                with_assumptions.value,
            )
        job = unc.SeedJob(session.scenario, session.base_scenario, seeds, months, draws=draws)
        job_ref.current = job
        progress.set((0, job.total))
        message.set("")
        bands = job.run(lambda done, total: progress.set((done, total)))
        if bands is not None:
            result.set((settings_version, months, bands))
        elif job.error:
            message.set(f"The runs failed: {job.error}")
        else:
            message.set("Cancelled.")
        job_ref.current = None

    task = use_task(work, dependencies=[run_no.value])

    def cancel():
        if job_ref.current is not None:
            job_ref.current.cancel()

    def on_unmount():
        return cancel

    solara.use_effect(on_unmount, [])
    posterior = session.scenario.meta.posterior
    # where the draws would come from: read from the posterior file's record (memoised)
    source = solara.use_memo(
        lambda: unc.parameter_draws(
            session.base_doc, 0, session.seed, session.changes, posterior, with_assumptions.value
        ),
        [session.source, posterior, with_assumptions.value, tuple(session.changes)],
    )
    running = task.pending and run_no.value > 0
    done, total = progress.value
    with solara.Column(gap="6px", classes=["aieco-uncertainty"]):
        solara.Markdown(
            "Run the model with several seeds, for your settings and for the preset's "
            "(the baseline), each seed in both: the bands show where 8 in 10 runs fall. A "
            "difference smaller than the bands' spread may be chance. 'Include parameter "
            "uncertainty' adds one run per seed with the uncertain parameters (behaviour, and "
            "the cities' own inputs) drawn from the preset's calibrated posterior where it has "
            "one (else from their documented prior ranges), as a second, lighter band; '… and "
            "the documented assumptions' draws the inputs that have a range but no data too."
        )
        with solara.Row(gap="8px", style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select(
                "Seeds",
                values=["4", "8", "16"],
                value=n_seeds,
                style={"max-width": "90px"},
                disabled=running,
            )
            with solara.Div(classes=["aieco-with-params"]):  # Checkbox takes no classes
                solara.Checkbox(
                    label="Include parameter uncertainty", value=with_params, disabled=running
                )
            with solara.Div(classes=["aieco-with-assumptions"]):
                solara.Checkbox(
                    label="… and the documented assumptions",
                    value=with_assumptions,
                    disabled=running or not with_params.value,
                )
            solara.Button(
                f"Run {n_seeds.value} seeds × {4 if with_params.value else 2} to month {months}",
                icon_name="mdi-chart-bell-curve",
                color="primary",
                classes=["aieco-run-seeds"],
                disabled=running,
                on_click=lambda: run_no.set(run_no.value + 1),
            )
            solara.Button(
                "Cancel",
                icon_name="mdi-close",
                classes=["aieco-cancel-seeds"],
                disabled=not running,
                on_click=cancel,
                outlined=True,
            )
            solara.Select(
                "Show", values=list(unc.METRICS), value=metric, style={"max-width": "260px"}
            )
        if with_params.value:
            solara.Text(source.explain(), classes=["aieco-help", "aieco-draw-source"])
        if running:
            with solara.Column(gap="2px", classes=["aieco-seed-progress"]):
                solara.Text(
                    f"{done} of {total} runs done (in the background: the page stays usable)"
                )
                solara.ProgressLinear(value=100 * done / total if total else 0)
        if message.value:
            solara.Info(message.value, classes=["aieco-seed-message"])
        if result.value is not None:
            sv, m, bands = result.value
            mean, lo, hi = bands.difference(metric.value)
            label, unit = unc.METRICS[metric.value]
            scale, shown = (1e6, "¥ million") if unit == "¥" else (1.0, unit)
            stale = " (settings changed since: run again)" if sv != settings_version else ""
            verdict = (
                "larger than the noise: in 8 of 10 seeds the difference has this sign"
                if lo > 0 or hi < 0
                else "not clearly larger than the noise"
            )
            solara.Text(
                f"At month {m}, your settings minus the baseline, seed by seed: "
                f"{mean / scale:+,.1f} {shown} on average (8 in 10 seeds between "
                f"{lo / scale:+,.1f} and {hi / scale:+,.1f}): {verdict}.{stale}",
                classes=["aieco-seed-verdict"],
            )
            if bands.with_params:
                pm, plo, phi = bands.difference(metric.value, params=True)
                solara.Text(
                    f"With parameter uncertainty ({bands.source}, one draw per seed, the same "
                    f"draws in both arms): {pm / scale:+,.1f} {shown} on average (8 in 10 runs "
                    f"between {plo / scale:+,.1f} and {phi / scale:+,.1f}). The lighter bands "
                    "are seeds and parameters; the darker ones seeds only.",
                    classes=["aieco-param-verdict"],
                )
            else:
                solara.Text(
                    "The bands show seed noise only; tick 'Include parameter uncertainty' to "
                    "add runs with the uncertain parameters drawn as well.",
                    classes=["aieco-help"],
                )
            solara.Text(
                unc.reach_text(bands, session.scenario.meta.target_startups, m),
                classes=["aieco-reach"],
            )
            token = f"unc:{id(bands)}:{metric.value}"
            opt = unc.figure(
                bands,
                metric.value,
                session.scenario.meta.start_year,
                token,
                session.stamp(),
                f"aieco-bands-{metric.value}-{session.scenario_name}-seed{session.seed}",
            )
            LiveChart(opt, None, height="380px", css_class="aieco-chart-bands")


@solara.component
def NetworkView(session: Session, version: int):
    """Directed organisation network: arrows from who sends to who receives."""
    window = solara.use_reactive("last 12 months")
    kinds = {k: solara.use_reactive(True) for k in netcharts.EDGE_STYLE}
    chosen = tuple(k for k, r in kinds.items() if r.value)

    def build():
        with session.lock:
            f = session.frames("current")
            net = graphs.org_network(
                session.model, f.firms, 12 if window.value == "last 12 months" else None
            )
            token = f"net:{session.run_id}:{version}:{window.value}:{chosen}"
            filename = (
                f"aieco-network-{session.scenario_name}-seed{session.seed}-month{session.month}"
            )
            return netcharts.network_option(
                net, chosen, token, session.stamp(), filename
            ), net.notes

    option, notes = solara.use_memo(build, [version, session.run_id, window.value, chosen])
    with solara.Column(classes=["aieco-network"]):
        with solara.Row(gap="12px", style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.ToggleButtonsSingle(value=window, values=["last 12 months", "since the start"])
            for k, r in kinds.items():
                solara.Checkbox(label=netcharts.EDGE_STYLE[k][1], value=r)
        LiveChart(option, None, height="620px", css_class="aieco-chart-network")
        solara.Text(
            "Drag to move, scroll to zoom (hidden labels appear), hover a node or an arrow for "
            "its numbers; pointing at a node highlights its links. " + " ".join(notes),
            classes=["aieco-help"],
        )


@solara.component
def GenealogyView(session: Session, version: int):
    """Founder family trees on a time axis; clicking a startup shows its own family."""
    orgs = session.organisations()
    labels = {label: node for node, label in orgs}
    choice = solara.use_reactive(orgs[0][1] if orgs else "")
    focus = solara.use_reactive(None)  # (node, label) of a startup the user clicked
    if choice.value not in labels and orgs:
        choice.set(orgs[0][1])
    root, root_label = focus.value or (labels.get(choice.value, ""), choice.value)

    def build():
        if not root:
            return None
        with session.lock:
            firms = session.frames("current").firms
            token = f"gen:{session.run_id}:{version}:{root}"
            filename = (
                f"aieco-genealogy-{session.scenario_name}-seed{session.seed}-month{session.month}"
            )
            return netcharts.genealogy_option(
                firms,
                root,
                root_label,
                session.scenario.meta.start_year,
                token,
                session.stamp(),
                filename,
            )

    option = solara.use_memo(build, [version, session.run_id, root])

    def on_click(data: dict):
        node = data.get("dataId") or ""
        if node.startswith("startup:"):
            focus.set((node, f"startup {node.split(':')[1]}"))

    def on_choice(label: str):
        focus.set(None)
        choice.set(label)

    with solara.Column(classes=["aieco-genealogy"]):
        with solara.Row(gap="12px", style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select(
                "Organisation", values=list(labels), value=choice.value, on_value=on_choice
            )
            if focus.value is not None:
                solara.Button(
                    f"Back to {choice.value}",
                    icon_name="mdi-arrow-left",
                    text=True,
                    classes=["aieco-genealogy-back"],
                    on_click=lambda: focus.set(None),
                )
        if option is None:
            solara.Info("No universities or big firms in this scenario.")
        else:
            LiveChart(
                option, None, height="560px", css_class="aieco-chart-genealogy", on_click=on_click
            )
            solara.Text(
                "Each dot is a startup, placed at the month it was founded and at its generation "
                "(1: founded by the organisation's former staff, 2: by staff of those "
                "startups...). Colour: sector. Click a startup to see its own family; drag a "
                "box with the zoom tool to look closer.",
                classes=["aieco-help"],
            )


def guide_text() -> str:
    """The Guide tab: NetLogo Models Library sections, with the tested things to try."""
    guide = GUIDE.read_text(encoding="utf-8")
    tips = THINGS_TO_TRY.read_text(encoding="utf-8")
    tips = "\n".join(
        line
        for line in tips.splitlines()
        if "tests/test_viz_guide.py" not in line and "by a test that runs" not in line
    )
    return guide.replace("{things_to_try}", tips)


def read_info() -> tuple[str, str | None]:
    """The Info page's texts: things to try, and the model description (None if missing)."""
    tips = THINGS_TO_TRY.read_text(encoding="utf-8") if THINGS_TO_TRY.exists() else ""
    if ODD_PATH.exists():
        return tips, ODD_PATH.read_text(encoding="utf-8")
    return tips, None


@solara.component
def GuideView():
    text = solara.use_memo(guide_text, [])
    with solara.Column(classes=["aieco-info"], style={"max-width": "860px", "font-size": "15px"}):
        solara.Markdown(text)


def play_loop(
    session: Session,
    playing: solara.Reactive[bool],
    target: solara.Reactive[int | None],
    speed: solara.Reactive[str],
    redraw: solara.Reactive[str],
    refresh: Callable[[], None],
    set_error: Callable[[str], None],
):
    """Step while playing (at the chosen speed, redrawing every N months) or until the Run-N
    target month.

    The speed is kept in months per second: when drawing the page takes longer than a month's
    share of a second, more months are run between two redraws (up to 12), so Play reaches the
    speed it offers whenever the model itself is fast enough."""
    start, months_done, speed_seen = time.perf_counter(), 0, speed.value
    while playing.value:
        t0 = time.perf_counter()
        goal = target.value
        every = REDRAWS.get(redraw.value, 1)
        rate = SPEEDS.get(speed.value, 0.0)
        if speed.value != speed_seen:  # a new speed: count from now
            start, months_done, speed_seen = t0, 0, speed.value
        behind = int(rate * (t0 - start)) - months_done if rate > 0 else 0
        n = max(every, min(12, behind))
        if goal is not None:
            n = max(0, min(max(6, every), goal - session.month))
        done = 0
        try:
            for _ in range(n):  # month by month, so Pause stops within one month
                with session.lock:  # Pause takes the lock: no month starts after it
                    if not playing.value or not session.step(1):
                        break
                done += 1
        except Exception as exc:  # noqa: BLE001
            log.error("step failed:\n%s", traceback.format_exc())
            set_error(f"Internal error while stepping ({type(exc).__name__}: {exc}).")
        months_done += done
        refresh()
        if not playing.value:
            break
        if done == 0 or session.finished or (goal is not None and session.month >= goal):
            if session.finished:
                set_error("")
            target.set(None)
            playing.set(False)
            break
        if goal is None and rate > 0:
            ahead = months_done / rate - (time.perf_counter() - start)
            time.sleep(max(0.0, ahead))
