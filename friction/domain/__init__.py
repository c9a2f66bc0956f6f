"""friction's vocabulary: what every layer speaks, and nothing that depends on a layer.

- ``payment`` — the payment a gateway asks about (``Payment``), validated strictly.
- ``decision`` — what friction answers (``ScoreResponse``) and where a payment stands
  (``PaymentStatus``, ``Reason``, ``Decision``, ``Verdict``).
- ``dialogue`` — the words of a conversation: ``Intent``, ``Reply``, ``FlowState``, ``Prompt``.
- ``records`` — what the store keeps (``PaymentRecord``, ``DialogueRecord``, ``ReviewRecord``,
  ``CustomerSession``, ``Mark``, ``Quota``) and the unit of work (``Change``).
- ``events`` — the versioned events on the bus, and their encoded form.
- ``labels`` — truth about a payment as one kind of change.
- ``facts`` — what the feature code reads of a payment (``PaymentFacts``, ``facts_of``).
- ``tenancy`` — the one way tenant-owned ids are scoped.
- ``erasure`` — what erasing a customer does to each record; ``privacy`` — phone masking.

It imports nothing of friction but ``friction.errors`` (an import-linter contract).
"""

__all__ = [
    "decision",
    "dialogue",
    "erasure",
    "events",
    "facts",
    "labels",
    "payment",
    "privacy",
    "records",
    "tenancy",
]
