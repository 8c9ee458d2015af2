"""Statistics aggregates, computed in PostgreSQL. Queries only: nothing here commits.

Every figure is an aggregate over indexed columns (`appointments.start_time`,
`appointments.created_at`, `wallet_transactions.created_at`): rows are never loaded into
Python. A period is a range of *local* dates; each appointment's date is taken in its own
location's time zone. A `Window` turns the dates into exact UTC bounds per location once, in
Python (`bot.domain.tz.day_bounds`, DST-safe), so the filters are plain range conditions the
indexes serve, and only the per-day grouping converts a row's instant to its local date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, and_, cast, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from bot.domain.names import localized_name
from bot.domain.statuses import ACTIVE_STATUSES, AppointmentStatus
from bot.domain.tz import day_bounds
from db.models import (
    Appointment,
    Location,
    Specialist,
    SpecialistSchedule,
    WalletTransaction,
)

ACTIVE = ACTIVE_STATUSES
# Ledger kinds that are the business's revenue (signed from the wallet's side: a debit is
# negative, a refund positive), and money clients put in.
REVENUE_KINDS = ("debit", "refund", "reschedule")
TOPUP_KINDS = ("topup", "payment")


@dataclass(frozen=True, slots=True)
class Scope:
    """The whole business (both None), one location, or one specialist."""

    location_id: int | None = None
    specialist_id: int | None = None


@dataclass(frozen=True, slots=True)
class AppointmentGroup:
    """Appointments of one specialist at one location starting on one local date: held (not
    cancelled), completed, no-shows, cancellations by who cancelled, service minutes and
    agreed prices of the held ones."""

    day: date
    location_id: int
    specialist_id: int
    held: int
    completed: int
    no_shows: int
    cancelled_by_client: int
    cancelled_by_admin: int
    cancelled_by_specialist: int
    booked_minutes: int
    held_price: Decimal


@dataclass(frozen=True)
class Window:
    """Local dates [first, last] as UTC instants [lo, hi) per location id (each in its own
    time zone)."""

    first: date
    last: date
    bounds: Mapping[int, tuple[datetime, datetime]]


def zone_bounds(zone: str, first: date, last: date) -> tuple[datetime, datetime]:
    """[first instant of `first`, first instant after `last`) in `zone`."""
    tz = ZoneInfo(zone)
    return day_bounds(first, tz)[0], day_bounds(last, tz)[1]


async def window(session: AsyncSession, scope: Scope, first: date, last: date) -> Window:
    """The period's bounds for every location (inactive ones too: history counts), or only
    the scope's location."""
    stmt = select(Location.id, Location.timezone)
    if scope.location_id is not None:
        stmt = stmt.where(Location.id == scope.location_id)
    rows = (await session.execute(stmt)).tuples().all()
    return Window(first, last, {loc: zone_bounds(zone, first, last) for loc, zone in rows})


def local_day(instant: Any, zone: Any) -> ColumnElement[date]:
    """The local calendar date of a timestamptz column in a zone (a column or a literal)."""
    return cast(func.timezone(zone, instant), Date)


def within(
    w: Window, instant: InstrumentedAttribute[datetime], location: InstrumentedAttribute[int]
) -> ColumnElement[bool]:
    """`instant` falls in the window of the row's `location` (one range per location)."""
    if not w.bounds:
        return false()
    return or_(
        *(
            and_(location == loc, instant >= lo, instant < hi)
            for loc, (lo, hi) in sorted(w.bounds.items())
        )
    )


def _by_start(scope: Scope, w: Window) -> list[ColumnElement[bool]]:
    out = [within(w, Appointment.start_time, Appointment.location_id)]
    if scope.specialist_id is not None:
        out.append(Appointment.specialist_id == scope.specialist_id)
    return out


async def appointment_groups(
    session: AsyncSession, scope: Scope, w: Window
) -> list[AppointmentGroup]:
    """Per (local date, location, specialist) with any appointment starting in the scope on
    dates [first, last]: one grouped query, a few hundred rows for a month of a business;
    the caller adds them up by date or by specialist."""
    active = Appointment.status.in_(ACTIVE)
    cancelled = Appointment.status == AppointmentStatus.CANCELLED
    minutes = func.extract("epoch", Appointment.end_time - Appointment.start_time) / 60
    day = local_day(Appointment.start_time, Location.timezone)
    rows = await session.execute(
        select(
            day,
            Appointment.location_id,
            Appointment.specialist_id,
            func.count().filter(active),
            func.count().filter(Appointment.status == AppointmentStatus.COMPLETED),
            func.count().filter(Appointment.status == AppointmentStatus.NO_SHOW),
            func.count().filter(cancelled, Appointment.cancelled_by == "client"),
            func.count().filter(cancelled, Appointment.cancelled_by == "admin"),
            func.count().filter(cancelled, Appointment.cancelled_by == "specialist"),
            func.coalesce(func.sum(minutes).filter(active), 0),
            func.coalesce(func.sum(Appointment.price).filter(active), 0),
        )
        .select_from(Appointment)
        .join(Location, Location.id == Appointment.location_id)
        .where(*_by_start(scope, w))
        .group_by(day, Appointment.location_id, Appointment.specialist_id)
    )
    return [
        AppointmentGroup(
            day=r[0],
            location_id=r[1],
            specialist_id=r[2],
            held=r[3],
            completed=r[4],
            no_shows=r[5],
            cancelled_by_client=r[6],
            cancelled_by_admin=r[7],
            cancelled_by_specialist=r[8],
            booked_minutes=int(r[9]),
            held_price=Decimal(r[10]),
        )
        for r in rows
    ]


