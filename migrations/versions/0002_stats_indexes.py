"""Indexes the owner's statistics scan: appointments by start and by creation time for the
whole business (the per-location and per-specialist indexes lead with their id), and ledger
rows by creation time.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_appointments_start", "appointments", ["start_time"], unique=False)
    op.create_index("ix_appointments_created", "appointments", ["created_at"], unique=False)
    op.create_index(
        "ix_wallet_transactions_created", "wallet_transactions", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_wallet_transactions_created", table_name="wallet_transactions")
    op.drop_index("ix_appointments_created", table_name="appointments")
    op.drop_index("ix_appointments_start", table_name="appointments")
