"""Reading a customer's free-text reply as one intent, in any of our languages.

Customers answer a payment question the way they text friends: "Yes!!", "yep 👍",
"ايوه", "Sí, fui yo", "٢", "not me". :func:`parse_reply` turns that into one
:class:`Intent`. It is forgiving about form (case, accents, Arabic hamza and
tashkeel, Eastern Arabic digits, emoji, stretched letters) and strict about
meaning: only YES releases money, so YES must be unanimous — any other signal
next to it ("yes no", "ok but who is this", "yes?") makes the reply ``unclear``,
and the flow re-asks once before sending the payment to review.

Precedence when a reply carries several signals:

1. ``stop`` — opting out is the customer's right and is never read as approval;
2. ``human`` — the right to contest an automated decision (GDPR Art. 22);
3. ``yes`` only if it is the sole signal; ``yes`` with anything else → ``unclear``;
4. ``no`` (also with ``help``/``start``: "HELP not me!" blocks quickly),
   unless a question or hedge ("maybe", "no idea", "?") comes with it;
5. ``help`` (also "help?"), then ``start``; anything else → ``unclear``.

YES and START (the opt-in rule): Twilio's default opt-in keywords are START,
UNSTOP *and* YES. We keep ``parse_reply`` context-free: START/UNSTOP → ``start``,
YES → ``yes``, always. The caller says whether the sender is opted out; if so,
``parse_reply(text, opted_out=True)`` reads YES and START alike as ``start``
(Twilio has already re-subscribed the number) and never as a confirmation —
an opted-out customer's dialogue has already moved to another rung, so no
payment can be approved by a text that only meant "send me texts again".
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Final

__all__ = ["MAX_REPLY_CHARS", "MAX_REPLY_WORDS", "Intent", "parse_reply"]


class Intent(StrEnum):
    """What a reply means for the dialogue."""

    YES = "yes"
    NO = "no"
    STOP = "stop"
    START = "start"
    HELP = "help"
    HUMAN = "human"
    UNCLEAR = "unclear"


MAX_REPLY_CHARS: Final = 480
"""Longer bodies (over three SMS segments) are essays or junk, not answers: ``unclear``."""
MAX_REPLY_WORDS: Final = 16
"""Beyond this many words the chance of a negation we do not know is too high."""

_Y, _N, _STOP, _START = Intent.YES, Intent.NO, Intent.STOP, Intent.START
_HELP, _HUMAN, _UNCLEAR = Intent.HELP, Intent.HUMAN, Intent.UNCLEAR

# Words and phrases in *normalised* form: lower case, no accents or apostrophes,
# Arabic without hamza seats/tashkeel, ى→ي and ة→ه. ``None`` consumes a phrase
# without a signal ("no problem" must not count as "no").


def _entries(intent: Intent | None, *groups: str) -> dict[str, Intent | None]:
    """Lexicon entries from ``|``-separated words and phrases (keeps the table readable)."""
    return {entry.strip(): intent for group in groups for entry in group.split("|")}


_LEXICON: Final[dict[str, Intent | None]] = {
    # English
    **_entries(
        _Y,
        "yes|y|ya|yea|yeah|yah|yep|yup|ok|okay|okey|oki|okie|k|kk|sure|correct|right|true",
        "confirm|confirmed|approve|approved|affirmative|aye|mine|1",
        "it was me|that was me|was me|its me|it is me|thats me|that is me|i did|i did it",
        "thats right|of course",
    ),
    **_entries(
        _N,
        "no|n|nope|nah|nay|not|never|didnt|dont|2|deny",
        "not me|wasnt me|was not me|it wasnt|not mine|i did not|didnt do it|no way|never did",
        "nobody|no one|noone|nadie|ninguno|personne",  # answers to "has anyone asked you…?"
    ),
    # French
    **_entries(
        _Y,
        "oui|ouais|ouai|ouep|si|daccord|dac|exact|exactement",
        "cest moi|cetait moi|cest bien moi|bien sur",
    ),
    **_entries(_N, "non|nan|jamais|pas moi|pas du tout|pas daccord|cest pas moi"),
    # Spanish
    **_entries(
        _Y,
        "sip|claro|vale|dale|correcto|exacto|afirmativo|confirmo",
        "fui yo|soy yo|de acuerdo|por supuesto",
    ),
    **_entries(_N, "nunca|para nada|no fui yo|yo no|no soy yo"),
    # Arabic (normalised script) and Arabizi
    **_entries(
        _Y,
        "نعم|ايوه|ايوا|اي|ايه|اه|صح|صحيح|تمام|اكيد|موافق|اجل|بلي|طبعا|اوكي|اوك",
        "هذا انا|انا نفسي|كان انا",
        "aywa|aiwa|aywah|aiwah|na3am|naam",
    ),
    **_entries(
        _N,
        "لا|كلا|ابدا|مش انا|مو انا|مب انا|ما انا|ليس انا|لست انا",
        "la2|laa|mesh ana|mish ana|mo ana|mub ana",
    ),
    # Opt-out (Twilio's standard keywords first) and opt-in
    **_entries(
        _STOP,
        "stop|stopall|unsubscribe|cancel|end|quit|optout|opt out|revoke",
        "arret|arreter|desabonner|desinscrire|baja|darse de baja|dar de baja|parar|detener",
        "توقف|ايقاف|الغاء|الغاء الاشتراك",
    ),
    **_entries(_START, "start|unstop"),
    # Help and a human
    **_entries(_HELP, "help|info|aide|ayuda|مساعده|ساعدني"),
    **_entries(
        _HUMAN,
        "human|agent|person|operator|representative|advisor|real person|customer service",
        "talk to|speak to|speak with|talk with|call me|ring me|phone me",
        "humain|conseiller|appelez moi|parler a|service client",
        "humano|agente|asesor|operador|llamenme|llamame|hablar con|una persona",
        "atencion al cliente",
        "موظف|انسان|بشري|وكيل|اتصل بي|اتصلوا بي|كلمني|خدمه العملاء|ابي اكلم|اريد التحدث",
    ),
    # Hedges and questions
    **_entries(
        _UNCLEAR,
        "maybe|perhaps|probably|idk|dunno|what|who|which|huh|wait|but|hmm",
        "not sure|dont know|do not know|no idea|dont remember|who is this",
        "mais|peut etre|sais pas|aucune idee",
        "pero|quizas|quiza|tal vez|a lo mejor|no se|no lo se|ni idea|no estoy seguro",
        "no estoy segura",
        "ربما|يمكن|ممكن|مدري|ما ادري|لا اعرف|ما اعرف|مش عارف|مش متاكد|مو متاكد|لست متاكد",
    ),
    **_entries(None, "no problem|no worries|no pasa nada|pas de souci"),
}
_LONGEST_PHRASE: Final = max(len(key.split()) for key in _LEXICON)

_EMOJI: Final[dict[str, str]] = {
    **dict.fromkeys("👍✅✔☑👌🆗🙆", " yes "),
    **dict.fromkeys("👎❌🚫✖❎🙅", " no "),
    **dict.fromkeys("❓❔🤔🤷", " ? "),
}
_QUESTION_MARKS: Final = frozenset("?؟¿")
_APOSTROPHES: Final = dict.fromkeys(map(ord, "'’‘`´ʼ"), None)
_ARABIC_LETTERS: Final = str.maketrans({"ى": "ي", "ة": "ه", "ی": "ي", "ک": "ك", "ـ": None})
_RUNS_3: Final = re.compile(r"(.)\1{2,}")
_RUNS_2: Final = re.compile(r"(.)\1+")


def parse_reply(text: str, *, opted_out: bool = False) -> Intent:
    """The intent of one reply; never raises (bad input is simply ``unclear``)."""
    if not isinstance(text, str) or len(text) > MAX_REPLY_CHARS or _looks_binary(text):
        return _UNCLEAR
    cleaned, asked = _normalise(text)
    words = cleaned.split()
    if not words and not asked:
        return _UNCLEAR
    if len(words) > MAX_REPLY_WORDS:
        return _STOP if _STOP in _signals(words) else _UNCLEAR
    signals = _signals(words)
    if asked:
        signals.add(_UNCLEAR)
    intent = _decide(signals)
    if opted_out:
        return _for_opted_out(intent)
    return intent


def _looks_binary(text: str) -> bool:
    """NULs, control bytes, lone surrogates or decoding debris mean this is not a text."""
    for char in text:
        category = unicodedata.category(char)
        if char == "\ufffd" or category in {"Cs", "Co"}:
            return True
        if category == "Cc" and char not in "\t\n\r":
            return True
    return False


def _normalise(text: str) -> tuple[str, bool]:
    """Lower-case words without accents, punctuation or emoji; and whether it asked."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(_EMOJI.get(char, char) for char in text)
    asked = any(char in _QUESTION_MARKS for char in text)
    text = text.translate(_APOSTROPHES).translate(_ARABIC_LETTERS)
    out: list[str] = []
    for char in unicodedata.normalize("NFD", text):
        category = unicodedata.category(char)
        if category.startswith("M"):
            continue  # accents, tashkeel, hamza marks, keycap and variation selectors
        digit = unicodedata.decimal(char, None)
        if digit is not None:
            out.append(str(digit))
        elif category[0] in "LN":
            out.append(char)
        else:
            out.append(" ")
    return "".join(out), asked


