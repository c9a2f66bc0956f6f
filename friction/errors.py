"""Errors of friction, each carrying what the caller needs to act on it.

    FrictionError                   root; ``status`` is the HTTP status it maps to
    ├── InvalidInput (422)          a body or parameter failed validation
    │   └── CardDataRejected (422)  a card number/CVV was sent; never echoed back
    ├── NotFound (404)              unknown payment, dialogue, ...
    ├── Conflict (409)              same idempotency key, different body; second answer
    ├── Forbidden (403)             bad token, bad signature, wrong tenant
    ├── Gone (410)                  the dialogue expired
    └── ChannelError (502)          a message channel failed; the ladder moves on

The HTTP mapping lives in one middleware (``friction.api.middleware``).
"""

from __future__ import annotations


class FrictionError(Exception):
    status = 500
    code = "internal"

    def __init__(self, message: str, *, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or []


class InvalidInput(FrictionError):
    status = 422
    code = "invalid_input"


class CardDataRejected(InvalidInput):
    code = "card_data_rejected"


class NotFound(FrictionError):
    status = 404
    code = "not_found"


class Conflict(FrictionError):
    status = 409
    code = "conflict"


class Forbidden(FrictionError):
    status = 403
    code = "forbidden"


class Gone(FrictionError):
    status = 410
    code = "gone"


class ChannelError(FrictionError):
    status = 502
    code = "channel_failed"
