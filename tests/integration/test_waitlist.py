"""Waitlist: join once, freed time goes to the first in line with a hold, offers expire."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain import notification_kinds as kinds
from bot.domain.errors import InvalidState, NotAllowed, NotFound, SlotTaken, SlotUnavailable
from bot.services.booking import Actor, BookingRequest
from tests.integration.factories import (
    NOW,
    START,
    Catalog,
    Engine,
    booking_request,
    build_engine,
    make_catalog,
    make_client,
)

DAY = date(2031, 3, 4)
RICH = Decimal("5000.00")


@pytest.fixture
async def eng(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> Engine:
    return build_engine(session_factory, redis, redis_prefix)


@pytest.fixture
async def cat(eng: Engine, session_factory: async_sessionmaker[AsyncSession]) -> Catalog:
    # One specialist working 10:00-11:00 only: the day holds exactly one appointment.
    return await make_catalog(
        session_factory, specialists=1, workplaces=1, opens=time(10), closes=time(11)
    )


def req(cat: Catalog, client: int, hold_id: str = "h-") -> BookingRequest:
    return booking_request(cat, client, hold_id=f"{hold_id}{client}")


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> dict[int, str]:
    async with sessions() as s:
        rows = await s.execute(text("SELECT client_id, status FROM waitlist"))
        return {int(c): str(st) for c, st in rows}


async def test_join_is_idempotent_and_leave_checks_the_owner(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client, other = [await make_client(session_factory) for _ in range(2)]
    first = await eng.waitlist.join(client, cat.location_id, cat.service_id, DAY, now=NOW)
    again = await eng.waitlist.join(client, cat.location_id, cat.service_id, DAY, now=NOW)
    assert first.id == again.id and first.status == "waiting"
    assert [e.id for e in await eng.waitlist.list_for_client(client)] == [first.id]
    with pytest.raises(NotAllowed):
        await eng.waitlist.leave(other, first.id)
    await eng.waitlist.leave(client, first.id)
    assert await eng.waitlist.list_for_client(client) == []
    with pytest.raises(InvalidState):
        await eng.waitlist.leave(client, first.id)


async def test_cancel_offers_the_time_to_the_first_waiting_client(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    booker, first, second = [await make_client(session_factory, balance=RICH) for _ in range(3)]
    view = await eng.booking.confirm(req(cat, booker), now=NOW)
    await eng.waitlist.join(first, cat.location_id, cat.service_id, DAY, now=NOW)
    await eng.waitlist.join(second, cat.location_id, cat.service_id, DAY, now=NOW)

    await eng.booking.cancel(view.id, actor=Actor("admin", 1), now=NOW)

    assert await statuses(session_factory) == {first: "offered", second: "waiting"}
    (entry,) = await eng.waitlist.list_for_client(first)
    assert (entry.offered_start, entry.offered_specialist_id) == (START, view.specialist_id)
    hold = await eng.holds.get(first)
    assert hold is not None and hold.start == START
    assert hold.expires_at - datetime.now(UTC) <= timedelta(
        seconds=eng.settings.waitlist_offer_ttl_seconds
    )
    async with session_factory() as s:
        offers = (
            await s.execute(
                text("SELECT count(*) FROM outbox WHERE kind = :k"),
                {"k": kinds.CLIENT_WAITLIST_OFFER},
            )
        ).scalar_one()
    assert offers == 1
    # The hold keeps the time from the second client...
    with pytest.raises(SlotTaken):
        await eng.booking.confirm(req(cat, second), now=NOW)
    # ...and the offered client takes it through the normal confirm.
    request = await eng.waitlist.take_offer(entry.id, client_id=first, now=NOW)
    assert request.hold_id == hold.hold_id
    booked = await eng.booking.confirm(request, now=NOW)
    assert booked.client_id == first and booked.start == START
    assert await statuses(session_factory) == {first: "fulfilled", second: "waiting"}


async def test_expired_offer_goes_to_the_next_in_line(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    booker, first, second = [await make_client(session_factory, balance=RICH) for _ in range(3)]
    view = await eng.booking.confirm(req(cat, booker), now=NOW)
    entry = await eng.waitlist.join(first, cat.location_id, cat.service_id, DAY, now=NOW)
    await eng.waitlist.join(second, cat.location_id, cat.service_id, DAY, now=NOW)
    await eng.booking.cancel(view.id, actor=Actor("admin", 1), now=NOW)
    later = NOW + timedelta(seconds=eng.settings.waitlist_offer_ttl_seconds + 1)
    with pytest.raises(InvalidState):
        await eng.waitlist.take_offer(entry.id, client_id=first, now=later)
    # The first client's hold lapses too (simulated: Redis TTLs run on real time).
    await eng.holds.release(first)

    assert await eng.waitlist.expire_offers(now=later) == 1

    assert await statuses(session_factory) == {first: "expired", second: "offered"}
    hold = await eng.holds.get(second)
    assert hold is not None and hold.start == START


async def test_offer_respects_the_specialist_asked_for(
    eng: Engine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cat = await make_catalog(
        session_factory, specialists=2, workplaces=2, opens=time(10), closes=time(11)
    )
    a, b, waiting = [await make_client(session_factory, balance=RICH) for _ in range(3)]
    one = await eng.booking.confirm(req(cat, a), now=NOW)
    two = await eng.booking.confirm(req(cat, b), now=NOW)
    await eng.waitlist.join(
        waiting, cat.location_id, cat.service_id, DAY, specialist_id=two.specialist_id, now=NOW
    )
    await eng.booking.cancel(one.id, actor=Actor("admin", 1), now=NOW)
    assert await statuses(session_factory) == {waiting: "waiting"}
    await eng.booking.cancel(two.id, actor=Actor("admin", 1), now=NOW)
    assert await statuses(session_factory) == {waiting: "offered"}
    (entry,) = await eng.waitlist.list_for_client(waiting)
    assert entry.offered_specialist_id == two.specialist_id


async def test_join_refuses_a_past_date_and_one_beyond_the_horizon(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory)
    today = date(2031, 3, 3)  # NOW is 09:00 Moscow that day
    horizon = eng.settings.booking_horizon_days
    for day, reason in [
        (today - timedelta(days=1), "past"),
        (today + timedelta(days=horizon + 1), "horizon"),
    ]:
        with pytest.raises(SlotUnavailable) as refused:
            await eng.waitlist.join(client, cat.location_id, cat.service_id, day, now=NOW)
        assert refused.value.reason == reason
    with pytest.raises(NotFound):
        await eng.waitlist.join(client, cat.location_id + 999, cat.service_id, today, now=NOW)
    async with session_factory() as s:
        assert (await s.execute(text("SELECT count(*) FROM waitlist"))).scalar_one() == 0
    # The first and the last bookable dates (today + BOOKING_HORIZON_DAYS, inclusive) are
    # accepted.
    for day in (today, today + timedelta(days=horizon)):
        await eng.waitlist.join(client, cat.location_id, cat.service_id, day, now=NOW)
    assert len(await eng.waitlist.list_for_client(client)) == 2


async def test_booking_the_day_fulfils_the_clients_own_entry_for_it_only(
    eng: Engine, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """A client waiting for a date who books it anyway is done waiting for that date; their
    entry for another date still waits. (The booking reads whether the client waits at all
    with its terms and updates the waitlist only then.)"""
    waiting, other = [await make_client(session_factory, balance=RICH) for _ in range(2)]
    await eng.waitlist.join(waiting, cat.location_id, cat.service_id, DAY, now=NOW)
    await eng.waitlist.join(
        waiting, cat.location_id, cat.service_id, DAY + timedelta(days=1), now=NOW
    )
    await eng.waitlist.join(other, cat.location_id, cat.service_id, DAY, now=NOW)

    await eng.booking.confirm(req(cat, waiting), now=NOW)

    async with session_factory() as s:
        rows = await s.execute(text("SELECT client_id, date, status FROM waitlist"))
        found = {(int(c), d): str(st) for c, d, st in rows}
    assert found == {
        (waiting, DAY): "fulfilled",
        (waiting, DAY + timedelta(days=1)): "waiting",
        (other, DAY): "waiting",
    }
