"""Cities inside one national model (design §6, step 10.8): the single-city presets' hub
background derived from the national run (``aieco derive-background``)."""

from __future__ import annotations

import numpy as np
import pytest

from ecosystem import background
from ecosystem.model import AIEcosystem
from ecosystem.scenario import load_scenario, parse_overrides
from experiments.cli import main


@pytest.fixture(scope="module")
def national() -> background.HubDemand:
    """Two years of the national run (seed 1): the derivation anchors its level on year 2. At
    the parameters the shipped blocks were derived at (the overrides they list; one derivation
    writes every single-city preset's block)."""
    text = (background.preset_folder() / "hangzhou.toml").read_text(encoding="utf-8")
    overrides = parse_overrides(background.block_overrides(text))
    return background.national_hub_demand([1], background.ANCHOR_YEAR, overrides)


def hub_share(model: AIEcosystem, city: str, months: int) -> float:
    """Share of the hubs' sales in the last of ``months`` bought by ``city``'s startups."""
    hubs = [j for j, dc in enumerate(model.data_centers) if dc.is_hub]
    r = model.region_keys.index(city)
    for _ in range(months):
        model.step()
    own = model.state.sales_by_region[r, hubs].sum()
    return float(own / sum(model.data_centers[j].sold for j in hubs))


def anchor_mean(monthly: np.ndarray) -> np.ndarray:
    """The anchor year's mean of a (months, columns) series."""
    return background.yearly_means(monthly)[background.ANCHOR_YEAR - 1]


def at_anchor(level: float, growth: float) -> float:
    """The derived curve B · (1 + g)^t at the middle of the anchor year."""
    return level * (1 + growth) ** (background.ANCHOR_YEAR - 0.5)


def test_single_city_hub_background_derived(national):
    """Every single-city preset carries each hub center's derived background and the other
    cities' pull on mobile founders, with provenance, and the derived curve passes through what
    the command derives from the code now in its anchor year (seed 1 against the mean of the
    derivation's seeds: within 10%)."""
    presets = background.single_city_presets()
    assert {"hangzhou", "beijing", "chengdu"} <= set(presets)
    for name, city in presets.items():
        cfg = load_scenario(name)
        now = anchor_mean(national.others(city))
        for (hub, key), expected in zip(national.centers, now, strict=True):
            path = f"regions.{hub}.data_centers.{key}"
            for field in ("background_demand_gpu_h", "background_growth_per_year"):
                info = background.parse_provenance(cfg._provenance[f"{path}.{field}"])
                assert info is not None, f"{name}: {path}.{field} is not derived"
                assert info["preset"] == "china" and info["years"] >= 3 and info["commit"]
            spec = cfg.regions[hub].data_centers[key]
            got = at_anchor(spec.background_demand_gpu_h, spec.background_growth_per_year)
            assert got == pytest.approx(expected, rel=0.10), (name, key)
            # More than the hub file's own users outside the model, in the anchor year: the
            # other cities buy there too.
            own = load_scenario("china").regions[hub].data_centers[key]
            assert got > at_anchor(own.background_demand_gpu_h, own.background_growth_per_year)
        nat = cfg.national
        for field in ("mobile_founder_rival_weight", "mobile_founder_rival_growth_per_year"):
            assert background.parse_provenance(cfg._provenance[f"national.{field}"]), field
        got = at_anchor(nat.mobile_founder_rival_weight, nat.mobile_founder_rival_growth_per_year)
        assert got == pytest.approx(anchor_mean(national.rival_weight(city))[0], rel=0.10), name
        # The mobile VC pool the other cities leave the city, from the same derivation
        # (tests/test_vc_national.py checks what the block writes).
        # With vc_home_bias = 1 the national run has no mobile pool: no fields are derived and a
        # lone city keeps its own money.
        if not np.any(national.vc_mobile_pool > 0):
            assert nat.vc_mobile_pool_yuan_per_year is None, name
            continue
        hub_info = background.parse_provenance(cfg._provenance[f"{path}.background_demand_gpu_h"])
        for field in ("vc_mobile_pool_yuan_per_year", "vc_mobile_pool_growth_per_year"):
            info = background.parse_provenance(cfg._provenance[f"national.{field}"])
            assert info == hub_info, (name, field)
        assert nat.vc_mobile_pool_yuan_per_year is not None, name


def test_single_city_does_not_own_the_hubs(national):
    """Beijing in its own preset buys about its national-run share of the hubs' sales, not the
    capacity the other nine cities buy there (issue 10: ~40% of China's intelligent compute)."""
    r = national.cities.index("beijing")
    last = slice(9, 12)  # the last quarter of the first year
    total = national.background[last].sum() + national.by_city[last].sum()
    share_national = national.by_city[last, r].sum() / total
    single = hub_share(AIEcosystem(load_scenario("beijing"), rng=1), "beijing", 12)
    assert single < 1.5 * share_national + 0.01, (single, share_national)


def test_replace_block_is_idempotent():
    """The derived block replaces itself: a second derivation leaves one block."""
    b1 = f"{background.BLOCK_START}\n[a]\nx = 1\n{background.BLOCK_END}\n"
    b2 = f"{background.BLOCK_START}\n[a]\nx = 2\n{background.BLOCK_END}\n"
    text = background.replace_block("[meta]\nname = 'x'\n", b1)
    again = background.replace_block(text, b2)
    assert again.count(background.BLOCK_START) == 1 and "x = 2" in again and "x = 1" not in again
    assert again.startswith("[meta]\nname = 'x'\n")


def test_level_and_growth_recovers_a_trend():
    """A series growing 20% a year from 100 at month 0 gives back B = 100 and g = 0.2, whatever
    its first year does (the anchor and the trend start in year 2)."""
    t = np.arange(120) / 12.0
    monthly = (100.0 * 1.2**t)[:, None]
    monthly[:12] *= 1.5  # a start-up transient
    level, growth = background.level_and_growth(monthly)
    assert growth[0] == pytest.approx(0.2, rel=0.01)
    assert level[0] == pytest.approx(100.0, rel=0.02)


def test_a_block_derived_at_overrides_lists_them_and_they_read_back():
    """``aieco derive-background --set``: the national runs use the overrides (a posterior's
    medians, say: design §2.8), the block lists them as ``--set`` lines that parse back to the
    same values, and every derived field's provenance counts them."""
    import tomllib

    overrides = {"demand.outside_option": 18.5, "compute.choice_rule": "marginal"}
    demand = background.national_hub_demand([1], 1, overrides)
    text = background.block("hangzhou", demand, "abc1234")
    listed = background.block_overrides(text)
    assert listed == ["demand.outside_option=18.5", 'compute.choice_rule="marginal"']
    assert parse_overrides(listed) == overrides
    doc = tomllib.loads(text)
    source = next(iter(doc["regions"].values()))["data_centers"]
    assert "background_demand_gpu_h" in next(iter(source.values()))
    info = background.parse_provenance(background.provenance("abc1234", demand))
    assert info is not None and info["overrides"] == 2 and info["years"] == 1
    # at other parameters the national run buys otherwise (the overrides are used)
    plain = background.national_hub_demand([1], 1)
    assert not np.allclose(plain.others("hangzhou"), demand.others("hangzhou"))
    assert background.block_overrides(background.block("hangzhou", plain, "abc1234")) == []


def test_derive_background_rejects_a_bad_override_before_any_run(capsys):
    assert main(["derive-background", "--dry-run", "--set", "demand.no_such=1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "demand.no_such" in err[0]
