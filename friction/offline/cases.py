"""Streams to backtest: payments with their scores and the truth a dialogue would reveal.

Scores come from the offline feature replay (``friction.training.dataset``, labels
arriving 7 days late, as chargebacks do) and the served model class
(``Model.predict_batch``): every policy of a backtest sees the same scores.

The handbook CSVs hold no customer answers, so they get the simulator's answer
model (``friction.simulation.answers``), drawn with a seeded Generator: a genuine
customer confirms 86 % of the time (median 75 s), 1 % deny, the rest never answer;
a fraud victim denies 90 % of the time (median 50 s). Handbook amounts are taken
as EUR and every handbook payment as a card payment at a till (``pos``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from friction.offline.dataset import build_dataset, read_lines
from friction.offline.policy_replay import Case
from friction.scoring.model import Model
from friction.simulation.answers import truths

Advance = Callable[[float], None]
HANDBOOK_ANSWER_SEED = 20180401


@dataclass
class Cases:
    """Payments in time order, the model's score of each, and their scenarios."""

    cases: list[Case]
    scores: NDArray[np.float64]
    scenarios: list[str]

    @property
    def days(self) -> float:
        """Length of the stream in days (at least one)."""
        if not self.cases:
            return 1.0
        return max(1.0, (self.cases[-1].ts - self.cases[0].ts) / 86_400.0)


def case_of(line: dict[str, Any]) -> Case:
    """A simulator line as a replay case."""
    payment, truth = line["payment"], line["truth"]
    payee = payment.get("payee")
    merchant = payment["merchant"]
    ts = datetime.fromisoformat(payment["occurred_at"].replace("Z", "+00:00")).timestamp()
    return Case(
        payment_id=payment["payment_id"],
        ts=ts,
        customer=payment["customer"]["id"],
        counterparty=payee["id"] if payee else merchant["id"],
        channel=payment["channel"],
        amount_minor=int(payment["amount"]["value"]),
        currency=payment["amount"]["currency"],
        fraud=bool(truth["fraud"]),
        answer=str(truth["answer"]),
        answer_delay_s=truth["answer_delay_s"],
        scam_answer=truth.get("answer_if_scam_question"),
    )


def collect(
    lines: Iterable[dict[str, Any]], into: list[Case], advance: Advance
) -> Iterator[dict[str, Any]]:
    """Pass stream lines on, keeping each as a case: one read serves features and cases."""
    for line in lines:
        into.append(case_of(line))
        advance(1)
        yield line


def simulated_cases(path: Path, model: Model, advance: Advance) -> Cases:
    """A simulator stream file, replayed through the feature code and scored by ``model``."""
    cases: list[Case] = []
    dataset = build_dataset(collect(read_lines(path), cases, advance))
    scores = np.asarray(model.predict_batch(dataset.X), dtype=np.float64)
    return Cases(cases, scores, dataset.scenarios)


def handbook_cases(
    ts: NDArray[np.int64],
    customer: NDArray[np.int64],
    terminal: NDArray[np.int64],
    amount: NDArray[np.float64],
    fraud: NDArray[np.int64],
) -> list[Case]:
    """Handbook transactions as cases, customers answering per the documented model."""
    rng = np.random.default_rng(HANDBOOK_ANSWER_SEED)
    rows = [("stolen_card" if f else "genuine", "pos") for f in fraud.tolist()]
    return [
        Case(
            payment_id=f"hb_{i}",
            ts=float(t),
            customer=f"c{c}",
            counterparty=f"t{m}",
            channel="pos",
            amount_minor=round(a * 100),
            currency="EUR",
            fraud=bool(f),
            answer=str(truth["answer"]),
            answer_delay_s=truth["answer_delay_s"],
        )
        for i, (t, c, m, a, f, truth) in enumerate(
            zip(ts.tolist(), customer.tolist(), terminal.tolist(), amount.tolist(),
                fraud.tolist(), truths(rng, rows), strict=True)
        )
    ]  # fmt: skip
