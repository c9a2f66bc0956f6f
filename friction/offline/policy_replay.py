"""Smart friction replayed over a stream: policy state, simulated answers, labels.

The service keeps budgets in the store; a replay keeps the same facts in memory
(each customer's recent challenges, the payees they confirmed) and asks the very
``choose`` the service calls. A challenged customer answers as the stream's truth
says (``answer``, ``answer_delay_s``; the scam question's answer for transfers,
whose flow asks it), and only within the dialogue's time to live.

Assumptions, stated once: analysts resolve every review within ``REVIEW_DELAY_S`` and
get ``ANALYST_ERROR`` of them wrong (a genuine payment blocked, a fraud released: the
label they give is wrong too); an unanswered question ends as the policy chose when it asked
(``Action.on_silence``: ``no_answer_verdict``, or weighed per payment); trusted payees live
here, not in the store (the service does not persist confirmations yet).
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from friction.domain.decision import Decision, Fallback
from friction.scoring.policy import DEFAULT_FIT, Action, PolicyFit, PolicyInput, choose
from friction.settings import Settings

SCAM_QUESTION_CHANNELS = frozenset({"transfer", "p2p"})
REVIEW_DELAY_S = 4 * 3600.0
"""How long an analyst takes to resolve a review, for label timing."""
ANALYST_ERROR = 0.1
"""Share of reviews an analyst decides wrongly, drawn by a hash of the payment id."""


@dataclass(frozen=True, slots=True)
class Case:
    """One payment as the replay needs it, with the truth the dialogue would reveal."""

    payment_id: str
    ts: float
    customer: str
    counterparty: str
    channel: str
    amount_minor: int
    currency: str
    fraud: bool
    answer: str
    answer_delay_s: float | None
    scam_answer: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to a payment: decision, whether it was stopped, what was learned."""

    decision: Decision
    blocked: bool
    answered: bool = False
    answer_delay_s: float | None = None
    label: bool | None = None
    """Fraud (True) / genuine (False) learned quickly from an answer or review, else None."""
    label_delay_s: float | None = None
    propensity: float = 1.0
    explored: bool = False
    reviewed: bool = False


Adjust = Callable[["Case", PolicyInput, Action], Action]
"""A layer over the policy's action (an analyst's rule: ``backtest.rule_impact``)."""


class FrictionReplay:
    """The state the smart-friction policy reads, kept across a replayed stream."""

    def __init__(
        self, settings: Settings, fit: PolicyFit = DEFAULT_FIT, adjust: Adjust | None = None
    ) -> None:
        self.settings = settings
        self.fit = fit
        self.adjust = adjust
        self._window_s = settings.friction_window_hours * 3600.0
        self._trust_s = settings.trusted_days * 86_400.0
        self._challenges: dict[str, deque[float]] = {}
        self._trusted: dict[tuple[str, str], float] = {}

    def recent_challenges(self, customer: str, ts: float) -> int:
        """Challenges the customer received within the budget window before ``ts``."""
        times = self._challenges.get(customer)
        if not times:
            return 0
        while times and times[0] <= ts - self._window_s:
            times.popleft()
        return len(times)

    def step(self, case: Case, score: float) -> Outcome:
        """Decide one payment, let the customer answer, and update the policy state."""
        trusted = self._trusted.get((case.customer, case.counterparty), -1.0) >= case.ts
        given = PolicyInput(
            score,
            case.amount_minor,
            self.recent_challenges(case.customer, case.ts),
            reachable=True,
            payment_id=case.payment_id,
            channel=case.channel,
            trusted=trusted,
            currency=case.currency,
        )
        action = choose(self.settings, given, self.fit)
        if self.adjust is not None:
            action = self.adjust(case, given, action)
        if action.decision == "decline":
            return Outcome("decline", True)
        if action.decision == "review":
            return reviewed("review", case)
        if action.decision == "allow":
            return Outcome("allow", False, propensity=action.propensity)
        return self.challenge(case, action.propensity, action.explored, action.on_silence)

    def challenge(
        self,
        case: Case,
        propensity: float = 1.0,
        explored: bool = False,
        on_silence: Fallback | None = None,
    ) -> Outcome:
        """Ask the customer: count it against their budget, and trust a confirmed payee.

        Public so that a policy layered on ``choose`` (the benchmark's discovery)
        spends the same budget and gets the same answers.
        """
        self._challenges.setdefault(case.customer, deque()).append(case.ts)
        outcome = dialogue_outcome(self.settings, case, propensity, explored, on_silence)
        if outcome.label is False and self._trust_s > 0:
            self._trusted[(case.customer, case.counterparty)] = case.ts + self._trust_s
        return outcome


def answer_in_time(settings: Settings, case: Case) -> str | None:
    """The customer's answer to the question asked on this payment, if it came in time."""
    answer = case.answer
    if case.channel in SCAM_QUESTION_CHANNELS and case.scam_answer is not None:
        answer = case.scam_answer
    delay = case.answer_delay_s
    if answer != "none" and delay is not None and delay <= settings.dialogue_ttl_seconds:
        return answer
    return None


def dialogue_outcome(
    settings: Settings,
    case: Case,
    propensity: float = 1.0,
    explored: bool = False,
    on_silence: Fallback | None = None,
) -> Outcome:
    """The customer's answer within the time to live, and the verdict it leads to; silence
    ends as ``on_silence`` (default: the fixed ``no_answer_verdict``, else blocked)."""
    answer = answer_in_time(settings, case)
    if answer is not None:
        denied = answer == "deny"
        delay = case.answer_delay_s
        return Outcome("challenge", denied, True, delay, denied, delay, propensity, explored)
    fixed = settings.no_answer_verdict
    verdict = on_silence or ("blocked" if fixed == "weighed" else fixed)
    if verdict == "review":
        return reviewed("challenge", case, propensity, explored)
    return Outcome("challenge", verdict == "blocked", propensity=propensity, explored=explored)


def reviewed(
    decision: Decision, case: Case, propensity: float = 1.0, explored: bool = False
) -> Outcome:
    """An analyst's verdict on the payment, wrong for ``ANALYST_ERROR`` of payments."""
    digest = hashlib.blake2b(case.payment_id.encode(), digest_size=8, person=b"analyst").digest()
    wrong = int.from_bytes(digest, "big") / 2**64 < ANALYST_ERROR
    stopped = case.fraud != wrong
    return Outcome(
        decision, stopped, label=stopped, label_delay_s=REVIEW_DELAY_S,
        propensity=propensity, explored=explored, reviewed=True,
    )  # fmt: skip
