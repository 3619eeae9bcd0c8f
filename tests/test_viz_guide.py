"""Every "thing to try" in the app's Guide does what it promises (one test per tip).

The tips are in ``viz/things_to_try.md``; a tip without a test here fails
``test_every_tip_has_a_test``. The runs use the ``hangzhou`` preset the app opens with.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from viz import graphs
from viz.components import guide_text
from viz.session import Session

TIPS = Path(__file__).resolve().parents[1] / "viz" / "things_to_try.md"
P = "regions.hangzhou.policy."
SEEDS = (1, 2)


def tip_titles() -> list[str]:
    return re.findall(r"^\d+\. \*\*(.+?)\*\*", TIPS.read_text(encoding="utf-8"), re.MULTILINE)


def test_every_tip_has_a_test():
    tested = {int(name.split("_")[2]) for name in globals() if re.match(r"test_tip_\d+_", name)}
    assert tested == set(range(1, len(tip_titles()) + 1))


def test_guide_has_the_models_library_sections_in_plain_words():
    text = guide_text()
    for heading in (
        "What is it?",
        "How it works",
        "How to use it",
        "Things to notice",
        "Things to try",
        "Extending the model",
    ):
        assert f"## {heading}" in text
    assert "[S" not in text and "AIEcosystem" not in text and "{things_to_try}" not in text
    assert "tests/test_viz_guide.py" not in text  # a note for developers, not for the class


def city_vouchers(s: Session) -> float:
    k = s.frames().kpis
    return float(k.loc[k["region"] == "hangzhou", "voucher_spent_yuan"].sum())


def hub_vouchers(s: Session) -> float:
    k = s.frames().kpis
    return float(k.loc[k["region"] != "hangzhou", "voucher_spent_yuan"].sum())


@pytest.mark.parametrize("seed", SEEDS)
def test_tip_1_the_ecosystem_grows_and_big_firm_alumni_lead(seed):
    s = Session("hangzhou", seed=seed)
    s.step(36)
    alive = s.frames().totals["startups_alive"].to_numpy()
    yearly = alive[[0, 11, 23, 35]]
    gains = np.diff(yearly)
    # rises over the years (in at least two of three; since partner bundles, 6 Dec 2026, seed 1
    # dips by 4 in year 3), the first year more slowly than the second
    assert (gains > 0).sum() >= 2 and alive[35] > 1.05 * alive[0], yearly
    assert gains[0] < gains[1], yearly
    o = s.frames().origin_alive.iloc[-1]
    assert o.idxmax() == "big_firm"
    assert o["other"] > o["university"] and o["other"] > o["startup"]


def test_tip_2_city_vouchers_off_pays_nothing_hubs_still_pay():
    s = Session("hangzhou", seed=1)
    s.set_counterfactual(True)
    s.set_programme("hangzhou:compute_vouchers", False)
    s.step(24)
    assert city_vouchers(s) == 0
    assert hub_vouchers(s) > 0
    k = s.frames("baseline").kpis
    assert k.loc[k["region"] == "hangzhou", "voucher_spent_yuan"].sum() > 0


@pytest.mark.parametrize("seed", SEEDS)
def test_tip_3_budget_nearly_runs_out_and_doubling_pays_little_more(seed):
    s = Session("hangzhou", seed=seed)
    s.step(60)
    k = s.frames().kpis
    left = k.loc[k["region"] == "hangzhou", "voucher_budget_left_yuan"].to_numpy()
    budget = s.base_value(P + "voucher_budget_yuan")
    # within a few percent of zero in some year (seeds 2-8 touch it, seed 1 leaves 6%) ...
    assert left.min() < 0.08 * budget
    assert max(left[12 * y : 12 * y + 12].min() for y in range(5)) > 0.08 * budget  # ... not all
    d = Session("hangzhou", seed=seed)
    d.set_lever(P + "voucher_budget_yuan", 2 * budget)
    d.step(60)
    assert city_vouchers(s) > 0
    assert city_vouchers(s) <= city_vouchers(d) <= 1.1 * city_vouchers(s)


@pytest.mark.parametrize("seed", SEEDS)
def test_tip_4_east_sells_a_larger_share_than_the_west(seed):
    s = Session("hangzhou", seed=seed)
    s.step(36)
    d = s.frames().dcs
    east, west = d[~d["hub"].astype(bool)], d[d["hub"].astype(bool)]
    assert (
        east["sold_gpu_h"].sum() / east["capacity_gpu_h"].sum()
        > west["sold_gpu_h"].sum() / west["capacity_gpu_h"].sum()
    )
    from viz import chinamap

    assert any(f["kind"] == "compute" for f in chinamap.map_data(s)["flows"])


def test_tip_5_baseline_identical_and_another_seed_differs():
    s = Session("hangzhou", seed=1)
    s.set_counterfactual(True)
    s.step(24)
    assert s.frames("baseline").kpis.equals(s.frames().kpis)
    alive1 = s.frames().totals["startups_alive"].to_numpy()
    s.set_seed(2)
    alive2 = s.frames().totals["startups_alive"].to_numpy()
    assert s.month == 24 and not np.array_equal(alive1, alive2)


def test_tip_6_first_big_firm_has_two_generations_of_startups():
    s = Session("hangzhou", seed=1)
    s.step(36)
    node, _label = s.organisations()[0]  # the first entry of the Genealogy menu: a big firm
    assert node.startswith("big_firm:")
    g = graphs.genealogy(s.frames().firms, node)
    assert g.generations.get(1, 0) > 0 and g.generations.get(2, 0) > 0


def test_tip_7_link_and_command_line_reproduce_the_view():
    from ecosystem import AIEcosystem
    from ecosystem.scenario import load_scenario

    s = Session("hangzhou", seed=3)
    s.set_lever(P + "voucher_rate", 0.4)
    s.step(4)
    t = Session("hangzhou", seed=0)
    t.apply_query(s.query_string())
    assert t.frames().kpis.equals(s.frames().kpis)
    sets = [a for a in s.command_line().split() if "=" in a and not a.startswith("--")]
    m = AIEcosystem(load_scenario("hangzhou", sets), rng=3)
    for _ in range(4):
        m.step()
    assert m.kpis().equals(s.frames().kpis)


def test_the_map_draws_only_the_largest_routes():
    from viz import chinamap

    flows = [
        {"kind": "compute", "src": "a", "dst": f"h{i}", "value": v}
        for i, v in enumerate([50.0, 30.0, 10.0, 5.0, 3.0, 1.0, 0.5, 0.3, 0.1, 0.05])
    ]
    kept = chinamap.largest_flows(flows)
    assert [f["value"] for f in kept] == [50.0, 30.0]  # 80 of 100: FLOW_SHARE reached
    many = [{"kind": "talent", "src": "a", "dst": f"c{i}", "value": 1.0} for i in range(40)]
    assert len(chinamap.largest_flows(many)) == chinamap.MAX_LINES
    assert chinamap.largest_flows([]) == []
