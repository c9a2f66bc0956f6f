"""Feature code shared by online scoring and offline training (no train/serve skew).

The features of a payment are a pure function of the payment and of the state
*before* it: the customer's recent payments and the terminal's and merchant's
day buckets (payments and the labels received so far). The state moves by two
transitions, ``apply_payment`` and ``apply_label``. The embedded store and the
offline dataset builder both run these very functions (through ``FeatureBook``);
the Redis store runs the same transitions in Lua and is held to them by the
store contract tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

DAY = 86_400.0
WINDOWS = (1, 7, 30)
HISTORY_DAYS = 30
HISTORY_CAP = 400
BUCKET_DAYS = 31
SEEN_DAYS = 180
NIGHT_LAST_HOUR = 6
CHANNEL_CODES = {"ecom": 0.0, "pos": 1.0, "transfer": 2.0, "p2p": 3.0}

FEATURE_NAMES: tuple[str, ...] = (
    "amount",
    "cust_count_1d",
    "cust_count_7d",
    "cust_count_30d",
    "cust_mean_1d",
    "cust_mean_7d",
    "cust_mean_30d",
    "amount_ratio_30d",
    "amount_zscore_30d",
    "secs_since_last",
    "first_counterparty",
    "first_terminal",
    "is_night",
    "is_weekend",
    "channel",
    "terminal_count_1d",
    "terminal_count_7d",
    "terminal_count_30d",
    "terminal_fraud_7d",
    "terminal_fraud_30d",
    "terminal_risk_30d",
    "merchant_fraud_30d",
    "merchant_risk_30d",
)


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """What the feature code needs to know of a payment, and nothing more."""

    ts: float
    amount: float
    customer_id: str
    merchant_id: str
    terminal_id: str
    counterparty_id: str
    channel: str

    @property
    def day(self) -> int:
        return int(self.ts // DAY)


@dataclass(slots=True)
class CustomerState:
    """A customer's recent payments (ts, amount) and when each counterparty was last used."""

    history: list[tuple[float, float]] = field(default_factory=list)
    seen_counterparties: dict[str, float] = field(default_factory=dict)
    seen_terminals: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class EntityState:
    """Day buckets of a terminal or merchant: day -> [payments, fraud labels, genuine labels]."""

    days: dict[int, list[int]] = field(default_factory=dict)


@dataclass(slots=True)
class Snapshot:
    """The state a payment is scored against: everything known just before it."""

    customer: CustomerState
    terminal: EntityState
    merchant: EntityState


def apply_payment(snapshot: Snapshot, facts: PaymentFacts) -> None:
    """Record a payment in the customer history and the terminal/merchant day buckets."""
    customer = snapshot.customer
    customer.history.append((facts.ts, facts.amount))
    horizon = facts.ts - HISTORY_DAYS * DAY
    customer.history = [p for p in customer.history if p[0] > horizon][-HISTORY_CAP:]
    customer.seen_counterparties[facts.counterparty_id] = facts.ts
    customer.seen_terminals[facts.terminal_id] = facts.ts
    seen_horizon = facts.ts - SEEN_DAYS * DAY
    for seen in (customer.seen_counterparties, customer.seen_terminals):
        for key in [k for k, ts in seen.items() if ts < seen_horizon]:
            del seen[key]
    for entity in (snapshot.terminal, snapshot.merchant):
        _bucket(entity, facts.day)[0] += 1
        _trim(entity, facts.day)


def apply_label(entity: EntityState, payment_day: int, is_fraud: bool) -> None:
    """Count a label received for a payment of ``payment_day`` at this terminal/merchant."""
    _bucket(entity, payment_day)[1 if is_fraud else 2] += 1


def _bucket(entity: EntityState, day: int) -> list[int]:
    bucket = entity.days.get(day)
    if bucket is None:
        bucket = entity.days[day] = [0, 0, 0]
    return bucket


def _trim(entity: EntityState, today: int) -> None:
    for day in [d for d in entity.days if d <= today - BUCKET_DAYS]:
        del entity.days[day]


