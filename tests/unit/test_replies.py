"""Reply parsing against a table of real-world replies in English, Arabic, French and Spanish.

Each row is a reply as a customer might send it, with the meaning and the reference code
we must read from it. Both answers can move money (YES releases a card payment, NO to the
scam question releases a transfer), so anything we cannot read for sure is ``unclear``.
"""

from __future__ import annotations

import pytest

from friction.dialogue.replies import MAX_REPLY_CHARS, MAX_REPLY_WORDS, parse_reply
from friction.dialogue.templates import render
from friction.domain.dialogue import Intent, Reply

Y, N, STOP, START = Intent.YES, Intent.NO, Intent.STOP, Intent.START
HELP, HUMAN, UNCLEAR = Intent.HELP, Intent.HUMAN, Intent.UNCLEAR

Row = tuple[str, Intent] | tuple[str, Intent, str]

REPLIES: list[Row] = [
    # --- English: yes --------------------------------------------------------
    ("YES", Y),
    ("yes", Y),
    ("Yes.", Y),
    ("  yes  ", Y),
    ("Yes!!!", Y),
    ("yesss", Y),
    ("YESSSS", Y),
    ("Y", Y),
    ("yeah", Y),
    ("Yep", Y),
    ("yup 👍", Y),
    ("ok", Y),
    ("okk", Y),
    ("k", Y),
    ("sure", Y),
    ("Correct", Y),
    ("it was me", Y),
    ("Yes it was me", Y),
    ("yes, that was me, thanks", Y),
    ("That's me", Y),
    ("yes please", Y),
    ("Yes I made that payment", Y),
    ("yes 😊", Y),
    ("ＹＥＳ", Y),
    ("👍", Y),
    ("👍🏽", Y),
    ("✅", Y),
    ("✔️", Y),
    # --- English: no ---------------------------------------------------------
    ("NO", N),
    ("no", N),
    ("No!", N),
    ("n", N),
    ("nope", N),
    ("Nooooo", N),
    ("not me", N),
    ("It wasn't me", N),
    ("it wasn’t me", N),
    ("No, I didn't", N),
    ("I did not make this", N),
    ("do not pay", N),
    ("no thanks", N),
    ("I don't think so", N),
    ("👎", N),
    ("❌", N),
    ("No one asked me", N),
    ("nobody", N),
    # --- Arabic ----------------------------------------------------------------
    ("نعم", Y),
    ("نعم.", Y),
    ("ايوه", Y),
    ("أيوه", Y),
    ("ايوة", Y),
    ("آه", Y),
    ("تمام", Y),
    ("نَعَم", Y),
    ("نعم شكرا", Y),
    ("نعم، هذا أنا", Y),
    ("aywa", Y),
    ("لا", N),
    ("لأ", N),
    ("كلا", N),
    ("مش أنا", N),
    ("لا مو انا", N),
    ("لا أحد", N),
    ("لا شكراً", N),
    ("la2", N),
    ("laaa2", N),
    # --- French ----------------------------------------------------------------
    ("oui", Y),
    ("OUI", Y),
    ("ouais", Y),
    ("oui c'est moi", Y),
    ("Oui merci", Y),
    ("d'accord", Y),
    ("non", N),
    ("Non merci", N),
    ("pas moi", N),
    ("c'est pas moi", N),
    ("Ce n'est pas moi", N),
    # --- Spanish ---------------------------------------------------------------
    ("sí", Y),
    ("Si", Y),
    ("¡Sí!", Y),
    ("claro", Y),
    ("sí, fui yo", Y),
    ("Si gracias", Y),
    ("no fui yo", N),
    ("No, no fui yo", N),
    ("yo no fui", N),
    ("no gracias", N),
    ("para nada", N),
    # --- Reference codes: which payment the answer is about --------------------
    ("YES 4821", Y, "4821"),
    ("yes4821", Y, "4821"),
    ("4821 yes", Y, "4821"),
    ("Yes #4821!", Y, "4821"),
    ("NO 4821", N, "4821"),
    ("non 4821", N, "4821"),
    ("oui 0042", Y, "0042"),
    ("sí 4821 gracias", Y, "4821"),
    ("نعم ٤٨٢١", Y, "4821"),
    ("لا ٤٨٢١", N, "4821"),
    ("نعم ۴۸۲۱", Y, "4821"),
    ("４８２１ YES", Y, "4821"),
    ("YES 4821 YES 4821", Y, "4821"),
    ("STOP 4821", STOP, "4821"),
    ("agent 4821", HUMAN, "4821"),
    ("yes 48211", UNCLEAR),
    ("yes 482", UNCLEAR),
    ("yes 48 21", UNCLEAR),
    ("yes 4821 1234", UNCLEAR),
    ("YES 4821 or NO 4821", UNCLEAR),
    ("yes ४८२१", UNCLEAR),
    ("4821", UNCLEAR),
    ("4821?", UNCLEAR),
    # --- Numbers are never answers ----------------------------------------------
    ("my card ends in 1111", UNCLEAR),
    ("i only paid 11 pounds", UNCLEAR),
    ("yes my card ends in 1111", UNCLEAR),
    ("1", UNCLEAR),
    ("1.", UNCLEAR),
    ("11", UNCLEAR),
    ("2", UNCLEAR),
    ("1️⃣", UNCLEAR),
    ("١", UNCLEAR),
    ("٢", UNCLEAR),
    ("yes 1", UNCLEAR),
    ("yes 100", UNCLEAR),
    ("no 2", UNCLEAR),
    ("no, my card is 4111 1111 1111 1111", UNCLEAR),
    ("oui 12 euros", UNCLEAR),
    ("نعم ١١", UNCLEAR),
    # --- Opt-out, opt-in, help, a human ---------------------------------------
    ("STOP", STOP),
    ("Stop.", STOP),
    ("STOPALL", STOP),
    ("UNSUBSCRIBE", STOP),
    ("please stop texting me", STOP),
    ("yes STOP", STOP),
    ("STOP?", STOP),
    ("arrêt", STOP),
    ("baja", STOP),
    ("توقف", STOP),
    ("START", START),
    ("unstop", START),
    ("HELP", HELP),
    ("help?", HELP),
    ("aide", HELP),
    ("ayuda", HELP),
    ("مساعدة", HELP),
    ("HUMAN", HUMAN),
    ("agent", HUMAN),
    ("I want to talk to a person", HUMAN),
    ("can I speak to someone?", HUMAN),
    ("no, call me", HUMAN),
    ("call me on 07700 900123", HUMAN),
    ("Je veux parler à un conseiller", HUMAN),
    ("quiero hablar con una persona", HUMAN),
    ("موظف", HUMAN),
    ("اتصلوا بي", HUMAN),
    # --- Mixed signals and hedges: never guess ---------------------------------
    ("yes no", UNCLEAR),
    ("Yes? No?", UNCLEAR),
    ("yes?", UNCLEAR),
    ("👍👎", UNCLEAR),
    ("No, it was me", UNCLEAR),
    ("HELP not me", UNCLEAR),
    ("help yes", UNCLEAR),
    ("yes but not the second one", UNCLEAR),
    ("ok but which card?", UNCLEAR),
    ("yes only the first", UNCLEAR),
    ("maybe", UNCLEAR),
    ("not sure", UNCLEAR),
    ("I don't know", UNCLEAR),
    ("i didn't understand", UNCLEAR),
    ("who is this", UNCLEAR),
    ("🤔", UNCLEAR),
    ("peut-être", UNCLEAR),
    ("je sais pas", UNCLEAR),
    ("oui non", UNCLEAR),
    ("no sé", UNCLEAR),
    ("sí pero no", UNCLEAR),
    ("ربما", UNCLEAR),
    ("نعم لا", UNCLEAR),
    ("لم أفهم", UNCLEAR),
    # --- Unknown words: we act only on what we can read ------------------------
    ("yes stolen", UNCLEAR),
    ("yes my card was lost", UNCLEAR),
    ("I didn't get it", UNCLEAR),
    ("oui mais pas celui-là", UNCLEAR),
    ("sí, la tarjeta de mi hijo", UNCLEAR),
    ("نعم بطاقة ابني", UNCLEAR),
    ("no problem", UNCLEAR),
    ("thanks", UNCLEAR),
    ("merci", UNCLEAR),
    ("hello", UNCLEAR),
    ("", UNCLEAR),
    ("   ", UNCLEAR),
    ("...", UNCLEAR),
    ("?", UNCLEAR),
    ("😡", UNCLEAR),
    # --- Our own prompt pasted back --------------------------------------------
    ("Reply YES", UNCLEAR),
    ("YES or NO", UNCLEAR),
    ("Répondez OUI", UNCLEAR),
    ("Responda SÍ o NO", UNCLEAR),
    ("أرسل نعم", UNCLEAR),
    ("Please reply YES or NO to our last message, or AGENT to talk to a person.", UNCLEAR),
]


