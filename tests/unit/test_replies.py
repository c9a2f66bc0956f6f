"""Reply parsing against a table of real-world replies in English, Arabic, French and Spanish."""

from __future__ import annotations

import pytest

from friction.dialogue.replies import MAX_REPLY_CHARS, Intent, parse_reply

Y, N, STOP, START = Intent.YES, Intent.NO, Intent.STOP, Intent.START
HELP, HUMAN, UNCLEAR = Intent.HELP, Intent.HUMAN, Intent.UNCLEAR

REPLIES: list[tuple[str, Intent]] = [
    # --- English: yes --------------------------------------------------------
    ("YES", Y),
    ("yes", Y),
    ("Yes.", Y),
    ("  yes  ", Y),
    ("Yes!!!", Y),
    ("yesss", Y),
    ("Y", Y),
    ("y.", Y),
    ("yeah", Y),
    ("Yep", Y),
    ("yup 👍", Y),
    ("ok", Y),
    ("OK", Y),
    ("Okay", Y),
    ("okk", Y),
    ("k", Y),
    ("sure", Y),
    ("Correct", Y),
    ("it was me", Y),
    ("Yes it was me", Y),
    ("yes, that was me, thanks", Y),
    ("That's me", Y),
    ("yes please", Y),
    ("1", Y),
    ("1.", Y),
    ("ＹＥＳ", Y),
    ("👍", Y),
    ("👍🏽", Y),
    ("✅", Y),
    ("✔️", Y),
    ("👌", Y),
    ("1️⃣", Y),
    # --- English: no ---------------------------------------------------------
    ("NO", N),
    ("no", N),
    ("No!", N),
    ("n", N),
    ("nope", N),
    ("Nooooo", N),
    ("nah", N),
    ("not me", N),
    ("Not me!!", N),
    ("It wasn't me", N),
    ("it wasn’t me", N),
    ("wasnt me", N),
    ("No, I didn't", N),
    ("I did not make this", N),
    ("no thanks", N),
    ("2", N),
    ("👎", N),
    ("❌", N),
    ("🚫", N),
    ("HELP not me", N),
    ("nobody", N),
    ("No one asked me", N),
    ("personne", N),
    ("nadie", N),
    ("لا أحد", N),
    # --- Arabic ----------------------------------------------------------------
    ("نعم", Y),
    ("نعم.", Y),
    ("ايوه", Y),
    ("أيوه", Y),
    ("ايوة", Y),
    ("اي", Y),
    ("ايه", Y),
    ("آه", Y),
    ("صح", Y),
    ("تمام", Y),
    ("نعم، هذا أنا", Y),
    ("نَعَم", Y),
    ("١", Y),
    ("۱", Y),
    ("aywa", Y),
    ("لا", N),
    ("لأ", N),
    ("لا!", N),
    ("كلا", N),
    ("مش انا", N),
    ("مش أنا", N),
    ("لا مو انا", N),
    ("٢", N),
    ("۲", N),
    ("la2", N),
    # --- French ----------------------------------------------------------------
    ("oui", Y),
    ("OUI", Y),
    ("Oui.", Y),
    ("ouais", Y),
    ("oui c'est moi", Y),
    ("Oui merci", Y),
    ("d'accord", Y),
    ("non", N),
    ("NON", N),
    ("Non merci", N),
    ("pas moi", N),
    ("c'est pas moi", N),
    ("Ce n'est pas moi", N),
    ("nan", N),
    # --- Spanish ---------------------------------------------------------------
    ("sí", Y),
    ("Si", Y),
    ("SÍ", Y),
    ("¡Sí!", Y),
    ("claro", Y),
    ("vale", Y),
    ("sí, fui yo", Y),
    ("Si gracias", Y),
    ("no fui yo", N),
    ("No, no fui yo", N),
    ("yo no fui", N),
    ("no gracias", N),
    ("para nada", N),
    # --- Opt-out, opt-in, help, a human ---------------------------------------
    ("STOP", STOP),
    ("stop", STOP),
    ("Stop.", STOP),
    ("STOPALL", STOP),
    ("UNSUBSCRIBE", STOP),
    ("cancel", STOP),
    ("END", STOP),
    ("QUIT", STOP),
    ("please stop texting me", STOP),
    ("yes STOP", STOP),
    ("STOP?", STOP),
    ("ARRET", STOP),
    ("arrêt", STOP),
    ("baja", STOP),
    ("توقف", STOP),
    ("START", START),
    ("unstop", START),
    ("HELP", HELP),
    ("help?", HELP),
    ("INFO", HELP),
    ("aide", HELP),
    ("ayuda", HELP),
    ("مساعدة", HELP),
    ("HUMAN", HUMAN),
    ("agent", HUMAN),
    ("I want to talk to a person", HUMAN),
    ("can I speak to someone?", HUMAN),
    ("no, call me", HUMAN),
    ("conseiller", HUMAN),
    ("Je veux parler à un conseiller", HUMAN),
    ("agente", HUMAN),
    ("quiero hablar con una persona", HUMAN),
    ("موظف", HUMAN),
    ("اتصلوا بي", HUMAN),
    # --- Ambiguous: never guess -----------------------------------------------
    ("yes no", UNCLEAR),
    ("Yes? No?", UNCLEAR),
    ("yes?", UNCLEAR),
    ("what?", UNCLEAR),
    ("What payment?", UNCLEAR),
    ("who is this", UNCLEAR),
    ("maybe", UNCLEAR),
    ("not sure", UNCLEAR),
    ("I don't know", UNCLEAR),
    ("no idea", UNCLEAR),
    ("ok but which card?", UNCLEAR),
    ("yes but not the second one", UNCLEAR),
    ("No, it was me", UNCLEAR),
    ("👍👎", UNCLEAR),
    ("🤔", UNCLEAR),
    ("peut-être", UNCLEAR),
    ("je sais pas", UNCLEAR),
    ("no sé", UNCLEAR),
    ("quizás", UNCLEAR),
    ("ربما", UNCLEAR),
    ("مدري", UNCLEAR),
    ("نعم لا", UNCLEAR),
    ("oui non", UNCLEAR),
    ("no problem", UNCLEAR),
    ("thanks", UNCLEAR),
    ("12", UNCLEAR),
    ("1 2", UNCLEAR),
    ("", UNCLEAR),
    ("   ", UNCLEAR),
    ("...", UNCLEAR),
    ("?", UNCLEAR),
]


