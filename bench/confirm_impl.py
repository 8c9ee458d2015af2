"""The confirm transaction written five ways, side by side in one run: which one to build on.

    python bench/confirm_impl.py [--rounds 320]

Every way writes the same rows in one transaction: the booking key's and the pair's advisory
locks, the conditional wallet debit, the appointment (its EXCLUDE and UNIQUE constraints are
the last word, as in the bot), the ledger debit and the booking's outbox rows (two here), then
COMMIT. The ways:

- `service`: the bot's own `BookingService.confirm` (after a `hold`, not timed): the above plus
  what the product adds (the idempotency lookup, the re-check of the slot under the locks with
  the date's holidays and breaks, the client's terms, the waitlist, the appointment's view);
- `orm`: an `AsyncSession`, statements built per call, ORM objects added and flushed;
- `core`: SQLAlchemy Core statements built once, run on an `AsyncConnection`;
- `asyncpg`: raw asyncpg prepared statements on a pooled connection;
- `plpgsql`: one call of a PL/pgSQL function (created in the throw-away database) that does it
  all in one round trip.

The baseline is an asyncpg `SELECT 1` on a pooled connection, measured in the same run. The
ways and the baseline take turns (one of each per round), so a load change on a shared machine
touches them all alike; every figure is also given as a ratio to the baseline. Wall time is per
call, one call at a time; CPU is this process's (Python, SQLAlchemy, the driver), per call.
After the run every way's appointments are counted and `balance == sum(ledger)` is checked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.booking import (  # noqa: E402
    DURATION_MIN,
    NOW,
    PRICE,
    SPECIALISTS,
    BookingWorld,
    slot_of,
)
from bench.common import ADMIN_URL, db_url, discard_redis, migrate, throwaway_database  # noqa: E402
from bot.services.booking import BookingRequest  # noqa: E402
from db.models import Appointment, ClientWallet, Outbox, WalletTransaction  # noqa: E402

WAYS = ("service", "orm", "core", "asyncpg", "plpgsql")

_LOCKS = (
    "SELECT pg_advisory_xact_lock(hashtext($1)), pg_advisory_xact_lock(1, $2), "
    "pg_advisory_xact_lock(2, $3)"
)
_DEBIT = (
    "UPDATE client_wallets SET balance = balance - $1 "
    "WHERE client_id = $2 AND balance >= $1 RETURNING balance"
)
_APPOINTMENT = (
    "INSERT INTO appointments (location_id, service_id, workplace_id, specialist_id, client_id, "
    "start_time, end_time, blocked_until, status, price, discount, booking_key) "
    "VALUES ($2, $3, $4, $5, $6, $7, $8, $8, 'booked', $9, 0, $1) RETURNING id"
)
_LEDGER = (
    "INSERT INTO wallet_transactions (client_id, appointment_id, amount, discount, kind) "
    "VALUES ($1, $2, $3, 0, 'debit')"
)
_OUTBOX = (
    "INSERT INTO outbox (dedupe_key, kind, recipient, chat_id, appointment_id, payload, due_at) "
    "VALUES ($1 || ':confirm', 'client_confirm', 'client', $2, $3, $4::jsonb, $5), "
    "($1 || ':spec_new', 'specialist_new', 'specialist', $2, $3, $4::jsonb, $5)"
)
_FUNCTION = """
CREATE FUNCTION bench_confirm(
  key text, loc int, svc int, wp int, spec int, client int, starts timestamptz,
  ends timestamptz, amount numeric, chat bigint, payload jsonb, due timestamptz
) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  appt int;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext(key)), pg_advisory_xact_lock(1, spec),
          pg_advisory_xact_lock(2, wp);
  UPDATE client_wallets SET balance = balance - amount
   WHERE client_id = client AND balance >= amount;
  IF NOT FOUND THEN RAISE EXCEPTION 'insufficient funds'; END IF;
  INSERT INTO appointments (location_id, service_id, workplace_id, specialist_id, client_id,
    start_time, end_time, blocked_until, status, price, discount, booking_key)
  VALUES (loc, svc, wp, spec, client, starts, ends, ends, 'booked', amount, 0, key)
  RETURNING id INTO appt;
  INSERT INTO wallet_transactions (client_id, appointment_id, amount, discount, kind)
  VALUES (client, appt, -amount, 0, 'debit');
  INSERT INTO outbox (dedupe_key, kind, recipient, chat_id, appointment_id, payload, due_at)
  VALUES ('appt:' || appt || ':confirm', 'client_confirm', 'client', chat, appt, payload, due),
         ('appt:' || appt || ':spec_new', 'specialist_new', 'specialist', chat, appt, payload,
          due);
  RETURN appt;
