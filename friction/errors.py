"""Errors of friction, each carrying what the caller needs to act on it.

    FrictionError                    root; ``status`` is the HTTP status it maps to
    ├── InvalidInput (422)           a body or parameter failed validation
    │   └── CardDataRejected (422)   a card number/CVV was sent; never echoed back
    ├── NotFound (404)               unknown payment, dialogue, ...
    ├── Conflict (409)               same idempotency key, different body; second answer
    │   └── InProgress (409)         a twin request is still deciding this payment: retry
    ├── Unauthorized (401)           no credential, or one that is unknown or expired
    ├── Forbidden (403)              bad token, bad signature, wrong tenant or customer
    ├── Gone (410)                   the dialogue expired
    ├── ChannelError (502)           a message channel failed; the ladder moves on
    ├── StoreUnavailable (503)       the store cannot be reached: scoring degrades
    ├── NoModel (503)                no champion model to serve
    │   └── SchemaMismatch (503)     the model was trained on other features: retrain
    ├── ModelError (500)             a model file the fast evaluator cannot serve exactly
    ├── FlowError (500)              a dialogue flow file is invalid (refused at start-up)
    ├── TemplateError (500)          a message template is missing or unsafe (start-up)
    ├── PhoneRangeExhausted (500)    the simulator ran out of fictional phone numbers
    └── MissingExtra (500)           an optional dependency is not installed (CLI: exit 2)

The HTTP mapping lives in one middleware (``friction.api.middleware``).
"""

from __future__ import annotations


class FrictionError(Exception):
    status = 500
    code = "internal"
    retry_after_s: int | None = None
    """Sent as ``Retry-After`` when the same request may succeed a little later."""

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


class InProgress(Conflict):
    """A twin request (maybe on another replica) claimed the payment and has not answered yet."""

    code = "in_progress"
    retry_after_s = 1


class Unauthorized(FrictionError):
    status = 401
    code = "unauthorized"


class Forbidden(FrictionError):
    status = 403
    code = "forbidden"


class Gone(FrictionError):
    status = 410
    code = "gone"


class ChannelError(FrictionError):
    status = 502
    code = "channel_failed"


class StoreUnavailable(FrictionError):
    """The store did not answer in time; scoring falls back to request-only features."""

    status = 503
    code = "store_unavailable"


class NoModel(FrictionError):
    """There is no model to load (no champion, or the version asked for is absent)."""

    status = 503
    code = "no_model"


class SchemaMismatch(NoModel):
    """The model was trained on a feature list other than today's ``FEATURE_NAMES``."""

    code = "model_schema_mismatch"


class ModelError(FrictionError):
    """A model file this evaluator cannot serve faithfully (objective, booster, splits)."""

    code = "model_invalid"


class FlowError(FrictionError):
    """A flow file is invalid, or a state does not belong to the flow it is advanced on."""

    code = "flow_invalid"


class TemplateError(FrictionError):
    """Templates are missing, malformed or unsafe, or a render lacked a parameter."""

    code = "template_invalid"


class PhoneRangeExhausted(FrictionError):
    """More customers than fictional numbers: the simulator refuses rather than invent real ones."""


class MissingExtra(FrictionError):
    """An option needs an optional extra that is not installed; the message says which."""
