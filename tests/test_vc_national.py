"""Cities share VC (design §6.2, issue 10 point 6): each city's VC money splits into a local part
(home bias h) and a national mobile pool that funds, after the cities' own pools, the justified
rounds still unfunded anywhere, best value for money first. Sign tests are paired by seed."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from applicants import make_applicants
from paired import PairedEffect

from ecosystem import background, firm_life
from ecosystem.model import AIEcosystem
from ecosystem.run import run_scenario
from ecosystem.scenario import load_scenario
from ecosystem.tables import Stage

DUO = str(Path(__file__).parent / "presets" / "duo.toml")
#: Scarce VC in both cities of the duo (a few tens of millions a year), so that pools bind and
#: the order in which justified rounds are funded decides who is funded.
SCARCE = {
    "regions.wenzhou.market.vc_pool_yuan_per_year": 2e7,
    "regions.ningbo.market.vc_pool_yuan_per_year": 6e7,
}
#: Wenzhou's market is better: three times its market potential raises the revenue its firms
#: expect, so their valuations and the rounds that buy the target ownership of them are larger.
BETTER_WENZHOU = {"regions.wenzhou.market.market_potential_yuan_per_year": 6.3e10}
SEEDS = range(1, 7)
MONTHS = 24


def duo(overrides: dict | None = None):
    ov = {**SCARCE, **(overrides or {})}
    return load_scenario(DUO, [f"{k}={v}" for k, v in ov.items()])


def city_total(city: str, column: str, share: bool = False):
    """Outcome: ``column`` summed over the run for ``city`` (or its share of both cities')."""

    def outcome(result) -> float:
        k = result.kpis
        own = float(k.loc[k.region == city, column].sum())
        if not share:
            return own
        both = float(k.loc[k.region.isin(["wenzhou", "ningbo"]), column].sum())
        return own / both if both > 0 else 0.0

    outcome.__name__ = f"{column}_{city}{'_share' if share else ''}"
    return outcome


def pools_by_year(cfg, years: float) -> np.ndarray:
    """V_r(t) of every region: the sourced pool at its trend."""
    return np.array(
        [
            r.market.vc_pool_yuan_per_year * (1 + r.market.vc_growth_per_year) ** years
            if r.market
            else 0.0
            for r in cfg.regions.values()
        ]
    )


def test_home_bias_one_is_each_city_on_its_own(monkeypatch):
    """With h = 1 the mobile pool is empty, every city's pool is its whole V_r(t), no money moves
    between cities, and the run equals one without the national stage at all (bit for bit)."""
    cfg = duo({"national.vc_home_bias": 1.0})
    model = AIEcosystem(cfg, rng=2)
    for month in range(MONTHS):
        model.step()
        if month % 12 == 0:
            assert model.state.vc_mobile.annual == 0.0
            full = pools_by_year(cfg, 12 * (month // 12) / 12)
            assert [p.annual for p in model.state.vc_pools] == pytest.approx(full, rel=1e-15)
    k = model.kpis()
    assert (k["vc_mobile_yuan"] == 0).all()
    assert k["rounds_passed_unfunded"].sum() > 0  # the pools bind: the test can tell
    with_stage = run_scenario(cfg, seed=2, months=MONTHS).kpis
    monkeypatch.setattr(
        firm_life, "fund_from_mobile_pool", lambda state, firms, size, post: firms < -1
    )
    without_stage = run_scenario(cfg, seed=2, months=MONTHS).kpis
    assert with_stage.equals(without_stage)
    # ... while with h < 1 the national stage funds rounds, so the comparison can fail.
    monkeypatch.undo()
    mobile = run_scenario(duo({"national.vc_home_bias": 0.7}), seed=2, months=MONTHS).kpis
    assert mobile["vc_mobile_yuan"].sum() > 0 and not mobile.equals(with_stage)


def test_vc_money_is_conserved_across_cities():
    """Each year the cities' local pools and the mobile pool together hold exactly the cities'
    sourced pools; no pool pays beyond its year; what the pools pay is what firms raised from
    VC, and the mobile pool's payments are the KPI ``vc_mobile_yuan``."""
    cfg = duo({"national.vc_home_bias": 0.5})
    model = AIEcosystem(cfg, rng=3)
    st = model.state
    spent: dict[tuple, float] = {}
    for month in range(MONTHS):
        model.step()
        full = pools_by_year(cfg, 12 * (month // 12) / 12)
        local = np.array([p.annual for p in st.vc_pools])
        np.testing.assert_allclose(local, 0.5 * full, rtol=1e-12)
        assert local.sum() + st.vc_mobile.annual == pytest.approx(full.sum(), rel=1e-12)
        for key, pool in [*enumerate(st.vc_pools), ("mobile", st.vc_mobile)]:
            spent[month // 12, key] = spent.get((month // 12, key), 0.0) + pool.spent_this_month
            assert spent[month // 12, key] <= pool.annual * (1 + 1e-12)
            assert pool.remaining >= 0
    k = model.kpis()
    paid = sum(p.spent_total for p in st.vc_pools) + st.vc_mobile.spent_total
    assert k["vc_private_yuan"].sum() == pytest.approx(paid, rel=1e-12)
    assert k["vc_mobile_yuan"].sum() == pytest.approx(st.vc_mobile.spent_total, rel=1e-12)
    assert st.vc_mobile.spent_total > 0
    assert (k["vc_mobile_yuan"] <= k["vc_private_yuan"] * (1 + 1e-12)).all()
    invested = model.startups.view("vc_invested").sum()
    initial = AIEcosystem(cfg, rng=3).startups.view("vc_invested").sum()
    raised = k["vc_raised_yuan"].sum()
    assert invested - initial == pytest.approx(raised, rel=1e-9)
    assert raised == pytest.approx(paid + k["guidance_fund_spent_yuan"].sum(), rel=1e-12)
    # The round log (rounds.parquet) holds exactly these rounds, region by region, month by month.
    r = model.rounds()
    kk = k.set_index(["region", "month"])
    by = r.groupby(["region", "month"])
    np.testing.assert_array_equal(by.size().reindex(kk.index, fill_value=0), kk["rounds_closed"])
    np.testing.assert_allclose(
        by["amount_yuan"].sum().reindex(kk.index, fill_value=0.0), kk["vc_raised_yuan"], rtol=1e-12
    )
    assert r.loc[r["mobile_pool"], "vc_yuan"].sum() == pytest.approx(
        k["vc_mobile_yuan"].sum(), rel=1e-12
    )
    np.testing.assert_allclose(r["vc_yuan"] + r["guidance_fund_yuan"], r["amount_yuan"])
    np.testing.assert_allclose(r["pre_money_yuan"] + r["amount_yuan"], r["post_money_yuan"])
    # Each round takes its firm one stage up: a firm founded during the run goes seed, A, ...
    new = r[r["firm_id"].isin(np.flatnonzero(model.startups.view("founded_month") >= 0))]
    for _, g in new.groupby("firm_id"):
        assert g["stage"].tolist() == [min(i, Stage.SERIES_D_PLUS) for i in range(1, len(g) + 1)]
    assert len(new) and (r["age_months"] >= 0).all()


@pytest.mark.parametrize("follow_on_city", ["wenzhou", "ningbo"])
def test_the_mobile_pool_funds_the_best_value_rounds_wherever_they_are(follow_on_city):
    """Ranked nationally by the cities' rule, here ``value_for_money`` (V̂ / size), whose order
    is known (the presets' ``stage_norm`` ties target-sized rounds of every stage): with the
    cities' own pools empty and the mobile pool holding exactly what one city's follow-on
    rounds ask (a Series B buys a smaller target ownership than a seed, so more value per
    yuan), those rounds close and the other city's seed rounds do not — whichever city holds
    the follow-ons."""
    cfg = duo({"national.vc_home_bias": 0.7, "startups.round_ranking": "value_for_money"})
    model = AIEcosystem(cfg, rng=2)
    model.run_for(2)
    st, s = model.state, model.startups
    alive = make_applicants(model, revenue_target=1e6, money=0.0)
    names = list(cfg.regions)
    follow = alive[s.region[alive] == names.index(follow_on_city)]
    seeds = alive[~np.isin(alive, follow)]
    assert follow.size and seeds.size
    s.stage[seeds], s.stage[follow] = Stage.BOOTSTRAP, Stage.SERIES_A
    for g in st.governments:
        g.policy.guidance_fund_share = 0.0
    size, _ = firm_life.round_terms(st, model.params, follow)
    st.vc_mobile.annual = st.vc_mobile.remaining = st.vc_mobile.month_cap = size.sum() * 1.001
    firm_life.raise_funding(st, model.params, model.rng)
    assert (s.stage[follow] == Stage.SERIES_B).all()
    assert (s.stage[seeds] == Stage.BOOTSTRAP).all()
    assert st.counters["rounds_passed_unfunded"].sum() == seeds.size  # the money bound


def test_lower_home_bias_moves_money_between_cities():
    """Lowering the home bias (0.9 -> 0.4) moves VC money out of the cities' own pools into the
    mobile pool, which funds justified rounds wherever they are: with Ningbo's pool three times
    Wenzhou's and Wenzhou's market three times larger (larger valuations, larger rounds),
    Wenzhou's share of the private VC raised rises (paired by seed) and the mobile pool pays
    some of it."""
    base = {**SCARCE, **BETTER_WENZHOU, "national.vc_home_bias": 0.9}
    arms = [duo(base), duo({**base, "national.vc_home_bias": 0.4})]
    share = city_total("wenzhou", "vc_private_yuan", share=True)
    drawn = city_total("wenzhou", "vc_mobile_yuan")
    results = [[run_scenario(cfg, seed=s, months=MONTHS) for s in SEEDS] for cfg in arms]
    eff = PairedEffect(
        "wenzhou_vc_share", tuple(SEEDS), *(np.array([share(r) for r in rs]) for rs in results)
    )
    assert eff.p_greater < 0.05, eff
    assert all(drawn(r) > 0 for r in results[1])


def test_single_city_without_a_derived_draw_keeps_its_whole_pool():
    """A one-city scenario without a derived draw: the mobile pool is (1 − h) of its own pool,
    so the city keeps all its VC money (local first, then the rest)."""
    cfg = load_scenario(str(Path(__file__).parent / "presets" / "tiny.toml"))
    assert cfg.national.vc_mobile_pool_yuan_per_year is None
    model = AIEcosystem(cfg, rng=1)
    total = pools_by_year(cfg, 0.0).sum()
    local = sum(p.annual for p in model.state.vc_pools)
    assert local + model.state.vc_mobile.annual == pytest.approx(total, rel=1e-12)
    assert model.state.vc_mobile.annual == pytest.approx(
        (1 - cfg.national.vc_home_bias) * total, rel=1e-12
    )


def test_a_derived_draw_is_the_mobile_pool_of_a_single_city():
    """Given ``vc_mobile_pool_yuan_per_year`` (a single-city preset's derived mobile pool), the
    mobile pool is that level at its trend, whatever the city's own pool."""
    cfg = load_scenario(
        str(Path(__file__).parent / "presets" / "tiny.toml"),
        [
            "national.vc_mobile_pool_yuan_per_year=1e8",
            "national.vc_mobile_pool_growth_per_year=0.1",
        ],
    )
    model = AIEcosystem(cfg, rng=1)
    assert model.state.vc_mobile.annual == pytest.approx(1e8)
    model.run_for(13)
    assert model.state.vc_mobile.annual == pytest.approx(1.1e8)


@pytest.mark.parametrize(
    ("setting", "needle"),
    [
        ("national.vc_home_bias=1.5", "vc_home_bias = 1.5"),
        ("national.vc_home_bias=-0.1", "vc_home_bias = -0.1"),
        ("national.vc_mobile_pool_yuan_per_year=-1", "vc_mobile_pool_yuan_per_year = -1"),
    ],
)
def test_bad_vc_settings_are_one_line_errors(tmp_path, setting, needle):
    out = tmp_path / "out"
    r = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "run", "hangzhou", "--set", setting,
         "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], r.stderr
    assert not out.exists()


def two_city_demand(draws: np.ndarray, pool: np.ndarray, seeds: list[int]):
    """A national derivation of two cities and one hub center: what the others drew from the
    mobile pool (``draws``, months × cities) and the pool itself; the rest is flat."""
    months = len(pool)
    return background.HubDemand(
        centers=[("qingyang", "qingyang_cluster")],
        cities=["hangzhou", "wenzhou"],
        background=np.ones((months, 1)),
        by_city=np.ones((months, 2, 1)),
        weights=np.ones((months, 2)),
        vc_mobile=draws,
        vc_mobile_pool=pool,
        seeds=seeds,
        years=months // 12,
    )


def test_derived_block_writes_the_mobile_pool_the_others_leave():
    """``aieco derive-background`` writes a single city's mobile VC pool: the national mobile
    pool less 12 × what the other cities drew from it a month (level on the anchor year,
    log-linear trend), with the derivation's provenance; flat at the mean if a year left none."""
    months = 12 * 4
    t = np.arange(months) / 12.0
    pool = 10e6 * 1.1**t
    draws = np.stack([np.zeros(months), 2e5 * 1.1**t], axis=1)  # (months, cities)
    demand = two_city_demand(draws, pool, seeds=[1, 2])
    for city, level, growth in [("hangzhou", 10e6 - 12 * 2e5, 0.1), ("wenzhou", 10e6, 0.1)]:
        doc = tomllib.loads(background.block(city, demand, "abc1234"))["national"]
        got = doc["vc_mobile_pool_yuan_per_year"]
        assert got["value"] == pytest.approx(level, rel=0.01), city  # yearly means of a curve
        assert doc["vc_mobile_pool_growth_per_year"]["value"] == pytest.approx(growth, abs=1e-3)
        info = background.parse_provenance(got["source"])
        expected = {"commit": "abc1234", "preset": "china", "seeds": [1, 2], "years": 4}
        assert info == {**expected, "overrides": 0}
    # The others drew everything in year 3: no trend, the mean of years 2–4 left.
    demand.vc_mobile = np.stack([np.where((t >= 2) & (t < 3), pool / 6, 0.0), draws[:, 1]], 1)
    left = background.yearly_means(demand.vc_left("wenzhou"))[1:, 0]
    doc = tomllib.loads(background.block("wenzhou", demand, "abc1234"))["national"]
    assert left[1] == 0.0
    assert doc["vc_mobile_pool_yuan_per_year"]["value"] == pytest.approx(left.mean(), rel=1e-5)
    assert doc["vc_mobile_pool_growth_per_year"]["value"] == 0.0


def test_no_mobile_pool_derives_no_mobile_pool_fields():
    """With ``vc_home_bias`` = 1 the national run has no mobile pool: the block writes no
    ``vc_mobile_pool_*`` fields, so a single-city run keeps (1 − h) of its own money as its
    mobile pool whatever h a sweep draws, instead of losing it to a derived pool of 0."""
    months = 12 * 3
    demand = two_city_demand(np.zeros((months, 2)), np.zeros(months), seeds=[1])
    doc = tomllib.loads(background.block("hangzhou", demand, "abc1234"))["national"]
    assert "mobile_founder_rival_weight" in doc
    assert not any(k.startswith("vc_mobile_pool") for k in doc)
    # The shipped single-city presets (derived at h = 1): a drawn h < 1 keeps the city's money.
    cfg = load_scenario("hangzhou", ["national.vc_home_bias=0.8"])
    assert cfg.national.vc_mobile_pool_yuan_per_year is None
    model = AIEcosystem(cfg, rng=1)
    local = sum(p.annual for p in model.state.vc_pools)
    assert local > 0
    assert model.state.vc_mobile.annual == pytest.approx(local / 0.8 * 0.2, rel=1e-12)
