"""What the dialogue engine (and the review desk) report to after a state change.

Kept out of the engine so that anything that decides a verdict — a customer's
answer, a timeout, an analyst — announces it the same way: wake the outbox
relay, wake long-polls and in-app streams, queue the gateway webhook.
"""

from __future__ import annotations

from collections.abc import Callable

from friction.dialogue.hub import Hub
from friction.domain.decision import PaymentStatus
from friction.domain.records import PaymentRecord
from friction.events.webhooks import VerdictWebhooks
from friction.metrics import Metrics


class EngineWiring:
    """Metrics, the outbox relay, push hub, webhooks and background tasks."""

    def __init__(
        self,
        metrics: Metrics,
        on_commit: Callable[[], None],
        spawn: Callable[..., None],
        hub: Hub | None = None,
        webhooks: VerdictWebhooks | None = None,
    ) -> None:
        self.metrics = metrics
        self.on_commit = on_commit
        self.spawn = spawn
        self.hub = hub or Hub()
        self.webhooks = webhooks

    def announce(self, payment: PaymentRecord, status: PaymentStatus) -> None:
        """A verdict was stored: wake waiters and tell the gateway."""
        self.hub.payment_changed(payment.key)
        self.hub.customer_changed(payment.customer_id)
        if self.webhooks is not None:
            self.webhooks.enqueue(payment.tenant, status)
