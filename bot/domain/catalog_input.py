"""What an admin types for a catalog or schedule value, read by the value's type.

Rules (docs/rules.md#admin-rights): times are `HH:MM` or `H:MM`, 24-hour; hours are
`HH:MM-HH:MM` with the end after the start, where `24:00` (or `00:00` after a later start) is
the end of the day and never a start; a day off is `off` (or `выходной`, or `-`); dates are
`DD.MM` or `DD.MM.YYYY`; a holiday is a date alone (closed), a date with hours (open those
hours) or a date with `open` (or `открыто`: open with that weekday's usual hours); money
has at most two decimals and is not negative; durations are whole minutes, positive and at
most a day (a break may be 0); time zones are IANA names; names and texts have length limits.
`-` clears an optional value. A wrong value raises `InvalidInput` naming the rule; nothing is
read from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from bot.domain.admin_input import NAME_MAX, NOTES_MAX, check_amount, check_text, parse_day
from bot.domain.errors import InputProblem, InvalidInput
from bot.domain.tz import is_zone_name
from bot.domain.walltime import WallTime, closing_time

CLEAR = "-"
DAY_OFF_WORDS = frozenset({"off", "-", "выходной", "нет"})
# A holiday open with the weekday's usual hours: `08.03 open`.
OPEN_WORDS = frozenset({"open", "usual", "открыто", "обычно"})
MAX_MINUTES = 24 * 60
MAX_CAPACITY = 100_000

_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_RANGE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–—]\s*(\d{1,2}:\d{2})\s*(.*)$", re.DOTALL)
_NUMBER = re.compile(r"^\d+$")
_MONEY = re.compile(r"^\d+(?:[.,]\d+)?$")


class FieldType(StrEnum):
    """How a catalog value is typed (its locale key `catalog_edit.format.<value>` gives the
    format with an example)."""

    NAME = "name"  # required, up to NAME_MAX characters
    TEXT = "text"  # optional, up to NAME_MAX; `-` clears
    LONG_TEXT = "long_text"  # optional, up to NOTES_MAX; `-` clears
    MONEY = "money"  # required, >= 0, two decimals
    MONEY_OPT = "money_opt"  # as MONEY; `-` clears (falls back to the service's)
    MINUTES = "minutes"  # required, 1 .. 1440
    MINUTES_OPT = "minutes_opt"
    BREAK = "break"  # required, 0 .. 1440
    BREAK_OPT = "break_opt"
    TIMEZONE = "timezone"  # an IANA name
    CAPACITY = "capacity"  # 0 .. 100000; `-` or 0: no cap
    HOURS = "hours"  # `HH:MM-HH:MM`, or a day off
    SHIFT = "shift"  # hours and an optional workplace name, or a day off
    DATED = "dated"  # a date, optionally with hours (a break)
    HOLIDAY = "holiday"  # a date: closed; with hours; or with `open` (the usual hours)


@dataclass(frozen=True, slots=True)
class Hours:
    """Local wall-clock hours `[start, end)` of one day; `end` may be 24:00."""

    start: WallTime
    end: WallTime

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


@dataclass(frozen=True, slots=True)
class Shift:
    """A weekday's hours (None: day off) and the workplace named after them, if any."""

    hours: Hours | None
    workplace: str | None = None


@dataclass(frozen=True, slots=True)
class Dated:
    """A date and, when given, its hours (a working holiday's, or a break's); `usual_hours`:
    a holiday open with the weekday's regular hours (docs/rules.md#open-hours)."""

    day: date
    hours: Hours | None = None
    usual_hours: bool = False

    @property
    def is_working(self) -> bool:
        """As a holiday: open (with its hours or the usual ones) rather than closed."""
        return self.usual_hours or self.hours is not None


def parse_time(text: str) -> WallTime:
    """`HH:MM` or `H:MM` -> WallTime (24:00 included); `InvalidInput(TIME_FORMAT)` otherwise."""
    match = _TIME.match(text.strip())
    if not match:
        raise InvalidInput(InputProblem.TIME_FORMAT)
    try:
        return WallTime.hm(int(match.group(1)), int(match.group(2)))
    except ValueError as exc:
        raise InvalidInput(InputProblem.TIME_FORMAT) from exc


def _hours_and_rest(text: str) -> tuple[Hours, str]:
    match = _RANGE.match(text)
    if not match:
        raise InvalidInput(InputProblem.TIME_FORMAT)
    start = parse_time(match.group(1))
    end = closing_time(start, parse_time(match.group(2)))
    if start.is_end_of_day or end <= start:
        raise InvalidInput(InputProblem.HOURS_ORDER)
    return Hours(start, end), match.group(3).strip()


