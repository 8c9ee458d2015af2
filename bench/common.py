"""What every benchmark shares: where PostgreSQL and Redis are, and a throw-away database.

Environment: `BENCH_DATABASE_ADMIN_URL` (default postgresql://postgres@127.0.0.1:5432/postgres),
`REDIS_URL` (default redis://127.0.0.1:6379/0).

The functions take the admin URL as an argument, so a script (or a test) that points its own
`ADMIN_URL` elsewhere is followed.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get(
    "BENCH_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def db_url(admin_url: str, name: str, *, driver: str = "postgresql") -> str:
    """The URL of database `name` on the admin URL's server, for the given driver."""
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", f"{driver}://", 1)
    return f"{base}/{name}"


async def admin(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def migrate(url: str) -> None:
    """Alembic upgrade to head; `url` uses the asyncpg driver."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = url
    # env.py runs its own event loop: migrate from a worker thread.
    await asyncio.to_thread(command.upgrade, cfg, "head")


@asynccontextmanager
async def throwaway_database(admin_url: str, prefix: str) -> AsyncIterator[str]:
    """A new, empty database named after `prefix`, dropped on exit (even with clients still
    connected). Yields its name."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        await admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def discard_redis(redis: Redis, prefix: str) -> None:
    """Delete the run's keys (all under `prefix`) and close the connection."""
    keys = [k async for k in redis.scan_iter(match=f"{prefix}*", count=1000)]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def seed_location(
    conn: asyncpg.Connection,
    *,
    name: str,
    timezone: str,
    services: list[int],
    specialists: int,
    hours: tuple[int, int],
    specialist_prefix: str,
    first_specialist_tg: int,
) -> tuple[int, list[int]]:
    """A location open `hours` (local, every day) with one workplace per specialist, each
    hosting every one of `services`, and `specialists` specialists ("<prefix>01", ...) doing
    all of them there on the same hours. Returns (location id, specialist ids in order)."""
    opens, closes = hours
    loc = await conn.fetchval(
        "INSERT INTO locations (name, timezone) VALUES ($1, $2) RETURNING id", name, timezone
    )
    await conn.execute(
        "INSERT INTO location_schedules (location_id, day_of_week, start_time, end_time) "
        "SELECT $1, d, make_time($2, 0, 0), make_time($3, 0, 0) FROM generate_series(1, 7) d",
        loc,
        opens,
        closes,
    )
    await conn.execute(
        "INSERT INTO workplaces (location_id, name) "
        "SELECT $1, 'Chair ' || g FROM generate_series(1, $2) g",
        loc,
        specialists,
    )
    await conn.execute(
        "INSERT INTO workplace_services (workplace_id, service_id) "
        "SELECT w.id, s FROM workplaces w, unnest($1::int[]) s WHERE w.location_id = $2",
        services,
        loc,
    )
    rows = await conn.fetch(
        "INSERT INTO specialists (name, tg_id) "
        "SELECT $1 || lpad(g::text, 2, '0'), $2 + g FROM generate_series(1, $3) g RETURNING id",
        specialist_prefix,
        first_specialist_tg,
        specialists,
    )
    ids = [r["id"] for r in rows]
    await conn.execute(
        "INSERT INTO service_specialists (service_id, specialist_id) "
        "SELECT s, p FROM unnest($1::int[]) s, unnest($2::int[]) p",
        services,
        ids,
    )
    await conn.execute(
        "INSERT INTO specialist_schedules "
        "(specialist_id, location_id, day_of_week, start_time, end_time) "
        "SELECT p, $1, d, make_time($2, 0, 0), make_time($3, 0, 0) "
        "FROM unnest($4::int[]) p, generate_series(1, 7) d",
        loc,
        opens,
        closes,
        ids,
    )
    return loc, ids


async def seed_clients(
    conn: asyncpg.Connection, count: int, *, first_tg_id: int, balance: Decimal, language: str
) -> list[int]:
    """`count` clients ("Client 1", ...), each with a wallet of `balance` backed by one top-up
    in the ledger (`balance == sum(ledger)`). Returns their ids in order."""
    rows = await conn.fetch(
        "INSERT INTO clients (tg_id, first_name, language) "
        "SELECT $1 + g, 'Client ' || g, $3 FROM generate_series(1, $2) g RETURNING id",
        first_tg_id,
        count,
        language,
    )
    ids = [r["id"] for r in rows]
    await conn.execute(
        "INSERT INTO client_wallets (client_id, balance) SELECT unnest($1::int[]), $2",
        ids,
        balance,
    )
    await conn.execute(
        "INSERT INTO wallet_transactions (client_id, amount, kind) "
        "SELECT unnest($1::int[]), $2, 'topup'",
        ids,
        balance,
    )
    return ids


async def check_bookings(url: str) -> tuple[int, int]:
    """(appointments booked, wallets off `balance == sum(ledger)` or below zero); `url` is a
    plain postgresql:// one."""
    conn = await asyncpg.connect(url)
    try:
        booked = await conn.fetchval("SELECT count(*) FROM appointments")
        broken = await conn.fetchval(
            "SELECT count(*) FROM client_wallets w WHERE balance < 0 OR balance <> "
            "(SELECT coalesce(sum(amount), 0) FROM wallet_transactions t "
            "WHERE t.client_id = w.client_id)"
        )
    finally:
        await conn.close()
    return int(booked), int(broken)


def summary(label: str, samples: list[float], width: int = 24) -> str:
    """One line of latency figures: p50, p95 and max in milliseconds, and the sample count."""
    ms = sorted(s * 1000 for s in samples)
    if len(ms) >= 2:
        q = statistics.quantiles(ms, n=100, method="inclusive")
        p50, p95 = q[49], q[94]
    else:
        p50 = p95 = ms[0]
    return (
        f"{label:<{width}} p50={p50:8.2f} ms  p95={p95:8.2f} ms  max={ms[-1]:8.2f} ms  n={len(ms)}"
    )
