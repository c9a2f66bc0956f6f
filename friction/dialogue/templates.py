"""What we say to customers, in their language, with their payment's details.

Templates live in ``templates/<language>.yaml`` so that wording can be reviewed
(and translated) without touching code. They are checked once at start-up by
:func:`load_templates`: every language has every key, uses exactly the
placeholders English uses, and contains no links and no request for a code,
PIN or password — a bad file stops the service with one clear
:class:`TemplateError` listing every problem, instead of a customer receiving a
half-rendered message at 3 a.m.

Amounts come from CLDR through Babel: the currency's minor-unit exponent (JPY 0, KWD 3),
separators, grouping and the currency's place and symbol for the customer's locale
("420,00 €" in French, "٤٢٠٫٠٠ €" in Arabic); a language pack only chooses the ISO code or
the symbol (English SMS say "EUR 420.00": "$" is ambiguous) and its digits. Instruments
are masked to their last four digits whatever the caller passes,
and merchant or payee names are cleaned (control and bidi characters removed,
domains broken up) because they come from outside and must not smuggle a link
or a spoofed direction into an SMS.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal, TypedDict, Unpack

import yaml
from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, is_currency
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from friction.errors import TemplateError

__all__ = [
    "FALLBACK_LANGUAGE",
    "PLACEHOLDERS",
    "TEMPLATES_DIR",
    "Catalog",
    "Direction",
    "Rendered",
    "TemplateError",
    "default_catalog",
    "format_amount",
    "load_templates",
    "render",
    "sms_segments",
]

Direction = Literal["ltr", "rtl"]
TEMPLATES_DIR: Final = Path(__file__).with_name("templates")
FALLBACK_LANGUAGE: Final = "en"
PLACEHOLDERS: Final = frozenset(
    {"amount", "merchant", "payee", "card", "account", "reason", "reference"}
)
MAX_NAME_CHARS: Final = 30
"""Merchant and payee names are cut here: they are the one part of an SMS we do not write."""

_LETTER_DIGIT: Final = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_ARABIC_DIGITS: Final = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_UNSAFE: Final = re.compile(
    r"https?://|www\.|\.(?:com|net|org|io|ly|me|co|info)\b|\b(?:code|codes|pin|pins|password|"
    r"passcode|otp|cvv|login details)\b|mot de passe|código|contraseña|\bclave\b|رمز|كلمة المرور|"
    r"كلمة السر|الرقم السري",
    re.IGNORECASE,
)
_SCHEME: Final = re.compile(r"(?i)\b(?:https?://|www\.)")
_DOMAIN_DOT: Final = re.compile(r"(?<=\w)\.(?=[^\W\d_]{2,}\b)")
_GSM7: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED: Final = frozenset("^{}\\[~]|€\f")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MoneyFormat(_Strict):
    """What a language chooses about amounts; everything else is the locale's CLDR data."""

    currency: Literal["code", "symbol"]
    """``code``: the ISO 4217 code ("EUR 420.00"); ``symbol``: the locale's ("420,00 €")."""
    numbering: Literal["latn", "arab"] = "latn"
    """CLDR numbering system: ``arab`` writes ٤٢٠٫٠٠ (Babel gives its separators, not its
    digits, which are translated here)."""


class Phrases(_Strict):
    """How a language names the masked instrument, with and without its last 4 digits."""

    card: str
    card_unknown: str
    account: str
    account_unknown: str


class LanguagePack(_Strict):
    """One ``<language>.yaml`` file."""

    language: str = Field(pattern=r"^[a-z]{2,3}$")
    direction: Direction
    money: MoneyFormat
    phrases: Phrases
    reasons: dict[str, str]
    messages: dict[str, str]


class Rendered(_Strict):
    """A message ready to send, with what the channel needs to show it right."""

    key: str
    text: str
    language: str
    direction: Direction

    @property
    def segments(self) -> int:
        """How many SMS segments the text costs."""
        return sms_segments(self.text)


class Values(TypedDict, total=False):
    """What a message may be filled with (each template names the ones it needs)."""

    amount_minor: int | None
    currency: str | None
    merchant: str | None
    payee: str | None
    last4: str | None
    reason: str | None
    reference: str | None


