"""How personal data appears where it must not be whole: logs, errors, screens."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """Show only the last 4 digits of a phone number: logs must not carry the number."""
    return "(none)" if not phone else f"***{phone[-4:]}"
