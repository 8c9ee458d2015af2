"""What a catalog change would touch: the future booked appointments and whether their catalog
rows are still active. Queries only: nothing here commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Appointment,
    Client,
    Location,
    Service,
    ServiceSpecialist,
    Specialist,
    Workplace,
    WorkplaceService,
)
from db.repositories.appointments import BOOKED, LOCK_SPECIALIST, lock_resources


@dataclass(frozen=True, slots=True)
class BookedRow:
    """A future booked appointment with what a change can take away from it."""

    appointment_id: int
    location_id: int
    specialist_id: int
    start: dt.datetime
    end: dt.datetime
    blocked_until: dt.datetime
    timezone: str
    # Location, service, specialist, workplace and both links are all still active, and the
    # workplace is still at the appointment's location.
    catalog_active: bool
    location: str
    specialist: str
    service: str
    client: str
    # Translated names (`name_i18n`) of the location, specialist and service.
    location_i18n: dict[str, str]
    specialist_i18n: dict[str, str]
    service_i18n: dict[str, str]


async def future_booked(session: AsyncSession, now: dt.datetime) -> list[BookedRow]:
    """Booked appointments that have not started by `now`, soonest first."""
    active = and_(
        Location.is_active,
        Service.is_active,
        Specialist.is_active,
        Workplace.is_active,
        func.coalesce(ServiceSpecialist.is_active, False),
        func.coalesce(WorkplaceService.is_active, False),
        Workplace.location_id == Appointment.location_id,
    )
    client = func.concat_ws(" ", Client.first_name, Client.last_name)
    rows = await session.execute(
        select(
            Appointment.id,
            Appointment.location_id,
            Appointment.specialist_id,
            Appointment.start_time,
            Appointment.end_time,
            Appointment.blocked_until,
            Location.timezone,
            active,
            Location.name,
            Specialist.name,
            Service.name,
            client,
            Location.name_i18n,
            Specialist.name_i18n,
            Service.name_i18n,
        )
        .select_from(Appointment)
        .join(Location, Location.id == Appointment.location_id)
        .join(Service, Service.id == Appointment.service_id)
        .join(Specialist, Specialist.id == Appointment.specialist_id)
        .join(Workplace, Workplace.id == Appointment.workplace_id)
        .join(Client, Client.id == Appointment.client_id)
        .outerjoin(
            ServiceSpecialist,
            (ServiceSpecialist.service_id == Appointment.service_id)
            & (ServiceSpecialist.specialist_id == Appointment.specialist_id),
        )
        .outerjoin(
            WorkplaceService,
            (WorkplaceService.workplace_id == Appointment.workplace_id)
            & (WorkplaceService.service_id == Appointment.service_id),
        )
        .where(Appointment.status == BOOKED, Appointment.start_time >= now)
        .order_by(Appointment.start_time, Appointment.id)
    )
    return [BookedRow(*r) for r in rows]


async def lock_all_specialists(session: AsyncSession) -> None:
    """Take every specialist's booking lock (the one a confirm takes before re-checking its
    time), in ascending order like the booking service: a booking running now finishes first,
    and one that starts later re-checks against the committed change."""
    ids: Sequence[int] = (await session.scalars(select(Specialist.id))).all()
    await lock_resources(session, [(LOCK_SPECIALIST, i) for i in ids])
