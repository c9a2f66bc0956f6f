"""Twilio webhook signatures (``X-Twilio-Signature``), computed by Twilio's own code.

Twilio signs every webhook with HMAC-SHA1 over the full URL it called followed by
the POST parameters sorted by name (``name + value`` pairs), base64-encoded, keyed
with the account's auth token. We delegate to ``twilio.request_validator`` rather
than re-implementing it so friction accepts exactly what Twilio sends, including
its quirks (a standard port may or may not be part of the signed URL).

``verify`` guards the inbound webhooks; ``sign`` exists for the local fake Twilio
(``friction.devtools.fake_twilio``) and for tests, which must produce the very
header Twilio would.
"""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator

__all__ = ["SIGNATURE_HEADER", "sign", "verify"]

SIGNATURE_HEADER = "X-Twilio-Signature"
"""HTTP header that carries the signature."""


def sign(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """The ``X-Twilio-Signature`` value Twilio would send for this URL and form body."""
    return str(RequestValidator(auth_token).compute_signature(url, params))


def verify(url: str, params: Mapping[str, str], signature: str | None, auth_token: str) -> bool:
    """Whether ``signature`` proves Twilio (holder of ``auth_token``) sent these params to url.

    ``url`` must be the public URL Twilio was configured to call (scheme, host, port,
    path and query exactly as Twilio saw them), not the URL the proxy-fronted server
    received. ``params`` may be a multi-dict (aiohttp's ``await request.post()``):
    Twilio signs every value of a repeated field. A missing or empty signature, or an
    empty token, is never valid.
    """
    if not signature or not auth_token:
        return False
    try:
        return bool(RequestValidator(auth_token).validate(url, params, signature))
    except (TypeError, ValueError, UnicodeError):
        # Garbage in a header (odd types, undecodable text) is a forgery, not a crash.
        return False
