"""Server-side cost of one Step in the browser app (model step + tables + 5 charts + page render).

    .venv/bin/python benchmarks/viz_step.py [--months 60] [--counterfactual]

Prints CPU and wall time per click, measured with ``solara.render`` (no browser); the browser
test ``tests/e2e/test_viz_browser.py::test_load_offline_and_step_latency`` measures click to
updated page in Chromium.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from viz import server

# the renderer the server runs with (viz.server.environment), set before reacton renders
os.environ.setdefault("REACTON_FAST", server.environment()["REACTON_FAST"])

import ipyvuetify as v  # noqa: E402
import solara  # noqa: E402

from viz.app import Page  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--months", type=int, default=60, help="months to run before measuring")
    ap.add_argument("--clicks", type=int, default=10)
    ap.add_argument("--counterfactual", action="store_true")
    args = ap.parse_args()
    _, rc = solara.render(Page(), handle_error=False)
    step = next(w for w in rc.find(v.Btn).widgets if "aieco-step" in (w.class_ or ""))
    if args.counterfactual:
        next(
            w for w in rc.find(v.Switch).widgets if "aieco-counterfactual" in (w.class_ or "")
        ).v_model = True
    for _ in range(args.months):
        step.click()
    cpu, wall = [], []
    for _ in range(args.clicks):
        c, w = time.process_time(), time.perf_counter()
        step.click()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    mode = "counterfactual" if args.counterfactual else "single run"
    mode += f", REACTON_FAST={os.environ['REACTON_FAST']}"
    print(
        f"{mode}, after {args.months} months: step click median CPU "
        f"{statistics.median(cpu):.3f} s, "
        f"wall {statistics.median(wall):.3f} s (max {max(wall):.3f} s)"
    )
    rc.close()


if __name__ == "__main__":
    main()
