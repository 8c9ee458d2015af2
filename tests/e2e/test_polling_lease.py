"""Two `python -m bot` processes in long polling mode against one emulator, one database and one
Redis prefix (as two compose `bot` services without WEBHOOK_URL): only the holder of the polling
lease polls, the other says once that it waits; every update is handled once; after the holder
is killed (SIGKILL: nothing releases the lease) the standby takes over and answers.

The emulator ends a long poll overtaken by another getUpdates with 409, as Telegram does, and
counts those conflicts: two instances polling at once would show there.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from bot.config import Settings
from bot.emulator import BotAPIEmulator
from bot.emulator.users import SimUser
from bot.i18n import translate
from bot.ops.polling_lease import polling_lease_key
from tests.e2e.scale_support import (
    START_TIMEOUT,
    Process,
    cluster_env,
    handled_updates,
    spawn,
    stop_all,
    unique_prefix,
    until,
)
from tests.emulator.fixtures import REDIS_URL, running_bot

STANDBY = "another instance is polling"
TOOK_OVER = "polling lease taken over"
# aiogram's own line when a process starts its getUpdates loop.
POLLING = "Start polling"
LEASE_SECONDS = 5


def _text(process: Process) -> str:
    return process.log.read_text(errors="replace")


async def _logged(process: Process, needle: str, timeout: float = START_TIMEOUT) -> None:  # noqa: ASYNC109
    async def seen() -> bool:
        return needle in _text(process)

    await until(seen, timeout)


async def _talk(user: SimUser, sent: list[int], *, new: bool) -> None:
    """/start (a new user registers), then /help; each answered before the next."""
    if new:
        sent.append(await user.send("/start"))
        greeting = translate("start.greeting", "en", name=user.first_name)
        await user.wait_for_message(greeting, timeout=60)
    sent.append(await user.send("/help"))
    await user.wait_for_message(translate("help.text", "en"), timeout=60)


async def test_two_polling_processes_poll_one_at_a_time_and_the_standby_takes_over(
    clean_db: Any, emulator: BotAPIEmulator, database_url: str, tmp_path: Path
) -> None:
    env = cluster_env(
        emulator,
        database_url,
        REDIS_URL,
        unique_prefix(),
        POLLING_LEASE_SECONDS=str(LEASE_SECONDS),
    )
    processes = [await spawn(f"bot-{i}", ["run"], env, tmp_path) for i in (1, 2)]
    try:
        # Whichever came second waits, naming the holder (host:pid:...).
        async def one_waits() -> bool:
            return any(STANDBY in _text(p) for p in processes)

        await until(one_waits, START_TIMEOUT)
        [standby] = [p for p in processes if STANDBY in _text(p)]
        [holder] = [p for p in processes if p is not standby]
        await _logged(holder, POLLING)
        [line] = [x for x in _text(standby).splitlines() if STANDBY in x]
        assert f":{holder.proc.pid}:" in line

        users = [emulator.user(720_001 + i, f"Client{i}", language_code="en") for i in range(6)]
        first: list[int] = []
        await asyncio.gather(*(_talk(u, first, new=True) for u in users))

        # Every update acknowledged: the holder asked for the next ones, so each handler has
        # returned (and logged its line), and none is in flight when it is killed below.
        await emulator.wait_for(lambda: not emulator.pending_updates(), timeout=60)
        # Only the holder polled and handled; the standby never started polling.
        assert emulator.poll_conflicts == 0
        assert set(handled_updates(_text(holder))) == set(first)
        assert not handled_updates(_text(standby))
        assert POLLING not in _text(standby)
        assert _text(standby).count(STANDBY) == 1  # said once, however long it waited

        holder.kill()  # kill -9: the lease is not released, it expires
        await holder.proc.wait()
        second: list[int] = []
        await asyncio.gather(*(_talk(u, second, new=False) for u in users))
        await _logged(standby, TOOK_OVER)
        assert POLLING in _text(standby)
        await emulator.wait_for(lambda: not emulator.pending_updates(), timeout=60)

        handled = handled_updates(_text(holder) + "\n" + _text(standby))
        assert handled == Counter({update_id: 1 for update_id in first + second})
        assert set(handled_updates(_text(standby))) == set(second)
        # At most the dead holder's own long poll, ended when the standby first polled.
        assert emulator.poll_conflicts <= 1
        assert "Traceback" not in _text(standby)
    finally:
        await stop_all(processes)


async def test_a_holder_whose_lease_went_elsewhere_stops_polling_and_takes_over_later(
    clean_db: Any,
    redis: Redis,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The real app in this process: another holder appears (this one was paused past its TTL,
    say), so it stops polling and waits; when that holder is gone it takes over, and what was
    sent meanwhile is answered once."""
    caplog.set_level(logging.INFO, logger="bot.ops.polling_lease")
    async with running_bot(make_bot_settings(polling_lease_seconds=3)) as app:
        key = polling_lease_key(app.settings.redis_prefix, app.bot.id)
        una = emulator.user(2101, "Una", language_code="en")
        await una.send("/start")
        await una.wait_for_message(translate("start.greeting", "en", name="Una"))

        assert REGISTRY.get_sample_value("bot_polling") == 1

        await redis.set(key, "elsewhere:1:z", px=60_000)
        await _caplog_until(caplog, "another instance is polling (elsewhere:1:z)")
        assert "the polling lease went to another instance (elsewhere:1:z)" in caplog.text
        assert REGISTRY.get_sample_value("bot_polling") == 0
        await una.send("/help")
        await redis.delete(key)  # the other holder stopped
        assert (await una.wait_for_message(timeout=30)).text == translate("help.text", "en")
        await _caplog_until(caplog, TOOK_OVER)
        assert REGISTRY.get_sample_value("bot_polling") == 1
        holder = (await redis.get(key) or b"").decode()
        assert holder.split(":")[1] == str(os.getpid())  # this process holds it again
        await emulator.wait_for(lambda: not emulator.pending_updates(), timeout=30)
        helps = [
            m for m in emulator.sent_messages(una.id) if m.text == translate("help.text", "en")
        ]
        assert len(helps) == 1


async def _caplog_until(caplog: pytest.LogCaptureFixture, needle: str) -> None:
    async def seen() -> bool:
        return needle in caplog.text

    await until(seen, 30)
