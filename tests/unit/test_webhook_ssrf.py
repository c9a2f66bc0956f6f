"""SSRF guard on verdict webhook URLs (issue 8, item 13, part): refused at start-up."""

from __future__ import annotations

import pytest

from friction.events.webhooks import check_callback_url

REFUSED = [
    "http://10.0.0.1/hook", "http://172.16.5.4/hook", "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://100.100.100.200/",
    "http://0.0.0.0/", "http://[::ffff:10.0.0.1]/", "http://[fe80::1]/", "http://224.0.0.1/",
    "http://127.0.0.1:9/", "http://[::1]/", "http://localhost/", "file:///etc/passwd",
    "gopher://93.184.216.34/", "http://user:pw@93.184.216.34/", "http:///nohost",
]  # fmt: skip


@pytest.mark.parametrize("url", REFUSED)
def test_private_link_local_metadata_and_odd_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"SSRF|http\(s\)|credentials"):
        check_callback_url(url)


def test_public_addresses_pass_and_loopback_only_when_allowed() -> None:
    check_callback_url("https://93.184.216.34/verdicts")
    check_callback_url("http://127.0.0.1:8081/verdicts", allow_loopback=True)
    with pytest.raises(ValueError, match="SSRF"):  # allowing loopback allows nothing else
        check_callback_url("http://10.1.2.3/verdicts", allow_loopback=True)
