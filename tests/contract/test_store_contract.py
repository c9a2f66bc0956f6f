"""One contract for every ``Store`` adapter: the embedded SQLite store and Redis.

Feature parity is checked against ``FeatureBook``, the in-memory reference that
offline training replays, over a random stream of payments, labels and
challenges: the Redis Lua transitions must give the very same vectors.
"""

from __future__ import annotations

import asyncio
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from friction.domain.events import EncodedEvent, ErasureEvent, LabelEvent
from friction.domain.facts import DAY, PaymentFacts
from friction.domain.records import (
    AnyEvent,
    Change,
    CustomerSession,
    LabelUpdate,
    Mark,
    Observation,
    Preferences,
)
from friction.ports import Store
from friction.scoring.features import FEATURE_NAMES, FeatureBook
from tests.contract.stores import (
    T0,
    WEEK,
    decision_event,
    dialogue_event,
    dialogue_record,
    observe,
    page_ids,
    payment_of,
    payment_record,
    review_record,
)


def same_vector(got: list[float], want: list[float]) -> bool:
    """Exact equality, NaN equal to NaN (both sides run the same float code)."""
    return len(got) == len(want) and all(
        a == b or (math.isnan(a) and math.isnan(b)) for a, b in zip(got, want, strict=True)
    )


def random_stream(rng: random.Random, n: int) -> list[PaymentFacts]:
    """Payments over ~200 days: bursts, long gaps (window and 180-day trims), a few late ones."""
    ts, stream = T0, []
    for _ in range(n):
        ts += rng.choice([rng.uniform(1, 600), rng.uniform(0, 3 * DAY), rng.uniform(0, 20 * DAY)])
        late = rng.random() < 0.05
        stream.append(
            PaymentFacts(
                ts=ts - rng.uniform(0, 2 * DAY) if late else ts,
                amount=round(rng.lognormvariate(8, 1.2), 2) + rng.random() / 3,
                customer_id=f"cus_{rng.randrange(4)}",
                merchant_id=f"mer_{rng.randrange(3)}",
                terminal_id=f"ter_{rng.randrange(5)}",
                counterparty_id=f"cp_{rng.randrange(8)}",
                channel=rng.choice(["ecom", "pos", "transfer", "p2p"]),
            )
        )
    return stream


async def test_observe_matches_feature_book_over_a_random_stream(store: Store) -> None:
    rng = random.Random(20261123)
    book, challenges = FeatureBook(), {}  # type: ignore[var-annotated]
    window = 3 * DAY
    seen: list[PaymentFacts] = []
    for facts in random_stream(rng, 160):
        observed = await observe(store, facts, window)
        assert same_vector(observed.features, book.observe(facts)), facts
        horizon = facts.ts - window
        want = sum(1 for t in challenges.get(facts.customer_id, []) if t > horizon)
        assert observed.recent_challenges == want
        seen.append(facts)
        change = Change()
        if rng.random() < 0.3:
            change.challenge = (facts.customer_id, facts.ts)
            challenges.setdefault(facts.customer_id, []).append(facts.ts)
        if rng.random() < 0.4:
            paid = rng.choice(seen)
            where = (paid.merchant_id, paid.terminal_id, paid.day)
            is_fraud, unusual = rng.random() < 0.3, rng.random() < 0.5  # plain frauds too
            change.labels.append(LabelUpdate(*where, is_fraud, unusual))
            book.label(*where, is_fraud, unusual)
        await store.commit(change)
    assert len(observed.features) == len(FEATURE_NAMES)


async def test_budget_counts_challenges_within_the_rolling_window(store: Store) -> None:
    for ts in (T0 - 10 * DAY, T0 - 2 * DAY, T0 - 3600):
        await store.commit(Change(challenge=("cus_1", ts)))
    await store.commit(Change(challenge=("cus_other", T0 - 60)))
    facts = PaymentFacts(T0, 100.0, "cus_1", "mer_1", "ter_1", "ter_1", "ecom")
    assert (await observe(store, facts, WEEK)).recent_challenges == 2
    assert (await observe(store, facts, DAY)).recent_challenges == 1
    assert (await observe(store, facts, 30 * DAY)).recent_challenges == 3


