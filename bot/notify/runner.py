"""Run the notification worker: inside `python -m bot` (next to the dispatcher) or alone with
`python -m bot worker`. Any number of workers, in any number of processes, may run at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import datetime

from aiogram import Bot
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.notify.ratelimit import RedisRateLimiter
from bot.notify.sender import TelegramSender
from bot.notify.worker import OutboxWorker, WorkerOptions, utc_now
from bot.ops import metrics
from bot.ops.outage import classify
from bot.ops.redis import make_redis
from bot.services.events import (
    APPOINTMENT_CANCELLED,
    APPOINTMENT_CREATED,
    APPOINTMENT_MOVED,
    OUTBOX_WAKE,
    EventBus,
)
from bot.services.factory import build_services
from bot.services.waitlist import WaitlistService
from bot.telegram import build_bot
from db.engine import make_engine, make_session_factory, make_unpooled_engine

log = logging.getLogger(__name__)

WAITLIST_SWEEP_SECONDS = 30.0

# Events after which new outbox rows are likely committed.
WAKE_EVENTS = frozenset(
    {OUTBOX_WAKE, APPOINTMENT_CREATED, APPOINTMENT_CANCELLED, APPOINTMENT_MOVED}
)


def build_worker(
    settings: Settings,
    *,
    bot: Bot,
    redis: Redis,
    session_factory: async_sessionmaker[AsyncSession],
    options: WorkerOptions | None = None,
    worker_id: str | None = None,
    clock: Callable[[], datetime] | None = None,
) -> OutboxWorker:
    """A worker paced by the Redis limiter shared by every worker using this bot token;
    `clock` (aware UTC datetimes) is the wall clock unless the caller pins it (the demo)."""
    limiter = RedisRateLimiter(
        redis,
        prefix=f"{settings.redis_prefix}:{bot.id}",
        global_rate=settings.telegram_global_rate,
        chat_interval=settings.telegram_chat_interval_seconds,
    )
    return OutboxWorker(
        session_factory,
        TelegramSender(bot, limiter),
        settings,
        options=options,
        worker_id=worker_id,
        clock=clock or utc_now,
    )


async def sweep_waitlist_offers(
    waitlist: WaitlistService,
    stop: asyncio.Event,
    *,
    every_seconds: float = WAITLIST_SWEEP_SECONDS,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    """Expire waitlist offers nobody took and pass their time to the next client in line.

    Runs beside every worker; two sweeps at once are safe (an offer expires in one transaction
    and the next offer takes a hold, which only one client can get).
    """
    while not stop.is_set():
        try:
            expired = await waitlist.expire_offers(now=clock())
            if expired:
                log.info("waitlist: %s offer(s) expired and passed on", expired)
        except Exception as exc:
            if classify(exc) is not None:  # PostgreSQL or Redis away: one line, not a trace
                log.warning("waitlist sweep failed (%r); trying again later", exc)
            else:
                log.exception("waitlist sweep failed; trying again later")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)


async def run_worker(
    settings: Settings,
    *,
    bot: Bot | None = None,
    stop: asyncio.Event | None = None,
    clock: Callable[[], datetime] | None = None,
) -> None:
    """Deliver notifications until `stop` is set (or SIGINT/SIGTERM when run alone).

    `clock` (aware UTC datetimes) decides what is due: the wall clock unless the caller pins it
    (the demo's time travel does; production never passes one)."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
    own_bot = bot is None
    the_bot = bot or build_bot(settings)
    engine = make_engine(settings.database_url, pool_size=5, max_overflow=10)
    metrics.count_database_calls(engine)
    redis = make_redis(settings.redis_url, timeout=settings.redis_timeout_seconds)
    session_factory = make_session_factory(engine)
    worker = build_worker(
        settings, bot=the_bot, redis=redis, session_factory=session_factory, clock=clock
    )
    catalog_engine = make_unpooled_engine(settings.database_url)
    metrics.count_database_calls(catalog_engine)
    services = build_services(
        settings, redis, session_factory, catalog_sessions=make_session_factory(catalog_engine)
    )
    waitlist: WaitlistService = services.waitlist
    bus = EventBus(redis, settings.redis_prefix)

    async def on_event(kind: str, data: dict[str, object]) -> None:
        if kind in WAKE_EVENTS:
            worker.wake()

    listener_stop = asyncio.Event()
    listener = asyncio.create_task(bus.listen(on_event, stop=listener_stop))
    sweeper = asyncio.create_task(sweep_waitlist_offers(waitlist, stop, clock=clock or utc_now))
    try:
        await worker.run(stop)
    finally:
        listener_stop.set()
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(listener, timeout=2)
        try:
            await services.availability.settle()  # the slot-cache writes still in flight
        finally:
            await engine.dispose()
            await redis.aclose()
            if own_bot:
                await the_bot.session.close()
