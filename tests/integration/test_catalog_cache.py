"""The catalog in memory: read once per catalog version, and a change made through any process
is seen by every process at its next use (the version counter in Redis)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import event, select, update
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import load_settings
from bot.services.availability import AvailabilityService, invalidate_catalog
from bot.services.booking_menu import BookingMenuService
from bot.services.catalog_cache import CatalogCache
from bot.services.holds import HoldStore
from db.engine import make_engine, make_session_factory, make_unpooled_engine
from db.models import Specialist
from tests.integration.factories import Catalog, make_catalog

NOW = dt.datetime(2031, 3, 3, 6, 0, tzinfo=dt.UTC)  # Monday 09:00 in Moscow
START = dt.datetime(2031, 3, 4, 7, 0, tzinfo=dt.UTC)  # Tuesday 10:00 in Moscow


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def on_execute(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", on_execute)


@dataclass
class Instance:
    """What one bot process holds: its own catalog cache, menu and slot engine."""

    catalog: CatalogCache
    menu: BookingMenuService
    availability: AvailabilityService


def instance(
    sessions: async_sessionmaker[AsyncSession], redis: Redis, prefix: str, **cache: Any
) -> Instance:
    settings = load_settings(bot_token="1:x", redis_prefix=prefix, _env_file=None)
    catalog = CatalogCache(sessions, redis, prefix, **cache)
    holds = HoldStore(redis, prefix=prefix, ttl_seconds=settings.hold_ttl_seconds)
    return Instance(
        catalog,
        BookingMenuService(sessions, catalog=catalog),
        AvailabilityService(sessions, redis, settings, holds, catalog=catalog),
    )


async def candidates(
    one: Instance, sessions: async_sessionmaker[AsyncSession], cat: Catalog
) -> Any:
    async with sessions() as session, session.begin():
        return await one.availability.candidates(
            session,
            location_id=cat.location_id,
            service_id=cat.service_id,
            specialist_id=None,
            start=START,
            now=NOW,
            client_id=0,
        )


async def test_a_change_through_one_process_is_seen_by_every_process_at_once(
    clean_db: object,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    cat = await make_catalog(session_factory, specialists=2)
    first, second = (instance(session_factory, redis, redis_prefix) for _ in range(2))
    for one in (first, second):
        assert [loc.id for loc in await one.menu.locations()] == [cat.location_id]
        assert len(await one.menu.specialists(cat.location_id, cat.service_id)) == 2
        assert {c.specialist_id for c in await candidates(one, session_factory, cat)} == set(
            cat.specialist_ids
        )

    # Warm: the menu and the slot engine's catalog and calendar come from memory.
    with statements(engine) as seen:
        for one in (first, second):
            await one.menu.locations()
            await one.menu.services(cat.location_id)
            await one.menu.specialists(cat.location_id, cat.service_id)
            await one.menu.specialist_name(cat.specialist_ids[0])
            await candidates(one, session_factory, cat)
    assert not any("specialist_schedules" in s or "FROM holidays" in s for s in seen), seen
    assert not any("FROM locations" in s or "FROM breaks" in s for s in seen), seen

    # A specialist leaves; the catalog change bumps the version through the first process.
    gone = cat.specialist_ids[0]
    async with session_factory() as s, s.begin():
        await s.execute(update(Specialist).where(Specialist.id == gone).values(is_active=False))
    await first.availability.invalidate()
    # The second process was told nothing else, and sees it at its next use.
    for one in (second, first):
        offered = await one.menu.specialists(cat.location_id, cat.service_id)
        assert [s.id for s in offered] == [cat.specialist_ids[1]]
        found = await candidates(one, session_factory, cat)
        assert {c.specialist_id for c in found} == {cat.specialist_ids[1]}

    # The catalog import (outside any bot) bumps the same counter.
    async with session_factory() as s, s.begin():
        await s.execute(update(Specialist).where(Specialist.id == gone).values(is_active=True))
    await invalidate_catalog(redis, redis_prefix)
    for one in (first, second):
        assert len(await one.menu.specialists(cat.location_id, cat.service_id)) == 2


async def test_one_update_asks_redis_once_and_old_snapshots_expire(
    clean_db: object,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    cat = await make_catalog(session_factory)
    clock = [0.0]
    one = instance(session_factory, redis, redis_prefix, clock=lambda: clock[0])
    gets: list[object] = []
    original = redis.get

    async def counting_get(*args: Any, **kw: Any) -> Any:
        gets.append(args)
        return await original(*args, **kw)

    redis.get = counting_get  # type: ignore[method-assign]
    with one.catalog.pinned():
        await one.menu.locations()
        await one.menu.services(cat.location_id)
        await one.menu.specialist_name(cat.specialist_ids[0])
        first = await one.catalog.snapshot()
    assert len(gets) == 1
    assert await one.catalog.snapshot() is first  # same version, still young
    # Past the safety net's age the snapshot is read again, version bump or not.
    clock[0] += 121
    assert await one.catalog.snapshot() is not first


async def test_without_redis_the_catalog_is_read_afresh(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession], redis_prefix: str
) -> None:
    cat = await make_catalog(session_factory, specialists=1, price=Decimal("700.00"))
    down = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        one = instance(session_factory, down, redis_prefix)
        [service] = await one.menu.services(cat.location_id)
        assert service.min_price == Decimal("700.00")
        assert (await one.catalog.snapshot()).version is None
        assert await one.catalog.snapshot() is not await one.catalog.snapshot()
    finally:
        await down.aclose()


async def test_a_slot_read_takes_the_catalog_version_it_read_with_the_cache(
    clean_db: object,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    cat = await make_catalog(session_factory, specialists=2)
    one = instance(session_factory, redis, redis_prefix)
    gets: list[object] = []
    original = redis.get

    async def counting_get(*args: Any, **kw: Any) -> Any:
        gets.append(args)
        return await original(*args, **kw)

    redis.get = counting_get  # type: ignore[method-assign]
    which = {"location_id": cat.location_id, "service_id": cat.service_id, "specialist_id": None}
    day = START.date()
    before = await one.availability.day_slots(**which, day=day, now=NOW)
    assert before and gets == []  # the version came with the cache read
    # A catalog change is seen at once all the same: one specialist leaves.
    gone = cat.specialist_ids[0]
    async with session_factory() as s, s.begin():
        await s.execute(update(Specialist).where(Specialist.id == gone).values(is_active=False))
    await one.availability.invalidate()
    after = await one.availability.day_slots(**which, day=day, now=NOW)
    assert {s for o in before for s in o.specialist_ids} == set(cat.specialist_ids)
    assert {s for o in after for s in o.specialist_ids} == {cat.specialist_ids[1]}
    assert gets == []


async def test_a_catalog_load_never_waits_for_the_pool_its_callers_hold(
    clean_db: object,
    database_url: str,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    """Updates that hold every pooled connection and need the catalog, cold after a change,
    must not deadlock: the catalog loads on a connection of its own (`make_unpooled_engine`).
    With the pool's own sessions the load waits for the pool and times out."""
    cat = await make_catalog(session_factory, specialists=2)
    pooled = make_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=1)
    unpooled = make_unpooled_engine(database_url)
    try:
        for loader, deadlocks in ((pooled, True), (unpooled, False)):
            catalog = CatalogCache(make_session_factory(loader), redis, redis_prefix)
            menu = BookingMenuService(make_session_factory(pooled), catalog=catalog)
            # The update's own session holds the pool's only connection.
            async with make_session_factory(pooled)() as held, held.begin():
                await held.execute(select(1))
                if deadlocks:
                    with pytest.raises(SQLAlchemyTimeoutError):
                        await menu.specialists(cat.location_id, cat.service_id)
                else:
                    offered = await menu.specialists(cat.location_id, cat.service_id)
                    assert {s.id for s in offered} == set(cat.specialist_ids)
    finally:
        await pooled.dispose()
        await unpooled.dispose()
