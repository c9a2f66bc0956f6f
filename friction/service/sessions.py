"""Customer sessions: the credential a customer's app holds, minted by the tenant's backend.

A challenge exists to ask the real customer, so nobody else may read its prompts or
answer them: not a fraudster who guessed a customer id, not another tenant. As payment
APIs do with ephemeral keys for mobile apps, the tenant's backend (holding its API key)
asks for a short-lived session for one of its customers and hands the token to that
customer's app; every customer route then takes ``Authorization: Bearer <token>``.

Tokens are 256 random bits. The store keeps only their SHA-256 digest with the scoped
customer id and the expiry, so a copy of the store (or of Redis) answers no prompt,
and every replica on the same store knows every session.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from friction.domain.records import CustomerSession
from friction.ports import SessionStore

TOKEN_PREFIX = "fcs_"
"""Says what a token is (a session, not an API key) when it turns up in a log or a ticket."""
_MAX_TOKEN = 100


def digest(token: str) -> str:
    """What the store keys a session by."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_session_token(token: str) -> bool:
    """Shaped like a session token (the auth middleware tries the store only then)."""
    return token.startswith(TOKEN_PREFIX) and len(token) <= _MAX_TOKEN


async def open_session(
    store: SessionStore, customer_id: str, ttl_s: float, now: datetime
) -> tuple[str, CustomerSession]:
    """A new session for ``customer_id`` (scoped): the token to hand over, and the record."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session = CustomerSession(customer_id=customer_id, expires_at=now + timedelta(seconds=ttl_s))
    await store.save_session(digest(token), session)
    return token, session


async def find_session(store: SessionStore, token: str, now: datetime) -> CustomerSession | None:
    """The live session of ``token``; None if unknown, malformed or expired."""
    if not is_session_token(token):
        return None
    session = await store.get_session(digest(token))
    return session if session is not None and session.expires_at > now else None
