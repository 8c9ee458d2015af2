"""The catalog, calendar and occupancy as the slot engine sees them: plain values loaded by
`db/repositories/catalog.py`, so the engine itself never touches a database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple, Protocol

from bot.domain.pricing import ServiceTerms, SpecialistLink, WorkplaceLink
from bot.domain.walltime import WallTime


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """A `location_schedules` row (local wall-clock)."""

    day_of_week: int  # ISO: 1 = Monday ... 7 = Sunday
    start: WallTime | None
    end: WallTime | None  # 24:00 closes at midnight
    is_day_off: bool = False


@dataclass(frozen=True, slots=True)
class Holiday:
    """A `holidays` row: closes the location, or opens it (with these hours or the weekday's)."""

    date: date
    is_working: bool
    start: WallTime | None = None
    end: WallTime | None = None


@dataclass(frozen=True, slots=True)
class Shift:
    """A `specialist_schedules` row at the catalog's location; `workplace_id` pins a workplace."""

    specialist_id: int
    day_of_week: int
    start: WallTime | None
    end: WallTime | None  # 24:00 closes at midnight
    is_day_off: bool = False
    workplace_id: int | None = None


@dataclass(frozen=True, slots=True)
class BreakRow:
    """A `breaks` row; both times None means the specialist is off that whole date."""

    specialist_id: int
    date: date
    start: WallTime | None = None
    end: WallTime | None = None


@dataclass(frozen=True)
class ServiceCatalog:
    """Everything static about booking one service at one location.

    Only active rows are present: the loader drops inactive locations, workplaces, services,
    specialists and links, so the engine does not have to know about `is_active`.
    """

    location_id: int
    timezone: str
    capacity: int | None
    service: ServiceTerms
    weekly_hours: Mapping[int, WeeklyHours]
    workplaces: tuple[WorkplaceLink, ...]
    specialists: tuple[SpecialistLink, ...]
    shifts: Mapping[tuple[int, int], Shift]  # (specialist_id, day_of_week) -> shift


class WorkingHours(Protocol):
    """What the schedule rules read: a location's weekly hours and its specialists' shifts.

    `ServiceCatalog` (one service) and `LocationHours` (every specialist) both provide it."""

    @property
    def weekly_hours(self) -> Mapping[int, WeeklyHours]: ...

    @property
    def shifts(self) -> Mapping[tuple[int, int], Shift]: ...


@dataclass(frozen=True)
class LocationHours:
    """A location's weekly hours and the shifts of every active specialist working there,
    whatever services they do: what working time (occupancy, a change's impact) is read from."""

    location_id: int
    timezone: str
    capacity: int | None
    weekly_hours: Mapping[int, WeeklyHours]
    shifts: Mapping[tuple[int, int], Shift]  # (specialist_id, day_of_week) -> shift

    @property
    def specialist_ids(self) -> list[int]:
        return sorted({specialist_id for specialist_id, _ in self.shifts})


@dataclass(frozen=True)
class Calendar:
    """Dated exceptions over a range of dates: holidays and breaks."""

    holidays: Mapping[date, Holiday] = field(default_factory=dict)
    breaks: Mapping[tuple[int, date], tuple[BreakRow, ...]] = field(default_factory=dict)


class BusyAppointment(NamedTuple):
    """An active (not cancelled) appointment: the specialist and workplace are busy for
    [start, blocked_until), the client and the location's capacity for [start, end).
    `booking_key`: the id of the hold it was booked with (None: booked without one).
    A named tuple rather than a frozen dataclass: one is built per row read, and a tuple is
    built about four times faster (docs/bench-booking.md)."""

    appointment_id: int
    location_id: int
    specialist_id: int
    workplace_id: int
    client_id: int
    start: datetime
    end: datetime
    blocked_until: datetime
    booking_key: str | None = None
