"""Simulation: a seeded, realistic, labelled payment stream for demos, training and tests.

- ``config`` — ``SimConfig`` (what to simulate) and ``SimSummary`` (what came out).
- ``world`` — customers, merchants/terminals, payees and devices, drawn once.
- ``customers`` — genuine behaviour: daily rhythm, habits, transfers.
- ``scenarios`` — fraud incidents (card testing, compromised terminal, ATO, stolen card, APP scam).
- ``answers`` — how each customer would answer a challenge.
- ``stream`` — ``simulate``, ``write_stream``, ``read_stream``; ``cli`` — ``friction simulate``.
"""

from friction.simulation.config import FRAUD_SCENARIOS, SCENARIOS, SimConfig, SimSummary
from friction.simulation.stream import read_stream, simulate, write_stream

__all__ = [
    "FRAUD_SCENARIOS",
    "SCENARIOS",
    "SimConfig",
    "SimSummary",
    "read_stream",
    "simulate",
    "write_stream",
]
