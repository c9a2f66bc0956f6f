"""The simulated world: customers with habits, merchants with terminals, payees, devices.

Everything is drawn once, up front, from the run's Generator; the behaviour
modules (``customers``, ``scenarios``) then only read it. Identifiers are short
hex or zero-padded numbers: no field ever holds a 13-digit run (no PAN look-alike).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from friction.simulation.catalogue import (
    BINS,
    CATEGORIES,
    COUNTRIES,
    HOME_NETS,
    MOBILE_NET,
    NAME_WORDS,
    PERSON_NAMES,
    TESTABLE_KINDS,
    City,
    Country,
)
from friction.simulation.config import SimConfig
from friction.simulation.phones import PhoneBook

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Merchant:
    """A shop, or the bank's own transfer rail: where a payment goes, through which terminal."""

    idx: int
    id: str
    name: str
    mcc: str
    country: str
    city: int
    category: int
    channel: str
    terminals: tuple[str, ...]
    popularity: float
    testable: bool = False


@dataclass(frozen=True, slots=True)
class Device:
    """A phone or computer a customer (or a fraudster) pays from."""

    id: str
    ip: str


@dataclass(frozen=True, slots=True)
class Payee:
    """Someone a customer sends money to."""

    id: str
    name: str
    last4: str


@dataclass(slots=True)
class Customer:
    """A cardholder with a home, a card, devices and spending habits."""

    idx: int
    id: str
    phone: str
    country: Country
    city: City
    home: tuple[float, float]
    token: str
    bin: str
    last4: str
    devices: tuple[Device, ...]
    rate: float
    spend: float
    favourites: IntArray
    favourite_p: FloatArray
    payees: list[Payee] = field(default_factory=list)
    rent: int = 0
    rent_day: int = 1


@dataclass(slots=True)
class Draft:
    """A payment before it has an id: who paid whom, when, how, and the hidden truth."""

    ts: int
    customer: Customer
    merchant: Merchant
    terminal: str
    amount: int
    channel: str
    scenario: str
    device: Device | None = None
    payee: Payee | None = None
    geo: tuple[float, float] | None = None
    card: tuple[str, str, str] | None = None
    """(token, BIN, last 4) of a card other than the customer's own."""


@dataclass(slots=True)
class World:
    """Everyone and everything a run's payments can involve."""

    customers: list[Customer]
    merchants: list[Merchant]
    transfer: dict[str, Merchant]
    p2p: dict[str, Merchant]
    rng: np.random.Generator
    local: dict[tuple[str, int], IntArray] = field(default_factory=dict)
    pools: dict[tuple[str | None, str | None], IntArray] = field(default_factory=dict)

    def pool(self, country: str | None = None, channel: str | None = None) -> IntArray:
        """Merchant indices of a country and/or channel (cached; any country if it has none)."""
        key = (country, channel)
        if key not in self.pools:
            found = np.array(
                [
                    m.idx
                    for m in self.merchants
                    if (country is None or m.country == country)
                    and (channel is None or m.channel == channel)
                ],
                dtype=np.int64,
            )
            if not len(found) and country is not None:
                found = self.pool(None, channel)
            self.pools[key] = found
        return self.pools[key]

    def hex_id(self, prefix: str, width: int = 10) -> str:
        """A fresh random identifier (width ≤ 12 keeps digit runs short)."""
        return f"{prefix}{int(self.rng.integers(0, 16**width)):0{width}x}"

    def new_device(self) -> Device:
        """A device never seen before, on any of the documentation networks."""
        net = (*HOME_NETS, MOBILE_NET)[int(self.rng.integers(0, 3))]
        return Device(self.hex_id("dev_"), f"{net}.{int(self.rng.integers(1, 255))}")

    def new_payee(self, names: tuple[str, ...] = PERSON_NAMES) -> Payee:
        """A payee never paid before."""
        name = names[int(self.rng.integers(0, len(names)))]
        return Payee(self.hex_id("pye_"), name, f"{int(self.rng.integers(0, 10_000)):04d}")


def build_world(config: SimConfig, rng: np.random.Generator) -> World:
    """Draw merchants, rails and customers for a run."""
    merchants = _merchants(config.merchant_count, rng)
    transfer = {c.code: _rail(c, "transfer", 90_000 + i) for i, c in enumerate(COUNTRIES)}
    p2p = {c.code: _rail(c, "p2p", 95_000 + i) for i, c in enumerate(COUNTRIES)}
    world = World([], merchants, transfer, p2p, rng)
    phones = PhoneBook(rng)
    countries = rng.choice(len(COUNTRIES), config.customers, p=_weights(COUNTRIES))
    for idx, country in enumerate(countries):
        world.customers.append(_customer(world, idx, COUNTRIES[int(country)], phones))
    return world


