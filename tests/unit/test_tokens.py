"""Answer tokens: bound to dialogue and customer, expiring, unforgeable."""

from __future__ import annotations

import pytest

from friction.dialogue import tokens
from friction.errors import Forbidden, Gone

SECRET = b"test-secret"


def test_a_minted_token_checks_until_expiry() -> None:
    token = tokens.mint(SECRET, "dlg_1", "cus_1", 1_000)
    tokens.check(SECRET, token, "dlg_1", "cus_1", 999.0)
    with pytest.raises(Gone):
        tokens.check(SECRET, token, "dlg_1", "cus_1", 1_001.0)


@pytest.mark.parametrize(
    ("dialogue", "customer", "secret"),
    [("dlg_2", "cus_1", SECRET), ("dlg_1", "cus_2", SECRET), ("dlg_1", "cus_1", b"other")],
)
def test_a_token_is_bound_to_dialogue_customer_and_key(
    dialogue: str, customer: str, secret: bytes
) -> None:
    token = tokens.mint(SECRET, "dlg_1", "cus_1", 1_000)
    with pytest.raises(Forbidden):
        tokens.check(secret, token, dialogue, customer, 0.0)


@pytest.mark.parametrize("token", ["", "abc", "1000.", ".sig", "99999999999.sig"])
def test_malformed_or_extended_tokens_are_refused(token: str) -> None:
    with pytest.raises(Forbidden):
        tokens.check(SECRET, token, "dlg_1", "cus_1", 0.0)
