"""Fraud scenarios (DESIGN §7), each an incident that adds payments to the stream.

Each leaves the traces a fraud team knows, in the features friction computes,
without a single give-away: card testers fire bursts of tiny payments at
weakly-protected web shops; a compromised terminal runs cloned cards for a few
days; an account taker logs in from a new device and buys resellable goods; a
stolen card shops in an unfamiliar city; a scam victim, coached by a fraudster,
sends a large transfer to a new payee from their own phone.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from friction.simulation.catalogue import (
    CASH_OUT_KINDS,
    CATEGORIES,
    COUNTRIES,
    MULE_NAMES,
    PERSON_NAMES,
)
from friction.simulation.config import BASE_SHARES, Scenario
from friction.simulation.customers import DAY_S, Clock
from friction.simulation.world import (
    Customer,
    Device,
    Draft,
    FloatArray,
    IntArray,
    Merchant,
    Payee,
    World,
)

# Average payments per incident, to turn a share of payments into a number of incidents.
MEAN_SIZE: dict[Scenario, float] = {
    "card_testing": 9.8,
    "compromised_terminal": 18.0,
    "account_takeover": 2.4,
    "stolen_card": 4.0,
    "app_scam": 1.6,
}
# Thieves and testers work around the clock: a flat hour profile, heavier at night.
NIGHT_P = np.array([3.0] * 6 + [1.0] * 14 + [2.0] * 4)
NIGHT_P /= NIGHT_P.sum()
CASH_OUT = frozenset(CATEGORIES.index(c) for c in CATEGORIES if c.key in CASH_OUT_KINDS)

Injector = Callable[[World, Clock], list[Draft]]


def fraud_drafts(world: World, clock: Clock, genuine_rows: int, multiplier: float) -> list[Draft]:
    """Incidents of every scenario, sized so fraud is ≈ multiplier × base share of rows."""
    drafts: list[Draft] = []
    for scenario, inject in INJECTORS.items():
        expected = BASE_SHARES[scenario] * multiplier * genuine_rows / MEAN_SIZE[scenario]
        for _ in range(int(world.rng.poisson(expected))):
            drafts.extend(d for d in inject(world, clock) if clock.inside(d.ts))
    return drafts


def _victim(world: World) -> Customer:
    return world.customers[int(world.rng.integers(0, len(world.customers)))]


def _pick(world: World, pool: IntArray) -> Merchant:
    """A merchant from a pool, or from all merchants when the pool is empty."""
    pool = pool if len(pool) else world.pool()
    return world.merchants[int(world.rng.choice(pool))]


def _elsewhere(world: World) -> tuple[float, float]:
    """Somewhere in one of the world's cities: where a fraudster's device appears to be."""
    country = COUNTRIES[int(world.rng.integers(0, len(COUNTRIES)))]
    city = country.cities[int(world.rng.integers(0, len(country.cities)))]
    jitter = world.rng.normal(0.0, 0.05, 2).tolist()
    return round(city.lat + jitter[0], 4), round(city.lon + jitter[1], 4)


def _start(world: World, clock: Clock, hour_p: FloatArray = NIGHT_P) -> int:
    """A moment in the run, drawn by UTC hour from ``hour_p``."""
    day = world.rng.integers(0, clock.days, 1)
    return int(clock.local_times(world.rng, day, 0, hour_p)[0])


def _draft(
    customer: Customer,
    merchant: Merchant,
    ts: int,
    amount: float,
    *,
    terminal: str | None = None,
    device: Device | None = None,
    geo: tuple[float, float] | None = None,
    payee: Payee | None = None,
) -> Draft:
    """A fraud payment; without a terminal given, one of the merchant's (fixed by the time)."""
    return Draft(
        ts=ts,
        customer=customer,
        merchant=merchant,
        terminal=terminal or merchant.terminals[ts % len(merchant.terminals)],
        amount=max(50, round(amount)),
        channel=merchant.channel,
        scenario="",
        device=device,
        payee=payee,
        geo=geo,
    )


def card_testing(world: World, clock: Clock) -> list[Draft]:
    """A burst of 4–15 tiny web payments at new shops, sometimes followed by a cash-out."""
    rng, victim = world.rng, _victim(world)
    device, geo = world.new_device(), _elsewhere(world)
    testable = np.array([m.idx for m in world.merchants if m.testable], dtype=np.int64)
    shops = [_pick(world, testable) for _ in range(int(rng.integers(2, 6)))]
    ts = _start(world, clock)
    drafts = []
    for _ in range(int(rng.integers(4, 16))):
        ts += int(rng.exponential(90.0)) + 5
        shop = shops[int(rng.integers(0, len(shops)))]
        drafts.append(
            _draft(victim, shop, ts, float(rng.integers(50, 300)), device=device, geo=geo)
        )
    if rng.random() < 0.3:
        ts += int(rng.uniform(600, 7200))
        shop = _pick(world, _cash_out(world, "ecom"))
        amount = rng.lognormal(np.log(300.0), 0.5) * victim.country.fx * 100
        drafts.append(_draft(victim, shop, ts, amount, device=device, geo=geo))
    return _tag(drafts, "card_testing")


def compromised_terminal(world: World, clock: Clock) -> list[Draft]:
    """For 2–5 days a quiet shop's terminal takes several cloned-card payments a day."""
    rng = world.rng
    quiet = [m.idx for m in world.merchants if m.channel == "pos" and m.popularity < 1.0]
    shop = _pick(world, np.array(quiet, dtype=np.int64))
    terminal = shop.terminals[int(rng.integers(0, len(shop.terminals)))]
    first = int(rng.integers(0, clock.days))
    drafts = []
    for day in range(first, min(clock.days, first + int(rng.integers(2, 6)))):
        for _ in range(1 + int(rng.poisson(5.0))):
            victim = _victim(world)
            ts = clock.t0 + day * DAY_S + int(rng.integers(0, DAY_S))
            amount = rng.lognormal(np.log(70.0), 0.6) * victim.country.fx * 100
            drafts.append(_draft(victim, shop, ts, amount, terminal=terminal))
    return _tag(drafts, "compromised_terminal")


