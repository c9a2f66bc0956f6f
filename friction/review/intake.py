"""Where review items open, as additions to the ``Change`` that makes them necessary.

Opening an item in the same commit as the decision (or the dialogue's end)
means there is never a payment waiting for a person that no queue shows. The
same goes for the contest mark: an automatic decline stores, keyed by the
customer's registered phone, which payment "HUMAN" would contest, so the SMS
path needs no scan of the payments (GDPR Art. 22: the right to a person).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime

from friction.dialogue.conclusion import Ending
from friction.dialogue.notices import Outcome, declined_text, stopped_text
from friction.domain.dialogue import Intent
from friction.domain.payment import Payment
from friction.domain.records import (
    AuditEntry,
    Change,
    DialogueRecord,
    Mark,
    PaymentRecord,
    ReviewReason,
    ReviewRecord,
)
from friction.domain.tenancy import local_id, scoped, tenant_of
from friction.settings import DialogueSettings

DECLINED = "contestable_decline"
"""Mark kind: phone -> ``"<payment_id> <locale>"`` of the latest automatic decline; and
``app:<customer>`` -> ``"<payment_id> <locale> <declined|blocked> <until> <notice>"``: what the
customer's app shows (an erasure deletes both: they name the customer's payment)."""
APP_PREFIX = "app:"
HISTORY_FEATURES: tuple[str, ...] = (
    "cust_count_1d",
    "cust_count_7d",
    "cust_count_30d",
    "cust_mean_1d",
    "cust_mean_7d",
    "cust_mean_30d",
    "amount_ratio_30d",
    "cust_outliers_14d",
    "secs_since_last",
    "first_counterparty",
    "first_terminal",
)
"""The decision's features that describe the customer's own history (what an analyst asks)."""
_REASON_OF: dict[Ending, ReviewReason] = {"failed": "delivery_failed", "opted_out": "opted_out"}


def review_id(payment_key: str) -> str:
    """One item per payment: a second opening finds the first (idempotent SMS, retries).

    Scoped like the payment's key, so the tenant sees ``rev_<its payment id>``.
    """
    return scoped(tenant_of(payment_key), f"rev_{local_id(payment_key)}")


def history_of(features: Mapping[str, float | None]) -> dict[str, float | None]:
    """The customer-history part of a decision's feature vector."""
    return {name: features[name] for name in HISTORY_FEATURES if name in features}


def open_review(
    key: str,
    payment: PaymentRecord,
    reason: ReviewReason,
    now: datetime,
    who: tuple[str, str],
) -> ReviewRecord:
    """A new open item (``key``: the payment's store key) with snapshots of score and history."""
    status = payment.status
    actor, detail = who
    return ReviewRecord(
        id=review_id(key),
        payment_id=key,
        customer_id=payment.customer_id,
        reason=reason,
        created_at=now,
        score=status.score,
        reasons=status.reasons,
        history=payment.history,
        audit=[AuditEntry(at=now, actor=actor, action="opened", detail=detail)],
    )


def contest_mark(phone: str, payment_id: str, locale: str, now: datetime, days: float) -> Mark:
    return Mark(DECLINED, phone, now.timestamp() + days * 86_400, f"{payment_id} {locale}")


def notice_mark(
    customer_id: str, payment_id: str, locale: str, outcome: Outcome, text: str, until: float
) -> Mark:
    """The app's notice of the customer's latest declined or blocked payment, contestable
    until ``until`` (``ReviewDesk.notices`` reads it back)."""
    value = f"{payment_id} {locale} {outcome} {until:.0f} {text}"
    return Mark(DECLINED, APP_PREFIX + customer_id, until, value)


def on_decision(
    change: Change,
    payment: Payment,
    features: Mapping[str, float | None],
    settings: DialogueSettings,
) -> None:
    """Scoring hook: keep the history snapshot, open a policy review, mark a decline."""
    if change.payment is None or change.payment.status.decision == "allow":
        return  # most payments: nothing to keep, nothing to open
    record = change.payment.model_copy(update={"history": history_of(features)})
    change.payment = record
    payment_id, status = record.key, record.status
    if status.decision == "review":
        codes = ", ".join(r.code for r in status.reasons) or "policy"
        change.review = open_review(
            payment_id, record, "policy_review", status.decided_at, ("policy", codes)
        )
    elif status.decision == "decline":
        days, locale = settings.review_contest_days, payment.customer.locale
        until = status.decided_at.timestamp() + days * 86_400
        text = declined_text(payment)
        change.marks.append(
            notice_mark(payment.customer.id, payment_id, locale, "declined", text, until)
        )
        if payment.customer.phone:
            change.marks.append(
                contest_mark(payment.customer.phone, payment_id, locale, status.decided_at, days)
            )


def decision_hook(
    settings: DialogueSettings,
) -> Callable[[Change, Payment, Mapping[str, float | None]], None]:
    """``on_decision`` with ``settings``, as the scorer's wiring takes it."""
    return functools.partial(on_decision, settings=settings)


def ending_hook(
    settings: DialogueSettings,
) -> Callable[[Change, DialogueRecord, Ending, datetime], None]:
    """``on_ending`` with ``settings``, as the dialogue engine's wiring takes it."""
    return functools.partial(on_ending, settings=settings)


def on_ending(
    change: Change,
    dialogue: DialogueRecord,
    ending: Ending,
    now: datetime,
    settings: DialogueSettings,
) -> None:
    """Dialogue hook: a ``review`` verdict opens an item; a block (by answer or silence) can
    be contested: the customer may ask for a person afterwards ("AGENT")."""
    if change.payment is None:
        return
    record = change.payment
    key = record.key
    if record.status.verdict == "review":
        asked = any(turn.reply is Intent.HUMAN for turn in dialogue.flow.history)
        detail = f"dialogue {dialogue.id} ended {ending}" + (
            ", customer asked for a person" if asked else ""
        )
        reason = _REASON_OF.get(ending, "dialogue_review")
        change.review = open_review(key, record, reason, now, ("dialogue", detail))
    elif record.status.verdict == "blocked":  # "AGENT", or the app's button, may follow
        days = settings.review_contest_days
        text, until = stopped_text(dialogue), now.timestamp() + days * 86_400
        change.marks.append(
            notice_mark(dialogue.customer_id, key, dialogue.locale, "blocked", text, until)
        )
        if dialogue.phone:
            change.marks.append(
                contest_mark(dialogue.phone, dialogue.payment_id, dialogue.locale, now, days)
            )
