"""Rows of the statistics exports (a period's appointments and ledger). Queries only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, and_, func, literal, or_, select
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
from db.repositories.stats import Scope, Window, within


async def appointment_rows(
    session: AsyncSession, scope: Scope, w: Window
) -> Sequence[Row[tuple[object, ...]]]:
    """Every appointment in the scope starting in the window (cancelled ones too), with the
    names the export shows (base names and their translations, `<column>_i18n`), in start
    order."""
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
            Location.name_i18n.label("location_i18n"),
            Workplace.name_i18n.label("workplace_i18n"),
            Specialist.name_i18n.label("specialist_i18n"),
            Service.name_i18n.label("service_i18n"),
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
        .where(within(w, Appointment.start_time, Appointment.location_id))
        .order_by(Appointment.start_time, Appointment.id)
    )
    if scope.specialist_id is not None:
        stmt = stmt.where(Appointment.specialist_id == scope.specialist_id)
    return (await session.execute(stmt)).all()


async def ledger_rows(
    session: AsyncSession,
    scope: Scope,
    w: Window,
    default_timezone: str,
    unattached: tuple[datetime, datetime] | None,
) -> Sequence[Row[tuple[object, ...]]]:
    """Ledger rows written in the window: a row about an appointment is dated in its
    location's zone; the others (top-ups, adjustments) fall in `unattached` ([lo, hi) in
    `default_timezone`; None leaves them out, as a location or specialist scope does)."""
    zone = func.coalesce(Location.timezone, literal(default_timezone))
    attached = within(w, WalletTransaction.created_at, Appointment.location_id)
    if unattached is not None:
        lo, hi = unattached
        attached = or_(
            attached,
            and_(
                WalletTransaction.appointment_id.is_(None),
                WalletTransaction.created_at >= lo,
                WalletTransaction.created_at < hi,
            ),
        )
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
        .where(attached)
        .order_by(WalletTransaction.created_at, WalletTransaction.id)
    )
    if scope.specialist_id is not None:
        stmt = stmt.where(Appointment.specialist_id == scope.specialist_id)
    return (await session.execute(stmt)).all()
