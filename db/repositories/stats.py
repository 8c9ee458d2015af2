"""Statistics aggregates, computed in PostgreSQL. Queries only: nothing here commits.

Every figure is an aggregate over indexed columns (`appointments.start_time`,
`appointments.created_at`, `wallet_transactions.created_at`): rows are never loaded into
Python. A period is a range of *local* dates; each appointment's date is taken in its own
location's time zone. An index range scan first narrows to a UTC window one day wider on each
side (no zone is more than 14 hours from UTC), then the exact local date decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, cast, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import Appointment, Location, SpecialistSchedule, WalletTransaction

ACTIVE = ("booked", "completed", "no_show")
# Ledger kinds that are the business's revenue (signed from the wallet's side: a debit is
# negative, a refund positive), and money clients put in.
REVENUE_KINDS = ("debit", "refund", "reschedule")
TOPUP_KINDS = ("topup", "payment")
_WIDEN = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Scope:
    """The whole business (both None), one location, or one specialist."""

    location_id: int | None = None
    specialist_id: int | None = None


@dataclass(frozen=True, slots=True)
class AppointmentTotals:
    held: int
    completed: int
    no_shows: int
    cancelled_by_client: int
    cancelled_by_admin: int
    cancelled_by_specialist: int
    booked_minutes: int
    average_check: Decimal | None
    clients: int
    new_clients: int


@dataclass(frozen=True, slots=True)
class DayRow:
    day: date
    appointments: int
    revenue: Decimal


def utc_window(first: date, last: date) -> tuple[datetime, datetime]:
    """A UTC range that holds every instant of local dates [first, last] in any time zone."""
    return (
        datetime.combine(first, time(), UTC) - _WIDEN,
        datetime.combine(last + timedelta(days=1), time(), UTC) + _WIDEN,
    )


def local_day(instant: Any, zone: Any) -> ColumnElement[date]:
    """The local calendar date of a timestamptz column in a zone (a column or a literal)."""
    return cast(func.timezone(zone, instant), Date)


def _scoped(scope: Scope) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if scope.location_id is not None:
        out.append(Appointment.location_id == scope.location_id)
    if scope.specialist_id is not None:
        out.append(Appointment.specialist_id == scope.specialist_id)
    return out


def _by_start(scope: Scope, first: date, last: date) -> list[ColumnElement[bool]]:
    lo, hi = utc_window(first, last)
    day = local_day(Appointment.start_time, Location.timezone)
    return [
        Appointment.start_time >= lo,
        Appointment.start_time < hi,
        day >= first,
        day <= last,
        *_scoped(scope),
    ]


async def appointment_totals(
    session: AsyncSession, scope: Scope, first: date, last: date
) -> AppointmentTotals:
    """Appointments starting on local dates [first, last] in the scope: held (not cancelled),
    completed, no-shows, cancellations by who cancelled, booked minutes (service time of the
    held ones), the average agreed price of the held ones, and their distinct clients, of whom
    `new_clients` had no earlier held appointment anywhere in the business."""
    active = Appointment.status.in_(ACTIVE)
    cancelled = Appointment.status == "cancelled"
    minutes = func.extract("epoch", Appointment.end_time - Appointment.start_time) / 60
    totals = (
        await session.execute(
            select(
                func.count().filter(active),
                func.count().filter(Appointment.status == "completed"),
                func.count().filter(Appointment.status == "no_show"),
                func.count().filter(cancelled, Appointment.cancelled_by == "client"),
                func.count().filter(cancelled, Appointment.cancelled_by == "admin"),
                func.count().filter(cancelled, Appointment.cancelled_by == "specialist"),
                func.coalesce(func.sum(minutes).filter(active), 0),
                func.round(func.avg(Appointment.price).filter(active), 2),
            )
            .select_from(Appointment)
            .join(Location, Location.id == Appointment.location_id)
            .where(*_by_start(scope, first, last))
        )
    ).one()
    firsts = (
        select(
            Appointment.client_id.label("client_id"),
            func.min(Appointment.start_time).label("first_start"),
        )
        .join(Location, Location.id == Appointment.location_id)
        .where(active, *_by_start(scope, first, last))
        .group_by(Appointment.client_id)
        .subquery()
    )
    earlier = aliased(Appointment)
    seen_before = exists().where(
        earlier.client_id == firsts.c.client_id,
        earlier.status.in_(ACTIVE),
        earlier.start_time < firsts.c.first_start,
    )
    clients = (
        await session.execute(
            select(func.count(), func.count().filter(~seen_before)).select_from(firsts)
        )
    ).one()
    return AppointmentTotals(
        held=totals[0],
        completed=totals[1],
        no_shows=totals[2],
        cancelled_by_client=totals[3],
        cancelled_by_admin=totals[4],
        cancelled_by_specialist=totals[5],
        booked_minutes=int(totals[6]),
        average_check=totals[7],
        clients=clients[0],
        new_clients=clients[1],
    )


async def bookings_made(session: AsyncSession, scope: Scope, first: date, last: date) -> int:
    """Appointments created (booked) on local dates [first, last] in the scope, whatever
    happened to them later and whenever they start."""
    lo, hi = utc_window(first, last)
    day = local_day(Appointment.created_at, Location.timezone)
    result = await session.execute(
        select(func.count())
        .select_from(Appointment)
        .join(Location, Location.id == Appointment.location_id)
        .where(
            Appointment.created_at >= lo,
            Appointment.created_at < hi,
            day >= first,
            day <= last,
            *_scoped(scope),
        )
    )
    return int(result.scalar_one())


def _revenue_rows(scope: Scope, first: date, last: date) -> Any:
    lo, hi = utc_window(first, last)
    day = local_day(WalletTransaction.created_at, Location.timezone)
    return (
        select(day.label("day"), (-func.sum(WalletTransaction.amount)).label("revenue"))
        .select_from(WalletTransaction)
        .join(Appointment, Appointment.id == WalletTransaction.appointment_id)
        .join(Location, Location.id == Appointment.location_id)
        .where(
            WalletTransaction.created_at >= lo,
            WalletTransaction.created_at < hi,
            WalletTransaction.kind.in_(REVENUE_KINDS),
            day >= first,
            day <= last,
            *_scoped(scope),
        )
        .group_by(day)
    )


async def daily(session: AsyncSession, scope: Scope, first: date, last: date) -> list[DayRow]:
    """Per local date in [first, last] (every date, zeros included): held appointments by
    start, and revenue (charges minus refunds, by the ledger row's date)."""
    day = local_day(Appointment.start_time, Location.timezone)
    counts = {
        r.day: int(r.n)
        for r in await session.execute(
            select(day.label("day"), func.count().label("n"))
            .select_from(Appointment)
            .join(Location, Location.id == Appointment.location_id)
            .where(Appointment.status.in_(ACTIVE), *_by_start(scope, first, last))
            .group_by(day)
        )
    }
    revenue_rows = await session.execute(_revenue_rows(scope, first, last))
    revenue = {r.day: Decimal(r.revenue) for r in revenue_rows}
    out = []
    d = first
    while d <= last:
        out.append(DayRow(d, counts.get(d, 0), revenue.get(d, Decimal("0.00"))))
        d += timedelta(days=1)
    return out


async def topups(session: AsyncSession, first: date, last: date, timezone: str) -> Decimal:
    """Money clients put into their wallets (admin top-ups and Telegram payments) on dates
    [first, last] in `timezone`: top-ups belong to no location."""
    lo, hi = utc_window(first, last)
    day = local_day(WalletTransaction.created_at, literal(timezone))
    result = await session.execute(
        select(func.coalesce(func.sum(WalletTransaction.amount), 0)).where(
            WalletTransaction.created_at >= lo,
            WalletTransaction.created_at < hi,
            WalletTransaction.kind.in_(TOPUP_KINDS),
            day >= first,
            day <= last,
        )
    )
    return Decimal(result.scalar_one())


async def booked_minutes_by_specialist(
    session: AsyncSession, scope: Scope, first: date, last: date
) -> dict[tuple[int, int], int]:
    """(location_id, specialist_id) -> service minutes of held appointments in the period."""
    minutes = func.extract("epoch", Appointment.end_time - Appointment.start_time) / 60
    rows = await session.execute(
        select(Appointment.location_id, Appointment.specialist_id, func.sum(minutes))
        .join(Location, Location.id == Appointment.location_id)
        .where(Appointment.status.in_(ACTIVE), *_by_start(scope, first, last))
        .group_by(Appointment.location_id, Appointment.specialist_id)
    )
    return {(r[0], r[1]): int(r[2]) for r in rows}


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
