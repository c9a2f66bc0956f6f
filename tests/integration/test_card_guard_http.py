"""The card guard over HTTP (issue 15, item 4): written card numbers in path, query and body.

The same generated card numbers as ``tests/unit/test_carddata_properties.py`` go to a real
service on loopback: in a path parameter, in a query string and in a body. Each is refused
with 422, nothing is stored, and no answer carries the digits back.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import orjson
from hypothesis import HealthCheck, given, settings
from yarl import URL

from friction.api.carddata import normalise
from tests.conftest import CANONICAL, Client
from tests.unit.test_carddata_properties import written_cards

# one service serves every example: the guard answers before any state is touched
SHARED_SERVICE = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def digits_of(text: str) -> str:
    return "".join(char for char in normalise(text) if char.isdigit())


@given(card=written_cards())
@SHARED_SERVICE
async def test_card_numbers_in_the_url_are_refused(client: Client, card: tuple[str, str]) -> None:
    pan, text = card
    encoded = quote(text, safe="")
    in_path = await client.get(URL(f"/v1/payments/{encoded}", encoded=True))
    assert in_path.status == 422  # an encoded "/" (%2F) stays inside the path parameter
    in_query = await client.get(URL(f"/v1/payments/pay_1?note={encoded}", encoded=True))
    assert in_query.status == 422
    assert (await in_query.json())["error"] == "card_data_rejected"
    for response in (in_path, in_query):
        assert pan not in digits_of(await response.text())


@given(card=written_cards())
@SHARED_SERVICE
async def test_card_numbers_in_a_body_are_refused(client: Client, card: tuple[str, str]) -> None:
    pan, text = card
    body = {**CANONICAL, "merchant": {**CANONICAL["merchant"], "name": text}}
    for raw in (orjson.dumps(body), json.dumps(body).encode()):  # UTF-8, then \\u escapes
        response = await client.post(
            "/v1/score", data=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status == 422
        answer = await response.json()
        assert answer["error"] == "card_data_rejected" and answer["fields"] == ["merchant.name"]
        assert pan not in digits_of(await response.text())
    lookup = await client.get(f"/v1/payments/{CANONICAL['payment_id']}")
    assert lookup.status == 404  # nothing was stored
