"""The ceiling of the benchmark: the floor plus only the work no design of friction can skip.

    .venv/bin/python loadtest/ceiling.py --port 8091 --models models

``POST /v1/score`` does what ``loadtest/floor.py`` does, plus, per payment, the three
things the brief makes every decision do, with friction's own code:

- validate the body with pydantic (``friction.api.bodies.validate`` into ``Payment``,
  card-data guard included);
- compute the features and update the feature state (``FeatureBook.observe``, the
  code training replays — in memory, never persisted);
- score it and pick the reasons (``friction.scoring.explain``).

Everything else a decision needs costs nothing here: no idempotency, no store, no
durability, no events, no policy, no dialogue, no middleware. Its throughput is an
upper bound for any friction on this runtime, so ``ceiling / floor`` in the same run
bounds what ``friction / floor`` can reach (``docs/performance.md``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aiohttp import web
from floor import build_app, decision_for, serve

from friction.api.bodies import validate
from friction.domain.facts import facts_of
from friction.domain.payment import Payment
from friction.errors import FrictionError
from friction.scoring.explain import explain
from friction.scoring.features import FeatureBook
from friction.scoring.model import Model
from friction.scoring.registry import load_model
from friction.settings import Settings


def build_ceiling(model: Model, settings: Settings) -> web.Application:
    """The floor's application with the unskippable work inside its ``POST /v1/score``."""
    book = FeatureBook()
    reasons_from = settings.challenge_at  # friction's threshold: reasons for the same payments

    async def score(request: web.Request) -> web.Response:
        """POST /v1/score — validate, features, model + reasons, a decision-sized answer."""
        try:
            payment = validate(await request.read(), Payment)
        except FrictionError as error:  # a 4xx with the reason, as friction answers
            return web.Response(status=error.status, text=error.message)
        vector = book.observe(facts_of(payment))
        probability, _ = explain(model, vector, low_risk_below=reasons_from)
        body = decision_for({"payment_id": payment.payment_id}, round(probability, 6))
        return web.Response(body=body, content_type="application/json")

    return build_app(score)


def main() -> None:
    """Serve the ceiling on 127.0.0.1."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8091, help="listen port (default 8091)")
    parser.add_argument("--models", type=Path, default=Path("models"), help="models directory")
    args = parser.parse_args()
    serve(build_ceiling(load_model(args.models), Settings()), args.port)


if __name__ == "__main__":
    main()
