"""The handbook's prequential protocol: folds and the removal of known-compromised cards.

A fold is 7 days of training, 7 days of delay (their labels are not known yet
when the model goes live, so they are unused) and 7 days of assessment. On
each assessment day, cards that had a fraud between the start of the fold's
training week and 8 days before that day are already known to be compromised;
they would have been blocked, so all their transactions of that day are
dropped. The lower bound (the training week's start) follows the book's own
procedure: what the fold's data shows, not the whole history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np

from friction.errors import InvalidInput
from friction.offline.handbook_stream import DELAY_DAYS, I64, Stream

Protocol = Literal["validation", "test"]
TRAIN_DAYS = 7
ASSESS_DAYS = 7
FOLD_STARTS: dict[str, tuple[date, ...]] = {
    "validation": (date(2018, 6, 20), date(2018, 6, 27), date(2018, 7, 4), date(2018, 7, 11)),
    "test": (date(2018, 7, 25), date(2018, 8, 1), date(2018, 8, 8), date(2018, 8, 15)),
}
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class Fold:
    """One fold, in epoch day numbers (the unit of ``Stream.day``)."""

    train_start: int

    @property
    def train_days(self) -> range:
        return range(self.train_start, self.train_start + TRAIN_DAYS)

    @property
    def assess_days(self) -> range:
        first = self.train_start + TRAIN_DAYS + DELAY_DAYS
        return range(first, first + ASSESS_DAYS)

    @property
    def label(self) -> str:
        """The training week's first date, for tables and JSON."""
        return day_to_date(self.train_start).isoformat()


def day_to_date(day: int) -> date:
    """The calendar date of an epoch day number."""
    return date.fromordinal(_EPOCH.toordinal() + day)


def date_to_day(when: date) -> int:
    """The epoch day number of a calendar date."""
    return when.toordinal() - _EPOCH.toordinal()


def folds_for(protocol: Protocol) -> list[Fold]:
    """The protocol's four folds."""
    return [Fold(date_to_day(start)) for start in FOLD_STARTS[protocol]]


def check_coverage(stream: Stream, folds: list[Fold]) -> None:
    """Refuse to run a fold whose training or assessment days are missing from the data."""
    present = set(np.unique(stream.day).tolist())
    for fold in folds:
        missing = [d for d in (*fold.train_days, *fold.assess_days) if d not in present]
        if missing:
            first = day_to_date(missing[0]).isoformat()
            raise InvalidInput(
                f"fold {fold.label} needs data for {len(missing)} missing days (first {first})",
                fields=["data"],
            )


def train_index(stream: Stream, fold: Fold) -> I64:
    """Rows of the training week."""
    day = stream.day
    mask = (day >= fold.train_days.start) & (day < fold.train_days.stop)
    return np.flatnonzero(mask).astype(np.int64)


def assessment_index(stream: Stream, fold: Fold) -> I64:
    """Rows of the assessment week, without the cards known compromised on each day."""
    day = stream.day
    frauds = (day >= fold.train_start) & (stream.fraud == 1)
    known_from = first_fraud_day(stream.customer[frauds], day[frauds], stream.customer)
    in_week = (day >= fold.assess_days.start) & (day < fold.assess_days.stop)
    # Known on day D when a fraud happened on day D - 8 or earlier (its label is in).
    keep = in_week & (known_from > day - (DELAY_DAYS + 1))
    return np.flatnonzero(keep).astype(np.int64)


def first_fraud_day(fraud_cards: I64, fraud_days: I64, cards: I64) -> I64:
    """For each of ``cards``, the first day it had a fraud (a far-future day when never)."""
    never = np.iinfo(np.int64).max // 2
    if len(fraud_cards) == 0:
        return np.full(len(cards), never, dtype=np.int64)
    order = np.lexsort((fraud_days, fraud_cards))
    unique_cards, first = np.unique(fraud_cards[order], return_index=True)
    first_days = fraud_days[order][first]
    pos = np.clip(np.searchsorted(unique_cards, cards), 0, len(unique_cards) - 1)
    found = unique_cards[pos] == cards
    return np.where(found, first_days[pos], never).astype(np.int64)
