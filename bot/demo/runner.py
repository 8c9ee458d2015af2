"""`python -m bot demo`: the whole product on one machine with no token and no internet.

Start-up, in order: the web port is checked first (a taken port is one line, before anything
starts); PostgreSQL and Redis are the ones `DATABASE_URL` / `REDIS_URL` name when set and
answering, else embedded ones on `DEMO_DATA_DIR`; the database is created if missing, migrated,
given the example catalog and the personas; then the Bot API emulator, the real bot with its
notification worker (long polling against the emulator over HTTP, as against Telegram), and the
web chat on `http://127.0.0.1:DEMO_PORT`.

The terminal gets one line per thing started and one line per failure, never a traceback.
SIGINT / SIGTERM stop everything: the web chat, the bot (the updates in flight finish), the
emulator, then both embedded servers; the data directory stays for the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import importlib
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.config import ConfigError, Settings, load_settings
from bot.demo import services
from bot.demo.clock import DemoClock
from bot.demo.services import DemoError, Service
from bot.emulator import DEFAULT_TOKEN, BotAPIEmulator

log = logging.getLogger(__name__)

# The product's own modules (aiogram's types alone take seconds of CPU to import). They are
# imported in a thread while the embedded servers start in their own processes, so the two
# overlap instead of adding up; `_serve_product` then finds them loaded.
PRODUCT_MODULES = (
    "aiohttp.web",
    "bot.app",
    "bot.demo.seed",
    "bot.demo.web",
    "bot.services.events",
    "db.engine",
)


def _import_product() -> None:
    for name in PRODUCT_MODULES:
        importlib.import_module(name)


HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 30.0


def say(line: str) -> None:
    print(line, flush=True)


def base_settings(**overrides: object) -> Settings:
    """Settings from the environment / `.env`, with the demo's token and Telegram."""
    return load_settings(bot_token=DEFAULT_TOKEN, **overrides)


