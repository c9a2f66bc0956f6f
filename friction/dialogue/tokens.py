"""Answer tokens for the in-app channel: signed, expiring, bound to customer and dialogue.

A token is ``<expiry>.<signature>`` where the signature is HMAC-SHA256 over
dialogue id, customer id and expiry. Single use comes from the dialogue itself:
once answered it accepts no further answer, whatever the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from friction.errors import Forbidden, Gone


def mint(secret: bytes, dialogue_id: str, customer_id: str, expires_ts: int) -> str:
    """A token that lets this customer answer this dialogue until ``expires_ts``."""
    return f"{expires_ts}.{_sign(secret, dialogue_id, customer_id, expires_ts)}"


def check(secret: bytes, token: str, dialogue_id: str, customer_id: str, now_ts: float) -> None:
    """Raise Forbidden for a forged/foreign token, Gone for an expired one."""
    expiry_text, _, signature = token.partition(".")
    if not expiry_text.isdigit() or not signature:
        raise Forbidden("malformed answer token; use the token delivered with the prompt")
    expires_ts = int(expiry_text)
    expected = _sign(secret, dialogue_id, customer_id, expires_ts)
    if not hmac.compare_digest(expected, signature):
        raise Forbidden("answer token does not match this dialogue")
    if now_ts > expires_ts:
        raise Gone("answer token expired; the question is no longer open")


def _sign(secret: bytes, dialogue_id: str, customer_id: str, expires_ts: int) -> str:
    message = f"{dialogue_id}\n{customer_id}\n{expires_ts}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
