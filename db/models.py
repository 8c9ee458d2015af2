"""ORM models. Table and column names follow the seed design; extensions are nullable or
defaulted so that a row written with only the seed's columns stays valid.

The exclusion constraints on `appointments` live in the migration only (written by hand;
Alembic autogenerate renders EXCLUDE wrongly) and are excluded from autogenerate comparisons
in `migrations/env.py`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.statuses import ACTIVE_STATUSES as _ACTIVE_STATUSES
from bot.domain.statuses import AppointmentStatus, OutboxStatus
from bot.domain.walltime import WallTime
from db.base import Base
from db.types import WallClock

Money = Numeric(12, 2)

APPOINTMENT_STATUSES = tuple(AppointmentStatus)
# Statuses that occupy time: everything except a cancellation.
ACTIVE_STATUSES = _ACTIVE_STATUSES


def _now() -> Any:
    return func.now()


class Location(Base):
    __tablename__ = "locations"
    __table_args__ = (
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_nonnegative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    address: Mapped[str | None] = mapped_column(Text)
    capacity: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    timezone: Mapped[str] = mapped_column(
        Text, nullable=False, server_default=text("'Europe/Moscow'")
    )
    # The name in other languages ({"en": "..."}); a language without an entry shows `name`.
    name_i18n: Mapped[dict[str, str]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )


class LocationSchedule(Base):
    __tablename__ = "location_schedules"
    __table_args__ = (
        CheckConstraint("day_of_week BETWEEN 1 AND 7", name="day_of_week_iso"),
        CheckConstraint(
            "is_day_off OR (start_time IS NOT NULL AND end_time IS NOT NULL "
            "AND end_time > start_time)",
            name="hours_ordered",
        ),
        UniqueConstraint("location_id", "day_of_week", name="uq_location_schedules_day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE"), nullable=False
    )
    day_of_week: Mapped[int] = mapped_column(Integer, nullable=False)
    start_time: Mapped[WallTime | None] = mapped_column(WallClock)
    end_time: Mapped[WallTime | None] = mapped_column(WallClock)
    is_day_off: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))


class Workplace(Base):
    __tablename__ = "workplaces"
    __table_args__ = (UniqueConstraint("location_id", "name", name="uq_workplaces_location_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    type: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    # The name in other languages ({"en": "..."}); a language without an entry shows `name`.
    name_i18n: Mapped[dict[str, str]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint("duration_min > 0", name="duration_positive"),
        CheckConstraint("break_min >= 0", name="break_nonnegative"),
        CheckConstraint("price >= 0", name="price_nonnegative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    duration_min: Mapped[int] = mapped_column(Integer, nullable=False)
    break_min: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    # The name in other languages ({"en": "..."}); a language without an entry shows `name`.
    name_i18n: Mapped[dict[str, str]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )


class WorkplaceService(Base):
    __tablename__ = "workplace_services"
    __table_args__ = (
        UniqueConstraint("workplace_id", "service_id", name="uq_workplace_services_pair"),
        CheckConstraint("price IS NULL OR price >= 0", name="price_nonnegative"),
        CheckConstraint("duration_min IS NULL OR duration_min > 0", name="duration_positive"),
        CheckConstraint("break_min IS NULL OR break_min >= 0", name="break_nonnegative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workplace_id: Mapped[int] = mapped_column(
        ForeignKey("workplaces.id", ondelete="CASCADE"), nullable=False
    )
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), nullable=False
    )
    price: Mapped[Decimal | None] = mapped_column(Money)
    duration_min: Mapped[int | None] = mapped_column(Integer)
    break_min: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))


class Specialist(Base):
    __tablename__ = "specialists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    specialization: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    tg_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    language: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'ru'"))
    # False once Telegram answered 403 (the specialist blocked the bot).
    chat_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    # The name in other languages ({"en": "..."}); a language without an entry shows `name`.
    name_i18n: Mapped[dict[str, str]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )


class ServiceSpecialist(Base):
    __tablename__ = "service_specialists"
    __table_args__ = (
        UniqueConstraint("service_id", "specialist_id", name="uq_service_specialists_pair"),
        CheckConstraint("custom_price IS NULL OR custom_price >= 0", name="price_nonnegative"),
        CheckConstraint("custom_duration IS NULL OR custom_duration > 0", name="duration_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), nullable=False
    )
    specialist_id: Mapped[int] = mapped_column(
        ForeignKey("specialists.id", ondelete="CASCADE"), nullable=False
    )
    custom_price: Mapped[Decimal | None] = mapped_column(Money)
    custom_duration: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))


class SpecialistSchedule(Base):
    __tablename__ = "specialist_schedules"
    __table_args__ = (
        CheckConstraint("day_of_week BETWEEN 1 AND 7", name="day_of_week_iso"),
        CheckConstraint(
            "is_day_off OR (start_time IS NOT NULL AND end_time IS NOT NULL "
            "AND end_time > start_time)",
            name="hours_ordered",
        ),
        UniqueConstraint(
            "specialist_id", "location_id", "day_of_week", name="uq_specialist_schedules_day"
        ),
        Index("ix_specialist_schedules_location_day", "location_id", "day_of_week"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    specialist_id: Mapped[int] = mapped_column(
        ForeignKey("specialists.id", ondelete="CASCADE"), nullable=False
    )
    location_id: Mapped[int] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE"), nullable=False
    )
    workplace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workplaces.id", ondelete="SET NULL")
    )
    day_of_week: Mapped[int] = mapped_column(Integer, nullable=False)
    start_time: Mapped[WallTime | None] = mapped_column(WallClock)
    end_time: Mapped[WallTime | None] = mapped_column(WallClock)
    is_day_off: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))


class Break(Base):
    __tablename__ = "breaks"
    __table_args__ = (
        CheckConstraint(
            "(start_time IS NULL AND end_time IS NULL) OR "
            "(start_time IS NOT NULL AND end_time IS NOT NULL AND end_time > start_time)",
            name="hours_ordered",
        ),
        Index("ix_breaks_specialist_date", "specialist_id", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    specialist_id: Mapped[int] = mapped_column(
        ForeignKey("specialists.id", ondelete="CASCADE"), nullable=False
    )
    date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    # Both NULL: the specialist is off the whole date.
    start_time: Mapped[WallTime | None] = mapped_column(WallClock)
    end_time: Mapped[WallTime | None] = mapped_column(WallClock)
    reason: Mapped[str | None] = mapped_column(Text)


class Holiday(Base):
    __tablename__ = "holidays"
    __table_args__ = (
        UniqueConstraint("location_id", "date", name="uq_holidays_location_date"),
        CheckConstraint(
            "(start_time IS NULL AND end_time IS NULL) OR "
            "(start_time IS NOT NULL AND end_time IS NOT NULL AND end_time > start_time)",
            name="hours_ordered",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE"), nullable=False
    )
    date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    is_working: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    description: Mapped[str | None] = mapped_column(Text)
    # Hours of a working holiday; NULL = that weekday's regular hours.
    start_time: Mapped[WallTime | None] = mapped_column(WallClock)
    end_time: Mapped[WallTime | None] = mapped_column(WallClock)


class Client(Base):
    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint(
            "discount_percent >= 0 AND discount_percent <= 100", name="discount_percent_range"
        ),
        CheckConstraint("language IN ('ru', 'en')", name="language_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tg_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    phone: Mapped[str | None] = mapped_column(Text)
    first_name: Mapped[str | None] = mapped_column(Text)
    last_name: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    username: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'ru'"))
    discount_percent: Mapped[Decimal] = mapped_column(
        Numeric(5, 2), nullable=False, server_default=text("0")
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )
    # Set by an admin: a blocked client cannot book (their appointments stay).
    is_blocked: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))


class ClientWallet(Base):
    __tablename__ = "client_wallets"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_nonnegative"),)

    # The primary key is the client: one wallet per client, enforced by the database.
    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True
    )
    balance: Mapped[Decimal] = mapped_column(Money, nullable=False, server_default=text("0"))


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('booked', 'cancelled', 'completed', 'no_show')", name="status_known"
        ),
        CheckConstraint("end_time > start_time", name="end_after_start"),
        CheckConstraint("blocked_until >= end_time", name="blocked_covers_service"),
        CheckConstraint("price >= 0", name="price_nonnegative"),
        CheckConstraint("discount >= 0", name="discount_nonnegative"),
        Index("ix_appointments_location_start", "location_id", "start_time"),
        Index("ix_appointments_client_start", "client_id", "start_time"),
        Index("ix_appointments_specialist_start", "specialist_id", "start_time"),
        # Statistics of the whole business (see db/repositories/stats.py).
        Index("ix_appointments_start", "start_time"),
        Index("ix_appointments_created", "created_at"),
        # EXCLUDE constraints: see the migration (hand-written).
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), nullable=False)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), nullable=False)
    workplace_id: Mapped[int] = mapped_column(ForeignKey("workplaces.id"), nullable=False)
    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialists.id"), nullable=False)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), nullable=False)
    start_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    end_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'booked'"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now(), onupdate=_now()
    )
    # What was agreed at booking time.
    price: Mapped[Decimal] = mapped_column(Money, nullable=False, server_default=text("0"))
    discount: Mapped[Decimal] = mapped_column(Money, nullable=False, server_default=text("0"))
    # End of the blocked interval: end_time + the break after the service. Defaults to end_time
    # so that a row written with only the seed's columns is valid.
    blocked_until: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # The hold/confirm key that created the row: a double confirm finds it instead of booking
    # again.
    booking_key: Mapped[str | None] = mapped_column(Text, unique=True)
    # An admin fixed the workplace: re-assigning workplaces to fit a booking never moves it.
    workplace_pinned: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("false")
    )
    client_confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[str | None] = mapped_column(Text)


class WalletTransaction(Base):
    __tablename__ = "wallet_transactions"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_nonzero"),
        CheckConstraint("discount >= 0", name="discount_nonnegative"),
        CheckConstraint(
            "kind IN ('topup', 'payment', 'adjustment', 'debit', 'refund', 'reschedule')",
            name="kind_known",
        ),
        Index("ix_wallet_transactions_client_created", "client_id", "created_at"),
        Index("ix_wallet_transactions_created", "created_at"),
        # A refund is tied to its appointment and never given twice; likewise the debit.
        Index(
            "uq_wallet_transactions_refund_once",
            "appointment_id",
            unique=True,
            postgresql_where=text("kind = 'refund'"),
        ),
        Index(
            "uq_wallet_transactions_debit_once",
            "appointment_id",
            unique=True,
            postgresql_where=text("kind = 'debit'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("client_wallets.client_id", ondelete="CASCADE"), nullable=False
    )
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    discount: Mapped[Decimal] = mapped_column(Money, nullable=False, server_default=text("0"))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )
    kind: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'adjustment'"))
    # Telegram payment charge id (or another external reference): credited once.
    external_id: Mapped[str | None] = mapped_column(Text, unique=True)
    created_by: Mapped[int | None] = mapped_column(BigInteger)


class Admin(Base):
    """Admins added at run time (in addition to ADMIN_IDS, which are always admins)."""

    __tablename__ = "admins"

    tg_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    added_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )


class SpecialistInvite(Base):
    """One-time deep link `/start spec_<token>` that links a Telegram account to a specialist.

    Only the SHA-256 (hex) of the token is stored; `used_at`/`used_by` are set together, once.
    """

    __tablename__ = "specialist_invites"
    __table_args__ = (
        CheckConstraint("token_hash ~ '^[0-9a-f]{64}$'", name="token_hash_sha256"),
        CheckConstraint("expires_at > created_at", name="expires_after_created"),
        CheckConstraint("(used_at IS NULL) = (used_by IS NULL)", name="used_with_user"),
    )

    token_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    specialist_id: Mapped[int] = mapped_column(
        ForeignKey("specialists.id", ondelete="CASCADE"), nullable=False
    )
    created_by: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    used_by: Mapped[int | None] = mapped_column(BigInteger)


class AuditEntry(Base):
    """Who changed what as an admin, written in the same transaction as the change."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint("action <> ''", name="action_not_empty"),
        Index("ix_audit_log_created", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    actor_tg_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )
    action: Mapped[str] = mapped_column(Text, nullable=False)
    entity: Mapped[str] = mapped_column(Text, nullable=False)
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


