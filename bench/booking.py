"""Booking throughput next to pgbench on the same PostgreSQL server, in the same run.

    python bench/booking.py [--bookings 2000] [--workers 16] [--pgbench-seconds 10]

1. A throw-away database, migrated with Alembic, gets a catalog of 16 specialists and 16
   workplaces open every day, and one funded client per booking.
2. `--workers` tasks book `--bookings` DISTINCT slots through the real engine: `hold()` then
   `confirm()` (availability check, Redis hold, advisory locks, debit, appointment, ledger,
   outbox), each a full transaction with commit. Throughput = bookings / wall time.
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
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
from redis.asyncio import Redis
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    ADMIN_URL,
    REDIS_URL,
    db_url,
    discard_redis,
    migrate,
    throwaway_database,
)
from bot.config import load_settings  # noqa: E402
from bot.services.availability import AvailabilityService  # noqa: E402
from bot.services.booking import BookingRequest, BookingService  # noqa: E402
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


async def seed(url: str, bookings: int) -> list[int]:
    """The catalog (one location, 16 specialists, 16 workplaces) and one client per booking."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            loc = await conn.fetchval(
                "INSERT INTO locations (name, timezone) VALUES ('Bench', 'Europe/Moscow') "
                "RETURNING id"
            )
            svc = await conn.fetchval(
                "INSERT INTO services (name, duration_min, break_min, price) "
                "VALUES ('Bench service', $1, 0, $2) RETURNING id",
                DURATION_MIN,
                PRICE,
            )
            await conn.execute(
                "INSERT INTO location_schedules (location_id, day_of_week, start_time, end_time) "
                "SELECT $1, d, make_time($2, 0, 0), make_time($3, 0, 0) "
                "FROM generate_series(1, 7) d",
                loc,
                OPEN_HOUR,
                CLOSE_HOUR,
            )
            await conn.execute(
                "INSERT INTO workplaces (location_id, name) "
                "SELECT $1, 'Chair ' || g FROM generate_series(1, $2) g",
                loc,
                SPECIALISTS,
            )
            await conn.execute(
                "INSERT INTO workplace_services (workplace_id, service_id) "
                "SELECT id, $1 FROM workplaces WHERE location_id = $2",
                svc,
                loc,
            )
            await conn.execute(
                "INSERT INTO specialists (name, tg_id) "
                "SELECT 'Specialist ' || g, 800000000 + g FROM generate_series(1, $1) g",
                SPECIALISTS,
            )
            await conn.execute(
                "INSERT INTO service_specialists (service_id, specialist_id) "
                "SELECT $1, id FROM specialists",
                svc,
            )
            await conn.execute(
                "INSERT INTO specialist_schedules "
                "(specialist_id, location_id, day_of_week, start_time, end_time) "
                "SELECT s.id, $1, d, make_time($2, 0, 0), make_time($3, 0, 0) "
                "FROM specialists s, generate_series(1, 7) d",
                loc,
                OPEN_HOUR,
                CLOSE_HOUR,
            )
            clients = await conn.fetch(
                "INSERT INTO clients (tg_id, first_name) "
                "SELECT 500000000 + g, 'Bench ' || g FROM generate_series(1, $1) g RETURNING id",
                bookings,
            )
            ids = [r["id"] for r in clients]
            await conn.execute(
                "INSERT INTO client_wallets (client_id, balance) SELECT unnest($1::int[]), $2",
                ids,
                PRICE,
            )
            await conn.execute(
                "INSERT INTO wallet_transactions (client_id, amount, kind) "
                "SELECT unnest($1::int[]), $2, 'topup'",
                ids,
                PRICE,
            )
            specialists = await conn.fetch("SELECT id FROM specialists ORDER BY id")
    finally:
        await conn.close()
    return [loc, svc, *[r["id"] for r in specialists], *ids]


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
    seeded = await seed(url.replace("postgresql+asyncpg://", "postgresql://"), bookings)
    loc, svc = seeded[0], seeded[1]
    specialists = seeded[2 : 2 + SPECIALISTS]
    clients = seeded[2 + SPECIALISTS :]
    max_days = bookings // (SPECIALISTS * ((CLOSE_HOUR - OPEN_HOUR) * 60 // DURATION_MIN)) + 1
    prefix = f"bench:{uuid.uuid4().hex[:8]}"
    settings = load_settings(
        bot_token="1:bench",
        database_url=url,
        redis_prefix=prefix,
        booking_horizon_days=max(30, max_days + 2),
    )
    engine = make_engine(url, pool_size=workers + 4, max_overflow=0)
    sessions = make_session_factory(engine)
    redis = Redis.from_url(REDIS_URL)
    holds = HoldStore(redis, prefix=prefix, ttl_seconds=settings.hold_ttl_seconds)
    availability = AvailabilityService(sessions, redis, settings, holds)
    booking = BookingService(
        sessions, settings, availability, holds, events=EventBus(redis, prefix)
    )
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
                hold = await booking.hold(
                    client_id=clients[i],
                    location_id=loc,
                    service_id=svc,
                    specialist_id=specialist,
                    start=start,
                    now=NOW,
                )
                await booking.confirm(
                    BookingRequest(clients[i], loc, svc, specialist, start, hold.hold_id), now=NOW
                )
            except Exception as exc:
                failures.append(exc)
            latencies.append(time.perf_counter() - began)

    began, cpu_began = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began

    async with sessions() as s:
        booked = (await s.execute(text("SELECT count(*) FROM appointments"))).scalar_one()
        broken = (
            await s.execute(
                text(
                    "SELECT count(*) FROM client_wallets w WHERE balance < 0 OR balance <> "
                    "(SELECT coalesce(sum(amount), 0) FROM wallet_transactions t "
                    "WHERE t.client_id = w.client_id)"
                )
            )
        ).scalar_one()
    await discard_redis(redis, prefix)
    await engine.dispose()
    if failures or booked != bookings or broken:
        raise SystemExit(
            f"booking phase failed: {len(failures)} errors (first: {failures[:1]!r}), "
            f"{booked}/{bookings} booked, {broken} wallets off the invariant"
        )
    latencies.sort()
    return {
        "elapsed": elapsed,
        "per_second": bookings / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000,
        # The bot process's own CPU per booking (Python, SQLAlchemy, asyncpg): with one event
        # loop this caps throughput at about 1000 / cpu_ms_per_booking per second.
        "cpu_ms": cpu / bookings * 1000,
    }


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
    print(
        f"load average      {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)"
    )
    print(f"{'':18}{'per second':>12}")
    print(f"{'booking (hold+confirm)':<22}{result['per_second']:>8.1f}")
    print(f"{'pgbench TPC-B':<22}{tps:>8.1f}")
    print(f"ratio booking/pgbench {result['per_second'] / tps:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
