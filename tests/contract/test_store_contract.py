"""One contract for every ``Store`` adapter: the embedded SQLite store and Redis.

Feature parity is checked against ``FeatureBook``, the in-memory reference that
offline training replays, over a random stream of payments, labels and
challenges: the Redis Lua transitions must give the very same vectors.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis.asyncio import Connection, ConnectionPool, Redis
from redis.exceptions import ResponseError

from friction.domain.decision import PaymentStatus, Reason
from friction.domain.events import (
    DecisionEvent,
    DialogueEvent,
    EncodedEvent,
    ErasureEvent,
    LabelEvent,
)
from friction.domain.facts import DAY, PaymentFacts
from friction.domain.records import (
    AnyEvent,
    Change,
    CustomerSession,
    DialogueRecord,
    LabelUpdate,
    Mark,
    Observation,
    OutboxEntry,
    PaymentRecord,
    Preferences,
    Quota,
    ReviewRecord,
)
from friction.errors import Conflict, InvalidInput, StoreUnavailable
from friction.ports import Store
from friction.scoring.features import FEATURE_NAMES, FeatureBook
from friction.storage.redis_store import RedisStore
from tests.servers import ServerProcess

T0 = 1_795_000_000.123456  # 2026-11-18, with microseconds: exercises number precision
WEEK = 7 * DAY


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh store of each adapter (Redis: a unique key prefix per test)."""
    adapter: Store
    if request.param == "embedded":
        from friction.storage.embedded import EmbeddedStore

        adapter = EmbeddedStore(tmp_path / "store.db")
    else:
        url = request.getfixturevalue("redis_url")
        adapter = RedisStore.from_url(url, prefix=f"test:{uuid.uuid4().hex[:12]}:")
    yield adapter
    await adapter.close()


async def observe(store: Store, facts: PaymentFacts, window: float) -> Observation:
    """Observe a payment under a fresh id: the claim must be granted."""
    observation = await store.observe(facts, window, f"pay_{uuid.uuid4().hex}")
    assert isinstance(observation, Observation)
    return observation


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


def payment_record(payment_id: str, customer_id: str = "cus_1") -> PaymentRecord:
    now = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    status = PaymentStatus(
        payment_id=payment_id,
        decision="challenge",
        verdict="pending",
        score=0.42,
        model_version="m1",
        reasons=[],
        decided_at=now,
    )
    return PaymentRecord(
        body_hash="h" * 64,
        response='{"payment_id": "' + payment_id + '"}',
        status=status,
        customer_id=customer_id,
        merchant_id="mer_1",
        merchant_name="ACME — Ünïcode",
        terminal_id="ter_1",
        occurred_at=now,
        amount_minor=42000,
        currency="EUR",
        channel="ecom",
        propensity=0.25,
    )


def dialogue_record(dialogue_id: str, payment_id: str, state: str = "created") -> DialogueRecord:
    now = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    return DialogueRecord.model_validate(
        {
            "id": dialogue_id,
            "payment_id": payment_id,
            "customer_id": "cus_1",
            "phone": "+447700900123",
            "locale": "ar",
            "channel": "sms",
            "state": state,
            "text": "هل قمت بهذه الدفعة؟",
            "created_at": now,
            "expires_at": now + timedelta(minutes=10),
            "flow": {"flow": "purchase_confirmation", "step": "ask"},
            "ladder": ["sms", "in_app"],
        }
    )


def decision_event(payment_id: str) -> DecisionEvent:
    at = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    return DecisionEvent(
        event_id=f"decision:{payment_id}",
        at=at,
        customer_id="cus_1",
        payment_id=payment_id,
        occurred_at=at,
        decision="challenge",
        score=0.42,
        model_version="m1",
        reasons=["amount_ratio_30d"],
        features={"amount": 420.0, "secs_since_last": 3600.5},
        amount_minor=42000,
        currency="EUR",
        merchant_id="mer_1",
        terminal_id="ter_1",
        channel="ecom",
    )


def payment_of(entry: OutboxEntry) -> str:
    """The payment id of an outbox entry's event (entries carry the stored JSON)."""
    payment_id: str = orjson.loads(entry.event.raw)["payment_id"]
    return payment_id


def dialogue_event(dialogue: DialogueRecord) -> DialogueEvent:
    return DialogueEvent(
        event_id=f"dialogue:{dialogue.id}:{dialogue.state}",
        at=dialogue.created_at,
        customer_id=dialogue.customer_id,
        payment_id=dialogue.payment_id,
        dialogue_id=dialogue.id,
        state=dialogue.state,
        channel=dialogue.channel,
        locale=dialogue.locale,
    )


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


