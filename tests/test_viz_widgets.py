"""Widget tests of the browser app without a browser (``solara.render``)."""

from __future__ import annotations

import ipyvuetify as v
import pytest
from ipywidgets import Widget

solara = pytest.importorskip("solara")

from viz.app import Page  # noqa: E402

VOUCHER = "regions.hangzhou.policy.voucher_rate"


def with_class(rc, cls, widget_class=Widget):
    """Widgets of a type whose class list contains ``cls``."""
    roots = rc.find().widgets
    return [
        w
        for root in roots
        for w in _walk(root)
        if isinstance(w, widget_class) and cls in (getattr(w, "class_", None) or "").split()
    ]


def one(rc, cls, widget_class=Widget):
    found = with_class(rc, cls, widget_class)
    assert len(found) == 1, f"{cls}: {len(found)} widgets"
    return found[0]


def text_of(rc, cls) -> str:
    return "".join(str(c) for c in one(rc, cls).children)


def card(rc, css: str) -> dict:
    """The headline card ``css`` (month, alive, ...): its label, text and difference from the
    baseline, as the one cards widget holds them."""
    rows = [w for root in rc.find().widgets for w in _walk(root) if hasattr(w, "cards")]
    assert len(rows) == 1, f"{len(rows)} card rows"
    found = [c for c in rows[0].cards if c["css"] == css]
    assert len(found) == 1, css
    return found[0]


def lever_field(rc, field, region="hangzhou"):
    if not with_class(rc, f"aieco-lever-regions-{region}-policy-{field}"):
        group = one(rc, f"aieco-group-{region}")
        next(w for w in _walk(group) if isinstance(w, v.Btn)).click()  # open the group
    box = one(rc, f"aieco-lever-regions-{region}-policy-{field}")
    fields = [w for w in _walk(box) if isinstance(w, v.TextField)]
    assert len(fields) == 1
    return fields[0]


def _walk(widget, seen=None):
    """Every widget reachable from ``widget`` (children, slots and other widget traits)."""
    seen = set() if seen is None else seen
    if id(widget) in seen:
        return
    seen.add(id(widget))
    yield widget
    for name in widget.keys:
        value = getattr(widget, name, None)
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, dict):
                item = item.get("children")
            for sub in item if isinstance(item, list | tuple) else [item]:
                if isinstance(sub, Widget):
                    yield from _walk(sub, seen)


@pytest.fixture
def app():
    box, rc = solara.render(Page(), handle_error=False)
    yield rc
    rc.close()


def test_page_renders_controls_and_month_zero(app):
    assert card(app, "month")["text"].startswith("0 /")
    for cls in ("aieco-step", "aieco-play", "aieco-run-n", "aieco-reset", "aieco-restart"):
        assert with_class(app, cls, v.Btn), cls
    labels = {w.label for w in app.find(v.Select).widgets}
    assert "Preset (city)" in labels and "Speed" in labels
    # every numeric lever shows its range in its field's label and a one-line explanation
    field = lever_field(app, "voucher_rate")
    assert "%" in field.label
    assert float(field.v_model) == pytest.approx(25, abs=100)  # a number, in percent


def test_step_advances_one_month(app):
    one(app, "aieco-step", v.Btn).click()
    assert card(app, "month")["text"].startswith("1 /")
    one(app, "aieco-step", v.Btn).click()
    assert card(app, "month")["text"].startswith("2 /")


def test_bad_lever_value_gives_message_not_crash(app):
    field = lever_field(app, "voucher_rate")
    before = field.v_model
    field.v_model = "abc"
    field.fire_event("focusout", None)
    field = lever_field(app, "voucher_rate")
    assert field.error and "not a number" in " ".join(field.messages or [])
    field.v_model = "250"
    field.fire_event("focusout", None)
    field = lever_field(app, "voucher_rate")
    assert "at most 100" in " ".join(field.messages or [])
    # the page still works and the lever kept its value
    one(app, "aieco-step", v.Btn).click()
    assert card(app, "month")["text"].startswith("1 /")
    assert lever_field(app, "voucher_rate").v_model in (before, "250")


def test_change_lever_then_reset(app):
    field = lever_field(app, "voucher_rate")
    field.v_model = "40"
    field.fire_event("focusout", None)
    assert "1 lever(s) changed" in text_of(app, "aieco-status")
    assert not one(app, "aieco-reset", v.Btn).disabled
    one(app, "aieco-reset", v.Btn).click()
    assert "changed" not in text_of(app, "aieco-status")
    assert one(app, "aieco-reset", v.Btn).disabled


def test_bad_seed_and_months_give_messages(app):
    seed = next(w for w in app.find(v.TextField).widgets if w.label == "Seed")
    seed.v_model = "-3"
    seed.fire_event("focusout", None)
    seed = next(w for w in app.find(v.TextField).widgets if w.label == "Seed")
    assert seed.error and "seed" in " ".join(seed.messages)
    months = next(w for w in app.find(v.TextField).widgets if w.label == "Months")
    months.v_model = "lots"
    one(app, "aieco-run-n", v.Btn).click()
    months = next(w for w in app.find(v.TextField).widgets if w.label == "Months")
    assert months.error


def test_counterfactual_switch_shows_differences(app):
    switch = one(app, "aieco-counterfactual", v.Switch)
    switch.v_model = True
    field = lever_field(app, "voucher_rate")
    field.v_model = "0"
    field.fire_event("focusout", None)
    for _ in range(3):
        one(app, "aieco-step", v.Btn).click()
    assert "vs baseline" in card(app, "alive")["delta"]


def test_two_pages_have_separate_models():
    _, rc1 = solara.render(Page(), handle_error=False)
    _, rc2 = solara.render(Page(), handle_error=False)
    try:
        one(rc1, "aieco-step", v.Btn).click()
        one(rc1, "aieco-step", v.Btn).click()
        assert card(rc1, "month")["text"].startswith("2 /")
        assert card(rc2, "month")["text"].startswith("0 /")
    finally:
        rc1.close()
        rc2.close()


def test_a_step_sends_the_charts_only_the_new_month(app):
    """The figures go to the browser as plain JSON once; a Step changes only each chart's tail,
    which carries one new point per line."""
    import traitlets

    from viz.livechart import LiveChartWidget

    tabs = app.find(v.Tabs).widget
    tabs.v_model = 1  # Charts
    step = one(app, "aieco-step", v.Btn)
    for _ in range(2):
        step.click()
    charts = [
        w for root in app.find().widgets for w in _walk(root) if isinstance(w, LiveChartWidget)
    ]
    assert len(charts) == 5
    for w in charts:
        state = w.get_state()
        assert isinstance(state["option"], dict) and state["option"]["series"]
        assert isinstance(state["tail"], dict)
    changed = []
    for w in charts:
        w.observe(lambda change, w=w: changed.append((w.css_class, change["name"])), traitlets.All)
    step.click()
    assert {name for _, name in changed} == {"tail"}
    assert len(changed) == 5
    for w in charts:
        tail = w.get_state()["tail"]
        assert tail["series"], w.css_class
        for s in tail["series"]:
            assert s["from"] == 2 and len(s["data"]) == 1, (w.css_class, s["id"])
