"""The review desk: the analysts' queue over the store, and the customer's contest path.

Every change to an item is one ``Change`` committed with the version it was
read at (the store refuses a write on a stale copy: 409), and carries an audit
entry, so the trail says who decided what and when. Resolving writes the
verdict, the analyst's label and the item in one commit, then announces the
verdict exactly as a customer's answer would (webhook, long-polls).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime

from friction.dialogue.flows import HUMAN_HANDOFF_KEY, Flow
from friction.dialogue.templates import default_catalog, render
from friction.dialogue.wiring import EngineWiring
from friction.domain.labels import label_change
from friction.domain.records import AuditEntry, Change, Mark, PaymentRecord, ReviewRecord
from friction.domain.tenancy import local_id, scoped
from friction.errors import Conflict, Gone, NotFound
from friction.ports import ReviewQueue
from friction.review.intake import APP_PREFIX, DECLINED, open_review, review_id
from friction.review.schemas import (
    AssignIn,
    ContestOut,
    Notice,
    NoticeList,
    ResolveIn,
    ReviewDetail,
    ReviewPage,
    ReviewQuery,
)
from friction.review.transcript import transcript


class ReviewDesk:
    """List, show, assign and resolve review items; open one when a customer contests."""

    def __init__(self, store: ReviewQueue, wiring: EngineWiring, flows: Mapping[str, Flow]) -> None:
        self._store = store
        self._wiring = wiring
        self._flows = flows
        self._lock = asyncio.Lock()  # one process: no needless 409s between its own requests

    async def page(self, tenant: str, query: ReviewQuery) -> ReviewPage:
        """One page of the tenant's queue, oldest first."""
        items, after = await self._store.list_reviews(
            tenant, query.status, query.assignee, query.limit, query.after
        )
        return ReviewPage(items=[as_seen_by_tenant(r) for r in items], next=after)

    async def detail(self, tenant: str, item_id: str) -> ReviewDetail:
        """The item with its payment, the dialogue transcript and the history snapshot."""
        review = await self._review(scoped(tenant, item_id))
        payment = await self._payment(review.payment_id)
        dialogue = None
        if payment.status.dialogue is not None:
            record = await self._store.get_dialogue(payment.status.dialogue.id)
            dialogue = None if record is None else transcript(record, self._flows)
        return ReviewDetail(
            review=as_seen_by_tenant(review),
            payment=payment.status,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            merchant_name=payment.merchant_name,
            channel=payment.channel,
            occurred_at=payment.occurred_at,
            dialogue=dialogue,
            history=review.history or payment.history,
        )

    async def assign(self, tenant: str, item_id: str, body: AssignIn) -> ReviewRecord:
        """Take an open item, or hand an assigned one over; a resolved one is 409."""
        async with self._lock:
            review = await self._open_review(scoped(tenant, item_id))
            now = _now()
            detail = f"to {body.analyst}" + (f" from {review.assignee}" if review.assignee else "")
            updated = _with_entry(
                review,
                AuditEntry(at=now, actor=body.analyst, action="assigned", detail=detail),
                status="assigned",
                assignee=body.analyst,
            )
            await self._commit(Change(review=updated))
            return as_seen_by_tenant(updated)

    async def resolve(self, tenant: str, item_id: str, body: ResolveIn) -> ReviewRecord:
        """The analyst's verdict on the payment, their label, the webhook; twice is 409.

        An item assigned to another analyst is theirs: resolving it takes a stated
        ``override``, recorded in the trail before the resolution (409 without one).
        """
        async with self._lock:
            review = await self._open_review(scoped(tenant, item_id))
            payment = await self._payment(review.payment_id)
            now = _now()
            taken = review.assignee is not None and review.assignee != body.analyst
            if taken and body.override is None:
                raise Conflict(
                    f"review {item_id} is assigned to {review.assignee}: resolve it as "
                    f'{review.assignee}, or say why you take it over in "override"'
                )
            if taken:
                detail = f"took over from {review.assignee}: {body.override}"
                entry = AuditEntry(at=now, actor=body.analyst, action="overrode", detail=detail)
                review = review.model_copy(update={"audit": [*review.audit, entry]})
            status = payment.status.model_copy(update={"verdict": body.verdict, "verdict_at": now})
            record = payment.model_copy(update={"status": status})
            change = (
                label_change(record, body.label, "analyst", now)
                if body.label is not None
                else Change(payment=record)
            )
            detail = f"verdict {body.verdict}, label {body.label or 'none'}"
            change.review = _with_entry(
                review,
                AuditEntry(at=now, actor=body.analyst, action="resolved", detail=detail),
                status="resolved",
                assignee=body.analyst,
                resolved_at=now,
                verdict=body.verdict,
                label=body.label,
                note=body.note,
            )
            await self._commit(change)
            self._wiring.announce(record, status)
            return as_seen_by_tenant(change.review)

    async def contest(self, phone: str, now: datetime, marks: list[Mark]) -> str:
        """A customer texted "HUMAN" with no open dialogue: review their latest auto-decline.

        Only a decline marked for this registered phone within the contest window
        counts; anything else gets no answer, as any stray SMS. Asking twice finds
        the same item (one per payment) and gets the same answer.
        """
        found = await self._store.read_mark(DECLINED, phone, now.timestamp())
        payment_id, _, locale = (found or "").partition(" ")
        payment = await self._store.get_payment(payment_id) if payment_id else None
        if payment is None:
            if marks:
                await self._commit(Change(marks=marks))
            return ""
        detail = "customer asked for a person by SMS after an automatic decision"
        await self._open_contest(payment, detail, now, marks)
        return render(HUMAN_HANDOFF_KEY, locale or None).text

    async def contest_in_app(
        self, customer_id: str, payment_key: str, window_days: float, now: datetime
    ) -> ContestOut:
        """The customer's app asks a person to look at one of their declined or blocked
        payments (within ``window_days`` of the verdict): 404 if it is not theirs, 409 if it
        was not declined or blocked, 410 past the window; twice finds the same item."""
        payment = await self._store.get_payment(payment_key)
        if payment is None or payment.customer_id != customer_id:
            raise NotFound(f"no payment {local_id(payment_key)} of this customer")
        status = payment.status
        if status.verdict != "blocked":
            raise Conflict(
                f"payment {local_id(payment_key)} is {status.verdict}: only a declined or "
                "blocked payment can be contested"
            )
        decided = status.verdict_at or status.decided_at
        if now.timestamp() > decided.timestamp() + window_days * 86_400:
            raise Gone(f"payment {local_id(payment_key)} can no longer be contested here")
        detail = "customer asked for a person in the app after the payment was blocked"
        review, opened = await self._open_contest(payment, detail, now, [])
        return ContestOut(
            payment_id=local_id(payment_key), review_id=local_id(review.id), opened=opened
        )

    async def notices(self, customer_id: str, now: datetime) -> NoticeList:
        """The customer's latest declined or blocked payment still open to contest, if any."""
        found = await self._store.read_mark(DECLINED, APP_PREFIX + customer_id, now.timestamp())
        parts = (found or "").split(" ", 4)
        if len(parts) < 5 or parts[2] not in ("declined", "blocked"):
            return NoticeList(notices=[])
        payment_key, locale, outcome, until, text = parts
        payment = await self._store.get_payment(payment_key)
        if payment is None or payment.status.verdict != "blocked":
            return NoticeList(notices=[])  # erased, or a person has released it since
        contested = await self._store.get_review(review_id(payment_key)) is not None
        notice = Notice(
            payment_id=local_id(payment_key), outcome="declined" if outcome == "declined"
            else "blocked", text=text, locale=locale,
            direction=default_catalog().pack(locale).direction, contested=contested,
            contest_until=datetime.fromtimestamp(float(until), UTC),
        )  # fmt: skip
        return NoticeList(notices=[notice])

    async def _open_contest(
        self, payment: PaymentRecord, detail: str, now: datetime, marks: list[Mark]
    ) -> tuple[ReviewRecord, bool]:
        """The payment's review item, opened for a contest unless one exists (one per
        payment, whoever asked first); whether this call opened it."""
        key = payment.key
        async with self._lock:
            existing = await self._store.get_review(review_id(key))
            if existing is not None:
                if marks:
                    await self._commit(Change(marks=marks))
                return existing, False
            review = open_review(key, payment, "contest", now, ("customer", detail))
            await self._commit(Change(review=review, marks=marks))
            return review, True

    async def _review(self, item_id: str) -> ReviewRecord:
        review = await self._store.get_review(item_id)
        if review is None:
            raise NotFound(f"no review item {local_id(item_id)}")
        return review

    async def _open_review(self, item_id: str) -> ReviewRecord:
        review = await self._review(item_id)
        if review.status == "resolved":
            raise Conflict(
                f"review {local_id(item_id)} was already resolved by {review.assignee} "
                f"({review.verdict}); add a label to the payment to correct it"
            )
        return review

    async def _payment(self, payment_id: str) -> PaymentRecord:
        payment = await self._store.get_payment(payment_id)
        if payment is None:
            raise NotFound(f"payment {payment_id} of this review is no longer kept")
        return payment

    async def _commit(self, change: Change) -> None:
        await self._store.commit(change)
        self._wiring.on_commit()


def as_seen_by_tenant(review: ReviewRecord) -> ReviewRecord:
    """The item with the ids its tenant knows (the store keeps them scoped)."""
    return review.model_copy(
        update={
            "id": local_id(review.id),
            "payment_id": local_id(review.payment_id),
            "customer_id": local_id(review.customer_id),
        }
    )


def _with_entry(review: ReviewRecord, entry: AuditEntry, **update: object) -> ReviewRecord:
    """The next version of an item: fields updated, one audit entry appended."""
    return review.model_copy(
        update={**update, "audit": [*review.audit, entry], "version": review.version + 1}
    )


def _now() -> datetime:
    return datetime.now(UTC)
