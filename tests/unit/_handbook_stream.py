"""A tiny handbook-format stream written by the tests themselves (never the shared data)."""

from __future__ import annotations

import csv
import gzip
import random
from datetime import datetime, timedelta
from pathlib import Path

HEADER = [
    "TRANSACTION_ID",
    "TX_DATETIME",
    "CUSTOMER_ID",
    "TERMINAL_ID",
    "TX_AMOUNT",
    "TX_TIME_SECONDS",
    "TX_TIME_DAYS",
    "TX_FRAUD",
    "TX_FRAUD_SCENARIO",
]
START = datetime(2018, 4, 1)


def write_handbook_csv(path: Path, days: int = 50, seed: int = 7) -> Path:
    """Customers paying at nearby terminals; a terminal compromised per 28 days, a card per 14."""
    rng = random.Random(seed)
    rows: list[tuple[int, int, int, float, int]] = []
    means = {c: rng.uniform(5, 100) for c in range(30)}
    for day in range(days):
        for customer, mean in means.items():
            for _ in range(rng.randint(0, 3)):
                seconds = day * 86_400 + rng.randint(0, 86_399)
                terminal = (customer + rng.randint(0, 4)) % 12
                amount = round(abs(rng.gauss(mean, mean / 2)), 2)
                scenario = 0
                if terminal == (day // 28 + 3) % 12:
                    scenario = 2
                if customer == (day // 14) % 30 and rng.random() < 0.34:
                    amount, scenario = round(amount * 5, 2), 3
                if amount > 220:
                    scenario = 1
                rows.append((seconds, customer, terminal, amount, scenario))
    rows.sort(key=lambda r: (r[0], r[1]))
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for tid, (seconds, customer, terminal, amount, scenario) in enumerate(rows):
            when = (START + timedelta(seconds=seconds)).isoformat(sep=" ")
            day, fraud = seconds // 86_400, int(scenario != 0)
            out.writerow([tid, when, customer, terminal, amount, seconds, day, fraud, scenario])
    return path
