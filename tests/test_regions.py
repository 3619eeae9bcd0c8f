"""Many regions in one model: migration, a national compute market, national levers.

Invariants are checked every month of a `china` run: people and money are conserved through
migration and cross-region purchases, and no programme overspends.
"""

from __future__ import annotations

import numpy as np
import pytest

from ecosystem import AIEcosystem, load_scenario
from ecosystem.scenario import preset_names
from ecosystem.tables import Employer, PersonStatus

CITIES = [
    "hangzhou",
    "beijing",
    "shanghai",
    "shenzhen",
    "guangzhou",
    "chengdu",
    "ningbo",
    "wenzhou",
    "shandong",
    "henan",
]
HUBS = ["qingyang", "gui_an", "zhongwei", "hohhot"]


def test_every_city_has_a_preset_with_the_four_western_hubs():
    assert set(CITIES) | {"china"} <= set(preset_names())
    for city in CITIES:
        sc = load_scenario(city)
        assert [k for k, r in sc.regions.items() if r.kind == "city"] == [city]
        assert [k for k, r in sc.regions.items() if r.kind == "hub"] == HUBS
    china = load_scenario("china")
    assert set(china.regions) == set(CITIES) | set(HUBS)


def test_city_strategies_are_lever_values():
    beijing = load_scenario("beijing").regions["beijing"].policy
    hangzhou = load_scenario("hangzhou").regions["hangzhou"].policy
    shanghai = load_scenario("shanghai").regions["shanghai"].policy
    assert (
        beijing.dc_investment_yuan_per_year > hangzhou.dc_investment_yuan_per_year
    )  # infrastructure-led
    assert (
        hangzhou.adoption_programme_yuan_per_year > beijing.adoption_programme_yuan_per_year
    )  # application-led (H7)
    assert shanghai.voucher_budget_yuan == 6e8  # [S66]
    assert load_scenario("chengdu").regions["chengdu"].policy.voucher_start_year == 2023  # [S62]


@pytest.fixture(scope="module")
def china_run():
    sc = load_scenario("china", {"national.voucher_rate": 0.2, "national.voucher_budget_yuan": 5e8})
    model = AIEcosystem(sc, rng=5)
    checks = {"months": 0}
    start_by_region = model.people_by_kind[:, : Employer.GONE].sum(axis=1).copy()
    flow = np.zeros(model.n_regions, dtype=np.int64)
    spent: dict[tuple, float] = {}
    for month in range(36):
        model.step()
        c = model.counters_history[-1]
        flow += (c["graduates"] + c["arrivals"] - c["departures"] - c["retirements"]).astype(
            np.int64
        )
        now = model.people_by_kind[:, : Employer.GONE].sum(axis=1)
        # People: per region, start + graduates + arrivals - departures - retirements = now.
        np.testing.assert_array_equal(now, start_by_region + flow)
        # Internal moves cancel out across regions.
        assert c["moved_in"].sum() == c["moved_out"].sum()
        # Money: what data centers earn from startups = startups' own payments + vouchers paid.
        earned = sum(dc.revenue_startups for dc in model.data_centers)
        paid = (
            model.startups.view("compute_spend").sum()
            + c["voucher_spent_yuan"].sum()
            + c["national_voucher_spent_yuan"].sum()
        )
        assert earned == pytest.approx(paid, rel=1e-9)
        # Budgets: never overspent (local, hub and national programmes).
        for key, budget in [
            *((f"{g.region}:{n}", b) for g in model.governments for n, b in g.budgets.items()),
            ("national", model.national_vouchers),
        ]:
            spent[(month // 12, key)] = spent.get((month // 12, key), 0.0) + budget.spent_this_month
            assert budget.remaining >= -1e-6
            assert spent[(month // 12, key)] <= budget.annual + 1e-3
        for dc in model.data_centers:
            assert dc.sold <= dc.capacity * (1 + 1e-9)
        checks["months"] += 1
    return model, checks


def test_invariants_hold_every_month_across_regions(china_run):
    model, checks = china_run
    assert checks["months"] == 36


def test_people_move_between_cities(china_run):
    model, _ = china_run
    k = model.kpis()
    assert k["moved_in"].sum() > 0
    moved = model.flows.table()
    # Job-market-to-job-market flows between different regions exist.
    between = moved[
        (moved["dst_kind"] == Employer.NONE)
        & (moved["src_kind"] == Employer.NONE)
        & (moved["src_id"] != moved["dst_id"])
    ]
    assert between["people"].sum() > 0
    p = model.people
    assert (p.view("status")[p.view("employer_kind") == Employer.GONE] != PersonStatus.ACTIVE).all()


def test_national_vouchers_are_paid_everywhere(china_run):
    model, _ = china_run
    k = model.kpis()
    by_city = k.groupby("region")["national_voucher_spent_yuan"].sum()
    assert (by_city[by_city > 0].index.isin(CITIES)).all()
    assert (by_city > 0).sum() >= 3


def test_movers_prefer_attractive_cities(hangzhou):
    """With a large talent subsidy only in Chengdu, Chengdu receives more movers."""
    base = {"national.internal_migration_share": 0.8}
    plain = AIEcosystem(load_scenario("china", base), rng=1)
    subsidy = AIEcosystem(
        load_scenario(
            "china",
            {
                **base,
                "regions.chengdu.policy.talent_subsidy_yuan_per_person": 500000.0,
                "regions.chengdu.policy.talent_subsidy_budget_yuan": 1e10,
            },
        ),
        rng=1,
    )
    for m in (plain, subsidy):
        m.run_for(6)
    chengdu = list(plain.region_keys).index("chengdu")
    got = [int(sum(c["moved_in"][chengdu] for c in m.counters_history)) for m in (plain, subsidy)]
    assert got[1] > got[0]


@pytest.mark.parametrize(
    "variant",
    [
        "article_80pct",
        "shanghai_article",
        "chengdu_article",
        "shandong_article",
        "wenzhou_ai_office",
    ],
)
def test_source_article_figures_stay_reachable_as_variants(variant, tmp_path):
    """Where primary documents differ from the articles, the article's figure is a variant."""
    import tomllib
    from importlib import resources

    text = resources.files("ecosystem.presets").joinpath(f"variants/{variant}.toml").read_text()
    region = next(iter(tomllib.loads(text)["regions"]))
    path = tmp_path / "s.toml"
    path.write_text(f'base = "{region}"\ninclude = ["variants/{variant}"]\n')
    plain = load_scenario(region).regions[region].policy
    varied = load_scenario(path).regions[region].policy
    assert varied != plain


def test_the_80_percent_headline_is_a_scenario_not_the_default():
    assert load_scenario("shanghai").regions["shanghai"].policy.voucher_rate == pytest.approx(
        0.3
    )  # [S66]
