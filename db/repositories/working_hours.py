"""Working hours of every specialist at a location, for occupancy and a change's impact.
Queries only: nothing here commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.catalog import LocationHours, Shift, WeeklyHours
from db.models import Location, LocationSchedule, Specialist, SpecialistSchedule


async def load_location_hours(session: AsyncSession, location_id: int) -> LocationHours | None:
    """The location's weekly hours and the shifts there of its active specialists (whatever
    services they do), or None when the location is missing or inactive. Three queries."""
    head = (
        await session.execute(
            select(Location.timezone, Location.capacity).where(
                Location.id == location_id, Location.is_active.is_(True)
            )
        )
    ).one_or_none()
    if head is None:
        return None
    weekly = {
        r.day_of_week: WeeklyHours(r.day_of_week, r.start_time, r.end_time, r.is_day_off)
        for r in await session.execute(
            select(
                LocationSchedule.day_of_week,
                LocationSchedule.start_time,
                LocationSchedule.end_time,
                LocationSchedule.is_day_off,
            ).where(LocationSchedule.location_id == location_id)
        )
    }
    shifts = {
        (r.specialist_id, r.day_of_week): Shift(
            r.specialist_id, r.day_of_week, r.start_time, r.end_time, r.is_day_off, r.workplace_id
        )
        for r in await session.execute(
            select(
                SpecialistSchedule.specialist_id,
                SpecialistSchedule.day_of_week,
                SpecialistSchedule.start_time,
                SpecialistSchedule.end_time,
                SpecialistSchedule.is_day_off,
                SpecialistSchedule.workplace_id,
            )
            .join(Specialist, Specialist.id == SpecialistSchedule.specialist_id)
            .where(
                SpecialistSchedule.location_id == location_id,
                Specialist.is_active.is_(True),
            )
        )
    }
    return LocationHours(location_id, head.timezone, head.capacity, weekly, shifts)
