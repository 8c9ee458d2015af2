"""Statistics for the owner: a period's figures for the whole business, a location or a
specialist, and the exports that back them (docs/rules.md#admin-rights).

Counts and money are aggregated by PostgreSQL (`db/repositories/stats.py`) in one
REPEATABLE READ snapshot, so the figures agree with each other. Occupancy is booked minutes
over working minutes; the working minutes come from the slot engine's own schedule rules
(`bot.domain.working_time`), so breaks, holidays and days off count as off.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.errors import NotFound
from bot.domain.names import localized_name
from bot.domain.periods import Period, parse_period
from bot.domain.policies import CENT, ZERO
from bot.domain.tz import local_date
from bot.domain.working_time import working_minutes
from bot.services.transaction import read_session
from db.models import Location, Specialist
from db.repositories import stats as repo
from db.repositories.stats import Scope
from db.repositories.working_hours import load_calendars, load_location_hours

__all__ = [
    "DayRow",
    "Scope",
    "ScopeChoices",
    "SpecialistOccupancy",
    "Statistics",
    "StatsService",
]


@dataclass(frozen=True, slots=True)
class DayRow:
    """One local date of the period: held appointments (by start) and revenue (by the
    ledger row's date)."""

    day: date
    appointments: int
    revenue: Decimal


@dataclass(frozen=True, slots=True)
class SpecialistOccupancy:
    specialist_id: int
    name: str
    booked_minutes: int
    working_minutes: int

    @property
    def ratio(self) -> float | None:
        """Booked over working minutes (0.0-1.0, more when overbooked); None with no work."""
        return self.booked_minutes / self.working_minutes if self.working_minutes else None


@dataclass(frozen=True)
class Statistics:
    """A period's figures. Money is in the settings' currency, two decimals; `topups` is None
    for a location or specialist scope (a top-up belongs to no location)."""

    scope: Scope
    period: Period
    bookings_made: int
    held: int
    completed: int
    no_shows: int
    cancelled_by_client: int
    cancelled_by_admin: int
    cancelled_by_specialist: int
    revenue: Decimal
    topups: Decimal | None
    average_check: Decimal | None
    clients: int
    new_clients: int
    booked_minutes: int
    working_minutes: int
    days: list[DayRow]
    specialists: list[SpecialistOccupancy]

    @property
    def returning_clients(self) -> int:
        return self.clients - self.new_clients

    @property
    def occupancy(self) -> float | None:
        """Booked over working minutes of the specialists who work in the scope."""
        return self.booked_minutes / self.working_minutes if self.working_minutes else None


@dataclass(frozen=True)
class ScopeChoices:
    """What statistics can be narrowed to: active locations and specialists, (id, name)."""

    locations: list[tuple[int, str]]
    specialists: list[tuple[int, str]]


class StatsService:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        default_timezone: str,
    ) -> None:
        self._sessions = session_factory
        self._default_timezone = default_timezone

    async def choices(self, language: str | None = None) -> ScopeChoices:
        """Active locations and specialists, named in `language` where translated."""
        async with read_session(self._sessions) as session:
            locations, specialists = await repo.active_names(session, language)
        return ScopeChoices(locations, specialists)

    async def scope_name(self, scope: Scope, language: str | None = None) -> str | None:
        """The location's or specialist's name in `language` where translated (None for the
        whole business). Raises `NotFound` for an id that does not exist (a forged or stale
        button)."""
        if scope == Scope():
            return None
        async with read_session(self._sessions) as session:
            name = await repo.scope_name(session, scope, language)
        if name is None:
            raise NotFound(f"scope {scope}")
        return name

    async def period(self, text: str, scope: Scope, *, now: datetime) -> Period:
        """Parse `text` (see `bot.domain.periods.parse_period`) against the scope's local today:
        the location's time zone for a location, else `DEFAULT_TIMEZONE`. Raises `BadPeriod`."""
        return parse_period(text, await self.today(scope, now=now))

    async def today(self, scope: Scope, *, now: datetime) -> date:
        zone = self._default_timezone
        if scope.location_id is not None:
            async with read_session(self._sessions) as session:
                found = await session.scalar(
                    select(Location.timezone).where(Location.id == scope.location_id)
                )
            zone = found or zone
        return local_date(now, ZoneInfo(zone))

    async def figures(
        self, scope: Scope, period: Period, language: str | None = None
    ) -> Statistics:
        """Every figure of `period` for `scope`, from one consistent snapshot; specialists
        named in `language` where translated."""
        first, last = period.first, period.last
        async with self._snapshot() as session:
            w = await repo.window(session, scope, first, last)
            groups = await repo.appointment_groups(session, scope, w)
            clients, new_clients = await repo.client_counts(session, scope, w)
            revenue = await repo.revenue_by_day(session, scope, w)
            made = await repo.bookings_made(session, scope, w)
            topups = (
                await repo.topups(session, *repo.zone_bounds(self._default_timezone, first, last))
                if scope == Scope()
                else None
            )
            specialists = await self._occupancy(session, scope, groups, first, last, language)
        held = sum(g.held for g in groups)
        held_by_day: dict[date, int] = {}
        for g in groups:
            held_by_day[g.day] = held_by_day.get(g.day, 0) + g.held
        return Statistics(
            scope=scope,
            period=period,
            bookings_made=made,
            held=held,
            completed=sum(g.completed for g in groups),
            no_shows=sum(g.no_shows for g in groups),
            cancelled_by_client=sum(g.cancelled_by_client for g in groups),
            cancelled_by_admin=sum(g.cancelled_by_admin for g in groups),
            cancelled_by_specialist=sum(g.cancelled_by_specialist for g in groups),
            revenue=sum(revenue.values(), ZERO),
            topups=topups,
            average_check=(sum((g.held_price for g in groups), ZERO) / held).quantize(CENT)
            if held
            else None,
            clients=clients,
            new_clients=new_clients,
            booked_minutes=sum(s.booked_minutes for s in specialists),
            working_minutes=sum(s.working_minutes for s in specialists),
            days=[DayRow(d, held_by_day.get(d, 0), revenue.get(d, ZERO)) for d in period.days],
            specialists=specialists,
        )

    async def _occupancy(
        self,
        session: AsyncSession,
        scope: Scope,
        groups: list[repo.AppointmentGroup],
        first: date,
        last: date,
        language: str | None,
    ) -> list[SpecialistOccupancy]:
        booked: dict[tuple[int, int], int] = {}
        for g in groups:
            key = (g.location_id, g.specialist_id)
            booked[key] = booked.get(key, 0) + g.booked_minutes
        hours = await load_location_hours(session, await repo.scope_locations(session, scope))
        calendars = await load_calendars(session, hours, first, last)
        working: dict[int, int] = {}
        booked_by: dict[int, int] = {}
        for location_id, location_hours in hours.items():
            ids = location_hours.specialist_ids
            if scope.specialist_id is not None:
                ids = [i for i in ids if i == scope.specialist_id]
            minutes = working_minutes(location_hours, calendars[location_id], first, last, ids)
            for spec_id, worked in minutes.items():
                working[spec_id] = working.get(spec_id, 0) + worked
                booked_by[spec_id] = booked_by.get(spec_id, 0) + booked.get(
                    (location_id, spec_id), 0
                )
        names = {
            int(r[0]): localized_name(r[1], r[2], language)
            for r in await session.execute(
                select(Specialist.id, Specialist.name, Specialist.name_i18n).where(
                    Specialist.id.in_(list(working))
                )
            )
        }
        return sorted(
            (
                SpecialistOccupancy(i, names.get(i, str(i)), booked_by[i], working[i])
                for i in working
                if working[i] or booked_by[i]
            ),
            key=lambda s: (s.name, s.specialist_id),
        )

    @asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[AsyncSession]:
        """A read-only REPEATABLE READ transaction: every query sees the same data."""
        async with self._sessions() as session, session.begin():
            await session.connection(
                execution_options={
                    "isolation_level": "REPEATABLE READ",
                    "postgresql_readonly": True,
                }
            )
            yield session
