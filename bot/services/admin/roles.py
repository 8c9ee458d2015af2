"""Who is an admin: every id in `ADMIN_IDS` (always; they cannot be removed in the bot) plus the
admins stored in PostgreSQL by another admin.

The role is read from PostgreSQL on every admin action (a primary-key lookup, not cached), so a
removal takes effect at the very next update, even for buttons still on the removed admin's
screen. The cached client profile (which carries the role for menus) is dropped after each change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.errors import AccessDenied, NotAllowedReason
from bot.services.admin_gate import is_admin, require_admin
from bot.services.audit_trail import AuditAction, write_audit
from bot.services.transaction import read_session
from db.repositories import admin as admin_repo


@dataclass(frozen=True, slots=True)
class Person:
    """A Telegram account as the bot knows it: the name and @username (without the @) it has
    as a client, or a linked specialist's name; None where unknown."""

    tg_id: int
    name: str | None = None
    username: str | None = None


@dataclass(frozen=True, slots=True)
class AdminView:
    tg_id: int
    permanent: bool  # from ADMIN_IDS: cannot be removed in the bot
    added_by: int | None
    added_at: dt.datetime | None
    who: Person | None = None  # this admin, named where known
    adder: Person | None = None  # who added them, named where known


class AdminRoles:
    """List, add and remove admins; each change is audited in its own transaction."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        settings: Settings,
        invalidate_profile: Callable[[int], Awaitable[None]],
    ) -> None:
        self._sessions = session_factory
        self._settings = settings
        self._invalidate = invalidate_profile

    async def is_admin(self, tg_id: int) -> bool:
        async with read_session(self._sessions) as session:
            return await is_admin(session, self._settings.admin_ids, tg_id)

    async def require(self, tg_id: int) -> None:
        """`AccessDenied(NOT_ADMIN)` unless `tg_id` is an admin now."""
        async with read_session(self._sessions) as session:
            await require_admin(session, self._settings, tg_id)

    async def list(self, admin: int) -> list[AdminView]:
        """`ADMIN_IDS` first (in their order), then the stored admins by when they were added;
        each admin and who added them named where the bot knows them (`Person`)."""
        async with read_session(self._sessions) as session:
            await require_admin(session, self._settings, admin)
            stored = list(await admin_repo.stored_admins(session))
            ids = [*self._settings.admin_ids, *(r.tg_id for r in stored)]
            ids += [r.added_by for r in stored if r.added_by is not None]
            known = await admin_repo.people_by_tg_id(session, ids)

        def person(tg_id: int) -> Person:
            name, username = known.get(tg_id, (None, None))
            return Person(tg_id, name or None, username)

        views = [AdminView(t, True, None, None, person(t)) for t in self._settings.admin_ids]
        views += [
            AdminView(
                r.tg_id,
                False,
                r.added_by,
                r.added_at,
                person(r.tg_id),
                person(r.added_by) if r.added_by is not None else None,
            )
            for r in stored
            if r.tg_id not in self._settings.admin_ids
        ]
        return views

    async def add(self, admin: int, tg_id: int) -> bool:
        """Make `tg_id` an admin; False when it already was one (nothing written)."""
        if tg_id <= 0:
            raise ValueError("a Telegram user id is positive")
        async with self._sessions() as session, session.begin():
            await require_admin(session, self._settings, admin)
            if tg_id in self._settings.admin_ids:
                return False
            added = await admin_repo.add_admin(session, tg_id, added_by=admin)
            if added:
                await write_audit(
                    session,
                    actor_tg_id=admin,
                    action=AuditAction.ADMIN_ADDED,
                    entity="admin",
                    entity_id=tg_id,
                    after={"tg_id": tg_id},
                )
        await self._invalidate(tg_id)
        return added

    async def remove(self, admin: int, tg_id: int) -> bool:
        """Take the role from a stored admin (an admin may remove themself); False when
        `tg_id` was no stored admin. `AccessDenied(PERMANENT_ADMIN)` for an `ADMIN_IDS` id."""
        async with self._sessions() as session, session.begin():
            await require_admin(session, self._settings, admin)
            if tg_id in self._settings.admin_ids:
                raise AccessDenied(NotAllowedReason.PERMANENT_ADMIN)
            row = await admin_repo.remove_admin(session, tg_id)
            if row is not None:
                await write_audit(
                    session,
                    actor_tg_id=admin,
                    action=AuditAction.ADMIN_REMOVED,
                    entity="admin",
                    entity_id=tg_id,
                    before={"tg_id": tg_id, "added_by": row.added_by, "added_at": row.added_at},
                )
        await self._invalidate(tg_id)
        return row is not None
