"""Workplaces can be re-assigned among a day's appointments.

- `appointments.workplace_pinned` (boolean, default false): an admin fixed the workplace; a
  re-assignment never moves such an appointment (nor one that has started, nor one whose
  specialist's schedule row pins a workplace).
- The workplace exclusion constraint becomes DEFERRABLE (still INITIALLY IMMEDIATE, so every
  other statement is checked at once as before): a confirm that swaps two appointments'
  workplaces defers it for the swap and sets it IMMEDIATE again before it inserts, so the
  database still has the last word inside the same transaction.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WORKPLACE_BUSY = (
    "EXCLUDE USING gist (workplace_id WITH =, tstzrange(start_time, blocked_until, '[)') WITH &&)"
    " WHERE (status <> 'cancelled')"
)


def upgrade() -> None:
    op.add_column(
        "appointments",
        sa.Column(
            "workplace_pinned", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.execute("ALTER TABLE appointments DROP CONSTRAINT ex_appointments_workplace_busy")
    op.execute(
        "ALTER TABLE appointments ADD CONSTRAINT ex_appointments_workplace_busy "
        f"{WORKPLACE_BUSY} DEFERRABLE INITIALLY IMMEDIATE"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE appointments DROP CONSTRAINT ex_appointments_workplace_busy")
    op.execute(f"ALTER TABLE appointments ADD CONSTRAINT ex_appointments_workplace_busy {WORKPLACE_BUSY}")
    op.drop_column("appointments", "workplace_pinned")
