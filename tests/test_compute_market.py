"""The compute market settles without a cobweb (issue 10, step 10.1; docs/ODD.md §7.4).

Mechanisms asserted: demand is split over centers by a logit on effective prices and rationed in
proportion to requests; the clipped partial price adjustment converges (monotonically for a step
in demand) when the stability condition holds and cobwebs when the choice is argmin-like;
validation rejects unstable parameter pairs (exit 2, one line); sold never exceeds capacity and
the market's money adds up, in the presets too, where no center's utilisation alternates.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from paired import TINY

from ecosystem import AIEcosystem, compute_market, load_scenario
from ecosystem.scenario import ScenarioError
from ecosystem.scenario.schema import ComputeMarket

AIECO = [sys.executable, "-m", "experiments.cli"]
DEFAULTS = ComputeMarket()  # k, u*, λ, p_cap and ε_bg of every preset unless overridden


# --------------------------------------------------------------------------------------------
# Row arithmetic: numpy's results, bit for bit
# --------------------------------------------------------------------------------------------
def test_row_arithmetic_gives_numpys_bits():
    rng = np.random.default_rng(5)
    for trial in range(400):
        n, m = int(rng.integers(1, 500)), int(rng.integers(1, 10))
        x = rng.standard_normal((n, m)) * 10.0 ** rng.integers(-6, 12, (n, m))
        x[rng.random((n, m)) < 0.2] = 0.0
        x[rng.random((n, m)) < 0.2] = -0.0
        x[rng.random((n, m)) < 0.02] = -np.inf
        if trial % 3 == 1:
            x = x.astype(np.float32)
        if trial % 3 == 2:
            x = np.asfortranarray(x)
        for ours, numpys in (
            (compute_market.row_sums(x), x.sum(axis=1)),
            (compute_market.row_cumsums(x), np.cumsum(x, axis=1)),
        ):
            assert ours.dtype == numpys.dtype and ours.tobytes() == numpys.tobytes()
        ok = x > 0
        assert np.array_equal(
            compute_market.row_prefix_all(ok), np.cumprod(ok, axis=1).astype(bool)
        )


# --------------------------------------------------------------------------------------------
# The split and the rationing
# --------------------------------------------------------------------------------------------
def _softmax(z: np.ndarray) -> np.ndarray:
    w = np.exp(z - z.max(axis=1, keepdims=True))
    return w / w.sum(axis=1, keepdims=True)


def test_ample_capacity_splits_demand_by_logit_shares():
    rng = np.random.default_rng(0)
    price = rng.uniform(5.0, 15.0, size=(40, 4))
    demand = rng.uniform(0.0, 100.0, size=40)
    bought = compute_market.split_and_ration(demand, price, np.full(4, 1e9), 0.3)
    np.testing.assert_allclose(bought, demand[:, None] * _softmax(-0.3 * price), rtol=1e-12)
    # Cheaper is preferred but not taken by all (a bounded demand elasticity, not argmin).
    cheapest = price.argmin(axis=1)
    share = bought / demand[:, None]
    assert (share[np.arange(40), cheapest] > 0.25).all()
    assert (share[np.arange(40), cheapest] < 1.0 - 1e-3).all()


def test_oversubscribed_center_rations_in_proportion_and_overflow_moves_on():
    # Two buyers both prefer center 0, which has room for a third of what they ask of it.
    price = np.array([[5.0, 10.0, 12.0], [5.0, 11.0, 10.0]])
    demand = np.array([300.0, 100.0])
    first = demand[:, None] * _softmax(-0.5 * price)
    capacity = np.array([first[:, 0].sum() / 3.0, 1e9, 1e9])
    bought = compute_market.split_and_ration(demand, price, capacity, 0.5)
    assert bought[:, 0].sum() == pytest.approx(capacity[0])
    # Each buyer gets the same share of its request at the full center.
    np.testing.assert_allclose(bought[:, 0] / first[:, 0], 1.0 / 3.0)
    # What the full center could not serve is bought elsewhere: nothing is lost.
    np.testing.assert_allclose(bought.sum(axis=1), demand)
    # The overflow follows each buyer's own preference among the centers still open.
    assert bought[0, 1] > bought[0, 2] and bought[1, 2] > bought[1, 1]


def test_rationing_never_sells_more_than_capacity_and_ignores_arrival_order():
    rng = np.random.default_rng(1)
    for _ in range(200):
        n, m = rng.integers(1, 60), rng.integers(1, 8)
        price = rng.uniform(1.0, 30.0, size=(n, m))
        demand = rng.exponential(100.0, size=n) * (rng.random(n) < 0.8)
        capacity = rng.exponential(50.0 * n / m, size=m) * (rng.random(m) < 0.9)
        lam = rng.uniform(0.0, 3.0)
        bought = compute_market.split_and_ration(demand, price, capacity, lam)
        assert (bought >= 0).all()
        assert (bought.sum(axis=0) <= capacity * (1 + 1e-9) + 1e-9).all()
        assert (bought.sum(axis=1) <= demand * (1 + 1e-9) + 1e-9).all()
        # Every buyer can reach every center: only total capacity leaves demand unmet.
        total = min(demand.sum(), capacity.sum())
        assert bought.sum() == pytest.approx(total, rel=1e-9, abs=1e-6)
        order = rng.permutation(n)
        again = compute_market.split_and_ration(demand[order], price[order], capacity, lam)
        np.testing.assert_allclose(again, bought[order], rtol=1e-9, atol=1e-9)


def test_a_request_buys_only_where_it_is_allowed():
    """Rows restricted to some centers never buy elsewhere, and a row whose allowed centers are
    sold out goes unserved while the others buy what is left; unrestricted rows behave as
    without the mask."""
    rng = np.random.default_rng(2)
    for _ in range(200):
        n, m = rng.integers(1, 40), rng.integers(1, 6)
        price = rng.uniform(1.0, 30.0, size=(n, m))
        demand = rng.exponential(100.0, size=n)
        capacity = rng.exponential(50.0 * n / m, size=m)
        allowed = rng.random((n, m)) < 0.5
        lam = rng.uniform(0.0, 3.0)
        bought = compute_market.split_and_ration(demand, price, capacity, lam, allowed=allowed)
        assert (bought[~allowed] == 0).all()
        assert (bought.sum(axis=0) <= capacity * (1 + 1e-9) + 1e-9).all()
        assert (bought.sum(axis=1) <= demand * (1 + 1e-9) + 1e-9).all()
        # a center with capacity left was asked by no row allowed there that still wanted more
        left = capacity - bought.sum(axis=0) > 1e-6 * (1 + capacity)
        unmet = demand - bought.sum(axis=1) > 1e-6 * (1 + demand)
        assert not (allowed[unmet][:, left]).any()
        free = compute_market.split_and_ration(demand, price, capacity, lam, allowed=None)
        everywhere = compute_market.split_and_ration(
            demand, price, capacity, lam, allowed=np.ones((n, m), dtype=bool)
        )
        np.testing.assert_allclose(everywhere, free, rtol=1e-12, atol=1e-9)


def test_background_users_are_rationed_with_the_startups_not_before_them():
    """At a center asked for twice what it has, its background users and the startups each get
    half of what they asked there; background users never buy at another center."""
    price = np.array([10.0, 8.0])
    capacity = np.array([100.0, 1e6])
    # one startup request that (λ = 0) splits evenly: 100 GPU-h asked at each center
    bought, bg = compute_market.split_with_background(
        np.array([200.0]), price[None, :], np.array([100.0, 50.0]), price, capacity, 0.0
    )
    # center 0: asked 100 (startup) + 100 (background) for 100: each gets half; the startup's
    # unserved 50 moves to center 1, the background's does not
    assert bg == pytest.approx([50.0, 50.0])
    assert bought[0] == pytest.approx([50.0, 150.0])


# --------------------------------------------------------------------------------------------
# Price dynamics with frozen demand (the market phase and the price phase, iterated)
# --------------------------------------------------------------------------------------------
class FrozenMarket:
    """Startups in two regions, an eastern and two western centers, background users; the
    market's own functions iterated month by month with demand held fixed or stepped."""

    def __init__(
        self, k: float, lam: float, centers: int = 3, eps: float = 0.5, load: float = 0.45
    ):
        rng = np.random.default_rng(7)
        self.k, self.lam, self.eps = k, lam, eps
        self.p0 = np.array([12.8, 8.0, 8.0])[:centers]
        self.capacity = np.array([10e6, 20e6, 15e6])[:centers]
        self.bg_base = np.array([5e6, 4e6, 3e6])[:centers]
        self.floor = 0.3 * self.p0
        home = rng.integers(0, 2, size=300)  # 0: the eastern city, 1: elsewhere
        region = np.array([0, 1, 1])[:centers]
        self.extra = 3.0 * (home[:, None] != region[None, :])  # cross-region friction
        self.demand = rng.lognormal(0.0, 1.0, size=300)
        self.demand *= load * self.capacity.sum() / self.demand.sum()

    def run(self, months: int, scale, price: np.ndarray | None = None):
        price = self.p0.copy() if price is None else price.copy()
        prices, utils = [], []
        for t in range(months):
            bg = compute_market.background_demand(
                self.bg_base, np.zeros_like(self.p0), 0.0, price, self.p0, self.eps
            )
            bought, bg = compute_market.split_with_background(
                self.demand * scale(t), price[None, :] + self.extra, bg, price, self.capacity,
                self.lam,
            )  # fmt: skip
            u = (bg + bought.sum(axis=0)) / self.capacity
            price = compute_market.adjust_prices(
                price, u, self.floor, DEFAULTS.price_cap_yuan_per_gpu_h, self.k,
                DEFAULTS.target_utilization,
            )  # fmt: skip
            prices.append(price)
            utils.append(u)
        return np.array(prices), np.array(utils)


