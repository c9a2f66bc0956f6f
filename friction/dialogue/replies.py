"""Reading a customer's free-text reply as one intent and, maybe, a reference code.

Customers answer a payment question the way they text friends: "Yes!!", "yep 👍",
"ايوه", "Sí, fui yo", "not me", "YES 4821". :func:`parse_reply` turns that into a
:class:`Reply`. It is forgiving about form (case, accents, Arabic hamza and tashkeel,
emoji, letters stretched as in "yesss") and strict about meaning, because both answers
can move money: YES releases a card payment, and NO to the scam question releases a
transfer. So a reply counts only when we understand it:

* Numbers are never words. Digits are not squeezed and never mean yes or no ("my card
  ends in 1111", "i only paid 11 pounds" once released payments). One number of exactly
  four digits (ASCII, Eastern Arabic or Persian) is a *reference code* naming the
  payment ("YES 4821", "نعم ٤٨٢١"); any other number makes the reply ``unclear``.
* Every word must be known: the answer words of our four template languages (en, ar,
  fr, es), hedges, and neutral fillers ("please", "merci", "شكرا", "it", "payment"), so
  "yes please" and "oui merci" count. An unknown word may be a negation or contradiction
  we cannot read ("yes stolen", "i didnt get it"), so ``MAX_UNKNOWN_WORDS`` is zero.
* A copy of our own prompt (it carries "Reply", "or", a "?" or the amount) is ``unclear``.

Precedence when a reply carries several signals:

1. ``stop`` — opting out is the customer's right: honoured in any text, even a long one;
2. more than ``MAX_REPLY_WORDS`` words, or our prompt quoted ("reply … or …") → ``unclear``;
3. ``human`` — the right to contest an automated decision (GDPR Art. 22). It never
   moves money, so it is honoured with any words and numbers around it ("no, call me");
4. any other number, two references, or an unknown word → ``unclear``;
5. exactly one of ``yes``, ``no``, ``help``, ``start``; two of them ("yes no", "HELP not
   me") → ``unclear``. A hedge ("maybe", "no idea", "but") or a question mark makes a
   ``yes`` or ``no`` ``unclear``, not a ``help`` ("help?" still asks for help).

``unclear`` costs one polite re-ask (then a person); a misread yes or no costs money.

YES and START (the opt-in rule): Twilio's default opt-in keywords are START,
UNSTOP *and* YES. We keep ``parse_reply`` context-free: START/UNSTOP → ``start``,
YES → ``yes``, always. The caller says whether the sender is opted out; if so,
``parse_reply(text, opted_out=True)`` reads YES and START alike as ``start``
(Twilio has already re-subscribed the number) and never as a confirmation —
an opted-out customer's dialogue has already moved to another rung, so no
payment can be approved by a text that only meant "send me texts again".

The reference comes only with a reply we understood ("my card ends in 1111" names no
payment). It is a claim: the caller must match it to a payment it asked about in that
message and must not read an unknown code as "the newest".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from friction.domain.dialogue import Intent, Reply

__all__ = [
    "MAX_REPLY_CHARS",
    "MAX_REPLY_WORDS",
    "MAX_UNKNOWN_WORDS",
    "REFERENCE_DIGITS",
    "parse_reply",
]


MAX_REPLY_CHARS: Final = 480
"""Longer bodies (over three SMS segments) are essays or junk, not answers: ``unclear``."""
MAX_REPLY_WORDS: Final = 16
"""Beyond this many words only STOP is honoured: the rest is a letter, not an answer."""
MAX_UNKNOWN_WORDS: Final = 0
"""Words outside our vocabulary a yes/no/help may carry. None: an unknown word may be a
negation ("yes stolen", "i didnt get it"); the price is one re-ask, not a misread payment."""
REFERENCE_DIGITS: Final = 4
"""A reference code is exactly this many digits; any other number makes a reply unclear."""


class _Mark(StrEnum):
    """Lexicon entries that carry no intent but still shape the reading."""

    FILLER = "filler"  # known and neutral: "please", "merci", "it", "no problem"
    HEDGE = "hedge"  # doubt or contradiction: "maybe", "but", "who is this"
    ECHO = "echo"  # words of our own prompt: "reply ... or ..."


_Sign = Intent | _Mark
_Y, _N, _STOP, _START = Intent.YES, Intent.NO, Intent.STOP, Intent.START
_HELP, _HUMAN, _UNCLEAR = Intent.HELP, Intent.HUMAN, Intent.UNCLEAR
_FILLER, _HEDGE, _ECHO = _Mark.FILLER, _Mark.HEDGE, _Mark.ECHO

# Words and phrases in *normalised* form: lower case, no accents or apostrophes,
# Arabic without hamza seats/tashkeel, ى→ي and ة→ه. Phrases win over their words
# ("no problem" is a filler, not a "no"; "not sure" a hedge, not a "not").


def _entries(sign: _Sign, *groups: str) -> dict[str, _Sign]:
    """Lexicon entries from ``|``-separated words and phrases (keeps the table readable)."""
    return {entry.strip(): sign for group in groups for entry in group.split("|")}


_LEXICON: Final[dict[str, _Sign]] = {
    # English
    **_entries(
        _Y,
        "yes|y|ya|yea|yeah|yah|yep|yup|ok|okay|okey|oki|okie|k|kk|sure|correct|right|true",
        "confirm|confirmed|approve|approved|affirmative|aye|mine",
        "it was me|that was me|was me|its me|it is me|thats me|that is me|i did|i did it",
        "thats right|of course",
    ),
    **_entries(
        _N,
        "no|n|nope|nah|nay|not|never|didnt|dont|deny|denied",
        "not me|wasnt me|was not me|it wasnt|not mine|i did not|didnt do it|no way|never did",
        "dont think so|do not think so",
        "nobody|no one|noone|nadie|ninguno|personne",  # answers to "has anyone asked you…?"
    ),
    # French
    **_entries(
        _Y,
        "oui|ouais|ouai|ouep|si|daccord|dac|exact|exactement",
        "cest moi|cetait moi|cest bien moi|bien sur",
    ),
    **_entries(
        _N,
        "non|nan|jamais|pas moi|pas du tout|pas daccord|cest pas moi",
        "nest pas moi|ce nest pas moi|cetait pas moi|ce netait pas moi",
    ),
    # Spanish
    **_entries(
        _Y,
        "sip|claro|vale|dale|correcto|exacto|afirmativo|confirmo",
        "fui yo|soy yo|de acuerdo|por supuesto",
    ),
    **_entries(_N, "nunca|para nada|no fui yo|yo no|yo no fui|no fui|no soy yo"),
    # Arabic (normalised script) and Arabizi
    **_entries(
        _Y,
        "نعم|ايوه|ايوا|اي|ايه|اه|صح|صحيح|تمام|اكيد|موافق|اجل|بلي|طبعا|اوكي|اوك",
        "هذا انا|انا نفسي|كان انا",
        "aywa|aiwa|aywah|aiwah|na3am|naam",
    ),
    **_entries(
        _N,
        "لا|كلا|ابدا|مش انا|مو انا|مب انا|ما انا|ليس انا|لست انا|لا احد|ولا احد",
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
    # Hedges, questions and contradictions
    **_entries(
        _HEDGE,
        "maybe|perhaps|probably|idk|dunno|what|who|which|huh|wait|but|hmm|only|except",
        "not sure|dont know|do not know|no idea|dont remember|who is this",
        "dont understand|do not understand|didnt understand",
        "mais|peut etre|sais pas|aucune idee|pas compris|comprends pas|sauf",
        "pero|quizas|quiza|tal vez|a lo mejor|no se|no lo se|ni idea|no estoy seguro",
        "no estoy segura|no entiendo|solo|excepto",
        "ربما|يمكن|ممكن|مدري|ما ادري|لا اعرف|ما اعرف|مش عارف|مش متاكد|مو متاكد|لست متاكد",
        "لم افهم|ما فهمت|مش فاهم|بس|لكن",
    ),
    # The instructions of our own prompts: a reply that carries them is a pasted copy
    **_entries(_ECHO, "reply|or|repondez|ou|responda|responde|o|ارسل|او"),
    # Known and neutral: politeness, pronouns, what was paid; never a sign on their own
    **_entries(
        _FILLER,
        "please|pls|plz|thanks|thank you|thank u|thanks a lot|many thanks|thx|ty|cheers",
        "hi|hello|hey|dear|sir|madam|mate|i|me|it|its|this|that|the|a|was|is|my|so|just",
        "payment|purchase|transfer|transaction|order|made|make|paid|pay|did|do|done",
        "asked|told|no problem|no worries",
        "merci|merci beaucoup|svp|stp|sil vous plait|sil te plait|bonjour|bonsoir|salut",
        "je|jai|ce|cest|le|un|une|mon|ma|bien|paiement|achat|virement|fait|paye",
        "pas de souci|pas de probleme|de rien",
        "gracias|muchas gracias|por favor|porfa|hola|buenas|buenos dias|yo|lo|mi|el|es",
        "pago|compra|transferencia|hice|pague|fue|no pasa nada",
        "شكرا|شكرا لك|شكرا جزيلا|مشكور|من فضلك|لو سمحت|مرحبا|اهلا|السلام عليكم",
        "يعطيك العافيه|انا|هذا|هذه|الدفعه|دفعت",
    ),
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
# Eastern Arabic (U+0660…) and Persian (U+06F0…) digits become ASCII; other scripts'
# digits stay as they are, so their numbers can never form a reference code.
_DIGITS: Final = str.maketrans(
    {chr(base + n): str(n) for base in (0x0660, 0x06F0) for n in range(10)}
)
_ASCII_DIGITS: Final = frozenset("0123456789")
_NUMBERS: Final = re.compile(r"(\d+)")  # any script's digits: a number is never a word
_RUNS_3: Final = re.compile(r"([^\W\d_])\1{2,}")  # letters only: digits are never squeezed
_RUNS_2: Final = re.compile(r"([^\W\d_])\1+")
_NOTHING: Final = Reply(_UNCLEAR)


@dataclass
class _Reading:
    """What one pass over the words found."""

    signs: set[_Sign] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    words: int = 0
    unknown: int = 0


def parse_reply(text: str, *, opted_out: bool = False) -> Reply:
    """The meaning of one reply; never raises (bad input is simply ``unclear``)."""
    if not isinstance(text, str) or len(text) > MAX_REPLY_CHARS or _looks_binary(text):
        return _NOTHING
    cleaned, asked = _normalise(text)
    reading = _read(cleaned.split())
    reference = _reference(reading.numbers)
    intent = _decide(reading, asked, numbers_ok=reference is not None or not reading.numbers)
    if opted_out:
        intent = _for_opted_out(intent)
    # a reply we did not understand names no payment: "my card ends in 1111" is no code
    return Reply(intent, None if intent is _UNCLEAR else reference)


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
    """Lower-case words and numbers without accents, punctuation or emoji; and whether it asked."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(_EMOJI.get(char, char) for char in text)
    asked = any(char in _QUESTION_MARKS for char in text)
    text = text.translate(_APOSTROPHES).translate(_ARABIC_LETTERS).translate(_DIGITS)
    out: list[str] = []
    for char in unicodedata.normalize("NFD", text):
        category = unicodedata.category(char)
        if category.startswith("M"):
            continue  # accents, tashkeel, hamza marks, keycap and variation selectors
        out.append(char if category[0] in "LN" else " ")
    return "".join(out), asked


