"""Who may use the admin area: `ADMIN_IDS`, or an admin added at run time (the `admins` table).

Read from PostgreSQL on every call, never from the cached profile, so a removed admin loses
access at once, even with old buttons still on screen. Admin use cases call `require_admin`
inside their own transaction; handlers that only need the gate use `AdminGate`.
Rule: docs/rules.md#admin-rights.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.errors import AccessDenied, NotAllowedReason
from bot.services.transaction import read_session
from db.repositories.clients import ClientRepository


async def is_admin(session: AsyncSession, admin_ids: Collection[int], tg_id: int) -> bool:
    return tg_id in admin_ids or await ClientRepository(session).is_admin(tg_id)


async def require_admin(session: AsyncSession, settings: Settings, tg_id: int) -> None:
    """Raise `AccessDenied(NOT_ADMIN)` (a `NotAllowed`) unless `tg_id` is an admin right now."""
    if not await is_admin(session, settings.admin_ids, tg_id):
        raise AccessDenied(NotAllowedReason.NOT_ADMIN)


class AdminGate:
    """The role check for handlers and the admin router's gate (one PostgreSQL lookup per call
    unless the id is in `ADMIN_IDS`)."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], settings: Settings
    ) -> None:
        self._sessions = session_factory
        self._settings = settings

    async def is_admin(self, tg_id: int) -> bool:
        """True when the Telegram account is an admin right now."""
        admin_ids = self._settings.admin_ids
        if tg_id in admin_ids:
            return True
        async with read_session(self._sessions) as session:
            return await is_admin(session, admin_ids, tg_id)

    async def require(self, tg_id: int) -> None:
        """Raises `AccessDenied(NOT_ADMIN)` unless the Telegram account is an admin."""
        if not await self.is_admin(tg_id):
            raise AccessDenied(NotAllowedReason.NOT_ADMIN)