def _signals(words: list[str]) -> set[Intent]:
    """Intents named by the words, longest phrase first so "not sure" beats "not"."""
    found: set[Intent] = set()
    index = 0
    while index < len(words):
        for size in range(min(_LONGEST_PHRASE, len(words) - index), 0, -1):
            key = " ".join(words[index : index + size])
            hit = _lookup(key) if size == 1 else (key in _LEXICON, _LEXICON.get(key))
            if hit[0]:
                if hit[1] is not None:
                    found.add(hit[1])
                index += size
                break
        else:
            index += 1  # an unknown word carries no signal ("yes please", "no thanks")
    return found


def _lookup(word: str) -> tuple[bool, Intent | None]:
    """One word, also with stretched letters squeezed ("yesss", "noooo", "okk")."""
    for candidate in (word, _RUNS_3.sub(r"\1", word), _RUNS_2.sub(r"\1", word)):
        if candidate in _LEXICON:
            return True, _LEXICON[candidate]
    return False, None


def _decide(signals: set[Intent]) -> Intent:
    """Apply the precedence in the module docstring."""
    for strongest in (_STOP, _HUMAN):
        if strongest in signals:
            return strongest
    if _Y in signals:
        return _Y if signals == {_Y} else _UNCLEAR
    if _N in signals:
        return _UNCLEAR if _UNCLEAR in signals else _N
    for weaker in (_HELP, _START):
        if weaker in signals:
            return weaker  # "help?" is still a call for help
    return _UNCLEAR


def _for_opted_out(intent: Intent) -> Intent:
    """From an opted-out number YES means "texts again, please", never "approve"."""
    if intent in {_Y, _START}:
        return _START
    if intent in {_STOP, _HELP}:
        return intent
    return _UNCLEAR
