"""One contract for every ``Channel`` adapter: console, in-app, and Twilio SMS (the real
``twilio`` SDK against the local fake Twilio on loopback).

What the dialogue engine relies on: a send reaches the customer and returns an id of its
own; a channel that texts needs a phone (``ChannelError`` otherwise, so the ladder moves
on); nothing but the masked phone and the message text leaves through it; ``close`` ends it.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from friction.devtools.fake_twilio import FakeTwilio, start_fake_twilio
from friction.dialogue.channels.console import ConsoleChannel
from friction.dialogue.channels.in_app import InAppChannel
from friction.dialogue.channels.sms import TwilioSmsChannel
from friction.dialogue.hub import Hub
from friction.errors import ChannelError
from friction.ports import Channel, OutboundMessage

PHONE = "+447700900123"
TEXT = "Did you just pay EUR 420.00 at ACME Electronics? Reply YES or NO."


@dataclass
class Adapter:
    """A channel under test, and how to see what reached the customer through it."""

    channel: Channel
    reached: Callable[[], Awaitable[int]]
    """How many sends reached the customer so far."""
    texts: Callable[[], str]
    """Everything the channel let out (printed, sent), to search for leaks."""
    texts_customers: bool
    """A text channel: it needs the customer's phone."""


def message(n: int = 1, phone: str | None = PHONE) -> OutboundMessage:
    return OutboundMessage(f"dlg_{n}", "cus_42", phone, "en-GB", TEXT)


@pytest.fixture(params=["console", "in_app", "sms"])
async def adapter(request: pytest.FixtureRequest) -> AsyncIterator[Adapter]:
    if request.param == "console":
        out = io.StringIO()

        async def printed() -> int:
            return out.getvalue().count(TEXT)

        yield Adapter(ConsoleChannel(out), printed, out.getvalue, texts_customers=True)
    elif request.param == "in_app":
        hub, woken = Hub(), []
        listening = hub.listen_customer("cus_42")

        async def pushed() -> int:
            if listening.is_set():
                woken.append(1)
                listening.clear()
            return len(woken)

        yield Adapter(InAppChannel(hub), pushed, lambda: "", texts_customers=False)
    else:
        state = FakeTwilio(auth_token="contract-token-0123456789")
        runner, base_url = await start_fake_twilio("127.0.0.1", 0, fake=state)
        sms = TwilioSmsChannel(
            state.account_sid, state.auth_token, state.phone_number, api_base=base_url
        )

        def outbound() -> list[dict[str, str]]:
            return [m for m in state.messages if m["direction"] == "outbound-api"]

        async def texted() -> int:
            return sum(1 for m in outbound() if m["to"] == PHONE and m["body"] == TEXT)

        yield Adapter(sms, texted, lambda: str(outbound()), texts_customers=True)
        await sms.close()
        await runner.cleanup()


async def test_a_send_reaches_the_customer_with_an_id_of_its_own(adapter: Adapter) -> None:
    first = await adapter.channel.send(message(1))
    assert await adapter.reached() == 1
    second = await adapter.channel.send(message(2))
    assert await adapter.reached() == 2
    assert all(isinstance(i, str) and i for i in (first, second)) and first != second


async def test_a_text_channel_needs_a_phone(adapter: Adapter) -> None:
    if not adapter.texts_customers:
        await adapter.channel.send(message(phone=None))  # the app needs none
        assert await adapter.reached() == 1
        return
    with pytest.raises(ChannelError, match="no phone"):
        await adapter.channel.send(message(phone=None))
    assert await adapter.reached() == 0


async def test_only_the_text_and_a_masked_phone_leave(adapter: Adapter) -> None:
    await adapter.channel.send(message())
    let_out = adapter.texts()
    if adapter.channel.name == "console":  # what a log would show
        assert PHONE not in let_out and "***0123" in let_out
    assert "cus_42" not in let_out and "dlg_1" not in let_out


async def test_close_ends_it_and_may_be_called_twice(adapter: Adapter) -> None:
    await adapter.channel.send(message())
    await adapter.channel.close()
    await adapter.channel.close()
    assert adapter.channel.name in {"console", "in_app", "sms"}
