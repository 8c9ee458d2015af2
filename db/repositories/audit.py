"""The audit log: one row per admin change, written in the change's own transaction.
Queries only: nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry


async def record(
    session: AsyncSession,
    *,
    actor_tg_id: int,
    action: str,
    entity: str,
    entity_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Write one audit row (JSON-ready `before`/`after`) in the caller's transaction."""
    session.add(
        AuditEntry(
            actor_tg_id=actor_tg_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
        )
    )
    await session.flush()


async def latest(session: AsyncSession, *, limit: int, offset: int = 0) -> Sequence[AuditEntry]:
    """The newest rows first, `limit` of them after skipping `offset`."""
    result = await session.execute(
        select(AuditEntry)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return result.scalars().all()


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
