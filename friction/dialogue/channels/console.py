"""Console SMS channel: prints what it would send (embedded default, demos, tests).

Replies are simulated with ``friction reply`` (or ``POST /v1/dev/sms``), which
takes the same path as a real inbound SMS after signature checks.
"""

from __future__ import annotations

import itertools
import sys
from typing import TextIO

from friction.domain.privacy import mask_phone
from friction.errors import ChannelError
from friction.ports import OutboundMessage


class ConsoleChannel:
    """Prints SMS-like prompts instead of sending them."""

    name = "console"

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out
        self._ids = itertools.count(1)
        self.sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage) -> str:
        if not message.phone:  # as a real SMS could not: the ladder moves on
            raise ChannelError(f"dialogue {message.dialogue_id}: customer has no phone number")
        out = self._out or sys.stdout
        print(f"[sms → {mask_phone(message.phone)}] {message.text}", file=out, flush=True)
        self.sent.append(message)
        return f"console-{next(self._ids)}"

    async def close(self) -> None:
        """Nothing to release: it only prints."""
