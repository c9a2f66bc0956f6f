"""What the dialogue engine (and the review desk) report to after a state change.

Kept out of the engine so that anything that decides a verdict — a customer's
answer, a timeout, an analyst — announces it the same way: wake the outbox
relay, wake long-polls and in-app streams, queue the gateway webhook. The hook
that opens review items when a dialogue ends comes from the review layer above
(``review.intake``), injected here by the composition root: dialogue never
imports review.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from friction.dialogue.conclusion import Ending
from friction.dialogue.hub import Hub
from friction.domain.decision import PaymentStatus
from friction.domain.records import Change, DialogueRecord, PaymentRecord
from friction.events.webhooks import VerdictWebhooks
from friction.metrics import Metrics

OnEnding = Callable[[Change, DialogueRecord, Ending, datetime], None]
"""Adds to a dialogue's closing change what its end calls for (a review item, a mark)."""


def _nothing_more(change: Change, dialogue: DialogueRecord, ending: Ending, at: datetime) -> None:
    return None


class EngineWiring:
    """Metrics, the outbox relay, push hub, webhooks, background tasks and the ending hook."""

    def __init__(
        self,
        metrics: Metrics,
        on_commit: Callable[[], None],
        spawn: Callable[..., None],
        hub: Hub | None = None,
        webhooks: VerdictWebhooks | None = None,
        on_ending: OnEnding = _nothing_more,
    ) -> None:
        self.metrics = metrics
        self.on_commit = on_commit
        self.spawn = spawn
        self.hub = hub or Hub()
        self.webhooks = webhooks
        self.on_ending = on_ending

    def announce(self, payment: PaymentRecord, status: PaymentStatus) -> None:
        """A verdict was stored: wake waiters and tell the gateway."""
        self.hub.payment_changed(payment.key)
        self.hub.customer_changed(payment.customer_id)
        if self.webhooks is not None:
            self.webhooks.enqueue(payment.tenant, status)
