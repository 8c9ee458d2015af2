"""Working time as absolute instants: how long specialists work over a period (occupancy) and
whether a booked appointment still fits the schedule after a catalog change.

Both read the same rules as the slot engine (`bot.domain.schedule.specialist_hours`: weekly
hours, holidays, shifts, breaks) and convert wall-clock boundaries with
`bot.domain.tz.boundary_instant`, so a DST change shortens or lengthens a working day by the real
hour, exactly as the slot grid sees it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.catalog import Calendar, LocationHours
from bot.domain.intervals import Interval
from bot.domain.schedule import specialist_hours
from bot.domain.tz import boundary_instant, day_bounds


def working_instants(
    hours: LocationHours, calendar: Calendar, specialist_id: int, day: date
) -> list[Interval]:
    """The specialist's working pieces at the location on local `day` as aware UTC intervals
    [start, end), in order; empty when they do not work that day."""
    tz = ZoneInfo(hours.timezone)
    out: list[Interval] = []
    for start, end in specialist_hours(hours, calendar, specialist_id, day):
        a, b = boundary_instant(start, tz), boundary_instant(end, tz)
        if a < b:
            out.append((a, b))
    return out


def working_minutes(
    hours: LocationHours,
    calendar: Calendar,
    first: date,
    last: date,
    specialist_ids: Iterable[int] | None = None,
) -> dict[int, int]:
    """Minutes each specialist works at the location over local dates [first, last] inclusive.

    `specialist_ids` limits the answer (default: everyone with a shift there); a specialist who
    never works in the period maps to 0. Breaks, holidays and days off count as not working."""
    wanted = hours.specialist_ids if specialist_ids is None else sorted(set(specialist_ids))
    totals = dict.fromkeys(wanted, 0)
    tz = ZoneInfo(hours.timezone)
    day = first
    while day <= last:
        # Without a clock change that date, wall-clock minutes are real minutes (the slot
        # engine's DayPlan takes the same shortcut); otherwise convert each boundary.
        steady = _steady(day, tz)
        for specialist_id in wanted:
            for start, end in specialist_hours(hours, calendar, specialist_id, day):
                if not steady:
                    start, end = boundary_instant(start, tz), boundary_instant(end, tz)
                totals[specialist_id] += max(0, int((end - start).total_seconds()) // 60)
        day += timedelta(days=1)
    return totals


def _steady(day: date, tz: ZoneInfo) -> bool:
    """True when the zone's UTC offset is the same all of local `day`."""
    start, end = day_bounds(day, tz)
    last = end - timedelta(microseconds=1)
    return start.astimezone(tz).utcoffset() == last.astimezone(tz).utcoffset()


def fits_working_time(pieces: Sequence[Interval], start: datetime, end: datetime) -> bool:
    """True when [start, end) lies inside one working piece (the whole blocked interval of an
    appointment, its break included, must be working time, as for a new slot)."""
    return any(a <= start and end <= b for a, b in pieces)


@dataclass(frozen=True, slots=True)
class Occupying:
    """An appointment as capacity sees it: in progress over [start, end)."""

    appointment_id: int
    start: datetime
    end: datetime


def over_capacity(appointments: Iterable[Occupying], capacity: int | None) -> list[int]:
    """Ids of the appointments that a location capacity of `capacity` no longer admits.

    Appointments keep their places in booking order (lower id first); one that would make more
    than `capacity` run at once is out. None or 0 means no cap, so nobody is out."""
    if not capacity:
        return []
    kept: list[Occupying] = []
    out: list[int] = []
    for appt in sorted(appointments, key=lambda a: a.appointment_id):
        running = [k for k in kept if k.start < appt.end and appt.start < k.end]
        if _peak(running, appt) + 1 > capacity:
            out.append(appt.appointment_id)
        else:
            kept.append(appt)
    return out


def _peak(running: Sequence[Occupying], within: Occupying) -> int:
    """The most of `running` in progress at one instant inside `within`."""
    points = sorted({max(r.start, within.start) for r in running})
    return max(
        (sum(1 for r in running if r.start <= p < r.end) for p in points),
        default=0,
    )