def _read(words: list[str]) -> _Reading:
    """Signs, numbers and unknown words, longest phrase first so "not sure" beats "not"."""
    tokens = [part for word in words for part in _split_numbers(word)]
    reading = _Reading(words=len(tokens))
    index = 0
    while index < len(tokens):
        if tokens[index].isdecimal():
            reading.numbers.add(tokens[index])
            index += 1
            continue
        for size in range(min(_LONGEST_PHRASE, len(tokens) - index), 0, -1):
            key = " ".join(tokens[index : index + size])
            sign = _lookup(key) if size == 1 else _LEXICON.get(key)
            if sign is not None:
                reading.signs.add(sign)
                index += size
                break
        else:
            reading.unknown += 1
            index += 1
    return reading


def _split_numbers(word: str) -> list[str]:
    """A known word stays whole ("la2" is Arabizi for no); otherwise digits part from letters."""
    if _lookup(word) is not None:
        return [word]
    return [part for part in _NUMBERS.split(word) if part]


def _lookup(word: str) -> _Sign | None:
    """One word, also with stretched letters squeezed ("yesss", "noooo", "okk")."""
    for candidate in (word, _RUNS_3.sub(r"\1", word), _RUNS_2.sub(r"\1", word)):
        if candidate in _LEXICON:
            return _LEXICON[candidate]
    return None


