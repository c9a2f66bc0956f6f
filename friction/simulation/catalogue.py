"""Static facts the simulated world is drawn from: countries, cities, shop kinds, names.

Kept apart from the sampling code so that the world's shape can be read (and
tuned) in one place. Amounts are medians in GBP; a country's ``fx`` converts
them into its currency.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class City:
    """A place where customers live and shops stand; ``utc_offset`` shifts daily rhythm."""

    name: str
    lat: float
    lon: float
    utc_offset: int


@dataclass(frozen=True, slots=True)
class Country:
    """A home market: its locale, currency, exchange factor and cities."""

    code: str
    locale: str
    currency: str
    fx: float
    weight: float
    cities: tuple[City, ...]


@dataclass(frozen=True, slots=True)
class Category:
    """A kind of shop: MCC, how it sells, typical basket (GBP median, log-sd), popularity."""

    key: str
    mcc: str
    channel: str
    median: float
    sigma: float
    weight: float
    names: tuple[str, ...]


COUNTRIES: tuple[Country, ...] = (
    Country("GB", "en-GB", "GBP", 1.0, 0.38, (
        City("London", 51.5072, -0.1276, 0),
        City("Manchester", 53.4808, -2.2426, 0),
        City("Birmingham", 52.4862, -1.8904, 0),
    )),
    Country("US", "en-US", "USD", 1.27, 0.2, (
        City("New York", 40.7128, -74.006, -5),
        City("Chicago", 41.8781, -87.6298, -6),
        City("Los Angeles", 34.0522, -118.2437, -8),
    )),
    Country("AE", "ar-AE", "AED", 4.66, 0.14, (
        City("Dubai", 25.2048, 55.2708, 4),
        City("Abu Dhabi", 24.4539, 54.3773, 4),
    )),
    Country("FR", "fr-FR", "EUR", 1.17, 0.16, (
        City("Paris", 48.8566, 2.3522, 1),
        City("Lyon", 45.764, 4.8357, 1),
        City("Marseille", 43.2965, 5.3698, 1),
    )),
    Country("ES", "es-ES", "EUR", 1.17, 0.12, (
        City("Madrid", 40.4168, -3.7038, 1),
        City("Barcelona", 41.3874, 2.1686, 1),
        City("Valencia", 39.4699, -0.3763, 1),
    )),
)  # fmt: skip

CATEGORIES: tuple[Category, ...] = (
    Category("grocery", "5411", "pos", 24.0, 0.7, 0.22, ("Market", "Grocers", "Food Hall")),
    Category("coffee", "5814", "pos", 4.5, 0.4, 0.12, ("Coffee", "Bakery", "Espresso Bar")),
    Category("restaurant", "5812", "pos", 32.0, 0.6, 0.1, ("Kitchen", "Bistro", "Grill")),
    Category("fuel", "5541", "pos", 48.0, 0.4, 0.06, ("Fuel", "Service Station")),
    Category("pharmacy", "5912", "pos", 14.0, 0.6, 0.05, ("Pharmacy", "Chemist")),
    Category("clothing", "5651", "pos", 55.0, 0.7, 0.05, ("Outfitters", "Boutique")),
    Category("taxi", "4121", "ecom", 16.0, 0.5, 0.06, ("Rides", "Cabs")),
    Category("marketplace", "5399", "ecom", 28.0, 0.9, 0.1, ("Marketplace", "Bazaar", "Store")),
    Category("streaming", "5815", "ecom", 9.0, 0.3, 0.04, ("Streaming", "Music", "Play")),
    Category("digital", "5818", "ecom", 6.0, 0.8, 0.04, ("Games", "Apps", "Credits")),
    Category("electronics", "5732", "ecom", 140.0, 0.9, 0.05, ("Electronics", "Tech", "Digital")),
    Category("travel", "4511", "ecom", 180.0, 0.7, 0.03, ("Air", "Travel", "Journeys")),
    Category("hotel", "7011", "ecom", 120.0, 0.6, 0.02, ("Hotels", "Stays")),
    Category("jewellery", "5944", "pos", 220.0, 0.8, 0.01, ("Jewellers", "Gold")),
    Category("gifts", "5947", "ecom", 45.0, 0.8, 0.02, ("Gift Cards", "Vouchers")),
    Category("charity", "8398", "ecom", 12.0, 0.7, 0.03, ("Foundation", "Trust", "Appeal")),
)

CATEGORY_INDEX: dict[str, int] = {c.key: i for i, c in enumerate(CATEGORIES)}

# Kinds that fraudsters like: card testers probe cheap online shops and charities,
# cash-out buys resellable goods.
TESTABLE_KINDS = ("digital", "charity", "streaming", "gifts")
CASH_OUT_KINDS = ("electronics", "jewellery", "gifts", "marketplace")

NAME_WORDS = (
    "Harbour", "Maple", "Cedar", "Atlas", "Juniper", "Beacon", "Orchid", "Summit",
    "Willow", "Falcon", "Lantern", "Meridian", "Saffron", "Copper", "Olive", "Nova",
    "Pioneer", "Riverside", "Sterling", "Horizon", "Amber", "Cobalt", "Laurel", "Quarry",
)  # fmt: skip

PERSON_NAMES = (
    "A. Smith", "J. Patel", "M. Garcia", "L. Martin", "S. Haddad", "R. Jones", "C. Dubois",
    "F. Al Mansouri", "D. Brown", "E. Lopez", "N. Khan", "P. Bernard", "T. Wilson", "Y. Saleh",
)  # fmt: skip
MULE_NAMES = ("Safe Account Services", "Investment Desk", "J. Doe", "Crypto Vault Ltd",
              "Account Protection", "K. Novak", "Tax Refund Office", "M. Rossi")  # fmt: skip

# Local-time weights per hour of day (0 = midnight): quiet nights, a lunch and an evening peak.
HOUR_PROFILE = (
    0.5, 0.25, 0.12, 0.08, 0.08, 0.2, 0.6, 1.5, 2.5, 3.0, 3.5, 4.0,
    5.0, 4.5, 3.5, 3.5, 4.0, 4.5, 5.0, 5.0, 4.0, 3.0, 2.0, 1.0,
)  # fmt: skip
# Weekday factors, Monday first: Friday and Saturday are busy, Sunday is quiet.
WEEKDAY_FACTOR = (0.95, 0.95, 1.0, 1.0, 1.15, 1.2, 0.8)

# Fictional BINs (test ranges); only bin/last4 ever leave the simulator, never a PAN.
BINS = ("424242", "400000", "411111", "510510", "555555", "222300", "520082", "401288")

# Documentation address ranges (RFC 5737): no real host is ever named.
HOME_NETS = ("192.0.2", "203.0.113")
MOBILE_NET = "198.51.100"
