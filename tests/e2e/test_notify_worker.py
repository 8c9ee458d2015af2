"""The worker over HTTP against the Bot API emulator: real aiogram Bot, the Redis limiter, faults
injected by the emulator (429, 403, 500), several workers, a worker killed mid-send, and
Telegram's limits enforced."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable
from itertools import pairwise

import pytest
from aiogram import Bot
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain import notification_kinds as kinds
from bot.emulator.server import BotAPIEmulator
from bot.notify.runner import build_worker, run_worker
from bot.notify.worker import OutboxWorker, WorkerOptions
from bot.services.events import OUTBOX_WAKE, EventBus
from bot.telegram import build_bot
from db.models import Client, Outbox
from db.repositories import outbox
from tests.integration.notify_data import make_appointment, make_client, make_world

pytestmark = pytest.mark.usefixtures("clean_db", "redis")

ROWS = int(os.environ.get("NOTIFY_E2E_ROWS", "1000"))


@pytest.fixture
async def bot(make_bot_settings: Callable[..., Settings]) -> AsyncIterator[Bot]:
    the_bot = build_bot(make_bot_settings())
    yield the_bot
    await the_bot.session.close()


def worker_for(
    settings: Settings,
    bot: Bot,
    redis: Redis,
    sessions: async_sessionmaker[AsyncSession],
    worker_id: str | None = None,
    **options: object,
) -> OutboxWorker:
    defaults: dict[str, object] = {"backoff_base": dt.timedelta(milliseconds=200)}
    defaults.update(options)
    return build_worker(
        settings,
        bot=bot,
        redis=redis,
        session_factory=sessions,
        options=WorkerOptions(**defaults),  # type: ignore[arg-type]
        worker_id=worker_id,
    )


async def queue_messages(
    sessions: async_sessionmaker[AsyncSession],
    chats: list[int],
    *,
    per_chat: int = 1,
    clients: bool = True,
) -> None:
    """`per_chat` confirmations to each chat, due now (with `clients`, each chat is a real
    client, so a 403 can mark one inactive)."""
    now = dt.datetime.now(dt.UTC)
    async with sessions() as session, session.begin():
        world = await make_world(session)
        appt = await make_appointment(session, world, start=now + dt.timedelta(days=2))
        for chat in chats:
            if clients:
                await make_client(session, tg_id=chat, language="en")
            for n in range(per_chat):
                await outbox.enqueue(
                    session,
                    dedupe_key=f"e2e:{chat}:{n}",
                    kind=kinds.CLIENT_CONFIRM,
                    recipient="client",
                    chat_id=chat,
                    due_at=now,
                    payload={
                        "appointment_id": appt.id,
                        "start": appt.start_time.isoformat(),
                        "tz": "Europe/Moscow",
                        "service": f"Service #{n}",
                        "price": "100",
                        "lang": "en",
                    },
                    appointment_id=appt.id,
                )


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> Counter[str]:
    async with sessions() as session:
        rows = await session.execute(select(Outbox.status))
        return Counter(status for (status,) in rows)


@contextlib.asynccontextmanager
async def running(*workers: OutboxWorker) -> AsyncIterator[None]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]
    try:
        yield
    finally:
        stop.set()
        for w in workers:
            w.wake()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)


async def settled(sessions: async_sessionmaker[AsyncSession], seconds: float = 30) -> Counter[str]:
    """Wait until no row is pending. The database is the worker's only record of progress and
    has no change notification, so this re-reads it briefly (bounded by `seconds`)."""
    async with asyncio.timeout(seconds):
        while (counts := await statuses(sessions))["pending"]:  # noqa: ASYNC110 - see above
            await asyncio.sleep(0.05)
    return counts


async def test_429_403_and_500_nothing_lost_nothing_duplicated(
    emulator: BotAPIEmulator,
    bot: Bot,
    redis: Redis,
    session_factory: async_sessionmaker[AsyncSession],
    make_bot_settings: Callable[..., Settings],
) -> None:
    settings = make_bot_settings(outbox_max_attempts=4, outbox_poll_seconds=0.2)
    slow, blocked, flaky, fine = 5001, 5002, 5003, 5004
    await queue_messages(session_factory, [slow, blocked, flaky, fine], per_chat=2)
    # Longer than the 1 s chat interval, so only honouring retry_after explains the wait.
    emulator.fail_next("sendMessage", status=429, retry_after=3, chat_id=slow)
    emulator.fail_next("sendMessage", status=403, chat_id=blocked)
    emulator.fail_next("sendMessage", status=500, chat_id=flaky, count=2)

    worker = worker_for(settings, bot, redis, session_factory)
    async with running(worker):
        counts = await settled(session_factory)

    delivered = Counter(m.chat_id for m in emulator.sent_messages())
    assert delivered == {slow: 2, flaky: 2, fine: 2}
    assert counts == {"sent": 6, "failed": 1, "cancelled": 1}
    assert emulator.count_429 == 1
    async with session_factory() as session:
        rows = {
            r.chat_id: r
            for r in (await session.execute(select(Outbox).where(Outbox.chat_id == flaky)))
            .scalars()
            .all()
            if r.dedupe_key.endswith(":0")
        }
        # Two 500s then success: three attempts; the 429 row's attempt was given back.
        assert rows[flaky].attempts == 3
        blocked_client = await session.scalar(select(Client).where(Client.tg_id == blocked))
        assert blocked_client is not None and blocked_client.is_active is False
    # The 429'd chat's messages arrived in order, the retry not before retry_after.
    texts = [m.text or "" for m in emulator.sent_messages(slow)]
    assert "Service #0" in texts[0] and "Service #1" in texts[1]
    refused, retried, _second = emulator.calls_to("sendMessage", chat_id=slow)
    assert refused.error is not None and refused.error["error_code"] == 429
    assert retried.at - refused.at >= 2.99


async def test_gives_up_after_max_attempts_with_the_error(
    emulator: BotAPIEmulator,
    bot: Bot,
    redis: Redis,
    session_factory: async_sessionmaker[AsyncSession],
    make_bot_settings: Callable[..., Settings],
) -> None:
    settings = make_bot_settings(outbox_max_attempts=3, outbox_poll_seconds=0.2)
    await queue_messages(session_factory, [6001])
    emulator.fail_next("sendMessage", status=500, chat_id=6001, count=10)
    worker = worker_for(settings, bot, redis, session_factory)
    async with running(worker):
        counts = await settled(session_factory)
    assert counts == {"failed": 1}
    assert len(emulator.calls_to("sendMessage", chat_id=6001)) == 3
    async with session_factory() as session:
        row = (await session.execute(select(Outbox))).scalar_one()
    assert (
        row.attempts == 3
        and row.last_error is not None
        and "Internal Server Error" in row.last_error
    )


async def test_two_workers_send_every_row_exactly_once(
    emulator: BotAPIEmulator,
    bot: Bot,
    redis: Redis,
    session_factory: async_sessionmaker[AsyncSession],
    make_bot_settings: Callable[..., Settings],
) -> None:
    # Telegram's pace is not the subject here (see the limits test): let the limiter run fast.
    settings = make_bot_settings(telegram_global_rate=5000, outbox_poll_seconds=0.2)
    chats = list(range(7_000_000, 7_000_000 + ROWS))
    await queue_messages(session_factory, chats, clients=False)
    workers = [
        worker_for(settings, bot, redis, session_factory, batch_size=25, worker_id=f"w{i}")
        for i in range(2)
    ]
    async with running(*workers):
        counts = await settled(session_factory, seconds=120)
    assert counts == {"sent": ROWS}
    delivered = Counter(m.chat_id for m in emulator.sent_messages())
    assert set(delivered) == set(chats)
    assert max(delivered.values()) == 1
    async with session_factory() as session:
        by_worker = Counter(
            w
            for (w,) in await session.execute(
                select(Outbox.locked_by).where(Outbox.status == "sent")
            )
        )
    assert set(by_worker) == {"w0", "w1"}  # both took part


async def test_killed_mid_send_resends_only_the_row_in_flight(
    emulator: BotAPIEmulator,
    bot: Bot,
    redis: Redis,
    session_factory: async_sessionmaker[AsyncSession],
    make_bot_settings: Callable[..., Settings],
) -> None:
    settings = make_bot_settings(outbox_poll_seconds=0.2)
    chats = list(range(8001, 8011))
    await queue_messages(session_factory, chats)
    lease = dt.timedelta(seconds=2)
    emulator.delay("sendMessage", 3)
    doomed = worker_for(
        settings, bot, redis, session_factory, lease=lease, batch_size=1, worker_id="doomed"
    )
    stop = asyncio.Event()
    task = asyncio.create_task(doomed.run(stop))
    first = await emulator.wait_for_call("sendMessage")
    task.cancel()  # killed between claim and mark: its row stays leased, never marked
    with contextlib.suppress(asyncio.CancelledError):
        await task
    emulator.delay("sendMessage", 0)

    survivor = worker_for(settings, bot, redis, session_factory, lease=lease, worker_id="survivor")
    async with running(survivor):
        counts = await settled(session_factory)
    assert counts == {"sent": len(chats)}
    delivered = Counter(m.chat_id for m in emulator.sent_messages())
    assert set(delivered) == set(chats)
    # The emulator may or may not have completed the request the dead worker made: the row in
    # flight arrives once or twice (at most one duplicate per crash), every other exactly once.
    assert 1 <= delivered[first.chat_id] <= 2
    assert all(n == 1 for chat, n in delivered.items() if chat != first.chat_id)
    async with session_factory() as session:
        row = (
            await session.execute(select(Outbox).where(Outbox.chat_id == first.chat_id))
        ).scalar_one()
    assert row.attempts == 2 and row.locked_by == "survivor"


async def test_telegram_limits_are_respected(
    emulator: BotAPIEmulator,
    bot: Bot,
    redis: Redis,
    session_factory: async_sessionmaker[AsyncSession],
    make_bot_settings: Callable[..., Settings],
) -> None:
    """45 chats plus 3 messages to one chat, two workers, the emulator enforcing 30/s and 1/s
    per chat: no 429 at all, and the one chat's messages are spaced by the chat interval.

    The configured pace sits a little further below the emulator's limits than production's
    5% margin: this machine also runs other suites, and a send delayed by the scheduler must not
    make the test flaky (bench/notify.py measures the production setting)."""
    emulator.enforce_limits(global_per_second=30, per_chat_per_second=1)
    settings = make_bot_settings(
        outbox_poll_seconds=0.2, telegram_global_rate=25, telegram_chat_interval_seconds=1.15
    )
    await queue_messages(session_factory, list(range(9001, 9046)))
    await queue_messages(session_factory, [9100], per_chat=3)
    workers = [worker_for(settings, bot, redis, session_factory, batch_size=20) for _ in range(2)]
    async with running(*workers):
        counts = await settled(session_factory)
    assert counts == {"sent": 48}
    assert emulator.count_429 == 0
    calls = [c.at for c in emulator.calls_to("sendMessage", chat_id=9100)]
    assert all(b - a >= 0.99 for a, b in pairwise(calls))


async def test_run_worker_is_woken_by_the_outbox_wake_event(
    emulator: BotAPIEmulator,
    redis: Redis,
    session_factory: async_sessionmaker[AsyncSession],
    make_bot_settings: Callable[..., Settings],
) -> None:
    """`run_worker` (what `python -m bot worker` runs) delivers a new row on `outbox.wake` long
    before its 60 s poll would."""
    settings = make_bot_settings(outbox_poll_seconds=60)
    stop = asyncio.Event()
    await queue_messages(session_factory, [9501])
    task = asyncio.create_task(run_worker(settings, stop=stop))
    try:
        # The first pass at start-up finds this one without any event.
        await emulator.wait_for(lambda: bool(emulator.sent_messages(9501)), timeout=30)
        async with session_factory() as session, session.begin():
            await outbox.enqueue(
                session,
                dedupe_key="e2e:wake",
                kind=kinds.CLIENT_CONFIRM,
                recipient="client",
                chat_id=9502,
                due_at=dt.datetime.now(dt.UTC),
                payload={"start": dt.datetime.now(dt.UTC).isoformat(), "tz": "UTC", "lang": "en"},
            )
        bus = EventBus(redis, settings.redis_prefix)
        # Pub/sub is at-most-once and the listener may still be subscribing: announce again
        # until it is heard (each announcement is a cheap claim; the poll is a minute away).
        async with asyncio.timeout(15):
            while not emulator.sent_messages(9502):
                await bus.publish(OUTBOX_WAKE)
                with contextlib.suppress(TimeoutError):
                    await emulator.wait_for(lambda: bool(emulator.sent_messages(9502)), timeout=0.5)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
    assert len(emulator.sent_messages(9502)) == 1


async def test_a_send_slower_than_the_lease_is_not_sent_twice_by_two_live_workers(
    emulator: BotAPIEmulator,
    bot: Bot,
    redis: Redis,
    session_factory: async_sessionmaker[AsyncSession],
    make_bot_settings: Callable[..., Settings],
) -> None:
    """Telegram answers slowly: a worker gives its request up before its lease ends, so the
    row another worker claims after the lease is never in flight twice; one message arrives."""
    settings = make_bot_settings(outbox_poll_seconds=0.2)
    await queue_messages(session_factory, [9601])
    emulator.delay("sendMessage", 60)
    lease = dt.timedelta(seconds=3)
    workers = [
        worker_for(settings, bot, redis, session_factory, lease=lease, worker_id=f"slow{i}")
        for i in range(2)
    ]
    async with running(*workers):
        # A second attempt has started (after the first worker's lease, or its own retry).
        await emulator.wait_for(
            lambda: len(emulator.calls_to("sendMessage", chat_id=9601)) >= 2, timeout=30
        )
        emulator.delay("sendMessage", 0)  # Telegram answers every request still waiting
        counts = await settled(session_factory)
    assert counts == {"sent": 1}
    assert len(emulator.sent_messages(9601)) == 1
