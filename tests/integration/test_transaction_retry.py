"""A real deadlock on PostgreSQL: `in_transaction` runs the losing transaction again."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.transaction import in_transaction

# Two advisory lock keys no other test uses.
FIRST, SECOND = 981_001, 981_002


async def test_the_deadlock_victim_is_run_again_and_both_commit(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    has_first, has_second = asyncio.Event(), asyncio.Event()
    runs: list[str] = []

    def body(name: str, mine: int, other: int, took: asyncio.Event, wait_for: asyncio.Event):
        async def run(session: AsyncSession) -> str:
            runs.append(name)
            lock = text("SELECT pg_advisory_xact_lock(:k)")
            await session.execute(lock, {"k": mine})
            took.set()
            await wait_for.wait()  # both hold their first lock: each now waits for the other's
            await session.execute(lock, {"k": other})
            return name

        return run

    results = await asyncio.gather(
        in_transaction(session_factory, body("a", FIRST, SECOND, has_first, has_second)),
        in_transaction(session_factory, body("b", SECOND, FIRST, has_second, has_first)),
    )
    assert sorted(results) == ["a", "b"]
    # PostgreSQL aborted exactly one of them (40P01); that one ran a second time.
    assert len(runs) == 3
    assert sorted(set(runs)) == ["a", "b"]
