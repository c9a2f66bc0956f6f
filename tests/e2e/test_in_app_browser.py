"""The in-app reference page in headless Chromium: a customer answers, the verdict lands.

The service runs in this event loop on 127.0.0.1; Chromium (Debian's, driven by the
``playwright`` package — its own browser downloads are never used) opens
``/app/?customer=…``, receives the prompt over server-sent events and clicks.
Set ``FRICTION_SCREENSHOTS=<dir>`` to also save the prompts as PNGs (README pictures;
``scripts/screenshots.py`` does it with the right window size).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from friction.settings import Settings
from tests.conftest import PRODUCTION_SECRETS, Client
from tests.dialogues import StartApp, challenge, label_events, payment, settled, transfer

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

PHONE_VIEWPORT = {"width": 390, "height": 640}

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]


@pytest.fixture
def in_app(make_settings: Callable[..., Settings]) -> Settings:
    """Challenge everything, ask in the app only."""
    return make_settings(challenge_at=0.0, default_channels=["in_app"])


async def open_page(browser: Browser, client: Client, customer: str) -> tuple[Page, list[str]]:
    """A phone-sized page of the app for ``customer``, and the errors it logs (want none)."""
    page = await browser.new_page(viewport=PHONE_VIEWPORT)  # type: ignore[arg-type]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_default_timeout(10_000)
    await page.goto(str(client.make_url(f"/app/?customer={customer}")))
    return page, errors


async def question(page: Page, contains: str) -> str:
    """Wait for the prompt card to show a question containing ``contains``."""
    card = page.locator("#prompt")
    await card.locator("#question", has_text=contains).wait_for(state="visible")
    return await page.locator("#question").inner_text()


async def shoot(page: Page, name: str) -> None:
    target = os.environ.get("FRICTION_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(target) / name), full_page=True)


async def test_english_prompt_yes_releases(
    in_app: Settings, start_app: StartApp, browser: Browser
) -> None:
    client = await start_app(in_app)
    page, errors = await open_page(browser, client, "cus_42")
    await page.locator("#status").get_by_text("No questions right now.").wait_for()
    await challenge(client, payment("pay_web_en"))

    text = await question(page, "ACME Electronics")
    assert "Did you just pay" in text and "4242" in text
    assert await page.locator("html").get_attribute("dir") == "ltr"
    assert await page.locator("#question bdi").all_inner_texts() == ["ACME Electronics"]
    assert await page.locator("#yes").inner_text() == "Yes"
    await shoot(page, "in-app-en.png")
    await page.locator("#yes").click()

    await page.locator("#result[data-verdict='released']").wait_for(state="visible")
    assert await settled(client, "pay_web_en") == "released"
    assert errors == []
    await client.close()
    assert [e.label for e in label_events(in_app.data_dir, "pay_web_en")] == ["genuine"]


async def test_arabic_prompt_is_rtl_and_no_blocks(
    in_app: Settings, start_app: StartApp, browser: Browser
) -> None:
    client = await start_app(in_app)
    await challenge(client, payment("pay_web_ar", locale="ar-AE"))
    page, errors = await open_page(browser, client, "cus_42")  # the prompt is already waiting

    text = await question(page, "ACME Electronics")
    assert "هل دفعت" in text and "٤٢٤٢" in text  # Eastern Arabic digits, last 4 only
    assert await page.locator("html").get_attribute("dir") == "rtl"
    assert await page.locator("#prompt").get_attribute("dir") == "rtl"
    direction = await page.locator("#question").evaluate("e => getComputedStyle(e).direction")
    assert direction == "rtl"
    assert await page.locator("#question bdi").all_inner_texts() == ["ACME Electronics"]
    assert (await page.locator("#yes").inner_text(), await page.locator("#no").inner_text()) == (
        "نعم",
        "لا",
    )
    await shoot(page, "in-app-ar.png")
    await page.locator("#no").click()

    await page.locator("#result[data-verdict='blocked']").wait_for(state="visible")
    assert await settled(client, "pay_web_ar") == "blocked"
    assert errors == []


async def test_new_payee_asks_the_scam_question_in_the_page(
    in_app: Settings, start_app: StartApp, browser: Browser
) -> None:
    client = await start_app(in_app)
    await challenge(client, transfer("pay_web_tx", locale="fr-FR"))
    page, errors = await open_page(browser, client, "cus_42")

    await question(page, "J. Smith")
    assert await page.locator("#yes").inner_text() == "Oui"
    await page.locator("#yes").click()
    await question(page, "Quelqu'un")  # the scam question, pushed on the stream
    await page.locator("#no").click()

    await page.locator("#result[data-verdict='released']").wait_for(state="visible")
    assert await settled(client, "pay_web_tx") == "released"
    assert errors == []


async def test_talk_to_a_person_sends_to_review(
    in_app: Settings, start_app: StartApp, browser: Browser
) -> None:
    client = await start_app(in_app)
    await challenge(client, payment("pay_web_human", locale="es-ES"))
    page, errors = await open_page(browser, client, "cus_42")

    await question(page, "ACME Electronics")
    await page.locator("#human").click()

    await page.locator("#result[data-verdict='review']").wait_for(state="visible")
    assert await settled(client, "pay_web_human") == "review"
    assert errors == []
    await client.close()
    assert label_events(in_app.data_dir, "pay_web_human") == []  # a person decides


async def test_with_tenants_the_page_answers_with_the_customers_session_only(
    make_settings: Callable[..., Settings], start_app: StartApp, browser: Browser
) -> None:
    keys = {"acme": "key-acme-0123456789", "globex": "key-globex-9876543210"}
    settings = make_settings(
        api_keys=keys, challenge_at=0.0, default_channels=["in_app"], **PRODUCTION_SECRETS
    )
    client = await start_app(settings)
    for tenant, amount in (("acme", 42000), ("globex", 1200)):  # same ids at both tenants
        scored = await client.post(
            "/v1/score",
            json=payment("pay_web_t", amount={"value": amount, "currency": "EUR"}),
            headers={"Authorization": f"Bearer {keys[tenant]}"},
        )
        assert (await scored.json())["decision"] == "challenge"

    # no session: the page says so and shows nothing
    page, errors = await open_page(browser, client, "cus_42")
    await page.locator("#status").get_by_text("This session has ended").wait_for()
    assert await page.locator("#prompt").is_hidden()

    made = await client.post(
        "/v1/customers/cus_42/sessions", headers={"Authorization": f"Bearer {keys['acme']}"}
    )
    token = (await made.json())["token"]
    page, errors = await open_page(browser, client, f"cus_42#session={token}")
    text = await question(page, "ACME Electronics")
    assert "420.00" in text  # acme's payment, not globex's EUR 12.00
    assert token not in page.url  # the token left the address bar at once
    await page.locator("#yes").click()
    await page.locator("#result[data-verdict='released']").wait_for(state="visible")
    acme = await client.get(
        "/v1/payments/pay_web_t", headers={"Authorization": f"Bearer {keys['acme']}"}
    )
    globex = await client.get(
        "/v1/payments/pay_web_t", headers={"Authorization": f"Bearer {keys['globex']}"}
    )
    assert (await acme.json())["verdict"] == "released"
    assert (await globex.json())["verdict"] == "pending"
    assert [e for e in errors if "401" not in e] == []


async def reviews(client: Client) -> list[tuple[str, str]]:
    found = await (await client.get("/v1/reviews")).json()
    return [(item["payment_id"], item["reason"]) for item in found["items"]]


async def test_after_a_no_the_page_offers_a_person_who_looks_again(
    in_app: Settings, start_app: StartApp, browser: Browser
) -> None:
    client = await start_app(in_app)
    await challenge(client, payment("pay_web_no"))
    page, errors = await open_page(browser, client, "cus_42")
    await question(page, "ACME Electronics")
    await page.locator("#no").click()

    await page.locator("#result[data-verdict='blocked']").wait_for(state="visible")
    assert "stopped this payment" in await page.locator("#result-text").inner_text()
    contest = page.locator("#contest")
    await contest.wait_for(state="visible")
    assert await contest.inner_text() == "Talk to a person"
    await contest.click()
    await page.locator("#result-text", has_text="will contact you").wait_for()
    assert await contest.is_hidden()
    assert await reviews(client) == [("pay_web_no", "contest")]
    assert await settled(client, "pay_web_no") == "blocked"  # until the analyst decides
    assert errors == []


async def test_a_declined_payment_is_told_in_the_app_and_contested_there(
    make_settings: Callable[..., Settings], start_app: StartApp, browser: Browser
) -> None:
    settings = make_settings(challenge_at=0.0, decline_at=0.0, default_channels=["in_app"])
    client = await start_app(settings)
    page, errors = await open_page(browser, client, "cus_42")
    await page.locator("#status").get_by_text("No questions right now.").wait_for()
    scored = await client.post("/v1/score", json=payment("pay_web_declined", locale="fr-FR"))
    assert (await scored.json())["decision"] == "decline"

    told = page.locator("#result-text", has_text="Nous avons refusé votre paiement")
    await told.wait_for(state="visible")  # pushed: the notice wakes the app's stream
    assert "ACME Electronics" in await told.inner_text()
    await shoot(page, "in-app-declined-fr.png")
    await page.locator("#contest", has_text="Parler à une personne").click()
    await page.locator("#result-text", has_text="Un conseiller vous contactera").wait_for()
    assert await reviews(client) == [("pay_web_declined", "contest")]
    assert errors == []
