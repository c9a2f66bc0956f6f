"""What a simulation run is asked for (``SimConfig``) and what it produced (``SimSummary``)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from friction.simulation.phones import capacity

Scenario = Literal[
    "genuine", "card_testing", "compromised_terminal", "account_takeover", "app_scam",
    "stolen_card", "bin_attack",
]  # fmt: skip
FRAUD_SCENARIOS: tuple[Scenario, ...] = (
    "card_testing",
    "compromised_terminal",
    "account_takeover",
    "stolen_card",
    "app_scam",
)
SCENARIOS: tuple[Scenario, ...] = ("genuine", *FRAUD_SCENARIOS)
"""What every stream holds (``bin_attack`` only when asked for: ``SimConfig.bin_attack_cards``)."""

# Share of all payments each scenario contributes at fraud_rate=1.0 (≈1 % in total).
BASE_SHARES: dict[Scenario, float] = {
    "card_testing": 0.0028,
    "compromised_terminal": 0.0024,
    "account_takeover": 0.0016,
    "stolen_card": 0.002,
    "app_scam": 0.0013,
}


class SimConfig(BaseModel):
    """A simulation run; the same config (seed included) always yields the same bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(7, ge=0, le=2**32 - 1, description="Seed of the numpy Generator.")
    days: int = Field(30, ge=1, le=366, description="Length of the stream in days.")
    customers: int = Field(2000, ge=1, le=capacity(), description="Number of customers.")
    merchants: int | None = Field(
        None, ge=10, le=20_000, description="Number of merchants (default: customers/4, ≥ 40)."
    )
    start: date = Field(date(2026, 11, 1), description="First day of the stream (UTC midnight).")
    fraud_rate: float = Field(
        1.0, ge=0.0, le=20.0, description="Multiplier on the base fraud incidence (≈1 %)."
    )
    bin_attack_cards: int = Field(
        0, ge=0, le=10_000,
        description="Cards of a BIN range the world never issued, used by a fraud ring: a "
        "pattern the bundled model never saw, for backtesting analysts' rules.",
    )  # fmt: skip

    @property
    def merchant_count(self) -> int:
        """Merchants to create: explicit, or scaled with the customer base."""
        return self.merchants if self.merchants is not None else max(40, self.customers // 4)


class SimSummary(BaseModel):
    """What a written stream holds: rows, fraud, and rows per scenario."""

    rows: int
    fraud: int
    by_scenario: dict[str, int]
    first: str | None = None
    last: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def fraud_rate(self) -> float:
        """Share of rows that are fraud (0 for an empty stream)."""
        return self.fraud / self.rows if self.rows else 0.0
