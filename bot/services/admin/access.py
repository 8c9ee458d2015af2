"""The server-side role check every admin use case runs inside its own transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.domain.errors import AccessDenied, NotAllowedReason
from db.repositories.clients import ClientRepository


async def is_admin(session: AsyncSession, settings: Settings, tg_id: int) -> bool:
    return tg_id in settings.admin_ids or await ClientRepository(session).is_admin(tg_id)


async def require_admin(session: AsyncSession, settings: Settings, tg_id: int) -> None:
    """Raise `AccessDenied(NOT_ADMIN)` unless `tg_id` is an admin right now."""
    if not await is_admin(session, settings, tg_id):
        raise AccessDenied(NotAllowedReason.NOT_ADMIN)
