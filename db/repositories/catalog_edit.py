"""Single catalog and schedule edits (the admin's changes). Queries only: nothing commits.

Each function returns the row's values before the change (None when there was no row), so the
caller can write the audit row's "before" side.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.walltime import WallTime
from db.models import (
    Break,
    Holiday,
    Location,
    LocationSchedule,
    Service,
    Specialist,
    SpecialistSchedule,
    Workplace,
)

EntityKind = Literal["location", "workplace", "service", "specialist"]
_MODELS: dict[str, Any] = {
    "location": Location,
    "workplace": Workplace,
    "service": Service,
    "specialist": Specialist,
}


async def exists(session: AsyncSession, kind: EntityKind, entity_id: int) -> bool:
    model = _MODELS[kind]
    return (await session.scalar(select(model.id).where(model.id == entity_id))) is not None


async def with_state(session: AsyncSession, kind: EntityKind) -> list[tuple[int, str, bool]]:
    """Every row of the kind, active or not, as (id, name, is_active), by name."""
    model = _MODELS[kind]
    rows = await session.execute(
        select(model.id, model.name, model.is_active).order_by(model.name, model.id)
    )
    return [(int(r[0]), str(r[1]), bool(r[2])) for r in rows]


async def set_active(
    session: AsyncSession, kind: EntityKind, entity_id: int, active: bool
) -> bool | None:
    """Set `is_active`; returns the previous value, or None when there is no such row."""
    model = _MODELS[kind]
    before = await session.scalar(
        select(model.is_active).where(model.id == entity_id).with_for_update()
    )
    if before is None:
        return None
    await session.execute(update(model).where(model.id == entity_id).values(is_active=active))
    return bool(before)


def _hours(start: WallTime | None, end: WallTime | None) -> dict[str, Any] | None:
    if start is None or end is None:
        return None
    return {"start": str(start), "end": str(end)}  # 24:00 stays 24:00


async def put_holiday(
    session: AsyncSession,
    location_id: int,
    day: dt.date,
    *,
    is_working: bool,
    start: WallTime | None,
    end: WallTime | None,
    description: str | None,
) -> dict[str, Any] | None:
    """Create or replace the location's holiday on `day`."""
    row = await session.scalar(
        select(Holiday).where(Holiday.location_id == location_id, Holiday.date == day)
    )
    before = None
    if row is None:
        row = Holiday(location_id=location_id, date=day)
        session.add(row)
    else:
        before = {"is_working": row.is_working, "hours": _hours(row.start_time, row.end_time)}
    row.is_working, row.start_time, row.end_time = is_working, start, end
    row.description = description
    await session.flush()
    return before


async def add_break(
    session: AsyncSession,
    specialist_id: int,
    day: dt.date,
    *,
    start: WallTime | None,
    end: WallTime | None,
    reason: str | None,
) -> None:
    """Add a break (both times None: the specialist is off the whole date)."""
    session.add(
        Break(specialist_id=specialist_id, date=day, start_time=start, end_time=end, reason=reason)
    )
    await session.flush()


async def put_location_hours(
    session: AsyncSession,
    location_id: int,
    day_of_week: int,
    start: WallTime | None,
    end: WallTime | None,
) -> dict[str, Any] | None:
    """Set a weekday's hours (None: a day off)."""
    row = await session.scalar(
        select(LocationSchedule).where(
            LocationSchedule.location_id == location_id,
            LocationSchedule.day_of_week == day_of_week,
        )
    )
    before = None
    if row is None:
        row = LocationSchedule(location_id=location_id, day_of_week=day_of_week)
        session.add(row)
    else:
        before = {"hours": None if row.is_day_off else _hours(row.start_time, row.end_time)}
    row.start_time, row.end_time, row.is_day_off = start, end, start is None
    await session.flush()
    return before


async def put_specialist_hours(
    session: AsyncSession,
    specialist_id: int,
    location_id: int,
    day_of_week: int,
    start: WallTime | None,
    end: WallTime | None,
    workplace_id: int | None = None,
) -> dict[str, Any] | None:
    """Set the specialist's hours at the location on a weekday (None: no shift that day)."""
    where = (
        SpecialistSchedule.specialist_id == specialist_id,
        SpecialistSchedule.location_id == location_id,
        SpecialistSchedule.day_of_week == day_of_week,
    )
    row = await session.scalar(select(SpecialistSchedule).where(*where))
    before = None
    if row is not None:
        before = {"hours": None if row.is_day_off else _hours(row.start_time, row.end_time)}
    if start is None:
        await session.execute(delete(SpecialistSchedule).where(*where))
        return before
    if row is None:
        row = SpecialistSchedule(
            specialist_id=specialist_id, location_id=location_id, day_of_week=day_of_week
        )
        session.add(row)
    row.start_time, row.end_time, row.is_day_off = start, end, False
    row.workplace_id = workplace_id
    await session.flush()
    return before


async def set_capacity(
    session: AsyncSession, location_id: int, capacity: int | None
) -> dict[str, Any] | None:
    """Set the location's capacity (None or 0: no cap)."""
    row = await session.get(Location, location_id, with_for_update=True)
    if row is None:
        return None
    before = {"capacity": row.capacity}
    row.capacity = capacity
    await session.flush()
    return before
