"""Two admins naming catalog entries alike at the same moment: the second is told the name is
taken (not a database error), also when the names differ only in letter case, which the
case-sensitive unique constraints cannot see."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.errors import InputProblem, InvalidInput
from bot.services.catalog_changes import CreateEntry
from db.models import Location

pytestmark = pytest.mark.usefixtures("clean_db")


async def waiting_on_a_lock(sessions: async_sessionmaker[AsyncSession]) -> bool:
    async with sessions() as s:
        waiting = await s.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


@pytest.mark.parametrize("second_name", ["Салон на Арбате", "салон НА арбате"])
async def test_the_second_of_two_racing_creations_is_told_the_name_is_taken(
    session_factory: async_sessionmaker[AsyncSession], second_name: str
) -> None:
    first = CreateEntry("location", {"name": "Салон на Арбате", "timezone": "Europe/Moscow"})
    second = CreateEntry("location", {"name": second_name, "timezone": "Europe/Moscow"})

    async with session_factory() as a:
        async with a.begin():
            await first.write(a)  # written, not yet committed

            async def create_second() -> None:
                async with session_factory() as b, b.begin():
                    await second.write(b)

            racing = asyncio.create_task(create_second())
            # The second waits for the first's name lock (polled, bounded).
            for _ in range(500):
                if await waiting_on_a_lock(session_factory) or racing.done():
                    break
                await asyncio.sleep(0.01)
            assert not racing.done(), "the second creation did not wait for the first"
        # The first commits here; the second now sees its row.
        with pytest.raises(InvalidInput) as refused:
            await racing
    assert refused.value.reason == InputProblem.NAME_TAKEN
    async with session_factory() as s:
        names = (await s.scalars(select(Location.name))).all()
        count = await s.scalar(select(func.count()).select_from(Location))
    assert names == ["Салон на Арбате"] and count == 1
