"""The audit log: one row per admin change (who, when, action, entity, before -> after), written
by the use case in the transaction of the change; read back newest first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.services.admin.access import require_admin
from db.repositories import audit as audit_repo


class AuditAction(StrEnum):
    ADMIN_ADDED = "admin.added"
    ADMIN_REMOVED = "admin.removed"
    INVITE_CREATED = "invite.created"
    SPECIALIST_LINKED = "specialist.linked"
    SPECIALIST_UNLINKED = "specialist.unlinked"
    CLIENT_CREATED = "client.created"
    CLIENT_BLOCKED = "client.blocked"
    CLIENT_UNBLOCKED = "client.unblocked"
    CLIENT_NOTES = "client.notes"
    WALLET_TOPUP = "wallet.topup"
    WALLET_ADJUST = "wallet.adjust"
    DISCOUNT_SET = "client.discount"
    APPOINTMENT_BOOKED = "appointment.booked"
    APPOINTMENT_CANCELLED = "appointment.cancelled"
    APPOINTMENT_MOVED = "appointment.moved"
    APPOINTMENT_MARKED = "appointment.marked"


def jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with Decimals as strings ("1500.00") and datetimes as ISO 8601, for JSONB."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Decimal):
            out[key] = str(value)
        elif isinstance(value, dt.datetime | dt.date):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out


async def write_audit(
    session: AsyncSession,
    *,
    actor_tg_id: int,
    action: AuditAction,
    entity: str,
    entity_id: int | None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Record the change in the caller's (uncommitted) transaction."""
    await audit_repo.record(
        session,
        actor_tg_id=actor_tg_id,
        action=action.value,
        entity=entity,
        entity_id=entity_id,
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
    )


@dataclass(frozen=True, slots=True)
class AuditView:
    id: int
    actor_tg_id: int
    created_at: dt.datetime
    action: str
    entity: str
    entity_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditView]
    total: int


class AuditService:
    """Reads the audit log for the `/admin` screen (admins only)."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], settings: Settings):
        self._sessions = session_factory
        self._settings = settings

    async def latest(self, admin: int, *, limit: int = 10, offset: int = 0) -> AuditPage:
        """The newest `limit` rows after skipping `offset`; `AccessDenied` for a non-admin."""
        async with self._sessions() as session:
            await require_admin(session, self._settings, admin)
            rows = await audit_repo.latest(session, limit=limit, offset=offset)
            total = await audit_repo.count(session)
        return AuditPage(
            entries=[
                AuditView(
                    id=r.id,
                    actor_tg_id=r.actor_tg_id,
                    created_at=r.created_at,
                    action=r.action,
                    entity=r.entity,
                    entity_id=r.entity_id,
                    before=r.before,
                    after=r.after,
                )
                for r in rows
            ],
            total=total,
        )
