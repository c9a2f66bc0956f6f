"""friction — real-time fraud friction: score a payment, ask the customer, learn from the answer.

Where to start reading:

- ``friction.app.build_app(settings)`` — the composition root: builds the store,
  bus, channels, model and engine and wires the HTTP routes (``friction.routes``).
- ``friction.service.scorer.Scorer`` — the ``POST /v1/score`` hot path.
- ``friction.dialogue.engine.DialogueEngine`` — challenges and their answers.
- ``friction.domain`` — the vocabulary every layer speaks; ``friction.ports`` — the
  interfaces every adapter implements.
- ``friction.cli`` — the ``friction`` command (serve, simulate, train, ...).

The layers, and a payment's walk through them: ``docs/architecture.md``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