def _expected(row: Row) -> Reply:
    return Reply(row[1], row[2] if len(row) == 3 else None)


def test_the_table_is_large_and_covers_every_language_and_meaning() -> None:
    assert len(REPLIES) >= 60
    assert len({row[0] for row in REPLIES}) == len(REPLIES), "duplicate rows"
    assert {row[1] for row in REPLIES} == set(Intent)
    assert sum(len(row) == 3 for row in REPLIES) >= 10, "reference codes"


@pytest.mark.parametrize("row", REPLIES, ids=[row[0] or "empty" for row in REPLIES])
def test_reply(row: Row) -> None:
    assert parse_reply(row[0]) == _expected(row)


# Every message that asks for an answer, in every language, pasted back as the reply.
PROMPTS = [
    "purchase_confirmation",
    "new_payee_transfer",
    "scam_question",
    "account_takeover_check",
    "reask",
    "help",
]


@pytest.mark.parametrize("language", ["en", "ar", "fr", "es"])
@pytest.mark.parametrize("key", PROMPTS)
def test_a_pasted_prompt_is_not_an_answer(language: str, key: str) -> None:
    text = render(
        key,
        language,
        amount_minor=42_000,
        currency="EUR",
        merchant="ACME",
        payee="J. Smith",
        last4="4242",
    ).text
    # The help text names STOP, and STOP is honoured in any text: texting someone who
    # may have asked us to stop is worse than one lost prompt (nothing is approved).
    assert parse_reply(text) == Reply(STOP if key == "help" else UNCLEAR)