def _reversals(x: np.ndarray, tol: float) -> np.ndarray:
    """Per column: months where the series moves one way by more than ``tol`` and then the other
    way by more than ``tol`` (the period-2 signature of a cobweb)."""
    d = np.diff(x, axis=0)
    return ((d[1:] * d[:-1] < 0) & (np.minimum(abs(d[1:]), abs(d[:-1])) > tol)).sum(axis=0)


@pytest.mark.parametrize(("centers", "load"), [(1, 0.3), (3, 0.45)])
def test_price_converges_monotonically_to_a_step_in_demand(centers, load):
    """After a 20% step in demand every price rises month after month (no overshoot, no
    alternation) and utilisation returns to its target. The return is slow at the defaults: the
    common price level only moves background demand (k·ε_bg·u_bg ≈ 0.5% of the gap a month);
    relative prices settle faster through the logit split."""
    k, lam = DEFAULTS.price_adjust_per_month, DEFAULTS.center_choice_sensitivity
    market = FrozenMarket(k, lam, centers, load=load)
    settled, _ = market.run(2400, lambda t: 1.0)
    start = settled[-1]
    prices, utils = market.run(2400, lambda t: 1.2, price=start)  # demand steps up by 20%
    assert (prices[0] > start).all()
    step = np.diff(np.vstack([start, prices]), axis=0)
    assert (step >= -1e-9 * prices).all()
    gap = abs(utils - DEFAULTS.target_utilization)
    assert (gap[0] > 0.03).all()
    assert (gap[240] < 0.75 * gap[0]).all()
    assert (gap[-1] < 0.01).all()
    if centers == 1:  # one center: the gap shrinks every month
        assert (np.diff(gap[:, 0]) <= 1e-12).all()


