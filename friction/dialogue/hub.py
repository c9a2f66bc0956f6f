"""In-app push: who is listening for which customer's prompts, and waiting for which verdict.

In-process only: with several replicas, a customer's app stays connected to
one of them and polls ``GET /v1/customers/{id}/prompts`` on reconnect, so a
missed push costs a moment, never a prompt (the store is the truth).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict


class Hub:
    """Wake-ups for server-sent-event streams and long-polls."""

    def __init__(self) -> None:
        self._customers: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._payments: dict[str, set[asyncio.Event]] = defaultdict(set)

    def listen_customer(self, customer_id: str) -> asyncio.Event:
        """An event set whenever this customer's prompts change (``forget`` it when done)."""
        event = asyncio.Event()
        self._customers[customer_id].add(event)
        return event

    def forget_customer(self, customer_id: str, event: asyncio.Event) -> None:
        self._customers[customer_id].discard(event)
        if not self._customers[customer_id]:
            del self._customers[customer_id]

    def customer_changed(self, customer_id: str) -> None:
        for event in self._customers.get(customer_id, ()):
            event.set()

    async def wait_payment(self, payment_id: str, seconds: float) -> None:
        """Return when the payment's verdict changes or ``seconds`` pass."""
        event = asyncio.Event()
        self._payments[payment_id].add(event)
        try:
            async with asyncio.timeout(seconds):
                await event.wait()
        except TimeoutError:
            pass
        finally:
            self._payments[payment_id].discard(event)
            if not self._payments[payment_id]:
                del self._payments[payment_id]

    def payment_changed(self, payment_id: str) -> None:
        for event in self._payments.get(payment_id, ()):
            event.set()
