"""Gateway verdict webhooks: tell the gateway when a challenged payment is decided.

Each tenant has its own callback URL and secret. A delivery is a JSON
``VerdictNotice`` (the tenant, then the ``PaymentStatus`` with the tenant's own
payment id), with headers ``Friction-Event-Id``
(stable per verdict: gateways de-duplicate on it) and ``Friction-Signature:
t=<unix>,v1=<hex>`` where ``hex = HMAC-SHA256(secret, "<t>.<body>")``; the
timestamp lets the gateway refuse old replays. Failed deliveries are retried
with exponential backoff; the gateway can always reconcile with
``GET /v1/payments/{id}`` (long-poll with ``?wait=``).

SSRF: the callback URL is configuration, but whoever can change it must not be
able to make friction POST into its own network. ``check_callback_url`` refuses
(at start-up) a URL whose host is, or resolves to, anything but a global address:
private, link-local (cloud metadata at 169.254.169.254), CGNAT, multicast,
reserved, and loopback unless ``allow_loopback``. Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import socket
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

import aiohttp

from friction.api.schemas import PaymentStatus
from friction.tenancy import scoped

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "Friction-Signature"
EVENT_ID_HEADER = "Friction-Event-Id"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: bytes, header: str, body: bytes, now: float, tolerance_s: float = 300) -> bool:
    """What a gateway does with a delivery: check signature and freshness."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if not parts.get("t", "").isdigit() or "v1" not in parts:
        return False
    timestamp = int(parts["t"])
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts["v1"]) and abs(now - timestamp) <= tolerance_s


IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def check_callback_url(url: str, allow_loopback: bool = False) -> None:
    """Raise ValueError unless ``url`` is http(s) to global addresses only (SSRF guard)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"callback URL must be http(s)://host/..., got {url!r}")
    if parts.username or parts.password:
        raise ValueError("callback URL must not carry credentials")
    for address in _addresses(parts.hostname, parts.port):
        if address.is_loopback and allow_loopback:
            continue
        if not address.is_global or address.is_multicast:
            raise ValueError(
                f"callback URL host {parts.hostname!r} is a non-public address ({address}): "
                "refused (SSRF); loopback needs FRICTION_WEBHOOK_ALLOW_LOOPBACK"
            )


def _addresses(host: str, port: int | None) -> list[IpAddress]:
    """Every address ``host`` stands for (a literal, or what DNS says now)."""
    try:
        found: list[IpAddress] = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
        except socket.gaierror as error:
            raise ValueError(f"callback URL host {host!r} does not resolve: {error}") from None
        found = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    # ::ffff:10.0.0.1 is 10.0.0.1: judge the IPv4 address inside
    return [
        a.ipv4_mapped if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped else a
        for a in found
    ]


class VerdictNotice(PaymentStatus):
    """What a tenant's gateway is told: whose payment (its own id) and where it ended."""

    tenant: str


class VerdictWebhooks:
    """Queue and deliver verdicts to each tenant's callback URL, with retries."""

    def __init__(
        self,
        targets: Mapping[str, tuple[str, bytes]],
        attempts: int = 8,
        first_backoff: float = 0.5,
    ) -> None:
        self._targets = dict(targets)  # tenant -> (url, secret)
        self._attempts = attempts
        self._first_backoff = first_backoff
        self._queue: asyncio.Queue[VerdictNotice] = asyncio.Queue()
        self.delivered = 0

    def enqueue(self, tenant: str, status: PaymentStatus) -> None:
        """Queue ``status`` for ``tenant``'s gateway (nothing, if it has no callback URL)."""
        if tenant in self._targets:
            self._queue.put_nowait(VerdictNotice(tenant=tenant, **status.model_dump()))

    async def run(self) -> None:
        """Deliver queued verdicts forever, each in its own retrying task."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            pending: set[asyncio.Task[None]] = set()
            while True:
                notice = await self._queue.get()
                task = asyncio.create_task(self._deliver(session, notice))
                pending.add(task)
                task.add_done_callback(pending.discard)

    async def _deliver(self, session: aiohttp.ClientSession, notice: VerdictNotice) -> None:
        url, secret = self._targets[notice.tenant]
        body = notice.model_dump_json().encode()
        event_id = f"verdict:{scoped(notice.tenant, notice.payment_id)}:{notice.verdict}"
        backoff = self._first_backoff
        for attempt in range(1, self._attempts + 1):
            headers = {
                "Content-Type": "application/json",
                EVENT_ID_HEADER: event_id,
                SIGNATURE_HEADER: sign(secret, int(time.time()), body),
            }
            try:
                async with session.post(
                    url, data=body, headers=headers, allow_redirects=False
                ) as response:
                    if response.status < 300:
                        self.delivered += 1
                        return
                    problem = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as error:
                problem = type(error).__name__
            log.warning("verdict webhook %s attempt %d failed: %s", event_id, attempt, problem)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 60.0)
        log.error("verdict webhook %s given up after %d attempts", event_id, self._attempts)