def review_record(review_id: str, minute: int, **changes: Any) -> ReviewRecord:
    review = ReviewRecord(
        id=review_id,
        payment_id=f"pay_{review_id}",
        customer_id="cus_1",
        reason="policy_review",
        created_at=datetime.fromtimestamp(T0, UTC) + timedelta(minutes=minute),
        score=0.731,
        reasons=[Reason(code="BUDGET_SPENT", text="asked too often")],
        history={"cust_count_7d": 3.0, "secs_since_last": None},
    )
    return review.model_copy(update=changes)


async def page_ids(store: Store, **query: Any) -> list[list[str]]:
    """Every page of a listing (ids), following the cursor to the end."""
    pages, after = [], None
    while True:
        items, after = await store.list_reviews(
            query.get("tenant", "default"),
            query.get("status"),
            query.get("assignee"),
            query.get("limit", 2),
            after,
        )
        pages.append([r.id for r in items])
        if after is None:
            return pages


async def test_reviews_round_trip_and_list_by_status_assignee_and_cursor(store: Store) -> None:
    # created out of id order and committed out of time order: listing is by creation time
    for review_id, minute in [("r_c", 3), ("r_a", 1), ("r_e", 5), ("r_b", 2), ("r_d", 4)]:
        await store.commit(Change(review=review_record(review_id, minute)))
    assert await store.get_review("r_a") == review_record("r_a", 1)
    assert await store.get_review("r_none") is None
    assert await page_ids(store) == [["r_a", "r_b"], ["r_c", "r_d"], ["r_e"]]
    assert await page_ids(store, limit=5) == [["r_a", "r_b", "r_c", "r_d", "r_e"]]

    old = await store.get_review("r_b")
    assert old is not None
    assigned = old.model_copy(update={"status": "assigned", "assignee": "ana", "version": 2})
    await store.commit(Change(review=assigned))
    resolved = assigned.model_copy(update={"status": "resolved", "version": 3})
    await store.commit(Change(review=resolved))
    taken = review_record("r_d", 4, status="assigned", assignee="ana", version=2)
    await store.commit(Change(review=taken))

    assert await page_ids(store, status="open", limit=10) == [["r_a", "r_c", "r_e"]]
    assert await page_ids(store, status="resolved") == [["r_b"]]
    assert await page_ids(store, assignee="ana") == [["r_b", "r_d"]]
    assert await page_ids(store, status="assigned", assignee="ana") == [["r_d"]]
    assert await page_ids(store, status="assigned", assignee="bob") == [[]]
    assert await store.get_review("r_b") == resolved


async def test_a_stale_review_write_is_refused_with_all_of_its_change(store: Store) -> None:
    await store.commit(Change(review=review_record("r_1", 0)))
    with pytest.raises(Conflict):  # the same item created twice
        await store.commit(Change(review=review_record("r_1", 0)))
    second = review_record("r_1", 0, status="assigned", assignee="ana", version=2)
    await store.commit(Change(review=second))
    racer = review_record("r_1", 0, status="assigned", assignee="bob", version=2)
    payment, events = payment_record("pay_x"), [decision_event("x")]
    with pytest.raises(Conflict):  # built on version 1, which is gone
        await store.commit(Change(payment=payment, review=racer, events=events))
    assert await store.get_payment("pay_x") is None
    assert await store.pending(10) == []
    assert await store.get_review("r_1") == second
    assert await page_ids(store, assignee="bob") == [[]]


async def test_list_reviews_refuses_a_cursor_it_did_not_hand_out(store: Store) -> None:
    for bad in ("not-a-cursor", "AAAA", "MTIz"):
        with pytest.raises(InvalidInput) as raised:
            await store.list_reviews("default", None, None, 10, bad)
        assert raised.value.fields == ["after"]


async def test_marks_carry_a_value_until_they_expire(store: Store) -> None:
    until = T0 + 60.5
    declined = Mark("declined", "+447700900123", until, "pay_1 en-GB")
    await store.commit(Change(marks=[declined, Mark("x", "k", until)]))
    assert await store.read_mark("declined", "+447700900123", until - 1) == "pay_1 en-GB"
    assert await store.read_mark("declined", "+447700900123", until) is None
    assert await store.read_mark("x", "k", T0) == ""
    assert await store.get_mark("declined", "+447700900123", T0)
    assert await store.read_mark("declined", "+33600000000", T0) is None


# --- Redis only: round trips, atomicity under failure, restart ------------------------


class CountingConnection(Connection):
    """Counts requests written to the socket: a pipeline or script call is one."""

    sent = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