def _reference(numbers: set[str]) -> str | None:
    """The reference code when the reply carries exactly one number and it is a code."""
    if len(numbers) != 1:
        return None
    (number,) = numbers
    if len(number) == REFERENCE_DIGITS and set(number) <= _ASCII_DIGITS:
        return number
    return None


def _decide(reading: _Reading, asked: bool, *, numbers_ok: bool) -> Intent:
    """Apply the precedence in the module docstring."""
    signs = reading.signs
    if _STOP in signs:
        return _STOP
    if reading.words > MAX_REPLY_WORDS or _ECHO in signs:
        return _UNCLEAR
    if _HUMAN in signs:
        return _HUMAN
    if not numbers_ok or reading.unknown > MAX_UNKNOWN_WORDS:
        return _UNCLEAR
    answers = [answer for answer in (_Y, _N, _HELP, _START) if answer in signs]
    if len(answers) != 1:
        return _UNCLEAR  # no answer, or mixed ones: "yes no", "HELP not me"
    (answer,) = answers
    if answer in {_Y, _N} and (asked or _HEDGE in signs):
        return _UNCLEAR  # "yes?", "no idea", "ok but which card"; help may be asked for
    return answer


def _for_opted_out(intent: Intent) -> Intent:
    """From an opted-out number YES means "texts again, please", never "approve"."""
    if intent in {_Y, _START}:
        return _START
    if intent in {_STOP, _HELP}:
        return intent
    return _UNCLEAR
