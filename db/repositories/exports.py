"""Rows of the statistics exports (a period's appointments and ledger). Queries only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Row, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Appointment,
    Client,
    Location,
    Service,
    Specialist,
    WalletTransaction,
    Workplace,
)
from db.repositories.stats import Scope, local_day, utc_window


async def appointment_rows(
    session: AsyncSession, scope: Scope, first: date, last: date
) -> Sequence[Row[tuple[object, ...]]]:
    """Every appointment in the scope starting on local dates [first, last] (cancelled ones
    too), with the names the export shows, in start order."""
    lo, hi = utc_window(first, last)
    day = local_day(Appointment.start_time, Location.timezone)
    stmt = (
        select(
            Appointment.id,
            Appointment.start_time,
            Appointment.end_time,
            Location.timezone,
            Location.name.label("location"),
            Workplace.name.label("workplace"),
            Specialist.name.label("specialist"),
            Service.name.label("service"),
            Client.id.label("client_id"),
            Client.first_name,
            Client.last_name,
            Appointment.status,
            Appointment.price,
            Appointment.discount,
            Appointment.cancelled_by,
        )
        .join(Location, Location.id == Appointment.location_id)
        .join(Workplace, Workplace.id == Appointment.workplace_id)
        .join(Specialist, Specialist.id == Appointment.specialist_id)
        .join(Service, Service.id == Appointment.service_id)
        .join(Client, Client.id == Appointment.client_id)
        .where(Appointment.start_time >= lo, Appointment.start_time < hi, day >= first, day <= last)
        .order_by(Appointment.start_time, Appointment.id)
    )
    if scope.location_id is not None:
        stmt = stmt.where(Appointment.location_id == scope.location_id)
    if scope.specialist_id is not None:
        stmt = stmt.where(Appointment.specialist_id == scope.specialist_id)
    return (await session.execute(stmt)).all()


async def ledger_rows(
    session: AsyncSession, scope: Scope, first: date, last: date, default_timezone: str
) -> Sequence[Row[tuple[object, ...]]]:
    """Ledger rows written on local dates [first, last]: a row about an appointment is dated
    in its location's zone, any other (top-ups, adjustments) in `default_timezone`. A location
    or specialist scope keeps only rows about its appointments."""
    lo, hi = utc_window(first, last)
    zone = func.coalesce(Location.timezone, literal(default_timezone))
    day = local_day(WalletTransaction.created_at, zone)
    stmt = (
        select(
            WalletTransaction.id,
            WalletTransaction.created_at,
            zone.label("timezone"),
            WalletTransaction.client_id,
            Client.first_name,
            Client.last_name,
            WalletTransaction.kind,
            WalletTransaction.amount,
            WalletTransaction.discount,
            WalletTransaction.appointment_id,
            WalletTransaction.description,
        )
        .join(Client, Client.id == WalletTransaction.client_id)
        .outerjoin(Appointment, Appointment.id == WalletTransaction.appointment_id)
        .outerjoin(Location, Location.id == Appointment.location_id)
        .where(
            WalletTransaction.created_at >= lo,
            WalletTransaction.created_at < hi,
            day >= first,
            day <= last,
        )
        .order_by(WalletTransaction.created_at, WalletTransaction.id)
    )
    if scope.location_id is not None:
        stmt = stmt.where(Appointment.location_id == scope.location_id)
    if scope.specialist_id is not None:
        stmt = stmt.where(Appointment.specialist_id == scope.specialist_id)
    return (await session.execute(stmt)).all()
