"""Card data end to end (issue 8, item 9): hostile payloads in, then a scan of everything.

The service runs as ``friction -v serve`` (debug logging, access log on) on the
production adapters: the real Redis, the Kafka-protocol broker and the real
``twilio`` SDK against the fake Twilio. Luhn-valid card numbers (and CVVs, track
data, expiry dates) are sent in body values, keys, nested fields, ids, merchant
names, path parameters, query strings, headers and signed Twilio webhooks, next to
normal traffic (SMS challenges answered, labels, preferences). Then every place the
service writes is read back and searched for each card number, plain or formatted:
its log (stdout and stderr), every file under its data dir, every message of every
Kafka topic from the beginning, every key and value in its Redis database, the
fake Twilio's outbound messages and webhook answers, the verdict webhooks, and
every HTTP answer it gave.

The card numbers and the search for them (the Redis and Kafka dumps) live in
``card_scan``, beside this module, to keep each under the 400-line limit.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from redis.asyncio import Redis

from friction.api.carddata import luhn_valid
from friction.dialogue.twilio_signature import SIGNATURE_HEADER, sign
from tests.conftest import CANONICAL, secret_env
from tests.dialogues import FakeSms, eventually
from tests.integration.card_scan import (
    AMEX,
    DINERS,
    DISCOVER,
    MASTERCARD,
    PANS,
    VISA,
    VISA_DEBIT,
    files_under,
    kafka_dump,
    leaks,
    redis_dump,
)
from tests.servers import ServerProcess, Service, receiver, service_env

pytestmark = [pytest.mark.redis, pytest.mark.kafka, pytest.mark.timeout(120)]

API_KEY = "key-acme-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def spaced(pan: str) -> str:
    return " ".join(pan[i : i + 4] for i in range(0, len(pan), 4))


def dashed(pan: str) -> str:
    return "-".join(pan[i : i + 4] for i in range(0, len(pan), 4))


# --- hostile requests ------------------------------------------------------------------


def body(n: int, **changes: Any) -> dict[str, Any]:
    """A valid payment of its own customer; ``changes`` replace top-level fields."""
    payment = copy.deepcopy(CANONICAL)
    payment["payment_id"] = f"pay_scan_{n}"
    payment["customer"] = {"id": f"cus_scan_{n}", "phone": f"+4477009{n:05d}", "locale": "en-GB"}
    payment.update(changes)
    return payment


def nested(n: int, path: str, value: object) -> dict[str, Any]:
    """``body(n)`` with ``value`` put at a dotted ``path`` (created if missing)."""
    payment = body(n)
    *parents, leaf = path.split(".")
    node = payment
    for name in parents:
        node = node.setdefault(name, {})
    node[leaf] = value
    return payment


HOSTILE_BODIES: list[dict[str, Any]] = [
    nested(100, "instrument.token", VISA),
    nested(101, "instrument.pan", VISA),
    nested(102, "instrument.cvv", "123"),
    nested(103, "instrument.CVV2", "1234"),
    nested(104, "instrument.expiry", "12/29"),
    nested(105, "instrument.exp_month", 12),
    nested(106, "instrument.track2", f";{MASTERCARD}=29121010000000000000?"),
    nested(107, "merchant.name", f"%B{MASTERCARD}^DOE/JANE^2912101000000000000000?"),
    nested(108, "merchant.name", f"ACME card {spaced(AMEX)}"),
    nested(121, "merchant.name", f"card {spaced(VISA)} 12/29"),  # hid in a longer digit run
    nested(109, "merchant.id", f"mer_{DISCOVER}"),
    nested(110, "device.id", dashed(DINERS)),
    nested(111, "payment_id", f"pay_{VISA_DEBIT}"),
    nested(112, "customer.id", dashed(VISA)),
    nested(113, "metadata.order.card", {"number": spaced(MASTERCARD), "cvc": "999"}),
    nested(114, "payee", {"id": "pye_1", "name": f"J. Smith {AMEX}", "account_last4": "0005"}),
    nested(115, "notes", [1, [2, {"deep": [DISCOVER]}]]),
    nested(116, f"metadata.{DINERS}", "key is a card number"),
    nested(117, "amount.value", int(VISA)),
    nested(
        118,
        "instrument",
        {"token": "tok_1", "bin": VISA[:6], "last4": VISA[-4:], "card_number": VISA},
    ),
]
ESCAPED = (  # a PAN spelt with JSON unicode escapes: no digit run in the raw bytes
    b'{"payment_id": "pay_scan_120", "note": "'
    + "".join(f"\\u{ord(c):04x}" for c in VISA).encode()
    + b'"}'
)


@dataclass
class Exchange:
    """What the test sent and what the service answered, for the final scan."""

    answers: list[tuple[str, int, bytes]] = field(default_factory=list)

    async def send(
        self, session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
    ) -> int:
        async with session.request(method, url, **kwargs) as response:
            self.answers.append((f"{method} {url[:40]}", response.status, await response.read()))
            return response.status


@dataclass
class Gateway:
    """Stands in for the gateway's verdict-webhook endpoint: keeps every body."""

    url: str = ""
    bodies: list[bytes] = field(default_factory=list)


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    found = Gateway()

    async def keep(request: web.Request) -> web.Response:
        found.bodies.append(await request.read())
        return web.Response(status=204)

    async with receiver("/verdicts", keep) as found.url:
        yield found


