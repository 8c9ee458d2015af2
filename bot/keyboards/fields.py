"""Typed, range-checked fields for callback data.

Callback data comes from the client's device and can be forged: every field is checked by its
type and range while it is parsed, before any handler (and so any query) sees it. A value out of
range makes the `CallbackData.filter()` miss (aiogram treats the `ValidationError`, a
`ValueError`, as "not this button"), so the press ends in the fallback's "this button is out of
date" answer, with no traceback and no database round trip.

- `DbId`: a row id, a positive PostgreSQL `integer` (1 .. 2**31-1); `OptionalDbId` also 0.
- `Timestamp`: a UTC POSIX time in seconds within [2000-01-01, 2100-01-01).
- `DayCode`: a calendar date written `YYYYMMDD` on the wire, within [2000-01-01, 2100-01-01).
- `FlowToken`: the booking flow's token, 1 to 16 lowercase hex digits.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import BeforeValidator, Field, PlainSerializer

from bot.domain.periods import END_DAY, FIRST_DAY

INT32_MAX = 2**31 - 1
MIN_TIMESTAMP = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp())
END_TIMESTAMP = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp())  # exclusive

DbId = Annotated[int, Field(ge=1, le=INT32_MAX)]
OptionalDbId = Annotated[int, Field(ge=0, le=INT32_MAX)]  # 0 = none chosen
Timestamp = Annotated[int, Field(ge=MIN_TIMESTAMP, lt=END_TIMESTAMP)]
FlowToken = Annotated[str, Field(pattern=r"^[0-9a-f]{1,16}$")]


def is_db_id(value: int) -> bool:
    """True when `value` can be a row id (a positive PostgreSQL `integer`)."""
    return 1 <= value <= INT32_MAX


def day_code(day: date) -> str:
    """`YYYYMMDD`, the wire form of a date in callback data."""
    return day.strftime("%Y%m%d")


def parse_day_code(code: object) -> date:
    """A `YYYYMMDD` string (or a date) as a date within the sane range; `ValueError` otherwise."""
    if isinstance(code, date):
        day = code
    elif isinstance(code, str) and len(code) == 8 and code.isascii() and code.isdigit():
        day = date(int(code[:4]), int(code[4:6]), int(code[6:]))
    else:
        raise ValueError("a date is written YYYYMMDD")
    if not FIRST_DAY <= day < END_DAY:
        raise ValueError("the date is out of range")
    return day


DayCode = Annotated[
    date, BeforeValidator(parse_day_code), PlainSerializer(day_code, return_type=str)
]
