"""The simulator: same bytes per seed, valid payments, no card numbers, realistic fraud."""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from datetime import date, datetime
from ipaddress import ip_address, ip_network
from pathlib import Path
from statistics import median
from typing import Any

import pytest

from friction.cli.simulate import register
from friction.domain.payment import Payment
from friction.simulation import (
    FRAUD_SCENARIOS,
    SCENARIOS,
    SimConfig,
    read_stream,
    simulate,
    write_stream,
)
from friction.simulation.phones import UK_BLOCKS

SMALL = SimConfig(seed=5, days=3, customers=200)
DOC_NETS = [ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
# 13+ digits, optionally separated by single spaces or dashes, as a card number could be written.
DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){12,}")

Line = dict[str, Any]


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Line]]:
    """A 30-day run, large enough for every scenario and for stable statistics."""
    path = tmp_path_factory.mktemp("sim") / "month.jsonl"
    write_stream(SimConfig(seed=3, days=30, customers=500), path)
    return path, list(read_stream(path))


def _luhn_valid(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _pan_like(text: str) -> list[str]:
    """Every 13–19 digit Luhn-valid window inside any digit run of the text."""
    found = []
    for match in DIGIT_RUN.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        for size in range(13, 20):
            for start in range(len(digits) - size + 1):
                if _luhn_valid(digits[start : start + size]):
                    found.append(digits[start : start + size])
    return found


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    write_stream(SMALL, tmp_path / "a.jsonl")
    write_stream(SMALL, tmp_path / "b.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_different_seed_gives_a_different_stream(tmp_path: Path) -> None:
    write_stream(SMALL, tmp_path / "a.jsonl")
    write_stream(SMALL.model_copy(update={"seed": 6}), tmp_path / "b.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() != (tmp_path / "b.jsonl").read_bytes()


def test_read_stream_gives_back_what_simulate_yields(tmp_path: Path) -> None:
    summary = write_stream(SMALL, tmp_path / "s.jsonl")
    lines = list(read_stream(tmp_path / "s.jsonl"))
    assert lines == list(simulate(SMALL))
    assert summary.rows == len(lines)
    assert summary.by_scenario == {
        s: sum(1 for line in lines if line["truth"]["scenario"] == s) for s in SCENARIOS
    }


def test_every_payment_validates_and_ids_are_unique(month: tuple[Path, list[Line]]) -> None:
    _, lines = month
    payments = [Payment.model_validate(line["payment"]) for line in lines]
    assert len({p.payment_id for p in payments}) == len(payments)
    assert {p.channel for p in payments} == {"ecom", "pos", "transfer", "p2p"}
    assert all(p.merchant.terminal_id for p in payments)
    assert all((p.payee is not None) == (p.channel in ("transfer", "p2p")) for p in payments)


def test_stream_is_in_time_order_within_the_run(month: tuple[Path, list[Line]]) -> None:
    _, lines = month
    times = [datetime.fromisoformat(line["payment"]["occurred_at"]) for line in lines]
    assert times == sorted(times)
    assert times[0].date() >= date(2026, 11, 1)
    assert times[-1].date() <= date(2026, 11, 30)


def test_no_card_number_anywhere_in_the_file(month: tuple[Path, list[Line]]) -> None:
    path, _ = month
    text = path.read_text()
    assert _pan_like(text) == []
    assert _pan_like("card 4111 1111 1111 1111") == ["4111111111111111"]  # the check bites


def test_contact_details_are_fictional_and_unique(month: tuple[Path, list[Line]]) -> None:
    _, lines = month
    phones: dict[str, str] = {}
    for line in lines:
        customer = line["payment"]["customer"]
        phones.setdefault(customer["id"], customer["phone"])
        assert phones[customer["id"]] == customer["phone"]
        device = line["payment"].get("device")
        if device:
            assert any(ip_address(device["ip"]) in net for net in DOC_NETS)
    assert len(set(phones.values())) == len(phones)
    for phone in phones.values():
        assert phone.startswith(UK_BLOCKS) or re.fullmatch(r"\+1\d{3}55501\d{2}", phone)
    locales = {line["payment"]["customer"]["locale"] for line in lines}
    assert locales == {"en-GB", "en-US", "ar-AE", "fr-FR", "es-ES"}


def test_every_scenario_appears_in_a_month(month: tuple[Path, list[Line]]) -> None:
    _, lines = month
    seen = Counter(line["truth"]["scenario"] for line in lines)
    assert set(seen) == set(SCENARIOS)
    assert all(line["truth"]["fraud"] == (line["truth"]["scenario"] != "genuine") for line in lines)


def test_fraud_rate_is_in_the_designed_range(month: tuple[Path, list[Line]]) -> None:
    other = list(simulate(SimConfig(seed=1, days=30, customers=300)))
    for lines in (month[1], other):
        rate = sum(line["truth"]["fraud"] for line in lines) / len(lines)
        assert 0.005 <= rate <= 0.015


def test_fraud_rate_multiplier_scales_fraud(tmp_path: Path) -> None:
    config = SimConfig(seed=4, days=10, customers=300)
    none = write_stream(config.model_copy(update={"fraud_rate": 0.0}), tmp_path / "a.jsonl")
    base = write_stream(config, tmp_path / "b.jsonl")
    heavy = write_stream(config.model_copy(update={"fraud_rate": 4.0}), tmp_path / "c.jsonl")
    assert none.fraud == 0
    assert heavy.fraud > 2 * base.fraud > 0


def _by(lines: list[Line], *scenarios: str) -> list[Line]:
    return [line for line in lines if line["truth"]["scenario"] in scenarios]


def _share(lines: list[Line], key: str, value: object) -> float:
    return sum(1 for line in lines if line["truth"][key] == value) / len(lines)


def test_genuine_customers_mostly_confirm_within_minutes(month: tuple[Path, list[Line]]) -> None:
    genuine = _by(month[1], "genuine")
    assert 0.82 <= _share(genuine, "answer", "confirm") <= 0.90
    assert 0.10 <= _share(genuine, "answer", "none") <= 0.16
    delays = [
        line["truth"]["answer_delay_s"] for line in genuine if line["truth"]["answer_delay_s"]
    ]
    assert 30 <= median(delays) <= 180
    for line in genuine:
        truth = line["truth"]
        assert (truth["answer_delay_s"] is None) == (truth["answer"] == "none")


def test_card_fraud_victims_deny(month: tuple[Path, list[Line]]) -> None:
    victims = _by(
        month[1], "card_testing", "compromised_terminal", "account_takeover", "stolen_card"
    )
    assert _share(victims, "answer", "deny") >= 0.82


def test_scam_victims_confirm_unless_asked_the_scam_question(
    month: tuple[Path, list[Line]],
) -> None:
    scams = _by(month[1], "app_scam")
    assert _share(scams, "answer", "confirm") >= 0.8
    assert _share(scams, "answer_if_scam_question", "deny") >= 0.6
    assert all(line["payment"]["channel"] in ("transfer", "p2p") for line in scams)


def test_scam_question_only_applies_to_transfers(month: tuple[Path, list[Line]]) -> None:
    for line in month[1]:
        truth, channel = line["truth"], line["payment"]["channel"]
        if channel in ("ecom", "pos"):
            assert truth["answer_if_scam_question"] is None
        elif truth["scenario"] != "app_scam":
            assert truth["answer_if_scam_question"] == truth["answer"]


def test_card_testing_is_bursts_of_tiny_payments(month: tuple[Path, list[Line]]) -> None:
    tests = _by(month[1], "card_testing")
    tiny = [line for line in tests if line["payment"]["amount"]["value"] < 300]
    assert len(tiny) / len(tests) >= 0.8
    assert all(line["payment"]["channel"] == "ecom" for line in tests)
    per_customer = Counter(line["payment"]["customer"]["id"] for line in tiny)
    assert max(per_customer.values()) >= 4


def test_compromised_terminal_days_are_mostly_fraud(month: tuple[Path, list[Line]]) -> None:
    total: Counter[tuple[str, str]] = Counter()
    bad: Counter[tuple[str, str]] = Counter()
    for line in month[1]:
        key = (line["payment"]["merchant"]["terminal_id"], line["payment"]["occurred_at"][:10])
        total[key] += 1
        bad[key] += line["truth"]["scenario"] == "compromised_terminal"
    days = [key for key in bad if bad[key]]
    assert sum(bad[k] for k in days) / sum(total[k] for k in days) >= 0.6
    assert len(days) >= 2


def test_takeover_and_scam_differ_in_device(month: tuple[Path, list[Line]]) -> None:
    devices: defaultdict[str, set[str]] = defaultdict(set)
    for line in _by(month[1], "genuine"):
        if device := line["payment"].get("device"):
            devices[line["payment"]["customer"]["id"]].add(device["id"])

    def known(line: Line) -> bool:
        return line["payment"]["device"]["id"] in devices[line["payment"]["customer"]["id"]]

    assert not any(known(line) for line in _by(month[1], "account_takeover"))
    assert all(known(line) for line in _by(month[1], "app_scam"))


def test_fraud_is_larger_than_the_customers_habit(month: tuple[Path, list[Line]]) -> None:
    spend: defaultdict[str, list[int]] = defaultdict(list)
    for line in _by(month[1], "genuine"):
        spend[line["payment"]["customer"]["id"]].append(line["payment"]["amount"]["value"])

    def ratio(line: Line) -> float:
        habit = spend[line["payment"]["customer"]["id"]] or [1]
        return float(line["payment"]["amount"]["value"] / median(habit))

    for scenario in ("account_takeover", "app_scam", "stolen_card"):
        assert median(ratio(line) for line in _by(month[1], scenario)) > 3


def test_genuine_nights_are_quiet_and_card_testing_is_not(month: tuple[Path, list[Line]]) -> None:
    def night_share(lines: list[Line]) -> float:
        hours = [int(line["payment"]["occurred_at"][11:13]) for line in lines]
        return sum(1 for h in hours if h < 5) / len(hours)

    gb = [
        line
        for line in _by(month[1], "genuine")
        if line["payment"]["customer"]["locale"] == "en-GB"
    ]
    assert night_share(gb) < 0.06
    assert night_share(_by(month[1], "card_testing")) > 2 * night_share(gb)


def test_every_fraud_scenario_is_registered() -> None:
    assert set(FRAUD_SCENARIOS) | {"genuine"} == set(SCENARIOS)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="friction")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def test_cli_writes_the_stream_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "deep" / "sim.jsonl"
    args = _parser().parse_args(
        ["simulate", "--out", str(out), "--days", "2", "--customers", "50", "--seed", "9",
         "--start", "2026-01-05"]
    )  # fmt: skip
    assert args.func(args) == 0
    lines = list(read_stream(out))
    assert lines[0]["payment"]["occurred_at"].startswith("2026-01-0")
    assert "genuine" in capsys.readouterr().out


def test_cli_rejects_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["simulate", "--out", str(tmp_path / "x"), "--days", "0"])
    assert args.func(args) == 2
    assert "--days" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_cli_help_names_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["simulate", "--help"])
    text = capsys.readouterr().out
    for option in ("--out", "--days", "--customers", "--seed", "--start", "--fraud-rate"):
        assert option in text
