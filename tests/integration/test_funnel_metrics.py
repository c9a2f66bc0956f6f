"""The dialogue funnel on ``/metrics``: per state, channel and language, and time to answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from friction.settings import Settings
from tests.conftest import Client
from tests.dialogues import FakeSms, StartApp, challenge, eventually, payment, settled
from tests.dialogues import start_sms_service as start

# 60 s: the first test also pays for the session fixtures (a tiny model is trained).
pytestmark = pytest.mark.timeout(60)


def customer_payment(n: int, locale: str) -> dict[str, Any]:
    body = payment(f"pay_funnel_{n}")
    body["customer"] = {"id": f"cus_f{n}", "phone": f"+44770091{n:04d}", "locale": locale}
    return body


async def samples(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample on /metrics, keyed by name and sorted labels."""
    text = await (await client.get("/metrics")).text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def dialogues(state: str, channel: str, language: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    labels = {"state": state, "channel": channel, "language": language}
    return "friction_dialogues_total", tuple(sorted(labels.items()))


async def test_funnel_counts_every_stage_by_channel_and_language(
    fake_sms: FakeSms, start_app: StartApp, make_settings: Callable[..., Settings]
) -> None:
    client, _ = await start(start_app, fake_sms, make_settings, dialogue_ttl_seconds=1.0)
    for n, locale in ((1, "en-GB"), (2, "ar-AE"), (3, "fr-FR")):
        await challenge(client, customer_payment(n, locale))

    async def all_delivered() -> bool:
        found = await samples(client)
        return all(found.get(dialogues("delivered", "sms", lang), 0) for lang in ("en", "ar", "fr"))

    await eventually(all_delivered)
    await fake_sms.reply("maybe", sender="+447700910001")  # en: re-asked…
    await fake_sms.reply("yes", sender="+447700910001")  # …then answered
    await fake_sms.reply("STOP", sender="+447700910002")  # ar: opted out
    assert await settled(client, "pay_funnel_3") == "review"  # fr: no answer, a person decides

    found = await samples(client)
    expected = {
        ("created", "en"): 1, ("sent", "en"): 1, ("delivered", "en"): 1,
        ("reasked", "en"): 1, ("answered", "en"): 1, ("confirmed", "en"): 1,
        ("sent", "ar"): 1, ("delivered", "ar"): 1, ("opted_out", "ar"): 1,
        ("sent", "fr"): 1, ("delivered", "fr"): 1, ("expired", "fr"): 1,
    }  # fmt: skip
    counted = {key: found.get(dialogues(key[0], "sms", key[1])) for key in expected}
    assert counted == expected
    answered = ("friction_dialogue_answer_seconds_count", (("channel", "sms"), ("language", "en")))
    assert found[answered] == 1.0
