"""A PostgreSQL restart is survived without pinging every checkout, on a throw-away server (never
the shared one): an idle pooled connection is pinged and replaced before use; on a busy pool the
statement that meets a dead connection fails once and the pool reconnects everything."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import make_engine, make_session_factory
from tests.servers import Postgres, throwaway_postgres


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    with throwaway_postgres() as pg:
        yield pg


async def backend_pid(engine: AsyncEngine) -> int:
    async with make_session_factory(engine)() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


def restart(pg: Postgres) -> None:
    pg.stop()
    pg.start()


async def test_an_idle_connection_is_pinged_and_replaced_after_a_restart(
    postgres: Postgres,
) -> None:
    engine = make_engine(postgres.url(), pool_size=2, max_overflow=0, idle_ping_seconds=0)
    try:
        before = await backend_pid(engine)
        restart(postgres)
        # The pooled connection is dead; the ping at checkout finds out and a new one is used.
        assert await backend_pid(engine) != before
    finally:
        await engine.dispose()


async def test_a_busy_pool_is_not_pinged_and_reconnects_after_one_error(
    postgres: Postgres,
) -> None:
    engine = make_engine(postgres.url(), pool_size=2, max_overflow=0, idle_ping_seconds=3600)
    statements: list[str] = []
    event.listen(
        engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(str(a[2]))
    )
    try:
        for _ in range(3):
            await backend_pid(engine)
        # No ping statement, no extra round trip: one statement per use.
        assert len(statements) == 3
        restart(postgres)
        with pytest.raises(DBAPIError) as failed:
            await backend_pid(engine)
        assert failed.value.connection_invalidated
        # The pool reconnected: the next uses work without anything restarted.
        first = await backend_pid(engine)
        assert await backend_pid(engine) == first
    finally:
        await engine.dispose()
