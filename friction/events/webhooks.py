"""Gateway verdict webhooks: tell the gateway when a challenged payment is decided.

Each tenant has its own callback URL and secret. A delivery is a JSON
``VerdictNotice`` (the tenant, then the ``PaymentStatus`` with the tenant's own
payment id), with headers ``Friction-Event-Id``
(stable per verdict: gateways de-duplicate on it) and ``Friction-Signature:
t=<unix>,v1=<hex>`` where ``hex = HMAC-SHA256(secret, "<t>.<body>")``; the
timestamp lets the gateway refuse old replays. Failed deliveries are retried
with exponential backoff; the gateway can always reconcile with
``GET /v1/payments/{id}`` (long-poll with ``?wait=``).

SSRF: the callback URL is configuration, but whoever can change it must not be able to
make friction POST into its own network. An address is allowed only if it is global
(not private, link-local — cloud metadata at 169.254.169.254 —, CGNAT, multicast or
reserved; loopback only with ``allow_loopback``) *and* so is every IPv4 address it embeds:
IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, IPv4-translated
``::ffff:0:a.b.c.d``, NAT64 ``64:ff9b::a.b.c.d`` (the local-use ``64:ff9b:1::/48`` is
refused whole), 6to4 ``2002:AABB:CCDD::`` and Teredo (server and client). The URL is
checked at start-up (``check_callback_url``: a one-line ``CallbackRefused`` naming the
settings to change), and every delivery resolves the host once through
``CheckedResolver``, which refuses the whole answer if any address fails the check: aiohttp
connects to exactly the addresses checked (Host header and TLS SNI keep the name), so a DNS
answer that changes after start-up (rebinding) cannot reach an internal address. Redirects
are not followed.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import hmac
import ipaddress
import logging
import socket
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from friction.domain.decision import PaymentStatus
from friction.domain.tenancy import scoped

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
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


class CallbackRefused(ValueError):
    """The callback URL is not one friction may POST to; the message says what to change."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address carries, by each standard embedding."""
    value = int(address)
    found = [v4 for v4 in (address.ipv4_mapped, address.sixtofour) if v4 is not None]
    found += list(address.teredo or ())
    low = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if value >> 32 == 0 and value > 1:  # IPv4-compatible ::a.b.c.d (deprecated, still routed)
        found.append(low)
    if value >> 32 == 0xFFFF0000 or address in NAT64:  # IPv4-translated, NAT64
        found.append(low)
    return found


def refusal(address: IpAddress, allow_loopback: bool) -> str | None:
    """Why friction must not connect to ``address`` (None: it may)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # the kernel connects to the IPv4 address itself
    if address.is_loopback:
        return None if allow_loopback else f"{address} is loopback"
    if isinstance(address, ipaddress.IPv6Address):
        if address in NAT64_LOCAL:
            return f"{address} is in the local-use NAT64 prefix"
        for inner in embedded_ipv4(address):
            if not inner.is_global or inner.is_multicast:
                return f"{address} embeds the non-public IPv4 address {inner}"
    if not address.is_global or address.is_multicast:
        return f"{address} is not a public address"
    return None


def check_callback_url(url: str, allow_loopback: bool = False) -> None:
    """Raise CallbackRefused unless ``url`` is http(s) to allowed addresses only (SSRF guard)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallbackRefused(
            f"FRICTION_GATEWAY_CALLBACK_URL must be http(s)://host/..., got {url!r}"
        )
    if parts.username or parts.password:
        raise CallbackRefused("FRICTION_GATEWAY_CALLBACK_URL must not carry credentials")
    for address in _addresses(parts.hostname, parts.port):
        if (reason := refusal(address, allow_loopback)) is not None:
            hint = (
                "set FRICTION_WEBHOOK_ALLOW_LOOPBACK=true for a local receiver"
                if refusal(address, allow_loopback=True) is None
                else "FRICTION_WEBHOOK_ALLOW_LOOPBACK allows loopback only"
            )
            raise CallbackRefused(
                f"FRICTION_GATEWAY_CALLBACK_URL host {parts.hostname!r} refused (SSRF): "
                f"{reason}; {hint}"
            )


def _addresses(host: str, port: int | None) -> list[IpAddress]:
    """Every address ``host`` stands for (a literal, or what DNS says now)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise CallbackRefused(
            f"FRICTION_GATEWAY_CALLBACK_URL host {host!r} does not resolve: {error}"
        ) from None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


class CheckedResolver(AbstractResolver):
    """Resolve once for aiohttp and hand it only checked addresses (DNS rebinding guard)."""

    def __init__(self, allow_loopback: bool, inner: AbstractResolver | None = None) -> None:
        self._allow_loopback = allow_loopback
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The inner resolver's answer, or OSError if any address in it is refused."""
        answer = await self._inner.resolve(host, port, family)
        for entry in answer:
            address = ipaddress.ip_address(entry["host"].split("%", 1)[0])
            if (reason := refusal(address, self._allow_loopback)) is not None:
                log.warning("verdict webhook host %r refused (SSRF): %s", host, reason)
                raise OSError(errno.EPERM, f"callback host {host!r} refused (SSRF): {reason}")
        return answer

    async def close(self) -> None:
        await self._inner.close()


class VerdictNotice(PaymentStatus):
    """What a tenant's gateway is told: whose payment (its own id) and where it ended."""

    tenant: str


class VerdictWebhooks:
    """Queue and deliver verdicts to each tenant's callback URL, with retries."""

    def __init__(
        self,
        targets: Mapping[str, tuple[str, bytes]],
        allow_loopback: bool = False,
        attempts: int = 8,
        first_backoff: float = 0.5,
    ) -> None:
        self._targets = dict(targets)  # tenant -> (url, secret)
        self._allow_loopback = allow_loopback
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
        connector = aiohttp.TCPConnector(resolver=CheckedResolver(self._allow_loopback))
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
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
