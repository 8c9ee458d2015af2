"""Reading the audit log for the `/admin` screen, newest first (rows are written by each use case
with `bot.services.audit_trail.write_audit`, in the transaction of the change)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.services.admin_gate import require_admin
from bot.services.transaction import read_session
from db.repositories import audit as audit_repo


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
    entity_name: str | None = None  # the client's or the catalog entry's name
    actor_name: str | None = None  # the acting admin's name as a client, when known


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditView]
    total: int


class AuditService:
    """Reads the audit log for the `/admin` screen (admins only)."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], settings: Settings):
        self._sessions = session_factory
        self._settings = settings

    async def latest(
        self, admin: int, *, limit: int = 10, offset: int = 0, language: str | None = None
    ) -> AuditPage:
        """The newest `limit` rows after skipping `offset`, catalog entries named in
        `language` where translated; `AccessDenied` for a non-admin."""
        async with read_session(self._sessions) as session:
            await require_admin(session, self._settings, admin)
            rows = await audit_repo.latest(session, limit=limit, offset=offset)
            total = await audit_repo.count(session)
            names = await audit_repo.entity_names(session, rows, language)
            actors = await audit_repo.actor_names(session, [r.actor_tg_id for r in rows])
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
                    entity_name=(
                        names.get((r.entity, r.entity_id)) if r.entity_id is not None else None
                    ),
                    actor_name=actors.get(r.actor_tg_id),
                )
                for r in rows
            ],
            total=total,
        )
