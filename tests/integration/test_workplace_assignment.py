"""Workplaces are re-assigned among a day's appointments so that a booking that fits is never
refused because of an earlier greedy choice (real PostgreSQL and Redis)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from redis.asyncio import Redis
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain import notification_kinds as kinds
from bot.services.booking import AppointmentView
from db.models import Appointment, Outbox
from tests.integration.factories import (
    NOW,
    Catalog,
    Engine,
    booking_request,
    build_engine,
    make_catalog,
    make_client,
    make_clients,
    money_invariant_violations,
    overlapping_active_appointments,
)

TUESDAY = date(2031, 3, 4)
TUESDAY_0000 = datetime(2031, 3, 3, 21, 0, tzinfo=UTC)  # Tuesday 00:00 in Moscow


def moscow(hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return TUESDAY_0000 + timedelta(hours=h, minutes=m)


async def book(
    eng: Engine,
    sessions: async_sessionmaker[AsyncSession],
    cat: Catalog,
    specialist: int,
    hhmm: str,
) -> AppointmentView:
    """A new client books `specialist` at `hhmm` on Tuesday (no hold: the engine chooses)."""
    client = await make_client(sessions, balance=Decimal("1000.00"))
    request = booking_request(cat, client, start=moscow(hhmm), specialist=specialist)
    return await eng.booking.confirm(request, now=NOW)


async def place(
    sessions: async_sessionmaker[AsyncSession],
    cat: Catalog,
    specialist: int,
    workplace: int,
    hhmm: str,
) -> int:
    """An appointment written as a booking left it: 60 minutes, then the 15-minute break."""
    client = await make_client(sessions)
    async with sessions() as s, s.begin():
        appt = Appointment(
            location_id=cat.location_id,
            service_id=cat.service_id,
            workplace_id=workplace,
            specialist_id=specialist,
            client_id=client,
            start_time=moscow(hhmm),
            end_time=moscow(hhmm) + timedelta(minutes=60),
            blocked_until=moscow(hhmm) + timedelta(minutes=75),
            price=cat.price,
        )
        s.add(appt)
        await s.flush()
        return appt.id


async def workplace_of(sessions: async_sessionmaker[AsyncSession], appointment_id: int) -> int:
    async with sessions() as s:
        return int(
            (
                await s.execute(
                    select(Appointment.workplace_id).where(Appointment.id == appointment_id)
                )
            ).scalar_one()
        )


async def test_a_greedy_day_makes_room_for_anna_at_10(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    eng = build_engine(session_factory, redis, redis_prefix)
    # Two interchangeable workplaces, two specialists, 60 min + 15 min break.
    cat = await make_catalog(session_factory, specialists=2, workplaces=2, break_min=15)
    boris, anna = cat.specialist_ids
    one, two = cat.workplace_ids
    # As greedy booking left them (Boris 09:00, Anna 11:15, Boris 10:15, booked in that
    # order): Boris 09:00 and Anna 11:15 on workplace 1, Boris 10:15 on workplace 2.
    b9 = await place(session_factory, cat, boris, one, "09:00")
    a1115 = await place(session_factory, cat, anna, one, "11:15")
    b1015 = await place(session_factory, cat, boris, two, "10:15")
    placed = [one, one, two]
    offers = await eng.availability.day_slots(
        location_id=cat.location_id,
        service_id=cat.service_id,
        specialist_id=anna,
        day=TUESDAY,
        now=NOW,
    )
    assert moscow("10:00") in {o.start for o in offers}
    a10 = await book(eng, session_factory, cat, anna, "10:00")
    final = {i: await workplace_of(session_factory, i) for i in (b9, b1015, a10.id, a1115)}
    assert final[b9] == final[b1015]
    assert final[a10.id] == final[a1115] != final[b9]
    async with session_factory() as s:
        notices = (
            await s.execute(
                select(Outbox.appointment_id).where(Outbox.kind == kinds.SPECIALIST_WORKPLACE_MOVED)
            )
        ).scalars()
        moved = sorted(notices)
        assert await overlapping_active_appointments(s) == {
            "specialist": 0,
            "workplace": 0,
            "client": 0,
        }
    changed = sorted(i for i, w in zip((b9, a1115, b1015), placed, strict=True) if final[i] != w)
    assert moved == changed and changed != []


async def test_concurrent_bookings_of_a_day_that_fits_all_succeed(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    eng = build_engine(session_factory, redis, redis_prefix)
    cat = await make_catalog(
        session_factory, specialists=4, workplaces=2, break_min=15, price=Decimal("100.00")
    )
    # Two back-to-back chains of 75-minute blocks, half an hour apart: at most two blocks at
    # once, so two workplaces fit them all; each specialist's blocks are 150 minutes apart.
    wanted = []
    for chain, offset in enumerate((0, 30)):
        for k in range(10):
            start = moscow("08:00") + timedelta(minutes=offset + 75 * k)
            wanted.append((cat.specialist_ids[2 * chain + k % 2], start))
    random.Random(9).shuffle(wanted)
    clients = await make_clients(session_factory, len(wanted), balance=Decimal("100.00"))
    requests = [
        booking_request(cat, c, start=start, specialist=spec)
        for c, (spec, start) in zip(clients, wanted, strict=True)
    ]
    results = await asyncio.gather(
        *(eng.booking.confirm(r, now=NOW) for r in requests), return_exceptions=True
    )
    assert [r for r in results if not isinstance(r, AppointmentView)] == []
    async with session_factory() as s:
        assert await overlapping_active_appointments(s) == {
            "specialist": 0,
            "workplace": 0,
            "client": 0,
        }
        assert await money_invariant_violations(s) == []
        count = (
            await s.execute(text("SELECT count(*) FROM appointments WHERE status = 'booked'"))
        ).scalar_one()
    assert count == len(wanted)
