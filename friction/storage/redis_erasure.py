"""Erasure on the Redis store: SCAN for the customer's records, rewrite or delete them.

Records of one customer are spread over keys named by payment and dialogue id
(no per-customer index: keeping one would cost every scoring commit a write for
the sake of a rare request), so erasure walks ``pay:*``, ``dlg:*``, ``rev:*`` and ``sess:*``
with SCAN (cursor-based: it never blocks Redis) and filters on the customer id
in the JSON. That is O(keys): at 10 M keys about a minute, well inside the
GDPR's one month. Rewritten records keep their TTL (``SET ... KEEPTTL``).
The caller holds the dialogue engine's lock, so no transition writes an
un-scrubbed copy back meanwhile.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from redis.asyncio import Redis

from friction.domain.erasure import (
    CUSTOMER_MARKS,
    Erased,
    customer_marker,
    scrub_dialogue,
    scrub_payment,
    scrub_review,
)
from friction.domain.records import DialogueRecord, PaymentRecord, ReviewRecord

SCAN_COUNT = 1000


async def erase(redis: Redis, p: str, tag: str, customer_id: str, pseudonym: str) -> Erased:
    """Erase ``customer_id`` under prefix ``p`` (``tag``: its Cluster hash tag)."""
    marker = customer_marker(customer_id)
    payment_ids: set[str] = set()
    async for key, raw in _records(redis, f"{p}pay:*", marker):
        scrubbed = scrub_payment(PaymentRecord.model_validate_json(raw), pseudonym)
        await redis.set(key, scrubbed.model_dump_json(), keepttl=True)
        payment_ids.add(key.decode().removeprefix(f"{p}pay:"))
    phones = await _erase_dialogues(redis, p, marker, pseudonym)
    reviews = 0
    async for key, raw in _records(redis, f"{p}rev:*", marker):
        if not key.startswith(f"{p}rev:ix:".encode()):
            review = scrub_review(ReviewRecord.model_validate_json(raw), pseudonym)
            await redis.set(key, review.model_dump_json(), keepttl=True)
            reviews += 1
    doomed = [f"{p}c:{tag}", f"{p}b:{tag}", f"{p}pref:{tag}", f"{p}open:c:{tag}"]
    doomed += [key.decode() async for key, _ in _records(redis, f"{p}sess:*", marker)]
    for kind in CUSTOMER_MARKS:
        pattern = f"{p}mark:{kind}:{_glob_escape(customer_id)}:*"
        doomed += [k.decode() async for k in redis.scan_iter(match=pattern, count=SCAN_COUNT)]
    doomed += await _declines_of(redis, p, payment_ids)
    deleted = int(await redis.delete(*doomed)) if doomed else 0
    return Erased(len(payment_ids), len(phones[1]), reviews, deleted)


async def _erase_dialogues(
    redis: Redis, p: str, marker: bytes, pseudonym: str
) -> tuple[set[str], list[str]]:
    """Scrub the customer's dialogues (and their open-index copies): (phones, dialogue ids)."""
    phones: set[str] = set()
    ids: list[str] = []
    async for key, raw in _records(redis, f"{p}dlg:*", marker):
        dialogue = DialogueRecord.model_validate_json(raw)
        phones.update([dialogue.phone] if dialogue.phone else [])
        scrubbed = scrub_dialogue(dialogue, pseudonym).model_dump_json()
        await redis.set(key, scrubbed, keepttl=True)
        if await redis.hexists(f"{p}open", dialogue.id):
            await redis.hset(f"{p}open", dialogue.id, scrubbed)
            if dialogue.phone:  # the scrubbed dialogue has no phone: no reply may reach it
                await redis.srem(f"{p}open:p:{dialogue.phone}", dialogue.id)
        ids.append(dialogue.id)
    return phones, ids


async def _records(redis: Redis, pattern: str, marker: bytes) -> AsyncIterator[tuple[bytes, bytes]]:
    """(key, JSON) of string keys matching ``pattern`` whose JSON holds ``marker``."""
    batch: list[bytes] = []
    async for key in redis.scan_iter(match=pattern, count=SCAN_COUNT, _type="string"):
        batch.append(key)
        if len(batch) >= SCAN_COUNT:
            async for found in _matching(redis, batch, marker):
                yield found
            batch = []
    async for found in _matching(redis, batch, marker):
        yield found


async def _matching(
    redis: Redis, keys: list[bytes], marker: bytes
) -> AsyncIterator[tuple[bytes, bytes]]:
    if not keys:
        return
    for key, raw in zip(keys, await redis.mget(keys), strict=True):
        if isinstance(raw, bytes) and marker in raw:  # decode_responses=False: bytes
            yield key, raw


async def _declines_of(redis: Redis, p: str, payment_ids: set[str]) -> list[str]:
    """Contestable-decline marks (keyed by a phone) whose value names one of these payments."""
    found: list[str] = []
    pattern = f"{p}mark:contestable_decline:*"
    async for key in redis.scan_iter(match=pattern, count=SCAN_COUNT):
        raw = await redis.get(key)  # "<until> <payment id> <locale>"
        parts = (raw.decode() if isinstance(raw, bytes) else "").split(" ")
        if len(parts) > 1 and parts[1] in payment_ids:
            found.append(key.decode())
    return found


def _glob_escape(text: str) -> str:
    """``text`` as a literal inside a SCAN MATCH pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
