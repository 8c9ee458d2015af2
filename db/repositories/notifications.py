"""What queued notifications show and whom they reach: reads for the outbox writers and the
specialist's agenda. They never commit (the caller's transaction decides)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.statuses import ACTIVE_STATUSES, AppointmentStatus
from db.models import (
    Appointment,
    Client,
    Location,
    Service,
    Specialist,
    SpecialistSchedule,
    WaitlistEntry,
    Workplace,
)
from db.repositories import appointments as appts

# Statuses an agenda shows (a cancelled appointment leaves it).
AGENDA_STATUSES = ACTIVE_STATUSES

AppointmentFacts = tuple[Appointment, Client, Specialist, Location, Service, Workplace]
# The same facts as plain rows (`appointments.view_facts`, reordered).
AppointmentFactRows = tuple[
    appts.ViewAppointment,
    appts.ViewClient,
    appts.ViewSpecialist,
    appts.ViewLocation,
    appts.ViewService,
    appts.ViewWorkplace,
]
OfferFacts = tuple[WaitlistEntry, Client, Location, Service]
AgendaRow = tuple[Appointment, Client, Location, Service, Workplace]


async def appointment_facts(session: AsyncSession, appointment_id: int) -> AppointmentFacts | None:
    """The appointment with its client, specialist, location, service and workplace."""
    row = (
        await session.execute(
            select(Appointment, Client, Specialist, Location, Service, Workplace)
            .join(Client, Client.id == Appointment.client_id)
            .join(Specialist, Specialist.id == Appointment.specialist_id)
            .join(Location, Location.id == Appointment.location_id)
            .join(Service, Service.id == Appointment.service_id)
            .join(Workplace, Workplace.id == Appointment.workplace_id)
            .where(Appointment.id == appointment_id)
        )
    ).one_or_none()
    return None if row is None else row._tuple()


async def offer_facts(session: AsyncSession, waitlist_id: int) -> OfferFacts | None:
    """The waitlist entry with its client, location and service."""
    row = (
        await session.execute(
            select(WaitlistEntry, Client, Location, Service)
            .join(Client, Client.id == WaitlistEntry.client_id)
            .join(Location, Location.id == WaitlistEntry.location_id)
            .join(Service, Service.id == WaitlistEntry.service_id)
            .where(WaitlistEntry.id == waitlist_id)
        )
    ).one_or_none()
    return None if row is None else row._tuple()


async def specialist(session: AsyncSession, specialist_id: int) -> Specialist | None:
    return await session.get(Specialist, specialist_id)


async def workplace_name(session: AsyncSession, workplace_id: int) -> str | None:
    result = await session.execute(select(Workplace.name).where(Workplace.id == workplace_id))
    return result.scalar_one_or_none()


async def upcoming_booked_ids(
    session: AsyncSession,
    *,
    now: dt.datetime,
    client_id: int | None = None,
    specialist_id: int | None = None,
) -> Sequence[int]:
    """Ids of booked appointments starting after `now` (of one client and/or specialist)."""
    stmt = select(Appointment.id).where(
        Appointment.status == AppointmentStatus.BOOKED, Appointment.start_time > now
    )
    if client_id is not None:
        stmt = stmt.where(Appointment.client_id == client_id)
    if specialist_id is not None:
        stmt = stmt.where(Appointment.specialist_id == specialist_id)
    return (await session.execute(stmt.order_by(Appointment.id))).scalars().all()


async def reminder_target(
    session: AsyncSession, appointment_id: int
) -> tuple[str, dt.datetime, int | None] | None:
    """(status, start, specialist's chat id) of the appointment a reminder is about."""
    found = (
        await session.execute(
            select(Appointment.status, Appointment.start_time, Specialist.tg_id)
            .join(Specialist, Specialist.id == Appointment.specialist_id)
            .where(Appointment.id == appointment_id)
        )
    ).one_or_none()
    return None if found is None else found._tuple()


# --- the specialist's agenda -----------------------------------------------------------------


async def active_specialist_by_tg(session: AsyncSession, tg_id: int) -> Specialist | None:
    result = await session.execute(
        select(Specialist).where(Specialist.tg_id == tg_id, Specialist.is_active.is_(True))
    )
    return result.scalar_one_or_none()


async def agenda_rows(
    session: AsyncSession, specialist_id: int, *, start: dt.datetime, end: dt.datetime
) -> Sequence[AgendaRow]:
    """The specialist's shown appointments starting in [start, end), by start."""
    rows = await session.execute(
        select(Appointment, Client, Location, Service, Workplace)
        .join(Client, Client.id == Appointment.client_id)
        .join(Location, Location.id == Appointment.location_id)
        .join(Service, Service.id == Appointment.service_id)
        .join(Workplace, Workplace.id == Appointment.workplace_id)
        .where(
            Appointment.specialist_id == specialist_id,
            Appointment.status.in_(AGENDA_STATUSES),
            Appointment.start_time >= start,
            Appointment.start_time < end,
        )
        .order_by(Appointment.start_time)
    )
    return rows.tuples().all()


async def specialist_home_timezone(session: AsyncSession, specialist_id: int) -> str | None:
    """The zone of the first location (by id) where the specialist has a schedule or an
    appointment; None if there is none."""
    result = await session.execute(
        select(Location.timezone)
        .where(
            exists().where(
                and_(
                    SpecialistSchedule.location_id == Location.id,
                    SpecialistSchedule.specialist_id == specialist_id,
                )
            )
            | exists().where(
                and_(
                    Appointment.location_id == Location.id,
                    Appointment.specialist_id == specialist_id,
                )
            )
        )
        .order_by(Location.id)
        .limit(1)
    )
    return result.scalar_one_or_none()


async def active_locations(session: AsyncSession) -> Sequence[Location]:
    return (
        (await session.execute(select(Location).where(Location.is_active.is_(True))))
        .scalars()
        .all()
    )


async def agenda_recipients(
    session: AsyncSession,
    location_id: int,
    *,
    iso_weekday: int,
    day_start: dt.datetime,
    day_end: dt.datetime,
) -> Sequence[Specialist]:
    """Reachable active specialists who work at the location on that weekday or have a booked
    appointment there in [day_start, day_end)."""
    working = exists().where(
        and_(
            SpecialistSchedule.specialist_id == Specialist.id,
            SpecialistSchedule.location_id == location_id,
            SpecialistSchedule.day_of_week == iso_weekday,
            SpecialistSchedule.is_day_off.is_(False),
        )
    )
    booked = exists().where(
        and_(
            Appointment.specialist_id == Specialist.id,
            Appointment.location_id == location_id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.start_time >= day_start,
            Appointment.start_time < day_end,
        )
    )
    result = await session.execute(
        select(Specialist).where(
            Specialist.is_active.is_(True),
            Specialist.chat_active.is_(True),
            Specialist.tg_id.is_not(None),
            working | booked,
        )
    )
    return result.scalars().all()


async def reactivate_specialist_chat(session: AsyncSession, specialist_id: int) -> None:
    """The specialist's chat works again (they wrote to the bot after blocking it)."""
    await session.execute(
        update(Specialist).where(Specialist.id == specialist_id).values(chat_active=True)
    )
