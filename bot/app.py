"""The one place that builds the Bot, the Dispatcher, storage, middlewares, the dependency
container and the routers, and runs them with long polling or a webhook.

Handlers get their dependencies as typed `FromDishka[T]` parameters from the container
(`bot.ioc.providers`); nothing is looked up by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.fsm.storage.base import BaseEventIsolation, DefaultKeyBuilder
from aiogram.types import BotCommandScopeDefault, TelegramObject
from aiogram.utils.backoff import BackoffConfig
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from dishka import AsyncContainer
from dishka.integrations.aiogram import inject_router, setup_dishka
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.handlers import FEATURES, Feature, setup_routers
from bot.handlers.admin_only import DENIED_TEXT, is_admin_router
from bot.i18n import SUPPORTED_LANGUAGES
from bot.ioc.providers import make_container
from bot.ioc.types import Clock
from bot.keyboards.common import command_menu
from bot.middlewares import DrainGate, OneKeyRedisStorage, setup_middlewares
from bot.middlewares.admin_only import gate_routers
from bot.middlewares.callback_answers import LateCallbackAnswers
from bot.middlewares.fsm import FlushBeforeSend
from bot.middlewares.isolation import LocalEventIsolation
from bot.middlewares.lease import LeasedEventIsolation
from bot.notify.runner import run_worker
from bot.ops import metrics
from bot.ops.batch_polling import BatchDispatcher
from bot.ops.http import Probed, add_routes
from bot.ops.inline_filters import gate_buttons_by_prefix, run_filters_inline
from bot.ops.polling_lease import PollingLease, polling_lease_key
from bot.ops.polling_log import PollingOutageLog, install_polling_log
from bot.ops.redis import make_redis
from bot.services.catalog_cache import CatalogCache
from bot.services.clients import ClientService
from bot.services.factory import Services, build_services
from bot.telegram import build_bot
from db.engine import POOL_SIZE, make_engine, make_session_factory, make_unpooled_engine

log = logging.getLogger(__name__)

# How long a stopping process lets the updates in flight finish (docker stop waits 10 s).
SHUTDOWN_GRACE_SECONDS = 8.0
# Waits between failed getUpdates: 1 s, growing by 1.3 (with jitter) up to 5 s (aiogram's own).
POLLING_BACKOFF = BackoffConfig(min_delay=1.0, max_delay=5.0, factor=1.3, jitter=0.1)


@dataclass
class BotApp:
    """Everything a running bot owns; `close()` releases it all."""

    settings: Settings
    bot: Bot
    dispatcher: Dispatcher
    redis: Redis
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    clients: ClientService
    services: Services
    clock: Clock
    container: AsyncContainer
    drain_gate: DrainGate
    background: list[asyncio.Task[Any]] = field(default_factory=list)
    # Set once updates can arrive: polling started, or the webhook is served and registered.
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    # Long polling's retry waits and its outage log (one line down, one line back).
    polling_backoff: BackoffConfig = POLLING_BACKOFF
    polling_log: PollingOutageLog = field(default_factory=PollingOutageLog)

    async def close(self) -> None:
        for task in self.background:
            task.cancel()
        for task in self.background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.background.clear()
        # The slot-cache writes still in flight go out before the Redis client closes (each
        # within the Redis deadline).
        await self.services.availability.settle()
        await self.bot.session.close()
        await self.dispatcher.storage.close()
        await self.container.close()
        await self.redis.aclose()
        await self.engine.dispose()


class CatalogPin(BaseMiddleware):
    """One catalog snapshot per update (`CatalogCache.pinned`); its version is read by the
    update gate's opening script (`CatalogCache.adopt`), so it costs the update no command."""

    def __init__(self, catalog: CatalogCache) -> None:
        self._catalog = catalog

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        with self._catalog.pinned():
            return await handler(event, data)


