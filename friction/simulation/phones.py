"""Phone numbers from ranges reserved for fiction, so a demo can never text a real person.

Ofcom keeps 07700 900000–900999 and a set of 1,000-number landline blocks for
drama; NANP keeps 555-0100–0199 in every area code. France, Spain and the UAE
publish no range we trust, so their customers get UK fictional numbers (think
expats): a locale never implies the number's country.
"""

from __future__ import annotations

import numpy as np

from friction.errors import PhoneRangeExhausted

# E.164 prefixes of the Ofcom drama blocks; each is followed by three free digits.
UK_BLOCKS = (
    "+447700900",
    "+441134960", "+441144960", "+441154960", "+441164960", "+441174960", "+441184960",
    "+441214960", "+441314960", "+441414960", "+441514960", "+441614960", "+441914980",
    "+442079460", "+441632960",
)  # fmt: skip
US_AREAS = (
    201, 202, 206, 212, 213, 214, 303, 305, 312, 404, 415, 503, 512, 602, 617, 646,
    702, 713, 718, 773, 786, 805, 818, 917, 919, 972,
)  # fmt: skip


def uk_numbers() -> list[str]:
    """Every UK fictional number, mobiles first (SMS demos prefer them)."""
    return [f"{block}{n:03d}" for block in UK_BLOCKS for n in range(1000)]


def us_numbers() -> list[str]:
    """Every NANP 555-01xx fictional number over the listed area codes."""
    return [f"+1{area}55501{n:02d}" for area in US_AREAS for n in range(100)]


class PhoneBook:
    """Hands out unique fictional numbers per locale, in a seeded order."""

    def __init__(self, rng: np.random.Generator) -> None:
        uk = uk_numbers()
        mobiles, landlines = uk[:1000], uk[1000:]
        self._pools: dict[str, list[str]] = {
            # pop() takes from the end: mobiles are handed out before landlines
            "uk": _shuffled(rng, landlines) + _shuffled(rng, mobiles),
            "us": _shuffled(rng, us_numbers()),
        }

    def take(self, locale: str) -> str:
        """A number never handed out before; US locales get NANP, the rest UK numbers."""
        order = ("us", "uk") if locale == "en-US" else ("uk", "us")
        for name in order:
            pool = self._pools[name]
            if pool:
                return pool.pop()
        raise PhoneRangeExhausted("no fictional phone numbers left")


def capacity() -> int:
    """How many customers the fictional ranges can number."""
    return len(UK_BLOCKS) * 1000 + len(US_AREAS) * 100


def _shuffled(rng: np.random.Generator, numbers: list[str]) -> list[str]:
    order = rng.permutation(len(numbers))
    return [numbers[i] for i in order]
