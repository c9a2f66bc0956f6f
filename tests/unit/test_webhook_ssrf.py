"""SSRF guard on verdict webhook URLs (issue 8 item 13, issue 15 item 5): refused at start-up.

Every standard way an IPv6 address embeds an IPv4 one is judged by the IPv4 inside.
"""

from __future__ import annotations

import pytest

from friction.events.webhooks import CallbackRefused, check_callback_url

REFUSED = [
    "http://10.0.0.1/hook", "http://172.16.5.4/hook", "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://100.100.100.200/",
    "http://0.0.0.0/", "http://[::ffff:10.0.0.1]/", "http://[fe80::1]/", "http://224.0.0.1/",
    "http://127.0.0.1:9/", "http://[::1]/", "http://localhost/", "file:///etc/passwd",
    "gopher://93.184.216.34/", "http://user:pw@93.184.216.34/", "http:///nohost",
    # IPv4 inside IPv6 (issue 15, item 5): NAT64, 6to4, IPv4-compatible, IPv4-translated,
    # IPv4-mapped, Teredo, the local-use NAT64 prefix
    "http://[64:ff9b::a9fe:a9fe]/", "http://[64:ff9b::10.0.0.1]/", "http://[64:ff9b::7f00:1]/",
    "http://[2002:a9fe:a9fe::]/", "http://[2002:c0a8:0101::1]/", "http://[2002:7f00:1::]/",
    "http://[::127.0.0.1]/", "http://[::169.254.169.254]/", "http://[::10.0.0.1]/",
    "http://[::ffff:0:a9fe:a9fe]/", "http://[::ffff:0:7f00:1]/", "http://[::ffff:a9fe:a9fe]/",
    "http://[::ffff:169.254.169.254]/", "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://[64:ff9b:1::5db8:d822]/",
    # legacy IPv4 spellings resolve to loopback
    "http://0x7f000001/", "http://2130706433/", "http://127.1/", "http://017700000001/",
]  # fmt: skip


@pytest.mark.parametrize("url", REFUSED)
def test_private_link_local_metadata_and_odd_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"SSRF|http\(s\)|credentials"):
        check_callback_url(url)


@pytest.mark.parametrize(
    "url",
    ["http://[64:ff9b::5db8:d822]/", "http://[2002:5db8:d822::1]/", "http://[2606:4700::1111]/"],
)
def test_public_ipv4_inside_ipv6_passes(url: str) -> None:
    check_callback_url(url)  # NAT64 and 6to4 of 93.184.216.34, a plain global IPv6


@pytest.mark.parametrize(
    "url", ["http://[64:ff9b::7f00:1]/", "http://[::127.0.0.1]/", "http://[2002:7f00:1::]/"]
)
def test_allowing_loopback_allows_no_embedded_loopback(url: str) -> None:
    """Only loopback itself (127/8, ::1, ::ffff:127.x) is what the setting allows."""
    with pytest.raises(CallbackRefused, match="SSRF"):
        check_callback_url(url, allow_loopback=True)


def test_a_refusal_names_the_settings_to_change() -> None:
    with pytest.raises(CallbackRefused) as refused:
        check_callback_url("http://127.0.0.1:8081/verdicts")
    message = str(refused.value)
    assert "\n" not in message
    assert "FRICTION_GATEWAY_CALLBACK_URL" in message
    assert "FRICTION_WEBHOOK_ALLOW_LOOPBACK=true" in message


def test_public_addresses_pass_and_loopback_only_when_allowed() -> None:
    check_callback_url("https://93.184.216.34/verdicts")
    check_callback_url("http://127.0.0.1:8081/verdicts", allow_loopback=True)
    with pytest.raises(ValueError, match="SSRF"):  # allowing loopback allows nothing else
        check_callback_url("http://10.1.2.3/verdicts", allow_loopback=True)