@pytest.mark.parametrize(
    "body",
    [
        "yes" * 200,
        "yes " + "x" * MAX_REPLY_CHARS,
        "yes\x00",
        "\x00\x01\x02\xff",
        "yes\ufffd",
        "\udcff yes",
        "\ue000",
        " ".join(["yes"] * (MAX_REPLY_WORDS + 1)),
    ],
    ids=["oversized", "padded", "nul", "binary", "replacement", "surrogate", "private", "wordy"],
)
def test_bad_bodies_are_unclear_and_never_raise(body: str) -> None:
    assert parse_reply(body) == Reply(UNCLEAR)


def test_a_non_string_is_unclear() -> None:
    assert parse_reply(b"yes") == Reply(UNCLEAR)  # type: ignore[arg-type]


def test_an_opt_out_in_a_long_message_is_still_honoured() -> None:
    assert parse_reply("please " * 20 + "stop").intent is STOP


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("YES", START),
        ("YES 4821", START),
        ("START", START),
        ("oui", START),
        ("STOP", STOP),
        ("HELP", HELP),
        ("NO", UNCLEAR),
        ("agent", UNCLEAR),
        ("maybe", UNCLEAR),
        ("1", UNCLEAR),
    ],
)
def test_from_an_opted_out_number_yes_means_opt_in_never_approval(
    text: str, expected: Intent
) -> None:
    assert parse_reply(text, opted_out=True).intent is expected


def test_a_reply_is_a_frozen_value_and_its_intent_compares_as_its_string() -> None:
    reply = parse_reply("non 4821")
    assert reply == Reply(Intent.NO, "4821")
    assert reply.intent == "no"
    assert str(parse_reply("yes").intent) == "yes"
    with pytest.raises(AttributeError):
        reply.intent = Y  # type: ignore[misc]
