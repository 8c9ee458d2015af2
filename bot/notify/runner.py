"""Run the notification worker: inside `python -m bot` (next to the dispatcher) or alone with
`python -m bot worker`. Any number of workers, in any number of processes, may run at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.notify.ratelimit import RedisRateLimiter
from bot.notify.sender import TelegramSender
from bot.notify.worker import OutboxWorker, WorkerOptions
from bot.services.events import (
    APPOINTMENT_CANCELLED,
    APPOINTMENT_CREATED,
    APPOINTMENT_MOVED,
    OUTBOX_WAKE,
    EventBus,
)
from db.engine import make_engine, make_session_factory

log = logging.getLogger(__name__)

# Events after which new outbox rows are likely committed.
WAKE_EVENTS = frozenset(
    {OUTBOX_WAKE, APPOINTMENT_CREATED, APPOINTMENT_CANCELLED, APPOINTMENT_MOVED}
)


def make_bot(settings: Settings) -> Bot:
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        if settings.telegram_api_url
        else AiohttpSession()
    )
    return Bot(settings.bot_token.get_secret_value(), session=session)


def build_worker(
    settings: Settings,
    *,
    bot: Bot,
    redis: Redis,
    session_factory: async_sessionmaker[AsyncSession],
    options: WorkerOptions | None = None,
    worker_id: str | None = None,
) -> OutboxWorker:
    """A worker paced by the Redis limiter shared by every worker using this bot token."""
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
    )


async def run_worker(
    settings: Settings, *, bot: Bot | None = None, stop: asyncio.Event | None = None
) -> None:
    """Deliver notifications until `stop` is set (or SIGINT/SIGTERM when run alone)."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
    own_bot = bot is None
    the_bot = bot or make_bot(settings)
    engine = make_engine(settings.database_url, pool_size=5, max_overflow=10)
    redis = Redis.from_url(settings.redis_url)
    worker = build_worker(
        settings, bot=the_bot, redis=redis, session_factory=make_session_factory(engine)
    )
    bus = EventBus(redis, settings.redis_prefix)

    async def on_event(kind: str, data: dict[str, object]) -> None:
        if kind in WAKE_EVENTS:
            worker.wake()

    listener_stop = asyncio.Event()
    listener = asyncio.create_task(bus.listen(on_event, stop=listener_stop))
    try:
        await worker.run(stop)
    finally:
        listener_stop.set()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(listener, timeout=2)
        await engine.dispose()
        await redis.aclose()
        if own_bot:
            await the_bot.session.close()
