"""Pydantic models of the catalog file (see `bot.catalog` for the format and its semantics).

Every model forbids unknown fields, so a typo such as `pricee:` is an error, not a silently
ignored line. These models check one entry at a time (formats, ranges, money); references
between entries are checked by `bot.catalog.checks`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_serializer,
)
from pydantic_core import PydanticCustomError

from bot.domain.admin_input import is_blank
from bot.domain.tz import is_zone_name
from bot.domain.walltime import WallTime, closing_time

FORMAT_VERSION = 1
MAX_MONEY = Decimal(10**10)  # NUMERIC(12, 2)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday keys of the file, in ISO order: `mon` is day 1, `sun` is day 7."""

_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Local wall-clock hours `[start, end)` within one day; `end` is after `start` and may be
    `24:00` (open until midnight)."""

    start: WallTime
    end: WallTime

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


class Off:
    """Marker for a day off in dumped output: written as a bare `off`."""

    def __repr__(self) -> str:
        return "off"


OFF = Off()


def _error(kind: str, message: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, message, ctx)


def _clock(hours: str, minutes: str, raw: str) -> WallTime:
    try:
        return WallTime.hm(int(hours), int(minutes))
    except ValueError:
        raise _error(
            "time_range", '"{raw}": {hh}:{mm} is not a time of day', raw=raw, hh=hours, mm=minutes
        ) from None


def parse_time_range(value: object) -> TimeRange:
    """Read `"HH:MM-HH:MM"`; the end must be after the start (no ranges across midnight).

    `24:00` is the end of the day (`"18:00-24:00"`), and so is an end written `00:00` after a
    later start (`"18:00-00:00"` reads as `18:00-24:00`, see `closing_time`). `24:00` is never
    a start.
    """
    if isinstance(value, TimeRange):
        return value
    if not isinstance(value, str):
        # YAML 1.1 reads an unquoted 10:00 as the number 600: say what was meant.
        hint = " (a single time is not a range)" if isinstance(value, int) else ""
        raise _error(
            "time_range",
            'expected hours like "09:00-18:00", got {value}{hint}',
            value=repr(value),
            hint=hint,
        )
    match = _RANGE.match(value)
    if not match:
        raise _error("time_range", 'expected hours like "09:00-18:00", got "{raw}"', raw=value)
    start = _clock(match.group(1), match.group(2), value)
    end = closing_time(start, _clock(match.group(3), match.group(4), value))
    if start.is_end_of_day:
        raise _error("time_range", '"{raw}": 24:00 ends a day, it cannot start one', raw=value)
    if end <= start:
        raise _error("time_range", '"{raw}": the end must be after the start', raw=value)
    return TimeRange(start, end)


FROM_FILE = {"from_file": True}
"""Validation context of text read from a file (see `_parse_day`)."""


def _parse_day(value: object, info: ValidationInfo) -> TimeRange | None:
    # `off` unquoted is the boolean false in YAML 1.1, so both spellings mean a day off.
    if value is False:
        return None
    if isinstance(value, str) and value.strip().lower() == "off":
        return None
    if value is None:
        # In code, None is a day off; in a file, `mon:` with nothing after it is a slip.
        if not (info.context or {}).get("from_file"):
            return None
        raise _error("day_hours", 'expected hours like "09:00-18:00" or off, got nothing')
    return parse_time_range(value)


def _parse_weekday(value: object, info: ValidationInfo) -> int:
    # Code passes ISO numbers; a file uses names only, so `mon` and `1` cannot both slip in.
    from_file = (info.context or {}).get("from_file")
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 7 and not from_file:
        return value
    if isinstance(value, str) and value.strip().lower() in WEEKDAYS:
        return WEEKDAYS.index(value.strip().lower()) + 1
    raise _error(
        "weekday", '"{value}" is not a weekday (use {keys})', value=value, keys=", ".join(WEEKDAYS)
    )


def _dump_day(value: TimeRange | None) -> object:
    return OFF if value is None else str(value)


def _parse_money(value: object) -> Decimal:
    not_money = _error(
        "money", "expected an amount like 1500 or 1500.50, got {value}", value=repr(value)
    )
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str | float):
        raise not_money
    try:
        amount = Decimal(str(value).strip())
    except ArithmeticError:
        raise not_money from None
    if not amount.is_finite():
        raise not_money
    if amount < 0:
        raise _error("money", "must not be negative, got {value}", value=str(value))
    if amount >= MAX_MONEY:
        raise _error(
            "money", "must be less than {max}, got {value}", max=MAX_MONEY, value=str(value)
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise _error("money", "at most 2 decimals, got {value}", value=str(value))
    return amount.quantize(Decimal("0.01"))


Weekday = Annotated[int, PlainValidator(_parse_weekday), PlainSerializer(lambda d: WEEKDAYS[d - 1])]
DayHours = Annotated[TimeRange | None, PlainValidator(_parse_day), PlainSerializer(_dump_day)]
Hours = Annotated[TimeRange, PlainValidator(parse_time_range), PlainSerializer(str)]
Money = Annotated[Decimal, PlainValidator(_parse_money)]
WeekHours = dict[Weekday, DayHours]


def _visible_name(value: str) -> str:
    if is_blank(value):
        raise _error("name", "a name must have a visible character, got {value}", value=repr(value))
    return value


Name = Annotated[str, Field(min_length=1), AfterValidator(_visible_name)]
Language = Annotated[str, Field(pattern=r"^[a-z]{2}$")]
# The name in other languages (`name_i18n: {en: Haircut}`); `name` stays the base name.
Names = dict[Language, Name]
# Upper bounds keep values inside the column types and a working day.
Minutes = Annotated[int, Field(gt=0, le=24 * 60, strict=True)]
BreakMinutes = Annotated[int, Field(ge=0, le=24 * 60, strict=True)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


def _service_shorthand(value: object) -> object:
    # `- Стрижка` is short for `- {service: Стрижка}`.
    return {"service": value} if isinstance(value, str) else value


class _ServiceLink(_Entry):
    @model_serializer(mode="wrap")
    def _short(self, handler: Any) -> Any:
        data = handler(self)
        if isinstance(data, dict) and set(data) == {"service"}:
            return data["service"]
        return data


class WorkplaceServiceEntry(_ServiceLink):
    """A service a workplace hosts; unset overrides fall back to the service's values."""

    service: Name
    price: Money | None = None
    duration_min: Minutes | None = None
    break_min: BreakMinutes | None = None
    active: bool = True


