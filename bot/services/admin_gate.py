"""Who may use the admin area: `ADMIN_IDS`, or an admin added at run time (the `admins` table).

Read from PostgreSQL on every call, never from the cached profile, so a removed admin loses
access at once, even with old buttons still on screen."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.errors import NotAllowed, NotAllowedReason
from db.repositories.clients import ClientRepository


class AdminGate:
    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], admin_ids: Iterable[int]
    ) -> None:
        self._sessions = session_factory
        self._admin_ids = frozenset(admin_ids)

    async def require(self, tg_id: int) -> None:
        """Raises `NotAllowed(NOT_ADMIN)` unless the Telegram account is an admin."""
        if tg_id in self._admin_ids:
            return
        async with self._sessions() as session:
            if not await ClientRepository(session).is_admin(tg_id):
                raise NotAllowed(NotAllowedReason.NOT_ADMIN)