END $$;
"""
# The same rows through SQLAlchemy Core, statements built once.
_CORE_DEBIT = (
    update(ClientWallet)
    .where(ClientWallet.client_id == text(":client"), ClientWallet.balance >= text(":amount"))
    .values(balance=ClientWallet.balance - text(":amount"))
    .returning(ClientWallet.balance)
)
_CORE_APPOINTMENT = insert(Appointment).returning(Appointment.id)
_CORE_LEDGER = insert(WalletTransaction)
_CORE_OUTBOX = insert(Outbox)
_CORE_LOCKS = select(
    func.pg_advisory_xact_lock(func.hashtext(text(":key"))),
    func.pg_advisory_xact_lock(1, text(":spec")),
    func.pg_advisory_xact_lock(2, text(":wp")),
)


class Booking:
    """One booking's parameters (a distinct specialist, workplace and start)."""

    def __init__(self, world: BookingWorld, index: int) -> None:
        spec_pos = index % SPECIALISTS
        self.specialist, self.start = slot_of(index, world.specialists)
        self.workplace = world.workplaces[spec_pos]
        self.end = self.start + timedelta(minutes=DURATION_MIN)
        self.client = world.clients[index]
        self.location, self.service = world.location, world.service
        self.key = f"bench:{uuid.uuid4().hex}"
        self.payload = {"start": self.start.isoformat(), "price": str(PRICE)}

    def args(self) -> tuple[Any, ...]:
        """(key, location, service, workplace, specialist, client, start, end, price): the
        appointment's values in the order the asyncpg and PL/pgSQL ways take them."""
        return (
            self.key,
            self.location,
            self.service,
            self.workplace,
            self.specialist,
            self.client,
            self.start,
            self.end,
            PRICE,
        )

    def outbox_rows(self, appointment_id: int) -> list[dict[str, Any]]:
        return [
            {
                "dedupe_key": f"appt:{appointment_id}:{name}",
                "kind": kind,
                "recipient": recipient,
                "chat_id": self.client,
                "appointment_id": appointment_id,
                "payload": self.payload,
                "due_at": NOW,
            }
            for name, kind, recipient in (
                ("confirm", "client_confirm", "client"),
                ("spec_new", "specialist_new", "specialist"),
            )
        ]


async def confirm_orm(sessions: async_sessionmaker[AsyncSession], b: Booking) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            select(
                func.pg_advisory_xact_lock(func.hashtext(b.key)),
                func.pg_advisory_xact_lock(1, b.specialist),
                func.pg_advisory_xact_lock(2, b.workplace),
            )
        )
        debited = await session.execute(
            update(ClientWallet)
            .where(ClientWallet.client_id == b.client, ClientWallet.balance >= PRICE)
            .values(balance=ClientWallet.balance - PRICE)
            .returning(ClientWallet.balance)
        )
        if debited.first() is None:
            raise RuntimeError("insufficient funds")
        appointment = Appointment(
            location_id=b.location,
            service_id=b.service,
            workplace_id=b.workplace,
            specialist_id=b.specialist,
            client_id=b.client,
            start_time=b.start,
            end_time=b.end,
            blocked_until=b.end,
            status="booked",
            price=PRICE,
            discount=Decimal(0),
            booking_key=b.key,
        )
        session.add(appointment)
        await session.flush()
        session.add(
            WalletTransaction(
                client_id=b.client, appointment_id=appointment.id, amount=-PRICE, kind="debit"
            )
        )
        session.add_all(Outbox(**row) for row in b.outbox_rows(appointment.id))
        await session.flush()


async def confirm_core(engine: AsyncEngine, b: Booking) -> None:
    async with engine.begin() as conn:
        await conn.execute(_CORE_LOCKS, {"key": b.key, "spec": b.specialist, "wp": b.workplace})
        debited = await conn.execute(_CORE_DEBIT, {"client": b.client, "amount": PRICE})
        if debited.first() is None:
            raise RuntimeError("insufficient funds")
        appointment_id = (
            await conn.execute(
                _CORE_APPOINTMENT,
                {
                    "location_id": b.location,
                    "service_id": b.service,
                    "workplace_id": b.workplace,
                    "specialist_id": b.specialist,
                    "client_id": b.client,
                    "start_time": b.start,
                    "end_time": b.end,
                    "blocked_until": b.end,
                    "status": "booked",
                    "price": PRICE,
                    "discount": Decimal(0),
                    "booking_key": b.key,
                },
            )
        ).scalar_one()
        await conn.execute(
            _CORE_LEDGER,
            {
                "client_id": b.client,
                "appointment_id": appointment_id,
                "amount": -PRICE,
                "discount": Decimal(0),
                "kind": "debit",
            },
        )
        await conn.execute(_CORE_OUTBOX, b.outbox_rows(appointment_id))


