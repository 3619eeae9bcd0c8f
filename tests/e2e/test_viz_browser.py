"""End-to-end tests of the browser app in headless Chromium (``pytest -m browser``).

Each test opens its own page (its own Solara session) against one server process.
Screenshots go to ``test-artifacts/e2e/``.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

VOUCHER = ".aieco-lever-regions-hangzhou-policy-voucher_rate"
# The goal is 0.5 s on an idle machine; the test prints the figure and asserts a bound only when
# asked (tests assert behaviour, not seconds: CI machines are shared).
MAX_STEP_S = float(os.environ.get("AIECO_VIZ_MAX_STEP_S", "inf"))


def open_app(page, url):
    page.goto(url)
    page.locator(".aieco-value-month").wait_for(timeout=60_000)
    page.locator(".aieco-chart-alive img").wait_for(timeout=30_000)


def month(page) -> int:
    return int(page.locator(".aieco-value-month").inner_text().split("/")[0])


def wait_month(page, m: int, timeout: float = 30_000):
    page.wait_for_function(
        "m => parseInt(document.querySelector('.aieco-value-month').textContent) === m", arg=m, timeout=timeout
    )


def set_lever(page, selector: str, text: str):
    field = page.locator(f"{selector} input[type=text]")
    field.fill(text)
    field.press("Enter")


def status(page) -> str:
    return page.locator(".aieco-status").inner_text()


def test_load_offline_and_step_latency(page, viz_url, artifacts):
    hosts = []
    page.on("request", lambda r: hosts.append(urlparse(r.url)))
    t0 = time.perf_counter()
    open_app(page, viz_url)
    print(f"\nfirst render: {time.perf_counter() - t0:.2f} s")
    assert month(page) == 0
    times = []
    for i in range(10):
        old = page.locator(".aieco-chart-alive img").get_attribute("src")
        t = time.perf_counter()
        page.locator(".aieco-step").click()
        page.wait_for_function(
            "([m, old]) => parseInt(document.querySelector('.aieco-value-month').textContent) === m"
            " && document.querySelector('.aieco-chart-alive img').src !== old",
            arg=[i + 1, old],
        )
        times.append(time.perf_counter() - t)
    alive = page.locator(".aieco-value-alive").inner_text()
    warm = times[2:]
    print(f"step click -> updated page (month, cards, 5 charts), {alive} startups alive: "
          f"median {statistics.median(warm):.3f} s, max {max(warm):.3f} s, all {[round(x, 3) for x in times]}")
    page.screenshot(path=str(artifacts / "01-after-10-steps.png"), full_page=True)
    outside = {u.geturl() for u in hosts if u.scheme in ("http", "https", "ws", "wss") and u.hostname != "127.0.0.1"}
    assert not outside, f"requests left 127.0.0.1: {sorted(outside)[:5]}"
    assert statistics.median(warm) < MAX_STEP_S, f"median step {statistics.median(warm):.3f} s (goal 0.5 s)"


def test_play_pause_and_run_n(page, viz_url, artifacts):
    open_app(page, viz_url)
    page.locator(".aieco-play").click()
    page.wait_for_function("parseInt(document.querySelector('.aieco-value-month').textContent) >= 3",
                           timeout=30_000)
    page.locator(".aieco-play").click()  # now labelled Pause
    page.wait_for_function("!document.querySelector('.aieco-status').textContent.includes('playing')")
    stopped = month(page)
    page.wait_for_timeout(1500)
    assert month(page) == stopped
    page.locator(".aieco-months input").fill("6")
    page.locator(".aieco-run-n").click()
    wait_month(page, stopped + 6)
    page.wait_for_timeout(800)
    assert month(page) == stopped + 6
    page.screenshot(path=str(artifacts / "02-play-pause-run.png"), full_page=True)


def test_lever_change_bad_value_and_reset(page, viz_url, artifacts):
    open_app(page, viz_url)
    set_lever(page, VOUCHER, "abc")
    page.locator(f"{VOUCHER} .v-messages__message").filter(has_text="not a number").wait_for()
    set_lever(page, VOUCHER, "150")
    page.locator(f"{VOUCHER} .v-messages__message").filter(has_text="at most 100").wait_for()
    page.screenshot(path=str(artifacts / "03-bad-value.png"))
    assert "changed" not in status(page)
    set_lever(page, VOUCHER, "40")
    page.wait_for_function("document.querySelector('.aieco-status').textContent.includes('1 lever(s) changed')")
    page.locator(".aieco-step").click()
    wait_month(page, 1)
    page.locator(".aieco-reset").click()
    page.wait_for_function("!document.querySelector('.aieco-status').textContent.includes('changed')")
    assert page.locator(f"{VOUCHER} input[type=text]").input_value() == "25"
    assert month(page) == 1  # reset keeps the month and re-runs it with the preset's values


def test_counterfactual_mode(page, viz_url, artifacts):
    open_app(page, viz_url)
    page.locator(".aieco-counterfactual").get_by_text("Compare with baseline").click()
    set_lever(page, VOUCHER, "0")
    page.wait_for_function("document.querySelector('.aieco-status').textContent.includes('changed')")
    page.locator(".aieco-months input").fill("24")
    page.locator(".aieco-run-n").click()
    wait_month(page, 24, timeout=60_000)
    page.locator(".aieco-delta-alive").wait_for()
    assert "vs baseline" in page.locator(".aieco-delta-alive").inner_text()
    page.screenshot(path=str(artifacts / "04-counterfactual.png"), full_page=True)


def test_exports(page, viz_url, artifacts):
    open_app(page, viz_url)
    for _ in range(3):
        page.locator(".aieco-step").click()
    wait_month(page, 3)
    with page.expect_download() as dl:
        page.get_by_role("button", name="KPIs (CSV)").click()
    path = artifacts / dl.value.suggested_filename
    dl.value.save_as(path)
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    assert {"run", "month", "region", "startups_alive", "voucher_budget_left_yuan"} <= set(header)
    assert len(lines) > 3
    with page.expect_download() as dl:
        page.locator(".aieco-chart-alive").get_by_role("button").click()
    png = artifacts / dl.value.suggested_filename
    dl.value.save_as(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_and_reload_scenario(page, viz_url, artifacts, browser):
    from ecosystem.scenario import load_scenario

    open_app(page, viz_url)
    set_lever(page, VOUCHER, "40")
    page.wait_for_function("document.querySelector('.aieco-status').textContent.includes('changed')")
    with page.expect_download() as dl:
        page.get_by_role("button", name="Save levers (TOML)").click()
    saved = artifacts / "saved-levers.toml"
    dl.value.save_as(saved)
    text = saved.read_text()
    assert 'base = "hangzhou"' in text and "voucher_rate = 0.4" in text
    # the file is a scenario `aieco run` accepts
    assert load_scenario(str(saved)).regions["hangzhou"].policy.voucher_rate == pytest.approx(0.4)
    # a fresh session starts from the preset, then loads the file
    other = browser.new_page(viewport={"width": 1500, "height": 1000})
    try:
        open_app(other, viz_url)
        assert "changed" not in status(other)
        other.locator("input.aieco-scenario-file").set_input_files(str(saved))
        other.wait_for_function("document.querySelector('.aieco-status').textContent.includes('1 lever(s) changed')")
        assert other.locator(f"{VOUCHER} input[type=text]").input_value() == "40"
        # a broken file gives a message, not a crash
        bad = artifacts / "broken.toml"
        bad.write_text('base = "hangzhou"\n[regions.hangzhou.policy]\nvoucher_rate = 7\n')
        other.locator("input.aieco-scenario-file").set_input_files(str(bad))
        other.locator(".aieco-error").wait_for()
        assert "voucher_rate" in other.locator(".aieco-error").inner_text()
        other.screenshot(path=str(artifacts / "05-load-error.png"))
        assert other.locator(f"{VOUCHER} input[type=text]").input_value() == "40"
    finally:
        other.close()


def test_two_sessions_are_independent(browser, viz_url, artifacts):
    a = browser.new_context(viewport={"width": 1500, "height": 1000})
    b = browser.new_context(viewport={"width": 1500, "height": 1000})
    try:
        pa, pb = a.new_page(), b.new_page()
        open_app(pa, viz_url)
        open_app(pb, viz_url)
        set_lever(pb, VOUCHER, "10")
        pb.wait_for_function("document.querySelector('.aieco-status').textContent.includes('changed')")
        for _ in range(2):
            pa.locator(".aieco-step").click()
        wait_month(pa, 2)
        pb.wait_for_timeout(500)
        assert month(pb) == 0
        assert "changed" not in status(pa)
        assert pa.locator(f"{VOUCHER} input[type=text]").input_value() == "25"
        pa.screenshot(path=str(artifacts / "06-session-a.png"))
        pb.screenshot(path=str(artifacts / "06-session-b.png"))
    finally:
        a.close()
        b.close()


def test_network_genealogy_and_info_views(page, viz_url, artifacts: Path):
    open_app(page, viz_url)
    page.locator(".aieco-months input").fill("24")
    page.locator(".aieco-run-n").click()
    wait_month(page, 24, timeout=60_000)
    page.get_by_role("tab", name="Network").click()
    page.locator(".aieco-network img").wait_for()
    page.screenshot(path=str(artifacts / "07-network.png"), full_page=True)
    page.get_by_role("tab", name="Genealogy").click()
    page.locator(".aieco-genealogy img").wait_for()
    page.screenshot(path=str(artifacts / "08-genealogy.png"), full_page=True)
    page.get_by_role("tab", name="Info").click()
    page.locator(".aieco-info").get_by_text("Things to try").wait_for()
    page.screenshot(path=str(artifacts / "09-info.png"), full_page=True)
