"""What the dialogue side tells the policy about a payment before it is decided.

Can the customer be asked (the channel ladder, minus texts after an SMS opt-out or to a
number the SMS guard refuses: the answer then names the channel that really asks, or no
dialogue at all and a person reviews the payment), and
does a confirmation already cover this payment (the same payment retried right after a
"yes", or a payee the customer confirmed lately)? One store read answers all of it,
because scoring asks for every payment.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from friction.dialogue.channels.sms_guard import SmsGuard
from friction.dialogue.ladder import PHONE_CHANNELS, ladder_for
from friction.domain.payment import Payment
from friction.domain.records import Mark, PaymentRecord
from friction.ports import Channel, RecordStore
from friction.settings import DialogueSettings

OPT_OUT = "sms_opt_out"
"""Mark kind: a phone (by ``Reach.phone_ref``) said STOP."""
CONFIRMED = "confirmed_fingerprint"
"""Mark kind: a payment (by ``fingerprint_of``) the customer just confirmed."""
TRUSTED = "trusted_counterparty"
"""Mark kind: ``<customer>:<merchant or payee>`` the customer confirmed lately."""


@dataclass(frozen=True, slots=True)
class PaymentContext:
    """Per payment: the channel ladder, and whether a confirmation already covers it."""

    ladder: list[str]
    fingerprint: str
    confirmed_retry: bool
    trusted: bool


class Reach:
    """Reachability and confirmations of a customer, read from the store."""

    def __init__(
        self, settings: DialogueSettings, store: RecordStore, channels: Mapping[str, Channel]
    ) -> None:
        self._default_channels = settings.default_channels
        self._store = store
        self._channels = channels
        sms = channels.get("sms")
        self._texts = sms.texts if isinstance(sms, SmsGuard) else None
        self._pseudonyms = settings.pseudonym_secret.get_secret_value().encode()

    def phone_ref(self, phone: str) -> str:
        """What an opt-out is kept under: a keyed hash of the number. "STOP" must outlive an
        erasure of the customer (and hold for every tenant texting from our number), so it is
        kept, but it names nobody."""
        return hmac.new(self._pseudonyms, phone.encode(), hashlib.sha256).hexdigest()[:32]

    async def context(self, payment: Payment, counterparty: str) -> PaymentContext:
        """The ladder that can ask, and the confirmations that make asking needless."""
        customer, phone = payment.customer.id, payment.customer.phone
        fingerprint = fingerprint_of(payment)
        marks = [(CONFIRMED, fingerprint), (TRUSTED, f"{customer}:{counterparty}")]
        if phone:
            marks.append((OPT_OUT, self.phone_ref(phone)))
        now = datetime.now(UTC).timestamp()
        preferences, live = await self._store.preferences_and_marks(customer, marks, now)
        ladder = ladder_for(self._default_channels, self._channels, phone, preferences, self._texts)
        if phone and live[2]:  # opted out of texts and calls: only other channels may ask
            ladder = [c for c in ladder if c not in PHONE_CHANNELS]
        return PaymentContext(ladder, fingerprint, confirmed_retry=live[0], trusted=live[1])


def confirmations(
    settings: DialogueSettings, payment: PaymentRecord, counterparty: str, now: datetime
) -> list[Mark]:
    """What a customer's "yes, that was me" vouches for, and for how long: this payment
    retried (``confirm_retry_seconds``) and this payee or merchant (``trusted_days``)."""
    ts = now.timestamp()
    return [
        Mark(CONFIRMED, payment.fingerprint, ts + settings.confirm_retry_seconds),
        Mark(TRUSTED, f"{payment.customer_id}:{counterparty}", ts + settings.trusted_days * 86_400),
    ]


def fingerprint_of(payment: Payment) -> str:
    """Same customer, instrument, amount and counterparty: the same payment retried."""
    parts = (
        payment.customer.id,
        payment.instrument.token,
        str(payment.amount.value),
        payment.amount.currency,
        payment.merchant.id,
        payment.payee.id if payment.payee else "",
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
