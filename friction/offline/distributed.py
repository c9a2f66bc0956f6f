"""Boosting on a Dask cluster through ``xgboost.dask`` (``friction train --dask-scheduler``).

Only the rounds are distributed. The feature matrix is still built here by the same
replay as local training (the online feature code is sequential per customer and
terminal), then shipped to the workers in one row block per worker. Parameters and
early stopping are the local ones, except the thread count, which is each worker's.

This module is the only one that imports dask: it is an optional extra (``friction[dask]``).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from typing import Any

import xgboost as xgb
from dask import array as da
from distributed import Client
from xgboost import dask as dxgb

from friction.offline.boosting import Boost, Rows
from friction.scoring.features import FEATURE_NAMES

log = logging.getLogger(__name__)


@contextlib.contextmanager
def dask_boosting(address: str) -> Iterator[Boost]:
    """A ``Boost`` on the cluster whose scheduler listens at ``address`` (tcp://host:port)."""
    with Client(address) as client:
        workers = max(1, len(client.scheduler_info()["workers"]))
        log.info("training on the Dask cluster at %s (%d workers)", address, workers)

        def boost(
            params: dict[str, Any],
            train: Rows,
            rounds: int,
            validation: Rows | None,
            patience: int,
        ) -> xgb.Booster:
            # a worker's thread count is its own, not the local machine's
            params = {k: v for k, v in params.items() if k != "nthread"}
            dtrain = _matrix(client, train, workers)
            evals = [] if validation is None else [(_matrix(client, validation, workers), "val")]
            output = dxgb.train(
                client, params, dtrain, rounds, evals=evals, verbose_eval=False,
                early_stopping_rounds=patience if evals else None,
            )  # fmt: skip
            booster: xgb.Booster = output["booster"]
            return booster

        yield boost


def _matrix(client: Client, rows: Rows, workers: int) -> Any:
    """The rows as a ``DaskDMatrix`` in one block per worker, so that every worker trains."""
    X, y, weight = rows
    block = max(1, math.ceil(len(y) / workers))
    return dxgb.DaskDMatrix(
        client,
        da.from_array(X, chunks=(block, -1)),
        da.from_array(y, chunks=block),
        weight=da.from_array(weight, chunks=block),
        feature_names=list(FEATURE_NAMES),
    )
