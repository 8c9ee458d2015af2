"""The specialist's agenda: what `/agenda` shows and the daily agenda message.

Days are local: an appointment belongs to the date of its start in its location's zone, and
"today" is today in that zone, so a specialist working in two zones sees each appointment on
the day the salon sees it (docs/rules.md#notifications).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain import notification_kinds as kinds
from bot.services.notifications import client_display_name, rearm_reminders
from bot.services.transaction import in_transaction, read_session
from db.repositories import notifications as repo
from db.repositories import outbox

# A daily agenda is queued from AGENDA_TIME until this much later; a worker that was down all
# morning does not send "today's agenda" in the evening.
AGENDA_WINDOW = dt.timedelta(hours=3)


@dataclass(frozen=True, slots=True)
class AgendaLine:
    """One appointment in a specialist's agenda."""

    appointment_id: int
    start: dt.datetime  # aware
    tz: str
    client_name: str
    client_phone: str
    service: str
    workplace: str
    location: str
    status: str


# One local date and its appointments, as the agenda shows them.
AgendaDay = tuple[dt.date, list[AgendaLine]]


async def agenda_lines(
    session: AsyncSession, specialist_id: int, *, around: dt.datetime, days: int = 2
) -> list[AgendaLine]:
    """The specialist's non-cancelled appointments from a day before to `days` days after
    `around` (wide enough for every zone's "today" and the days after); callers pick the local
    days."""
    rows = await repo.agenda_rows(
        session,
        specialist_id,
        start=around - dt.timedelta(days=1, hours=2),
        end=around + dt.timedelta(days=days, hours=14),
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
        for appt, client, location, service, workplace in rows
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
    tz = await repo.specialist_home_timezone(session, specialist_id)
    return today_in(tz or default_tz, now)


async def queue_daily_agendas(
    session: AsyncSession, *, now: dt.datetime, settings: Settings
) -> int:
    """Queue today's agenda for every reachable specialist who works or has appointments today
    at a location where it is now past `AGENDA_TIME` (within `AGENDA_WINDOW`). Idempotent per
    specialist per local date (`agenda:{specialist_id}:{date}`). Returns rows queued."""
    queued = 0
    for location in await repo.active_locations(session):
        zone = ZoneInfo(location.timezone)
        local_now = now.astimezone(zone)
        day = local_now.date()
        at = dt.datetime.combine(day, settings.agenda_time, tzinfo=zone)
        if not at <= local_now < at + AGENDA_WINDOW:
            continue
        day_start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
        specialists = await repo.agenda_recipients(
            session,
            location.id,
            iso_weekday=day.isoweekday(),
            day_start=day_start,
            day_end=day_start + dt.timedelta(days=1),
        )
        for specialist in specialists:
            assert specialist.tg_id is not None  # filtered by the query
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
    session: AsyncSession,
    specialist_id: int,
    *,
    now: dt.datetime,
    default_tz: str,
    first: int = 0,
    count: int = 2,
) -> list[AgendaDay]:
    """`count` days of appointments from today + `first` (default: today and tomorrow), each
    day taken in its appointment's location zone; the dates are the specialist's own."""
    today = await specialist_today(session, specialist_id, now=now, default_tz=default_tz)
    lines = await agenda_lines(session, specialist_id, around=now, days=first + count)
    days: list[AgendaDay] = [(today + dt.timedelta(days=first + i), []) for i in range(count)]
    for line in lines:
        offset = (local_day(line) - today_in(line.tz, now)).days - first
        if 0 <= offset < count:
            days[offset][1].append(line)
    return days


class AgendaService:
    """`/agenda` for the specialist linked to a Telegram account. The role is checked here, on
    the server: an unknown or inactive specialist gets None."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], settings: Settings):
        self._sessions = session_factory
        self._settings = settings

    async def specialist_id(self, tg_id: int) -> int | None:
        """The active specialist's id for a Telegram user id, or None."""
        async with read_session(self._sessions) as session:
            specialist = await repo.active_specialist_by_tg(session, tg_id)
            return specialist.id if specialist is not None else None

    async def days_for(
        self, tg_id: int, *, now: dt.datetime, first: int = 0, count: int = 2
    ) -> list[AgendaDay] | None:
        """`count` days of lines from today + `first` (see `agenda_days`; default today and
        tomorrow), or None for a non-specialist.

        Writing to the bot proves the specialist's chat works again after an earlier block:
        the chat is marked reachable and its future reminders are queued again.
        """

        async def read(session: AsyncSession) -> list[AgendaDay] | None:
            specialist = await repo.active_specialist_by_tg(session, tg_id)
            if specialist is None:
                return None
            if not specialist.chat_active:
                await repo.reactivate_specialist_chat(session, specialist.id)
                await rearm_reminders(
                    session, now=now, settings=self._settings, specialist_id=specialist.id
                )
            return await agenda_days(
                session,
                specialist.id,
                now=now,
                default_tz=self._settings.default_timezone,
                first=first,
                count=count,
            )

        return await in_transaction(self._sessions, read)
