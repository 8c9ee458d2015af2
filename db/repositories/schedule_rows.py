"""Schedule, holiday and break rows as the slot engine reads them, each checked on its own: a
row the engine cannot use is skipped and logged once with its table and id, so one bad row never
takes down reads of anything else (its location's other days, other specialists, other dates).
Queries only: nothing here commits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.catalog import BreakRow, Holiday, Shift, WeeklyHours
from bot.domain.walltime import WallTime
from db.models import Break, LocationSchedule
from db.models import Holiday as HolidayModel

log = logging.getLogger(__name__)
T = TypeVar("T")
A = TypeVar("A")

# Rows already reported as unreadable, so each is logged once per process, not on every read.
_reported: set[tuple[str, int]] = set()


def readable(table: str, row_id: int, build: Callable[[A], T], row: A) -> T | None:
    """`build(row)`, or None for a row the engine cannot use: such a row is skipped (it never
    takes down reads of anything else) and logged once with its table and id."""
    try:
        return build(row)
    except ValueError as exc:
        if (table, row_id) not in _reported:
            _reported.add((table, row_id))
            log.error("skipping unreadable %s row id=%s: %s", table, row_id, exc)
        return None


def _hours(
    start: WallTime | None, end: WallTime | None, *, required: bool = False
) -> tuple[WallTime | None, WallTime | None]:
    """A row's hours checked as the engine reads them: both or neither (both when
    `required`), and the end after the start. Raises ValueError otherwise."""
    if (start is None) != (end is None) or (required and start is None):
        raise ValueError(f"hours {start}-{end} are incomplete")
    if start is not None and end is not None and end <= start:
        raise ValueError(f"hours {start}-{end} do not end after they start")
    return start, end


def weekly_hours_of(r: Any) -> WeeklyHours:
    if not r.is_day_off:
        _hours(r.start_time, r.end_time, required=True)
    return WeeklyHours(r.day_of_week, r.start_time, r.end_time, r.is_day_off)


def shift_of(r: Any) -> Shift:
    if not r.is_day_off:
        _hours(r.start_time, r.end_time, required=True)
    return Shift(
        r.specialist_id, r.day_of_week, r.start_time, r.end_time, r.is_day_off, r.workplace_id
    )


def holiday_of(h: HolidayModel) -> Holiday:
    return holiday_from((h.date, h.is_working, h.start_time, h.end_time))


def break_of(b: Break) -> BreakRow:
    return break_from((b.specialist_id, b.date, b.start_time, b.end_time))


def holiday_from(row: Sequence[Any]) -> Holiday:
    """A holiday from its (date, is working, start, end) columns; ValueError when unusable."""
    day, is_working, start, end = row
    return Holiday(day, is_working, *_hours(start, end))


def break_from(row: Sequence[Any]) -> BreakRow:
    """A break from its (specialist id, date, start, end) columns; ValueError when unusable."""
    specialist_id, day, start, end = row
    return BreakRow(specialist_id, day, *_hours(start, end))


async def load_weekly_hours(
    session: AsyncSession, location_ids: Iterable[int]
) -> dict[int, dict[int, WeeklyHours]]:
    """The readable `location_schedules` rows of each location, by location id and ISO weekday
    (a location without rows maps to an empty dict). One query."""
    ids = list(location_ids)
    weekly: dict[int, dict[int, WeeklyHours]] = {i: {} for i in ids}
    for r in await session.execute(
        select(
            LocationSchedule.id,
            LocationSchedule.location_id,
            LocationSchedule.day_of_week,
            LocationSchedule.start_time,
            LocationSchedule.end_time,
            LocationSchedule.is_day_off,
        ).where(LocationSchedule.location_id.in_(ids))
    ):
        day = readable("location_schedules", r.id, weekly_hours_of, r)
        if day is not None:
            weekly[r.location_id][r.day_of_week] = day
    return weekly
