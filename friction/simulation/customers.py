"""Genuine behaviour: each customer's card payments and transfers over the run.

Customers keep to their habits — favourite shops, typical baskets, local daily
rhythm, busier Fridays and Saturdays — with the noise that makes fraud hard to
spot: a new shop now and then, the occasional big purchase, a new payee.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np

from friction.simulation.catalogue import (
    CATEGORIES,
    HOUR_PROFILE,
    MOBILE_NET,
    WEEKDAY_FACTOR,
)
from friction.simulation.world import Customer, Device, Draft, FloatArray, IntArray, World

DAY_S = 86_400
HOUR_P = np.array(HOUR_PROFILE) / sum(HOUR_PROFILE)
EXPLORE = 0.07  # share of card payments at a shop the customer has not favoured
BIG_TICKET = 0.015  # share of card payments that are a rare big purchase
P2P_PER_DAY = 0.07
NEW_PAYEE_PER_DAY = 0.012


class Clock:
    """The run's calendar: epoch of day 0 and each day's weekday factor."""

    def __init__(self, start: date, days: int) -> None:
        self.start = start
        self.days = days
        self.t0 = int((start - date(1970, 1, 1)).days) * DAY_S
        self.end = self.t0 + days * DAY_S
        weekday = start.weekday()
        self.factors = np.array([WEEKDAY_FACTOR[(weekday + d) % 7] for d in range(days)])

    def local_times(
        self, rng: np.random.Generator, days: IntArray, utc_offset: int, hour_p: FloatArray = HOUR_P
    ) -> IntArray:
        """UTC epoch seconds of moments on the given days, drawn from a local hour profile."""
        hours = rng.choice(24, len(days), p=hour_p)
        seconds = rng.integers(0, 3600, len(days))
        ts = self.t0 + days * DAY_S + hours * 3600 + seconds - utc_offset * 3600
        return np.asarray(ts, dtype=np.int64)

    def inside(self, ts: int) -> bool:
        """Whether a moment falls within the run."""
        return self.t0 <= ts < self.end


def genuine_drafts(world: World, clock: Clock, customer: Customer) -> list[Draft]:
    """All genuine payments of one customer, card and transfer, unsorted."""
    drafts = _card_drafts(world, clock, customer)
    drafts.extend(_rent_drafts(world, clock, customer))
    drafts.extend(_p2p_drafts(world, clock, customer))
    drafts.extend(_new_payee_drafts(world, clock, customer))
    return [d for d in drafts if clock.inside(d.ts)]


def _card_drafts(world: World, clock: Clock, customer: Customer) -> list[Draft]:
    """Card payments: Poisson per day, favourite shops mostly, amounts around the habit."""
    rng = world.rng
    counts = rng.poisson(customer.rate * clock.factors)
    n = int(counts.sum())
    days = np.repeat(np.arange(clock.days, dtype=np.int64), counts)
    ts = clock.local_times(rng, days, customer.city.utc_offset).tolist()
    shops = rng.choice(customer.favourites, n, p=customer.favourite_p)
    explore = rng.random(n) < EXPLORE
    if explore.any():
        pool = world.pool(customer.country.code)
        shops[explore] = rng.choice(pool, int(explore.sum()))
    z = rng.standard_normal(n).tolist()
    big = np.where(rng.random(n) < BIG_TICKET, rng.uniform(3.0, 10.0, n), 1.0).tolist()
    device_pick = rng.integers(0, len(customer.devices), n).tolist()
    roaming = (rng.random(n) < 0.2).tolist()
    roam_ip = rng.integers(1, 255, n).tolist()
    terminal_pick = rng.integers(0, 4, n).tolist()
    scale = customer.spend * customer.country.fx * 100.0
    drafts: list[Draft] = []
    for i, shop in enumerate(shops.tolist()):
        merchant = world.merchants[shop]
        kind = CATEGORIES[merchant.category]
        amount = scale * kind.median * math.exp(kind.sigma * z[i]) * big[i]
        draft = Draft(
            ts=ts[i],
            customer=customer,
            merchant=merchant,
            terminal=merchant.terminals[terminal_pick[i] % len(merchant.terminals)],
            amount=max(50, round(amount)),
            channel=merchant.channel,
            scenario="genuine",
        )
        if merchant.channel == "ecom":
            device = customer.devices[device_pick[i]]
            draft.device = _roam(device, roam_ip[i]) if roaming[i] else device
            draft.geo = customer.home
        drafts.append(draft)
    return drafts


def _roam(device: Device, host: int) -> Device:
    """The same phone on a mobile network: device id kept, address changed."""
    return Device(device.id, f"{MOBILE_NET}.{host}")


def _rail_draft(world: World, customer: Customer, ts: int, amount: int, channel: str) -> Draft:
    """A transfer or P2P payment from the customer's own (last) device."""
    rails = world.transfer if channel == "transfer" else world.p2p
    rail = rails[customer.country.code]
    return Draft(
        ts=ts,
        customer=customer,
        merchant=rail,
        terminal=rail.terminals[0],
        amount=max(100, amount),
        channel=channel,
        scenario="genuine",
        device=customer.devices[-1],
        geo=customer.home,
    )


def _rent_drafts(world: World, clock: Clock, customer: Customer) -> list[Draft]:
    """The monthly standing transfer to the customer's first payee (rent, bills)."""
    if not customer.rent:
        return []
    drafts = []
    for day in range(clock.days):
        if (clock.start + timedelta(days=day)).day != customer.rent_day:
            continue
        ts = clock.local_times(world.rng, np.array([day]), customer.city.utc_offset)
        draft = _rail_draft(world, customer, int(ts[0]), customer.rent, "transfer")
        draft.payee = customer.payees[0]
        drafts.append(draft)
    return drafts


def _p2p_drafts(world: World, clock: Clock, customer: Customer) -> list[Draft]:
    """Small P2P payments to friends and family the customer already knows."""
    rng = world.rng
    n = int(rng.poisson(P2P_PER_DAY * clock.days))
    days = rng.integers(0, clock.days, n)
    ts = clock.local_times(rng, days, customer.city.utc_offset).tolist()
    amounts = (rng.lognormal(np.log(25.0), 0.7, n) * customer.country.fx * 100).tolist()
    picks = rng.integers(0, len(customer.payees), n).tolist()
    drafts = []
    for i in range(n):
        draft = _rail_draft(world, customer, ts[i], round(amounts[i]), "p2p")
        draft.payee = customer.payees[picks[i]]
        drafts.append(draft)
    return drafts


def _new_payee_drafts(world: World, clock: Clock, customer: Customer) -> list[Draft]:
    """Genuine transfers to someone new (a builder, a deposit): what scams hide among."""
    rng = world.rng
    n = int(rng.poisson(NEW_PAYEE_PER_DAY * clock.days))
    drafts = []
    for _ in range(n):
        ts = clock.local_times(rng, rng.integers(0, clock.days, 1), customer.city.utc_offset)
        amount = rng.lognormal(np.log(220.0), 0.9) * customer.spend * customer.country.fx * 100
        draft = _rail_draft(world, customer, int(ts[0]), round(amount), "transfer")
        draft.payee = world.new_payee()
        drafts.append(draft)
    return drafts
