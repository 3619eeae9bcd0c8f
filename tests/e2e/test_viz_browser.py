"""End-to-end tests of the browser app in headless Chromium (``pytest -m browser``).

Each test opens its own page (its own Solara session) against one server process. Screenshots go
to ``test-artifacts/e2e/`` at 1440×900 (laptop), 1024×768 (projector) and 390×844 (phone).
Speed figures are printed; they are asserted only when asked (``AIECO_VIZ_MAX_STEP_S``,
``AIECO_VIZ_MIN_PLAY``; ``benchmarks/viz_browser.py`` sets them): tests assert behaviour.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import psutil
import pytest

from experiments.calibrate import load_spec

pytestmark = pytest.mark.browser

VOUCHER = ".aieco-lever-regions-hangzhou-policy-voucher_rate"
KEYS = ("alive", "births", "employment", "utilisation", "voucher")
MAX_STEP_S = float(os.environ.get("AIECO_VIZ_MAX_STEP_S", "inf"))
MIN_PLAY = float(os.environ.get("AIECO_VIZ_MIN_PLAY", "0"))
#: Seconds a Pause click may wait for a loaded server (test_play_rate_pause_and_run_n).
PAUSE_LATENCY_S = 4.0
SIZES = {"laptop": (1440, 900), "projector": (1024, 768), "phone": (390, 844)}


def open_app(page, url, tab: str = "Charts"):
    page.goto(url)
    page.locator(".aieco-value-month").wait_for(timeout=60_000)
    page.wait_for_function(
        "document.querySelector('.aieco-chart-map')?.aiecoChart", timeout=60_000
    )  # the map is the first view
    if tab != "Map":
        page.get_by_role("tab", name=tab).click()
    if tab == "Charts":
        page.wait_for_function(
            "document.querySelector('.aieco-chart-alive')?.aiecoChart", timeout=30_000
        )


def month(page) -> int:
    return int(page.locator(".aieco-value-month").inner_text().split("/")[0])


def wait_month(page, m: int, timeout: float = 30_000):
    page.wait_for_function(
        "m => parseInt(document.querySelector('.aieco-value-month').textContent) === m",
        arg=m,
        timeout=timeout,
    )


def settled_month(page, quiet_s: float = 1.5, timeout_s: float = 30.0) -> int:
    """The month card once it has not changed for ``quiet_s`` seconds."""
    seen, since, end = month(page), time.perf_counter(), time.perf_counter() + timeout_s
    while time.perf_counter() - since < quiet_s:
        assert time.perf_counter() < end, f"The month card kept changing for {timeout_s:.0f} s"
        page.wait_for_timeout(200)
        now = month(page)
        if now != seen:
            seen, since = now, time.perf_counter()
    return seen


def wait_charts(page, m: int, timeout: float = 30_000):
    """Every chart shows ``m`` months of points."""
    page.wait_for_function(
        "([m, keys]) => keys.every(k => parseInt(document.querySelector('.aieco-chart-' + k)"
        "?.dataset.points) === m)",
        arg=[m, list(KEYS)],
        timeout=timeout,
    )


def open_levers(page, region: str = "hangzhou"):
    if not page.locator(VOUCHER).count():
        page.locator(f".aieco-group-{region} .aieco-open-levers").click()
        page.locator(VOUCHER).wait_for()


def set_lever(page, selector: str, text: str):
    open_levers(page)
    field = page.locator(f"{selector} input[type=text]")
    field.fill(text)
    field.press("Enter")


def status(page) -> str:
    return page.locator(".aieco-status").inner_text()


def chart_option(page, key: str, expr: str):
    return page.evaluate(
        f"() => {{ const o = document.querySelector('.aieco-chart-{key}').aiecoChart.getOption();"
        f" return {expr}; }}"
    )


def outside_requests(hosts) -> set[str]:
    return {
        u.geturl()
        for u in hosts
        if u.scheme in ("http", "https", "ws", "wss") and u.hostname != "127.0.0.1"
    }


#: Installed in the page before the Step clicks: the time of each click on Step (the click event,
#: as a person's click lands) and of the first frame painted after the month card shows that month
#: and all five charts hold that many points (a MutationObserver sees the change as the page makes
#: it; then one animation frame for the charts to paint and a task for the frame to be shown). The
#: test driver's own view (Playwright's click, which first waits for the button to be visible and
#: still over two frames, then its polling of the page over the DevTools protocol) is printed too:
#: it adds 40-80 ms that a person clicking does not wait for.
STEP_PROBE = """keys => {
  const T = window.aiecoStepTimes = {click: {}, shown: {}};
  const month = () => parseInt(document.querySelector('.aieco-value-month').textContent);
  document.addEventListener('click', (e) => {
    if (e.target.closest('.aieco-step')) T.click[month() + 1] = performance.now();
  }, true);
  const check = () => {
    const m = month();
    if (!(m in T.click) || (m in T.shown) || T.pending === m) return;
    const pts = keys.map(k => parseInt(document.querySelector('.aieco-chart-' + k).dataset.points));
    if (!pts.every(p => p === m)) return;
    T.pending = m;
    requestAnimationFrame(() => setTimeout(() => { T.shown[m] = performance.now(); }));
  };
  new MutationObserver(check).observe(document.body, {
    subtree: true, childList: true, characterData: true, attributes: true});
}"""


def test_offline_step_latency_and_charts_update_in_place(page, viz_url, artifacts):
    hosts = []
    page.on("request", lambda r: hosts.append(urlparse(r.url)))
    t0 = time.perf_counter()
    open_app(page, viz_url)
    print(f"\nfirst render: {time.perf_counter() - t0:.2f} s")
    assert month(page) == 0
    # The figures are built once; a step sends only the new month (the tail), so the chart
    # objects stay the same and their option's base token does not change.
    page.evaluate(
        "window.aiecoBases = ['alive','voucher'].map(k => document.querySelector("
        "'.aieco-chart-' + k).aiecoChart.getOption().aieco_base)"
    )
    page.evaluate(STEP_PROBE, list(KEYS))
    driver = []
    for i in range(12):
        t = time.perf_counter()
        page.locator(".aieco-step").click()
        page.wait_for_function("m => window.aiecoStepTimes.shown[m] !== undefined", arg=i + 1)
        driver.append(time.perf_counter() - t)
        wait_month(page, i + 1, timeout=1000)  # what the probe saw is what the page shows
        wait_charts(page, i + 1, timeout=1000)
    probe = page.evaluate("window.aiecoStepTimes")
    times = [(probe["shown"][str(m)] - probe["click"][str(m)]) / 1000 for m in range(1, 13)]
    warm, warm_driver = times[2:], driver[2:]
    alive = page.locator(".aieco-value-alive").inner_text()
    print(
        f"step click -> updated page (month, cards, 5 charts painted), hangzhou, {alive} "
        f"startups alive: median {1000 * statistics.median(warm):.0f} ms, max "
        f"{1000 * max(warm):.0f} ms, all {[round(1000 * x) for x in times]}; as the test driver "
        f"sees it (Playwright click + polling): median {1000 * statistics.median(warm_driver):.0f}"
        " ms"
    )
    bases = page.evaluate(
        "['alive','voucher'].map(k => document.querySelector('.aieco-chart-' + k)"
        ".aiecoChart.getOption().aieco_base)"
    )
    # From month 2 on (after the first month added the lines) the figure is never rebuilt.
    page.locator(".aieco-step").click()
    wait_charts(page, 13)
    assert bases == page.evaluate(
        "['alive','voucher'].map(k => document.querySelector("
        "'.aieco-chart-' + k).aiecoChart.getOption().aieco_base)"
    )
    page.screenshot(path=str(artifacts / "01-laptop-1440x900-charts.png"))
    for tab in ("Network", "Genealogy", "Guide", "Charts"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(800)
    assert not outside_requests(hosts), sorted(outside_requests(hosts))[:5]
    assert statistics.median(warm) < MAX_STEP_S, f"median step {statistics.median(warm):.3f} s"


def test_hover_zoom_human_legends_and_reset_on_preset_switch(page, viz_url, artifacts):
    open_app(page, viz_url)
    for i in range(3):
        page.locator(".aieco-step").click()
        wait_month(page, i + 1)
    wait_charts(page, 3)
    legend = chart_option(page, "alive", "o.legend[0].data")
    assert "All startups" in legend and not any("_" in name for name in legend)
    dc_legend = chart_option(page, "utilisation", "o.legend[0].data")
    assert any(n.startswith("East") for n in dc_legend)
    assert any(n.startswith("West") for n in dc_legend)
    # hover: values with units and the month
    page.evaluate(
        "document.querySelector('.aieco-chart-alive').aiecoChart.dispatchAction("
        "{type: 'showTip', seriesIndex: 0, dataIndex: 2})"
    )
    tip = page.locator(".aieco-chart-alive div").filter(has_text="All startups").last
    tip.wait_for()
    text = tip.inner_text()
    assert "Mar 2025" in text and "startups" in text, text
    page.screenshot(path=str(artifacts / "02-hover.png"))
    # zoom, then another preset: fresh axes, no zoom, the new city's scale
    page.evaluate(
        "document.querySelector('.aieco-chart-alive').aiecoChart.dispatchAction("
        "{type: 'dataZoom', start: 50, end: 100})"
    )
    assert chart_option(page, "alive", "o.dataZoom[0].start") == 50
    before = chart_option(page, "alive", "o.aieco_base")
    page.locator(".aieco-sidebar .v-select").first.click()
    page.get_by_role("option", name="shenzhen").click()
    page.wait_for_function(
        "document.querySelector('.aieco-status').textContent.includes('shenzhen')", timeout=60_000
    )
    wait_month(page, 0)
    page.wait_for_function(
        "b => document.querySelector('.aieco-chart-alive').aiecoChart.getOption().aieco_base !== b",
        arg=before,
    )
    assert chart_option(page, "alive", "o.dataZoom[0].start") == 0
    assert chart_option(page, "alive", "o.series.every(s => s.data.length === 0)")
    page.locator(".aieco-step").click()
    wait_charts(page, 1)  # not empty after one step


def test_play_rate_pause_and_run_n(page, viz_url, artifacts):
    open_app(page, viz_url)
    page.locator(".aieco-play").click()  # default speed: 10 months/s
    page.wait_for_function(
        "parseInt(document.querySelector('.aieco-value-month').textContent) >= 3", timeout=30_000
    )
    m0, t0 = month(page), time.perf_counter()
    page.wait_for_timeout(3000)
    m1, t1 = month(page), time.perf_counter()
    rate = (m1 - m0) / (t1 - t0)
    page.locator(".aieco-play").click()  # now labelled Pause
    page.wait_for_function(
        "!document.querySelector('.aieco-status').textContent.includes('playing')"
    )
    print(f"\nPlay at '10 months/s', hangzhou, months {m0}-{m1}: {rate:.1f} months/s")
    assert m1 > m0
    assert rate >= MIN_PLAY, f"Play reached {rate:.1f} months/s"
    # The status, the cards and the charts are separate widgets, each sent in its own message, and
    # a loaded machine runs up to 12 months between two redraws: the month card may still be on
    # an older month when the status has dropped "playing" (CI saw 31, then 33). So wait for the
    # card to settle, then check that it and the charts stay where Pause stopped the model.
    # How far the model ran past the last reading is a latency, not the property: on a loaded
    # machine the click waited ~2 s for the server (CI, 4 Dec: 21 months at ~10 a second), so
    # the bound is 12 months of redraw batching plus PAUSE_LATENCY_S of play at the measured
    # rate; a Pause ignored until the end of a long run still fails it, and the check after it
    # (the model does not run on) is the property itself.
    stopped = settled_month(page)
    lag = 12 + math.ceil(rate * PAUSE_LATENCY_S)
    assert stopped - m1 <= lag, f"Pause took effect {stopped - m1} months after month {m1}"
    wait_charts(page, stopped)  # the charts caught up with the cards
    page.wait_for_timeout(1500)
    assert month(page) == stopped, f"The model ran on after Pause, from month {stopped}"
    page.locator(".aieco-months input").fill("6")
    page.locator(".aieco-run-n").click()
    wait_month(page, stopped + 6)
    page.wait_for_timeout(800)
    assert month(page) == stopped + 6


def test_bad_values_get_a_message_in_one_format(page, viz_url, artifacts):
    open_app(page, viz_url)
    for text, message in (
        ("abc", "not a number"),
        ("150", "at most 100"),
        ("1,5", "point for decimals"),
        ("50%%", "without %"),
        ("١٠", "digits 0-9"),
        ("1e-400", "exponent"),
    ):
        set_lever(page, VOUCHER, text)
        page.locator(f"{VOUCHER} .v-messages__message").filter(has_text=message).wait_for()
    page.screenshot(path=str(artifacts / "03-bad-value.png"))
    assert "changed" not in status(page)
    budget = ".aieco-lever-regions-hangzhou-policy-voucher_budget_yuan"
    set_lever(page, budget, "1" + "0" * 300)
    page.locator(f"{budget} .v-messages__message").filter(has_text="at most").wait_for()
    set_lever(page, VOUCHER, "40")
    page.wait_for_function(
        "document.querySelector('.aieco-status').textContent.includes('1 lever(s) changed')"
    )
    page.locator(".aieco-step").click()
    wait_month(page, 1)
    page.locator(".aieco-reset").click()
    page.wait_for_function(
        "!document.querySelector('.aieco-status').textContent.includes('changed')"
    )
    assert page.locator(f"{VOUCHER} input[type=text]").input_value() == "25"
    assert month(page) == 1  # reset keeps the month and re-runs it with the preset's values


def test_programme_off_pays_nothing(page, viz_url):
    open_app(page, viz_url)
    page.locator(".aieco-programme-hangzhou-compute_vouchers").get_by_text(
        "Compute vouchers: on"
    ).click()
    page.wait_for_function(
        "document.querySelector('.aieco-status').textContent.includes('changed')"
    )
    assert "off" in page.locator(".aieco-programme-hangzhou-compute_vouchers").inner_text()
    page.locator(".aieco-months input").fill("12")
    page.locator(".aieco-run-n").click()
    wait_month(page, 12, timeout=60_000)
    assert page.locator(".aieco-value-voucher").inner_text() == "¥0m"


# Sets window.aiecoBusySeen when the busy bar enters the page, however briefly it stays: as a
# new element or as an element whose class becomes aieco-busy (Vue may patch the idle one).
BUSY_WATCH = """() => {
  window.aiecoBusySeen = false;
  const has = (n) =>
    n.nodeType === 1 && (n.matches('.aieco-busy') || !!n.querySelector('.aieco-busy'));
  new MutationObserver((records) => {
    if (records.some((r) => has(r.target) || [...r.addedNodes].some(has))) {
      window.aiecoBusySeen = true;
    }
  }).observe(document.body, {
    childList: true, subtree: true, attributes: true, attributeFilter: ['class'],
  });
}"""
BUSY_SHOWN_OR_GONE = """(() => {
  const b = document.querySelector('.aieco-busy');
  return !b || getComputedStyle(b).visibility === 'visible';
})()"""


def test_baseline_with_busy_state_and_responsive_page(page, viz_url, artifacts):
    open_app(page, viz_url)
    page.locator(".aieco-counterfactual").get_by_text("Compare with baseline").click()
    set_lever(page, VOUCHER, "0")
    page.wait_for_function(
        "document.querySelector('.aieco-status').textContent.includes('changed')"
    )
    # 96 months, so that re-running both models takes well over the 0.3 s after which the busy
    # state shows, however fast the machine (at 24 months an idle machine could finish first)
    page.locator(".aieco-months input").fill("96")
    page.locator(".aieco-run-n").click()
    wait_month(page, 96, timeout=120_000)
    page.locator(".aieco-delta-alive").wait_for()
    assert "vs baseline" in page.locator(".aieco-delta-alive").inner_text()
    wait_charts(page, 96, timeout=60_000)
    assert chart_option(page, "alive", "o.series.some(s => s.name.endsWith('(baseline)'))")
    page.screenshot(path=str(artifacts / "04-baseline.png"))
    # a lever change at month 96 re-runs two models: the page says so and stays usable.
    # The bar is recorded when the server inserts it, not polled for: on a loaded machine the
    # browser can take the bar's insertion and removal in one batch (so it never paints), and
    # a 10-second poll for a visible bar failed twice in CI-like runs (6 December 2026).
    page.evaluate(BUSY_WATCH)
    set_lever(page, VOUCHER, "50")
    page.wait_for_function("window.aiecoBusySeen === true", timeout=60_000)
    # while it is there it shows (after its 0.3 s delay); it may be gone already
    page.wait_for_function(BUSY_SHOWN_OR_GONE, timeout=10_000)
    page.screenshot(path=str(artifacts / "05-busy.png"))
    page.get_by_role("tab", name="Guide").click()  # the page answers while the job runs
    page.locator(".aieco-info").wait_for()
    page.locator(".aieco-busy").wait_for(state="detached", timeout=120_000)
    assert "re-ran months 0–96" in page.locator(".aieco-message").inner_text()


def test_exports_carry_stamp(page, viz_url, artifacts):
    open_app(page, viz_url)
    for i in range(3):
        page.locator(".aieco-step").click()
        wait_month(page, i + 1)
    with page.expect_download() as dl:
        page.get_by_role("button", name="KPIs (CSV)").click()
    path = artifacts / dl.value.suggested_filename
    dl.value.save_as(path)
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    assert {"run", "seed", "month", "scenario", "aieco_version", "startups_alive"} <= set(header)
    assert len(lines) > 3
    wait_charts(page, 3)
    with page.expect_download() as dl:
        page.locator(".aieco-chart-cell").first.locator(".aieco-png").click()
    assert dl.value.suggested_filename == "aieco-alive-hangzhou-seed0-month3.png"
    png = artifacts / dl.value.suggested_filename
    dl.value.save_as(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "aieco run hangzhou --seed 0" in page.locator(".aieco-command").inner_text()


def test_link_restores_the_view(page, viz_url, browser, artifacts):
    open_app(page, viz_url)
    set_lever(page, VOUCHER, "40")
    page.wait_for_function(
        "document.querySelector('.aieco-status').textContent.includes('changed')"
    )
    for i in range(3):
        page.locator(".aieco-step").click()
        wait_month(page, i + 1)
    page.wait_for_function("location.search.includes('month=3')")
    q = parse_qs(urlparse(page.url).query)
    assert q["preset"] == ["hangzhou"] and q["seed"] == ["0"]
    assert q["set.regions.hangzhou.policy.voucher_rate"] == ["0.4"]
    alive = page.locator(".aieco-value-alive").inner_text()
    other = browser.new_page(viewport={"width": 1440, "height": 900})
    try:
        open_app(other, page.url)
        wait_month(other, 3, timeout=60_000)
        assert other.locator(".aieco-value-alive").inner_text() == alive
        open_levers(other)
        assert other.locator(f"{VOUCHER} input[type=text]").input_value() == "40"
        assert "1 lever(s) changed" in status(other)
    finally:
        other.close()


def test_save_and_reload_scenario(page, viz_url, artifacts, browser):
    from ecosystem.scenario import load_scenario

    open_app(page, viz_url)
    set_lever(page, VOUCHER, "70")
    page.wait_for_function(
        "document.querySelector('.aieco-status').textContent.includes('changed')"
    )
    page.get_by_text("Scenario file").click()
    with page.expect_download() as dl:
        page.get_by_role("button", name="Save levers (TOML)").click()
    saved = artifacts / "saved-levers.toml"
    dl.value.save_as(saved)
    text = saved.read_text()
    assert 'base = "hangzhou"' in text and "voucher_rate = 0.7\n" in text
    assert load_scenario(str(saved)).regions["hangzhou"].policy.voucher_rate == pytest.approx(0.7)
    other = browser.new_page(viewport={"width": 1440, "height": 900})
    try:
        open_app(other, viz_url)
        assert "changed" not in status(other)
        other.get_by_text("Scenario file").click()
        other.locator("input.aieco-scenario-file").set_input_files(str(saved))
        other.wait_for_function(
            "document.querySelector('.aieco-status').textContent.includes('1 lever(s) changed')"
        )
        open_levers(other)
        assert other.locator(f"{VOUCHER} input[type=text]").input_value() == "70"
        bad = artifacts / "broken.toml"
        bad.write_text('base = "hangzhou"\n[regions.hangzhou.policy]\nvoucher_rate = 7\n')
        other.locator("input.aieco-scenario-file").set_input_files(str(bad))
        other.locator(".aieco-error").wait_for()
        assert "voucher_rate" in other.locator(".aieco-error").inner_text()
        sneaky = artifacts / "sneaky.toml"
        sneaky.write_text('include = ["/etc/hostname.toml"]\n')
        other.locator("input.aieco-scenario-file").set_input_files(str(sneaky))
        other.locator(".aieco-error").filter(has_text="unknown fragment").wait_for()
        assert other.locator(f"{VOUCHER} input[type=text]").input_value() == "70"
    finally:
        other.close()


def test_two_sessions_are_independent(browser, viz_url, artifacts):
    a = browser.new_context(viewport={"width": 1440, "height": 900})
    b = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        pa, pb = a.new_page(), b.new_page()
        open_app(pa, viz_url)
        open_app(pb, viz_url)
        set_lever(pb, VOUCHER, "10")
        pb.wait_for_function(
            "document.querySelector('.aieco-status').textContent.includes('changed')"
        )
        for i in range(2):
            pa.locator(".aieco-step").click()
            wait_month(pa, i + 1)
        pb.wait_for_timeout(500)
        assert month(pb) == 0
        assert "changed" not in status(pa)
        open_levers(pa)
        assert pa.locator(f"{VOUCHER} input[type=text]").input_value() == "25"
    finally:
        a.close()
        b.close()


def test_layout_projector_and_phone(browser, viz_url, artifacts):
    ctx = browser.new_context(viewport={"width": 1024, "height": 768})
    try:
        page = ctx.new_page()
        open_app(page, viz_url)
        for i in range(12):
            page.locator(".aieco-step").click()
            wait_month(page, i + 1)
        wait_charts(page, 12)
        box = page.locator(".aieco-chart-alive").bounding_box()
        assert box["width"] >= 600, box  # one column that fills the width
        page.screenshot(path=str(artifacts / "10-projector-1024x768.png"))
    finally:
        ctx.close()
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        page = ctx.new_page()
        page.goto(viz_url)
        page.locator(".aieco-value-month").wait_for(timeout=60_000)
        side = page.locator(".aieco-sidebar")
        assert side.bounding_box()["x"] + side.bounding_box()["width"] <= 1  # in the drawer
        page.screenshot(path=str(artifacts / "11-phone-390x844.png"))
        page.locator(".aieco-drawer-toggle").click()
        page.wait_for_function(
            "document.querySelector('.aieco-sidebar').getBoundingClientRect().left >= 0"
        )
        page.wait_for_timeout(300)
        page.screenshot(path=str(artifacts / "12-phone-drawer-open.png"))
        page.locator(".aieco-step").click()
        wait_month(page, 1)
    finally:
        ctx.close()


#: Closed sessions measured by :func:`test_memory_returns_after_10_sessions`.
SESSIONS = 10


def test_memory_returns_after_10_sessions(browser, fresh_server):
    """Issue 12: a session's memory is freed when it ends, on a server of its own (on the shared
    one the figure depends on what earlier tests left). Tabs closed as a browser closes them free
    their session at once; tabs whose connection is lost free it when the server culls them
    (20 s here, 120 s in use). Each session runs 6 months (~20 MB of models).

    Ten closed sessions, not twenty (until 6 December 2026): a session that was not freed
    would add its ~20 MB each time, a slope eight times the 2.5 MB bound, which ten sessions
    show as well as twenty; the other ten cost a minute of CI. Measured with twenty (6 December
    2026): 244 MB after the warm-up, 267 MB after 20 closed tabs (+0.61 MB a session), 324 MB
    holding 3 dropped connections, 274 MB after they were culled. The slope's bound is 5 MB a
    session (a quarter of a session's models), not 2.5: over ten sessions the allocator's
    growth weighs more, and a clean-clone CI run on 7 December 2026 measured +2.91 MB a session
    with every session freed (the total after ten, below 50 MB, is checked apart)."""
    url, pid, cull_s = fresh_server
    proc = psutil.Process(pid)

    def rss() -> float:
        return proc.memory_info().rss / 1e6

    def session_round(close_tab: bool = True):
        ctx = browser.new_context(viewport={"width": 1024, "height": 768})
        page = ctx.new_page()
        open_app(page, url)
        page.locator(".aieco-months input").fill("6")
        page.locator(".aieco-run-n").click()
        wait_month(page, 6, timeout=60_000)
        if close_tab:  # the page's unload handler tells the server, as closing a tab does
            page.close(run_before_unload=True)
            time.sleep(0.3)
        ctx.close()  # without the unload handler: the connection just drops

    for _ in range(3):  # warm-up: imports, caches and allocator pools of the first sessions stay
        session_round()
    time.sleep(2)
    start = rss()
    after = []
    for _ in range(SESSIONS):
        session_round()
        after.append(rss())
    slope = float(np.polyfit(np.arange(1, SESSIONS + 1), np.array(after), 1)[0])
    closed = after[-1]
    for _ in range(3):
        session_round(close_tab=False)
    held = rss()
    deadline = time.time() + cull_s + 30
    end = rss()
    while time.time() < deadline and end > closed + 10:
        time.sleep(1)
        end = rss()
    print(
        f"\nserver memory: {start:.0f} MB after 3 warm-up sessions; {closed:.0f} MB after "
        f"{SESSIONS} closed tabs ({slope:+.2f} MB a session); {held:.0f} MB holding 3 dropped "
        f"connections; {end:.0f} MB after they were culled"
    )
    # The three dropped sessions were alive (so the server's memory does show sessions) ...
    assert held > closed + 30, f"3 open sessions: {closed:.0f} -> {held:.0f} MB"
    # ... and what closed tabs leave is far below a session's models: > 5 MB a session fails.
    assert closed < start + 50, f"{SESSIONS} closed tabs: {start:.0f} -> {closed:.0f} MB"
    assert slope < 5.0, f"{slope:.2f} MB a session"
    assert end < closed + 20, f"3 dropped sessions culled: {closed:.0f} -> {end:.0f} MB"


def test_network_genealogy_and_guide_views(page, viz_url, artifacts: Path):
    open_app(page, viz_url)
    page.locator(".aieco-months input").fill("36")
    page.locator(".aieco-run-n").click()
    wait_month(page, 36, timeout=120_000)
    page.get_by_role("tab", name="Network").click()
    page.wait_for_function("document.querySelector('.aieco-chart-network')?.aiecoChart")
    net = "o.series[0]"
    assert chart_option(page, "network", f"{net}.edgeSymbol[1]") == "arrow"
    assert chart_option(page, "network", f"{net}.labelLayout.hideOverlap") is True
    assert chart_option(page, "network", f"{net}.links.length") > 0
    # directed: some pair has flows both ways, drawn as two arrows
    assert chart_option(
        page,
        "network",
        f"{net}.links.some(a => {net}.links.some("
        "b => b.source === a.target && b.target === a.source))",
    )
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / "07-network.png"))
    page.get_by_role("tab", name="Genealogy").click()
    page.wait_for_function("document.querySelector('.aieco-chart-genealogy')?.aiecoChart")
    title = chart_option(page, "genealogy", "o.title[0].text")
    assert title.startswith("Startups founded by former staff of")
    assert chart_option(page, "genealogy", "o.xAxis[0].type") == "time"
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / "08-genealogy.png"))
    # explore beyond the first generation: click a first-generation startup with children
    point = page.evaluate(
        """() => { const c = document.querySelector('.aieco-chart-genealogy').aiecoChart;
           const o = c.getOption();
           for (const s of o.series) { if (s.type !== 'scatter') continue;
             for (const d of s.data) { if (Math.round(d.value[1]) === 1) {
               return c.convertToPixel({seriesId: s.id}, d.value); } } }
           return null; }"""
    )
    assert point is not None
    box = page.locator(".aieco-chart-genealogy").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    page.locator(".aieco-genealogy-back").wait_for(timeout=20_000)
    # The back button and the chart's new option arrive in separate updates: wait for the chart.
    page.wait_for_function(
        "document.querySelector('.aieco-chart-genealogy').aiecoChart.getOption()"
        ".title[0].text.includes('startup')",
        timeout=20_000,
    )
    page.get_by_role("tab", name="Guide").click()
    page.locator(".aieco-info").get_by_text("Things to try").first.wait_for()
    page.screenshot(path=str(artifacts / "09-guide.png"), full_page=True)


def test_map_of_china_is_the_first_view(page, viz_url, artifacts):
    hosts = []
    page.on("request", lambda r: hosts.append(urlparse(r.url)))
    open_app(page, viz_url, tab="Map")
    page.locator(".aieco-months input").fill("13")
    page.locator(".aieco-run-n").click()
    wait_month(page, 13, timeout=60_000)
    page.wait_for_function(
        "document.querySelector('.aieco-chart-map').aiecoChart.getOption()"
        ".series.find(s => s.id === 'flow:compute').data.length > 0"
    )
    names = chart_option(page, "map", "o.series.find(s => s.id === 'cities').data.map(d => d.name)")
    assert "Hangzhou" in names
    assert chart_option(page, "map", "o.series.find(s => s.id === 'hubs').data.length") >= 1
    assert chart_option(page, "map", "o.geo[0].map") == "china"
    page.wait_for_timeout(600)
    page.screenshot(path=str(artifacts / "13-map-hangzhou.png"))
    # the national preset: ten cities, four hubs, talent moving between cities
    page.locator(".aieco-sidebar .v-select").first.click()
    page.get_by_role("option", name="china").click()
    page.wait_for_function(
        "document.querySelector('.aieco-status').textContent.includes('china')", timeout=120_000
    )
    page.locator(".aieco-months input").fill("13")
    page.locator(".aieco-run-n").click()
    wait_month(page, 13, timeout=180_000)
    page.wait_for_function(
        "document.querySelector('.aieco-chart-map').aiecoChart.getOption()"
        ".series.find(s => s.id === 'cities').data.length >= 10",
        timeout=30_000,
    )
    page.wait_for_timeout(600)
    page.screenshot(path=str(artifacts / "14-map-china.png"))
    assert not outside_requests(hosts), sorted(outside_requests(hosts))[:5]


def _pool_workers(pid: int) -> list[psutil.Process]:
    """The server's worker processes of the uncertainty panel (multiprocessing spawn children)."""
    out = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                out.append(child)
        except psutil.Error:
            continue
    return out


def _chart_value(page, key: str, expr: str, timeout: float = 30_000):
    """``chart_option`` once the chart exists (it may be re-created while the panel renders the
    texts above it): polls until ``expr`` evaluates."""
    handle = page.wait_for_function(
        f"() => {{ try {{ const o = document.querySelector('.aieco-chart-{key}')"
        f".aiecoChart.getOption(); const v = {expr}; return v === undefined ? null : {{v}}; }}"
        " catch (e) { return null; } }",
        timeout=timeout,
    )
    return handle.json_value()["v"]


def _open_uncertainty(page, viz_url, months: int = 6):
    """Hangzhou at month ``months`` (the panel runs to the current month once it is >= 6), on
    the Uncertainty tab with 4 seeds and parameter uncertainty ticked."""
    open_app(page, viz_url)
    page.locator(".aieco-months input").fill(str(months))
    page.locator(".aieco-run-n").click()
    wait_month(page, months, timeout=60_000)
    page.get_by_role("tab", name="Uncertainty").click()
    page.locator(".aieco-run-seeds").wait_for(timeout=30_000)
    page.locator(".aieco-uncertainty .v-select").first.click()
    page.get_by_role("option", name="4", exact=True).click()
    page.locator(".aieco-with-params").get_by_text("Include parameter uncertainty").click()
    page.locator(".aieco-draw-source").wait_for(timeout=30_000)


def test_uncertainty_bands_with_posterior_draws_and_cancel(page, viz_url, server_pid, artifacts):
    """The uncertainty panel on hangzhou with parameter uncertainty: the draws come from the
    calibrated posterior the preset names, the page says so (with the file's revision and where
    its predictive check is), and bands appear for both arms, seeds only and with parameters;
    Cancel stops a batch and its worker processes mid-run."""
    _open_uncertainty(page, viz_url)
    source = page.locator(".aieco-draw-source").inner_text()
    assert "calibrated posterior (Hangzhou, revision " in source, source
    assert "docs/calibration.md" in source and "misses" in source
    assert "stays at its value" in source  # what the draws leave out, said as the CLI says it
    # '… and the documented assumptions': the page says they are drawn, and what that means
    ticks = page.locator(".aieco-with-assumptions")
    ticks.get_by_text("and the documented assumptions").click()
    page.wait_for_function(
        "document.querySelector('.aieco-draw-source')?.innerText.includes('drawn too')",
        timeout=30_000,
    )
    assert (
        "independently over its documented range" in page.locator(".aieco-draw-source").inner_text()
    )
    ticks.get_by_text("and the documented assumptions").click()  # back to the posterior only
    page.wait_for_function(
        "!document.querySelector('.aieco-draw-source')?.innerText.includes('drawn too')",
        timeout=30_000,
    )
    run = page.locator(".aieco-run-seeds")
    assert "run 4 seeds × 4 to month 6" in run.inner_text().lower()
    t0 = time.perf_counter()
    run.click()
    page.wait_for_function(  # the chart with both arms' bands, seeds only and with parameters
        "document.querySelector('.aieco-chart-bands')?.aiecoChart?.getOption()?.series"
        ".filter(s => s.id.endsWith('_band')).length === 4",
        timeout=300_000,
    )
    print(f"\nuncertainty panel: 4 seeds x 4 runs of 6 months: {time.perf_counter() - t0:.1f} s")
    verdict = page.locator(".aieco-param-verdict").inner_text()
    assert "drawn from the calibrated posterior (Hangzhou, revision " in verdict, verdict
    subtext = _chart_value(page, "bands", "o.title[0].subtext")
    n_core = len(load_spec("hangzhou").priors)  # stage A's behavioural core
    assert subtext.startswith(f"{n_core} parameters drawn from the calibrated posterior")
    lengths = _chart_value(
        page,
        "bands",
        "Object.fromEntries(o.series.filter(s => s.id.endsWith('_band'))"
        ".map(s => [s.id, s.data.length]))",
    )
    assert lengths == {
        "current_band": 6,
        "baseline_band": 6,
        "current_params_band": 6,
        "baseline_params_band": 6,
    }, lengths
    page.wait_for_timeout(600)
    page.screenshot(path=str(artifacts / "15-uncertainty-posterior.png"), full_page=True)
    # Cancel mid-run: 16 seeds × 4 runs cannot finish before the click
    page.locator(".aieco-uncertainty .v-select").first.click()
    page.get_by_role("option", name="16", exact=True).click()
    run.click()
    page.locator(".aieco-seed-progress").wait_for(timeout=30_000)  # the batch has started
    deadline = time.time() + 60
    while not _pool_workers(server_pid) and time.time() < deadline:
        time.sleep(0.2)
    assert _pool_workers(server_pid), "no worker process started"
    page.locator(".aieco-cancel-seeds").click()
    page.locator(".aieco-seed-message").get_by_text("Cancelled.").wait_for(timeout=30_000)
    page.locator(".aieco-seed-progress").wait_for(state="detached", timeout=30_000)
    deadline = time.time() + 20
    while _pool_workers(server_pid) and time.time() < deadline:
        time.sleep(0.2)
    assert not _pool_workers(server_pid), "Cancel left worker processes running"
    page.wait_for_function(
        "!document.querySelector('.aieco-run-seeds').disabled", timeout=30_000
    )  # the panel is ready for another batch
