"""The card numbers the card data scan plants, and the search for them afterwards.

Beside ``test_card_data_scan.py`` (each under 400 lines): that module
sends the hostile traffic; this one knows the test card numbers and how to find
them again, plain or formatted, in any blob, and how to read back everything a
Redis database and a Kafka broker hold.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from redis.asyncio import Redis

PANS = (
    "4539578763621486",
    "5425233430109903",
    "378282246310005",
    "6011000990139424",
    "36227206271667",
    "4000056655665556",
)
VISA, MASTERCARD, AMEX, DISCOVER, DINERS, VISA_DEBIT = PANS


def pan_pattern(pan: str) -> re.Pattern[bytes]:
    """The card number with any separators people (or URL encoding) put between digits."""
    separator = rb"(?:[ \-+._/]|%20|%2D|\\u0020)?"
    return re.compile(separator.join(re.escape(d.encode()) for d in pan))


PATTERNS = [pan_pattern(pan) for pan in PANS]


def leaks(blob: bytes) -> list[str]:
    """The card numbers (last 4 only, in case the report itself is logged) found in blob."""
    return [
        f"…{pan[-4:]}" for pan, pattern in zip(PANS, PATTERNS, strict=True) if pattern.search(blob)
    ]


async def redis_dump(redis: Redis) -> bytes:
    """Every key name and every value of the database, whatever its type."""
    parts: list[bytes] = []
    async for key in redis.scan_iter(match="*", count=1000):
        kind = (await redis.type(key)).decode()
        parts.append(key)
        if kind == "string":
            parts.append(await redis.get(key) or b"")
        elif kind == "hash":
            parts.extend(itertools.chain.from_iterable((await redis.hgetall(key)).items()))
        elif kind == "list":
            parts.extend(await redis.lrange(key, 0, -1))
        elif kind == "set":
            parts.extend(await redis.smembers(key))
        elif kind == "zset":
            parts.extend(m for m, _ in await redis.zrange(key, 0, -1, withscores=True))
        elif kind == "stream":
            for entry_id, fields in await redis.xrange(key):
                parts.append(entry_id)
                parts.extend(itertools.chain.from_iterable(fields.items()))
        else:
            pytest.fail(f"redis key {key!r} of unexpected type {kind}: extend the dump")
    return b"\n".join(parts)


async def kafka_dump(bootstrap: str, quiet_s: float = 1.5) -> tuple[list[str], bytes]:
    """Every record (key, value, headers) of every topic on the broker, from offset 0."""
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await probe.start()
    try:
        topics = sorted(t for t in await probe.topics() if not t.startswith("__"))
    finally:
        await probe.stop()
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    parts: list[bytes] = []
    try:
        while batch := await consumer.getmany(timeout_ms=int(quiet_s * 1000)):
            for record in itertools.chain.from_iterable(batch.values()):
                parts += [record.key or b"", record.value or b""]
                parts += [name.encode() + b"=" + value for name, value in record.headers]
    finally:
        await consumer.stop()
    return topics, b"\n".join(parts)


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