def compute(facts: PaymentFacts, before: Snapshot) -> list[float]:
    """The feature vector of a payment, in ``FEATURE_NAMES`` order.

    Customer windows include the current payment (as the handbook's); the
    amount comparisons use only earlier payments, so a large payment cannot
    hide itself by raising its own baseline.
    """
    ts, amount = facts.ts, facts.amount
    prior = before.customer.history
    counts: list[float] = []
    means: list[float] = []
    for days in WINDOWS:
        horizon = ts - days * DAY
        window = [a for t, a in prior if horizon < t <= ts]
        window.append(amount)
        counts.append(float(len(window)))
        means.append(sum(window) / len(window))
    prior_amounts = [a for t, a in prior if ts - HISTORY_DAYS * DAY < t <= ts]
    ratio, zscore = _amount_position(amount, prior_amounts)
    last = max((t for t, _ in prior if t <= ts), default=None)
    when = _utc(ts)
    terminal = _window_sums(before.terminal, facts.day)
    merchant = _window_sums(before.merchant, facts.day)
    return [
        amount,
        *counts,
        *means,
        ratio,
        zscore,
        math.nan if last is None else ts - last,
        0.0 if facts.counterparty_id in before.customer.seen_counterparties else 1.0,
        0.0 if facts.terminal_id in before.customer.seen_terminals else 1.0,
        1.0 if when[0] <= NIGHT_LAST_HOUR else 0.0,
        1.0 if when[1] >= 5 else 0.0,
        CHANNEL_CODES.get(facts.channel, -1.0),
        float(terminal[1][0] + 1),
        float(terminal[7][0] + 1),
        float(terminal[30][0] + 1),
        float(terminal[7][1]),
        float(terminal[30][1]),
        _risk(terminal[30]),
        float(merchant[30][1]),
        _risk(merchant[30]),
    ]


def _utc(ts: float) -> tuple[int, int]:
    """(hour, weekday) of an epoch timestamp in UTC, without datetime's overhead."""
    days, seconds = divmod(ts, DAY)
    return int(seconds // 3600), int((days + 3) % 7)  # 1970-01-01 was a Thursday (3)


def _amount_position(amount: float, prior: list[float]) -> tuple[float, float]:
    if not prior:
        return math.nan, math.nan
    mean = sum(prior) / len(prior)
    var = sum((a - mean) ** 2 for a in prior) / len(prior)
    ratio = amount / mean if mean > 0 else math.nan
    zscore = (amount - mean) / math.sqrt(var) if var > 0 else math.nan
    return ratio, zscore


def _window_sums(entity: EntityState, today: int) -> dict[int, tuple[int, int, int]]:
    """Per window: (payments, fraud labels, genuine labels) over the last n days."""
    sums: dict[int, tuple[int, int, int]] = {}
    for days in WINDOWS:
        n = f = g = 0
        for day, (payments, fraud, genuine) in entity.days.items():
            if today - days < day <= today:
                n += payments
                f += fraud
                g += genuine
        sums[days] = (n, f, g)
    return sums


def _risk(window: tuple[int, int, int]) -> float:
    """Share of fraud among the labels received for the window's payments (NaN if none)."""
    _, fraud, genuine = window
    labelled = fraud + genuine
    return fraud / labelled if labelled else math.nan


class FeatureBook:
    """In-memory feature state for many customers/terminals/merchants.

    The offline dataset builder replays a stream through it; the embedded store
    keeps one as its working set. One code path, two uses.
    """

    def __init__(self) -> None:
        self.customers: dict[str, CustomerState] = {}
        self.terminals: dict[str, EntityState] = {}
        self.merchants: dict[str, EntityState] = {}

    def snapshot(self, facts: PaymentFacts) -> Snapshot:
        """Live (mutable) state objects for this payment's customer, terminal and merchant."""
        return Snapshot(
            customer=self.customers.setdefault(facts.customer_id, CustomerState()),
            terminal=self.terminals.setdefault(facts.terminal_id, EntityState()),
            merchant=self.merchants.setdefault(facts.merchant_id, EntityState()),
        )

    def observe(self, facts: PaymentFacts) -> list[float]:
        """Features of the payment against the state before it, then record it."""
        snapshot = self.snapshot(facts)
        vector = compute(facts, snapshot)
        apply_payment(snapshot, facts)
        return vector

    def label(self, merchant_id: str, terminal_id: str, payment_day: int, is_fraud: bool) -> None:
        """Record a label received now for a payment of ``payment_day``."""
        apply_label(self.terminals.setdefault(terminal_id, EntityState()), payment_day, is_fraud)
        apply_label(self.merchants.setdefault(merchant_id, EntityState()), payment_day, is_fraud)
