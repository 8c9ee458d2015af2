"""The admin front desk: run-time admins with when they were added, hashed single-use
specialist invites, and the blocked flag of a client (the audit log is revision 0003's).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("admins", "created_at", new_column_name="added_at")

    op.add_column(
        "clients",
        sa.Column("is_blocked", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )

    # Only the SHA-256 of a token is stored: a leaked table cannot be turned into links. No
    # invite was ever issued before this revision, so the table starts over.
    op.drop_table("specialist_invites")
    op.create_table(
        "specialist_invites",
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("specialist_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "token_hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_specialist_invites_token_hash_sha256")
        ),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_specialist_invites_expires_after_created")
        ),
        sa.CheckConstraint(
            "(used_at IS NULL) = (used_by IS NULL)",
            name=op.f("ck_specialist_invites_used_with_user"),
        ),
        sa.ForeignKeyConstraint(
            ["specialist_id"],
            ["specialists.id"],
            name=op.f("fk_specialist_invites_specialist_id_specialists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_specialist_invites")),
    )


def downgrade() -> None:
    op.drop_table("specialist_invites")
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
    op.drop_column("clients", "is_blocked")
    op.alter_column("admins", "added_at", new_column_name="created_at")