def test_the_stable_bound_converges_without_alternation_and_argmin_cobwebs():
    lam = DEFAULTS.center_choice_sensitivity
    slope = lam * DEFAULTS.price_cap_yuan_per_gpu_h + DEFAULTS.background_price_elasticity
    k_max = 1.0 / (2.0 * slope)  # the condition validation enforces
    # Just inside the bound, from prices 50% above their starting point: no period-2 moves.
    market = FrozenMarket(0.95 * k_max, lam)
    prices, utils = market.run(240, lambda t: 1.0, price=1.5 * market.p0)
    assert (_reversals(utils, 0.005) == 0).all() and (_reversals(prices, 0.01) == 0).all()
    # The same gain with an argmin-like choice (λ far outside the bound) is the old cobweb.
    market = FrozenMarket(DEFAULTS.price_adjust_per_month, 30.0)
    _, utils = market.run(240, lambda t: 1.0, price=1.5 * market.p0)
    assert _reversals(utils[120:], 0.05).max() > 30


# --------------------------------------------------------------------------------------------
# Validation rejects pairs that would oscillate
# --------------------------------------------------------------------------------------------
def test_validation_rejects_unstable_pairs_and_accepts_stable_ones():
    lam = DEFAULTS.center_choice_sensitivity
    slope = lam * DEFAULTS.price_cap_yuan_per_gpu_h + DEFAULTS.background_price_elasticity
    k_max = 1.0 / (2.0 * slope)
    load_scenario("hangzhou", overrides=[f"compute.price_adjust_per_month={0.99 * k_max}"])
    with pytest.raises(ScenarioError) as err:
        load_scenario("hangzhou", overrides=[f"compute.price_adjust_per_month={1.01 * k_max}"])
    assert err.value.field == "compute.price_adjust_per_month"
    assert f"must be < {k_max:.4g}" in str(err.value)
    with pytest.raises(ScenarioError, match="compute.price_adjust_per_month = 0.03: must be <"):
        load_scenario("hangzhou", overrides=["compute.center_choice_sensitivity=2.0"])


