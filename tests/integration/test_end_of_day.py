"""The end of a day, `24:00`, on the real PostgreSQL: stored and read back in every table that
holds a closing time, imported from a catalog file, offered by the engine and booked; and a row
the engine cannot read is skipped with one log line instead of failing its location."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.catalog.checks import parse_catalog
from bot.catalog.exporter import export_catalog
from bot.catalog.importer import import_catalog
from bot.catalog.yamlio import dump_catalog
from bot.domain.walltime import END_OF_DAY, WallTime
from db.models import Break, Holiday, LocationSchedule, SpecialistSchedule
from db.repositories import catalog as repo
from tests.integration.factories import (
    Catalog,
    booking_request,
    build_engine,
    make_catalog,
    make_client,
)

# Monday 2031-03-03 09:00 in Moscow (UTC+3).
NOW = datetime(2031, 3, 3, 6, 0, tzinfo=UTC)
TUESDAY = date(2031, 3, 4)
EVENING, NOON = WallTime.hm(18), WallTime.hm(12)


def moscow(day: date, hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=UTC) - timedelta(hours=3)


def hhmm(instant: datetime) -> str:
    return (instant + timedelta(hours=3)).strftime("%H:%M")


def query_of(cat: Catalog) -> dict[str, Any]:
    return {"location_id": cat.location_id, "service_id": cat.service_id, "specialist_id": None}


async def test_open_until_midnight_offers_and_books_23_00(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    eng = build_engine(session_factory, redis, redis_prefix)
    # Open 18:00-24:00 every day, one specialist with the same hours, 60 minutes, no break.
    cat = await make_catalog(session_factory, opens=EVENING, closes=END_OF_DAY)
    # Another location: a specialist there is off from 17:00 to midnight on Tuesday.
    other = await make_catalog(session_factory, opens=WallTime.hm(10), closes=END_OF_DAY)
    async with session_factory() as s, s.begin():
        s.add(
            Break(
                specialist_id=other.specialist_ids[0],
                date=TUESDAY,
                start_time=WallTime.hm(17),
                end_time=END_OF_DAY,
            )
        )
    offers = await eng.availability.day_slots(**query_of(cat), day=TUESDAY, now=NOW)
    assert hhmm(offers[0].start) == "18:00"
    assert hhmm(offers[-1].start) == "23:00"
    dates = await eng.availability.available_dates(**query_of(cat), now=NOW)
    assert TUESDAY in dates and len(dates) == 31
    # The break only shortens its own date at its own location.
    other_dates = await eng.availability.available_dates(**query_of(other), now=NOW)
    assert len(other_dates) == 31
    tuesday = await eng.availability.day_slots(**query_of(other), day=TUESDAY, now=NOW)
    assert hhmm(tuesday[-1].start) == "16:00"
    wednesday = TUESDAY + timedelta(days=1)
    later = await eng.availability.day_slots(**query_of(other), day=wednesday, now=NOW)
    assert hhmm(later[-1].start) == "23:00"
    client = await make_client(session_factory, balance=Decimal("1000.00"))
    view = await eng.booking.confirm(
        booking_request(cat, client, start=moscow(TUESDAY, "23:00")), now=NOW
    )
    assert view.start == moscow(TUESDAY, "23:00")
    async with session_factory() as s:
        end = (
            await s.execute(text("SELECT end_time FROM appointments WHERE id = :i"), {"i": view.id})
        ).scalar_one()
    assert end == moscow(TUESDAY + timedelta(days=1), "00:00")


async def test_24_00_round_trips_in_every_table_with_a_closing_time(
    clean_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cat = await make_catalog(session_factory, opens=EVENING, closes=END_OF_DAY)
    async with session_factory() as s, s.begin():
        s.add(
            Holiday(
                location_id=cat.location_id,
                date=TUESDAY,
                is_working=True,
                start_time=NOON,
                end_time=END_OF_DAY,
            )
        )
        s.add(
            Break(
                specialist_id=cat.specialist_ids[0],
                date=TUESDAY,
                start_time=WallTime.hm(23, 30),
                end_time=END_OF_DAY,
            )
        )
    async with session_factory() as s:
        for model in (LocationSchedule, SpecialistSchedule, Holiday, Break):
            ends = set((await s.execute(select(model.end_time))).scalars())
            assert ends == {END_OF_DAY}, model
        # PostgreSQL holds a real `time '24:00'`, compared as the latest time of a day.
        raw = (
            await s.execute(
                text("SELECT count(*) FROM location_schedules WHERE end_time = time '24:00'")
            )
        ).scalar_one()
        assert raw == 7
        # Filtering by a WallTime parameter works both ways across the wire.
        found = (
            await s.execute(select(Break.id).where(Break.end_time > WallTime.hm(23, 59)))
        ).all()
        assert len(found) == 1
        calendar = await repo.load_calendar(
            s, cat.location_id, cat.specialist_ids, TUESDAY, TUESDAY
        )
    assert calendar.holidays[TUESDAY].end == END_OF_DAY
    assert calendar.breaks[(cat.specialist_ids[0], TUESDAY)][0].end == END_OF_DAY


@pytest.mark.parametrize("hours", ["18:00-24:00", "18:00-00:00"])
async def test_catalog_import_stores_midnight_and_exports_24_00(
    clean_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], hours: str
) -> None:
    data = {
        "services": [{"name": "Cut", "duration_min": 60, "price": 100}],
        "locations": [
            {
                "name": "Night",
                "hours": {"mon": hours, "tue": hours},
                "holidays": [{"date": "2031-03-05", "working": True, "hours": hours}],
                "workplaces": [{"name": "Chair", "services": ["Cut"]}],
            }
        ],
        "specialists": [
            {
                "name": "Anna",
                "services": ["Cut"],
                "schedule": [{"location": "Night", "hours": {"mon": hours}}],
                "breaks": [{"date": "2031-03-03", "hours": "23:00-24:00"}],
            }
        ],
    }
    await import_catalog(session_factory, parse_catalog(data), default_timezone="Europe/Moscow")
    async with session_factory() as s:
        stored = (
            await s.execute(
                text(
                    "SELECT end_time::text FROM location_schedules UNION ALL "
                    "SELECT end_time::text FROM specialist_schedules UNION ALL "
                    "SELECT end_time::text FROM holidays UNION ALL "
                    "SELECT end_time::text FROM breaks"
                )
            )
        ).scalars()
        assert sorted(stored) == ["24:00:00"] * 5
        dumped = dump_catalog(await export_catalog(s))
    assert "mon: 18:00-24:00" in dumped
    assert "hours: 23:00-24:00" in dumped


async def test_a_row_the_engine_cannot_read_is_skipped_and_logged_once(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    cat = await make_catalog(session_factory, specialists=2)
    anna, boris = cat.specialist_ids
    async with session.begin():
        # A break ending before it starts, as an older schema or a hand edit could leave it
        # (the CHECK is dropped inside this transaction only; it is rolled back below).
        await session.execute(text("ALTER TABLE breaks DROP CONSTRAINT ck_breaks_hours_ordered"))
        bad = (
            await session.execute(
                text(
                    "INSERT INTO breaks (specialist_id, date, start_time, end_time) "
                    "VALUES (:s, :d, '15:00', '14:00') RETURNING id"
                ),
                {"s": anna, "d": TUESDAY},
            )
        ).scalar_one()
        session.add(
            Break(specialist_id=boris, date=TUESDAY, start_time=NOON, end_time=WallTime.hm(13))
        )
        await session.flush()
        with caplog.at_level(logging.ERROR, logger="db.repositories.schedule_rows"):
            for _ in range(3):
                calendar = await repo.load_calendar(
                    session, cat.location_id, cat.specialist_ids, TUESDAY, TUESDAY
                )
                # Anna's bad break is skipped; Boris's good one is still read.
                assert (anna, TUESDAY) not in calendar.breaks
                assert calendar.breaks[(boris, TUESDAY)][0].start == NOON
        lines = [r.getMessage() for r in caplog.records]
        assert lines == [
            f"skipping unreadable breaks row id={bad}: hours 15:00-14:00 do not end after they "
            "start"
        ]
        await session.rollback()


async def test_one_dates_calendar_in_one_query_is_the_range_read_of_that_date(
    clean_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """The booking's re-check reads one date's holiday and breaks in one statement: the same
    calendar as the two-statement read of a range, with several breaks beside the holiday,
    another specialist's break, and dates around it left out."""
    cat = await make_catalog(session_factory, specialists=2)
    first, second = cat.specialist_ids
    wednesday = TUESDAY + timedelta(days=1)
    async with session_factory() as s, s.begin():
        s.add(
            Holiday(
                location_id=cat.location_id,
                date=TUESDAY,
                is_working=True,
                start_time=NOON,
                end_time=EVENING,
            )
        )
        s.add(Holiday(location_id=cat.location_id, date=wednesday, is_working=False))
        s.add_all(
            [
                Break(
                    specialist_id=first,
                    date=TUESDAY,
                    start_time=WallTime.hm(13),
                    end_time=WallTime.hm(14),
                ),
                Break(
                    specialist_id=first,
                    date=TUESDAY,
                    start_time=WallTime.hm(16),
                    end_time=WallTime.hm(17),
                ),
                Break(specialist_id=second, date=TUESDAY),
                Break(specialist_id=second, date=wednesday),
            ]
        )
    statements: list[str] = []
    async with session_factory() as s:
        bind = s.bind.sync_engine  # type: ignore[union-attr]

        def seen(*args: Any) -> None:
            statements.append(str(args[2]))

        event.listen(bind, "before_cursor_execute", seen)
        try:
            one = await repo.load_calendar(s, cat.location_id, [first, second], TUESDAY, TUESDAY)
        finally:
            event.remove(bind, "before_cursor_execute", seen)
        both = await repo.load_calendar(s, cat.location_id, [first, second], TUESDAY, wednesday)
        alone = await repo.load_calendar(s, cat.location_id, [second], TUESDAY, TUESDAY)
    assert len(statements) == 1
    assert one.holidays == {TUESDAY: both.holidays[TUESDAY]}
    assert one.breaks == {k: v for k, v in both.breaks.items() if k[1] == TUESDAY}
    assert len(one.breaks[(first, TUESDAY)]) == 2
    assert alone.breaks == {(second, TUESDAY): both.breaks[(second, TUESDAY)]}
    assert alone.holidays == one.holidays
