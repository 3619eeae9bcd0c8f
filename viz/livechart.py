"""An ECharts widget updated in place: full figure on a structure change, new points otherwise.

ECharts 5.4 ships with the ``solara-assets`` package (Solara's own asset folder), so the chart
library is served by the app's server: nothing is fetched from outside it.

Use :func:`LiveChart` in a component with a figure ``option`` that changes only when the figure's
structure does (its ``aieco_base`` token names that structure) and a ``tail`` that carries the
points the browser does not have yet (:func:`tail_since`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipyvuetify
import solara
import traitlets


class Json:
    """A figure, tail or map geometry handed to the widget as one value.

    Reacton walks every dict and list in an element's arguments, key by key, looking for child
    elements, in the render and again in the reconciliation, and compares them item by item: a
    chart's option (axes, legends, series) made that walk a large part of each Step. Wrapped,
    it is one opaque value, equal only to itself (the components keep the same object while the
    figure is the same, with ``use_memo``), and the widget sends the data inside as JSON."""

    __slots__ = ("data",)

    def __init__(self, data: dict):
        self.data = data


def _json(value, widget) -> object:  # noqa: ARG001 (ipywidgets' serializer signature)
    return value.data if isinstance(value, Json) else value


class LiveChartWidget(ipyvuetify.VuetifyTemplate):
    template_file = (__file__, "livechart.vue")

    option = traitlets.Any({}).tag(sync=True, to_json=_json)
    tail = traitlets.Any({}).tag(sync=True, to_json=_json)
    maps = traitlets.Any({}).tag(sync=True, to_json=_json)
    height = traitlets.Unicode("320px").tag(sync=True)
    css_class = traitlets.Unicode("").tag(sync=True)
    click_enabled = traitlets.Bool(False).tag(sync=True)
    on_click = traitlets.Callable(None, allow_none=True)

    def vue_on_click(self, data):
        if self.on_click is not None:
            self.on_click(data)


@solara.component
def LiveChart(
    option: dict,
    tail: dict | None = None,
    height: str = "320px",
    css_class: str = "",
    maps: dict | None = None,
    on_click: Callable[[dict], Any] | None = None,
):
    # the same wrapper while the data is the same: nothing is sent again
    option_json = solara.use_memo(lambda: Json(option), [option])
    tail_json = solara.use_memo(lambda: Json(tail or {}), [tail])
    maps_json = solara.use_memo(lambda: Json(maps or {}), [maps])
    return LiveChartWidget.element(
        option=option_json,
        tail=tail_json,
        height=height,
        css_class=css_class,
        maps=maps_json,
        on_click=on_click,
        click_enabled=on_click is not None,
    )


def tail_since(option: dict, series: dict[str, list], sent: int, seq: int, stamp: str) -> dict:
    """The points of each series from index ``sent`` on (what the browser does not have)."""
    return {
        "seq": seq,
        "base": option.get("aieco_base"),
        "stamp": stamp,
        "series": [{"id": sid, "from": sent, "data": pts[sent:]} for sid, pts in series.items()],
    }
