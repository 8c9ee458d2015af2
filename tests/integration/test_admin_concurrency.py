"""Admin actions racing clients on the real PostgreSQL and Redis: the database decides, once.

Each race is repeated a few rounds, every round with its two actions started together, so the
interleavings vary; the assertions hold for every outcome the scheduler picks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.errors import InvalidState, SlotTaken
from bot.services.booking import Actor, AppointmentView, CancelResult
from db.engine import make_engine, make_session_factory
from tests.integration.admin_support import Desk, build_desk
from tests.integration.factories import (
    DESK_ADMIN,
    NOW,
    START,
    Engine,
    booking_request,
    build_engine,
    make_catalog,
    make_client,
    money_invariant_violations,
    overlapping_active_appointments,
)

ROUNDS = 8
ADMIN = Actor("admin", DESK_ADMIN)


@pytest.fixture
async def bounded(
    clean_db: AsyncEngine, database_url: str
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url, pool_size=8, max_overflow=0)
    yield make_session_factory(engine)
    await engine.dispose()


@pytest.fixture
def eng(bounded: async_sessionmaker[AsyncSession], redis: Redis, redis_prefix: str) -> Engine:
    return build_engine(bounded, redis, redis_prefix)


@pytest.fixture
def desk(eng: Engine, bounded: async_sessionmaker[AsyncSession], redis: Redis) -> Desk:
    return build_desk(eng, bounded, redis)


async def count(sessions: async_sessionmaker[AsyncSession], sql: str, **params: object) -> int:
    async with sessions() as s:
        return int((await s.execute(text(sql), params)).scalar_one())


async def assert_money_and_slots_hold(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s:
        assert await money_invariant_violations(s) == []
        assert await overlapping_active_appointments(s) == {
            "specialist": 0,
            "workplace": 0,
            "client": 0,
        }


async def test_admin_cancel_racing_the_clients_cancel_refunds_once(
    eng: Engine, bounded: async_sessionmaker[AsyncSession]
) -> None:
    cat = await make_catalog(bounded)
    for round_ in range(ROUNDS):
        client = await make_client(bounded, balance=Decimal("1000"))
        start = START + timedelta(days=round_)
        view = await eng.booking.confirm(booking_request(cat, client, start=start), now=NOW)
        results = await asyncio.gather(
            eng.booking.cancel(view.id, actor=ADMIN, now=NOW, reason="closed"),
            eng.booking.cancel(view.id, actor=Actor("client", client), now=NOW),
            return_exceptions=True,
        )
        done = [r for r in results if isinstance(r, CancelResult)]
        refused = [r for r in results if isinstance(r, InvalidState)]
        assert (len(done), len(refused)) == (1, 1), results
        refunds = await count(
            bounded,
            "SELECT count(*) FROM wallet_transactions "
            "WHERE kind = 'refund' AND appointment_id = :a",
            a=view.id,
        )
        assert refunds == 1
        balance = await count(
            bounded, "SELECT balance FROM client_wallets WHERE client_id = :c", c=client
        )
        assert balance == 1000  # both cancel early enough for a full refund: never 2000
    await assert_money_and_slots_hold(bounded)


async def test_admin_top_up_racing_a_booking_debit_keeps_the_ledger(
    eng: Engine, desk: Desk, bounded: async_sessionmaker[AsyncSession]
) -> None:
    cat = await make_catalog(bounded, specialists=1, workplaces=1)
    client = await make_client(bounded, balance=Decimal("10000"))
    for round_ in range(ROUNDS):
        start = START + timedelta(hours=round_)
        results = await asyncio.gather(
            desk.clients.top_up(DESK_ADMIN, client, Decimal("250.25"), f"desk {round_}"),
            eng.booking.confirm(booking_request(cat, client, start=start), now=NOW),
            return_exceptions=True,
        )
        assert isinstance(results[0], Decimal), results
        assert isinstance(results[1], AppointmentView), results
    balance = await count(
        bounded, "SELECT balance * 100 FROM client_wallets WHERE client_id = :c", c=client
    )
    assert balance == 1000000 + ROUNDS * 25025 - ROUNDS * 100000
    audit_rows = await count(
        bounded, "SELECT count(*) FROM audit_log WHERE action = 'wallet.topup'"
    )
    assert audit_rows == ROUNDS
    await assert_money_and_slots_hold(bounded)


async def test_admin_move_racing_another_clients_booking_has_one_winner(
    eng: Engine, bounded: async_sessionmaker[AsyncSession]
) -> None:
    cat = await make_catalog(bounded, specialists=1, workplaces=1)
    for round_ in range(ROUNDS):
        mover = await make_client(bounded, balance=Decimal("1000"))
        rival = await make_client(bounded, balance=Decimal("1000"))
        day = START + timedelta(days=round_)  # a fresh day: earlier rounds' times stay apart
        view = await eng.booking.confirm(booking_request(cat, mover, start=day), now=NOW)
        target = day + timedelta(hours=3)
        results = await asyncio.gather(
            eng.booking.reschedule(view.id, actor=ADMIN, new_start=target, now=NOW),
            eng.booking.confirm(booking_request(cat, rival, start=target), now=NOW),
            return_exceptions=True,
        )
        winners = [r for r in results if isinstance(r, AppointmentView)]
        losers = [r for r in results if isinstance(r, SlotTaken)]
        assert (len(winners), len(losers)) == (1, 1), results
        at_target = await count(
            bounded,
            "SELECT count(*) FROM appointments WHERE start_time = :t AND status = 'booked'",
            t=target,
        )
        assert at_target == 1
        if isinstance(results[1], SlotTaken):  # the move won; the rival paid nothing
            assert (
                await count(
                    bounded, "SELECT balance FROM client_wallets WHERE client_id = :c", c=rival
                )
                == 1000
            )
    await assert_money_and_slots_hold(bounded)
