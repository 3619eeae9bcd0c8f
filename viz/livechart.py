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


class LiveChartWidget(ipyvuetify.VuetifyTemplate):
    template_file = (__file__, "livechart.vue")

    option = traitlets.Any({}).tag(sync=True)
    tail = traitlets.Any({}).tag(sync=True)
    maps = traitlets.Any({}).tag(sync=True)
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
    return LiveChartWidget.element(
        option=option,
        tail=tail or {},
        height=height,
        css_class=css_class,
        maps=maps or {},
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