def build_dispatcher(
    settings: Settings,
    redis: Redis,
    *,
    clients: ClientService,
    services: Services,
    container: AsyncContainer,
    features: Sequence[Feature] = FEATURES,
) -> tuple[Dispatcher, DrainGate]:
    """The dispatcher with its storage, middlewares, a request scope per event and the routers
    of `features` (every handler's `FromDishka` parameters injected here, once)."""
    key_builder = DefaultKeyBuilder(prefix=f"{settings.redis_prefix}:fsm", with_destiny=True)
    # State and data in one hash, read once per update by the update gate (bot.middlewares).
    storage = OneKeyRedisStorage(redis, key_builder, ttl_seconds=settings.fsm_ttl_seconds)
    # Several webhook instances may receive one user's updates at once: serialise them per user
    # across processes, with a lock that dies with a killed instance within one short lease.
    # Polling is single-instance (docs/rules.md#pitfalls-we-design-around), so a process-local
    # lock suffices: one kept only while the user's update runs (aiogram's keeps one per user
    # ever seen).
    isolation: BaseEventIsolation = (
        LeasedEventIsolation(redis, key_builder)
        if settings.webhook_enabled
        else LocalEventIsolation()
    )
    # The update gate takes the place of aiogram's FSM middleware (same lock, same context).
    # Polling runs as many users' updates at once as the database pool keeps connections: more
    # would open and close overflow connections all the time (bot.ops.batch_polling).
    dp = BatchDispatcher(
        storage=storage, events_isolation=isolation, disable_fsm=True, max_lanes=POOL_SIZE
    )
    dp.update.outer_middleware(CatalogPin(services.catalog))
    gate = setup_middlewares(
        dp,
        redis=redis,
        settings=settings,
        clients=clients,
        storage=storage,
        events_isolation=isolation,
        # The catalog version comes with the gate's opening script: no GET of its own.
        also_read=(services.catalog.version_key, services.catalog.adopt),
        # As many updates at once as the pool keeps connections (a webhook gets up to 40).
        max_in_flight=POOL_SIZE,
    )
    dp.include_router(setup_routers(features))
    # Every admin router's messages and buttons pass the admin gate first.
    gate_routers(dp, is_admin_router, DENIED_TEXT)
    setup_dishka(container, dp)
    inject_router(dp)
    # Routers skip the buttons none of their handlers takes at once, filters run in the event
    # loop, and button filters skip foreign buttons unparsed.
    gate_buttons_by_prefix(dp)
    run_filters_inline(dp)
    return dp, gate


def create_app(
    settings: Settings,
    *,
    bot: Bot | None = None,
    features: Sequence[Feature] = FEATURES,
) -> BotApp:
    """Build the whole application (no network I/O happens here). `features` are the routers
    between the common one and the fallback (tests narrow them)."""
    # Short timeouts and a circuit breaker: a Redis that hangs turns into "temporarily
    # unavailable" within REDIS_TIMEOUT_SECONDS for the first update and at once for the next.
    redis: Redis = make_redis(settings.redis_url, timeout=settings.redis_timeout_seconds)
    engine = make_engine(settings.database_url)
    metrics.count_database_calls(engine)
    session_factory = make_session_factory(engine)
    clients = ClientService(session_factory, redis, settings)
    catalog_engine = make_unpooled_engine(settings.database_url)
    metrics.count_database_calls(catalog_engine)
    services = build_services(
        settings, redis, session_factory, catalog_sessions=make_session_factory(catalog_engine)
    )
    clock = Clock()
    container = make_container(
        settings=settings,
        redis=redis,
        session_factory=session_factory,
        clock=clock,
        clients=clients,
        services=services,
    )
    dp, gate = build_dispatcher(
        settings, redis, clients=clients, services=services, container=container, features=features
    )
    bot = bot or build_bot(settings)
    # A handler's conversation changes are saved before the user sees the screen they draw.
    bot.session.middleware(FlushBeforeSend(cast(OneKeyRedisStorage, dp.storage)))
    # A press answered after Telegram's ~15 s window is not a failure of the handler.
    bot.session.middleware(LateCallbackAnswers())
    app = BotApp(
        settings=settings,
        bot=bot,
        dispatcher=dp,
        redis=redis,
        engine=engine,
        session_factory=session_factory,
        clients=clients,
        services=services,
        clock=clock,
        container=container,
        drain_gate=gate,
    )

    async def on_startup(bot: Bot) -> None:
        await _on_startup(bot, app)

    dp.startup.register(on_startup)
    return app


async def set_bot_commands(bot: Bot, settings: Settings) -> None:
    """Russian and English command menus, plus the default language for everyone else."""

    scope = BotCommandScopeDefault()
    await bot.set_my_commands(command_menu(settings.default_language), scope=scope)
    for locale in SUPPORTED_LANGUAGES:
        await bot.set_my_commands(command_menu(locale), scope=scope, language_code=locale)


