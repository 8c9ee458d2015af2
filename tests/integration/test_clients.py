"""ClientService on the real PostgreSQL and Redis: registration exactly once (also under
concurrency), language, the profile cache and roles."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings, load_settings
from bot.domain.errors import NotFound
from bot.services.clients import ClientService, TelegramUser
from db.models import Admin, Client, ClientWallet, Specialist, WalletTransaction

# Registration's `now` only matters to a client who comes back after blocking the bot.
WALL_NOW = datetime.now(UTC)


def _settings(redis_prefix: str, **overrides: Any) -> Settings:
    return load_settings(bot_token="1:test", redis_prefix=redis_prefix, _env_file=None, **overrides)


def _service(
    session_factory: async_sessionmaker[AsyncSession], redis: Redis, prefix: str, **kw: Any
) -> ClientService:
    return ClientService(session_factory, redis, _settings(prefix, **kw))


async def _money_invariant(session: AsyncSession) -> None:
    """balance == sum(ledger) and balance >= 0 for every client."""
    rows = (
        await session.execute(
            select(
                ClientWallet.client_id,
                ClientWallet.balance,
                select(func.coalesce(func.sum(WalletTransaction.amount), 0))
                .where(WalletTransaction.client_id == ClientWallet.client_id)
                .scalar_subquery(),
            )
        )
    ).all()
    for client_id, balance, ledger in rows:
        assert balance == ledger, client_id
        assert balance >= 0, client_id


async def test_register_creates_client_and_empty_wallet_once(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    clients = _service(session_factory, redis, redis_prefix)
    user = TelegramUser(tg_id=42, first_name="Ann", username="ann", language_code="en-GB")
    first = await clients.register(user, now=WALL_NOW)
    assert first.created and first.language == "en" and first.role == "client"
    second = await clients.register(
        TelegramUser(tg_id=42, first_name="Anna", username="anna", language_code="ru"), now=WALL_NOW
    )
    assert not second.created
    assert second.client_id == first.client_id
    assert second.language == "en"  # a known client keeps its language
    row = (await session.execute(select(Client).where(Client.tg_id == 42))).scalar_one()
    assert (row.first_name, row.username) == ("Anna", "anna")  # names follow Telegram
    wallet = (await session.execute(select(ClientWallet))).scalar_one()
    assert wallet.client_id == first.client_id and wallet.balance == Decimal("0")
    await _money_invariant(session)


async def test_unknown_language_code_gets_the_default(
    clean_db: Any,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    clients = _service(session_factory, redis, redis_prefix, default_language="en")
    assert (
        await clients.register(TelegramUser(tg_id=7, language_code="de"), now=WALL_NOW)
    ).language == "en"
    assert (
        await clients.register(TelegramUser(tg_id=8, language_code=None), now=WALL_NOW)
    ).language == "en"


async def test_concurrent_duplicate_registration_makes_one_client_and_wallet(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    clients = _service(session_factory, redis, redis_prefix)
    user = TelegramUser(tg_id=99, first_name="Race", language_code="ru")
    results = await asyncio.gather(*(clients.register(user, now=WALL_NOW) for _ in range(20)))
    assert sum(r.created for r in results) == 1
    assert len({r.client_id for r in results}) == 1
    assert await session.scalar(select(func.count()).select_from(Client)) == 1
    assert await session.scalar(select(func.count()).select_from(ClientWallet)) == 1
    await _money_invariant(session)


async def test_profile_is_cached_and_invalidated_on_language_change(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    clients = _service(session_factory, redis, redis_prefix)
    created = await clients.register(
        TelegramUser(tg_id=5, first_name="Ivo", language_code="ru"), now=WALL_NOW
    )
    assert await clients.get_profile(5) == await clients.get_profile(5)
    assert await redis.exists(f"{redis_prefix}:profile:5")

    # A change behind the cache's back is not seen until the cache is dropped...
    await session.execute(update(Client).where(Client.tg_id == 5).values(language="en"))
    await session.commit()
    cached = await clients.get_profile(5)
    assert cached is not None and cached.language == "ru"
    # ...while the service's own change is seen at once.
    changed = await clients.set_language(5, "en")
    assert changed.language == "en"
    fresh = await clients.get_profile(5)
    assert fresh is not None
    assert (fresh.language, fresh.client_id, fresh.created) == ("en", created.client_id, False)
    assert await clients.get_profile(6) is None


async def test_set_language_of_unknown_user_is_not_found(
    clean_db: Any,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    clients = _service(session_factory, redis, redis_prefix)
    with pytest.raises(NotFound):
        await clients.set_language(12345, "en")


async def test_roles(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    clients = _service(session_factory, redis, redis_prefix, admin_ids="100")
    assert (await clients.register(TelegramUser(tg_id=100), now=WALL_NOW)).role == "admin"
    session.add(Admin(tg_id=101))
    spec = Specialist(name="Olga", tg_id=102)
    session.add(spec)
    await session.commit()
    assert (await clients.register(TelegramUser(tg_id=101), now=WALL_NOW)).role == "admin"
    as_specialist = await clients.register(TelegramUser(tg_id=102), now=WALL_NOW)
    assert (as_specialist.role, as_specialist.specialist_id) == ("specialist", spec.id)
    assert (await clients.register(TelegramUser(tg_id=103), now=WALL_NOW)).role == "client"


async def test_start_after_blocking_the_bot_makes_the_client_reachable_again(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    service = _service(session_factory, redis, redis_prefix)
    user = TelegramUser(tg_id=555, first_name="Ира", last_name=None, username=None)
    profile = await service.register(user, now=WALL_NOW)
    # The notification worker marks a chat inactive when Telegram answers 403.
    await session.execute(
        update(Client).where(Client.id == profile.client_id).values(is_active=False)
    )
    await session.commit()

    await service.register(user, now=WALL_NOW)

    session.expire_all()
    assert (await session.get(Client, profile.client_id)).is_active is True  # type: ignore[union-attr]


async def test_a_specialists_messages_follow_the_language_their_account_chose(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    clients = _service(session_factory, redis, redis_prefix)
    spec = Specialist(name="Olga", tg_id=202)  # the catalog leaves the language at 'ru'
    session.add(spec)
    await session.commit()
    spec_id = spec.id

    async def language() -> str:
        async with session_factory() as s:
            found = await s.scalar(select(Specialist.language).where(Specialist.id == spec_id))
        return str(found)

    await clients.register(TelegramUser(tg_id=202, language_code="en"), now=WALL_NOW)
    assert await language() == "en"
    await clients.set_language(202, "ru")
    assert await language() == "ru"
    await clients.register(
        TelegramUser(tg_id=202, language_code="en"), now=WALL_NOW
    )  # the choice stays
    assert await language() == "ru"