class Catalog:
    """Validated templates of every language; renders messages for a locale."""

    def __init__(self, packs: dict[str, LanguagePack]) -> None:
        self._packs = packs
        self._fields = {
            key: _placeholders(text) for key, text in packs[FALLBACK_LANGUAGE].messages.items()
        }

    @property
    def languages(self) -> frozenset[str]:
        """Languages we can write in."""
        return frozenset(self._packs)

    @property
    def keys(self) -> frozenset[str]:
        """Message keys every language provides (what flows may refer to)."""
        return frozenset(self._fields)

    def language_for(self, locale: str | None) -> str:
        """The language for a customer locale (``ar-AE`` → ``ar``), English if we lack it."""
        primary = re.split(r"[-_]", (locale or "").strip(), maxsplit=1)[0].lower()
        return primary if primary in self._packs else FALLBACK_LANGUAGE

    def pack(self, locale: str | None) -> LanguagePack:
        """The templates used for ``locale``."""
        return self._packs[self.language_for(locale)]

    def render(self, key: str, locale: str | None, **values: Unpack[Values]) -> Rendered:
        """The message ``key`` for ``locale``; raises TemplateError if a needed value is missing."""
        if key not in self._fields:
            raise TemplateError(f"no template {key!r}", fields=["key"])
        pack = self.pack(locale)
        given: dict[str, Any] = {name: values.get(name) for name in Values.__annotations__}
        given["locale"] = locale
        filled = {name: _value(pack, name, given, key) for name in self._fields[key]}
        text = pack.messages[key].format_map(filled)
        return Rendered(key=key, text=text, language=pack.language, direction=pack.direction)


def _value(pack: LanguagePack, name: str, given: dict[str, Any], key: str) -> str:
    """The text for one placeholder, formatted, masked or cleaned for ``pack``."""
    if name == "amount":
        amount, currency = given["amount_minor"], given["currency"]
        if not isinstance(amount, int) or not isinstance(currency, str):
            raise TemplateError(f"{key!r} needs amount_minor and currency", fields=["amount"])
        return _format_amount(pack, amount, currency, given["locale"])
    if name in {"card", "account"}:
        digits = _last4(given["last4"])
        phrase = getattr(pack.phrases, name if digits else f"{name}_unknown")
        return str(phrase).format(last4=(digits or "").translate(_digit_table(pack)))
    if name == "reason":
        code = str(given["reason"] or "default").lower()
        return pack.reasons.get(code, pack.reasons["default"])
    if name == "reference":  # four digits, in the digits the language writes
        code = given["reference"]
        if not isinstance(code, str) or not re.fullmatch(r"\d{4}", code):
            raise TemplateError(f"{key!r} needs a 4-digit reference", fields=["reference"])
        return code.translate(_digit_table(pack))
    raw = given[name]
    if not isinstance(raw, str):
        raise TemplateError(f"{key!r} needs {name}", fields=[name])
    return _plain(raw)


def _format_amount(pack: LanguagePack, amount_minor: int, currency: str, locale: str | None) -> str:
    """``42000, EUR`` → ``EUR 420.00`` (en) / ``420,00 €`` (fr) / ``٤٢٠٫٠٠ €`` (ar), by CLDR."""
    code = currency.strip().upper()
    if not is_currency(code):
        raise TemplateError(f"not an ISO 4217 currency: {currency!r}", fields=["currency"])
    cldr = _cldr_locale(pack.language, locale)
    pattern = cldr.currency_formats["standard"].pattern.split(";")[0]
    if pack.money.currency == "code":
        pattern = pattern.replace("¤", "¤¤")  # CLDR's sign for the ISO code
    value = Decimal(amount_minor).scaleb(-get_currency_precision(code))
    text = format_currency(
        value, code, format=pattern, locale=cldr, numbering_system=pack.money.numbering
    )
    text = _LETTER_DIGIT.sub(" ", text)  # CLDR currencySpacing, which Babel does not apply
    # GSM-7 has no no-break space: one would make the SMS UCS-2 (half the length per segment)
    return text.replace("\u00a0", " ").replace("\u202f", " ").translate(_digit_table(pack))


def _cldr_locale(language: str, locale: str | None) -> Locale:
    """The customer's CLDR locale in the pack's language (``fr-CA`` → fr_CA, ``xx`` → en)."""
    region = re.split(r"[-_]", (locale or "").strip(), maxsplit=1)[1:]
    try:
        return Locale.parse(f"{language}_{region[0].upper()}") if region else Locale(language)
    except (ValueError, UnknownLocaleError):
        return Locale(language)


def _digit_table(pack: LanguagePack) -> dict[int, int]:
    return _ARABIC_DIGITS if pack.money.numbering == "arab" else {}


def _last4(value: str | None) -> str | None:
    """Only the last four digits ever leave this function, whatever was passed."""
    digits = "".join(char for char in value or "" if char.isascii() and char.isdigit())
    return digits[-4:] if len(digits) >= 4 else None


