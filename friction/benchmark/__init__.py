"""The Fraud Detection Handbook benchmark, re-implemented from its description.

Map of the package:

- ``stream``    read the handbook CSV files into typed numpy columns, hash them
- ``protocol``  prequential folds and the known-compromised-card removal
- ``metrics``   AUC ROC, average precision, Card Precision@k
- ``baseline``  the book's 15 features, vectorised (the reproduction check)
- ``replay``    friction's online features over the stream, labels 7 days late
- ``models``    the XGBoost configurations of both runs
- ``runner``    one fold after another, for both feature sets
- ``dialogue``  label schedules when customers' answers arrive early; discovery
- ``dialogue_run`` the separate ``--labels dialogue`` run over those schedules
- ``cli``       ``friction benchmark handbook``
"""

from __future__ import annotations

from friction.benchmark.protocol import Fold, folds_for
from friction.benchmark.runner import BenchmarkReport, run_benchmark
from friction.offline.handbook_stream import Stream, load_stream

__all__ = ["BenchmarkReport", "Fold", "Stream", "folds_for", "load_stream", "run_benchmark"]
