"""`python -m bot worker` as its own process against the emulator: it delivers what is due at
start, is woken by the Redis event for what comes later, never takes updates (that stays with the
bot process), stops cleanly on SIGTERM, and a worker killed mid-send costs nothing but that one
message's lease."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import load_settings
from bot.domain import notification_kinds as kinds
from bot.emulator import BotAPIEmulator
from bot.services.events import OUTBOX_WAKE, EventBus
from bot.services.notifications import queue_booking_notifications
from db.models import Outbox
from db.repositories import outbox
from tests.emulator.fixtures import process_env
from tests.integration.notify_data import make_appointment, make_world

CLIENT, SPECIALIST, LATER = 3301, 3302, 3303


async def start_worker(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "worker", cwd=log.parent, env=env, stdout=out, stderr=out
        )


async def queue_plain(
    sessions: async_sessionmaker[AsyncSession], chats: list[int], start: dt.datetime
) -> None:
    async with sessions() as s, s.begin():
        for chat in chats:
            await outbox.enqueue(
                s,
                dedupe_key=f"process:{chat}",
                kind=kinds.CLIENT_CONFIRM,
                recipient="client",
                chat_id=chat,
                due_at=dt.datetime.now(dt.UTC),
                payload={**confirm_payload(start), "lang": "en"},
            )


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> dict[int, str]:
    async with sessions() as s:
        return dict((await s.execute(select(Outbox.chat_id, Outbox.status))).tuples().all())


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

    # A minute's poll: only the event can explain a quick delivery.
    env = process_env(emulator, database_url, redis_prefix, OUTBOX_POLL_SECONDS="60")
    log_path = tmp_path / "worker.log"
    proc = await start_worker(env, log_path)
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


async def test_worker_process_killed_mid_send_the_row_is_sent_once_after_restart(
    clean_db: Any,
    redis: Any,
    redis_prefix: str,
    database_url: str,
    emulator: BotAPIEmulator,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    """SIGKILL while Telegram has not answered yet: the request dies with the process, the row
    stays leased, and the next worker sends it once the lease is over; rows already marked sent
    are not sent again."""
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    done, in_flight = [3401, 3402, 3403], 3409
    env = process_env(
        emulator, database_url, redis_prefix, OUTBOX_LEASE_SECONDS="3", OUTBOX_POLL_SECONDS="0.2"
    )
    log = tmp_path / "worker.log"
    await queue_plain(session_factory, done, start)
    first = await start_worker(env, log)
    try:
        # The database is the only record of the marks and has no change notification: re-read
        # it briefly (bounded) until the first rows are marked sent.
        async with asyncio.timeout(30):
            while set((await statuses(session_factory)).values()) != {"sent"}:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        emulator.delay("sendMessage", 60)  # Telegram holds the next answer
        await queue_plain(session_factory, [in_flight], start)
        await emulator.wait_for_call("sendMessage", chat_id=in_flight, timeout=30)
        first.kill()
        await first.wait()
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
    emulator.delay("sendMessage", 0)  # the dead worker's request is answered into the void

    second = await start_worker(env, log)
    try:
        async with asyncio.timeout(30):
            while (await statuses(session_factory))[in_flight] != "sent":  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 20) == 0
    finally:
        if second.returncode is None:
            second.kill()
            await second.wait()
    for chat in [*done, in_flight]:
        assert len(emulator.sent_messages(chat)) == 1, chat
    assert len(emulator.calls_to("sendMessage", chat_id=in_flight)) == 2
    assert [len(emulator.calls_to("sendMessage", chat_id=c)) for c in done] == [1, 1, 1]
