"""Rules for what an admin types: money, percents, dates, free text and phone numbers.

Pure functions; each raises `InvalidInput` with the rule broken, never a parser's traceback.
Money: at most two decimals, at most `MAX_AMOUNT` per operation, positive unless signed (then
non-zero); a minus typed as the Unicode minus or a dash counts as a minus. A percent is
0..100. A date is `DD.MM[.YYYY]`. Phones are stored as E.164. A name or a search typed in
quotes ("Anna Petrova", «Анна Петрова») is the phrase inside them.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

import phonenumbers

from bot.domain.errors import InputProblem, InvalidInput
from bot.domain.periods import supported_day

MAX_AMOUNT = Decimal("1000000")
# Telegram user ids are positive and fit in 53 bits (the Bot API's promise).
MAX_TG_ID = 2**53
HUNDRED = Decimal(100)
# Length limits of free text an admin types (characters).
NAME_MAX = 100
NOTES_MAX = 1000
COMMENT_MAX = 200
REASON_MAX = 200

_AMOUNT = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
# Signs as keyboards and phones type them: the Unicode minus, dashes, full-width signs.
_SIGNS = str.maketrans(
    {
        "\u2212": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\ufe63": "-",
        "\uff0d": "-",
        "\uff0b": "+",
    }
)
# Opening quote -> the closing quotes accepted for it.
QUOTES = {
    '"': ('"',),
    "'": ("'",),
    "«": ("»",),
    "“": ("”", "“"),
    "„": ("“", "”"),
    "”": ("”",),
}
_DAY = re.compile(r"^(\d{1,2})\.(\d{1,2})(?:\.(\d{4}))?$")


def check_amount(value: Decimal, *, signed: bool = False) -> Decimal:
    """`value` if it is a valid operation amount (see the module rules), else `InvalidInput`."""
    if not value.is_finite():
        raise InvalidInput(InputProblem.AMOUNT_FORMAT)
    if abs(value) > MAX_AMOUNT:
        # Before any rounding: a number of 27+ digits is beyond what Decimal can round to cents.
        negative = not signed and value < 0
        raise InvalidInput(
            InputProblem.AMOUNT_NOT_POSITIVE if negative else InputProblem.AMOUNT_TOO_LARGE,
            None if negative else MAX_AMOUNT,
        )
    if value != value.quantize(Decimal("0.01")):
        raise InvalidInput(InputProblem.AMOUNT_DECIMALS)
    if signed and value == 0:
        raise InvalidInput(InputProblem.AMOUNT_ZERO)
    if not signed and value <= 0:
        raise InvalidInput(InputProblem.AMOUNT_NOT_POSITIVE)
    if abs(value) > MAX_AMOUNT:
        raise InvalidInput(InputProblem.AMOUNT_TOO_LARGE, MAX_AMOUNT)
    return value.quantize(Decimal("0.01"))


def parse_amount(text: str, *, signed: bool = False) -> Decimal:
    """`"1500"`, `"99.5"`, `"-200,25"`, `"−200"` -> Decimal. Not a number: `AMOUNT_FORMAT`;
    a number below or at zero where only a positive amount makes sense (not `signed`):
    `AMOUNT_NOT_POSITIVE`; then the rules of `check_amount`."""
    cleaned = text.strip().translate(_SIGNS).replace(" ", "").replace("\u00a0", "")
    if not _AMOUNT.match(cleaned):
        raise InvalidInput(InputProblem.AMOUNT_FORMAT)
    try:
        value = Decimal(cleaned.replace(",", "."))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
        raise InvalidInput(InputProblem.AMOUNT_FORMAT) from exc
    return check_amount(value, signed=signed)


def unquote(text: str) -> str:
    """The phrase inside a pair of quotes around the whole of `text` (`"Anna Petrova"` ->
    `Anna Petrova`); otherwise `text` with outer spaces trimmed."""
    stripped = text.strip()
    closing = QUOTES.get(stripped[:1], ())
    if len(stripped) >= 2 and stripped[-1] in closing:
        return stripped[1:-1].strip()
    return stripped


def parse_tg_id(text: str) -> int:
    """A typed Telegram user id (`"123456789"`, outer spaces ignored): a whole number from 1 to
    `MAX_TG_ID`. Anything else: `InvalidInput(TG_ID)`."""
    cleaned = text.strip()
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > 16:
        raise InvalidInput(InputProblem.TG_ID)
    value = int(cleaned)
    if not 0 < value <= MAX_TG_ID:
        raise InvalidInput(InputProblem.TG_ID)
    return value


def check_percent(value: Decimal) -> Decimal:
    if not value.is_finite() or not 0 <= value <= HUNDRED:
        raise InvalidInput(InputProblem.PERCENT_RANGE)
    if value != value.quantize(Decimal("0.01")):
        raise InvalidInput(InputProblem.AMOUNT_DECIMALS)
    return value.quantize(Decimal("0.01"))


def parse_percent(text: str) -> Decimal:
    """`"15"`, `"12.5%"` -> Decimal in 0..100."""
    cleaned = text.strip().removesuffix("%").strip().replace(",", ".")
    if not re.fullmatch(r"\d+(?:\.\d+)?", cleaned):
        raise InvalidInput(InputProblem.PERCENT_RANGE)
    return check_percent(Decimal(cleaned))


def parse_day(text: str, today: date) -> date:
    """`DD.MM` (this year, as of `today`) or `DD.MM.YYYY` -> date within the product's
    range (`bot.domain.periods.supported_day`). Raises `InvalidInput(DATE_FORMAT)`."""
    match = _DAY.match(text.strip())
    if not match:
        raise InvalidInput(InputProblem.DATE_FORMAT)
    day, month = int(match.group(1)), int(match.group(2))
    year = int(match.group(3)) if match.group(3) else today.year
    try:
        parsed = date(year, month, day)
    except ValueError as exc:
        raise InvalidInput(InputProblem.DATE_FORMAT) from exc
    if not supported_day(parsed):
        raise InvalidInput(InputProblem.DATE_FORMAT)
    return parsed


# Characters that draw nothing although Unicode calls them letters or symbols (Hangul
# fillers, the braille blank); format, control and separator characters draw nothing too.
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _visible(ch: str) -> bool:
    return ch not in _BLANK_LOOKING and unicodedata.category(ch)[0] not in "CZ"


def is_blank(text: str) -> bool:
    """True when `text` draws nothing: empty, spaces, or only zero-width or blank-looking
    characters."""
    return not any(_visible(ch) for ch in text)


def check_text(
    value: str | None,
    limit: int,
    *,
    required: bool,
    empty: InputProblem = InputProblem.TEXT_EMPTY,
) -> str | None:
    """Free text stored as typed (outer spaces trimmed); empty -> None unless `required`,
    then `InvalidInput(empty)`: the refusal names what is missing (a comment, a name, a
    reason, notes). Text with nothing visible (only zero-width or blank-looking characters)
    is empty too: a name made of them would be a blank button."""
    text = (value or "").strip()
    if is_blank(text):
        if required:
            raise InvalidInput(empty)
        return None
    if len(text) > limit:
        raise InvalidInput(InputProblem.TEXT_TOO_LONG, limit)
    return text


def to_e164(raw: str, region: str) -> str | None:
    """The phone number in E.164 (`+79161234567`), or None when `raw` is not a valid number.

    A number without `+` is read in `region` (for example `8 916 123-45-67` in RU).
    """
    try:
        parsed = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def looks_like_phone(raw: str) -> bool:
    """Digits with the usual phone punctuation and at least 7 digits."""
    digits = sum(ch.isdigit() for ch in raw)
    return digits >= 7 and all(ch.isdigit() or ch in "+-() " for ch in raw.strip())
