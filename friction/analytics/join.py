"""The payment-level frame: one row per scored payment, with its dialogue and its truth.

Most questions an analyst asks are about payments ("how many frauds did we stop at
0.4?"), while events are about state changes. ``payments_frame`` folds a payment's
dialogue transitions into stage times and an outcome, and its labels into one
resolved truth, so that every measure in ``friction.analytics`` is a group-by on
one frame.

Truth resolution: when a payment has several labels, the most authoritative source
wins (analyst > chargeback > fraud report > customer denied > customer confirmed),
because a customer can be deceived (scam victims confirm) while a chargeback or an
analyst has seen the outcome. ``no_answer`` is a fact about the dialogue, not truth:
such payments stay unlabelled (``label`` is missing, ``label_source`` says why).
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from friction.analytics.frames import EventFrames

Verdict = Literal["released", "blocked", "review"]
OUTCOMES = (
    "open", "confirmed", "denied", "asked_human", "unclear", "expired", "opted_out", "failed",
)  # fmt: skip
"""How a dialogue ended for the customer: ``asked_human`` is a request for a person (the
button in the app, AGENT by SMS), ``unclear`` a flow that could not read the answers."""
VERDICTS = ("pending", "released", "blocked", "review")
SOURCE_RANK = {
    "analyst": 0, "chargeback": 1, "fraud_report": 2,
    "customer_denied": 3, "customer_confirmed": 4, "no_answer": 5,
}  # fmt: skip
_ENDED = ("answered", "expired", "opted_out", "failed")
_OUTCOME_OF_VERDICT = {"released": "confirmed", "blocked": "denied", "review": "unclear"}
_OUTCOME_OF_SOURCE = {"customer_confirmed": "confirmed", "customer_denied": "denied"}
YES, NO = frozenset({"yes", "confirm", "confirmed"}), frozenset({"no", "deny", "denied"})
HUMAN = "human"
"""The answer the engine records for a request for a person."""
REPLY_STATES = ("reasked", "answered_step", "answered")
"""Any reply counts as answered for the funnel: time to answer is time to first reply."""
_STAGE_COLUMNS = {
    "created": "challenged_at", "sent": "sent_at", "delivered": "delivered_at",
    "answered": "answered_at",
}  # fmt: skip


def payments_frame(events: EventFrames, no_answer_verdict: Verdict = "blocked") -> pd.DataFrame:
    """Decisions joined with their dialogue summary and resolved label, one row per payment.

    An expired challenge ends as its dialogue's logged verdict (the policy chose it when it
    asked); ``no_answer_verdict`` stands in for events that logged none.
    """
    decisions = events.decisions.rename(columns={"at": "decided_at"}).drop(columns=["event_id"])
    decisions = decisions.drop_duplicates("payment_id", keep="last")
    frame = decisions.merge(dialogue_summary(events.dialogues), on="payment_id", how="left")
    frame = frame.merge(label_summary(events.labels), on="payment_id", how="left")
    frame["outcome"] = _customer_outcomes(frame, events.labels).astype(
        pd.CategoricalDtype(list(OUTCOMES))
    )
    frame["verdict"] = _verdicts(frame, no_answer_verdict)
    frame["is_fraud"] = frame["label"].map({"fraud": True, "genuine": False}).astype("boolean")
    frame["day"] = frame["occurred_at"].dt.floor("D")
    frame["week"] = frame["day"] - pd.to_timedelta(frame["day"].dt.day_of_week, unit="D")
    return frame.sort_values("occurred_at", kind="stable").reset_index(drop=True)


def dialogue_summary(dialogues: pd.DataFrame) -> pd.DataFrame:
    """One row per dialogue: channels, language, stage times, final state and outcome.

    ``first_channel`` is the ladder's first rung; ``answer_channel`` the channel the deciding
    reply came from (an app answer while the SMS rung asks is the app's); ``dialogue_channel``,
    what the funnel groups by, is the answer's channel, or the last rung asked if none came.
    """
    columns = ["payment_id", "dialogue_id", "dialogue_channel", "first_channel",
               "answer_channel", "locale", "language",
               *_STAGE_COLUMNS.values(), "ended_at", "dialogue_state", "answer", "outcome",
               "time_to_answer_s", "ended_verdict"]  # fmt: skip
    if dialogues.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    ordered = dialogues.sort_values(["at", "state"], kind="stable")
    last = ordered.groupby("dialogue_id", observed=True).tail(1).set_index("dialogue_id")
    first = ordered.groupby("dialogue_id", observed=True).head(1).set_index("dialogue_id")
    times = ordered.pivot_table(
        index="dialogue_id", columns="state", values="at", aggfunc="min", observed=False
    )
    out = first[["payment_id", "channel", "locale", "language"]].rename(
        columns={"channel": "first_channel"}
    )
    replied = ordered[ordered["state"].isin(REPLY_STATES)]
    by_reply = replied.groupby("dialogue_id", observed=True).tail(1).set_index("dialogue_id")
    out["answer_channel"] = by_reply["channel"].astype("string").reindex(out.index)
    out["dialogue_channel"] = out["answer_channel"].fillna(last["channel"].astype("string"))
    for state, column in _STAGE_COLUMNS.items():
        out[column] = times[state] if state in times.columns else pd.NaT
    replies = [s for s in REPLY_STATES if s in times.columns]
    out["answered_at"] = times[replies].min(axis=1) if replies else pd.NaT
    out["dialogue_state"] = last["state"]
    out["ended_at"] = last["at"].where(last["state"].isin(_ENDED))
    out["answer"] = last["answer"]
    out["outcome"] = _outcomes(last["state"], last["answer"], last["verdict"])
    out["time_to_answer_s"] = (out["answered_at"] - out["challenged_at"]).dt.total_seconds()
    out["ended_verdict"] = last["verdict"].astype("string")
    return out.reset_index()[columns]


def label_summary(labels: pd.DataFrame) -> pd.DataFrame:
    """One row per labelled payment: the most authoritative label, its source and delay."""
    columns = ["payment_id", "label", "label_source", "label_at", "label_delay_s", "labels"]
    if labels.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    ranked = labels.assign(rank=labels["source"].astype("string").map(SOURCE_RANK).fillna(9))
    ranked = ranked.sort_values(["payment_id", "rank", "at"], ascending=[True, True, False])
    best = ranked.drop_duplicates("payment_id").set_index("payment_id")
    out = pd.DataFrame(index=best.index)
    truth = best["label"].astype("string").where(best["label"] != "no_answer")
    out["label"] = truth.astype(pd.CategoricalDtype(["fraud", "genuine"]))
    out["label_source"] = best["source"]
    out["label_at"] = best["at"]
    out["label_delay_s"] = best["delay_seconds"]
    out["labels"] = labels.groupby("payment_id").size()
    return out.reset_index()[columns]


def _outcomes(state: pd.Series, answer: pd.Series, verdict: pd.Series) -> pd.Series:
    """Outcome of each dialogue from its final state, verdict (if logged) and last answer.

    A multi-question flow can end "yes" and still block (a scam victim who says yes to
    "did you make it?" and yes to "did someone tell you what to say?"), so the logged
    verdict wins over the answer; ``payments_frame`` refines further with the label the
    dialogue earned. Answered without a clear yes/no means a person decides: ``unclear``.
    """
    text = answer.astype("string").str.lower().str.strip()
    logged = verdict.astype("string").map(_OUTCOME_OF_VERDICT)
    outcome = state.astype("string").copy()
    answered = state == "answered"
    outcome[answered] = "unclear"
    outcome[answered & text.isin(YES).fillna(False)] = "confirmed"
    outcome[answered & text.isin(NO).fillna(False)] = "denied"
    outcome[answered & logged.notna()] = logged
    outcome[answered & (text == HUMAN).fillna(False)] = "asked_human"
    outcome[~state.isin(_ENDED)] = "open"
    return outcome


def _customer_outcomes(frame: pd.DataFrame, labels: pd.DataFrame) -> pd.Series:
    """``outcome`` corrected by the label the customer's answer produced, when there is one."""
    said = labels[labels["source"].isin(["customer_confirmed", "customer_denied"])]
    by_payment = said.drop_duplicates("payment_id", keep="last").set_index("payment_id")["source"]
    mapped = frame["payment_id"].map(by_payment.astype("string").map(_OUTCOME_OF_SOURCE))
    answered = frame["dialogue_state"].astype("string") == "answered"
    return frame["outcome"].where(~(answered & mapped.notna()), mapped)


def _verdicts(frame: pd.DataFrame, no_answer_verdict: Verdict) -> pd.Series:
    """Where each payment ended: the decision's verdict, or its challenge's."""
    by_decision = {"allow": "released", "decline": "blocked", "review": "review"}
    by_outcome = {
        "open": "pending", "confirmed": "released", "denied": "blocked", "unclear": "review",
        "asked_human": "review",
        "expired": no_answer_verdict, "opted_out": "review", "failed": "review",
    }  # fmt: skip
    verdict = frame["decision"].astype("string").map(by_decision)
    challenged = frame["decision"] == "challenge"
    from_dialogue = frame["outcome"].astype("string").map(by_outcome).fillna("pending")
    logged = frame["ended_verdict"].astype("string")
    from_dialogue = from_dialogue.where(~(frame["outcome"] == "expired") | logged.isna(), logged)
    verdict = verdict.where(~challenged, from_dialogue)
    return verdict.astype(pd.CategoricalDtype(list(VERDICTS)))
