"""Server-sent events: the customer's app listens and prompts arrive as they open.

Streams never end by themselves, and aiohttp does not cancel a handler when its
client goes away; at shutdown it waits for running handlers (60 s by default)
before closing. So every open stream is registered on the app, and the
``on_shutdown`` hook installed by :func:`setup_streams` wakes them all to return:
a restart must not wait for phones to hang up.

A prompt opened on another replica wakes no listener here, so each stream also
re-reads the customer's prompts every ``prompt_refresh_seconds`` and sends them
when they differ from what it last sent. A stream opened with a customer session
lives no longer than the session: it is checked at each refresh, and once it has
expired (or was erased) the stream sends ``event: expired`` and ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from aiohttp import web

from friction.api.auth import SESSION_TOKEN
from friction.api.keys import ENGINE, SETTINGS, STORE
from friction.dialogue.app_prompts import AppPrompts
from friction.service.sessions import find_session


class Streams:
    """The open event streams of one app, and whether it is shutting down."""

    def __init__(self) -> None:
        self.open: set[asyncio.Event] = set()
        self.closing = False

    def close(self) -> None:
        """Tell every stream to end (each returns after its current write)."""
        self.closing = True
        for wake in self.open:
            wake.set()


STREAMS = web.AppKey("streams", Streams)


def setup_streams(app: web.Application) -> None:
    """Track the app's event streams and end them when it shuts down."""
    app[STREAMS] = Streams()

    async def close_streams(app: web.Application) -> None:
        app[STREAMS].close()

    app.on_shutdown.append(close_streams)


async def stream_prompts(
    request: web.Request, prompts: AppPrompts, customer_id: str
) -> web.StreamResponse:
    """Send the open prompts now and whenever they change; comment lines keep it alive."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    streams = request.app[STREAMS]
    refresh = request.app[SETTINGS].prompt_refresh_seconds
    token = request.get(SESSION_TOKEN)
    hub = request.app[ENGINE].hub
    changed = hub.listen_customer(customer_id)
    streams.open.add(changed)
    sent = None
    try:
        while not streams.closing:
            changed.clear()
            if token and not await find_session(request.app[STORE], token, datetime.now(UTC)):
                await response.write(b"event: expired\ndata: {}\n\n")
                break
            found = await prompts.prompts_for(customer_id)
            data = "[" + ",".join(p.model_dump_json() for p in found) + "]"
            if data != sent:
                await response.write(f"event: prompts\ndata: {data}\n\n".encode())
                sent = data
            else:
                await response.write(b": keep-alive\n\n")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), refresh)
    except ConnectionResetError:
        pass  # the app went away; nothing to clean but the listener
    finally:
        streams.open.discard(changed)
        hub.forget_customer(customer_id, changed)
    return response
