"""The rest of China for single-city presets, derived from the national model (design §6.1):
the western hubs' background demand, the other cities' pull on mobile founders and the part of
the national mobile VC pool the other cities leave each city.

A single-city preset models one city and the four western hubs. Left alone, the hubs' only
outside users would be the "users outside the model" of the hub files, and the one modelled
city would own all the capacity the other nine cities buy in the national run (Beijing's
startups alone bought ~40% of the hubs, issue 10). Here the national ``china`` preset is run at
its default parameters, or at ``--set`` overrides the block lists (``block_overrides``; design
§2.8: where demand comes from value, a posterior's medians), over a few seeds; at every hub data
center the demand that is *not* the
city's own is

    Q_c,j(t) = background sold at j (users outside the model) + Σ_{c' ≠ c} bought by c' at j

and it becomes center j's background in preset c, in the two fields the schema has
(``background_demand_gpu_h`` B and ``background_growth_per_year`` g, used as
B · (1 + g)^t · (p/p₀)^−ε by ``compute_market.background_demand``):

- Q is first expressed at the center's initial price p₀, Q*(t) = Q(t) · (p(t)/p₀)^ε with the
  national run's price path and the common ``background_price_elasticity`` ε, so that the single
  city's own price response gives Q back when its prices follow the national path;
- yearly means Y_k of Q* (averaged over seeds) give g as the least-squares log-linear trend
  from the second year on and B = Y_2 / (1 + g)^1.5 (anchored on the second year, whose middle
  is 1.5 years in; the first year is a start-up transient: the cluster index counts the months
  before the start as the VC pool fully raised).

The same run gives each single city the other cities' pull on mobile founders
(``founding.mobile_founder_weights``, design §6.2): W_rest,c(t) = Σ_{r ≠ c} w_r(t), end-of-month
weights, fitted the same way (level on the second year, log-linear trend) into
``national.mobile_founder_rival_weight`` and ``mobile_founder_rival_growth_per_year``; city c then
receives Φ · w_c / (w_c + W_rest) mobile founders a year in expectation, its national-run share
when its own state follows its national path.

And it gives each single city the national mobile VC pool the other cities leave it (design
§6.1, §6.2: the part 1 − ``national.vc_home_bias`` of every city's VC money, which funds
justified rounds left unfunded anywhere, best value for money first), the VC analogue of the
hub background:

    M_c(t) = M(t) − 12 · Σ_{c' ≠ c} D_c'(t)      (yuan a year)

with M(t) the national mobile pool's money for the year and D_c'(t) what the startups of city
c' drew from it in month t, fitted the same way into ``national.vc_mobile_pool_yuan_per_year`` and
``vc_mobile_pool_growth_per_year`` (where a yearly mean from the anchor year on is zero the
trend is undefined: the level is the mean over those years and the growth 0; with
``vc_home_bias`` = 1 there is no mobile pool and the fields are not written, so a lone city
keeps its own money whatever h a sweep draws). In the
single-city run that pool funds only the city's justified rounds its own pool (h × its VC)
leaves unfunded, so it meets the mobile money as it did in the national run: what the others
take is gone, the rest is open to it by value for money. Its expected draw is then its
national-run draw when its own state follows its national path. (A pool of only the city's
expected draw would not do: draws are a few large rounds a year, which a budget of their yearly
mean, paced monthly, can never fit.)

``aieco derive-background`` writes these fields with their provenance into each single-city
preset (a marked block at the end of the file, replaced on each run; the block holds a
``[national]`` table, so a single-city preset must not have its own). The national run does not
depend on the single-city presets, so one pass suffices (no fixed point) — unless the overrides
come from a posterior calibrated on a single-city preset, whose background they then shape:
calibrate, derive, calibrate again until the posterior stops moving (design §2.8).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: The national preset the background is derived from.
NATIONAL_PRESET = "china"
BLOCK_START = "# --- Hub background: written by `aieco derive-background` (do not edit by hand) ---"
BLOCK_END = "# --- end of the derived hub background ---"
#: The schema's bounds on ``background_growth_per_year``.
GROWTH_MIN, GROWTH_MAX = -0.5, 2.0
_PROVENANCE = re.compile(
    r"derived from the national run at commit (?P<commit>\S+) by `aieco derive-background` "
    r"\(preset (?P<preset>\w+), default parameters(?: with the (?P<n>\d+) overrides listed in "
    r"the block)?, seeds (?P<seeds>[\d, ]+), (?P<years>\d+) years\)"
)
#: How the block lists the parameters the national run was derived at (one per line).
OVERRIDE_LINE = "# derived with --set "


@dataclass
class HubDemand:
    """Monthly demand at each hub center, from one or more national runs (seed means)."""

    centers: list[tuple[str, str]]  # (hub region key, center key)
    cities: list[str]  # city region keys, in the order of ``by_city``'s rows
    background: np.ndarray  # (months, centers): users outside the model, at p₀
    by_city: np.ndarray  # (months, cities, centers): each city's purchases, at p₀
    weights: np.ndarray  # (months, cities): each city's weight for mobile founders
    vc_mobile: np.ndarray  # (months, cities): VC each city drew from the national mobile pool
    vc_mobile_pool: np.ndarray  # (months,): the national mobile pool's money for the year
    seeds: list[int]
    years: int
    #: Scenario overrides (dotted path -> value) the national runs were made with.
    overrides: dict = field(default_factory=dict)

    def others(self, city: str) -> np.ndarray:
        """(months, centers): what is not ``city``'s own demand at each hub center, at p₀."""
        keep = np.array([c != city for c in self.cities])
        return self.background + self.by_city[:, keep].sum(axis=1)

    def rival_weight(self, city: str) -> np.ndarray:
        """(months, 1): the other cities' summed weight for mobile founders."""
        keep = np.array([c != city for c in self.cities])
        return self.weights[:, keep].sum(axis=1, keepdims=True)

    def vc_left(self, city: str) -> np.ndarray:
        """(months, 1): the mobile VC pool's money a year less what the other cities drew from
        it (each month's draw × 12), at least 0."""
        keep = np.array([c != city for c in self.cities])
        left = self.vc_mobile_pool - 12.0 * self.vc_mobile[:, keep].sum(axis=1)
        return np.maximum(left, 0.0)[:, None]


