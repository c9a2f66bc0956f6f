"""Does a replayed stream overlap the data the champion was trained on?

A model scores the payments it was trained on too well, and the policy fitted on its
hold-out would be judged on its own fit window: such a backtest flatters both. The model
card records what the model saw (the data's sha256, its date range and a sketch of its
payments, ``registry.payments_sketch``); a stream is refused when it is that very file or
shares payments with it. A card from before the sketch can only be compared by dates.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from friction.offline.cases import Cases
from friction.scoring.registry import ModelCard, shared_payments


class Overlap(BaseModel):
    """What a stream shares with the champion's training data."""

    champion: str
    same_file: bool
    shared_payments: int
    dates_overlap: bool
    sketched: bool
    """Whether the card records its payments (else only file and dates can be compared)."""

    @property
    def refused(self) -> bool:
        """The stream is (part of) the training data."""
        return self.same_file or self.shared_payments > 0

    @property
    def doubtful(self) -> bool:
        """Nothing shared can be shown, but the dates overlap and the card cannot tell."""
        return not self.refused and self.dates_overlap and not self.sketched

    def message(self) -> str:
        """What an analyst must read before trusting the figures."""
        if self.same_file:
            return f"this stream is the very file champion {self.champion} was trained on"
        if self.shared_payments:
            return (
                f"this stream shares payments with champion {self.champion}'s training data "
                f"({self.shared_payments} of its sketched payments)"
            )
        return (
            f"this stream's dates overlap champion {self.champion}'s training data, and its "
            "card does not record which payments it saw (retrain to record them)"
        )


def file_hash(path: Path) -> str:
    """sha256 of a file, as the model card records its training data."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def overlap(card: ModelCard, cases: Cases, data_hash: str = "") -> Overlap:
    """Compare a stream's payments (and file hash, if known) with the card's record."""
    rows = cases.cases
    ids, ts = [c.payment_id for c in rows], [c.ts for c in rows]
    end = card.test_end or card.train_end
    dates = False
    if rows and card.train_start is not None and end is not None:
        first, last = (datetime.fromtimestamp(t, tz=UTC) for t in (rows[0].ts, rows[-1].ts))
        dates = first <= end and last >= card.train_start
    return Overlap(
        champion=card.version,
        same_file=bool(data_hash) and data_hash == card.data_hash,
        shared_payments=shared_payments(card, ids, ts),
        dates_overlap=dates,
        sketched=bool(card.payments_sketch),
    )
