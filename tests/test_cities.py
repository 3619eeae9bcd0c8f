"""Cities inside one national model (design §6, step 10.8): the single-city presets' hub
background derived from the national run (``aieco derive-background``)."""

from __future__ import annotations

import numpy as np
import pytest

from ecosystem import background
from ecosystem.model import AIEcosystem
from ecosystem.scenario import load_scenario


@pytest.fixture(scope="module")
def national_year() -> background.HubDemand:
    """One year of the national run (seed 1): what the derivation sees in its first year."""
    return background.national_hub_demand([1], 1)


def hub_share(model: AIEcosystem, city: str, months: int) -> float:
    """Share of the hubs' sales in the last of ``months`` bought by ``city``'s startups."""
    hubs = [j for j, dc in enumerate(model.data_centers) if dc.is_hub]
    r = model.region_keys.index(city)
    for _ in range(months):
        model.step()
    own = model.state.sales_by_region[r, hubs].sum()
    return float(own / sum(model.data_centers[j].sold for j in hubs))


def test_single_city_hub_background_derived(national_year):
    """Every single-city preset carries each hub center's derived background with its
    provenance, and its first-year level is what the command derives from the code now."""
    presets = background.single_city_presets()
    assert {"hangzhou", "beijing", "chengdu"} <= set(presets)
    for name, city in presets.items():
        cfg = load_scenario(name)
        # One year: the trend is 0 and the level is the first-year mean itself.
        first_year_now, growth_1y = background.level_and_growth(national_year.others(city))
        assert np.all(growth_1y == 0.0)
        for (hub, key), now in zip(national_year.centers, first_year_now, strict=True):
            path = f"regions.{hub}.data_centers.{key}"
            for field in ("background_demand_gpu_h", "background_growth_per_year"):
                info = background.parse_provenance(cfg._provenance[f"{path}.{field}"])
                assert info is not None, f"{name}: {path}.{field} is not derived"
                assert info["preset"] == "china" and info["years"] >= 2 and info["commit"]
            spec = cfg.regions[hub].data_centers[key]
            level, g = spec.background_demand_gpu_h, spec.background_growth_per_year
            # Seed 1 against the mean of the derivation's seeds: within 10%.
            assert level * (1 + g) ** 0.5 == pytest.approx(now, rel=0.10), (name, key)
            # More than the hub file's own users outside the model: the other cities buy there.
            assert (
                level > 0.9 * national_year.background[0, national_year.centers.index((hub, key))]
            )
        # The other cities' pull on mobile founders, the same way.
        rival_now, _ = background.level_and_growth(national_year.rival_weight(city))
        nat = cfg.national
        for field in ("mobile_founder_rival_weight", "mobile_founder_rival_growth_per_year"):
            assert background.parse_provenance(cfg._provenance[f"national.{field}"]), field
        first_year = (
            nat.mobile_founder_rival_weight * (1 + nat.mobile_founder_rival_growth_per_year) ** 0.5
        )
        assert first_year == pytest.approx(rival_now[0], rel=0.10), name


def test_single_city_does_not_own_the_hubs(national_year):
    """Beijing in its own preset buys about its national-run share of the hubs' sales, not the
    capacity the other nine cities buy there (issue 10: ~40% of China's intelligent compute)."""
    d = national_year
    r = d.cities.index("beijing")
    last = slice(-3, None)  # the last quarter of the first year
    total = d.background[last].sum() + d.by_city[last].sum()
    national = d.by_city[last, r].sum() / total
    single = hub_share(AIEcosystem(load_scenario("beijing"), rng=1), "beijing", 12)
    assert single < 1.5 * national + 0.01, (single, national)


def test_replace_block_is_idempotent():
    """The derived block replaces itself: a second derivation leaves one block."""
    b1 = f"{background.BLOCK_START}\n[a]\nx = 1\n{background.BLOCK_END}\n"
    b2 = f"{background.BLOCK_START}\n[a]\nx = 2\n{background.BLOCK_END}\n"
    text = background.replace_block("[meta]\nname = 'x'\n", b1)
    again = background.replace_block(text, b2)
    assert again.count(background.BLOCK_START) == 1 and "x = 2" in again and "x = 1" not in again
    assert again.startswith("[meta]\nname = 'x'\n")


def test_level_and_growth_recovers_a_trend():
    """A demand growing 20% a year from 100 at month 0 gives back B = 100 and g = 0.2."""
    t = np.arange(120) / 12.0
    monthly = (100.0 * 1.2**t)[:, None]
    level, growth = background.level_and_growth(monthly)
    assert growth[0] == pytest.approx(0.2, rel=0.01)
    assert level[0] == pytest.approx(100.0, rel=0.02)
