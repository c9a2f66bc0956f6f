"""The handbook's transactions as typed numpy columns, sorted by time.

Why numpy columns rather than a DataFrame: pandas ships no type information, so
it stays at the door (CSV parsing) and every later step is typed and vectorised.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from friction.errors import InvalidInput

DELAY_DAYS = 7
"""The handbook's label delay: a day's frauds are known a week later (its protocol)."""
DAY_SECONDS = 86_400
COLUMNS = ("TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD")

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Stream:
    """Transactions in time order; ``ts`` is seconds since the epoch (naive times read as UTC)."""

    transaction_id: I64
    ts: I64
    customer: I64
    terminal: I64
    amount: F64
    fraud: I64

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def day(self) -> I64:
        """Day number since the epoch: the same day ``PaymentFacts.day`` gives online."""
        return self.ts // DAY_SECONDS

    def take(self, index: I64) -> Stream:
        """A sub-stream (rows in the given order)."""
        return Stream(
            transaction_id=self.transaction_id[index],
            ts=self.ts[index],
            customer=self.customer[index],
            terminal=self.terminal[index],
            amount=self.amount[index],
            fraud=self.fraud[index],
        )


def data_files(directory: Path) -> list[Path]:
    """The handbook files in ``directory`` (``.csv.gz`` or ``.csv``), in name order."""
    files = sorted(p for p in directory.iterdir() if p.name.endswith((".csv", ".csv.gz")))
    if not files:
        raise InvalidInput(f"no .csv or .csv.gz files in {directory}", fields=["data"])
    return files


def data_hash(files: list[Path]) -> str:
    """Content hash of the data files, so a cache never outlives the data it was built from."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def load_stream(files: list[Path]) -> Stream:
    """Read and concatenate the files, sorted by (time, transaction id) so replays are stable."""
    import pandas as pd  # imported here: only the CSV parsing needs it

    frames = [pd.read_csv(p, usecols=list(COLUMNS)) for p in files]
    frame = pd.concat(frames, ignore_index=True)
    missing = set(COLUMNS) - set(frame.columns)
    if missing:
        raise InvalidInput(f"missing columns: {sorted(missing)}", fields=["data"])
    seconds = pd.to_datetime(frame["TX_DATETIME"]).astype("datetime64[s]").astype("int64")
    ts = np.asarray(seconds, dtype=np.int64)
    tid = frame["TRANSACTION_ID"].to_numpy(dtype=np.int64)
    order = np.lexsort((tid, ts))
    return Stream(
        transaction_id=tid[order],
        ts=ts[order],
        customer=frame["CUSTOMER_ID"].to_numpy(dtype=np.int64)[order],
        terminal=frame["TERMINAL_ID"].to_numpy(dtype=np.int64)[order],
        amount=frame["TX_AMOUNT"].to_numpy(dtype=np.float64)[order],
        fraud=frame["TX_FRAUD"].to_numpy(dtype=np.int64)[order],
    )