class WorkplaceEntry(_Entry):
    name: Name
    name_i18n: Names = {}
    type: str | None = None
    active: bool = True
    services: list[Annotated[WorkplaceServiceEntry, BeforeValidator(_service_shorthand)]] = []


class HolidayEntry(_Entry):
    """A date that overrides the weekly hours: closed, or open (with its own hours if given)."""

    date: date
    working: bool = False
    hours: Hours | None = None
    description: str | None = None

    @field_validator("hours")
    @classmethod
    def _hours_only_when_working(cls, value: TimeRange | None, info: ValidationInfo) -> object:
        if value is not None and info.data.get("working") is False:
            raise _error(
                "holiday_hours", "hours are only allowed on a working holiday (working: true)"
            )
        return value


class LocationEntry(_Entry):
    name: Name
    name_i18n: Names = {}
    address: str | None = None
    timezone: str | None = None
    capacity: Annotated[int, Field(ge=0, le=100_000, strict=True)] | None = None
    active: bool = True
    hours: WeekHours = {}
    holidays: list[HolidayEntry] = []
    workplaces: list[WorkplaceEntry] = []

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None and not is_zone_name(value):
            raise _error(
                "timezone", '"{tz}" is not an IANA time zone (e.g. Europe/Moscow)', tz=value
            )
        return value


class ServiceEntry(_Entry):
    name: Name
    name_i18n: Names = {}
    description: str | None = None
    duration_min: Minutes
    break_min: BreakMinutes = 0
    price: Money
    active: bool = True


class SpecialistServiceEntry(_ServiceLink):
    """A service a specialist does; custom price/duration win over the workplace and service."""

    service: Name
    custom_price: Money | None = None
    custom_duration: Minutes | None = None
    active: bool = True


class ScheduleEntry(_Entry):
    """Weekly hours at one location; `workplace` pins that workplace on these days."""

    location: Name
    workplace: Name | None = None
    hours: WeekHours


class BreakEntry(_Entry):
    """Time off on one date; no hours means the whole date."""

    date: date
    hours: Hours | None = None
    reason: str | None = None


class SpecialistEntry(_Entry):
    name: Name
    name_i18n: Names = {}
    specialization: str | None = None
    tg_id: Annotated[int, Field(gt=0, lt=2**63, strict=True)] | None = None
    language: Annotated[str, Field(pattern=r"^(ru|en)$")] = "ru"
    active: bool = True
    services: list[Annotated[SpecialistServiceEntry, BeforeValidator(_service_shorthand)]] = []
    schedule: list[ScheduleEntry] = []
    breaks: list[BreakEntry] = []


class CatalogFile(_Entry):
    """The whole file: the desired state of the catalog and schedules."""

    version: int = FORMAT_VERSION
    services: list[ServiceEntry] = []
    locations: list[LocationEntry] = []
    specialists: list[SpecialistEntry] = []

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        return check_version(value)


def check_version(value: int) -> int:
    """Only the format this code writes is read: a newer file is refused, not misread."""
    if value != FORMAT_VERSION:
        raise _error(
            "version", "unsupported format version {v} (expected {e})", v=value, e=FORMAT_VERSION
        )
    return value