def parse_hours(text: str) -> Hours | None:
    """`09:00-18:00` -> Hours; a day-off word -> None."""
    if text.strip().lower() in DAY_OFF_WORDS:
        return None
    hours, rest = _hours_and_rest(text)
    if rest:
        raise InvalidInput(InputProblem.TIME_FORMAT)
    return hours


def parse_shift(text: str) -> Shift:
    """`10:00-19:00` or `10:00-19:00 Chair 2` (pins that workplace); a day-off word -> no
    shift."""
    if text.strip().lower() in DAY_OFF_WORDS:
        return Shift(None)
    hours, rest = _hours_and_rest(text)
    return Shift(hours, check_text(rest, NAME_MAX, required=False))


def parse_dated(text: str, today: date) -> Dated:
    """`DD.MM[.YYYY]` or `DD.MM[.YYYY] HH:MM-HH:MM`."""
    head, _, rest = text.strip().partition(" ")
    day = parse_day(head, today)
    if not rest.strip():
        return Dated(day)
    hours, extra = _hours_and_rest(rest)
    if extra:
        raise InvalidInput(InputProblem.TIME_FORMAT)
    return Dated(day, hours)


def parse_holiday(text: str, today: date) -> Dated:
    """`DD.MM[.YYYY]` (closed), `DD.MM[.YYYY] HH:MM-HH:MM` (open those hours) or
    `DD.MM[.YYYY] open` (open with the weekday's usual hours)."""
    head, _, rest = text.strip().partition(" ")
    if rest.strip().lower() in OPEN_WORDS:
        return Dated(parse_day(head, today), usual_hours=True)
    return parse_dated(text, today)


def _minutes(text: str, low: int) -> int:
    cleaned = text.strip()
    if not _NUMBER.match(cleaned):
        raise InvalidInput(InputProblem.WHOLE_NUMBER)
    value = int(cleaned)
    if not low <= value <= MAX_MINUTES:
        raise InvalidInput(InputProblem.MINUTES_RANGE, MAX_MINUTES)
    return value


def _money(text: str) -> Decimal:
    cleaned = text.strip().replace(" ", "")
    if not _MONEY.match(cleaned):
        raise InvalidInput(InputProblem.AMOUNT_FORMAT)
    value = Decimal(cleaned.replace(",", "."))
    if value == 0:
        return Decimal("0.00")
    return check_amount(value)


def _timezone(text: str) -> str:
    name = text.strip()
    if not is_zone_name(name):
        raise InvalidInput(InputProblem.TIMEZONE_UNKNOWN)
    return name


def _capacity(text: str) -> int | None:
    cleaned = text.strip()
    if not _NUMBER.match(cleaned):
        raise InvalidInput(InputProblem.WHOLE_NUMBER)
    value = int(cleaned)
    if value > MAX_CAPACITY:
        raise InvalidInput(InputProblem.WHOLE_NUMBER)
    return value or None


Value = str | int | Decimal | Hours | Shift | Dated | None


def parse_value(kind: FieldType, text: str, today: date) -> Value:
    """Read `text` as a value of `kind`; raises `InvalidInput` naming the broken rule."""
    raw = text.strip()
    optional = kind in _OPTIONAL
    if optional and raw == CLEAR:
        return None
    if kind is FieldType.NAME:
        return check_text(raw, NAME_MAX, required=True, empty=InputProblem.NAME_EMPTY)
    if kind is FieldType.TEXT:
        return check_text(raw, NAME_MAX, required=False)
    if kind is FieldType.LONG_TEXT:
        return check_text(raw, NOTES_MAX, required=False)
    if kind in (FieldType.MONEY, FieldType.MONEY_OPT):
        return _money(raw)
    if kind in (FieldType.MINUTES, FieldType.MINUTES_OPT):
        return _minutes(raw, 1)
    if kind in (FieldType.BREAK, FieldType.BREAK_OPT):
        return _minutes(raw, 0)
    if kind is FieldType.TIMEZONE:
        return _timezone(raw)
    if kind is FieldType.CAPACITY:
        return _capacity(raw)
    if kind is FieldType.HOURS:
        return parse_hours(raw)
    if kind is FieldType.SHIFT:
        return parse_shift(raw)
    if kind is FieldType.HOLIDAY:
        return parse_holiday(raw, today)
    return parse_dated(raw, today)


_OPTIONAL = frozenset(
    {
        FieldType.TEXT,
        FieldType.LONG_TEXT,
        FieldType.MONEY_OPT,
        FieldType.MINUTES_OPT,
        FieldType.BREAK_OPT,
        FieldType.CAPACITY,
    }
)


def is_optional(kind: FieldType) -> bool:
    """True when `-` clears a value of this type."""
    return kind in _OPTIONAL
