"""Statistics for the owner: a period's figures for the whole business, a location or a
specialist, and the exports that back them (SPEC 7, "Statistics").

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

from bot.domain.periods import Period, parse_period
from bot.domain.tz import local_date
from bot.domain.working_time import working_minutes
from db.models import Location, Specialist
from db.repositories import stats as repo
from db.repositories.catalog import load_calendar
from db.repositories.stats import DayRow, Scope
from db.repositories.working_hours import load_location_hours

__all__ = ["DayRow", "Scope", "SpecialistOccupancy", "Statistics", "StatsService"]


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


class StatsService:
    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], default_timezone: str
    ) -> None:
        self._sessions = session_factory
        self._default_timezone = default_timezone

    async def period(self, text: str, scope: Scope, *, now: datetime) -> Period:
        """Parse `text` (see `bot.domain.periods.parse_period`) against the scope's local today:
        the location's time zone for a location, else `DEFAULT_TIMEZONE`. Raises `BadPeriod`."""
        return parse_period(text, await self.today(scope, now=now))

    async def today(self, scope: Scope, *, now: datetime) -> date:
        zone = self._default_timezone
        if scope.location_id is not None:
            async with self._sessions() as session:
                found = await session.scalar(
                    select(Location.timezone).where(Location.id == scope.location_id)
                )
            zone = found or zone
        return local_date(now, ZoneInfo(zone))

    async def figures(self, scope: Scope, period: Period) -> Statistics:
        """Every figure of `period` for `scope`, from one consistent snapshot."""
        first, last = period.first, period.last
        async with self._snapshot() as session:
            totals = await repo.appointment_totals(session, scope, first, last)
            made = await repo.bookings_made(session, scope, first, last)
            days = await repo.daily(session, scope, first, last)
            topups = (
                await repo.topups(session, first, last, self._default_timezone)
                if scope == Scope()
                else None
            )
            specialists = await self._occupancy(session, scope, first, last)
        return Statistics(
            scope=scope,
            period=period,
            bookings_made=made,
            held=totals.held,
            completed=totals.completed,
            no_shows=totals.no_shows,
            cancelled_by_client=totals.cancelled_by_client,
            cancelled_by_admin=totals.cancelled_by_admin,
            cancelled_by_specialist=totals.cancelled_by_specialist,
            revenue=sum((d.revenue for d in days), Decimal("0.00")),
            topups=topups,
            average_check=totals.average_check,
            clients=totals.clients,
            new_clients=totals.new_clients,
            booked_minutes=sum(s.booked_minutes for s in specialists),
            working_minutes=sum(s.working_minutes for s in specialists),
            days=days,
            specialists=specialists,
        )

    async def _occupancy(
        self, session: AsyncSession, scope: Scope, first: date, last: date
    ) -> list[SpecialistOccupancy]:
        booked = await repo.booked_minutes_by_specialist(session, scope, first, last)
        working: dict[int, int] = {}
        booked_by: dict[int, int] = {}
        for location_id in await repo.scope_locations(session, scope):
            hours = await load_location_hours(session, location_id)
            if hours is None:
                continue
            ids = hours.specialist_ids
            if scope.specialist_id is not None:
                ids = [i for i in ids if i == scope.specialist_id]
            calendar = await load_calendar(session, location_id, ids, first, last)
            for spec_id, minutes in working_minutes(hours, calendar, first, last, ids).items():
                working[spec_id] = working.get(spec_id, 0) + minutes
                booked_by[spec_id] = booked_by.get(spec_id, 0) + booked.get(
                    (location_id, spec_id), 0
                )
        names = dict(
            (
                await session.execute(
                    select(Specialist.id, Specialist.name).where(Specialist.id.in_(list(working)))
                )
            )
            .tuples()
            .all()
        )
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