async def test_a_payment_is_observed_once_even_when_asked_twice(store: Store) -> None:
    """The claim: a twin request (any replica) gets ``None`` and records nothing."""
    book = FeatureBook()
    first = PaymentFacts(T0, 50.0, "cus_1", "mer_1", "ter_1", "cp_1", "ecom")
    claimed = await store.observe(first, WEEK, "pay_twin")
    assert isinstance(claimed, Observation)
    assert same_vector(claimed.features, book.observe(first))
    assert await store.observe(first, WEEK, "pay_twin") is None  # claimed, not yet decided
    await store.commit(Change(payment=payment_record("pay_twin")))
    # decided: never observed again, the record comes back for the retry to answer
    assert await store.observe(first, WEEK, "pay_twin") == payment_record("pay_twin")
    later = PaymentFacts(T0 + 60, 50.0, "cus_1", "mer_1", "ter_1", "cp_1", "ecom")
    assert same_vector((await observe(store, later, WEEK)).features, book.observe(later))


async def test_records_round_trip_and_open_dialogues_follow_state(store: Store) -> None:
    payment, dialogue = payment_record("pay_1"), dialogue_record("dlg_1", "pay_1")
    await store.commit(Change(payment=payment, dialogue=dialogue))
    assert await store.get_payment("pay_1") == payment
    assert await store.get_dialogue("dlg_1") == dialogue
    assert await store.get_payment("pay_unknown") is None
    assert await store.get_dialogue("dlg_unknown") is None
    assert [d.id for d in await store.open_dialogues()] == ["dlg_1"]

    answered = dialogue.model_copy(update={"state": "answered", "answer": "yes"})
    await store.commit(Change(dialogue=answered))
    assert await store.open_dialogues() == []
    assert await store.get_dialogue("dlg_1") == answered


async def test_open_dialogues_are_indexed_by_customer_and_by_phone(store: Store) -> None:
    """The prompts route and SMS replies read their customer's or phone's dialogues only."""
    mine = dialogue_record("dlg_m", "acme/pay_m").model_copy(update={"customer_id": "acme/cus_1"})
    theirs = dialogue_record("dlg_t", "globex/pay_m").model_copy(
        update={"customer_id": "globex/cus_1"}  # same customer id and phone, other tenant
    )
    app_only = dialogue_record("dlg_a", "acme/pay_a").model_copy(
        update={"customer_id": "acme/cus_1", "phone": None, "channel": "in_app"}
    )
    for dialogue in (mine, theirs, app_only):
        await store.commit(Change(dialogue=dialogue))
    assert sorted(d.id for d in await store.open_dialogues_of("acme/cus_1")) == ["dlg_a", "dlg_m"]
    assert [d.id for d in await store.open_dialogues_of("globex/cus_1")] == ["dlg_t"]
    assert await store.open_dialogues_of("cus_1") == []
    on_phone = sorted(d.id for d in await store.open_dialogues_for_phone("+447700900123"))
    assert on_phone == ["dlg_m", "dlg_t"]  # a reply names no tenant: the engine tells them apart

    sent = mine.model_copy(update={"state": "sent"})  # still open: still indexed, as updated
    await store.commit(Change(dialogue=sent))
    assert [d.state for d in await store.open_dialogues_of("acme/cus_1") if d.id == "dlg_m"] == [
        "sent"
    ]
    await store.commit(Change(dialogue=mine.model_copy(update={"state": "answered"})))
    assert [d.id for d in await store.open_dialogues_of("acme/cus_1")] == ["dlg_a"]
    assert [d.id for d in await store.open_dialogues_for_phone("+447700900123")] == ["dlg_t"]


