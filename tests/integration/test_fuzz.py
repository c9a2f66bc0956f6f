"""Fuzzing (issue 8, item 8): schemathesis against the served OpenAPI, plus hostile bodies.

The service runs as its own process; schemathesis (``pip install schemathesis``)
drives every operation of ``/openapi.json`` (examples, coverage, fuzzing and the
stateful phase over the document's links) and fails on any 5xx. Hand-made
abuse follows: oversized bodies, deep nesting, wrong content types, binary
garbage. Nothing may answer 5xx or show a stack trace.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.servers import service_env, serving

pytestmark = pytest.mark.timeout(120)
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
TRACE_MARKERS = (b"Traceback", b'File "', b"Exception", b"friction/")


@pytest.fixture
async def service(tmp_path: Path, models_dir: Path) -> AsyncIterator[tuple[str, Path]]:
    env = service_env(tmp_path / "var", models_dir, default_channels="in_app,console")
    async with serving(env, tmp_path / "service.log") as process:
        yield process.url, tmp_path / "service.log"


async def test_schemathesis_finds_no_server_error(service: tuple[str, Path]) -> None:
    url, log = service
    argv = [
        str(SCHEMATHESIS), "run", f"{url}/openapi.json",
        "--checks", "not_a_server_error", "--max-examples", "25", "--max-time", "45",
        "--request-timeout", "5", "--generation-deterministic", "--no-color",
        "--phases", "examples,coverage,fuzzing,stateful",
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=log.parent,  # its working files (.schemathesis/) land in the test's tmp dir
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=90)
    report = out.decode(errors="replace")
    print(report[-3000:])
    assert proc.returncode == 0, report[-6000:]
    assert "unhandled error" not in log.read_text(errors="replace")


HOSTILE = [
    ("application/json", b"{" * 5000 + b"}" * 5000),
    ("application/json", b"[" * 900 + b'"\\u0041"' + b"]" * 900),  # escape: forces the card walk
    (
        "application/json",
        b'{"payment_id": ' + b"[" * 950 + b"1" + b"]" * 950 + b', "x": "\\u0031"}',
    ),
    ("application/json", b'{"a": "' + b"x" * 70_000 + b'"}'),  # over max_body_bytes
    ("application/json", os.urandom(4096)),
    ("application/json", b"\xff\xfe\x00garbage"),
    ("text/plain", b'{"payment_id": "p"}'),
    ("application/x-www-form-urlencoded", b"payment_id=p&amount=1"),
    ("multipart/form-data; boundary=x", b"--x\r\n\r\n--x--"),
    ("application/json", b'{"payment_id": 1e999999, "amount": NaN}'),
    ("application/json", b'"just a string"'),
    ("application/json", b"null"),
]


@pytest.mark.parametrize("path", ["/v1/score", "/v1/payments/p1/labels", "/v1/dev/sms"])
async def test_hostile_bodies_get_4xx_without_stack_traces(
    service: tuple[str, Path], path: str
) -> None:
    url, log = service
    async with aiohttp.ClientSession() as session:
        for content_type, body in HOSTILE:
            headers = {"Content-Type": content_type}
            async with session.post(url + path, data=body, headers=headers) as response:
                text = await response.read()
                assert 400 <= response.status < 500, (
                    content_type,
                    body[:40],
                    response.status,
                    text,
                )
                assert not any(marker in text for marker in TRACE_MARKERS), text[:300]
    assert "unhandled error" not in log.read_text(errors="replace")
