"""friction's online features over the handbook stream, with labels arriving a week late.

The stream is replayed through ``FeatureBook`` — the object the embedded store
serves from — in time order. Each transaction's label is delivered exactly
``delay`` after it (before any payment at the same instant, as the baseline's
window (t - 7 - n, t - 7] counts it), so no feature ever sees a label earlier
than the protocol allows. The matrix is cached on disk, keyed by the data hash
and a hash of the feature code, because a replay is the slow part of a run.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from friction.domain.facts import PaymentFacts
from friction.offline.handbook_stream import DAY_SECONDS, DELAY_DAYS, F64, I64, Stream
from friction.scoring import features
from friction.scoring.features import FEATURE_NAMES, FeatureBook, unusual_amount

log = logging.getLogger(__name__)
REPLAY_VERSION = "2"  # bump when this module changes what it feeds the book
Progress = Callable[[int], None]


def payment_facts(stream: Stream) -> list[PaymentFacts]:
    """The handbook transactions as friction payments: a terminal is also the merchant."""
    terminals = [str(t) for t in stream.terminal.tolist()]
    return [
        PaymentFacts(
            ts=float(ts),
            amount=amount,
            customer_id=str(customer),
            merchant_id=terminal,
            terminal_id=terminal,
            counterparty_id=terminal,
            channel="pos",
        )
        for ts, amount, customer, terminal in zip(
            stream.ts.tolist(),
            stream.amount.tolist(),
            stream.customer.tolist(),
            terminals,
            strict=True,
        )
    ]


@dataclass(frozen=True, slots=True)
class LabelSchedule:
    """When each payment's label reaches the feature state, and what it says.

    ``arrival[j]`` is a time in epoch seconds after ``ts[j]``; ``fraud[j]`` is the
    label delivered then (a dialogue's answer may differ from the truth).
    """

    arrival: F64
    fraud: I64


def delayed_labels(stream: Stream, delay_days: float = DELAY_DAYS) -> LabelSchedule:
    """Every label arriving ``delay_days`` after its payment: the protocol's schedule."""
    arrival = np.asarray(stream.ts + delay_days * DAY_SECONDS, dtype=np.float64)
    return LabelSchedule(arrival, stream.fraud)


def replay_features(
    stream: Stream, labels: LabelSchedule | None = None, progress: Progress | None = None
) -> F64:
    """Feature rows in stream order; labels reach the book as ``labels`` schedules them.

    A label is delivered before any payment at or after its arrival time; only
    labels of earlier payments are ever delivered (arrival follows the payment).
    """
    schedule = labels if labels is not None else delayed_labels(stream)
    book = FeatureBook()
    facts = payment_facts(stream)
    order = np.argsort(schedule.arrival, kind="stable").tolist()
    arrival = schedule.arrival.tolist()
    fraud = [bool(f) for f in schedule.fraud.tolist()]
    out = np.empty((len(facts), len(FEATURE_NAMES)), dtype=np.float64)
    unusual: list[bool] = []
    pending = 0  # position in ``order``: labels are delivered in arrival order
    for i, payment in enumerate(facts):
        while pending < len(order) and arrival[order[pending]] <= payment.ts:
            j = order[pending]
            if j >= i:  # a label never reaches the state before its own payment has
                break
            done = facts[j]
            book.label(done.merchant_id, done.terminal_id, done.day, fraud[j], unusual[j])
            pending += 1
        vector = book.observe(payment)
        unusual.append(unusual_amount(vector))  # as the service keeps it in the payment record
        out[i] = vector
        if progress is not None and i % 20_000 == 19_999:
            progress(20_000)
    if progress is not None:
        progress(len(facts) % 20_000)
    return out


def schema_hash() -> str:
    """Hash of the feature names and the feature code: a change to either invalidates caches."""
    digest = hashlib.sha256(REPLAY_VERSION.encode())
    digest.update("\n".join(FEATURE_NAMES).encode())
    digest.update(Path(features.__file__).read_bytes())
    return digest.hexdigest()[:16]


def cached_features(
    stream: Stream,
    data_key: str,
    cache_dir: Path | None,
    progress: Progress | None = None,
    labels: LabelSchedule | None = None,
) -> F64:
    """The replayed matrix, read from ``cache_dir`` when this data, schema and schedule were seen.

    The protocol's 7-day schedule keeps its historical file name; any other
    schedule is keyed by a hash of its arrivals and labels.
    """
    if cache_dir is None:
        return replay_features(stream, labels, progress)
    suffix = "" if labels is None else f"-{_schedule_hash(labels)}"
    path = cache_dir / f"friction-{data_key}-{schema_hash()}{suffix}.npy"
    if path.exists():
        log.info("feature cache hit", extra={"path": str(path)})
        matrix = np.load(path)
        if matrix.shape == (len(stream), len(FEATURE_NAMES)):
            if progress is not None:
                progress(len(stream))
            return np.asarray(matrix, dtype=np.float64)
    matrix = replay_features(stream, labels, progress)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp.npy")
    np.save(partial, matrix)
    partial.replace(path)  # atomic: a killed run never leaves a truncated cache
    return matrix


def _schedule_hash(labels: LabelSchedule) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(labels.arrival).tobytes())
    digest.update(np.ascontiguousarray(labels.fraud).tobytes())
    return digest.hexdigest()[:12]
