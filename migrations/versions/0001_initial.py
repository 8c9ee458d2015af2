"""Initial schema: the seed tables, their extensions, and the guards the database enforces.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Hand-written DDL (Alembic autogenerate mishandles EXCLUDE: alembic #958, #1300, #1184, #1230).
# Active = not cancelled. The specialist and the workplace are busy for [start, blocked_until),
# i.e. including the break after the service; the client for [start, end).
EXCLUSIONS = {
    "ex_appointments_specialist_busy": (
        "specialist_id WITH =, tstzrange(start_time, blocked_until, '[)') WITH &&"
    ),
    "ex_appointments_workplace_busy": (
        "workplace_id WITH =, tstzrange(start_time, blocked_until, '[)') WITH &&"
    ),
    "ex_appointments_client_busy": (
        "client_id WITH =, tstzrange(start_time, end_time, '[)') WITH &&"
    ),
}

BLOCKED_UNTIL_DEFAULT = """
CREATE FUNCTION appointments_blocked_until_default() RETURNS trigger AS $$
BEGIN
    IF NEW.blocked_until IS NULL THEN
        NEW.blocked_until := NEW.end_time;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql
"""


def _create_guards() -> None:
    for name, body in EXCLUSIONS.items():
        op.execute(
            f"ALTER TABLE appointments ADD CONSTRAINT {name} "
            f"EXCLUDE USING gist ({body}) WHERE (status <> 'cancelled')"
        )
    # A row written with only the seed's columns blocks exactly [start, end).
    op.execute(BLOCKED_UNTIL_DEFAULT)
    op.execute(
        "CREATE TRIGGER trg_appointments_blocked_until BEFORE INSERT OR UPDATE ON appointments "
        "FOR EACH ROW EXECUTE FUNCTION appointments_blocked_until_default()"
    )


def _drop_guards() -> None:
    op.execute("DROP TRIGGER IF EXISTS trg_appointments_blocked_until ON appointments")
    op.execute("DROP FUNCTION IF EXISTS appointments_blocked_until_default()")
    for name in EXCLUSIONS:
        op.execute(f"ALTER TABLE appointments DROP CONSTRAINT IF EXISTS {name}")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "admins",
        sa.Column("tg_id", sa.BigInteger(), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("tg_id", name=op.f("pk_admins")),
    )
    op.create_table(
        "clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tg_id", sa.BigInteger(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("username", sa.Text(), nullable=True),
        sa.Column("language", sa.Text(), server_default=sa.text("'ru'"), nullable=False),
        sa.Column(
            "discount_percent",
            sa.Numeric(precision=5, scale=2),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("language IN ('ru', 'en')", name=op.f("ck_clients_language_known")),
        sa.CheckConstraint(
            "discount_percent >= 0 AND discount_percent <= 100",
            name=op.f("ck_clients_discount_percent_range"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
        sa.UniqueConstraint("tg_id", name=op.f("uq_clients_tg_id")),
    )
    op.create_table(
        "locations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("timezone", sa.Text(), server_default=sa.text("'Europe/Moscow'"), nullable=False),
        sa.CheckConstraint(
            "capacity IS NULL OR capacity >= 0", name=op.f("ck_locations_capacity_nonnegative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
        sa.UniqueConstraint("name", name=op.f("uq_locations_name")),
    )
    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("break_min", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.CheckConstraint("break_min >= 0", name=op.f("ck_services_break_nonnegative")),
        sa.CheckConstraint("duration_min > 0", name=op.f("ck_services_duration_positive")),
        sa.CheckConstraint("price >= 0", name=op.f("ck_services_price_nonnegative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("name", name=op.f("uq_services_name")),
    )
    op.create_table(
        "specialists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("specialization", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("tg_id", sa.BigInteger(), nullable=True),
        sa.Column("language", sa.Text(), server_default=sa.text("'ru'"), nullable=False),
        sa.Column("chat_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_specialists")),
        sa.UniqueConstraint("name", name=op.f("uq_specialists_name")),
        sa.UniqueConstraint("tg_id", name=op.f("uq_specialists_tg_id")),
    )
    op.create_table(
        "breaks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("specialist_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=True),
        sa.Column("end_time", sa.Time(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(start_time IS NULL AND end_time IS NULL) OR (start_time IS NOT NULL AND end_time IS NOT NULL AND end_time > start_time)",
            name=op.f("ck_breaks_hours_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["specialist_id"],
            ["specialists.id"],
            name=op.f("fk_breaks_specialist_id_specialists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breaks")),
    )
    op.create_index("ix_breaks_specialist_date", "breaks", ["specialist_id", "date"], unique=False)
    op.create_table(
        "client_wallets",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column(
            "balance",
            sa.Numeric(precision=12, scale=2),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_client_wallets_balance_nonnegative")),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_client_wallets_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_wallets")),
    )
    op.create_table(
        "holidays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("is_working", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("start_time", sa.Time(), nullable=True),
        sa.Column("end_time", sa.Time(), nullable=True),
        sa.CheckConstraint(
            "(start_time IS NULL AND end_time IS NULL) OR (start_time IS NOT NULL AND end_time IS NOT NULL AND end_time > start_time)",
            name=op.f("ck_holidays_hours_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_holidays_location_id_locations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holidays")),
        sa.UniqueConstraint("location_id", "date", name="uq_holidays_location_date"),
    )
    op.create_table(
        "location_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("day_of_week", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=True),
        sa.Column("end_time", sa.Time(), nullable=True),
        sa.Column("is_day_off", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.CheckConstraint(
            "day_of_week BETWEEN 1 AND 7", name=op.f("ck_location_schedules_day_of_week_iso")
        ),
        sa.CheckConstraint(
            "is_day_off OR (start_time IS NOT NULL AND end_time IS NOT NULL AND end_time > start_time)",
            name=op.f("ck_location_schedules_hours_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_location_schedules_location_id_locations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_location_schedules")),
        sa.UniqueConstraint("location_id", "day_of_week", name="uq_location_schedules_day"),
    )
    op.create_table(
        "service_specialists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("specialist_id", sa.Integer(), nullable=False),
        sa.Column("custom_price", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("custom_duration", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.CheckConstraint(
            "custom_duration IS NULL OR custom_duration > 0",
            name=op.f("ck_service_specialists_duration_positive"),
        ),
        sa.CheckConstraint(
            "custom_price IS NULL OR custom_price >= 0",
            name=op.f("ck_service_specialists_price_nonnegative"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_service_specialists_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["specialist_id"],
            ["specialists.id"],
            name=op.f("fk_service_specialists_specialist_id_specialists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_specialists")),
        sa.UniqueConstraint("service_id", "specialist_id", name="uq_service_specialists_pair"),
    )
    op.create_table(
        "specialist_invites",
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("specialist_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["specialist_id"],
            ["specialists.id"],
            name=op.f("fk_specialist_invites_specialist_id_specialists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_specialist_invites")),
    )
    op.create_table(
        "waitlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("specialist_id", sa.Integer(), nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'waiting'"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offered_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offered_specialist_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('waiting', 'offered', 'fulfilled', 'cancelled', 'expired')",
            name=op.f("ck_waitlist_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_waitlist_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_waitlist_location_id_locations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["offered_specialist_id"],
            ["specialists.id"],
            name=op.f("fk_waitlist_offered_specialist_id_specialists"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_waitlist_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["specialist_id"],
            ["specialists.id"],
            name=op.f("fk_waitlist_specialist_id_specialists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist")),
    )
    op.create_index(
        "ix_waitlist_lookup",
        "waitlist",
        ["location_id", "service_id", "date", "status"],
        unique=False,
    )
    op.create_index(
        "uq_waitlist_one_waiting",
        "waitlist",
        [
            "client_id",
            "location_id",
            "service_id",
            sa.literal_column("coalesce(specialist_id, 0)"),
            "date",
        ],
        unique=True,
        postgresql_where=sa.text("status IN ('waiting', 'offered')"),
    )
    op.create_table(
        "workplaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_workplaces_location_id_locations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workplaces")),
        sa.UniqueConstraint("location_id", "name", name="uq_workplaces_location_name"),
    )
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("workplace_id", sa.Integer(), nullable=False),
        sa.Column("specialist_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'booked'"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "price", sa.Numeric(precision=12, scale=2), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "discount",
            sa.Numeric(precision=12, scale=2),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("booking_key", sa.Text(), nullable=True),
        sa.Column("client_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('booked', 'cancelled', 'completed', 'no_show')",
            name=op.f("ck_appointments_status_known"),
        ),
        sa.CheckConstraint(
            "blocked_until >= end_time", name=op.f("ck_appointments_blocked_covers_service")
        ),
        sa.CheckConstraint("discount >= 0", name=op.f("ck_appointments_discount_nonnegative")),
        sa.CheckConstraint("end_time > start_time", name=op.f("ck_appointments_end_after_start")),
        sa.CheckConstraint("price >= 0", name=op.f("ck_appointments_price_nonnegative")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_appointments_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_appointments_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_appointments_service_id_services")
        ),
        sa.ForeignKeyConstraint(
            ["specialist_id"],
            ["specialists.id"],
            name=op.f("fk_appointments_specialist_id_specialists"),
        ),
        sa.ForeignKeyConstraint(
            ["workplace_id"],
            ["workplaces.id"],
            name=op.f("fk_appointments_workplace_id_workplaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        sa.UniqueConstraint("booking_key", name=op.f("uq_appointments_booking_key")),
    )
    op.create_index(
        "ix_appointments_client_start", "appointments", ["client_id", "start_time"], unique=False
    )
    op.create_index(
        "ix_appointments_location_start",
        "appointments",
        ["location_id", "start_time"],
        unique=False,
    )
    op.create_index(
        "ix_appointments_specialist_start",
        "appointments",
        ["specialist_id", "start_time"],
        unique=False,
    )
    op.create_table(
        "specialist_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("specialist_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("workplace_id", sa.Integer(), nullable=True),
        sa.Column("day_of_week", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=True),
        sa.Column("end_time", sa.Time(), nullable=True),
        sa.Column("is_day_off", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.CheckConstraint(
            "day_of_week BETWEEN 1 AND 7", name=op.f("ck_specialist_schedules_day_of_week_iso")
        ),
        sa.CheckConstraint(
            "is_day_off OR (start_time IS NOT NULL AND end_time IS NOT NULL AND end_time > start_time)",
            name=op.f("ck_specialist_schedules_hours_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_specialist_schedules_location_id_locations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["specialist_id"],
            ["specialists.id"],
            name=op.f("fk_specialist_schedules_specialist_id_specialists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workplace_id"],
            ["workplaces.id"],
            name=op.f("fk_specialist_schedules_workplace_id_workplaces"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_specialist_schedules")),
        sa.UniqueConstraint(
            "specialist_id", "location_id", "day_of_week", name="uq_specialist_schedules_day"
        ),
    )
    op.create_index(
        "ix_specialist_schedules_location_day",
        "specialist_schedules",
        ["location_id", "day_of_week"],
        unique=False,
    )
    op.create_table(
        "workplace_services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workplace_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("duration_min", sa.Integer(), nullable=True),
        sa.Column("break_min", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.CheckConstraint(
            "break_min IS NULL OR break_min >= 0",
            name=op.f("ck_workplace_services_break_nonnegative"),
        ),
        sa.CheckConstraint(
            "duration_min IS NULL OR duration_min > 0",
            name=op.f("ck_workplace_services_duration_positive"),
        ),
        sa.CheckConstraint(
            "price IS NULL OR price >= 0", name=op.f("ck_workplace_services_price_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_workplace_services_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workplace_id"],
            ["workplaces.id"],
            name=op.f("fk_workplace_services_workplace_id_workplaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workplace_services")),
        sa.UniqueConstraint("workplace_id", "service_id", name="uq_workplace_services_pair"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("dedupe_key", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "due_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("status", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_by", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "recipient IN ('client', 'specialist', 'admin')", name=op.f("ck_outbox_recipient_known")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'cancelled')",
            name=op.f("ck_outbox_status_known"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_attempts_nonnegative")),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_outbox_appointment_id_appointments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    op.create_index("ix_outbox_appointment", "outbox", ["appointment_id"], unique=False)
    op.create_index(
        "ix_outbox_chat_pending",
        "outbox",
        ["chat_id"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_outbox_due_pending",
        "outbox",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "wallet_transactions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column(
            "discount",
            sa.Numeric(precision=12, scale=2),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("kind", sa.Text(), server_default=sa.text("'adjustment'"), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('topup', 'payment', 'adjustment', 'debit', 'refund', 'reschedule')",
            name=op.f("ck_wallet_transactions_kind_known"),
        ),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_wallet_transactions_amount_nonzero")),
        sa.CheckConstraint(
            "discount >= 0", name=op.f("ck_wallet_transactions_discount_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_wallet_transactions_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client_wallets.client_id"],
            name=op.f("fk_wallet_transactions_client_id_client_wallets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_transactions")),
        sa.UniqueConstraint("external_id", name=op.f("uq_wallet_transactions_external_id")),
    )
    op.create_index(
        "ix_wallet_transactions_client_created",
        "wallet_transactions",
        ["client_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "uq_wallet_transactions_debit_once",
        "wallet_transactions",
        ["appointment_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'debit'"),
    )
    op.create_index(
        "uq_wallet_transactions_refund_once",
        "wallet_transactions",
        ["appointment_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'refund'"),
    )
    _create_guards()


def downgrade() -> None:
    _drop_guards()
    op.drop_index(
        "uq_wallet_transactions_refund_once",
        table_name="wallet_transactions",
        postgresql_where=sa.text("kind = 'refund'"),
    )
    op.drop_index(
        "uq_wallet_transactions_debit_once",
        table_name="wallet_transactions",
        postgresql_where=sa.text("kind = 'debit'"),
    )
    op.drop_index("ix_wallet_transactions_client_created", table_name="wallet_transactions")
    op.drop_table("wallet_transactions")
    op.drop_index(
        "ix_outbox_due_pending", table_name="outbox", postgresql_where=sa.text("status = 'pending'")
    )
    op.drop_index(
        "ix_outbox_chat_pending",
        table_name="outbox",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index("ix_outbox_appointment", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("workplace_services")
    op.drop_index("ix_specialist_schedules_location_day", table_name="specialist_schedules")
    op.drop_table("specialist_schedules")
    op.drop_index("ix_appointments_specialist_start", table_name="appointments")
    op.drop_index("ix_appointments_location_start", table_name="appointments")
    op.drop_index("ix_appointments_client_start", table_name="appointments")
    op.drop_table("appointments")
    op.drop_table("workplaces")
    op.drop_index(
        "uq_waitlist_one_waiting",
        table_name="waitlist",
        postgresql_where=sa.text("status IN ('waiting', 'offered')"),
    )
    op.drop_index("ix_waitlist_lookup", table_name="waitlist")
    op.drop_table("waitlist")
    op.drop_table("specialist_invites")
    op.drop_table("service_specialists")
    op.drop_table("location_schedules")
    op.drop_table("holidays")
    op.drop_table("client_wallets")
    op.drop_index("ix_breaks_specialist_date", table_name="breaks")
    op.drop_table("breaks")
    op.drop_table("specialists")
    op.drop_table("services")
    op.drop_table("locations")
    op.drop_table("clients")
    op.drop_table("admins")
    # The extension may be shared with other schemas; leave it installed.