def webhook_full_url(settings: Settings) -> str:
    """`WEBHOOK_URL` as given if it has a path, else the base URL plus `WEBHOOK_PATH`."""
    assert settings.webhook_url
    url = settings.webhook_url
    if urlsplit(url).path in ("", "/"):
        return url.rstrip("/") + settings.webhook_path
    return url


def webhook_secret(settings: Settings) -> str:
    """`WEBHOOK_SECRET`, else one derived from the token (stable across instances)."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    token = settings.bot_token.get_secret_value().encode()
    return hashlib.sha256(b"webhook:" + token).hexdigest()


async def _on_startup(bot: Bot, bot_app: BotApp) -> None:
    settings = bot_app.settings
    await set_bot_commands(bot, settings)
    if not settings.webhook_enabled:
        # A webhook left over from another deployment would make getUpdates fail with 409.
        await bot.delete_webhook(drop_pending_updates=False)
        bot_app.ready.set()


def start_background_tasks(app: BotApp, stop: asyncio.Event) -> list[asyncio.Task[Any]]:
    """Tasks that run beside the update handling for the whole life of the process.

    With `RUN_WORKER` (the default) that is the notification worker, which also sweeps expired
    waitlist offers. Slot caches need no listener: their keys embed version counters kept in
    Redis, so every instance sees an invalidation at once. Each task is cancelled and awaited by
    `BotApp.close()`. The worker reads the same clock as the handlers (`app.clock`: the wall
    clock, unless the demo's time travel or a test pins it).
    """
    tasks: list[asyncio.Task[Any]] = []
    if app.settings.run_worker:
        tasks.append(
            asyncio.create_task(
                run_worker(app.settings, bot=app.bot, stop=stop, clock=app.clock.now),
                name="notification-worker",
            )
        )
    app.background.extend(tasks)
    return tasks


async def run_polling(app: BotApp, stop: asyncio.Event) -> None:
    """Long polling until `stop` is set, while this instance holds the polling lease.

    Telegram serves one getUpdates consumer per bot, so an instance polls only while it holds
    the lease in Redis (`bot.ops.polling_lease`): another instance started beside it waits as a
    standby (one log line) and takes over within `POLLING_LEASE_SECONDS` when the holder dies,
    at once when it stops. An instance whose lease went to another stops polling (the updates
    in flight finish) and waits as a standby again.

    Each `getUpdates` batch is handled by lanes, one per user, several users at once, and
    acknowledged (the next getUpdates) only once all of it is handled (`bot.ops.batch_polling`,
    docs/rules.md#pitfalls-we-design-around). A crash or kill in the middle of a batch therefore
    leaves it unacknowledged and Telegram delivers it again after the restart; the dedupe
    middleware skips what was done and lets the rest through.

    On `stop` the updates in flight get `SHUTDOWN_GRACE_SECONDS` to finish; no new one starts.
    While Telegram does not answer, aiogram's two lines per retry become one line when it stops
    answering and one when it answers again (`bot.ops.polling_log`).
    """
    settings = app.settings
    lease = PollingLease(
        app.redis,
        polling_lease_key(settings.redis_prefix, app.bot.id),
        ttl_seconds=settings.polling_lease_seconds,
    )
    remove_log_filter = install_polling_log(app.polling_log)
    try:
        while await lease.acquire(stop):
            lost = asyncio.Event()
            heartbeat = asyncio.create_task(lease.keep(lost), name="polling-lease")
            metrics.POLLING.set(1)
            try:
                await _poll(app, stop, lost)
            finally:
                metrics.POLLING.set(0)
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat
                if not lost.is_set():
                    await lease.release()
            app.drain_gate.reopen()  # a standby again: the next term lets updates through
    finally:
        remove_log_filter()


async def _poll(app: BotApp, stop: asyncio.Event, lost: asyncio.Event) -> None:
    """Poll until `stop` or `lost` is set; then let the updates in flight finish and stop."""
    dp = app.dispatcher
    polling = asyncio.create_task(
        dp.start_polling(
            app.bot,
            handle_signals=False,
            close_bot_session=False,
            backoff_config=app.polling_backoff,
            allowed_updates=dp.resolve_used_update_types(),
        )
    )
    enders = {asyncio.create_task(stop.wait()), asyncio.create_task(lost.wait())}
    done, _ = await asyncio.wait({polling, *enders}, return_when=asyncio.FIRST_COMPLETED)
    for ender in enders:
        ender.cancel()
    if polling in done:
        polling.result()
        return
    # Graceful: the updates in flight may finish (replies sent, marked done); new ones wait.
    gate = app.drain_gate
    gate.close()
    try:
        await asyncio.wait_for(gate.idle.wait(), SHUTDOWN_GRACE_SECONDS)
    except TimeoutError:
        log.warning("stopping with an update still running; it will be delivered again")
    with contextlib.suppress(RuntimeError):  # polling may not have reached its loop yet
        await dp.stop_polling()
    if not polling.done():
        polling.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await polling


def build_webhook_app(app: BotApp) -> web.Application:
    """aiohttp app: the webhook (secret checked, 401 otherwise), `GET /healthz`, `/readyz` and
    `/metrics` (`bot.ops.http`).

    `handle_in_background=False` on purpose (docs/rules.md#pitfalls-we-design-around): Telegram gets
    its answer only after the handler finished, so a handler that fails answers 500 and Telegram
    delivers the update again (the default answers 200 first and a failed update is lost).
    """
    web_app = web.Application()
    add_routes(web_app, Probed(engine=app.engine, redis=app.redis))
    SimpleRequestHandler(
        dispatcher=app.dispatcher,
        bot=app.bot,
        secret_token=webhook_secret(app.settings),
        handle_in_background=False,
    ).register(web_app, path=urlsplit(webhook_full_url(app.settings)).path)
    setup_application(web_app, app.dispatcher, bot=app.bot)
    return web_app


async def run_webhook(app: BotApp, stop: asyncio.Event) -> None:
    """Serve the webhook on `WEBHOOK_HOST:WEBHOOK_PORT` until `stop` is set."""
    runner = web.AppRunner(build_webhook_app(app), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, app.settings.webhook_host, app.settings.webhook_port)
    await site.start()
    log.info("webhook server on %s:%s", app.settings.webhook_host, app.settings.webhook_port)
    # Only now that the server listens may Telegram start sending.
    url = webhook_full_url(app.settings)
    await app.bot.set_webhook(
        url,
        secret_token=webhook_secret(app.settings),
        allowed_updates=app.dispatcher.resolve_used_update_types(),
    )
    log.info("webhook set to %s", url)
    app.ready.set()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


async def start_health_server(app: BotApp) -> web.AppRunner:
    """Long polling's server for `GET /healthz`, `/readyz` and `/metrics` on
    `WEBHOOK_HOST:HEALTH_PORT`."""
    assert app.settings.health_port is not None
    web_app = web.Application()
    add_routes(web_app, Probed(engine=app.engine, redis=app.redis))
    runner = web.AppRunner(web_app, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, app.settings.webhook_host, app.settings.health_port).start()
    except BaseException:
        await runner.cleanup()
        raise
    log.info("health check on %s:%s", app.settings.webhook_host, app.settings.health_port)
    return runner


async def serve(app: BotApp, stop: asyncio.Event) -> None:
    """Run the app (polling or webhook) and its background tasks until `stop`; then close.

    In webhook mode `GET /healthz`, `/readyz` and `/metrics` are served by the webhook server;
    with long polling, by a server of their own when `HEALTH_PORT` is set.
    """
    health: web.AppRunner | None = None
    try:
        if not app.settings.webhook_enabled and app.settings.health_port is not None:
            health = await start_health_server(app)
        start_background_tasks(app, stop)
        if app.settings.webhook_enabled:
            await run_webhook(app, stop)
        else:
            await run_polling(app, stop)
    finally:
        if health is not None:
            await health.cleanup()
        # Let the worker finish the message in flight before its task is cancelled.
        stop.set()
        if app.background:
            await asyncio.wait(app.background, timeout=SHUTDOWN_GRACE_SECONDS)
        await app.close()


async def run(settings: Settings) -> None:
    """`python -m bot run`: serve until SIGTERM or SIGINT, then shut down gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = create_app(settings)
    # Everything built so far (modules, the dispatcher, pydantic's and SQLAlchemy's caches) lives
    # as long as the process: moved out of the collector's reach, a full collection walks only
    # what updates allocate. Measured: time in the collector from 0.68 s to 0.15 s over a
    # 700-update run, about 0.75 ms per update (docs/bench-stack.md).
    gc.collect()
    gc.freeze()
    log.info("bot starting (%s)", "webhook" if settings.webhook_enabled else "long polling")
    await serve(app, stop)
    log.info("bot stopped")
