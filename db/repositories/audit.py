"""The audit log: one row per admin change, written in the change's own transaction.
Queries only: nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.names import localized_name
from db.models import Appointment, AuditEntry, Client, Location, Service, Specialist, Workplace


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


_FULL_NAME = func.concat_ws(" ", Client.first_name, Client.last_name)


async def entity_names(
    session: AsyncSession, entries: Sequence[AuditEntry], language: str | None = None
) -> dict[tuple[str, int], str]:
    """A readable name for each (entity, id) the rows name: a client's name, a location's,
    workplace's, service's or specialist's (in `language` where translated), or an
    appointment's client; rows of a deleted or nameless entity are left out."""
    ids: dict[str, set[int]] = {}
    for e in entries:
        if e.entity_id is not None and -(2**31) < e.entity_id < 2**31:
            ids.setdefault(e.entity, set()).add(e.entity_id)
    names: dict[tuple[str, int], str] = {}
    none = null().label("name_i18n")
    queries = {
        "client": select(Client.id, _FULL_NAME, none),
        "specialist": select(Specialist.id, Specialist.name, Specialist.name_i18n),
        "location": select(Location.id, Location.name, Location.name_i18n),
        "workplace": select(Workplace.id, Workplace.name, Workplace.name_i18n),
        "service": select(Service.id, Service.name, Service.name_i18n),
        "appointment": select(Appointment.id, _FULL_NAME, none).join(
            Client, Client.id == Appointment.client_id
        ),
    }
    for entity, stmt in queries.items():
        wanted = ids.get(entity)
        if not wanted:
            continue
        key = stmt.selected_columns[0]
        for row in await session.execute(stmt.where(key.in_(sorted(wanted)))):
            if row[1]:
                names[(entity, int(row[0]))] = localized_name(str(row[1]), row[2], language)
    return names


async def actor_names(session: AsyncSession, tg_ids: Sequence[int]) -> dict[int, str]:
    """The name each acting Telegram account has as a client, where it has one."""
    if not tg_ids:
        return {}
    result = await session.execute(
        select(Client.tg_id, _FULL_NAME).where(Client.tg_id.in_(sorted(set(tg_ids))))
    )
    return {int(r[0]): str(r[1]) for r in result if r[0] is not None and r[1]}