def account_takeover(world: World, clock: Clock) -> list[Draft]:
    """A new device buys resellable goods and may empty the account to a mule within hours."""
    rng, victim = world.rng, _victim(world)
    device, geo = world.new_device(), _elsewhere(world)
    ts = _start(world, clock)
    fx = victim.country.fx * 100
    drafts = []
    for _ in range(int(rng.integers(1, 4))):
        ts += int(rng.uniform(60, 3600))
        shop = _pick(world, _cash_out(world, "ecom"))
        amount = rng.lognormal(np.log(350.0), 0.6) * max(victim.spend, 0.6) * fx
        drafts.append(_draft(victim, shop, ts, amount, device=device, geo=geo))
    if rng.random() < 0.4:
        rail = world.transfer[victim.country.code]
        amount = rng.lognormal(np.log(1500.0), 0.5) * fx
        drafts.append(
            _draft(
                victim,
                rail,
                ts + int(rng.uniform(60, 1800)),
                amount,
                device=device,
                geo=geo,
                payee=world.new_payee(MULE_NAMES),
            )
        )
    return _tag(drafts, "account_takeover")


def stolen_card(world: World, clock: Clock) -> list[Draft]:
    """A lost or stolen card used at tills in another city, for unusual sums, within a day."""
    rng, victim = world.rng, _victim(world)
    abroad = rng.random() < 0.3
    pool = world.pool(None if abroad else victim.country.code, "pos")
    pool = np.array([i for i in pool if world.merchants[i].city != victim.city], dtype=np.int64)
    ts = _start(world, clock)
    drafts = []
    for _ in range(int(rng.integers(2, 7))):
        ts += int(rng.uniform(300, 6 * 3600))
        shop = _pick(world, pool)
        # thieves do not know the victim's habits: a few contactless probes, then big baskets
        base = rng.uniform(5.0, 30.0) if rng.random() < 0.2 else rng.lognormal(np.log(240.0), 0.7)
        drafts.append(_draft(victim, shop, ts, base * victim.country.fx * 100))
    return _tag(drafts, "stolen_card")


def app_scam(world: World, clock: Clock) -> list[Draft]:
    """A coached customer sends one or more large transfers to a new payee, from their phone."""
    rng, victim = world.rng, _victim(world)
    payee = world.new_payee(MULE_NAMES if rng.random() < 0.5 else PERSON_NAMES)
    daytime = np.array([0.0] * 9 + [1.0] * 10 + [0.3] * 5)
    ts = _start(world, clock, daytime / daytime.sum()) - victim.city.utc_offset * 3600
    channel = "p2p" if rng.random() < 0.15 else "transfer"
    rail = (world.p2p if channel == "p2p" else world.transfer)[victim.country.code]
    drafts = []
    for _ in range(1 + int(rng.poisson(0.6))):
        amount = rng.lognormal(np.log(1100.0), 0.7) * victim.country.fx * 100
        drafts.append(
            _draft(
                victim, rail, ts, amount, payee=payee, device=victim.devices[-1], geo=victim.home
            )
        )
        ts += int(rng.uniform(1800, 2 * DAY_S))
    return _tag(drafts, "app_scam")


NOVEL_BIN_PREFIX = "539999"
"""A range the world's issuers never used (``catalogue.BINS``): a breached issuer's cards."""


def bin_attack(world: World, clock: Clock) -> list[Draft]:
    """One card of a breached range, in the hands of a ring: one to three ordinary web
    purchases in a day, sized like the cardholder's own, in daytime. Nothing the features
    see is unusual, so the bundled model lets most through; a rule on the range does not."""
    rng, victim = world.rng, _victim(world)
    card = (world.hex_id("tok_", 12), f"{NOVEL_BIN_PREFIX}{int(rng.integers(0, 100)):02d}",
            f"{int(rng.integers(0, 10_000)):04d}")  # fmt: skip
    device = world.new_device()
    daytime = np.array([0.0] * 8 + [1.0] * 12 + [0.5] * 4)
    ts = _start(world, clock, daytime / daytime.sum()) - victim.city.utc_offset * 3600
    shops = world.pool(victim.country.code, "ecom")
    drafts = []
    for _ in range(int(rng.integers(1, 4))):
        ts += int(rng.uniform(600, 6 * 3600))
        amount = rng.lognormal(np.log(45.0), 0.5) * victim.spend * victim.country.fx * 100
        draft = _draft(victim, _pick(world, shops), ts, amount, device=device)
        draft.card = card
        drafts.append(draft)
    return _tag(drafts, "bin_attack")


def _cash_out(world: World, channel: str) -> IntArray:
    """Shops selling resellable goods through ``channel``."""
    return np.array(
        [i for i in world.pool(None, channel) if world.merchants[i].category in CASH_OUT],
        dtype=np.int64,
    )


def _tag(drafts: list[Draft], scenario: Scenario) -> list[Draft]:
    for draft in drafts:
        draft.scenario = scenario
    return drafts


INJECTORS: dict[Scenario, Injector] = {
    "card_testing": card_testing,
    "compromised_terminal": compromised_terminal,
    "account_takeover": account_takeover,
    "stolen_card": stolen_card,
    "app_scam": app_scam,
}
