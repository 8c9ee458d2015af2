"""`python -m bot worker` as its own process against the emulator: it delivers what is due at
start, is woken by the Redis event for what comes later, never takes updates (that stays with the
bot process), and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import load_settings
from bot.notify import kinds
from bot.notify.schedule import queue_booking_notifications
from bot.services.events import OUTBOX_WAKE, EventBus
from db.models import Outbox
from db.repositories import outbox
from tests.emulator import BotAPIEmulator
from tests.emulator.fixtures import REDIS_URL
from tests.integration.notify_data import make_appointment, make_world

CLIENT, SPECIALIST, LATER = 3301, 3302, 3303


async def test_worker_process_alone_delivers_wakes_and_stops_on_sigterm(
    clean_db: Any,
    redis: Any,
    redis_prefix: str,
    database_url: str,
    emulator: BotAPIEmulator,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    now = dt.datetime.now(dt.UTC)
    async with session_factory() as s, s.begin():
        world = await make_world(s, client_tg=CLIENT, specialist_tg=SPECIALIST, client_lang="en")
        start = now.replace(microsecond=0) + dt.timedelta(days=3)
        appt = await make_appointment(s, world, start=start)
        await queue_booking_notifications(
            s, appt.id, now=now, settings=load_settings(bot_token=emulator.token, _env_file=None)
        )

    env = {k: v for k, v in os.environ.items() if k not in {"WEBHOOK_URL", "BOT_TOKEN"}}
    env.update(
        BOT_TOKEN=emulator.token,
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        REDIS_PREFIX=redis_prefix,
        TELEGRAM_API_URL=emulator.url,
        OUTBOX_POLL_SECONDS="60",  # a minute: only the event can explain a quick delivery
        LOG_LEVEL="INFO",
    )
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "worker", cwd=tmp_path, env=env, stdout=log, stderr=log
        )
        try:
            confirm = await emulator.wait_for_call(
                "sendMessage", chat_id=CLIENT, completed=True, timeout=30
            )
            assert world.service.name in confirm.params["text"]
            await emulator.wait_for_call("sendMessage", chat_id=SPECIALIST, completed=True)

            async with session_factory() as s, s.begin():
                await outbox.enqueue(
                    s,
                    dedupe_key="process:later",
                    kind=kinds.CLIENT_CONFIRM,
                    recipient="client",
                    chat_id=LATER,
                    due_at=dt.datetime.now(dt.UTC),
                    payload={**confirm_payload(appt.start_time), "lang": "en"},
                )
            bus = EventBus(redis, redis_prefix)
            # Pub/sub is at-most-once and the process may still be subscribing: announce until
            # it is heard (the poll is a minute away).
            async with asyncio.timeout(20):
                while not emulator.sent_messages(LATER):
                    await bus.publish(OUTBOX_WAKE)
                    with contextlib.suppress(TimeoutError):
                        await emulator.wait_for(
                            lambda: bool(emulator.sent_messages(LATER)), timeout=0.5
                        )

            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 20) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    logs = log_path.read_text(errors="replace")
    assert "Traceback" not in logs
    assert "stopped" in logs
    # The worker alone never competes with the bot process for updates.
    assert not emulator.calls_to("getUpdates") and not emulator.calls_to("deleteWebhook")
    for chat in (CLIENT, SPECIALIST, LATER):
        assert len(emulator.sent_messages(chat)) == 1, chat
    async with session_factory() as s:
        sent = (await s.execute(select(Outbox.chat_id).where(Outbox.status == "sent"))).scalars()
    assert sorted(sent) == [CLIENT, SPECIALIST, LATER]


def confirm_payload(start: dt.datetime) -> dict[str, str]:
    return {"start": start.astimezone(dt.UTC).isoformat(), "tz": "UTC", "price": "10"}
