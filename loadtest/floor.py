"""The floor of the benchmark: a bare aiohttp app that does HTTP + JSON and nothing else.

    .venv/bin/python loadtest/floor.py --port 8090

``POST /v1/score`` parses the same JSON payment friction parses (with orjson, as
friction does) and answers a JSON decision of the same shape and size as a typical
friction "allow": what is left of a request when scoring, storage and events cost
nothing. No validation, no model, no store — the cost of HTTP and JSON on this machine.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.Response]]
# Same keys and about the same lengths as friction's ScoreResponse for an allowed payment.
_REASON = {"code": "LOW_RISK", "text": "Nothing unusual about this payment."}


def decision_for(payment: dict[str, object], score: float = 0.000454) -> bytes:
    """A decision body shaped like friction's, for the payment that was sent."""
    return orjson.dumps(
        {
            "payment_id": payment["payment_id"],
            "decision": "allow",
            "score": score,
            "model_version": "20261123-161643-676b5c46",
            "reasons": [_REASON],
            "dialogue": None,
            "budget": {"used": 0, "limit": 3, "window_hours": 168.0},
            "degraded": False,
        }
    )


async def score(request: web.Request) -> web.Response:
    """POST /v1/score — parse the payment, answer a fixed decision for it."""
    payment = orjson.loads(await request.read())
    if not isinstance(payment, dict):
        raise web.HTTPBadRequest()
    return web.Response(body=decision_for(payment), content_type="application/json")


async def healthz(request: web.Request) -> web.Response:
    """Liveness, so the bench knows the floor is up."""
    return web.Response(text='{"status":"ok"}', content_type="application/json")


def build_app(score_handler: Handler = score) -> web.Application:
    """Two routes, no middleware: ``POST /v1/score`` (the floor's, or the ceiling's) and health."""
    app = web.Application()
    app.router.add_post("/v1/score", score_handler)
    app.router.add_get("/healthz", healthz)
    return app


def serve(app: web.Application, port: int) -> None:
    """Serve ``app`` on 127.0.0.1 without an access log (the floor measures HTTP + JSON)."""
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def main() -> None:
    """Serve the floor on 127.0.0.1."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8090, help="listen port (default 8090)")
    serve(build_app(), parser.parse_args().port)


if __name__ == "__main__":
    main()