@pytest.fixture
async def redis_db(redis_server: ServerProcess) -> AsyncIterator[tuple[str, Redis]]:
    """A Redis database of its own (flushed): the dump holds only this service's keys."""
    url = f"redis://127.0.0.1:{redis_server.port}/11"
    client = Redis.from_url(url)
    await client.flushdb()
    yield url, client
    await client.flushdb()
    await client.aclose()


# --- the test --------------------------------------------------------------------------


async def test_no_card_number_reaches_logs_store_bus_files_or_texts(
    tmp_path: Path, models_dir: Path, redis_db: tuple[str, Redis], kafka_bootstrap: str,
    fake_sms: FakeSms, gateway: Gateway,
) -> None:  # fmt: skip
    assert all(luhn_valid(pan) for pan in PANS)
    redis_url, redis = redis_db
    data_dir = tmp_path / "var"
    env = service_env(data_dir, models_dir)
    port = int(env["FRICTION_HTTP_PORT"])
    env |= {
        "FRICTION_STORE": redis_url, "FRICTION_BUS": f"kafka://{kafka_bootstrap}",
        "FRICTION_KAFKA_IDEMPOTENT": "false", "FRICTION_ACCESS_LOG": "true",
        "FRICTION_API_KEYS": orjson.dumps({"acme": API_KEY}).decode(),
        "FRICTION_CHALLENGE_AT": "0.0", "FRICTION_DEFAULT_CHANNELS": "sms,in_app",
        "FRICTION_EXPIRY_CHECK_SECONDS": "0.05",
        "FRICTION_TWILIO_TIMEOUT_SECONDS": "2", **fake_sms.env(port),
        "FRICTION_GATEWAY_CALLBACKS": orjson.dumps(
            {"acme": {"url": gateway.url, "secret": "acme-callback-secret-0123"}}
        ).decode(),
        "FRICTION_WEBHOOK_ALLOW_LOOPBACK": "true", **secret_env(),
    }  # fmt: skip
    log_path = tmp_path / "service.log"
    service = Service(env, log_path, verbose=True)
    sent = Exchange()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        await service.start(session)
        try:
            await drive(session, service.url, sent, fake_sms)

            async def outbox_empty() -> bool:
                return not await redis.xlen("friction:outbox")

            await eventually(outbox_empty)
        finally:
            service.end(kill=False)

    topics, kafka = await kafka_dump(kafka_bootstrap)
    assert {"decisions", "dialogues", "labels"} <= set(topics), topics
    assert b"pay_scan_1" in kafka  # normal traffic did reach the bus
    redis_blob = await redis_dump(redis)
    assert b"pay_scan_1" in redis_blob
    service_log = log_path.read_bytes()
    assert b"aiohttp.access" in service_log and b"DEBUG" in service_log  # both were on
    outbound = [m for m in fake_sms.state.messages if m["direction"] == "outbound-api"]
    assert len(outbound) >= 4
    places: dict[str, bytes] = {
        "service log": service_log,
        "kafka": kafka,
        "redis": redis_blob,
        "sms sent": orjson.dumps(outbound),
        "verdict webhooks": b"\n".join(gateway.bodies),
        **{f"file {name}": blob for name, blob in files_under(data_dir).items()},
        **{f"answer to {what} ({status})": blob for what, status, blob in sent.answers},
    }
    found = {place: hits for place, blob in places.items() if (hits := leaks(blob))}
    print(
        f"scanned {len(places)} places, {sum(map(len, places.values()))} bytes; "
        f"{len(sent.answers)} requests; kafka topics {topics}"
    )
    assert found == {}, "\n".join(f"{place}: {hits}" for place, hits in found.items())


