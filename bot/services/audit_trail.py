"""The audit trail: one `audit_log` row per admin change (who, when, action, entity, before ->
after), written by the use case in the transaction of the change, so it commits with the change
or not at all. Rule: docs/rules.md#admin-rights."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

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
    APPOINTMENT_WORKPLACE_PINNED = "appointment.workplace_pinned"
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