def _aieco(*args, cwd=None):
    return subprocess.run([*AIECO, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def _one_line_exit_2(r, needle):
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_aieco_validate_and_run_reject_an_unstable_pair_with_exit_2(tmp_path):
    scenario = tmp_path / "unstable.toml"
    scenario.write_text(
        'base = "hangzhou"\n[compute]\nprice_adjust_per_month = 0.05\n'
        "center_choice_sensitivity = 0.6\n"
    )
    _one_line_exit_2(_aieco("validate", str(scenario)), "compute.price_adjust_per_month = 0.05")
    out = tmp_path / "out"
    r = _aieco(
        "run", "hangzhou", "--set", "compute.center_choice_sensitivity=0.8",
        "--set", "compute.price_adjust_per_month=0.05", "--out", str(out),
    )  # fmt: skip
    _one_line_exit_2(r, "compute.price_adjust_per_month = 0.05: must be < ")
    assert not out.exists()


def test_a_center_priced_above_the_cap_is_rejected():
    with pytest.raises(ScenarioError) as err:
        load_scenario("hangzhou", overrides=["compute.price_cap_yuan_per_gpu_h=10"])
    assert str(err.value) == (
        "regions.hangzhou.data_centers.alibaba_cloud.price_yuan_per_gpu_h = 12.8: "
        "must be <= compute.price_cap_yuan_per_gpu_h (10)"
    )


# --------------------------------------------------------------------------------------------
# The presets: no cobweb, capacity respected, money adds up
# --------------------------------------------------------------------------------------------
#: Years run per preset: five for one city; three for the national model (its runs cost ~5x
#: as much, and three voucher years with the 2026 expansions show the same contrast: the old
#: rule reversed in most months from the first year on).
YEARS = {"hangzhou": 5, "china": 3}


def _run(preset: str, vouchers: bool, seed: int = 1):
    """``preset`` may name a choice rule after a colon: "hangzhou:marginal"."""
    preset, _, rule = preset.partition(":")
    rules = [f"compute.choice_rule={rule}"] if rule else []
    sc = load_scenario(preset, overrides=[f"meta.years={YEARS[preset]}", *rules])
    if not vouchers:  # no programme pays: no voucher-year demand surges (a 10.4 matter)
        for region in sc.regions.values():
            region.policy.voucher_budget_yuan = 0.0
        sc.national.voucher_budget_yuan = 0.0
    model = AIEcosystem(sc, rng=seed)
    paid, spent = [], []
    for _ in range(sc.months):
        model.step()
        # Money: what centers earn from startups is the startups' own money plus vouchers paid.
        c = model.counters_history[-1]
        own = float(model.startups.view("compute_spend").sum())
        paid.append(
            own + float(c["voucher_spent_yuan"].sum() + c["national_voucher_spent_yuan"].sum())
        )
        spent.append(sum(dc.revenue_startups for dc in model.data_centers))
    return model, model.dc_kpis(), np.array(paid), np.array(spent)


@pytest.fixture(scope="module", params=["hangzhou", "china", "hangzhou:marginal"])
def preset_run(request):
    return request.param, *_run(request.param, vouchers=True)


def _panel(dc, column):
    return dc.pivot(index="month", columns="data_center", values=column).to_numpy()


def test_no_cobweb_in_preset(preset_run):
    """No center's utilisation alternates. A reversal is a move of more than 5 points followed
    by one of more than 5 points the other way (months where the center's own capacity changed
    do not count). The old argmin rule reversed in 16 of 59 months (Hangzhou, 5 years) and 24 of
    35 (china, 3 years); allowed: 10% of months (a voucher year's January surge and the month
    its budget runs out move demand once each, not back and forth).
    """
    _, _, dc, _, _ = preset_run
    util, cap = _panel(dc, "utilization"), _panel(dc, "capacity_gpu_h")
    d = np.diff(util, axis=0)
    d[cap[1:] != cap[:-1]] = 0.0  # a center's own new capacity is a step, not a price response
    rev = ((d[1:] * d[:-1] < 0) & (np.minimum(abs(d[1:]), abs(d[:-1])) > 0.05)).sum(axis=0)
    assert rev.max() <= 0.1 * d.shape[0], dict(
        zip(sorted(dc.data_center.unique()), rev, strict=True)
    )


def test_sold_never_exceeds_capacity_and_money_adds_up(preset_run):
    _, model, dc, paid, spent = preset_run
    assert (dc.sold_gpu_h <= dc.capacity_gpu_h * (1 + 1e-9)).all()
    assert (dc.sold_startups_gpu_h >= 0).all() and (dc.sold_background_gpu_h >= 0).all()
    np.testing.assert_allclose(paid, spent, rtol=1e-9)
    assert spent.sum() > 0


@pytest.mark.parametrize("preset", ["hangzhou", "china"])
def test_utilisation_moves_smoothly_without_supply_or_voucher_shocks(preset):
    """Without voucher budgets (their January surges are demand shocks, redesigned in step 10.4),
    utilisation changes by < 10 points a month wherever no center's capacity changed, and moves
    of more than 3 points are not undone the next month. The old argmin market jumped by 0.6
    (Hangzhou) and 0.9 (china) in such months, back and forth. Since VC rounds also fund growth
    (the VC review), demand can step up by ~6 points in a month as centers fill (Hangzhou seed 1,
    month 41: 91% -> 97% -> 99.5%): a step, not an oscillation."""
    _, dc, _, _ = _run(preset, vouchers=False)
    util, cap = _panel(dc, "utilization"), _panel(dc, "capacity_gpu_h")
    quiet = (cap[1:] == cap[:-1]).all(axis=1)
    d = np.diff(util, axis=0)
    assert quiet.sum() >= 10
    assert np.abs(d[quiet]).max() < 0.10
    both = quiet[1:] & quiet[:-1]
    undone = (d[1:] * d[:-1] < 0) & (np.minimum(abs(d[1:]), abs(d[:-1])) > 0.03)
    assert not undone[both].any()


@pytest.mark.parametrize("phi", [0.0, 1.0])
def test_inference_per_yuan_of_revenue_falls_with_the_efficiency_trend(phi):
    """A firm's inference is its revenue × the sector's GPU-h per yuan × E(t)^(−φ): with φ = 1
    serving a yuan of revenue takes fewer GPU-hours as the efficiency trend advances; with φ = 0
    as many as at the start (docs/ODD.md §7.4). Capacity is made abundant so none is rationed."""
    from ecosystem import economics

    scenario = load_scenario(str(TINY), [f"compute.inference_efficiency_pass_through={phi}"])
    model = AIEcosystem(scenario, rng=1)
    for _ in range(13):
        model.step()
    state, params = model.state, model.params
    for dc in state.data_centers:
        dc.capacity = 1e15
    compute_market.clear_market(state, params, np.random.default_rng(0))
    s = state.startups
    alive = state.alive_startups()
    alive = alive[s.revenue[alive] > 0]
    assert alive.size > 5
    trend = economics.efficiency(params, state.month)
    assert trend > 1.2  # a year in: the trend has moved
    expected = s.revenue[alive] * params.sector_inference[s.sector[alive]] * trend**-phi
    np.testing.assert_allclose(s.inference_gpu_h[alive], expected, rtol=1e-9)


@pytest.mark.parametrize("supply", [0.0, 2000.0])
def test_the_national_chip_supply_caps_new_capacity(supply):
    """Issue 10 point 1, chip limits cap supply: data centers' expansions and governments'
    investment get new capacity only from the year's national chip supply (first come), so the
    GPU-hours granted in a year never exceed supply × hours a month, requests beyond it are cut,
    and the capacity of every center grows by no more than what was granted (beyond the
    sourced planned expansions of its spec, builds announced with their chips)."""
    sc = load_scenario("hangzhou", {"national.chip_supply_gpu_per_year": supply})
    model = AIEcosystem(sc, rng=1)
    hours = sc.national.hours_per_month
    granted_by_year: dict[int, float] = {}
    asked_more = []
    take = model.allocate_chips

    def allocate(gpu_h: float) -> float:
        got = take(gpu_h)
        assert model.state.chips_left >= 0
        year = model.state.month // 12
        granted_by_year[year] = granted_by_year.get(year, 0.0) + got
        asked_more.append(gpu_h > got)
        return got

    model.allocate_chips = allocate
    months = 36
    start = sum(
        dc.capacity
        + dc.pending_gpu_h
        + sum(e.add_gpu_h for e in dc.spec.planned_expansions if e.month < months)
        for dc in model.data_centers
    )
    model.run_for(months)
    assert any(asked_more)  # the cap bound: requests beyond the supply were cut
    for year, got in granted_by_year.items():
        assert got <= supply * hours * (1 + 1e-12), year
    end = sum(dc.capacity + dc.pending_gpu_h for dc in model.data_centers)
    assert end <= start + sum(granted_by_year.values()) * (1 + 1e-12)
    if supply == 0:
        assert end == start
