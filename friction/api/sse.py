"""Server-sent events: the customer's app listens and prompts arrive as they open."""

from __future__ import annotations

import asyncio

from aiohttp import web

from friction.dialogue.engine import DialogueEngine

KEEPALIVE_SECONDS = 15.0


async def stream_prompts(
    request: web.Request, engine: DialogueEngine, customer_id: str
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
    changed = engine.hub.listen_customer(customer_id)
    try:
        while True:
            changed.clear()
            found = await engine.prompts_for(customer_id)
            data = "[" + ",".join(p.model_dump_json() for p in found) + "]"
            await response.write(f"event: prompts\ndata: {data}\n\n".encode())
            while not changed.is_set():
                try:
                    await asyncio.wait_for(changed.wait(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
    except ConnectionResetError:
        pass  # the app went away; nothing to clean but the listener
    finally:
        engine.hub.forget_customer(customer_id, changed)
    return response
