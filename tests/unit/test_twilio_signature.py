"""Twilio webhook signatures: Twilio's published vectors, then every way to forge one."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from friction.dialogue.twilio_signature import sign, verify

# Twilio's own test vector (twilio-python tests/unit/test_request_validator.py, the same
# URL, token and params as in Twilio's security docs).
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="

# Twilio's published SMS vector (twilio-ruby spec/util/request_validator_spec.rb).
SMS_TOKEN = "2bd9e9638872de601313dc77410d3b23"
SMS_URL = "http://twiliotests.heroku.com/validate/sms"
SMS_PARAMS = {
    "ToState": "CA",
    "FromState": "CA",
    "AccountSid": "ACba8bc05eacf94afdae398e642c9cc32d",
    "SmsMessageSid": "SM2003cbd5e6a3701999aa3e5f20ff2787",
    "Body": "Orly",
    "From": "+14159354345",
    "FromCity": "SAN FRANCISCO",
    "SmsStatus": "received",
    "FromZip": "94107",
    "FromCountry": "US",
    "To": "+14158141819",
    "ToCity": "SAN FRANCISCO",
    "ToZip": "94105",
    "ToCountry": "US",
    "ApiVersion": "2010-04-01",
    "SmsSid": "SM2003cbd5e6a3701999aa3e5f20ff2787",
}
SMS_EXPECTED = "mxeiv65lEe0b8L6LdVw2jgJi8yw="


def test_published_vector_signs_and_verifies() -> None:
    assert sign(URL, PARAMS, TOKEN) == EXPECTED
    assert verify(URL, PARAMS, EXPECTED, TOKEN)


def test_published_sms_vector_verifies() -> None:
    assert sign(SMS_URL, SMS_PARAMS, SMS_TOKEN) == SMS_EXPECTED
    assert verify(SMS_URL, SMS_PARAMS, SMS_EXPECTED, SMS_TOKEN)


def test_a_signature_guessed_from_old_docs_is_rejected() -> None:
    # A value that circulates for this vector but is not what Twilio computes.
    assert not verify(URL, PARAMS, "GvWf1cFY/Q7PnoempGyD5oXAezc=", TOKEN)


def test_field_order_does_not_matter() -> None:
    """Twilio sorts fields by name before signing: order is not part of the signature."""
    assert verify(URL, dict(reversed(list(PARAMS.items()))), EXPECTED, TOKEN)


def test_multidict_body_as_aiohttp_parses_it() -> None:
    assert verify(URL, MultiDict(PARAMS), EXPECTED, TOKEN)


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({**PARAMS, "Digits": "9999"}, id="tampered-value"),
        pytest.param({**PARAMS, "Body": "YES"}, id="added-field"),
        pytest.param({k: v for k, v in PARAMS.items() if k != "Digits"}, id="removed-field"),
        pytest.param({**PARAMS, "From": PARAMS["To"], "To": PARAMS["From"]}, id="swapped-values"),
        pytest.param({**PARAMS, "digits": PARAMS["Digits"]}, id="renamed-field-case"),
        pytest.param({**PARAMS, "Digits": "1234 "}, id="trailing-space"),
    ],
)
def test_changed_body_is_rejected(params: dict[str, str]) -> None:
    assert not verify(URL, params, EXPECTED, TOKEN)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(URL.replace("https://", "http://"), id="wrong-scheme"),
        pytest.param(URL.replace(".com/", ".com:8443/").replace("https", "http"), id="http-port"),
        pytest.param(URL.replace("foo=1", "foo=2"), id="query-changed"),
        pytest.param(URL.replace("myapp.php", "other.php"), id="path-changed"),
        pytest.param(URL.replace("mycompany.com", "evil.example"), id="host-changed"),
        pytest.param(URL.split("?")[0], id="query-dropped"),
    ],
)
def test_signature_for_another_url_is_rejected(url: str) -> None:
    assert not verify(url, PARAMS, EXPECTED, TOKEN)


def test_wrong_port_is_rejected() -> None:
    """Signed for one port, checked against another: both explicit, so no tolerance applies."""
    signed_for = "http://127.0.0.1:8080/webhooks/twilio/sms"
    signature = sign(signed_for, PARAMS, TOKEN)
    assert verify(signed_for, PARAMS, signature, TOKEN)
    assert not verify(signed_for.replace(":8080", ":8081"), PARAMS, signature, TOKEN)


def test_default_port_spelled_or_not_is_the_same_url() -> None:
    """Twilio's documented tolerance: ``https://host/`` and ``https://host:443/`` are equal."""
    with_port = URL.replace(".com/", ".com:443/")
    assert verify(with_port, PARAMS, EXPECTED, TOKEN)
    assert verify(URL, PARAMS, sign(with_port, PARAMS, TOKEN), TOKEN)


@pytest.mark.parametrize("token", ["54321", "", "12345 ", "1234"])
def test_wrong_token_is_rejected(token: str) -> None:
    assert not verify(URL, PARAMS, EXPECTED, token)


@pytest.mark.parametrize(
    "signature",
    [None, "", " ", EXPECTED.lower(), EXPECTED[:-1], EXPECTED + "=", "é" * 28, "\x00" * 28],
)
def test_missing_or_mangled_header_is_rejected(signature: str | None) -> None:
    assert not verify(URL, PARAMS, signature, TOKEN)


def test_unicode_body_round_trips() -> None:
    """Arabic and French replies are signed over their UTF-8 text."""
    params = {"Body": "نعم", "From": "+33612345678", "Note": "déjà"}
    url = "https://friction.example/webhooks/twilio/sms"
    assert verify(url, params, sign(url, params, TOKEN), TOKEN)
    assert not verify(url, {**params, "Body": "لا"}, sign(url, params, TOKEN), TOKEN)
