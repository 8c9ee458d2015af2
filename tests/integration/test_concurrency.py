"""Races on the real PostgreSQL and Redis: the database, not luck, keeps bookings and money right.

`BOOKING_MIX_OPS` (default 1500) scales the randomized mix; `BOOKING_MIX_SEED` replays a run's
choice of operations (their interleaving is up to the scheduler).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.errors import (
    InsufficientFunds,
    InvalidState,
    NotAllowed,
    SlotTaken,
    SlotUnavailable,
)
from bot.services.booking import Actor, AppointmentView, BookingRequest
from bot.services.holds import Hold
from db.engine import make_engine, make_session_factory
from tests.integration.factories import (
    NOW,
    START,
    Catalog,
    Engine,
    booking_request,
    build_engine,
    hold_start,
    make_catalog,
    make_clients,
    money_invariant_violations,
    overlapping_active_appointments,
)

MIX_OPS = int(os.environ.get("BOOKING_MIX_OPS", "1500"))
MIX_SEED = int(os.environ.get("BOOKING_MIX_SEED", "20311"))
MIX_WORKERS = 24
EXPECTED = (SlotTaken, InsufficientFunds, InvalidState, NotAllowed, SlotUnavailable)


# Connections to PostgreSQL are capped (the server allows 100, shared with other test runs):
# 100 coroutines still race, they just queue for a connection as the bot's own pool does.
POOL_SIZE = 24


@pytest.fixture
async def bounded(
    clean_db: AsyncEngine, database_url: str
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url, pool_size=POOL_SIZE, max_overflow=0)
    yield make_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def eng(bounded: async_sessionmaker[AsyncSession], redis: Redis, redis_prefix: str) -> Engine:
    return build_engine(bounded, redis, redis_prefix)


async def scalar(sessions: async_sessionmaker[AsyncSession], sql: str) -> int:
    async with sessions() as s:
        return int((await s.execute(text(sql))).scalar_one())


async def test_hundred_confirms_for_one_time_book_once(
    eng: Engine, bounded: async_sessionmaker[AsyncSession]
) -> None:
    cat = await make_catalog(bounded, specialists=1, workplaces=1)
    clients = await make_clients(bounded, 100, balance=Decimal("2000.00"))
    # No holds exist (as if all had expired): PostgreSQL alone decides.
    requests = [booking_request(cat, c) for c in clients]
    results = await asyncio.gather(
        *(eng.booking.confirm(r, now=NOW) for r in requests), return_exceptions=True
    )
    booked = [r for r in results if isinstance(r, AppointmentView)]
    taken = [r for r in results if isinstance(r, SlotTaken)]
    others = [r for r in results if not isinstance(r, AppointmentView | SlotTaken)]
    assert others == []
    assert (len(booked), len(taken)) == (1, 99)
    assert await scalar(bounded, "SELECT count(*) FROM appointments") == 1
    debits = "SELECT count(*) FROM wallet_transactions WHERE kind = 'debit'"
    assert await scalar(bounded, debits) == 1
    async with bounded() as s:
        assert await money_invariant_violations(s) == []
        spent = (
            await s.execute(text("SELECT client_id FROM client_wallets WHERE balance <> 2000.00"))
        ).scalar_one()
    assert spent == booked[0].client_id


async def test_hundred_clients_holding_one_time_get_one_hold(
    eng: Engine, bounded: async_sessionmaker[AsyncSession]
) -> None:
    cat = await make_catalog(bounded, specialists=1, workplaces=1)
    clients = await make_clients(bounded, 100, balance=Decimal("0"))
    results = await asyncio.gather(
        *(hold_start(eng, cat, c) for c in clients),
        return_exceptions=True,
    )
    holds = [r for r in results if isinstance(r, Hold)]
    assert [r for r in results if not isinstance(r, Hold | SlotTaken)] == []
    assert len(holds) == 1
    live = await eng.holds.holds_between(cat.location_id, START, START + timedelta(hours=1))
    assert [h.client_id for h in live] == [holds[0].client_id]


class Mix:
    """A randomized stream of book / hold+confirm / replay / cancel / reschedule / top-up."""

    def __init__(self, eng: Engine, cats: list[Catalog], clients: list[int]) -> None:
        self.eng = eng
        self.cats = cats
        self.clients = clients
        self.rng = random.Random(MIX_SEED)
        self.booked: list[AppointmentView] = []
        self.requests: list[tuple[BookingRequest, int]] = []
        self.outcomes: Counter[str] = Counter()
        # Day 1 is inside the free-cancel window (late cancels, refused client moves).
        self.starts = [
            START + timedelta(days=d, minutes=15 * k) for d in (0, 1, 2) for k in range(-8, 40)
        ]

    def _request(self) -> BookingRequest:
        cat = self.rng.choice(self.cats)
        specialist = self.rng.choice([None, *cat.specialist_ids])
        return booking_request(
            cat,
            self.rng.choice(self.clients),
            specialist=specialist,
            start=self.rng.choice(self.starts),
        )

    async def step(self, index: int) -> None:
        kind = self.rng.choices(
            ["book", "hold_book", "replay", "cancel", "reschedule", "topup"],
            weights=[35, 15, 5, 20, 15, 10],
        )[0]
        try:
            await getattr(self, f"_{kind}")()
        except EXPECTED as exc:
            self.outcomes[f"{kind}:{type(exc).__name__}"] += 1
        else:
            self.outcomes[f"{kind}:ok"] += 1

    async def _book(self) -> None:
        req = self._request()
        view = await self.eng.booking.confirm(req, now=NOW)
        self.booked.append(view)
        self.requests.append((req, view.id))

    async def _hold_book(self) -> None:
        req = self._request()
        hold = await self.eng.booking.hold(
            client_id=req.client_id,
            location_id=req.location_id,
            service_id=req.service_id,
            specialist_id=req.specialist_id,
            start=req.start,
            now=NOW,
        )
        req = BookingRequest(**{**req.__dict__, "hold_id": hold.hold_id})
        view = await self.eng.booking.confirm(req, now=NOW)
        self.booked.append(view)
        self.requests.append((req, view.id))

    async def _replay(self) -> None:
        if not self.requests:
            raise InvalidState("nothing to replay")
        req, appointment_id = self.rng.choice(self.requests)
        view = await self.eng.booking.confirm(req, now=NOW)
        assert view.id == appointment_id, "a replayed confirm must find the same appointment"

    def _actor(self, view: AppointmentView) -> Actor:
        return self.rng.choice(
            [
                Actor("client", view.client_id),
                Actor("client", self.rng.choice(self.clients)),
                Actor("admin", 1),
                Actor("specialist", view.specialist_id),
            ]
        )

    async def _cancel(self) -> None:
        if not self.booked:
            raise InvalidState("nothing booked yet")
        view = self.rng.choice(self.booked)
        await self.eng.booking.cancel(view.id, actor=self._actor(view), now=NOW)

    async def _reschedule(self) -> None:
        if not self.booked:
            raise InvalidState("nothing booked yet")
        view = self.rng.choice(self.booked)
        await self.eng.booking.reschedule(
            view.id, actor=self._actor(view), new_start=self.rng.choice(self.starts), now=NOW
        )

    async def _topup(self) -> None:
        client = self.rng.choice(self.clients)
        amount = Decimal(self.rng.choice([-700, -300, 100, 500, 1500]))
        if amount > 0:
            await self.eng.wallet.top_up(client, amount, comment="mix", admin_id=1)
        else:
            await self.eng.wallet.adjust(client, amount, comment="mix", admin_id=1)


@pytest.mark.slow
async def test_randomized_mix_keeps_every_invariant(
    eng: Engine, bounded: async_sessionmaker[AsyncSession]
) -> None:
    cats = [
        await make_catalog(bounded, specialists=3, workplaces=2, break_min=15),
        await make_catalog(
            bounded,
            specialists=4,
            workplaces=4,
            capacity=2,
            price=Decimal("700.00"),
            duration_min=45,
            specialist_prices={0: Decimal("1100.00")},
        ),
    ]
    clients = await make_clients(bounded, 60, balance=Decimal("3000.00"))
    mix = Mix(eng, cats, clients)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(MIX_OPS):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            await mix.step(queue.get_nowait())

    async with asyncio.timeout(max(120, MIX_OPS / 5)):
        await asyncio.gather(*(worker() for _ in range(MIX_WORKERS)))

    # The mix did real work on every path, including lost races and refusals.
    for outcome in ("book:ok", "cancel:ok", "reschedule:ok", "topup:ok", "book:SlotTaken"):
        assert mix.outcomes[outcome] > 0, (outcome, mix.outcomes)

    async with bounded() as s:
        assert await overlapping_active_appointments(s) == {
            "specialist": 0,
            "workplace": 0,
            "client": 0,
        }
        assert await money_invariant_violations(s) == []
        # Every debit has at most one refund, and no refund exceeds what was paid.
        bad_refunds = await s.execute(
            text(
                "SELECT appointment_id FROM wallet_transactions "
                "WHERE appointment_id IS NOT NULL GROUP BY appointment_id "
                "HAVING count(*) FILTER (WHERE kind = 'refund') > 1 "
                "OR sum(amount) FILTER (WHERE kind = 'refund') > "
                "   -sum(amount) FILTER (WHERE kind IN ('debit', 'reschedule'))"
            )
        )
        assert bad_refunds.all() == []
        # A booked appointment was paid exactly what it records (price - discount).
        unpaid = await s.execute(
            text(
                "SELECT a.id FROM appointments a LEFT JOIN wallet_transactions t "
                "ON t.appointment_id = a.id AND t.kind IN ('debit', 'reschedule') "
                "WHERE a.status = 'booked' GROUP BY a.id, a.price, a.discount "
                "HAVING coalesce(-sum(t.amount), 0) <> a.price - a.discount"
            )
        )
        assert unpaid.all() == []
        # The capped location never ran more than its capacity at once.
        over = await s.execute(
            text(
                "SELECT a.id FROM appointments a JOIN locations l ON l.id = a.location_id "
                "JOIN appointments b ON b.location_id = a.location_id "
                "AND b.status <> 'cancelled' "
                "AND b.start_time <= a.start_time AND b.end_time > a.start_time "
                "WHERE a.status <> 'cancelled' AND coalesce(l.capacity, 0) > 0 "
                "GROUP BY a.id, l.capacity HAVING count(*) > l.capacity"
            )
        )
        assert over.all() == []


async def test_capacity_is_checked_under_the_lock(
    eng: Engine, bounded: async_sessionmaker[AsyncSession]
) -> None:
    """Two specialists and two chairs but room for one appointment at a time: of 30 clients
    confirming the same time (half for each specialist), exactly one books."""
    cat = await make_catalog(bounded, specialists=2, workplaces=2, capacity=1)
    clients = await make_clients(bounded, 30, balance=Decimal("2000.00"))
    results = await asyncio.gather(
        *(
            eng.booking.confirm(
                booking_request(
                    cat,
                    c,
                    specialist=cat.specialist_ids[i % 2],
                    start=START + timedelta(minutes=15 * (i % 3)),
                ),
                now=NOW,
            )
            for i, c in enumerate(clients)
        ),
        return_exceptions=True,
    )
    assert [r for r in results if not isinstance(r, AppointmentView | SlotTaken)] == []
    assert sum(isinstance(r, AppointmentView) for r in results) == 1
    assert await scalar(bounded, "SELECT count(*) FROM appointments") == 1
    async with bounded() as s:
        assert await money_invariant_violations(s) == []
