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
