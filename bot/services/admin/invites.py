"""Specialist invites: a one-time deep link that links a Telegram account to a specialist.

The token comes from `secrets` (192 bits, URL-safe, so `spec_<token>` fits Telegram's 64-char
start parameter); only its SHA-256 is stored. An invite is used once, expires after
`INVITE_TTL_HOURS`, and a used, expired or unknown (forged) token changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.errors import InviteProblem, InviteRejected, NotFound
from bot.domain.names import localized_name
from bot.services.admin_gate import require_admin
from bot.services.audit_trail import AuditAction, write_audit
from db.errors import UNIQUE_VIOLATION, sqlstate
from db.repositories import admin as admin_repo

START_PREFIX = "spec_"
TOKEN_BYTES = 24  # 192 bits; 32 URL-safe characters
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_url(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={START_PREFIX}{token}"


@dataclass(frozen=True, slots=True)
class Invite:
    specialist_id: int
    specialist_name: str
    url: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class LinkedSpecialist:
    specialist_id: int
    name: str


class InviteService:
    """Create, redeem and unlink; each is one transaction with its audit row."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        settings: Settings,
        invalidate_profile: Callable[[int], Awaitable[None]],
    ) -> None:
        self._sessions = session_factory
        self._settings = settings
        self._invalidate = invalidate_profile

    async def create(
        self,
        admin: int,
        specialist_id: int,
        *,
        bot_username: str,
        now: dt.datetime,
        language: str | None = None,
    ) -> Invite:
        """A fresh link for the specialist (named in `language` where translated), valid
        `INVITE_TTL_HOURS` from `now`.
        Raises `AccessDenied` (not an admin) or `NotFound` (no such specialist)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        expires_at = now + dt.timedelta(hours=self._settings.invite_ttl_hours)
        async with self._sessions() as session, session.begin():
            await require_admin(session, self._settings, admin)
            specialist = await admin_repo.specialist_for_update(session, specialist_id)
            if specialist is None:
                raise NotFound(f"specialist {specialist_id}")
            await admin_repo.add_invite(
                session,
                token_hash=hash_token(token),
                specialist_id=specialist_id,
                created_by=admin,
                created_at=now,
                expires_at=expires_at,
            )
            await write_audit(
                session,
                actor_tg_id=admin,
                action=AuditAction.INVITE_CREATED,
                entity="specialist",
                entity_id=specialist_id,
                after={"expires_at": expires_at},
            )
            name = localized_name(specialist.name, specialist.name_i18n, language)
        return Invite(specialist_id, name, invite_url(bot_username, token), expires_at)

    async def redeem(self, token: str, *, tg_id: int, now: dt.datetime) -> LinkedSpecialist:
        """Link `tg_id` to the invite's specialist and use the invite up.

        Raises `InviteRejected` with FORGED (unknown or malformed token), USED, EXPIRED,
        SPECIALIST_INACTIVE, or ACCOUNT_TAKEN (this account is already another specialist);
        nothing is changed then. Opening one's own used link again is USED as well.
        """
        if not _TOKEN.match(token):
            raise InviteRejected(InviteProblem.FORGED)
        digest = hash_token(token)
        async with self._sessions() as session, session.begin():
            invite = await admin_repo.invite_for_update(session, digest)
            if invite is None:
                raise InviteRejected(InviteProblem.FORGED)
            if invite.used_at is not None:
                raise InviteRejected(InviteProblem.USED)
            if now >= invite.expires_at:
                raise InviteRejected(InviteProblem.EXPIRED)
            specialist = await admin_repo.specialist_for_update(session, invite.specialist_id)
            if specialist is None or not specialist.is_active:
                raise InviteRejected(InviteProblem.SPECIALIST_INACTIVE)
            other = await admin_repo.specialist_by_tg_id(session, tg_id)
            if other is not None and other.id != specialist.id:
                raise InviteRejected(InviteProblem.ACCOUNT_TAKEN)
            previous = specialist.tg_id
            try:
                await admin_repo.set_specialist_account(session, specialist.id, tg_id)
            except DBAPIError as exc:
                # Another invite linked this account to another specialist meanwhile.
                if sqlstate(exc) == UNIQUE_VIOLATION:
                    raise InviteRejected(InviteProblem.ACCOUNT_TAKEN) from exc
                raise
            await admin_repo.mark_invite_used(session, digest, tg_id=tg_id, now=now)
            await write_audit(
                session,
                actor_tg_id=tg_id,
                action=AuditAction.SPECIALIST_LINKED,
                entity="specialist",
                entity_id=specialist.id,
                before={"tg_id": previous},
                after={"tg_id": tg_id},
            )
            linked = LinkedSpecialist(specialist.id, specialist.name)
        await self._invalidate(tg_id)
        if previous is not None and previous != tg_id:
            await self._invalidate(previous)
        return linked

    async def unlink(self, admin: int, specialist_id: int) -> bool:
        """Detach the specialist's Telegram account; False when none was linked."""
        async with self._sessions() as session, session.begin():
            await require_admin(session, self._settings, admin)
            specialist = await admin_repo.specialist_for_update(session, specialist_id)
            if specialist is None:
                raise NotFound(f"specialist {specialist_id}")
            previous = specialist.tg_id
            if previous is None:
                return False
            await admin_repo.set_specialist_account(session, specialist_id, None)
            await write_audit(
                session,
                actor_tg_id=admin,
                action=AuditAction.SPECIALIST_UNLINKED,
                entity="specialist",
                entity_id=specialist_id,
                before={"tg_id": previous},
                after={"tg_id": None},
            )
        await self._invalidate(previous)
        return True
