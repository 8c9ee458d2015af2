"""Who is open and who works when, on one location-local date (docs/rules.md#open-hours)."""

from __future__ import annotations

from datetime import date

from bot.domain.catalog import Calendar, WorkingHours
from bot.domain.intervals import Interval, subtract
from bot.domain.walltime import WallTime


def location_hours(
    catalog: WorkingHours, calendar: Calendar, day: date
) -> tuple[WallTime, WallTime] | None:
    """The location's open hours on `day`, or None when it is closed.

    A holiday row wins: not working closes the day; working opens it with the row's hours, or
    with that weekday's regular hours when the row has none. Otherwise the weekly row decides;
    a missing weekday or a day off means closed.
    """
    weekly = catalog.weekly_hours.get(day.isoweekday())
    holiday = calendar.holidays.get(day)
    if holiday is not None:
        if not holiday.is_working:
            return None
        if holiday.start is not None and holiday.end is not None:
            return _ordered(holiday.start, holiday.end)
        # A working holiday without hours on a weekday that is normally off: no hours to use.
        if weekly is None or weekly.start is None or weekly.end is None:
            return None
        return _ordered(weekly.start, weekly.end)
    if weekly is None or weekly.is_day_off or weekly.start is None or weekly.end is None:
        return None
    return _ordered(weekly.start, weekly.end)


def specialist_hours(
    catalog: WorkingHours, calendar: Calendar, specialist_id: int, day: date
) -> list[Interval]:
    """The specialist's working pieces on `day` as naive local wall-clock intervals, in order:
    their shift intersected with the location's open hours, minus that date's breaks. An end
    of `24:00` is the next date's 00:00 (the piece runs until midnight)."""
    shift = catalog.shifts.get((specialist_id, day.isoweekday()))
    if shift is None or shift.is_day_off or shift.start is None or shift.end is None:
        return []
    open_hours = location_hours(catalog, calendar, day)
    if open_hours is None:
        return []
    start = max(shift.start, open_hours[0])
    end = min(shift.end, open_hours[1])
    if start >= end:
        return []
    pieces: list[Interval] = [(start.on(day), end.on(day))]
    for row in calendar.breaks.get((specialist_id, day), ()):
        if row.start is None or row.end is None:
            return []  # off the whole date
        pieces = subtract(pieces, (row.start.on(day), row.end.on(day)))
    return pieces


def _ordered(start: WallTime, end: WallTime) -> tuple[WallTime, WallTime] | None:
    return (start, end) if start < end else None
