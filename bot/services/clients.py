"""Clients: registration on /start, language, and the short-lived profile cache in Redis.

The profile (client id, role, language) is read on almost every update, so it is cached in Redis
for a few minutes under `{prefix}:profile:{tg_id}`. PostgreSQL stays the truth: every change made
here drops the cached copy after the commit, and areas that change a role (admins, specialist
invites) call `ClientService.invalidate(tg_id)`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Literal

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.errors import NotFound
from bot.i18n import SUPPORTED_LANGUAGES, normalize_language
from bot.services.notifications import rearm_reminders
from bot.services.transaction import in_transaction, read_session
from db.repositories.clients import ClientRepository, ClientRow

log = logging.getLogger(__name__)

Role = Literal["client", "specialist", "admin"]
PROFILE_TTL_SECONDS = 300


def normalize_phone(raw: str) -> str | None:
    """A shared contact's number as `+` and digits (Telegram sends it with or without `+`);
    None when it has no digits."""
    digits = "".join(ch for ch in raw if ch.isdigit())
    return f"+{digits}" if digits else None


@dataclass(frozen=True, slots=True)
class TelegramUser:
    """What registration needs from a Telegram user (keeps aiogram out of the service)."""

    tg_id: int
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


@dataclass(frozen=True, slots=True)
class ClientProfile:
    client_id: int
    tg_id: int
    first_name: str | None
    language: str
    role: Role
    is_admin: bool
    specialist_id: int | None
    # True only on the registration that created the client (never cached as True).
    created: bool = False
    # Read with the profile when this update read it from the database (a cache miss), for the
    # start of a booking: blocked by an admin, has any appointment in any status. None when
    # the profile came from the cache (never cached: the start reads them itself then). Not
    # part of the profile's identity: a profile read fresh equals the same one from the cache.
    blocked: bool | None = field(default=None, compare=False)
    booked_before: bool | None = field(default=None, compare=False)


class ClientService:
    """Use cases of the client profile. Each method owns its transaction."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        redis: Redis,
        settings: Settings,
    ) -> None:
        self.session_factory = session_factory
        self.redis = redis
        self.settings = settings

    def _cache_key(self, tg_id: int) -> str:
        return f"{self.settings.redis_prefix}:profile:{tg_id}"

    async def register(self, user: TelegramUser, *, now: datetime) -> ClientProfile:
        """Register the Telegram user as a client with an empty wallet, exactly once.

        Safe under concurrent duplicate /start: the insert is `ON CONFLICT (tg_id) DO NOTHING`
        and the wallet is keyed by the client, so racing calls create one client and one wallet.
        A known client keeps its chosen language; its names follow Telegram. `now` (aware) is
        the update's time: a client who comes back after blocking the bot gets the reminders
        still ahead of it re-armed.
        """
        language = normalize_language(user.language_code) or self.settings.default_language

        async def write(session: AsyncSession) -> ClientProfile:
            repo = ClientRepository(session)
            new_id = await repo.insert_if_absent(
                tg_id=user.tg_id,
                first_name=user.first_name,
                last_name=user.last_name,
                username=user.username,
                language=language,
            )
            if new_id is not None:
                await repo.ensure_wallet(new_id)
                row = await repo.by_tg_id(user.tg_id)
            else:
                row = await repo.by_tg_id(user.tg_id, for_update=True)
                assert row is not None  # the conflicting row exists and clients are not deleted
                if (row.first_name, row.last_name, row.username) != (
                    user.first_name,
                    user.last_name,
                    user.username,
                ):
                    await repo.update_names(
                        row.id,
                        first_name=user.first_name,
                        last_name=user.last_name,
                        username=user.username,
                    )
                # /start after blocking and unblocking the bot: notifications may reach them again.
                if await repo.reactivate(row.id):
                    log.info("client %s is reachable again", row.id)
                    await rearm_reminders(
                        session, now=now, settings=self.settings, client_id=row.id
                    )
                # Repairs a client written without a wallet (e.g. imported by hand).
                if await repo.ensure_wallet(row.id):
                    log.warning("client %s had no wallet; created one", row.id)
            assert row is not None
            await repo.sync_specialist_language(user.tg_id, row.language)
            return await self._profile(repo, row, created=new_id is not None)

        profile = await in_transaction(self.session_factory, write)
        await self.invalidate(user.tg_id)
        if profile.created:
            log.info("registered client %s (tg %s)", profile.client_id, user.tg_id)
        return profile

    async def set_language(self, tg_id: int, language: str) -> ClientProfile:
        """Store the client's language; raises `NotFound` for an unknown user."""
        if language not in SUPPORTED_LANGUAGES:
            raise ValueError(f"unsupported language {language!r}")

        async def write(session: AsyncSession) -> ClientProfile:
            repo = ClientRepository(session)
            row = await repo.by_tg_id(tg_id, for_update=True)
            if row is None:
                raise NotFound(f"no client with tg_id {tg_id}")
            await repo.set_language(row.id, language)
            await repo.sync_specialist_language(tg_id, language)
            row = ClientRow(
                id=row.id,
                tg_id=row.tg_id,
                first_name=row.first_name,
                last_name=row.last_name,
                username=row.username,
                language=language,
            )
            return await self._profile(repo, row)

        profile = await in_transaction(self.session_factory, write)
        await self.invalidate(tg_id)
        return profile

    async def set_phone(self, tg_id: int, phone: str) -> None:
        """Store the phone the client shared (their own contact: the handler checks that).
        Raises `NotFound` for an unknown user, `ValueError` for a value with no digits."""
        normalized = normalize_phone(phone)
        if normalized is None:
            raise ValueError(f"not a phone number: {phone!r}")

        async def write(session: AsyncSession) -> None:
            repo = ClientRepository(session)
            row = await repo.by_tg_id(tg_id, for_update=True)
            if row is None:
                raise NotFound(f"no client with tg_id {tg_id}")
            await repo.set_phone(row.id, normalized)

        await in_transaction(self.session_factory, write)

    def profile_key(self, tg_id: int) -> str:
        """`{prefix}:profile:{tg_id}`: the cached profile (JSON, `PROFILE_TTL_SECONDS`); the
        update gate reads it in its opening script."""
        return self._cache_key(tg_id)

    async def get_profile(self, tg_id: int) -> ClientProfile | None:
        """The cached profile, else the database's (then cached); None for an unknown user."""
        cached = await self.redis.get(self._cache_key(tg_id))
        return await self.profile_from_cache(tg_id, cached)

    async def profile_from_cache(
        self, tg_id: int, cached: bytes | str | None
    ) -> ClientProfile | None:
        """The profile from `cached` (the cache's value, already read; None on a miss), else
        the database's (then cached, one Redis command); None for an unknown user."""
        if cached is not None:
            try:
                return ClientProfile(**json.loads(cached))
            except (TypeError, ValueError):
                log.warning("dropping malformed cached profile for tg %s", tg_id)
        async with read_session(self.session_factory) as session:
            repo = ClientRepository(session)
            found = await repo.by_tg_id_with_roles(tg_id)
            if found is None:
                return None
            row, listed_admin, specialist_id, (blocked, booked_before) = found
            profile = await self._profile(repo, row, roles=(listed_admin, specialist_id))
        await self.redis.set(
            self._cache_key(tg_id), json.dumps(asdict(profile)), ex=PROFILE_TTL_SECONDS
        )
        return replace(profile, blocked=blocked, booked_before=booked_before)

    async def invalidate(self, tg_id: int) -> None:
        """Drop the cached profile (call after any change of language, role or client data)."""
        await self.redis.delete(self._cache_key(tg_id))

    async def _profile(
        self,
        repo: ClientRepository,
        row: ClientRow,
        *,
        created: bool = False,
        roles: tuple[bool, int | None] | None = None,
    ) -> ClientProfile:
        """The profile of `row`; `roles` (listed as a run-time admin, active specialist id)
        when read with it (`by_tg_id_with_roles`), else read here."""
        assert row.tg_id is not None
        if roles is None:
            listed = row.tg_id in self.settings.admin_ids or await repo.is_admin(row.tg_id)
            roles = (listed, await repo.specialist_id_for(row.tg_id))
        listed_admin, specialist_id = roles
        is_admin = row.tg_id in self.settings.admin_ids or listed_admin
        role: Role = "admin" if is_admin else "specialist" if specialist_id else "client"
        return ClientProfile(
            client_id=row.id,
            tg_id=row.tg_id,
            first_name=row.first_name,
            language=row.language,
            role=role,
            is_admin=is_admin,
            specialist_id=specialist_id,
            created=created,
        )
