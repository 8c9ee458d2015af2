"""`db.driver.fetch` and `execute_many`: statements on the session's asyncpg connection
behave as through `session.execute`: inside the session's transaction, errors as
`DBAPIError` with their sqlstate, a lost connection invalidated, and seen by the statement event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import bindparam, event, func, insert, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.services.transaction import read_session
from db.base import Base
from db.driver import execute_many, fetch
from db.engine import make_engine, make_session_factory
from db.errors import UNIQUE_VIOLATION, sqlstate

_LOCATIONS = Base.metadata.tables["locations"]
_ADD = insert(_LOCATIONS).returning(_LOCATIONS.c.id)
_NAMED = select(_LOCATIONS.c.id).where(_LOCATIONS.c.name == bindparam("name"))


@pytest.fixture
async def one_connection(
    clean_db: AsyncEngine, database_url: str
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a pool of exactly one connection: every session below reuses it."""
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


def location(name: str) -> dict[str, str]:
    return {"name": name, "address": "-", "timezone": "UTC"}


async def test_the_first_statement_of_a_transaction_runs_inside_it(
    one_connection: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(RuntimeError):
        async with one_connection() as session, session.begin():
            (row,) = await fetch(session, _ADD, location("Rolled back"))
            assert row[0] > 0
            raise RuntimeError("give up")
    async with one_connection() as session:
        assert await fetch(session, _NAMED, {"name": "Rolled back"}) == []
    # Committed, it stays.
    async with one_connection() as session, session.begin():
        await fetch(session, _ADD, location("Committed"))
    async with one_connection() as session:
        assert len(await fetch(session, _NAMED, {"name": "Committed"})) == 1


async def test_an_autocommit_session_runs_it_outside_a_transaction(
    one_connection: async_sessionmaker[AsyncSession],
) -> None:
    async with read_session(one_connection) as reads:
        assert await fetch(reads, _NAMED, {"name": "Nowhere"}) == []
        raw = await (await reads.connection()).get_raw_connection()
        assert not raw.driver_connection.is_in_transaction()


async def test_a_constraint_error_is_a_dbapi_error_with_its_sqlstate(
    one_connection: async_sessionmaker[AsyncSession],
) -> None:
    async with one_connection() as session, session.begin():
        await fetch(session, _ADD, location("Twice"))
    with pytest.raises(DBAPIError) as raised:
        async with one_connection() as session, session.begin():
            await fetch(session, _ADD, location("Twice"))
    assert sqlstate(raised.value) == UNIQUE_VIOLATION
    assert not raised.value.connection_invalidated
    # As through SQLAlchemy, the engine keeps parameters out of the error (and the logs).
    assert "[parameters:" not in str(raised.value) and "parameters hidden" in str(raised.value)
    # The connection is back in the pool, usable.
    async with one_connection() as session:
        assert len(await fetch(session, _NAMED, {"name": "Twice"})) == 1


async def test_a_lost_connection_is_invalidated_and_the_pool_connects_again(
    one_connection: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    async with one_connection() as session:
        (pid,) = (await session.execute(text("SELECT pg_backend_pid()"))).one()
        async with engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        with pytest.raises(DBAPIError) as raised:
            await fetch(session, _NAMED, {"name": "Anything"})
    assert raised.value.connection_invalidated
    async with one_connection() as session:
        (again,) = (await session.execute(text("SELECT pg_backend_pid()"))).one()
        assert again != pid
        assert await fetch(session, _NAMED, {"name": "Anything"}) == []


async def test_a_lost_connection_replaces_the_older_ones_of_the_pool_too(
    clean_db: AsyncEngine, database_url: str, engine: AsyncEngine
) -> None:
    """After PostgreSQL restarts, every pooled connection is dead: the first one found dead
    marks the rest for replacement, so the next checkouts connect afresh."""
    two = make_engine(database_url, pool_size=2, max_overflow=0)
    sessions = make_session_factory(two)

    async def pid_of(session: AsyncSession) -> int:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())

    try:
        async with sessions() as first, sessions() as second:
            pids = {await pid_of(first), await pid_of(second)}
        assert len(pids) == 2
        async with sessions() as session:
            dead = await pid_of(session)
            async with engine.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": dead})
            with pytest.raises(DBAPIError) as raised:
                await fetch(session, _NAMED, {"name": "Anything"})
        assert raised.value.connection_invalidated
        async with sessions() as first, sessions() as second:
            fresh = {await pid_of(first), await pid_of(second)}
        assert not fresh & pids
    finally:
        await two.dispose()


async def test_a_cancelled_statement_does_not_leave_its_connection_in_the_pool(
    one_connection: async_sessionmaker[AsyncSession],
) -> None:
    """Cancelled mid-statement (a timeout), the connection may be mid-message: it is dropped,
    and the next session gets a working one."""
    sleep = select(func.pg_sleep(bindparam("seconds")))
    async with one_connection() as session:
        (pid,) = (await session.execute(text("SELECT pg_backend_pid()"))).one()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await fetch(session, sleep, {"seconds": 5})
    async with one_connection() as session:
        (again,) = (await session.execute(text("SELECT pg_backend_pid()"))).one()
        assert again != pid
        assert await fetch(session, _NAMED, {"name": "Anything"}) == []


async def test_statement_listeners_see_it(
    one_connection: async_sessionmaker[AsyncSession],
) -> None:
    seen: list[str] = []
    bind = one_connection.kw["bind"].sync_engine

    def on_statement(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(bind, "before_cursor_execute", on_statement)
    try:
        async with one_connection() as session:
            await fetch(session, _NAMED, {"name": "Counted"})
    finally:
        event.remove(bind, "before_cursor_execute", on_statement)
    assert len(seen) == 1 and seen[0].startswith("SELECT locations.id")


async def test_expanding_in_lists_are_refused(
    one_connection: async_sessionmaker[AsyncSession],
) -> None:
    expanding = select(_LOCATIONS.c.id).where(_LOCATIONS.c.id.in_(bindparam("ids", expanding=True)))
    async with one_connection() as session:
        with pytest.raises(ValueError, match="ANY"):
            await fetch(session, expanding, {"ids": [1, 2]})


async def test_execute_many_runs_each_set_in_order_inside_the_transaction(
    one_connection: async_sessionmaker[AsyncSession],
) -> None:
    seen: list[tuple[str, int, bool]] = []
    bind = one_connection.kw["bind"].sync_engine

    def on_statement(*args: object) -> None:
        sql, sets, many = str(args[2]), args[3], bool(args[5])
        seen.append((sql.split(" (")[0], len(sets) if isinstance(sets, list) else -1, many))

    names = [location(f"Many {i}") for i in range(5)]
    event.listen(bind, "before_cursor_execute", on_statement)
    try:
        with pytest.raises(RuntimeError):
            async with one_connection() as session, session.begin():
                await execute_many(session, _ADD, names)
                raise RuntimeError("give up")
        async with one_connection() as session, session.begin():
            await execute_many(session, _ADD, names)
            await execute_many(session, _ADD, [])  # nothing to run: no statement
    finally:
        event.remove(bind, "before_cursor_execute", on_statement)
    # One statement per call for the listeners, with every set, as SQLAlchemy's executemany.
    assert seen == [("INSERT INTO locations", 5, True)] * 2
    async with one_connection() as session:
        ids = [
            (await fetch(session, _NAMED, {"name": f"Many {i}"}))[0][0] for i in range(5)
        ]  # only the committed five, inserted in their order
    assert ids == sorted(ids)


async def test_execute_many_raises_a_dbapi_error_and_refuses_sets_that_differ(
    one_connection: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(DBAPIError) as raised:
        async with one_connection() as session, session.begin():
            await execute_many(
                session, _ADD, [location("Once"), location("Between"), location("Once")]
            )
    assert sqlstate(raised.value) == UNIQUE_VIOLATION
    assert "parameters hidden" in str(raised.value)
    async with one_connection() as session:
        assert await fetch(session, _NAMED, {"name": "Between"}) == []
    # A set that leaves a parameter out is refused before anything is sent (not sent as NULL).
    with pytest.raises(ValueError, match="same parameters"):
        async with one_connection() as session, session.begin():
            await execute_many(session, _ADD, [location("Full"), {"name": "Partial"}])
    async with one_connection() as session:
        assert await fetch(session, _NAMED, {"name": "Full"}) == []


async def test_a_jsonb_value_goes_as_compact_utf8_text_both_ways(
    one_connection: async_sessionmaker[AsyncSession],
) -> None:
    """JSONB parameters are encoded by `db.engine.json_text` (orjson), through `fetch` and
    `session.execute` alike; keys that are not strings become strings, as before."""
    sent: list[object] = []
    engine = one_connection.kw["bind"]
    statement = select(bindparam("value", type_=JSONB))

    def seen(conn: object, cursor: object, sql: str, params: object, *rest: object) -> None:
        sent.append(params)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with one_connection() as session:
            (via_driver,) = await fetch(session, statement, {"value": {"имя": "Анна", 7: [1.5]}})
            (via_session,) = (await session.execute(statement, {"value": {"имя": "Анна"}})).all()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert via_driver[0] == {"имя": "Анна", "7": [1.5]}
    assert via_session[0] == {"имя": "Анна"}
    assert ['{"имя":"Анна","7":[1.5]}'] in [list(p) for p in sent if isinstance(p, list | tuple)]
    assert ('{"имя":"Анна"}',) in [tuple(p) for p in sent if isinstance(p, list | tuple)]
