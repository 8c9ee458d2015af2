"""The booking horizon on the real PostgreSQL and Redis: today through today + N inclusive, the
same in the date picker, the time list, confirm, reschedule and the waitlist join."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.errors import SlotUnavailable
from bot.services.booking import Actor
from tests.integration.factories import (
    booking_request,
    build_engine,
    make_catalog,
    make_client,
)

# Monday 2031-03-03, 20:00 in Moscow (UTC+3): the client books in the evening.
EVENING = datetime(2031, 3, 3, 17, 0, tzinfo=UTC)
TODAY = date(2031, 3, 3)


def moscow(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC) - timedelta(hours=3)


async def test_one_day_ahead_books_tomorrow_morning_from_the_evening(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    eng = build_engine(session_factory, redis, redis_prefix, booking_horizon_days=1)
    cat = await make_catalog(session_factory, opens=time(9), closes=time(18))
    client = await make_client(session_factory, balance=Decimal("5000.00"))
    query = {"location_id": cat.location_id, "service_id": cat.service_id, "specialist_id": None}
    tomorrow = TODAY + timedelta(days=1)
    # Today is over (18:00 closing), tomorrow is the last bookable date.
    assert await eng.availability.available_dates(**query, now=EVENING) == [tomorrow]
    offers = await eng.availability.day_slots(**query, day=tomorrow, now=EVENING)
    assert offers[0].start == moscow(tomorrow, 9)
    assert (
        await eng.availability.day_slots(**query, day=tomorrow + timedelta(days=1), now=EVENING)
        == []
    )
    view = await eng.booking.confirm(
        booking_request(cat, client, start=moscow(tomorrow, 9)), now=EVENING
    )
    assert view.start == moscow(tomorrow, 9)
    # A move past the horizon is refused; within it, it works (an admin: the client's own
    # free-move deadline has passed).
    actor = Actor(kind="admin", id=1)
    with pytest.raises(SlotUnavailable):
        await eng.booking.reschedule(
            view.id, actor=actor, new_start=moscow(tomorrow + timedelta(days=1), 9), now=EVENING
        )
    moved = await eng.booking.reschedule(
        view.id, actor=actor, new_start=moscow(tomorrow, 10), now=EVENING
    )
    assert moved.start == moscow(tomorrow, 10)


async def test_five_days_ahead_offer_today_plus_five_not_six(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    eng = build_engine(session_factory, redis, redis_prefix, booking_horizon_days=5)
    cat = await make_catalog(session_factory, opens=time(9), closes=time(18))
    client = await make_client(session_factory, balance=Decimal("5000.00"))
    query = {"location_id": cat.location_id, "service_id": cat.service_id, "specialist_id": None}
    dates = await eng.availability.available_dates(**query, now=EVENING)
    assert dates == [TODAY + timedelta(days=i) for i in range(1, 6)]
    last, beyond = TODAY + timedelta(days=5), TODAY + timedelta(days=6)
    await eng.booking.confirm(booking_request(cat, client, start=moscow(last, 9)), now=EVENING)
    with pytest.raises(SlotUnavailable):
        await eng.booking.confirm(
            booking_request(cat, client, start=moscow(beyond, 9)), now=EVENING
        )
    await eng.waitlist.join(client, cat.location_id, cat.service_id, last, now=EVENING)
    with pytest.raises(SlotUnavailable) as refused:
        await eng.waitlist.join(client, cat.location_id, cat.service_id, beyond, now=EVENING)
    assert refused.value.reason == "horizon"
