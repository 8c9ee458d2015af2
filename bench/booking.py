"""Booking throughput next to pgbench on the same PostgreSQL server, in the same run.

    python bench/booking.py [--bookings 2000] [--workers 16] [--pgbench-seconds 10]

1. A throw-away database, migrated with Alembic, gets a catalog of 16 specialists and 16
   workplaces open every day, and one funded client per booking.
2. `--workers` tasks book `--bookings` DISTINCT slots through the real engine: `hold()` then
   `confirm()` (availability check, Redis hold, advisory locks, debit, appointment, ledger,
   outbox), each a full transaction with commit. Throughput = bookings / wall time; the
   bench process's CPU and the Redis server's (`INFO cpu`: mostly the hold scripts) are
   printed per booking.
3. A second throw-away database runs `pgbench -i -s 16` and `pgbench -c 16 -j 2 -T 10`
   (TPC-B-like transactions) for the server's baseline.
Both databases are dropped at the end. The money invariant and "no overlap" are checked after
the booking phase, so a fast but wrong run is reported as a failure.

Environment: `BENCH_DATABASE_ADMIN_URL` (default postgresql://postgres@127.0.0.1:5432/postgres),
`REDIS_URL` (default redis://127.0.0.1:6379/0), `PGBENCH` (default: found on PATH or in
/usr/lib/postgresql/*/bin).
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    ADMIN_URL,
    REDIS_URL,
    check_bookings,
    db_url,
    discard_redis,
    migrate,
    seed_clients,
    seed_location,
    throwaway_database,
)
from bot.__main__ import run_loop  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.ops.redis import make_redis  # noqa: E402
from bot.services.availability import AvailabilityService  # noqa: E402
from bot.services.booking import BookingRequest, BookingService  # noqa: E402
from bot.services.catalog_cache import CatalogCache  # noqa: E402
from bot.services.events import EventBus  # noqa: E402
from bot.services.holds import HoldStore  # noqa: E402
from db.engine import make_engine, make_session_factory  # noqa: E402

SPECIALISTS = 16
OPEN_HOUR, CLOSE_HOUR = 8, 22  # local, every day
DURATION_MIN = 60
# Monday 09:00 Moscow; bookings start the next day.
NOW = datetime(2031, 3, 3, 6, 0, tzinfo=UTC)
PRICE = Decimal("1000.00")


def find_pgbench() -> str:
    explicit = os.environ.get("PGBENCH") or shutil.which("pgbench")
    if explicit:
        return explicit
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    if not found:
        raise SystemExit("pgbench not found: install postgresql-contrib or set PGBENCH")
    return found[-1]


@dataclass
class BookingWorld:
    """A migrated database seeded with the catalog (one location, 16 specialists, 16
    workplaces) and `bookings` funded clients, and the real booking services on it."""

    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    prefix: str
    booking: BookingService
    location: int
    service: int
    specialists: list[int]
    workplaces: list[int]
    clients: list[int]
    catalog: CatalogCache
    pending_hold: str = ""

    @classmethod
    async def open(cls, url: str, *, bookings: int, pool_size: int) -> BookingWorld:
        """Seed the database at `url` (asyncpg driver) and build the services on it."""
        plain = url.replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(plain)
        try:
            async with conn.transaction():
                svc = await conn.fetchval(
                    "INSERT INTO services (name, duration_min, break_min, price) "
                    "VALUES ('Bench service', $1, 0, $2) RETURNING id",
                    DURATION_MIN,
                    PRICE,
                )
                loc, specialists = await seed_location(
                    conn,
                    name="Bench",
                    timezone="Europe/Moscow",
                    services=[svc],
                    specialists=SPECIALISTS,
                    hours=(OPEN_HOUR, CLOSE_HOUR),
                    specialist_prefix="Specialist ",
                    first_specialist_tg=800_000_000,
                )
                workplaces = [
                    r["id"]
                    for r in await conn.fetch(
                        "SELECT id FROM workplaces WHERE location_id = $1 ORDER BY id", loc
                    )
                ]
                clients = await seed_clients(
                    conn, bookings, first_tg_id=500_000_000, balance=PRICE, language="ru"
                )
        finally:
            await conn.close()
        max_days = bookings // (SPECIALISTS * ((CLOSE_HOUR - OPEN_HOUR) * 60 // DURATION_MIN))
        prefix = f"bench:{uuid.uuid4().hex[:8]}"
        settings = load_settings(
            bot_token="1:bench",
            database_url=url,
            redis_prefix=prefix,
            booking_horizon_days=max(30, max_days + 3),
        )
        engine = make_engine(url, pool_size=pool_size, max_overflow=0)
        sessions = make_session_factory(engine)
        # The bot's own client (per-command deadline, breaker), as `python -m bot` builds it.
        redis = make_redis(REDIS_URL, timeout=settings.redis_timeout_seconds)
        holds = HoldStore(redis, prefix=prefix, ttl_seconds=settings.hold_ttl_seconds)
        availability = AvailabilityService(sessions, redis, settings, holds)
        booking = BookingService(
            sessions, settings, availability, holds, events=EventBus(redis, prefix)
        )
        return cls(
            plain,
            engine,
            sessions,
            redis,
            prefix,
            booking,
            loc,
            svc,
            specialists,
            workplaces,
            clients,
            availability.catalog,
        )

    async def check(self, *, expected: int) -> None:
        """Fail unless `expected` appointments exist and every wallet keeps
        `balance == sum(ledger)` and `balance >= 0`."""
        booked, broken = await check_bookings(self.url)
        if booked != expected or broken:
            raise SystemExit(f"{booked}/{expected} booked, {broken} wallets off the invariant")

    async def close(self) -> None:
        await self.engine.dispose()


def slot_of(index: int, specialists: list[int]) -> tuple[int, datetime]:
    """Booking `index` -> a distinct (specialist, start): round-robin over specialists, so the
    concurrent workers mostly touch different specialists, as real traffic would."""
    per_day = (CLOSE_HOUR - OPEN_HOUR) * 60 // DURATION_MIN
    specialist = specialists[index % len(specialists)]
    n = index // len(specialists)
    day, slot = divmod(n, per_day)
    local_open = datetime(2031, 3, 4, OPEN_HOUR - 3, 0, tzinfo=UTC)  # Moscow is UTC+3
    return specialist, local_open + timedelta(days=day, minutes=slot * DURATION_MIN)


async def run_bookings(url: str, bookings: int, workers: int) -> dict[str, float]:
    world = await BookingWorld.open(url, bookings=bookings, pool_size=workers + 4)
    booking, clients, specialists = world.booking, world.clients, world.specialists
    loc, svc = world.location, world.service
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(bookings):
        queue.put_nowait(i)
    latencies: list[float] = []
    failures: list[BaseException] = []

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            specialist, start = slot_of(i, specialists)
            began = time.perf_counter()
            try:
                # One catalog version per step, as the bot pins one per update.
                with world.catalog.pinned():
                    hold = await booking.hold(
                        client_id=clients[i],
                        location_id=loc,
                        service_id=svc,
                        specialist_id=specialist,
                        start=start,
                        now=NOW,
                    )
                # As the conversation asks (`handlers/booking/confirm.py`): the quoted price
                # and the held pair come with the request, so the hold is not read back.
                request = BookingRequest(
                    clients[i],
                    loc,
                    svc,
                    hold.specialist_id,
                    start,
                    hold.hold_id,
                    expected_price=hold.price,
                    held_workplace=hold.workplace_id,
                )
                with world.catalog.pinned():
                    await booking.confirm(request, now=NOW)
            except Exception as exc:
                failures.append(exc)
            latencies.append(time.perf_counter() - began)

    redis_began = await redis_cpu(world.redis)
    began, cpu_began = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    redis_used = await redis_cpu(world.redis) - redis_began

    await discard_redis(world.redis, world.prefix)
    await world.close()
    if failures:
        raise SystemExit(f"booking phase failed: {len(failures)} errors (first: {failures[:1]!r})")
    await world.check(expected=bookings)
    latencies.sort()
    return {
        "elapsed": elapsed,
        "per_second": bookings / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000,
        # The bot process's own CPU per booking (Python, SQLAlchemy, asyncpg): with one event
        # loop this caps throughput at about 1000 / cpu_ms_per_booking per second.
        "cpu_ms": cpu / bookings * 1000,
        # The Redis server's CPU (its own and its threads', from INFO): mostly the hold
        # scripts, which share the machine with the bot and PostgreSQL.
        "redis_cpu_ms": redis_used / bookings * 1000,
    }


async def redis_cpu(redis: Redis) -> float:
    """Seconds of CPU the Redis server has used since it started (user + system)."""
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def run_pgbench(name: str, clients: int, seconds: int) -> float:
    exe = find_pgbench()
    url = urlparse(ADMIN_URL)
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    base = ["-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432)]
    base += ["-U", url.username or "postgres"]
    subprocess.run(
        [exe, "-i", "-q", "-s", str(clients), *base, name],
        check=True,
        env=env,
        capture_output=True,
    )
    out = subprocess.run(
        [exe, "-c", str(clients), "-j", "2", "-T", str(seconds), *base, name],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if not match:
        raise SystemExit(f"could not read pgbench output:\n{out}")
    return float(match.group(1))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    args = parser.parse_args()

    async with (
        throwaway_database(ADMIN_URL, "bench_booking") as booking_db,
        throwaway_database(ADMIN_URL, "bench_pgbench") as pgbench_db,
    ):
        url = db_url(ADMIN_URL, booking_db, driver="postgresql+asyncpg")
        await migrate(url)
        result = await run_bookings(url, args.bookings, args.workers)
        tps = await asyncio.to_thread(run_pgbench, pgbench_db, args.workers, args.pgbench_seconds)

    print(f"bookings          {args.bookings} distinct slots, {args.workers} workers")
    print(f"booking wall time {result['elapsed']:.2f} s")
    print(f"booking latency   p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms")
    print(f"bot process CPU   {result['cpu_ms']:.1f} ms per booking")
    print(f"Redis server CPU  {result['redis_cpu_ms']:.2f} ms per booking")
    print(
        f"load average      {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)"
    )
    print(f"{'':18}{'per second':>12}")
    print(f"{'booking (hold+confirm)':<22}{result['per_second']:>8.1f}")
    print(f"{'pgbench TPC-B':<22}{tps:>8.1f}")
    print(f"ratio booking/pgbench {result['per_second'] / tps:.3f}")


if __name__ == "__main__":
    # The bot's own event loop (uvloop where installed, `bot.__main__.run_loop`): the engine
    # is measured on the loop it runs on in production. BENCH_LOOP=asyncio for asyncio's own.
    if os.environ.get("BENCH_LOOP") == "asyncio":
        asyncio.run(main())
    else:
        run_loop(main())
