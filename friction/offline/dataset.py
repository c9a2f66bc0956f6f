"""Offline features: replay a payment stream through the online feature code.

``replay`` feeds payments and label arrivals, in time order, to a
``FeatureBook`` — the same object and functions the embedded store serves
from — so the training matrix is what the service would have computed.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from friction.domain.facts import DAY, facts_of
from friction.domain.payment import Payment
from friction.scoring.features import FeatureBook, unusual_amount


@dataclass(frozen=True, slots=True)
class LabelArrival:
    """A label that reaches the feature state for the payment ``payment_id``."""

    payment_id: str
    is_fraud: bool


ReplayEvent = Payment | LabelArrival


@dataclass
class Dataset:
    """A feature matrix with its labels and what each row was."""

    X: NDArray[np.float64]
    y: NDArray[np.int8]
    ts: NDArray[np.float64]
    payment_ids: list[str]
    scenarios: list[str]
    weight: NDArray[np.float64] | None = None
    """Training weight per row, 1 / propensity of the action behind its label (None: all 1)."""

    def weights(self) -> NDArray[np.float64]:
        """The rows' training weights (1 where no propensity was recorded)."""
        return np.ones(len(self.y)) if self.weight is None else self.weight


class Replayer:
    """Feature state plus where each payment happened, so late labels find their terminal."""

    def __init__(self) -> None:
        self.book = FeatureBook()
        self._where: dict[str, tuple[str, str, int, bool]] = {}

    def payment(self, payment: Payment) -> list[float]:
        """Features of the payment against everything before it; then record it."""
        facts = facts_of(payment)
        vector = self.book.observe(facts)
        unusual = unusual_amount(vector)
        self._where[payment.payment_id] = (facts.merchant_id, facts.terminal_id, facts.day, unusual)
        return vector

    def label(self, arrival: LabelArrival) -> None:
        """A label reaches the feature state (ignored for payments never seen)."""
        where = self._where.get(arrival.payment_id)
        if where is not None:
            merchant_id, terminal_id, day, unusual = where
            self.book.label(merchant_id, terminal_id, day, arrival.is_fraud, unusual)


def replay(events: Iterable[ReplayEvent]) -> Iterator[list[float]]:
    """Feature vectors of the payments in ``events``, labels applied where they arrive."""
    replayer = Replayer()
    for event in events:
        if isinstance(event, LabelArrival):
            replayer.label(event)
        else:
            yield replayer.payment(event)


def with_delayed_labels(
    lines: Iterable[dict[str, Any]], delay_days: float
) -> Iterator[tuple[ReplayEvent, dict[str, Any] | None]]:
    """Payments in order, each label arriving ``delay_days`` after its payment."""
    pending: list[tuple[float, int, LabelArrival]] = []
    for n, line in enumerate(lines):
        payment = Payment.model_validate(line["payment"])
        ts = payment.occurred_at.timestamp()
        while pending and pending[0][0] <= ts:
            yield heapq.heappop(pending)[2], None
        heapq.heappush(
            pending,
            (
                ts + delay_days * DAY,
                n,
                LabelArrival(payment.payment_id, bool(line["truth"]["fraud"])),
            ),
        )
        yield payment, line


def build_dataset(lines: Iterable[dict[str, Any]], delay_days: float = 7.0) -> Dataset:
    """The training matrix of a simulated stream, truth labels arriving after ``delay_days``."""
    rows: list[list[float]] = []
    y: list[int] = []
    ts: list[float] = []
    ids: list[str] = []
    scenarios: list[str] = []
    replayer = Replayer()
    for event, line in with_delayed_labels(lines, delay_days):
        if isinstance(event, LabelArrival):
            replayer.label(event)
        elif line is not None:
            rows.append(replayer.payment(event))
            y.append(int(line["truth"]["fraud"]))
            ts.append(event.occurred_at.timestamp())
            ids.append(event.payment_id)
            scenarios.append(str(line["truth"]["scenario"]))
    return Dataset(np.array(rows, dtype=np.float64), np.array(y, dtype=np.int8),
                   np.array(ts), ids, scenarios)  # fmt: skip


def read_lines(path: Path) -> Iterator[dict[str, Any]]:
    """Lines of a JSON-lines stream file."""
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)