async def confirm_asyncpg(pool: asyncpg.Pool, b: Booking) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(_LOCKS, b.key, b.specialist, b.workplace)
        if await conn.fetchval(_DEBIT, PRICE, b.client) is None:
            raise RuntimeError("insufficient funds")
        appointment_id = await conn.fetchval(_APPOINTMENT, *b.args())
        await conn.execute(_LEDGER, b.client, appointment_id, -PRICE)
        await conn.execute(
            _OUTBOX, f"appt:{appointment_id}", b.client, appointment_id, json.dumps(b.payload), NOW
        )


async def confirm_plpgsql(pool: asyncpg.Pool, b: Booking) -> None:
    async with pool.acquire() as conn:
        await conn.fetchval(
            "SELECT bench_confirm($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12)",
            *b.args(),
            b.client,
            json.dumps(b.payload),
            NOW,
        )


async def run(rounds: int) -> None:
    async with throwaway_database(ADMIN_URL, "bench_confirm") as name:
        url = db_url(ADMIN_URL, name, driver="postgresql+asyncpg")
        plain = db_url(ADMIN_URL, name)
        await migrate(url)
        world = await BookingWorld.open(url, bookings=rounds * len(WAYS), pool_size=4)
        pool = await asyncpg.create_pool(plain, min_size=2, max_size=2)
        try:
            async with pool.acquire() as conn:
                await conn.execute(_FUNCTION)
            await measure(world, pool, rounds)
        finally:
            await pool.close()
            await world.close()
            await discard_redis(world.redis, world.prefix)


async def measure(world: BookingWorld, pool: asyncpg.Pool, rounds: int) -> None:
    async def service(b: Booking) -> None:
        hold = await world.booking.hold(
            client_id=b.client,
            location_id=b.location,
            service_id=b.service,
            specialist_id=b.specialist,
            start=b.start,
            now=NOW,
        )
        world.pending_hold = hold.hold_id

    async def service_confirm(b: Booking) -> None:
        request = BookingRequest(
            b.client, b.location, b.service, b.specialist, b.start, world.pending_hold
        )
        await world.booking.confirm(request, now=NOW)

    async def baseline(_: Booking) -> None:
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")

    ways: dict[str, Callable[[Booking], Awaitable[None]]] = {
        "service": service_confirm,
        "orm": lambda b: confirm_orm(world.sessions, b),
        "core": lambda b: confirm_core(world.engine, b),
        "asyncpg": lambda b: confirm_asyncpg(pool, b),
        "plpgsql": lambda b: confirm_plpgsql(pool, b),
    }
    wall: dict[str, list[float]] = {k: [] for k in ("SELECT 1", *WAYS)}
    cpu: dict[str, list[float]] = {k: [] for k in wall}
    # Each way gets its own run of slot indices (whole rounds of the specialists, so no two
    # ways ever share a start); the first round of each warms caches and is not counted.
    for r in range(rounds):
        for n, way in enumerate(WAYS):
            b = Booking(world, n * rounds + r)
            if way == "service":
                await service(b)
            for label, call in (("SELECT 1", baseline), (way, ways[way])):
                if label == "SELECT 1" and n:
                    continue
                w0, c0 = time.perf_counter(), time.process_time()
                await call(b)
                if r:
                    wall[label].append(time.perf_counter() - w0)
                    cpu[label].append(time.process_time() - c0)
    await world.check(expected=rounds * len(WAYS))
    base_wall = statistics.median(wall["SELECT 1"])
    base_cpu = statistics.fmean(cpu["SELECT 1"])
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"rounds {rounds} (the first not counted), load average {load} ({os.cpu_count()} CPUs)")
    print(
        f"{'way':<10}{'wall p50 ms':>12}{'x SELECT 1':>12}{'CPU ms':>9}{'x SELECT 1':>12}"
        f"{'x orm CPU':>11}"
    )
    orm_cpu = statistics.fmean(cpu["orm"])
    for label in wall:
        w, c = statistics.median(wall[label]), statistics.fmean(cpu[label])
        print(
            f"{label:<10}{w * 1000:>12.2f}{w / base_wall:>12.1f}{c * 1000:>9.2f}"
            f"{c / base_cpu:>12.1f}{c / orm_cpu:>11.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=320, help="a multiple of 16")
    args = parser.parse_args()
    if args.rounds % SPECIALISTS:
        raise SystemExit(f"--rounds must be a multiple of {SPECIALISTS}")
    started = datetime.now(UTC)
    asyncio.run(run(args.rounds))
    print(f"run took {(datetime.now(UTC) - started).total_seconds():.0f} s")


if __name__ == "__main__":
    main()