def check_port(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise DemoError(
                    f"port {port} is taken: stop what uses it, or set DEMO_PORT to another port"
                ) from None
            raise DemoError(f"cannot listen on {HOST}:{port}: {exc.strerror}") from None


async def _external_postgres(settings: Settings) -> Service | None:
    if "database_url" not in settings.model_fields_set:
        return None
    try:
        version = await services.postgres_version(settings.database_url)
    except Exception as exc:  # asyncpg and the socket layer raise many kinds
        say(f"DATABASE_URL does not answer ({type(exc).__name__}): using embedded PostgreSQL")
        return None
    created = await services.ensure_database(settings.database_url)
    where = "DATABASE_URL" + (", database created" if created else "")
    return Service("PostgreSQL", settings.database_url, False, version, where)


async def _external_redis(settings: Settings) -> Service | None:
    if "redis_url" not in settings.model_fields_set:
        return None
    try:
        version = await services.redis_version(settings.redis_url)
    except (OSError, TimeoutError, RedisError) as exc:
        say(f"REDIS_URL does not answer ({type(exc).__name__}): using embedded Redis")
        return None
    return Service("Redis", settings.redis_url, False, version, "REDIS_URL")


async def start_services(settings: Settings, data_dir: Path, started: list[Service]) -> None:
    """Append the PostgreSQL and then the Redis to use to `started`.

    Both are checked (external) or started (embedded) at the same time; when one fails, the
    other is still appended when it started, so the caller stops it. Raises `DemoError`."""
    pg, redis = await asyncio.gather(
        _postgres(settings, data_dir), _redis(settings, data_dir), return_exceptions=True
    )
    for service in (pg, redis):
        if isinstance(service, Service):
            started.append(service)
    for outcome in (pg, redis):
        if isinstance(outcome, BaseException):
            raise outcome


async def _postgres(settings: Settings, data_dir: Path) -> Service:
    pg = await _external_postgres(settings)
    if pg is not None:
        return pg
    pg = await asyncio.to_thread(services.start_embedded_postgres, data_dir)
    try:
        pg.version = await services.postgres_version(pg.url)
        await services.ensure_database(pg.url)
    except BaseException:
        pg.stop()
        raise
    return pg


async def _redis(settings: Settings, data_dir: Path) -> Service:
    redis = await _external_redis(settings)
    if redis is None:
        redis = await asyncio.to_thread(services.start_embedded_redis, data_dir)
    return redis


def stop_services(started: list[Service]) -> None:
    for service in reversed(started):
        if service.stop is not None:
            service.stop()
            say(f"{service.name} stopped")


async def run_demo(data_dir: Path, port: int, stop: asyncio.Event) -> None:
    settings = base_settings()
    check_port(port)
    started: list[Service] = []
    product = asyncio.create_task(asyncio.to_thread(_import_product))
    try:
        try:
            await start_services(settings, data_dir, started)
        finally:
            await asyncio.wait({product})  # a thread cannot be cancelled: let it finish
        product.result()
        for service in started:
            say(service.describe())
        if stop.is_set():
            return
        await _serve_product(settings, started, port, stop)
    finally:
        stop_services(started)


async def _serve_product(
    settings: Settings, started: list[Service], port: int, stop: asyncio.Event
) -> None:
    from aiohttp import web

    from bot.app import create_app, serve
    from bot.demo.seed import PERSONAS, admin_ids, prepare
    from bot.demo.web import ChatHub, build_web_app
    from bot.services.events import OUTBOX_WAKE, EventBus
    from db.engine import make_engine, make_session_factory

    pg, redis_service = started[0], started[-1]
    clock = DemoClock()
    # Update ids grow across runs: the bot's Redis remembers the ones it handled (dedupe).
    emulator = BotAPIEmulator(
        DEFAULT_TOKEN, bot_username="booking_demo_bot", first_update_id=int(time.time() * 1000)
    )
    emulator.clock = clock.timestamp
    await emulator.start()
    try:
        settings = base_settings(
            database_url=pg.url,
            redis_url=redis_service.url,
            telegram_api_url=emulator.url,
            admin_ids=admin_ids(),
            payment_provider_token="demo-test-provider",
            run_worker=True,
            webhook_url=None,
            health_port=None,
        )
        engine = make_engine(settings.database_url, pool_size=2, max_overflow=2)
        redis: Redis = Redis.from_url(settings.redis_url)
        try:
            summary = await prepare(settings, make_session_factory(engine), redis)
        finally:
            await engine.dispose()
        say(f"Database: migrated; example catalog loaded ({summary}); personas ready")
        bus = EventBus(redis, settings.redis_prefix)

        async def wake() -> None:
            await bus.publish(OUTBOX_WAKE)

        hub = ChatHub(
            emulator, PERSONAS, clock, timezone=ZoneInfo(settings.default_timezone), wake=wake
        )
        runner = web.AppRunner(build_web_app(hub), handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, HOST, port).start()
        except OSError as exc:
            await runner.cleanup()
            raise DemoError(f"cannot listen on {HOST}:{port}: {exc.strerror}") from None
        try:
            app = create_app(settings)
            app.clock.source = clock.now  # handlers, slot engine and worker read it
            bot_task = asyncio.create_task(serve(app, stop))
            say(f"Web chat: http://{HOST}:{port}   (Ctrl+C stops the demo)")
            await bot_task
        finally:
            await runner.cleanup()
            await redis.aclose()
    finally:
        await emulator.stop()


def main(argv: list[str]) -> int:
    """`python -m bot demo [--fresh]`; returns the exit code."""
    fresh = "--fresh" in argv
    unknown = [a for a in argv if a != "--fresh"]
    if unknown:
        print(f"demo: unknown argument {unknown[0]} (only --fresh)", file=sys.stderr)
        return 2
    try:
        settings = base_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    data_dir = Path(settings.demo_data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            print(
                f"demo: another demo is running on {data_dir} (stop it, or set DEMO_DATA_DIR)",
                file=sys.stderr,
            )
            return 1
        if fresh:
            services.wipe(data_dir)
            say(f"--fresh: previous demo data in {data_dir} removed")
        return asyncio.run(_main(data_dir, settings.demo_port))


async def _main(data_dir: Path, port: int) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await run_demo(data_dir, port, stop)
    except DemoError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        log.debug("demo failed", exc_info=True)
        print(f"demo: stopped by an unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    with contextlib.suppress(Exception):
        say(f"Demo stopped; its data stays in {data_dir} (--fresh starts over)")
    return 0
