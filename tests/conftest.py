"""Shared fixtures: a fresh PostgreSQL database per run (migrated with Alembic) and Redis keys
isolated under a per-run prefix.

`TEST_DATABASE_ADMIN_URL` (default `postgresql://postgres@127.0.0.1:5432/postgres`) is where the
throw-away database is created; `TEST_REDIS_URL` (default `redis://127.0.0.1:6379/0`) is the Redis.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from alembic import command
from alembic.config import Config
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.engine import make_engine, make_session_factory

pytest_plugins = ["tests.emulator.fixtures"]

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get(
    "TEST_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _with_db(url: str, name: str) -> str:
    base = url.rsplit("/", 1)[0]
    return f"{base}/{name}"


def asyncpg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


async def _admin_exec(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def in_worker_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run blocking code that starts its own event loop (asyncio.run, Alembic's env.py) in a
    worker thread: asyncio.run in the main thread would unset the tests' shared event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def create_database(name: str) -> str:
    in_worker_thread(asyncio.run, _admin_exec(f'CREATE DATABASE "{name}"'))
    return asyncpg_url(_with_db(ADMIN_URL, name))


def drop_database(name: str) -> None:
    in_worker_thread(asyncio.run, _admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database, migrated to head with Alembic (not create_all), dropped afterwards."""
    name = f"booking_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = create_database(name)
    try:
        in_worker_thread(command.upgrade, alembic_config(url), "head")
        yield url
    finally:
        drop_database(name)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(database_url, pool_size=20, max_overflow=120)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(engine)


TABLES_TO_KEEP = {"alembic_version"}


@pytest.fixture
async def clean_db(engine: AsyncEngine) -> AsyncEngine:
    """Empty every table before the test; returns the engine."""
    async with engine.begin() as conn:
        rows = await conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        tables = [r[0] for r in rows if r[0] not in TABLES_TO_KEEP]
        if tables:
            quoted = ", ".join(f'"{t}"' for t in tables)
            await conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    return engine


@pytest.fixture
async def session(
    clean_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[AsyncSession]:
    async with session_factory() as s:
        yield s


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test (or run) shares."""
    return f"test:{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis(redis_prefix: str) -> AsyncIterator[Redis]:
    client: Redis = Redis.from_url(REDIS_URL, decode_responses=False)
    yield client
    keys = [k async for k in client.scan_iter(match=f"{redis_prefix}*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()