def test_the_table_is_large_enough() -> None:
    assert len(REPLIES) >= 80
    assert len({text for text, _ in REPLIES}) == len(REPLIES), "duplicate rows"


@pytest.mark.parametrize(("text", "expected"), REPLIES)
def test_reply(text: str, expected: Intent) -> None:
    assert parse_reply(text) == expected


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
        " ".join(["yes"] * 40),
    ],
    ids=["oversized", "padded", "nul", "binary", "replacement", "surrogate", "private", "wordy"],
)
def test_bad_bodies_are_unclear_and_never_raise(body: str) -> None:
    assert parse_reply(body) == UNCLEAR


def test_a_non_string_is_unclear() -> None:
    assert parse_reply(b"yes") == UNCLEAR  # type: ignore[arg-type]


def test_an_opt_out_in_a_long_message_is_still_honoured() -> None:
    assert parse_reply("please " * 20 + "stop") == STOP


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("YES", START),
        ("START", START),
        ("oui", START),
        ("STOP", STOP),
        ("HELP", HELP),
        ("NO", UNCLEAR),
        ("agent", UNCLEAR),
        ("maybe", UNCLEAR),
    ],
)
def test_from_an_opted_out_number_yes_means_opt_in_never_approval(
    text: str, expected: Intent
) -> None:
    assert parse_reply(text, opted_out=True) == expected


def test_intent_compares_as_its_string() -> None:
    assert parse_reply("yes") == "yes"
    assert str(parse_reply("non")) == "no"