@pytest.mark.redis
async def test_redis_observe_is_one_round_trip(redis_url: str) -> None:
    pool = ConnectionPool.from_url(redis_url, connection_class=CountingConnection)
    store = RedisStore(Redis(connection_pool=pool), prefix=f"rt:{uuid.uuid4().hex[:8]}:")
    try:
        facts = PaymentFacts(T0, 5.0, "cus_1", "mer_1", "ter_1", "cp", "ecom")
        await observe(store, facts, WEEK)  # connects, may load the script (NOSCRIPT)
        for i in range(1, 6):
            CountingConnection.sent = 0
            await observe(store, PaymentFacts(T0 + i, 5.0, "cus_1", "m", "t", "cp", "ecom"), WEEK)
            assert CountingConnection.sent == 1
    finally:
        await store.close()


@pytest.mark.redis
async def test_redis_failed_commit_writes_nothing(redis_url: str) -> None:
    prefix = f"atom:{uuid.uuid4().hex[:8]}:"
    store = RedisStore.from_url(redis_url, prefix=prefix)
    raw = Redis.from_url(redis_url)
    try:
        await raw.set(f"{prefix}outbox", "not a stream")  # the XADD inside the script will fail
        change = Change(payment=payment_record("pay_1"), events=[decision_event("p")])
        with pytest.raises(ResponseError):
            await store.commit(change)
        assert await store.get_payment("pay_1") is None
    finally:
        await raw.aclose()
        await store.close()


@pytest.mark.redis
async def test_redis_store_recovers_after_a_server_restart(redis_server: ServerProcess) -> None:
    store = RedisStore.from_url(f"redis://127.0.0.1:{redis_server.port}/0", prefix="restart:")
    try:
        await store.commit(Change(payment=payment_record("pay_r")))
        redis_server.restart()  # graceful: the AOF keeps what was written
        # The pooled socket died with the server: the first call fails fast (the scorer
        # degrades), the next reconnects. Scripts are not persisted: EVALSHA gets
        # NOSCRIPT and the client loads the script again.
        with contextlib.suppress(StoreUnavailable):
            await store.get_payment("pay_r")
        facts = PaymentFacts(T0, 5.0, "cus_r", "mer_1", "ter_1", "cp", "ecom")
        assert len((await observe(store, facts, WEEK)).features) == len(FEATURE_NAMES)
        assert await store.get_payment("pay_r") == payment_record("pay_r")
    finally:
        await store.close()


async def test_erasure_scrubs_one_customer_and_keeps_decisions_under_a_pseudonym(
    store: Store,
) -> None:
    """Issue 8, item 14: personal data goes, decisions and labels stay pseudonymised."""
    phone, other = "+447700900123", "+447700900999"
    dialogue = dialogue_record("dlg_e1", "pay_e1")  # open, customer cus_1, with phone and text
    kept = dialogue_record("dlg_e2", "pay_e2").model_copy(
        update={"customer_id": "cus_2", "phone": other}
    )
    future = T0 + 30 * DAY
    await observe(store, PaymentFacts(T0, 5.0, "cus_1", "mer_1", "ter_1", "cp", "ecom"), WEEK)
    await store.commit(
        Change(
            payment=payment_record("pay_e1", "cus_1"),
            dialogue=dialogue,
            challenge=("cus_1", T0),
            preferences=("cus_1", Preferences(channels=["sms"])),
            marks=[
                Mark("sms_opt_out", "ref_of_phone", future),  # a keyed hash: outlives erasure
                Mark("trusted_counterparty", "cus_1:mer_1", future),
                Mark("contestable_decline", "+447700900555", future, "pay_e1 en"),
                Mark("sms_opt_out", other, future),
            ],
        )
    )
    await store.commit(Change(payment=payment_record("pay_e2", "cus_2"), dialogue=kept))

    erased = await store.erase_customer("cus_1", "anon_x")

    assert (erased.payments, erased.dialogues) == (1, 1) and erased.deleted >= 4
    payment = await store.get_payment("pay_e1")
    assert payment is not None and payment.customer_id == "anon_x"
    assert payment.status == payment_record("pay_e1", "cus_1").status  # the decision stays
    scrubbed = await store.get_dialogue("dlg_e1")
    assert scrubbed is not None and (scrubbed.phone, scrubbed.text) == (None, "")
    assert scrubbed.customer_id == "anon_x" and "merchant" not in scrubbed.params
    [open_copy] = [d for d in await store.open_dialogues() if d.id == "dlg_e1"]
    assert open_copy.phone is None
    assert await store.get_preferences("cus_1") is None
    for kind, key in [("trusted_counterparty", "cus_1:mer_1"),
                      ("contestable_decline", "+447700900555")]:  # fmt: skip
        assert not await store.get_mark(kind, key, T0)
    assert await store.get_mark("sms_opt_out", "ref_of_phone", T0)  # STOP outlives erasure
    assert await store.open_dialogues_for_phone(phone) == []  # no reply reaches it any more
    again = await observe(
        store, PaymentFacts(T0 + 1, 5.0, "cus_1", "mer_1", "ter_2", "cp", "ecom"), WEEK
    )
    assert again.recent_challenges == 0  # budget and history are gone
    # the other customer is untouched
    assert await store.get_mark("sms_opt_out", other, T0)
    other_dialogue = await store.get_dialogue("dlg_e2")
    assert other_dialogue is not None and other_dialogue.phone == other
    assert (await store.get_payment("pay_e2")) == payment_record("pay_e2", "cus_2")