async def client_counts(session: AsyncSession, scope: Scope, w: Window) -> tuple[int, int]:
    """(clients, new clients) among those with a held appointment in the scope and period;
    new = no earlier held appointment anywhere in the business."""
    firsts = (
        select(
            Appointment.client_id.label("client_id"),
            func.min(Appointment.start_time).label("first_start"),
        )
        .join(Location, Location.id == Appointment.location_id)
        .where(Appointment.status.in_(ACTIVE), *_by_start(scope, w))
        .group_by(Appointment.client_id)
        .subquery()
    )
    earlier = aliased(Appointment)
    seen_before = exists().where(
        earlier.client_id == firsts.c.client_id,
        earlier.status.in_(ACTIVE),
        earlier.start_time < firsts.c.first_start,
    )
    row = (
        await session.execute(
            select(func.count(), func.count().filter(~seen_before)).select_from(firsts)
        )
    ).one()
    return int(row[0]), int(row[1])


async def bookings_made(session: AsyncSession, scope: Scope, w: Window) -> int:
    """Appointments created (booked) in the window in the scope, whatever happened to them
    later and whenever they start."""
    stmt = (
        select(func.count())
        .select_from(Appointment)
        .where(within(w, Appointment.created_at, Appointment.location_id))
    )
    if scope.specialist_id is not None:
        stmt = stmt.where(Appointment.specialist_id == scope.specialist_id)
    return int((await session.execute(stmt)).scalar_one())


async def revenue_by_day(session: AsyncSession, scope: Scope, w: Window) -> dict[date, Decimal]:
    """Revenue per local date of the window (dates without ledger rows left out): charges
    minus refunds of the scope's appointments, by the ledger row's date in the appointment's
    location's zone."""
    day = local_day(WalletTransaction.created_at, Location.timezone)
    stmt = (
        select(day.label("day"), (-func.sum(WalletTransaction.amount)).label("revenue"))
        .select_from(WalletTransaction)
        .join(Appointment, Appointment.id == WalletTransaction.appointment_id)
        .join(Location, Location.id == Appointment.location_id)
        .where(
            within(w, WalletTransaction.created_at, Appointment.location_id),
            WalletTransaction.kind.in_(REVENUE_KINDS),
        )
        .group_by(day)
    )
    if scope.specialist_id is not None:
        stmt = stmt.where(Appointment.specialist_id == scope.specialist_id)
    return {r.day: Decimal(r.revenue) for r in await session.execute(stmt)}


async def topups(session: AsyncSession, lo: datetime, hi: datetime) -> Decimal:
    """Money clients put into their wallets (admin top-ups and Telegram payments) in
    [lo, hi): top-ups belong to no location."""
    result = await session.execute(
        select(func.coalesce(func.sum(WalletTransaction.amount), 0)).where(
            WalletTransaction.created_at >= lo,
            WalletTransaction.created_at < hi,
            WalletTransaction.kind.in_(TOPUP_KINDS),
        )
    )
    return Decimal(result.scalar_one())


async def scope_locations(session: AsyncSession, scope: Scope) -> Sequence[int]:
    """Active locations whose working time counts for the scope: the one location, the
    locations where the specialist has a shift, or every active location."""
    stmt = select(Location.id).where(Location.is_active.is_(True)).order_by(Location.id)
    if scope.location_id is not None:
        stmt = stmt.where(Location.id == scope.location_id)
    if scope.specialist_id is not None:
        stmt = stmt.where(
            exists().where(
                and_(
                    SpecialistSchedule.location_id == Location.id,
                    SpecialistSchedule.specialist_id == scope.specialist_id,
                )
            )
        )
    return list((await session.scalars(stmt)).all())


async def active_names(
    session: AsyncSession, language: str | None = None
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Active locations and specialists as (id, name in `language`: the translated name where
    there is one), by that name."""
    named = []
    for model in (Location, Specialist):
        rows = await session.execute(
            select(model.id, model.name, model.name_i18n).where(model.is_active)
        )
        named.append(
            sorted(
                ((int(r[0]), localized_name(r[1], r[2], language)) for r in rows),
                key=lambda pair: (pair[1].casefold(), pair[0]),
            )
        )
    return named[0], named[1]


async def scope_name(
    session: AsyncSession, scope: Scope, language: str | None = None
) -> str | None:
    """The name (in `language` where translated) of the scope's location or specialist
    (inactive ones too), or None."""
    model: type[Location] | type[Specialist]
    if scope.location_id is not None:
        model, row_id = Location, scope.location_id
    elif scope.specialist_id is not None:
        model, row_id = Specialist, scope.specialist_id
    else:
        return None
    found = (
        await session.execute(select(model.name, model.name_i18n).where(model.id == row_id))
    ).one_or_none()
    return None if found is None else localized_name(found[0], found[1], language)
