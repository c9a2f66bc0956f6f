"""Malformed HTTP requests carrying a card number (issue 15, item 4): no echo, no raw log.

aiohttp's parser used to log the offending bytes with a traceback at ERROR and send them
back as the 400 body. Each malformed request below hides a card number where the parser
chokes (request line, header name, header value, Content-Length, chunk size, an overlong
URL or header); it goes over a raw socket to the service run each way it is run — the
test app factory, ``friction -v serve`` (debug logging, access log on) and
``friction serve --workers 2`` — and every answer is a generic JSON 400 while the log has
one line per request and never the digits.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import orjson
import pytest

from friction.api.server import MALFORMED
from tests.conftest import Client
from tests.servers import Service, free_port, service_env

pytestmark = pytest.mark.timeout(120)

PAN = b"4539578763621486"
SPACED = b"4539 5787 6362 1486"
MALFORMED_REQUESTS = {
    "control character in the URL": b"GET /v1/payments/x\x01"
    + PAN
    + b" HTTP/1.1\r\nHost: a\r\n\r\n",
    "overlong URL": b"GET /" + PAN * 600 + b" HTTP/1.1\r\nHost: a\r\n\r\n",
    "overlong header": b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Card: " + SPACED * 500 + b"\r\n\r\n",
    "bad header name": b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-C\x01" + PAN + b": 1\r\n\r\n",
    "header without colon": b"GET /healthz HTTP/1.1\r\nHost: a\r\n" + SPACED + b"\r\n\r\n",
    "card number as method": PAN + b" / HTTP/1.1\r\nHost: a\r\n\r\n",
    "card number as version": b"GET / HTTP/1." + PAN + b"\r\nHost: a\r\n\r\n",
    "bad Content-Length": b"POST /v1/score HTTP/1.1\r\nHost: a\r\nContent-Length: "
    + PAN
    + b"x\r\n\r\n",
    "bad chunk size": b"POST /v1/score HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n" + PAN + b"zz\r\n",
    "second request malformed": b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
    + PAN
    + b" / HTTP/1.1\r\n\r\n",
}
NOT_HTTP = ("card number as method", "second request malformed")
"""A bad method in a connection's first packet is a scanner or TLS on the HTTP port: logged
at DEBUG (as aiohttp does), so an INFO log has one line fewer for each."""


def leaked(blob: bytes) -> bool:
    return PAN in blob or SPACED in blob or PAN in blob.replace(b" ", b"")


async def send_raw(port: int, raw: bytes) -> bytes:
    """Everything the server answers to ``raw`` until it closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()


def last_answer(answer: bytes) -> tuple[int, dict[str, object]]:
    """Status and JSON body of the last HTTP response in ``answer``."""
    head, _, body = answer.rpartition(b"HTTP/1.")[2].partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), orjson.loads(body)


def assert_blind_400(answer: bytes) -> None:
    status, body = last_answer(answer)
    assert status == 400, answer[:200]
    assert body == {"error": "bad_request", "message": MALFORMED, "fields": []}
    assert not leaked(answer)


@pytest.mark.parametrize("raw", MALFORMED_REQUESTS.values(), ids=MALFORMED_REQUESTS.keys())
async def test_the_app_answers_a_generic_400_and_logs_one_clean_line(
    client: Client, raw: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert client.port is not None
    assert_blind_400(await send_raw(client.port, raw))
    lines = [r for r in caplog.records if "malformed HTTP request" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert all(not leaked(r.getMessage().encode()) and r.exc_info is None for r in caplog.records)
    assert (await client.get("/healthz")).status == 200  # the service carries on


async def test_friction_serve_logs_no_card_number(tmp_path: Path, models_dir: Path) -> None:
    """``friction -v serve``: debug logging and the access log, all in one file."""
    env = service_env(tmp_path / "var", models_dir, access_log="true")
    log = tmp_path / "serve.log"
    service = Service(env, log, verbose=True)
    async with aiohttp.ClientSession() as session:
        await service.start(session)
    try:
        for raw in MALFORMED_REQUESTS.values():
            assert_blind_400(await send_raw(service.port, raw))
    finally:
        service.end(kill=False)
    text = log.read_bytes()
    assert not leaked(text)
    assert text.count(b"malformed HTTP request from") == len(MALFORMED_REQUESTS)
    assert b"Traceback" not in text


def test_every_worker_logs_no_card_number(
    tmp_path: Path, models_dir: Path, redis_url: str, kafka_bootstrap: str
) -> None:
    """``friction serve --workers 2``: connections spread over both processes."""
    port = free_port()
    env = service_env(
        tmp_path,
        models_dir,
        store=redis_url.rsplit("/", 1)[0] + "/6",
        bus=f"kafka://{kafka_bootstrap}",
        kafka_idempotent="false",
        http_port=str(port),
    )
    log = tmp_path / "workers.log"
    argv = [sys.executable, "-m", "friction", "serve", "--workers", "2"]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while log.read_bytes().count(b"friction ready") < 2:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        for _ in range(3):
            for raw in MALFORMED_REQUESTS.values():
                assert_blind_400(asyncio.run(send_raw(port, raw)))
    finally:
        proc.terminate()
        assert proc.wait(timeout=60) == 0
    text = log.read_bytes()
    assert not leaked(text) and b"Traceback" not in text
    assert text.count(b"malformed HTTP request from") == 3 * (
        len(MALFORMED_REQUESTS) - len(NOT_HTTP)
    )


async def test_an_undecodable_body_is_a_400_not_a_500(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """A body claiming gzip that is not: the parser fails inside the handler's read."""
    caplog.set_level(logging.INFO)
    assert client.port is not None
    raw = (
        b"POST /v1/score HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
        b"Content-Encoding: gzip\r\nContent-Length: 20\r\nConnection: close\r\n\r\n" + PAN + b"abcd"
    )
    answer = await send_raw(client.port, raw)
    status, body = last_answer(answer)
    assert (status, body["error"]) == (400, "unreadable_body") and not leaked(answer)
    assert all(r.levelno < logging.ERROR and r.exc_info is None for r in caplog.records)
    assert any("unreadable body" in r.getMessage() for r in caplog.records)
