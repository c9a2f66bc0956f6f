"""The ``Store`` contract, continued: reviews, valued marks, erasure, sweep, quotas and
what only Redis must show (one round trip, atomic failure, restart, one relay, shared
quotas). Why one contract for both adapters: see ``test_store_contract``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import pytest
from redis.asyncio import Connection, ConnectionPool, Redis
from redis.exceptions import ResponseError

from friction.domain.facts import DAY, PaymentFacts
from friction.domain.records import Change, Mark, Preferences, Quota
from friction.errors import Conflict, InvalidInput, StoreUnavailable
from friction.ports import Store
from friction.scoring.features import FEATURE_NAMES
from friction.storage.redis_store import RedisStore
from tests.contract.stores import (
    T0,
    WEEK,
    decision_event,
    dialogue_record,
    observe,
    page_ids,
    payment_of,
    payment_record,
    review_record,
)
from tests.servers import ServerProcess


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