def national_hub_demand(seeds: list[int], years: int, overrides=None) -> HubDemand:
    """Run the national preset for ``years`` per seed and record the hub centers' demand."""
    from ecosystem.founding import mobile_founder_weights
    from ecosystem.model import AIEcosystem
    from ecosystem.scenario import load_scenario

    cfg = load_scenario(NATIONAL_PRESET, overrides)
    months = 12 * years
    eps = cfg.compute.background_price_elasticity
    bg_runs, city_runs, weight_runs, vc_runs, pool_runs = [], [], [], [], []
    for seed in seeds:
        model = AIEcosystem(cfg, rng=seed)
        kinds = model.region_kinds
        hubs = [j for j, dc in enumerate(model.data_centers) if kinds[dc.region] == "hub"]
        cities = [r for r, k in enumerate(kinds) if k == "city"]
        p0 = np.array([model.data_centers[j].spec.price_yuan_per_gpu_h for j in hubs])
        bg, by_city = np.zeros((months, len(hubs))), np.zeros((months, len(cities), len(hubs)))
        weights = np.zeros((months, len(cities)))
        vc_mobile = np.zeros((months, len(cities)))
        vc_pool = np.zeros(months)
        for t in range(months):
            price = np.array([model.data_centers[j].price for j in hubs])  # this month's
            model.step()
            at_p0 = (price / p0) ** eps
            bg[t] = [model.data_centers[j].sold_background for j in hubs] * at_p0
            by_city[t] = model.state.sales_by_region[np.ix_(cities, hubs)] * at_p0
            weights[t] = mobile_founder_weights(model.state, model.params)[cities]
            vc_mobile[t] = model.state.history[-1]["counters"]["vc_mobile_yuan"][cities]
            vc_pool[t] = model.state.vc_mobile.annual
        bg_runs.append(bg)
        city_runs.append(by_city)
        weight_runs.append(weights)
        vc_runs.append(vc_mobile)
        pool_runs.append(vc_pool)
    keys = model.region_keys
    centers = [(keys[model.data_centers[j].region], model.data_centers[j].key) for j in hubs]
    return HubDemand(
        centers=centers,
        cities=[keys[r] for r in cities],
        background=np.mean(bg_runs, axis=0),
        by_city=np.mean(city_runs, axis=0),
        weights=np.mean(weight_runs, axis=0),
        vc_mobile=np.mean(vc_runs, axis=0),
        vc_mobile_pool=np.mean(pool_runs, axis=0),
        seeds=list(seeds),
        years=years,
        overrides=dict(overrides or {}),
    )


#: The year the fitted level passes through (1-based): the first year is a start-up transient
#: (the cluster index counts months before the start as the VC pool fully raised, so weights
#: and early purchases sit above their later path).
ANCHOR_YEAR = 2


def anchor_year(years: int) -> int:
    """The year the level is anchored on for a horizon of ``years`` (the first if only one)."""
    return min(ANCHOR_YEAR, years)


