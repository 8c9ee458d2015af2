"""Front desk, the day view: one local date's appointments at a location or of a specialist
(time, client, service, specialist, workplace, status, amount paid), in time order.

The date is the location's local date (its time zone); a specialist's day is read in
`DEFAULT_TIMEZONE`, since a specialist may work at locations in different zones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.admin_input import unquote
from bot.domain.errors import NotFound
from bot.domain.policies import ZERO
from bot.services.admin_gate import require_admin
from bot.services.booking_types import AppointmentView, appointment_view
from db.models import Location, Specialist
from db.repositories import admin as admin_repo
from db.repositories import desk as desk_repo

NAME_LIMIT = 10


@dataclass(frozen=True, slots=True)
class DayLine:
    appointment: AppointmentView
    client_name: str
    paid: Decimal


@dataclass(frozen=True, slots=True)
class DayView:
    day: dt.date
    timezone: str
    location_id: int | None
    specialist_id: int | None
    title: str
    lines: list[DayLine]


@dataclass(frozen=True, slots=True)
class Choice:
    """A location or specialist to pick from."""

    id: int
    name: str
    linked: bool = False  # a specialist whose Telegram account is linked


class DayDesk:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession], settings: Settings):
        self._sessions = session_factory
        self._settings = settings

    async def day(
        self,
        admin: int,
        day: dt.date,
        *,
        location_id: int | None = None,
        specialist_id: int | None = None,
    ) -> DayView:
        """Exactly one of `location_id` / `specialist_id`; `NotFound` for an unknown one."""
        if (location_id is None) == (specialist_id is None):
            raise ValueError("give a location or a specialist")
        async with self._sessions() as session:
            await require_admin(session, self._settings, admin)
            if location_id is not None:
                location = await session.get(Location, location_id)
                if location is None:
                    raise NotFound(f"location {location_id}")
                title, tz = location.name, location.timezone
            else:
                specialist = await session.get(Specialist, specialist_id)
                if specialist is None:
                    raise NotFound(f"specialist {specialist_id}")
                title, tz = specialist.name, self._settings.default_timezone
            zone = ZoneInfo(tz)
            start = dt.datetime.combine(day, dt.time(0), zone)
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone)
            rows = await desk_repo.day_rows(
                session,
                start=start,
                end=end,
                location_id=location_id,
                specialist_id=specialist_id,
            )
            paid = await desk_repo.paid_for(session, [r[0].id for r in rows])
        lines = []
        for row in rows:
            client = row[5]
            name = " ".join(p for p in (client.first_name, client.last_name) if p)
            lines.append(
                DayLine(appointment_view(row), name or f"#{client.id}", paid.get(row[0].id, ZERO))
            )
        return DayView(day, tz, location_id, specialist_id, title, lines)

    async def locations(self, admin: int) -> list[Choice]:
        async with self._sessions() as session:
            await require_admin(session, self._settings, admin)
            result = await session.execute(
                select(Location.id, Location.name).order_by(Location.name)
            )
            return [Choice(int(r[0]), str(r[1])) for r in result]

    async def specialists(self, admin: int) -> list[Choice]:
        """Every specialist (active or not), by name, with whether an account is linked."""
        async with self._sessions() as session:
            await require_admin(session, self._settings, admin)
            result = await session.execute(
                select(Specialist.id, Specialist.name, Specialist.tg_id).order_by(
                    Specialist.name, Specialist.id
                )
            )
            return [Choice(int(r[0]), str(r[1]), r[2] is not None) for r in result]

    async def find(self, admin: int, query: str) -> tuple[list[Choice], list[Choice]]:
        """Locations and specialists whose name contains `query` (case-insensitive; a name
        in quotes is the phrase inside them)."""
        query = unquote(query)
        pattern = f"%{admin_repo.escape_like(query)}%"
        async with self._sessions() as session:
            await require_admin(session, self._settings, admin)
            locations = await session.execute(
                select(Location.id, Location.name)
                .where(Location.name.ilike(pattern, escape="\\"))
                .order_by(Location.name)
                .limit(NAME_LIMIT)
            )
            specialists = await admin_repo.specialists_named(session, query, limit=NAME_LIMIT)
            return (
                [Choice(int(r[0]), str(r[1])) for r in locations],
                [Choice(s.id, s.name) for s in specialists],
            )
