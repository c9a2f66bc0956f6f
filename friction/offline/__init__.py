"""What the offline tools share: replaying streams through the online code, and training.

The tools (``training``, ``backtest``, ``benchmark``, ``analytics``) never import each
other; they share through here (an import-linter contract), and everything here calls the
very code the service serves with (features, model, policy).

- ``dataset`` — a stream replayed through the feature code (``build_dataset``).
- ``train`` — the one training path (``friction train``); ``booster`` its recipes,
  ``boosting`` / ``distributed`` where the rounds run (here, or on Dask).
- ``metrics`` — AUC, average precision, card precision@k (one implementation).
- ``cases`` / ``policy_replay`` / ``policy_fit`` — payments replayed through the policy,
  and the policy fitted on a past window.
- ``handbook_stream`` / ``feature_cache`` — the Fraud Detection Handbook's data and its
  replayed features, cached.
"""

__all__ = [
    "booster",
    "boosting",
    "cases",
    "dataset",
    "distributed",
    "feature_cache",
    "handbook_stream",
    "metrics",
    "policy_fit",
    "policy_replay",
    "train",
]