def _plain(name: str) -> str:
    """A merchant/payee name safe to put in an SMS: no controls, no bidi tricks, no links."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(" " if unicodedata.category(char)[0] == "C" else char for char in text)
    text = _DOMAIN_DOT.sub(" ", _SCHEME.sub("", text))
    text = " ".join(text.split())[:MAX_NAME_CHARS].strip()
    return text or "-"


def sms_segments(text: str) -> int:
    """SMS segments for ``text``: GSM-7 160/153 per segment, otherwise UCS-2 70/67."""
    if all(char in _GSM7 or char in _GSM7_EXTENDED for char in text):
        units = len(text) + sum(char in _GSM7_EXTENDED for char in text)
        single, multi = 160, 153
    else:
        units = sum(2 if ord(char) > 0xFFFF else 1 for char in text)
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


def _placeholders(text: str) -> frozenset[str]:
    """Field names in a template; anything but a plain ``{name}`` is an error."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        raise TemplateError(f"bad braces in {text!r}: {error}") from error
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if spec or conversion or not name.isidentifier():
            raise TemplateError(f"only plain {{name}} placeholders are allowed: {text!r}")
        names.add(name)
    return frozenset(names)


def load_templates(directory: Path = TEMPLATES_DIR) -> Catalog:
    """Read and validate every ``*.yaml`` in ``directory``; TemplateError lists all problems."""
    packs: dict[str, LanguagePack] = {}
    problems: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            pack = LanguagePack.model_validate(yaml.safe_load(path.read_text("utf-8")))
        except (OSError, yaml.YAMLError, ValidationError) as error:
            problems.append(f"{path.name}: {error}")
            continue
        if pack.language != path.stem:
            problems.append(f"{path.name}: declares language {pack.language!r}")
        packs[pack.language] = pack
    if FALLBACK_LANGUAGE not in packs:
        problems.append(f"{directory}: no {FALLBACK_LANGUAGE}.yaml (the fallback language)")
    else:
        reference = packs[FALLBACK_LANGUAGE]
        for pack in packs.values():
            problems.extend(f"{pack.language}.yaml: {p}" for p in _check(pack, reference))
    if problems:
        raise TemplateError("invalid templates:\n  " + "\n  ".join(problems), fields=problems)
    return Catalog(packs)


def _check(pack: LanguagePack, reference: LanguagePack) -> list[str]:
    """Problems of one language measured against the reference (English)."""
    problems = _same_keys("messages", pack.messages, reference.messages)
    problems += _same_keys("reasons", pack.reasons, reference.reasons)
    if "default" not in pack.reasons:
        problems.append("reasons: no 'default'")
    for key, text in pack.messages.items():
        problems += _check_text(f"messages.{key}", text, PLACEHOLDERS)
        if key in reference.messages and _fields_or_none(text) != _fields_or_none(
            reference.messages[key]
        ):
            problems.append(f"messages.{key}: placeholders differ from {reference.language}")
    none, last4 = frozenset[str](), frozenset({"last4"})
    fixed = [
        (f"phrases.{k}", v, none if k.endswith("_unknown") else last4)
        for k, v in pack.phrases.model_dump().items()
    ]
    fixed += [(f"reasons.{k}", v, none) for k, v in pack.reasons.items()]
    for where, text, wanted in fixed:
        problems += _check_text(where, text, wanted, exact=True)
    return problems


def _same_keys(section: str, have: dict[str, str], want: dict[str, str]) -> list[str]:
    missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    return [f"{section}: missing {k!r}" for k in missing] + [
        f"{section}: unknown key {k!r} (not in the fallback language)" for k in extra
    ]


def _check_text(
    where: str, text: str, allowed: frozenset[str], *, exact: bool = False
) -> list[str]:
    """Placeholders known (and all present if ``exact``); no link, no request for secrets."""
    problems: list[str] = []
    names = _fields_or_none(text)
    if names is None:
        problems.append(f"{where}: malformed placeholders")
    elif not names <= allowed:
        problems.append(f"{where}: unknown placeholders {sorted(names - allowed)}")
    elif exact and names != allowed:
        problems.append(f"{where}: needs placeholders {sorted(allowed)}")
    if _UNSAFE.search(text):
        problems.append(f"{where}: contains a link or asks for a secret")
    if not text.strip():
        problems.append(f"{where}: empty")
    return problems


def _fields_or_none(text: str) -> frozenset[str] | None:
    try:
        return _placeholders(text)
    except TemplateError:
        return None


@cache
def default_catalog() -> Catalog:
    """The packaged templates, loaded and validated once (call at start-up to fail fast)."""
    return load_templates()


def render(key: str, locale: str | None, **values: Unpack[Values]) -> Rendered:
    """Render ``key`` for ``locale`` from the packaged templates (see :meth:`Catalog.render`)."""
    return default_catalog().render(key, locale, **values)


def format_amount(amount_minor: int, currency: str, locale: str | None) -> str:
    """An amount in minor units written the way ``locale``'s language writes it."""
    catalog = default_catalog()
    return _format_amount(catalog.pack(locale), amount_minor, currency, locale)