OUTBOX_STATUSES = tuple(OutboxStatus)


class Outbox(Base):
    """Notifications, written in the same transaction as the change they announce."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'cancelled')", name="status_known"
        ),
        CheckConstraint("recipient IN ('client', 'specialist', 'admin')", name="recipient_known"),
        CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
        Index(
            "ix_outbox_due_pending",
            "due_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_outbox_appointment", "appointment_id"),
        Index("ix_outbox_chat_pending", "chat_id", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # The same notification is never queued twice.
    dedupe_key: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    recipient: Mapped[str] = mapped_column(Text, nullable=False)
    chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    payload: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    due_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    locked_by: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )


class WaitlistEntry(Base):
    __tablename__ = "waitlist"
    __table_args__ = (
        CheckConstraint(
            "status IN ('waiting', 'offered', 'fulfilled', 'cancelled', 'expired')",
            name="status_known",
        ),
        Index("ix_waitlist_lookup", "location_id", "service_id", "date", "status"),
        Index(
            "uq_waitlist_one_waiting",
            "client_id",
            "location_id",
            "service_id",
            text("coalesce(specialist_id, 0)"),
            "date",
            unique=True,
            postgresql_where=text("status IN ('waiting', 'offered')"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), nullable=False
    )
    location_id: Mapped[int] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE"), nullable=False
    )
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), nullable=False
    )
    specialist_id: Mapped[int | None] = mapped_column(
        ForeignKey("specialists.id", ondelete="CASCADE")
    )
    date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'waiting'"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )
    offered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The slot offered (so the offer button can take exactly that time).
    offered_start: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    offered_specialist_id: Mapped[int | None] = mapped_column(
        ForeignKey("specialists.id", ondelete="SET NULL")
    )
