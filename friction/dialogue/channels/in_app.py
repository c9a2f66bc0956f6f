"""In-app channel: the prompt is already in the store; sending means waking the app's stream."""

from __future__ import annotations

from friction.dialogue.hub import Hub
from friction.ports import OutboundMessage


class InAppChannel:
    """Pushes prompts to the customer's open app sessions (server-sent events)."""

    name = "in_app"

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    async def send(self, message: OutboundMessage) -> str:
        self._hub.customer_changed(message.customer_id)
        return f"in_app-{message.dialogue_id}"

    async def close(self) -> None:
        """Nothing to release: the streams belong to the HTTP server."""
