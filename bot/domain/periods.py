"""Statistics periods: named ones relative to a local `today`, or a custom `DD.MM-DD.MM`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from bot.domain.errors import DomainError

# The dates the product works with, [FIRST_DAY, END_DAY): a typed date outside them is refused
# as a wrong date, and buttons carry no other (`bot/keyboards/fields.py` uses the same range).
FIRST_DAY = date(2000, 1, 1)
END_DAY = date(2100, 1, 1)  # exclusive


def supported_day(day: date) -> bool:
    """True when `day` is within [FIRST_DAY, END_DAY)."""
    return FIRST_DAY <= day < END_DAY


# The longest custom period: a year (and a leap day).
MAX_DAYS = 366

_DATE = r"(\d{1,2})\.(\d{1,2})(?:\.(\d{4}))?"
_CUSTOM = re.compile(rf"^\s*{_DATE}\s*-\s*{_DATE}\s*$")


class PeriodKind(StrEnum):
    TODAY = "today"
    WEEK = "week"
    MONTH = "month"
    LAST_30 = "30d"
    CUSTOM = "custom"


class BadPeriod(DomainError):
    """The text is not a period or a date (`reason`: "format", "date", "order", "too_long",
    or "past" for a date before today)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Period:
    """Local dates [first, last], both inclusive."""

    kind: PeriodKind
    first: date
    last: date

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def named_period(kind: PeriodKind, today: date) -> Period:
    """Today; this week (Monday to today); this month (the 1st to today); the last 30 days
    (today included)."""
    if kind is PeriodKind.TODAY:
        return Period(kind, today, today)
    if kind is PeriodKind.WEEK:
        return Period(kind, today - timedelta(days=today.isoweekday() - 1), today)
    if kind is PeriodKind.MONTH:
        return Period(kind, today.replace(day=1), today)
    if kind is PeriodKind.LAST_30:
        return Period(kind, today - timedelta(days=29), today)
    raise BadPeriod("format")


def parse_period(text: str, today: date) -> Period:
    """A named period (`today`, `week`, `month`, `30d`) or `DD.MM-DD.MM` (each date may carry
    `.YYYY`). A date without a year is in `today`'s year; a range whose end comes before its
    start without years runs over New Year (the start is in the previous year).

    Raises `BadPeriod` for anything else, an impossible date, an end before the start, or a
    range longer than `MAX_DAYS`."""
    raw = text.strip().lower()
    named = _named(raw, today)
    if named is not None:
        return named
    match = _CUSTOM.match(raw)
    if match is None:
        raise BadPeriod("format")
    d1, m1, y1, d2, m2, y2 = match.groups()
    try:
        first = date(int(y1) if y1 else today.year, int(m1), int(d1))
        last = date(int(y2) if y2 else today.year, int(m2), int(d2))
        if last < first and not y1 and not y2:
            first = first.replace(year=first.year - 1)
    except ValueError:
        raise BadPeriod("date") from None
    return _custom(first, last)


def _named(raw: str, today: date) -> Period | None:
    kind = next((k for k in PeriodKind if k is not PeriodKind.CUSTOM and k.value == raw), None)
    return None if kind is None else named_period(kind, today)


def _custom(first: date, last: date) -> Period:
    if not (supported_day(first) and supported_day(last)):
        raise BadPeriod("date")
    if last < first:
        raise BadPeriod("order")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadPeriod("too_long")
    return Period(PeriodKind.CUSTOM, first, last)


def period_token(period: Period) -> str:
    """A compact form for callback data: the named kind, or `YYYYMMDD-YYYYMMDD`."""
    if period.kind is not PeriodKind.CUSTOM:
        return period.kind.value
    return f"{period.first:%Y%m%d}-{period.last:%Y%m%d}"


def period_from_token(token: str, today: date) -> Period:
    """The period `period_token` wrote (a named one is re-read against `today`). Raises
    `BadPeriod` for anything else: callback data is not trusted."""
    named = _named(token, today)
    if named is not None:
        return named
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})-(\d{4})(\d{2})(\d{2})", token)
    if match is None:
        raise BadPeriod("format")
    y1, m1, d1, y2, m2, d2 = (int(g) for g in match.groups())
    try:
        first, last = date(y1, m1, d1), date(y2, m2, d2)
    except ValueError:
        raise BadPeriod("date") from None
    return _custom(first, last)


def parse_day(text: str, today: date) -> date:
    """`DD.MM` or `DD.MM.YYYY` (also `D.M`), today or later. Without a year: the next such
    date from `today` on. Raises `BadPeriod` ("format", "date" or "past")."""
    match = re.fullmatch(_DATE, text.strip())
    if match is None:
        raise BadPeriod("format")
    d, m, y = match.groups()
    try:
        day = date(int(y) if y else today.year, int(m), int(d))
        if day < today and not y:
            day = day.replace(year=today.year + 1)
    except ValueError:
        raise BadPeriod("date") from None
    if not supported_day(day):
        raise BadPeriod("date")
    if day < today:
        raise BadPeriod("past")
    return day