async def test_sweep_deletes_what_is_past_retention(store: Store) -> None:
    """Embedded: records past 180 d go on the sweep; Redis: TTLs do it and sweep is a no-op."""
    await store.commit(Change(payment=payment_record("pay_old")))
    decided = payment_record("pay_old").status.decided_at.timestamp()
    assert await store.sweep(decided + 179 * DAY) == 0
    assert await store.get_payment("pay_old") is not None
    deleted = await store.sweep(decided + 181 * DAY)
    if isinstance(store, RedisStore):
        assert deleted == 0  # TTLs (checked over every key in tests/integration/test_erasure)
    else:
        assert deleted == 1 and await store.get_payment("pay_old") is None


@pytest.mark.redis
async def test_redis_outbox_is_read_by_one_relay_at_a_time(redis_url: str) -> None:
    """Two replicas' relays on one outbox: only the lease holder sees events (no twin
    publishing); when the holder stops reading, the lease lapses and the other takes over."""
    prefix = f"lease:{uuid.uuid4().hex[:8]}:"
    first, second = (RedisStore.from_url(redis_url, prefix=prefix) for _ in range(2))
    raw = Redis.from_url(redis_url)
    try:
        await first.commit(Change(events=[decision_event("pay_l1"), decision_event("pay_l2")]))
        assert len(await first.pending(10)) == 2
        assert await second.pending(10) == []  # held by the first relay
        assert len(await first.pending(10)) == 2  # the holder keeps reading
        await raw.pexpire(f"{prefix}outbox:lease", 1)  # as if the holder died long ago
        await asyncio.sleep(0.01)
        taken = await second.pending(10)
        assert [payment_of(e) for e in taken] == ["pay_l1", "pay_l2"]
        assert await first.pending(10) == []
        await second.ack([e.seq for e in taken])
        assert await second.pending(10) == []
        await second.commit(Change(events=[decision_event("pay_l3")]))
        await second.close()  # a clean shutdown hands the lease back: no wait for its TTL
        assert [payment_of(e) for e in await first.pending(10)] == ["pay_l3"]
    finally:
        await raw.aclose()
        await first.close()
        await second.close()


async def test_quotas_are_all_or_nothing_over_a_sliding_window(store: Store) -> None:
    def caps(customer: str, cost: float) -> list[Quota]:
        return [
            Quota("customer_cap", f"c:{customer}", 1, 2, 3600),
            Quota("spend_cap", "spend", cost, 1.0, 3600),
        ]

    assert await store.take_quotas(caps("a", 0.25), T0) is None
    assert await store.take_quotas(caps("a", 0.25), T0 + 1) is None
    assert await store.take_quotas(caps("a", 0.25), T0 + 2) == "customer_cap"
    assert await store.take_quotas(caps("b", 0.75), T0 + 3) == "spend_cap"  # 0.5 + 0.75 > 1
    assert await store.take_quotas(caps("b", 0.5), T0 + 4) is None  # nothing of b recorded
    assert await store.take_quotas(caps("c", 0.01), T0 + 5) == "spend_cap"
    assert await store.take_quotas(caps("a", 0.25), T0 + 3601) is None  # the first two left
    assert await store.take_quotas([], T0) is None


@pytest.mark.redis
async def test_redis_quotas_are_shared_by_replicas(redis_url: str) -> None:
    """Two stores on one Redis (two replicas) count against one cap."""
    prefix = f"quota:{uuid.uuid4().hex[:8]}:"
    stores = [RedisStore.from_url(redis_url, prefix=prefix) for _ in range(2)]
    try:
        cap = [Quota("prefix_cap", "sms:range:+4477009", 1, 5, 3600)]
        taken = await asyncio.gather(
            *(stores[i % 2].take_quotas(cap, T0 + i / 100) for i in range(40))
        )
        assert taken.count(None) == 5 and taken.count("prefix_cap") == 35
    finally:
        for s in stores:
            await s.close()
