"""The specialist's agenda: what `/agenda` shows and the daily agenda message.

Days are local: an appointment belongs to the date of its start in its location's zone, and
"today" is today in that zone, so a specialist working in two zones sees each appointment on
the day the salon sees it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.notify import kinds
from bot.notify.render import AgendaLine, Rendered, render_agenda
from bot.notify.schedule import client_display_name, rearm_reminders
from db.models import (
    Appointment,
    Client,
    Location,
    Service,
    Specialist,
    SpecialistSchedule,
    Workplace,
)
from db.repositories import outbox

SHOWN_STATUSES = ("booked", "completed", "no_show")
# A daily agenda is queued from AGENDA_TIME until this much later; a worker that was down all
# morning does not send "today's agenda" in the evening.
AGENDA_WINDOW = dt.timedelta(hours=3)


async def specialist_by_tg(session: AsyncSession, tg_id: int) -> Specialist | None:
    result = await session.execute(
        select(Specialist).where(Specialist.tg_id == tg_id, Specialist.is_active.is_(True))
    )
    return result.scalar_one_or_none()


async def agenda_lines(
    session: AsyncSession, specialist_id: int, *, around: dt.datetime
) -> list[AgendaLine]:
    """The specialist's non-cancelled appointments from a day before to two days after `around`
    (wide enough for every zone's "today" and "tomorrow"); callers pick the local days."""
    rows = await session.execute(
        select(Appointment, Client, Location, Service, Workplace)
        .join(Client, Client.id == Appointment.client_id)
        .join(Location, Location.id == Appointment.location_id)
        .join(Service, Service.id == Appointment.service_id)
        .join(Workplace, Workplace.id == Appointment.workplace_id)
        .where(
            Appointment.specialist_id == specialist_id,
            Appointment.status.in_(SHOWN_STATUSES),
            Appointment.start_time >= around - dt.timedelta(days=1, hours=2),
            Appointment.start_time < around + dt.timedelta(days=2, hours=14),
        )
        .order_by(Appointment.start_time)
    )
    return [
        AgendaLine(
            appointment_id=appt.id,
            start=appt.start_time,
            tz=location.timezone,
            client_name=client_display_name(client),
            client_phone=client.phone or "",
            service=service.name,
            workplace=workplace.name,
            location=location.name,
            status=appt.status,
        )
        for appt, client, location, service, workplace in rows.tuples()
    ]


def local_day(line: AgendaLine) -> dt.date:
    return line.start.astimezone(ZoneInfo(line.tz)).date()


def lines_on(lines: Sequence[AgendaLine], day: dt.date) -> list[AgendaLine]:
    return [line for line in lines if local_day(line) == day]


def today_in(tz: str, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(tz)).date()


async def specialist_today(
    session: AsyncSession, specialist_id: int, *, now: dt.datetime, default_tz: str
) -> dt.date:
    """ "Today" for a specialist: in the zone of the location they work at (the first one by id
    with a schedule or an appointment), else the default zone."""
    tz = (
        await session.execute(
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
    ).scalar_one_or_none()
    return today_in(tz or default_tz, now)


async def queue_daily_agendas(
    session: AsyncSession, *, now: dt.datetime, settings: Settings
) -> int:
    """Queue today's agenda for every reachable specialist who works or has appointments today
    at a location where it is now past `AGENDA_TIME` (within `AGENDA_WINDOW`). Idempotent per
    specialist per local date (`agenda:{specialist_id}:{date}`). Returns rows queued."""
    queued = 0
    locations = (
        await session.execute(select(Location).where(Location.is_active.is_(True)))
    ).scalars()
    for location in locations:
        zone = ZoneInfo(location.timezone)
        local_now = now.astimezone(zone)
        day = local_now.date()
        at = dt.datetime.combine(day, settings.agenda_time, tzinfo=zone)
        if not at <= local_now < at + AGENDA_WINDOW:
            continue
        day_start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
        day_end = day_start + dt.timedelta(days=1)
        working = exists().where(
            and_(
                SpecialistSchedule.specialist_id == Specialist.id,
                SpecialistSchedule.location_id == location.id,
                SpecialistSchedule.day_of_week == day.isoweekday(),
                SpecialistSchedule.is_day_off.is_(False),
            )
        )
        booked = exists().where(
            and_(
                Appointment.specialist_id == Specialist.id,
                Appointment.location_id == location.id,
                Appointment.status == "booked",
                Appointment.start_time >= day_start,
                Appointment.start_time < day_end,
            )
        )
        specialists = (
            await session.execute(
                select(Specialist).where(
                    Specialist.is_active.is_(True),
                    Specialist.chat_active.is_(True),
                    Specialist.tg_id.is_not(None),
                    working | booked,
                )
            )
        ).scalars()
        for specialist in specialists:
            assert specialist.tg_id is not None  # filtered above
            queued += await outbox.enqueue(
                session,
                dedupe_key=f"agenda:{specialist.id}:{day.isoformat()}",
                kind=kinds.SPECIALIST_AGENDA,
                recipient="specialist",
                chat_id=specialist.tg_id,
                due_at=now,
                payload={
                    "specialist_id": specialist.id,
                    "date": day.isoformat(),
                    "lang": specialist.language,
                },
            )
    return queued


async def agenda_days(
    session: AsyncSession, specialist_id: int, *, now: dt.datetime, default_tz: str
) -> list[tuple[dt.date, list[AgendaLine]]]:
    """Today's and tomorrow's appointments, each day taken in its appointment's location zone;
    the headers carry the specialist's own "today" and "tomorrow"."""
    today = await specialist_today(session, specialist_id, now=now, default_tz=default_tz)
    lines = await agenda_lines(session, specialist_id, around=now)
    days: list[tuple[dt.date, list[AgendaLine]]] = [
        (today, []),
        (today + dt.timedelta(days=1), []),
    ]
    for line in lines:
        offset = (local_day(line) - today_in(line.tz, now)).days
        if offset in (0, 1):
            days[offset][1].append(line)
    return days


class SpecialistAgenda:
    """`/agenda` for the specialist linked to a Telegram account (the role is checked here, on
    the server: an unknown or inactive specialist gets None)."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], settings: Settings):
        self._sessions = session_factory
        self._settings = settings

    async def specialist_id(self, tg_id: int) -> int | None:
        async with self._sessions() as session:
            specialist = await specialist_by_tg(session, tg_id)
            return specialist.id if specialist is not None else None

    async def render_for(self, tg_id: int, *, now: dt.datetime, lang: str) -> Rendered | None:
        async with self._sessions() as session, session.begin():
            specialist = await specialist_by_tg(session, tg_id)
            if specialist is None:
                return None
            # Writing to us proves the chat works again after an earlier block.
            if not specialist.chat_active:
                specialist.chat_active = True
                await session.flush()
                await rearm_reminders(
                    session, now=now, settings=self._settings, specialist_id=specialist.id
                )
            days = await agenda_days(
                session, specialist.id, now=now, default_tz=self._settings.default_timezone
            )
        return render_agenda(days, lang=lang, now=now, with_buttons=True)
