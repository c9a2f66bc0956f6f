"""What erasing a customer does to each record, shared by every store adapter.

Personal data goes (phone numbers, message texts, payee names and account digits,
feature state, preferences, sessions, marks keyed by the customer, the contest marks of
their payments); what the
law lets a payment service keep for fraud prevention and accounting stays, under
a pseudonym: the decision, its score and reasons, the label (training needs it),
the review verdict. The pseudonym is an HMAC of the customer id, so the same
customer always gets the same one (labels of one person stay linked) but it
cannot be turned back into the id without the key. An SMS opt-out stays: honouring
"STOP" outlives the account, and it is kept under a keyed hash of the number, not the
number (``dialogue.reach.Reach.phone_ref``), so it names nobody.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from friction.domain.records import DialogueRecord, PaymentRecord, ReviewRecord

CUSTOMER_MARKS = ("trusted_counterparty",)
"""Mark kinds keyed by ``<customer id>:...``."""
KEPT_PARAMS = ("amount_minor", "currency")
"""Dialogue parameters that name nobody."""


@dataclass(frozen=True, slots=True)
class Erased:
    """How many records an erasure rewrote (pseudonymised) or deleted."""

    payments: int = 0
    dialogues: int = 0
    reviews: int = 0
    deleted: int = 0
    """Keys/rows deleted outright: feature state, budget, preferences, marks."""


def pseudonym_of(secret: bytes, customer_id: str) -> str:
    """The stable pseudonym that replaces ``customer_id`` in what is kept."""
    return "anon_" + hmac.new(secret, customer_id.encode(), hashlib.sha256).hexdigest()[:24]


def customer_marker(customer_id: str) -> bytes:
    """The bytes every stored JSON record of this customer holds (a cheap pre-filter)."""
    return b'"customer_id":"' + customer_id.encode() + b'"'


def scrub_payment(record: PaymentRecord, pseudonym: str) -> PaymentRecord:
    """The payment under the pseudonym (decision, score, label and response kept)."""
    return record.model_copy(update={"customer_id": pseudonym})


def scrub_dialogue(record: DialogueRecord, pseudonym: str) -> DialogueRecord:
    """The dialogue without phone, text, names or account digits."""
    params = {k: v for k, v in record.params.items() if k in KEPT_PARAMS}
    return record.model_copy(
        update={"customer_id": pseudonym, "phone": None, "text": "", "params": params}
    )


def scrub_review(record: ReviewRecord, pseudonym: str) -> ReviewRecord:
    """The review item under the pseudonym, without the analyst's free-text note."""
    return record.model_copy(update={"customer_id": pseudonym, "note": None})
