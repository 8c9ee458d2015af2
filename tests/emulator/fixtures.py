"""Pytest fixtures around the Bot API emulator (registered from `tests/conftest.py`).

- `emulator`: a fresh emulator per test.
- `make_bot_settings(**overrides)`: Settings pointing at the emulator, the test database, the
  test Redis and the test's unique `redis_prefix` (no worker, no .env).
- `running_bot(settings, setup=None, features=FEATURES)`: the real application built by
  `bot.app.create_app` (exactly what `python -m bot` runs), served in-process until the block
  ends.
- `bot_app`: a running bot (long polling) over a clean database.
- `process_env(...)`: the environment of a real `python -m bot` subprocess.
- `redis_proxy`: a stoppable proxy in front of the test Redis (Redis down for one bot only).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.app import BotApp, create_app, serve
from bot.config import Settings, load_settings
from bot.emulator.server import DEFAULT_TOKEN, BotAPIEmulator
from bot.handlers import FEATURES, Feature
from tests.emulator.redis_proxy import RedisProxy

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def emulator() -> AsyncIterator[BotAPIEmulator]:
    emu = BotAPIEmulator(DEFAULT_TOKEN)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


def bot_settings(
    *, emulator: BotAPIEmulator, database_url: str, redis_prefix: str, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "bot_token": emulator.token,
        "database_url": database_url,
        "redis_url": REDIS_URL,
        "redis_prefix": redis_prefix,
        "telegram_api_url": emulator.url,
        "run_worker": False,
        "webhook_url": None,
        # Simulated users act faster than people; the throttling test sets its own rate.
        "throttle_rate_per_second": 1000.0,
        # The admin that tests acting at the desk use (`Actor("admin", 1)`).
        "admin_ids": [1],
        "_env_file": None,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def make_bot_settings(
    emulator: BotAPIEmulator, database_url: str, redis_prefix: str
) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return bot_settings(
            emulator=emulator,
            database_url=database_url,
            redis_prefix=redis_prefix,
            **overrides,
        )

    return make


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings,
    *,
    setup: Callable[[BotApp], None] | None = None,
    features: Sequence[Feature] = FEATURES,
    ready_timeout: float = 10,
) -> AsyncIterator[BotApp]:
    """Serve the real application in this event loop; stop it (gracefully) on exit.

    `setup(app)` runs before serving (pin the clock: `app.clock.source = lambda: NOW`);
    `features` replaces the production feature routers (a test's own failing handler, say).
    Entering returns once the bot is receiving: its startup calls reached the emulator (polling)
    or its webhook is registered (webhook mode).
    """
    app = create_app(settings, features=features)
    if setup is not None:
        setup(app)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop))
    waiter = asyncio.create_task(app.ready.wait())
    done, _ = await asyncio.wait(
        {task, waiter}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED
    )
    if task in done:
        waiter.cancel()
        task.result()  # start-up failed: raise its error here
    if waiter not in done:
        waiter.cancel()
        stop.set()
        await task
        raise TimeoutError("the bot did not start")
    try:
        yield app
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def bot_app(
    clean_db: Any, redis: Redis, make_bot_settings: Callable[..., Settings]
) -> AsyncIterator[BotApp]:
    """The real bot (long polling) against the emulator, a clean database, a unique prefix."""
    async with running_bot(make_bot_settings()) as app:
        yield app


@pytest.fixture
async def redis_proxy() -> AsyncIterator[RedisProxy]:
    """A TCP proxy in front of the test Redis that a test can stop and start: Redis "going
    down" for one bot without touching the Redis everyone shares."""
    proxy = RedisProxy(REDIS_URL)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


def process_env(
    emulator: BotAPIEmulator, database_url: str, redis_prefix: str, **extra: str
) -> dict[str, str]:
    """Environment for a real `python -m bot ...` subprocess aimed at the emulator, the test
    database and the test's Redis prefix (no webhook or token leaking in from outside)."""
    env = {k: v for k, v in os.environ.items() if k not in {"WEBHOOK_URL", "BOT_TOKEN"}}
    env.update(
        BOT_TOKEN=emulator.token,
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        REDIS_PREFIX=redis_prefix,
        TELEGRAM_API_URL=emulator.url,
        LOG_LEVEL="INFO",
        # A process a test kills (kill -9) is followed by a new one, which polls once the dead
        # one's polling lease expired: within 3 s rather than the production 15.
        POLLING_LEASE_SECONDS="3",
    )
    env.update(extra)
    return env
