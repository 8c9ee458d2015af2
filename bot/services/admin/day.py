"""Front desk, the day view: one local date's appointments at a location or of a specialist
(time, client, service, specialist, workplace, status, amount paid), in time order.

Names are in the admin's `language` where a translation exists (`bot.domain.names`); a typed
name is found in any language.

The date is the location's local date (its time zone); a specialist's day is read in
`DEFAULT_TIMEZONE`, since a specialist may work at locations in different zones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.admin_input import unquote
from bot.domain.errors import NotFound
from bot.domain.names import localized_name
from bot.domain.policies import ZERO
from bot.services.admin_gate import require_admin
from bot.services.booking_types import AppointmentView, appointment_view
from bot.services.transaction import read_session
from db.models import Location, Specialist, Workplace
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
        language: str | None = None,
    ) -> DayView:
        """Exactly one of `location_id` / `specialist_id`; `NotFound` for an unknown one. Names
        in `language` where translated."""
        if (location_id is None) == (specialist_id is None):
            raise ValueError("give a location or a specialist")
        async with read_session(self._sessions) as session:
            await require_admin(session, self._settings, admin)
            if location_id is not None:
                location = await session.get(Location, location_id)
                if location is None:
                    raise NotFound(f"location {location_id}")
                title = localized_name(location.name, location.name_i18n, language)
                tz = location.timezone
            else:
                specialist = await session.get(Specialist, specialist_id)
                if specialist is None:
                    raise NotFound(f"specialist {specialist_id}")
                title = localized_name(specialist.name, specialist.name_i18n, language)
                tz = self._settings.default_timezone
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
                DayLine(
                    _in(appointment_view(row), language),
                    name or f"#{client.id}",
                    paid.get(row[0].id, ZERO),
                )
            )
        return DayView(day, tz, location_id, specialist_id, title, lines)

    async def locations(self, admin: int, language: str | None = None) -> list[Choice]:
        """Every location, by its name in `language`."""
        async with read_session(self._sessions) as session:
            await require_admin(session, self._settings, admin)
            result = await session.execute(
                select(Location.id, Location.name, Location.name_i18n).order_by(Location.name)
            )
            return _by_name(Choice(int(r[0]), localized_name(r[1], r[2], language)) for r in result)

    async def specialists(self, admin: int, language: str | None = None) -> list[Choice]:
        """Every specialist (active or not), by name in `language`, with whether an account
        is linked."""
        async with read_session(self._sessions) as session:
            await require_admin(session, self._settings, admin)
            result = await session.execute(
                select(
                    Specialist.id, Specialist.name, Specialist.name_i18n, Specialist.tg_id
                ).order_by(Specialist.name, Specialist.id)
            )
            return _by_name(
                Choice(int(r[0]), localized_name(r[1], r[2], language), r[3] is not None)
                for r in result
            )

    async def find(
        self, admin: int, query: str, language: str | None = None
    ) -> tuple[list[Choice], list[Choice]]:
        """Locations and specialists whose name in any language contains `query`
        (case-insensitive; a name in quotes is the phrase inside them), named in
        `language`."""
        query = unquote(query)
        async with read_session(self._sessions) as session:
            await require_admin(session, self._settings, admin)
            locations = await admin_repo.locations_named(session, query.strip(), limit=NAME_LIMIT)
            specialists = await admin_repo.specialists_named(
                session, query.strip(), limit=NAME_LIMIT
            )
            return (
                [Choice(r.id, localized_name(r.name, r.name_i18n, language)) for r in locations],
                [Choice(s.id, localized_name(s.name, s.name_i18n, language)) for s in specialists],
            )

    async def workplace_names(
        self, admin: int, choices: list[tuple[int, str]], language: str | None
    ) -> list[tuple[int, str]]:
        """The (workplace id, name) `choices` with their names in `language`."""
        async with read_session(self._sessions) as session:
            await require_admin(session, self._settings, admin)
            rows = await session.execute(
                select(Workplace.id, Workplace.name, Workplace.name_i18n).where(
                    Workplace.id.in_([i for i, _ in choices])
                )
            )
            names = {int(r[0]): localized_name(r[1], r[2], language) for r in rows}
        return [(i, names.get(i, name)) for i, name in choices]


def _in(view: AppointmentView, language: str | None) -> AppointmentView:
    return view if language is None else view.in_language(language)


def _by_name(choices: Iterable[Choice]) -> list[Choice]:
    """Sorted by the name shown (case-insensitive), then id."""
    return sorted(choices, key=lambda c: (c.name.casefold(), c.id))
