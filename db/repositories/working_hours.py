"""Working hours of every specialist at a location, for occupancy and a change's impact.
Queries only: nothing here commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.catalog import BreakRow, Calendar, Holiday, LocationHours, Shift
from db.models import Break, Location, Specialist, SpecialistSchedule
from db.models import Holiday as HolidayModel
from db.repositories.schedule_rows import (
    break_of,
    holiday_of,
    load_weekly_hours,
    readable,
    shift_of,
)


async def load_location_hours(
    session: AsyncSession, location_ids: Iterable[int]
) -> dict[int, LocationHours]:
    """Per active location among `location_ids`: its weekly hours and the shifts there of its
    active specialists (whatever services they do). Inactive or missing locations are left
    out. Three queries, however many locations."""
    ids = list(location_ids)
    heads = (
        await session.execute(
            select(Location.id, Location.timezone, Location.capacity).where(
                Location.id.in_(ids), Location.is_active.is_(True)
            )
        )
    ).all()
    weekly = await load_weekly_hours(session, ids)
    shifts: dict[int, dict[tuple[int, int], Shift]] = defaultdict(dict)
    for s in await session.execute(
        select(
            SpecialistSchedule.id,
            SpecialistSchedule.location_id,
            SpecialistSchedule.specialist_id,
            SpecialistSchedule.day_of_week,
            SpecialistSchedule.start_time,
            SpecialistSchedule.end_time,
            SpecialistSchedule.is_day_off,
            SpecialistSchedule.workplace_id,
        )
        .join(Specialist, Specialist.id == SpecialistSchedule.specialist_id)
        .where(SpecialistSchedule.location_id.in_(ids), Specialist.is_active.is_(True))
    ):
        shift = readable("specialist_schedules", s.id, shift_of, s)
        if shift is not None:
            shifts[s.location_id][(s.specialist_id, s.day_of_week)] = shift
    return {
        h.id: LocationHours(h.id, h.timezone, h.capacity, weekly[h.id], shifts[h.id]) for h in heads
    }


async def load_calendars(
    session: AsyncSession,
    hours: dict[int, LocationHours],
    first: date,
    last: date,
) -> dict[int, Calendar]:
    """Per location of `hours`: its holidays and its specialists' breaks for dates in
    [first, last]. Two queries, however many locations."""
    holidays: dict[int, dict[date, Holiday]] = defaultdict(dict)
    for h in (
        await session.execute(
            select(HolidayModel).where(
                HolidayModel.location_id.in_(list(hours)),
                HolidayModel.date >= first,
                HolidayModel.date <= last,
            )
        )
    ).scalars():
        holiday = readable("holidays", h.id, holiday_of, h)
        if holiday is not None:
            holidays[h.location_id][h.date] = holiday
    specialists = {i for h in hours.values() for i in h.specialist_ids}
    breaks: dict[tuple[int, date], list[BreakRow]] = defaultdict(list)
    for b in (
        await session.execute(
            select(Break).where(
                Break.specialist_id.in_(list(specialists)),
                Break.date >= first,
                Break.date <= last,
            )
        )
    ).scalars():
        row = readable("breaks", b.id, break_of, b)
        if row is not None:
            breaks[(b.specialist_id, b.date)].append(row)
    frozen = {k: tuple(v) for k, v in breaks.items()}
    return {loc: Calendar(holidays=holidays[loc], breaks=frozen) for loc in hours}
