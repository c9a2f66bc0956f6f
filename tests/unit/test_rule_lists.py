"""Lists: values checked and normalised per kind, membership with ranges, CIDRs and expiry,
CSV uploads that report every bad row (friction.rules.lists, friction.rules.matching)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from friction.api.carddata import contains_pan
from friction.errors import CardDataRejected, InvalidInput
from friction.rules import EntryBody, ListEntry, Matcher, RuleList, make_entry, normalise, parse_csv

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T = NOW.timestamp()


def entry(value: str, expires_at: datetime | None = None) -> ListEntry:
    return ListEntry(
        value=value, reason="test", added_by="analyst", added_at=NOW, expires_at=expires_at
    )


@pytest.mark.parametrize(
    ("kind", "given", "stored"),
    [
        ("bin", " 411111 ", "411111"),
        ("bin", "4111", "4111"),
        ("bin", "411111-411199", "411111-411199"),
        ("bin", "411111-411111", "411111"),
        ("ip", "10.0.0.0/8", "10.0.0.0/8"),
        ("ip", "10.1.2.3", "10.1.2.3"),
        ("ip", "10.1.2.3/32", "10.1.2.3"),
        ("ip", "2001:DB8::/32", "2001:db8::/32"),
        ("ip", "::ffff:10.0.0.0/104", "10.0.0.0/8"),
        ("email_domain", "Mailinator.COM", "mailinator.com"),
        ("email_domain", "someone@Example.org.", "example.org"),
        ("email_domain", "bücher.example", "xn--bcher-kva.example"),
        ("country", "gb", "GB"),
        ("instrument", "tok_ABC.1", "tok_ABC.1"),
        ("customer", "cus_42", "cus_42"),
        ("device", "dev:7", "dev:7"),
        ("merchant", "mer-9", "mer-9"),
    ],
)
def test_values_are_normalised_per_kind(kind: str, given: str, stored: str) -> None:
    assert normalise(kind, given) == stored  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "given", "says"),
    [
        ("bin", "41x111", "is not a BIN"),
        ("bin", "411111999", "is not a BIN"),
        ("bin", "411199-411111", "low end first"),
        ("bin", "41111-411199", "as many digits"),
        ("ip", "10.1.2.3/8", "host bits set"),
        ("ip", "300.1.1.1", "not an IP address or CIDR"),
        ("email_domain", "localhost", "not a domain name"),
        ("email_domain", "-bad-.com", "not a domain name"),
        ("country", "GBR", "ISO 3166 alpha-2"),
        ("customer", "has space", "not a customer id"),
        ("merchant", "x" * 65, "not a merchant id"),
    ],
)
def test_bad_values_get_a_clear_error_naming_the_problem(kind: str, given: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise(kind, given)  # type: ignore[arg-type]
    assert says in caught.value.message
    assert caught.value.fields == ["value"] and caught.value.status == 422


def test_bin_entries_cover_prefixes_ranges_and_longer_bins() -> None:
    matcher = Matcher("bin", [entry("411111-411199"), entry("52"), entry("41111122")])
    covered = ["411150", "41115099", "411199", "520000", "52999999", "41111122"]
    missed = ["411110", "411200", "530000", "4111", "41x111", ""]
    assert all(matcher.contains(b, T) for b in covered)
    assert not any(matcher.contains(b, T) for b in missed)
    assert Matcher("bin", [entry("41111122")]).contains("411111", T) is False  # 8 digits, 6 known


def test_cidrs_v4_and_v6_and_addresses() -> None:
    matcher = Matcher(
        "ip", [entry("10.0.0.0/8"), entry("192.168.1.1"), entry("2001:db8::/32"), entry("::1")]
    )
    assert all(
        matcher.contains(ip, T)
        for ip in [
            "10.0.0.0",
            "10.255.255.255",
            "192.168.1.1",
            "2001:db8::1",
            "::1",
            "::ffff:10.9.9.9",
        ]
    )
    assert not any(
        matcher.contains(ip, T)
        for ip in ["11.0.0.0", "9.255.255.255", "192.168.1.2", "2001:db9::1", "::2", "junk", ""]
    )


def test_overlapping_ranges_take_the_latest_expiry() -> None:
    soon, later = NOW + timedelta(hours=1), NOW + timedelta(days=2)
    matcher = Matcher("ip", [entry("10.0.0.0/8", soon), entry("10.1.0.0/16", later)])
    in_both, outer_only = "10.1.2.3", "10.2.0.1"
    assert matcher.contains(in_both, T) and matcher.contains(outer_only, T)
    two_hours = T + 7200
    assert matcher.contains(in_both, two_hours) and not matcher.contains(outer_only, two_hours)
    assert not matcher.contains(in_both, T + 3 * 86400)


def test_expired_entries_are_ignored_without_a_rebuild() -> None:
    matcher = Matcher(
        "customer",
        [entry("cus_1", NOW + timedelta(minutes=5)), entry("cus_2"), entry("cus_3", NOW)],
    )
    assert matcher.contains("cus_1", T) and matcher.contains("cus_2", T)
    assert not matcher.contains("cus_3", T)  # expires at NOW: no longer live
    assert not matcher.contains("cus_1", T + 301) and matcher.contains("cus_2", T + 10**9)


def test_domains_cover_subdomains_and_addresses_and_countries_any_case() -> None:
    domains = Matcher("email_domain", [entry("mailinator.com")])
    assert domains.contains("x@mailinator.com", T) and domains.contains("a.b.mailinator.com", T)
    assert not domains.contains("mailinator.co", T) and not domains.contains("com", T)
    assert Matcher("country", [entry("NG")]).contains("ng", T)


def test_entries_from_the_api_and_their_expiry() -> None:
    body = EntryBody(value=" 411111-411199 ", reason="card testing ring", expires_at=None)
    made = make_entry("bin", body, "analyst@bank", NOW)
    assert (made.value, made.added_by, made.added_at, made.live_at(NOW)) == (
        "411111-411199",
        "analyst@bank",
        NOW,
        True,
    )
    past = EntryBody(value="411111", reason="x", expires_at=NOW - timedelta(seconds=1))
    with pytest.raises(InvalidInput, match="expires_at is in the past"):
        make_entry("bin", past, "a", NOW)
    with pytest.raises(ValidationError):
        EntryBody(value="411111", reason="", expires_at=None)  # a reason is required
    with pytest.raises(ValidationError):
        EntryBody.model_validate({"value": "1", "reason": "r", "expires_at": "2026-04-01T00:00:00"})


def test_only_kinds_with_a_payment_field_can_be_allow_or_block_lists() -> None:
    assert RuleList(name="stolen_cards", kind="instrument", action="decline").action == "decline"
    with pytest.raises(ValidationError, match="read it in a rule instead"):
        RuleList(name="disposable", kind="email_domain", action="decline")
    with pytest.raises(ValidationError):
        RuleList(name="Risky-Bins", kind="bin")  # not a CEL identifier: lists.Risky-Bins


def test_csv_reports_every_bad_row_with_its_line_and_adds_nothing() -> None:
    text = (
        "value,reason,expires_at\n"
        "411111,ring A,\n"
        "41x,ring B,\n"
        "\n"
        "411111-411199,ring C,2020-01-01T00:00:00Z\n"
        "411111,again,\n"
        "522222,,\n"
        "533333,ring D,2026-05-01T00:00:00\n"
    )
    with pytest.raises(InvalidInput) as caught:
        parse_csv(text, "bin", "analyst", NOW, rejects_card_data=contains_pan)
    message = caught.value.message
    assert caught.value.fields == ["line 3", "line 5", "line 6", "line 7", "line 8"]
    assert "5 bad row(s), nothing was added" in message
    assert "line 3: '41x' is not a BIN" in message
    assert "line 5: expires_at is in the past" in message
    assert "line 6: '411111' repeats line 2" in message
    assert "line 7: reason" in message and "line 8: expires_at" in message


def test_csv_good_file_and_header_errors() -> None:
    text = "\ufeffvalue,reason,expires_at\n10.0.0.0/8,botnet,2026-06-01T00:00:00+00:00\n::1,lab,\n"
    entries = parse_csv(text, "ip", "analyst", NOW, rejects_card_data=contains_pan)
    assert [(e.value, e.expires_at) for e in entries] == [
        ("10.0.0.0/8", datetime(2026, 6, 1, tzinfo=UTC)),
        ("::1", None),
    ]
    for header in ("val,reason\n1,x\n", "value,reason,colour\n1,x,red\n", ""):
        with pytest.raises(InvalidInput, match="CSV header must be value,reason,expires_at"):
            parse_csv(header, "ip", "analyst", NOW, rejects_card_data=contains_pan)


def test_csv_with_a_card_number_is_refused_without_echoing_it() -> None:
    pan = "4539578763621486"
    text = f"value,reason\ntok_1,ok\n{pan},oops\n"
    with pytest.raises(CardDataRejected) as caught:
        parse_csv(text, "instrument", "analyst", NOW, rejects_card_data=contains_pan)
    assert caught.value.fields == ["line 3"] and pan not in caught.value.message