async def drive(
    session: aiohttp.ClientSession, url: str, sent: Exchange, fake_sms: FakeSms
) -> None:
    """Normal traffic and every hostile request, each answered without a 5xx."""
    for n in range(1, 5):  # normal: challenged by SMS, answered, labelled
        assert (
            await sent.send(session, "POST", f"{url}/v1/score", json=body(n), headers=AUTH) == 200
        )

    async def texted() -> bool:
        return len([m for m in fake_sms.state.messages if m["direction"] == "outbound-api"]) >= 4

    await eventually(texted)
    replies = [
        ("YES", "+447700900001"),
        (f"no, my card is {spaced(VISA)} 123", "+447700900002"),
        (f"{AMEX} exp 12/29", "+447700900003"),
    ]
    for text, sender in replies:
        sent.answers.append(("sms reply", 200, (await fake_sms.reply(text, sender)).encode()))
    label = {"label": "fraud", "source": "chargeback"}
    await sent.send(
        session, "POST", f"{url}/v1/payments/pay_scan_4/labels", json=label, headers=AUTH
    )

    statuses: list[int] = []
    for hostile in HOSTILE_BODIES:
        statuses.append(
            await sent.send(session, "POST", f"{url}/v1/score", json=hostile, headers=AUTH)
        )
    as_json = AUTH | {"Content-Type": "application/json"}
    statuses.append(
        await sent.send(session, "POST", f"{url}/v1/score", data=ESCAPED, headers=as_json)
    )
    assert set(statuses) == {422}, statuses

    for path in (  # card numbers as path parameters of every kind of route
        f"/v1/payments/{VISA}",
        f"/v1/payments/pay_{dashed(MASTERCARD)}?wait=0",
        f"/v1/customers/{AMEX}/prompts",
        f"/v1/reviews/{DISCOVER}",
    ):
        assert await sent.send(session, "GET", url + path, headers=AUTH) == 422, path
    assert await sent.send(session, "GET", f"{url}/nowhere/{DINERS}", headers=AUTH) == 404
    mutations = [
        ("PUT", f"/v1/customers/{VISA_DEBIT}/preferences", {"channels": ["in_app"]}),
        ("PUT", f"/v1/customers/cus_{VISA}/preferences", {"channels": ["in_app"]}),
        ("POST", f"/v1/payments/{MASTERCARD}/labels", label),
        ("POST", f"/v1/dialogues/{AMEX}/answer", {"token": "x", "answer": "yes"}),
        ("DELETE", f"/v1/customers/{DISCOVER}", None),
        (
            "POST",
            "/v1/reviews/rev_1/resolve",
            {"analyst": "ann", "verdict": "released", "note": f"card {VISA}"},
        ),
        ("POST", "/v1/reviews/rev_1/assign", {"analyst": dashed(VISA)}),
    ]
    for method, path, payload in mutations:
        status = await sent.send(session, method, url + path, json=payload, headers=AUTH)
        assert status == 422, (method, path, status)

    # card numbers in query strings and headers of requests that are otherwise fine
    query = {"pan": VISA, "cvv": "123", "card": spaced(MASTERCARD)}
    fine = body(50)
    assert (
        await sent.send(session, "POST", f"{url}/v1/score", json=fine, params=query, headers=AUTH)
        == 422
    )
    assert (
        await sent.send(
            session, "GET", f"{url}/v1/reviews", params={"assignee": AMEX}, headers=AUTH
        )
        == 422
    )
    headers = {
        "User-Agent": f"shop/{DISCOVER}",
        "Referer": f"https://shop/?pan={DINERS}",
        "X-Card-Number": VISA_DEBIT,
        "Cookie": f"card={VISA}",
    }
    assert (
        await sent.send(session, "POST", f"{url}/v1/score", json=body(51), headers=AUTH | headers)
        == 200
    )
    assert (
        await sent.send(
            session,
            "POST",
            f"{url}/v1/score",
            json=body(52),
            headers={"Authorization": f"Bearer {VISA}"},
        )
        == 401
    )

    # Twilio webhooks: signed (only Twilio could send them) and forged, card data inside
    sms_url = url + "/webhooks/twilio/sms"
    token = fake_sms.state.auth_token
    sender = "+447700900004"
    forms = [
        {"From": sender, "Body": f"card {dashed(DISCOVER)}", "MessageSid": "SM" + "a" * 32},
        {"From": sender, "Body": "yes", "MessageSid": f"SM{DINERS}{'b' * 18}"},
        {"From": f"+{VISA}", "Body": "STOP", "MessageSid": "SM" + "c" * 32},
        {"From": sender, "Body": "hi", "MessageSid": "SM" + "d" * 32, "Card": VISA_DEBIT},
    ]
    statuses = []
    for form in forms:
        signed = {SIGNATURE_HEADER: sign(sms_url, form, token)}
        statuses.append(await sent.send(session, "POST", sms_url, data=form, headers=signed))
        forged = {SIGNATURE_HEADER: sign(sms_url, form, "not-the-token")}
        assert await sent.send(session, "POST", sms_url, data=form, headers=forged) == 403
    status_form = {
        "MessageSid": f"SM{MASTERCARD}{'e' * 16}",
        "MessageStatus": "failed",
        "ErrorMessage": f"card {AMEX}",
    }
    status_url = url + "/webhooks/twilio/status"
    signed = {SIGNATURE_HEADER: sign(status_url, status_form, token)}
    statuses.append(await sent.send(session, "POST", status_url, data=status_form, headers=signed))
    assert statuses == [200, 200, 200, 200, 204], statuses
