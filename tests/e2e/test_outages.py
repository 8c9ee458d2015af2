"""Outages answered clearly and quickly, with the real application against its own throw-away
PostgreSQL and Redis servers (stopped, restarted, paused with SIGSTOP), never the shared ones:

- PostgreSQL down: "temporarily unavailable, try again in a minute", one log line per kind of
  failure per minute (no traceback per update), recovery without a restart, and a command sent
  in the middle of a flow leaves the flow as it was;
- Redis hung: the updates under way wait REDIS_TIMEOUT_SECONDS at once, the ones after them
  are answered at once without asking Redis (circuit breaker); once Redis answers again, the
  breaker's background PING closes it at once, without waiting out its pause.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from alembic import command
from prometheus_client import REGISTRY

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from bot.i18n import translate
from bot.states import BookingStates
from tests.conftest import alembic_config, in_worker_thread
from tests.emulator.fixtures import bot_settings, running_bot
from tests.servers import Postgres, RedisServer, pin_breaker, throwaway_postgres, throwaway_redis

UNAVAILABLE = translate("errors.unavailable", "en")


@pytest.fixture
def own_postgres() -> Iterator[Postgres]:
    """A throw-away PostgreSQL with a migrated `booking` database."""
    with throwaway_postgres() as pg:
        pg.psql("CREATE DATABASE booking")
        in_worker_thread(command.upgrade, alembic_config(pg.url("booking")), "head")
        yield pg


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    with throwaway_redis() as server:
        yield server


def _records(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage()]


async def test_postgresql_down_is_temporarily_unavailable_once_logged_and_recovers(
    own_postgres: Postgres,
    redis: Any,
    emulator: BotAPIEmulator,
    redis_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = bot_settings(
        emulator=emulator, database_url=own_postgres.url("booking"), redis_prefix=redis_prefix
    )
    async with running_bot(settings):
        users = [emulator.user(5001 + i, f"User{i}", language_code="en") for i in range(4)]
        for user in users:
            await user.send("/start")
            await user.wait_for_message(translate("start.greeting", "en", name=user.first_name))

        own_postgres.stop()
        caplog.clear()
        for user in users:
            await user.send("/start")
        for user in users:
            assert (await user.wait_for_message(timeout=30)).text == UNAVAILABLE
        # One line for the kind of failure (not one per update), and no trace at all.
        assert len(_records(caplog, "PostgreSQL unavailable")) == 1
        assert not [r for r in caplog.records if r.exc_info]
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

        own_postgres.start()
        for user in users:
            await user.send("/start")
            back = await user.wait_for_message(timeout=30)
            assert back.text == translate("start.greeting_back", "en", name=user.first_name)


async def test_a_command_during_a_postgresql_outage_leaves_the_flow_intact(
    own_postgres: Postgres, redis: Any, emulator: BotAPIEmulator, redis_prefix: str
) -> None:
    settings = bot_settings(
        emulator=emulator, database_url=own_postgres.url("booking"), redis_prefix=redis_prefix
    )
    async with running_bot(settings) as app:
        ann = emulator.user(5101, "Ann", language_code="en")
        await ann.send("/start")
        await ann.wait_for_message(translate("start.greeting", "en", name="Ann"))
        key = _key(app, ann.chat_id)
        await app.dispatcher.storage.set_state(key, BookingStates.time)
        await app.dispatcher.storage.set_data(key, {"date": "2030-01-02"})

        own_postgres.stop()
        await ann.send("/my")
        assert (await ann.wait_for_message(timeout=30)).text == UNAVAILABLE
        assert await app.dispatcher.storage.get_state(key) == BookingStates.time.state
        assert await app.dispatcher.storage.get_data(key) == {"date": "2030-01-02"}

        own_postgres.start()
        await ann.send("/help")
        assert (await ann.wait_for_message(timeout=30)).text == translate("help.text", "en")
        # The command ran; /help keeps a booking in progress, as every command the bot itself
        # suggests does.
        assert await app.dispatcher.storage.get_state(key) == BookingStates.time.state


def _key(app: BotApp, user_id: int) -> StorageKey:
    return StorageKey(bot_id=app.bot.id, chat_id=user_id, user_id=user_id)


async def test_hung_redis_answers_every_user_at_once_then_recovers(
    clean_db: Any,
    own_redis: RedisServer,
    emulator: BotAPIEmulator,
    make_bot_settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.ops.redis")
    settings = make_bot_settings(redis_url=own_redis.url, redis_timeout_seconds=1.0)
    async with running_bot(settings) as app:
        clock = pin_breaker(app)
        users = [emulator.user(5201 + i, f"User{i}", language_code="en") for i in range(8)]
        for user in users:
            await user.send("/start")
            await user.wait_for_message(translate("start.greeting", "en", name=user.first_name))

        def timeouts() -> float:
            found = REGISTRY.get_sample_value("bot_redis_errors_total", {"kind": "TimeoutError"})
            return found or 0.0

        before = timeouts()
        own_redis.pause()
        try:
            caplog.clear()
            started = time.monotonic()
            for user in users:
                await user.send("/help")
            for user in users:
                assert (await user.wait_for_message(timeout=30)).text == UNAVAILABLE
            elapsed = time.monotonic() - started
            # Redis was really asked (and timed out) by the updates under way when it stopped,
            # each once, all at once, not one after another (8 s and more); and perhaps by the
            # last /start's "done" mark, if it was still on its way, and by a renewal of the
            # polling lease.
            asked = timeouts() - before
            assert 1 <= asked <= len(users) + 2, asked
            assert elapsed < 8.0, elapsed
            # The breaker is open now: the next round is answered without asking Redis.
            for user in users:
                await user.send("/help")
            for user in users:
                assert (await user.wait_for_message(timeout=30)).text == UNAVAILABLE
            assert timeouts() - before == asked
        finally:
            own_redis.resume()
        assert len(_records(caplog, "Redis failed")) == 1
        assert len(_records(caplog, "Redis unavailable")) == 1
        assert not [r for r in caplog.records if r.exc_info]

        # Redis answers again: the probe after the pause closes the breaker.
        clock.pass_pause()
        for user in users[:2]:
            await user.send("/help")
            assert (await user.wait_for_message(timeout=30)).text == translate("help.text", "en")
        assert _records(caplog, "Redis answers again")


async def test_redis_restarted_is_found_again_without_a_restart(
    clean_db: Any, own_redis: RedisServer, emulator: BotAPIEmulator, make_bot_settings: Any
) -> None:
    settings = make_bot_settings(redis_url=own_redis.url)
    async with running_bot(settings) as app:
        clock = pin_breaker(app)
        bea = emulator.user(5301, "Bea", language_code="en")
        await bea.send("/start")
        await bea.wait_for_message(translate("start.greeting", "en", name="Bea"))
        own_redis.stop()
        await bea.send("/help")
        assert (await bea.wait_for_message(timeout=30)).text == UNAVAILABLE
        own_redis.start()
        clock.pass_pause()
        await bea.send("/help")
        assert (await bea.wait_for_message(timeout=30)).text == translate("help.text", "en")


@pytest.mark.parametrize("outage", ["stopped", "paused"])
async def test_the_bot_serves_again_as_soon_as_redis_answers(
    outage: str,
    clean_db: Any,
    own_redis: RedisServer,
    emulator: BotAPIEmulator,
    make_bot_settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No waiting out the breaker's pause once Redis is back: its clock is pinned here (the pause
    never ends), and the background PING alone closes it, stopped or paused (hung) Redis alike."""
    caplog.set_level(logging.INFO, logger="bot.ops.redis")
    settings = make_bot_settings(redis_url=own_redis.url, redis_timeout_seconds=1.0)
    async with running_bot(settings) as app:
        pin_breaker(app)
        breaker = app.redis.breaker  # type: ignore[attr-defined]
        dee = emulator.user(5401, "Dee", language_code="en")
        await dee.send("/start")
        await dee.wait_for_message(translate("start.greeting", "en", name="Dee"))

        if outage == "stopped":
            own_redis.stop()
        else:
            own_redis.pause()
        await dee.send("/help")
        assert (await dee.wait_for_message(timeout=30)).text == UNAVAILABLE
        assert not breaker.closed.is_set()
        if outage == "stopped":
            own_redis.start()
        else:
            own_redis.resume()

        # Waiting on the breaker's event (the bound only guards against a hang).
        await asyncio.wait_for(breaker.closed.wait(), 30)
        await dee.send("/help")
        assert (await dee.wait_for_message(timeout=30)).text == translate("help.text", "en")
    assert len(_records(caplog, "Redis answers again")) == 1
