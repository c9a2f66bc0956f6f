"""The service's use cases: what a request asks of the core, wired by ``friction.app``.

- ``scorer`` — ``POST /v1/score``: idempotency, features, model, policy, one commit.
- ``model_slot`` — the model (and fitted policy) being served, and its hot swap.
- ``degraded`` — deciding without the store; ``spill`` — the journal that loses none.
- ``erasure`` — ``DELETE /v1/customers/{id}`` and the retention sweep.
- ``sessions`` — customer sessions: only the customer's own app may answer.
"""

__all__ = ["degraded", "erasure", "model_slot", "scorer", "sessions", "spill"]