async def test_sessions_are_kept_by_digest_until_they_expire_and_go_with_erasure(
    store: Store,
) -> None:
    now = datetime.now(UTC)
    live = CustomerSession(customer_id="acme/cus_1", expires_at=now + timedelta(minutes=15))
    other = CustomerSession(customer_id="acme/cus_2", expires_at=now + timedelta(minutes=15))
    await store.save_session("d" * 64, live)
    await store.save_session("e" * 64, other)
    await store.save_session("f" * 64, live.model_copy(update={"expires_at": now}))
    assert await store.get_session("d" * 64) == live
    assert await store.get_session("f" * 64) is None  # expired
    assert await store.get_session("0" * 64) is None  # unknown
    await store.erase_customer("acme/cus_1", "anon_s")
    assert await store.get_session("d" * 64) is None
    assert await store.get_session("e" * 64) == other


async def test_review_queues_are_per_tenant(store: Store) -> None:
    for review_id, minute in [("acme/r_1", 1), ("globex/r_1", 2), ("acme/r_2", 3), ("r_1", 4)]:
        await store.commit(Change(review=review_record(review_id, minute)))
    assert await page_ids(store, tenant="acme") == [["acme/r_1", "acme/r_2"]]
    assert await page_ids(store, tenant="globex") == [["globex/r_1"]]
    assert await page_ids(store) == [["r_1"]]
    assert await page_ids(store, tenant="acme", status="open", limit=1) == [
        ["acme/r_1"],
        ["acme/r_2"],
    ]


async def test_commit_is_atomic_and_outbox_keeps_commit_order(store: Store) -> None:
    async def one(i: int) -> None:
        dialogue = dialogue_record(f"dlg_{i}", f"pay_{i}")
        events = [decision_event(f"pay_{i}"), dialogue_event(dialogue)]
        await store.commit(Change(payment=payment_record(f"pay_{i}"), events=events))

    await asyncio.gather(*(one(i) for i in range(20)))
    entries = await store.pending(100)
    assert len(entries) == 40
    assert [e.seq for e in entries] == sorted({e.seq for e in entries})
    for first, second in zip(entries[::2], entries[1::2], strict=True):
        # a commit's events are adjacent and in the order given
        assert first.event.topic == "decisions"
        assert second.event.topic == "dialogues"
        assert payment_of(first) == payment_of(second)
        assert await store.get_payment(payment_of(first)) is not None
    assert entries[0].event == EncodedEvent.of(decision_event(payment_of(entries[0])))


async def test_outbox_keeps_each_event_as_its_wire_bytes(store: Store) -> None:
    """The relay publishes what the outbox holds as it is, so it must be the bus's bytes."""
    at = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    common: dict[str, Any] = {"at": at, "customer_id": "cus_é", "payment_id": "pay_w"}
    events: list[AnyEvent] = [
        decision_event("pay_w").model_copy(update={"features": {"x": None, "y": 1e-7}}),
        dialogue_event(dialogue_record("dlg_w", "pay_w")),
        LabelEvent(
            event_id="label:pay_w:analyst", label="fraud", source="analyst",
            delay_seconds=1.5, merchant_id="mer_1", terminal_id="ter_1", occurred_at=at,
            **common,
        ),
        ErasureEvent(
            event_id="erasure:cus_é", payments=1, dialogues=0, reviews=0, deleted=3, **common
        ),
    ]  # fmt: skip
    await store.commit(Change(events=events))
    assert [entry.event for entry in await store.pending(10)] == [
        EncodedEvent.of(event) for event in events
    ]


async def test_pending_and_ack_drain_the_outbox_in_order(store: Store) -> None:
    ids = [f"pay_{i}" for i in range(7)]
    for payment_id in ids:
        await store.commit(Change(events=[decision_event(payment_id)]))
    first = await store.pending(3)
    assert [payment_of(e) for e in first] == ids[:3]
    assert [payment_of(e) for e in await store.pending(3)] == ids[:3]  # pending is a peek
    await store.ack([e.seq for e in first])
    await store.ack([])
    rest = await store.pending(100)
    assert [payment_of(e) for e in rest] == ids[3:]
    await store.ack([rest[1].seq])  # out-of-order ack of one entry
    assert [payment_of(e) for e in await store.pending(100)] == [ids[3], *ids[5:]]
    await store.ack([rest[3].seq, rest[0].seq])  # the ends of a range: what lies between stays
    assert [payment_of(e) for e in await store.pending(100)] == [ids[5]]
    await store.ack([e.seq for e in await store.pending(100)])
    assert await store.pending(100) == []
    await store.commit(Change(events=[decision_event("pay_late")]))
    (late,) = await store.pending(10)
    assert late.seq > rest[-1].seq