def yearly_means(monthly: np.ndarray) -> np.ndarray:
    """(years, columns) means of a (months, columns) series (whole years only)."""
    years = monthly.shape[0] // 12
    return monthly[: 12 * years].reshape(years, 12, -1).mean(axis=1)


def level_and_growth(monthly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B, g) per column of a (months, columns) series: g the least-squares log-linear trend of
    the yearly means from the anchor year on, B the anchor year's mean taken back to month 0 at
    g (the fitted curve B · (1 + g)^t passes through the anchor year's mean at its middle)."""
    yearly = yearly_means(monthly)
    a = anchor_year(yearly.shape[0])
    log_y = np.log(np.maximum(yearly[a - 1 :], 1e-12))
    if log_y.shape[0] >= 2:
        t = np.arange(log_y.shape[0]) - (log_y.shape[0] - 1) / 2
        slope = (t[:, None] * (log_y - log_y.mean(axis=0))).sum(axis=0) / (t * t).sum()
    else:
        slope = np.zeros(yearly.shape[1])
    growth = np.clip(np.expm1(slope), GROWTH_MIN, GROWTH_MAX)
    slope = np.log1p(growth)
    level = yearly[a - 1] / np.exp((a - 0.5) * slope)
    return level, growth


def level_and_growth_or_flat(monthly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``level_and_growth`` for a series that may be zero (the mobile pool left to a city when
    the others drew all of it): where a yearly mean from the anchor year on is zero (below 10⁻⁹ of
    the largest) the
    log-linear trend is undefined, so that column gets the mean of those yearly means as its
    level and growth 0."""
    level, growth = level_and_growth(monthly)
    yearly = yearly_means(monthly)[anchor_year(monthly.shape[0] // 12) - 1 :]
    flat = (yearly <= 1e-9 * yearly.max(axis=0)).any(axis=0)  # zero, up to rounding
    return np.where(flat, yearly.mean(axis=0), level), np.where(flat, 0.0, growth)


def single_city_presets() -> dict[str, str]:
    """Shipped presets with exactly one city region (and hubs): preset name -> city key."""
    from ecosystem.scenario import load_scenario, preset_names

    out = {}
    for name in preset_names():
        if name == NATIONAL_PRESET:
            continue
        cfg = load_scenario(name)
        cities = [k for k, r in cfg.regions.items() if r.kind == "city"]
        hubs = [k for k, r in cfg.regions.items() if r.kind == "hub"]
        if len(cities) == 1 and hubs:
            out[name] = cities[0]
    return out


def commit_id(where: Path) -> str:
    """Short commit of the checkout holding ``where`` ("+changes" if it has uncommitted edits)."""
    try:
        git = ["git", "-C", str(where)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def provenance(commit: str, demand: HubDemand) -> str:
    seeds = ", ".join(str(s) for s in demand.seeds)
    n = len(demand.overrides)
    at = (
        f"default parameters with the {n} overrides listed in the block"
        if n
        else "default parameters"
    )
    return (
        f"derived from the national run at commit {commit} by `aieco derive-background` "
        f"(preset {NATIONAL_PRESET}, {at}, seeds {seeds}, {demand.years} years)"
    )


def parse_provenance(source: str) -> dict | None:
    """commit, preset, seeds, years and the number of overrides of a derived field's source
    (None if not derived)."""
    m = _PROVENANCE.search(source)
    if m is None:
        return None
    seeds = [int(s) for s in m["seeds"].split(",")]
    return {
        "commit": m["commit"],
        "preset": m["preset"],
        "seeds": seeds,
        "years": int(m["years"]),
        "overrides": int(m["n"] or 0),
    }


def block_overrides(text: str) -> list[str]:
    """The ``KEY=VALUE`` overrides a preset's derived block was made with (empty if none, or if
    the preset has no block): pass them to ``national_hub_demand`` to derive it again."""
    start, end = text.find(BLOCK_START), text.find(BLOCK_END)
    if start < 0 or end < start:
        return []
    lines = text[start:end].splitlines()
    return [line[len(OVERRIDE_LINE) :].strip() for line in lines if line.startswith(OVERRIDE_LINE)]


def block(city: str, demand: HubDemand, commit: str) -> str:
    """The TOML block of a single-city preset: each hub center's derived background."""
    from ecosystem.scenario.toml_io import _inline as toml_inline

    level, growth = level_and_growth(demand.others(city))
    prov = provenance(commit, demand)
    n_other = len(demand.cities) - 1
    lines = [
        BLOCK_START,
        "# What the rest of China buys at each hub in the national run (ecosystem/background.py):",
        "# users outside the model plus the other cities' purchases; the city's own are modelled.",
        *(f"{OVERRIDE_LINE}{k}={toml_inline(v)}" for k, v in demand.overrides.items()),
    ]
    a = anchor_year(demand.years)
    nth = {1: "first", 2: "second"}[a]
    for (hub, key), b, g in zip(demand.centers, level, growth, strict=True):
        lines += [
            "",
            f"[regions.{hub}.data_centers.{key}]",
            f'background_demand_gpu_h = {{ value = {b:.6g}, source = "{prov}: users outside '
            f"the model plus the other {n_other} cities' purchases at this center, {nth} year's "
            f'mean at its initial price, taken back to month 0 at the trend" }}',
            f'background_growth_per_year = {{ value = {g:.4f}, source = "{prov}: log-linear '
            f'trend of the same demand from year {a} to {demand.years}" }}',
        ]
    w, gw = level_and_growth(demand.rival_weight(city))
    lines += [
        "",
        "# The other cities' pull on mobile founders (ecosystem/founding.py, design §6.2):",
        "[national]",
        f'mobile_founder_rival_weight = {{ value = {w[0]:.6g}, source = "{prov}: the other '
        f"{n_other} cities' summed destination weight for mobile founders (end-of-month), "
        f"{nth} year's mean taken back to month 0 at the trend\" }}",
        f'mobile_founder_rival_growth_per_year = {{ value = {gw[0]:.4f}, source = "{prov}: '
        f'log-linear trend of the same weight from year {a} to {demand.years}" }}',
    ]
    if not np.any(demand.vc_mobile_pool > 0):
        # h = 1: no national mobile pool. Writing a derived pool of 0 would take the 1 − h share
        # of the city's own money away in a single-city run with a drawn h < 1; without the
        # fields a lone city's mobile pool is (1 − h) of its own money, so it keeps all of it.
        lines += [
            "# No national mobile VC pool in the national run (national.vc_home_bias = 1): the",
            "# city keeps all of its own VC money (no vc_mobile_pool_* fields).",
            BLOCK_END,
        ]
        return "\n".join(lines) + "\n"
    d, gd = level_and_growth_or_flat(demand.vc_left(city))
    lines += [
        "# The national mobile VC pool the other cities leave this city (ecosystem/firm_life.py,",
        "# design §6.1-6.2): it funds the city's justified rounds its own pool leaves unfunded.",
        f'vc_mobile_pool_yuan_per_year = {{ value = {d[0]:.6g}, source = "{prov}: the mobile '
        f"pool ((1 − vc_home_bias) × the {n_other + 1} cities' pools) less 12 × what the other "
        f"{n_other} cities' startups drew from it a month, {nth} year's mean taken back to "
        f'month 0 at the trend (flat at the mean from year {a} on if some year left nothing)" }}',
        f'vc_mobile_pool_growth_per_year = {{ value = {gd[0]:.4f}, source = "{prov}: '
        f'log-linear trend of the same money from year {a} to {demand.years}" }}',
    ]
    lines.append(BLOCK_END)
    return "\n".join(lines) + "\n"


def replace_block(text: str, new_block: str) -> str:
    """The preset text with its derived block replaced (or appended)."""
    pattern = re.compile(re.escape(BLOCK_START) + r".*?" + re.escape(BLOCK_END) + r"\n?", re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: new_block, text)
    return text.rstrip("\n") + "\n\n" + new_block


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def preset_folder() -> Path:
    from ecosystem import presets

    return Path(presets.__file__).parent


def derive_background(
    seeds: list[int],
    years: int,
    write: bool = True,
    folder: Path | None = None,
    overrides: dict | None = None,
) -> dict[str, str]:
    """Derive every single-city preset's hub background; write it (atomically, all presets
    prepared before any is written) unless ``write`` is False. Returns preset -> block.
    ``overrides`` (dotted path -> value) set parameters of the national runs (say, a
    posterior's medians: where demand comes from value, design §2.8, the defaults are not a
    neutral choice); the block lists them and its provenance counts them."""
    folder = folder or preset_folder()
    commit = commit_id(folder)  # the code that runs (before the long runs: edits may follow)
    targets = single_city_presets()
    demand = national_hub_demand(seeds, years, overrides)
    blocks = {name: block(city, demand, commit) for name, city in targets.items()}
    texts = {
        name: replace_block((folder / f"{name}.toml").read_text(encoding="utf-8"), b)
        for name, b in blocks.items()
    }
    if write:
        for name, text in texts.items():
            write_atomic(folder / f"{name}.toml", text)
    return blocks