def _weights(countries: tuple[Country, ...]) -> FloatArray:
    weights = np.array([c.weight for c in countries])
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def _merchants(count: int, rng: np.random.Generator) -> list[Merchant]:
    """Merchants spread over countries, cities and kinds of shop."""
    country_idx = rng.choice(len(COUNTRIES), count, p=_weights(COUNTRIES))
    cat_weights = np.array([c.weight for c in CATEGORIES])
    kinds = rng.choice(len(CATEGORIES), count, p=cat_weights / cat_weights.sum())
    popularity = rng.lognormal(0.0, 1.0, count)
    merchants: list[Merchant] = []
    for idx in range(count):
        country = COUNTRIES[int(country_idx[idx])]
        kind = CATEGORIES[int(kinds[idx])]
        word = NAME_WORDS[int(rng.integers(0, len(NAME_WORDS)))]
        suffix = kind.names[int(rng.integers(0, len(kind.names)))]
        mid = f"mer_{idx:05d}"
        if kind.channel == "pos":
            terminals = tuple(f"trm_{idx:05d}_{k}" for k in range(1 + min(3, rng.poisson(0.8))))
        else:
            terminals = (f"trm_{idx:05d}_web",)
        testable = kind.key in TESTABLE_KINDS and bool(rng.random() < 0.4)
        merchants.append(
            Merchant(
                idx,
                mid,
                f"{word} {suffix}",
                kind.mcc,
                country.code,
                int(rng.integers(0, len(country.cities))),
                int(kinds[idx]),
                kind.channel,
                terminals,
                float(popularity[idx]),
                testable,
            )
        )
    return merchants


def _rail(country: Country, channel: str, idx: int) -> Merchant:
    """The bank's own transfer or P2P rail in a country, standing in as the 'merchant'."""
    code = country.code.lower()
    name = "Bank transfer" if channel == "transfer" else "P2P payment"
    mcc = "4829" if channel == "transfer" else "6540"
    terminal = f"trm_{channel}_{code}"
    return Merchant(
        idx, f"mer_{channel}_{code}", name, mcc, country.code, 0, -1, channel, (terminal,), 1.0
    )


def _customer(world: World, idx: int, country: Country, phones: PhoneBook) -> Customer:
    """A customer with a card, one or two devices, favourite shops and payees."""
    rng = world.rng
    city = country.cities[int(rng.integers(0, len(country.cities)))]
    jitter = rng.normal(0.0, 0.04, 2).tolist()
    home = (round(city.lat + jitter[0], 4), round(city.lon + jitter[1], 4))
    devices = [Device(world.hex_id("dev_"), f"{HOME_NETS[idx % 2]}.{rng.integers(1, 255)}")]
    if rng.random() < 0.5:
        devices.append(Device(world.hex_id("dev_"), f"{MOBILE_NET}.{rng.integers(1, 255)}"))
    favourites, favourite_p = _favourites(world, country, country.cities.index(city))
    customer = Customer(
        idx=idx,
        id=f"cus_{idx:05d}",
        phone=phones.take(country.locale),
        country=country,
        city=city,
        home=home,
        token=world.hex_id("tok_", 12),
        bin=BINS[int(rng.integers(0, len(BINS)))],
        last4=f"{int(rng.integers(0, 10_000)):04d}",
        devices=tuple(devices),
        rate=float(rng.lognormal(np.log(1.6), 0.6)),
        spend=float(rng.lognormal(0.0, 0.45)),
        favourites=favourites,
        favourite_p=favourite_p,
    )
    customer.payees = [world.new_payee() for _ in range(1 + min(5, rng.poisson(1.5)))]
    if rng.random() < 0.45:
        rent = rng.lognormal(np.log(900.0), 0.4) * country.fx
        customer.rent, customer.rent_day = round(rent) * 100, int(rng.integers(1, 29))
    return customer


def _favourites(world: World, country: Country, city: int) -> tuple[IntArray, FloatArray]:
    """The shops a customer returns to (home-city tills, national web shops), Zipf-weighted."""
    rng = world.rng
    candidates = world.local.get((country.code, city))
    if candidates is None:
        local = [
            m.idx
            for m in world.merchants
            if m.country == country.code and (m.channel == "ecom" or m.city == city)
        ]
        candidates = np.array(local or [m.idx for m in world.merchants], dtype=np.int64)
        world.local[(country.code, city)] = candidates
    popularity = np.array([world.merchants[i].popularity for i in candidates])
    k = min(len(candidates), 5 + int(rng.poisson(7)))
    chosen = rng.choice(candidates, k, replace=False, p=popularity / popularity.sum())
    zipf = 1.0 / np.arange(1, k + 1) ** 1.1
    return np.asarray(chosen, dtype=np.int64), np.asarray(zipf / zipf.sum(), dtype=np.float64)