async def test_label_changes_terminal_and_merchant_risk(store: Store) -> None:
    facts = PaymentFacts(T0, 50.0, "cus_1", "mer_1", "ter_1", "cp_1", "pos")
    before = await observe(store, facts, WEEK)
    await store.commit(Change(labels=[LabelUpdate("mer_1", "ter_1", facts.day, True, False)]))
    later = PaymentFacts(T0 + 60, 50.0, "cus_2", "mer_1", "ter_1", "cp_2", "pos")
    after = await observe(store, later, WEEK)
    names = dict(zip(FEATURE_NAMES, after.features, strict=True))
    assert math.isnan(dict(zip(FEATURE_NAMES, before.features, strict=True))["terminal_risk_30d"])
    assert names["terminal_risk_30d"] == 1.0
    assert names["merchant_fraud_30d"] == 1.0
    assert names["terminal_plain_risk_since_fraud"] == 1.0  # at a usual amount: a plain fraud
    assert names["terminal_count_1d"] == 2.0  # the first payment, plus this one


async def test_history_cap_holds_for_a_busy_customer(store: Store) -> None:
    book = FeatureBook()
    for i in range(420):  # more than HISTORY_CAP payments inside 30 days
        facts = PaymentFacts(T0 + i * 61.7, 10.0 + i % 13, "cus_1", "mer_1", "ter_1", "cp", "ecom")
        observed = await observe(store, facts, WEEK)
    assert same_vector(observed.features, book_replay(book, 420))
    assert observed.features[FEATURE_NAMES.index("cust_count_1d")] == 400 + 1


async def test_counterparties_are_forgotten_after_180_days(store: Store) -> None:
    book = FeatureBook()
    steps = [(0.0, "cp_x"), (180 * DAY + 12 * 3600, "cp_y"), (180 * DAY + 13 * 3600, "cp_x")]
    for offset, counterparty in steps:
        facts = PaymentFacts(T0 + offset, 20.0, "cus_1", "mer_1", counterparty, counterparty, "p2p")
        observed = await observe(store, facts, WEEK)
        assert same_vector(observed.features, book.observe(facts))
    assert observed.features[FEATURE_NAMES.index("first_counterparty")] == 1.0


def book_replay(book: FeatureBook, n: int) -> list[float]:
    vector: list[float] = []
    for i in range(n):
        facts = PaymentFacts(T0 + i * 61.7, 10.0 + i % 13, "cus_1", "mer_1", "ter_1", "cp", "ecom")
        vector = book.observe(facts)
    return vector


async def test_marks_hold_until_their_time_and_preferences_round_trip(store: Store) -> None:
    until = T0 + 3600.25
    prefs = Preferences(channels=["in_app", "sms"], locale="ar", sms_opted_out=True)
    await store.commit(Change(marks=[Mark("confirmed", "fp_1", until)], preferences=("c1", prefs)))
    assert await store.get_mark("confirmed", "fp_1", until - 0.01)
    assert not await store.get_mark("confirmed", "fp_1", until)
    assert not await store.get_mark("confirmed", "fp_2", T0)
    assert not await store.get_mark("trusted_payee", "fp_1", T0)
    assert await store.get_preferences("c1") == prefs
    assert await store.get_preferences("c2") is None
    wanted = [("confirmed", "fp_1"), ("confirmed", "fp_2"), ("trusted_payee", "fp_1")]
    assert await store.preferences_and_marks("c1", wanted, until - 0.01) == (
        prefs, [True, False, False]
    )  # fmt: skip
    assert await store.preferences_and_marks("c2", wanted[:1], until) == (None, [False])
    assert await store.preferences_and_marks("c2", [], T0) == (None, [])
