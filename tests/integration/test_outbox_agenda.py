"""The daily agenda: queued at AGENDA_TIME in the location's zone (across DST), once per
specialist per local date, and rendered with that day's appointments when sent."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings, load_settings
from bot.domain import notification_kinds as kinds
from bot.keyboards.notify import open_schedule_keyboard
from bot.notify.worker import OutboxWorker
from bot.services.agenda import agenda_days, queue_daily_agendas
from db.models import Outbox, SpecialistSchedule
from tests.integration.notify_data import World, make_appointment, make_client, make_world
from tests.integration.worker_support import FakeSender

UTC = dt.UTC


@pytest.fixture
def settings() -> Settings:
    return load_settings(bot_token="1:test", _env_file=None)


async def berlin_world(
    sessions: async_sessionmaker[AsyncSession], *, specialist_tg: int | None = 3003
) -> World:
    async with sessions() as session, session.begin():
        world = await make_world(session, tz="Europe/Berlin", specialist_tg=specialist_tg)
        for day in range(1, 8):
            session.add(
                SpecialistSchedule(
                    specialist_id=world.specialist.id,
                    location_id=world.location.id,
                    day_of_week=day,
                    start_time=dt.time(9),
                    end_time=dt.time(18),
                )
            )
    return world


async def queue_at(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, when: dt.datetime
) -> int:
    async with sessions() as session, session.begin():
        return await queue_daily_agendas(session, now=when, settings=settings)


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [
        (dt.date(2026, 3, 28), 8),  # Saturday, still UTC+1: 09:00 local is 08:00 UTC
        (dt.date(2026, 3, 29), 7),  # Sunday, summer time UTC+2: 09:00 local is 07:00 UTC
        (dt.date(2026, 10, 24), 7),  # Saturday, still UTC+2
        (dt.date(2026, 10, 25), 8),  # Sunday, back to UTC+1
    ],
)
async def test_agenda_is_queued_at_local_agenda_time_across_dst(
    clean_db: object,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    day: dt.date,
    utc_hour: int,
) -> None:
    world = await berlin_world(session_factory)
    at = dt.datetime.combine(day, dt.time(utc_hour), tzinfo=UTC)
    assert await queue_at(session_factory, settings, at - dt.timedelta(minutes=1)) == 0
    assert await queue_at(session_factory, settings, at) == 1
    assert await queue_at(session_factory, settings, at + dt.timedelta(minutes=30)) == 0
    async with session_factory() as session:
        row = (await session.execute(select(Outbox))).scalar_one()
    assert row.dedupe_key == f"agenda:{world.specialist.id}:{day.isoformat()}"
    assert row.kind == kinds.SPECIALIST_AGENDA and row.chat_id == 3003


async def test_no_agenda_after_the_window_or_without_a_chat(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await berlin_world(session_factory, specialist_tg=None)
    at = dt.datetime(2026, 3, 28, 8, 0, tzinfo=UTC)
    assert await queue_at(session_factory, settings, at) == 0  # nowhere to send it
    await berlin_world(session_factory)
    assert await queue_at(session_factory, settings, at + dt.timedelta(hours=3)) == 0  # 12:00
    assert await queue_at(session_factory, settings, at + dt.timedelta(hours=2, minutes=59)) == 1


async def test_agenda_lists_that_days_appointments_when_sent(
    clean_db: object, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    world = await berlin_world(session_factory)
    morning = dt.datetime(2026, 3, 29, 8, 30, tzinfo=UTC)  # 10:30 local (summer time)
    async with session_factory() as session, session.begin():
        other = await make_client(session, tg_id=None, phone="+49 555")
        await make_appointment(session, world, start=morning)
        await make_appointment(session, world, start=morning + dt.timedelta(hours=2), client=other)
        # The next day's appointment is not in today's agenda.
        await make_appointment(session, world, start=morning + dt.timedelta(days=1))
    at = dt.datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    assert await queue_at(session_factory, settings, at) == 1
    sender = FakeSender()
    worker = OutboxWorker(session_factory, sender, settings)
    assert await worker.drain(now=at) == 1
    [(chat, text, markup)] = sender.sent
    # The agenda opens the specialist's schedule, like every notice to them.
    assert chat == 3003 and markup == open_schedule_keyboard("ru")
    assert text.startswith("📋 Записи на вс, 29 мар.\n") and "10:30" in text and "12:30" in text
    assert "+49 555" in text
    assert text.count(world.service.name) == 2

    async with session_factory() as session:
        days = await agenda_days(
            session, world.specialist.id, now=at, default_tz=settings.default_timezone
        )
    assert [d for d, _ in days] == [dt.date(2026, 3, 29), dt.date(2026, 3, 30)]
    assert [len(lines) for _, lines in days] == [2, 1]
