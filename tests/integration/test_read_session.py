"""`read_session`: reads outside a transaction, and the pooled connection it used goes back to
running every other session's statements inside one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench.begins import count_begins
from bot.services.transaction import read_session
from db.engine import make_engine, make_session_factory


@pytest.fixture
async def one_connection(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a pool of exactly one connection: every session below reuses it."""
    engine: AsyncEngine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


async def in_transaction_now(session: AsyncSession) -> bool:
    """Whether the session's connection is inside a transaction (asyncpg's own view)."""
    connection = await (await session.connection()).get_raw_connection()
    return bool(connection.driver_connection.is_in_transaction())


async def test_a_read_session_opens_no_transaction_and_leaves_none_behind(
    one_connection: async_sessionmaker[AsyncSession],
) -> None:
    async with read_session(one_connection) as reads:
        assert (await reads.execute(text("SELECT 1"))).scalar_one() == 1
        assert not await in_transaction_now(reads)

    # The same pooled connection, in a plain session: a transaction again, and a rollback
    # still undoes what it wrote.
    async with one_connection() as session:
        await session.execute(text("CREATE TEMP TABLE read_session_probe (n int)"))
        assert await in_transaction_now(session)
        await session.rollback()
    async with one_connection() as session:
        gone = await session.execute(text("SELECT to_regclass('pg_temp.read_session_probe')"))
        assert gone.scalar_one() is None


async def test_a_read_session_sees_what_commits_between_its_statements(
    one_connection: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    """As at READ COMMITTED: each statement sees what was committed when it started."""
    other_engine = make_engine(database_url, pool_size=1, max_overflow=0)
    other = make_session_factory(other_engine)
    try:
        async with read_session(one_connection) as reads:
            before = (await reads.execute(text("SELECT count(*) FROM locations"))).scalar_one()
            async with other() as writer, writer.begin():
                await writer.execute(
                    text(
                        "INSERT INTO locations (name, address, timezone) "
                        "VALUES ('Read session probe', '-', 'UTC')"
                    )
                )
            after = (await reads.execute(text("SELECT count(*) FROM locations"))).scalar_one()
        assert after == before + 1
    finally:
        async with other() as writer, writer.begin():
            await writer.execute(text("DELETE FROM locations WHERE name = 'Read session probe'"))
        await other_engine.dispose()


def test_a_factory_without_an_engine_gives_a_plain_session() -> None:
    plain: async_sessionmaker[AsyncSession] = async_sessionmaker()
    session = read_session(plain)
    assert isinstance(session, AsyncSession) and session.sync_session.bind is None


async def test_an_idle_connection_is_pinged_in_one_round_trip(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ping at checkout (`make_engine`'s `idle_ping_seconds`) is one empty statement, not
    wrapped in a BEGIN and a ROLLBACK of its own: a read on a quiet pool pays one round trip
    for it, and a read session still opens no transaction."""
    engine = make_engine(database_url, pool_size=1, max_overflow=0, idle_ping_seconds=0)
    sessions = make_session_factory(engine)
    pings: list[str] = []
    fetchrow = asyncpg.connection.Connection.fetchrow

    async def counted_fetchrow(connection: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        if query == ";":
            pings.append(query)
        return await fetchrow(connection, query, *args, **kwargs)

    try:
        async with read_session(sessions) as reads:  # a new connection: nothing to ping
            assert (await reads.execute(text("SELECT 1"))).scalar_one() == 1
        monkeypatch.setattr(asyncpg.connection.Connection, "fetchrow", counted_fetchrow)
        with count_begins() as begins:
            async with read_session(sessions) as reads:
                assert (await reads.execute(text("SELECT 2"))).scalar_one() == 2
        assert pings == [";"]
        assert begins.count == 0
    finally:
        await engine.dispose()
