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
from pathlib import Path

import numpy as np

from friction.benchmark.protocol import DELAY_DAYS
from friction.benchmark.stream import DAY_SECONDS, F64, Stream
from friction.scoring import features
from friction.scoring.features import FEATURE_NAMES, FeatureBook, PaymentFacts

log = logging.getLogger(__name__)
REPLAY_VERSION = "1"  # bump when this module changes what it feeds the book
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


def replay_features(
    stream: Stream, delay_days: float = DELAY_DAYS, progress: Progress | None = None
) -> F64:
    """Feature rows in stream order; labels of payment j are delivered at ts_j + delay."""
    book = FeatureBook()
    facts = payment_facts(stream)
    fraud = [bool(f) for f in stream.fraud.tolist()]
    delay = delay_days * DAY_SECONDS
    out = np.empty((len(facts), len(FEATURE_NAMES)), dtype=np.float64)
    matured = 0  # the stream is time-ordered, so labels mature in the same order
    for i, payment in enumerate(facts):
        while matured < i and facts[matured].ts + delay <= payment.ts:
            done = facts[matured]
            book.label(done.merchant_id, done.terminal_id, done.day, fraud[matured])
            matured += 1
        out[i] = book.observe(payment)
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
    stream: Stream, data_key: str, cache_dir: Path | None, progress: Progress | None = None
) -> F64:
    """The replayed matrix, read from ``cache_dir`` when this data and schema were seen."""
    if cache_dir is None:
        return replay_features(stream, progress=progress)
    path = cache_dir / f"friction-{data_key}-{schema_hash()}.npy"
    if path.exists():
        log.info("feature cache hit", extra={"path": str(path)})
        matrix = np.load(path)
        if matrix.shape == (len(stream), len(FEATURE_NAMES)):
            if progress is not None:
                progress(len(stream))
            return np.asarray(matrix, dtype=np.float64)
    matrix = replay_features(stream, progress=progress)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp.npy")
    np.save(partial, matrix)
    partial.replace(path)  # atomic: a killed run never leaves a truncated cache
    return matrix
