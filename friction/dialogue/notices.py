"""What a customer is told after an automatic decline or a block, and how to reach a person.

A good customer declined in silence tries again, calls, or leaves; one told "we declined
your payment of EUR 420.00 at ACME; if it was you, reply AGENT" can ask for a person at
once (GDPR Art. 22: the right to contest an automatic decision). The notice goes out on
the customer's first channel that takes it, after the decision is committed, never on
the scoring path; an SMS passes the abuse guard like every SMS (caps, countries, spend),
so a burst of declines cannot text one number more than ``sms_per_customer_cap`` times.
A text channel adds how to answer (reply AGENT); the app shows a button instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Literal

from friction.dialogue.ladder import PHONE_CHANNELS
from friction.dialogue.templates import render
from friction.dialogue.wording import dialogue_text
from friction.domain.payment import Payment
from friction.domain.privacy import mask_phone
from friction.domain.records import DialogueRecord
from friction.errors import ChannelError
from friction.ports import Channel, OutboundMessage

log = logging.getLogger(__name__)
Outcome = Literal["declined", "blocked"]
CONTEST_BY_TEXT = "contest_by_text"
"""How to reach a person, added by a text channel."""


def declined_text(payment: Payment) -> str:
    """The notice of an automatic decline, in the customer's language (no instructions)."""
    payee = payment.payee
    return render(
        "declined_transfer" if payee else "declined_payment",
        payment.customer.locale,
        amount_minor=payment.amount.value,
        currency=payment.amount.currency,
        merchant=payment.merchant.name,
        payee=payee.name if payee else None,
        last4=(payee.account_last4 if payee else None) or payment.instrument.last4,
    ).text


def stopped_text(dialogue: DialogueRecord) -> str:
    """The notice of a payment a dialogue blocked (a "no", or silence)."""
    key = "stopped_transfer" if dialogue.params.get("payee") else "stopped_payment"
    return dialogue_text(dialogue, key)


def on_channel(text: str, channel: str, locale: str) -> str:
    """``text`` as ``channel`` sends it: a text channel adds "reply AGENT …"."""
    if channel not in PHONE_CHANNELS:
        return text
    return f"{text} {render(CONTEST_BY_TEXT, locale).text}"


async def send_declined(
    channels: Mapping[str, Channel], payment: Payment, ladder: Sequence[str], stored_as: str
) -> str | None:
    """Send the decline notice on the first rung of ``ladder`` that takes it; the channel
    used, or None when none did (each refusal logged: the decision stands either way)."""
    customer = payment.customer
    text = declined_text(payment)
    for name in ladder:
        message = OutboundMessage(
            f"notice:{stored_as}", customer.id, customer.phone, customer.locale,
            on_channel(text, name, customer.locale),
        )  # fmt: skip
        try:
            await channels[name].send(message)
            return name
        except ChannelError as error:
            log.warning(
                "decline notice to %s: %s refused: %s", mask_phone(customer.phone), name,
                error.message,
            )  # fmt: skip
    return None
