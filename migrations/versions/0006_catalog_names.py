"""Translated names of catalog entities.

`name_i18n` (JSONB object, default `{}`) on locations, services, specialists and workplaces:
the name in another language, keyed by language code (`{"en": "Haircut"}`). The seed's `name`
column stays the base name: a client whose language has no entry sees it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("locations", "services", "specialists", "workplaces")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table,
            sa.Column(
                "name_i18n",
                postgresql.JSONB(),
                server_default=sa.text("'{}'::jsonb"),
                nullable=False,
            ),
        )


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "name_i18n")
