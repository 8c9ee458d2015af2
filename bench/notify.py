"""Notification throughput against Telegram's limits, measured on the Bot API emulator.

    python bench/notify.py [--messages 3000] [--per-chat 1] [--workers 2] [--rate 30]
                           [--in-process]

1. A throw-away database, migrated with Alembic, gets `--messages` due outbox rows (one
   appointment's confirmation, rendered for real) to `--messages / --per-chat` distinct chats.
2. The Bot API emulator (bot/emulator) enforces Telegram's limits: 30 messages/s per bot and
   1 message/s per chat, answering 429 with retry_after beyond them.
3. `--workers` outbox workers deliver everything: separate `python -m bot worker` processes
   (as deployed; they share only PostgreSQL and the Redis rate limiter), or with `--in-process`
   tasks of the benchmark's own process. Reported: achieved messages/s next
   to the configured TELEGRAM_GLOBAL_RATE, the 429s received, the busiest one-second window seen
   by the emulator, and that every row was sent exactly once.
The database is dropped at the end.

Environment: `BENCH_DATABASE_ADMIN_URL` (default postgresql://postgres@127.0.0.1:5432/postgres),
`REDIS_URL` (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    ADMIN_URL,
    REDIS_URL,
    db_url,
    discard_redis,
    migrate,
    throwaway_database,
)
from bot.config import Settings, load_settings  # noqa: E402
from bot.emulator.server import DEFAULT_TOKEN, BotAPIEmulator  # noqa: E402
from bot.notify.runner import build_worker  # noqa: E402
from bot.notify.worker import WorkerOptions  # noqa: E402
from bot.telegram import build_bot  # noqa: E402
from db.engine import make_engine, make_session_factory  # noqa: E402

FIRST_CHAT = 100_000_000

QUEUE_SQL = """
INSERT INTO outbox (dedupe_key, kind, recipient, chat_id, due_at, payload)
SELECT 'bench:' || g, 'client.confirm', 'client', :first + (g - 1) / :per_chat, now(),
       jsonb_build_object(
         'start', '2031-03-03T11:00:00+00:00', 'tz', 'Europe/Moscow',
         'location', 'Center', 'address', 'Main st. 1', 'service', 'Haircut',
         'specialist', 'Anna', 'price', '1500.00', 'lang', 'ru')
FROM generate_series(1, :n) g
"""


Stop = Callable[[], Awaitable[None]]


async def start_tasks(
    settings: Settings, redis: Redis, sessions: async_sessionmaker[AsyncSession], count: int
) -> Stop:
    """Workers as tasks of this process (each its own Bot and worker id)."""
    bots = [build_bot(settings) for _ in range(count)]
    workers = [
        build_worker(
            settings,
            bot=b,
            redis=redis,
            session_factory=sessions,
            options=WorkerOptions.from_settings(settings),
            worker_id=f"bench-{i}",
        )
        for i, b in enumerate(bots)
    ]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]

    async def stop_all() -> None:
        stop.set()
        for w in workers:
            w.wake()
        await asyncio.gather(*tasks)
        for b in bots:
            await b.session.close()

    return stop_all


async def start_processes(settings: Settings, count: int) -> Stop:
    """Workers as separate `python -m bot worker` processes, as deployed: they share nothing
    but PostgreSQL and the Redis rate limiter."""
    env = {
        **os.environ,
        "BOT_TOKEN": settings.bot_token.get_secret_value(),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_PREFIX": settings.redis_prefix,
        "TELEGRAM_API_URL": settings.telegram_api_url or "",
        "TELEGRAM_GLOBAL_RATE": str(settings.telegram_global_rate),
        "OUTBOX_POLL_SECONDS": str(settings.outbox_poll_seconds),
        "LOG_LEVEL": "WARNING",
    }
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "worker", cwd=str(ROOT), env=env
        )
        for _ in range(count)
    ]

    async def stop_all() -> None:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        await asyncio.gather(*(proc.wait() for proc in procs))

    return stop_all


async def pending(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as s:
        count = await s.scalar(text("SELECT count(*) FROM outbox WHERE status = 'pending'"))
    return int(count or 0)


def busiest_second(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    best, lo = 0, 0
    for hi, at in enumerate(stamps):
        while at - stamps[lo] >= 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def run(args: argparse.Namespace) -> int:
    async with throwaway_database(ADMIN_URL, "bench_notify") as name:
        return await measure(args, db_url(ADMIN_URL, name, driver="postgresql+asyncpg"))


async def measure(args: argparse.Namespace, url: str) -> int:
    """Migrate the empty database at `url`, deliver its rows and print the figures; 0 when every
    row was sent exactly once."""
    emulator = BotAPIEmulator(DEFAULT_TOKEN)
    await emulator.start()
    emulator.enforce_limits(global_per_second=30, per_chat_per_second=1)
    prefix = f"bench:{uuid.uuid4().hex[:8]}"
    redis = Redis.from_url(REDIS_URL)
    engine = make_engine(url, pool_size=5 * args.workers, max_overflow=10)
    try:
        await migrate(url)
        settings = load_settings(
            _env_file=None,
            bot_token=DEFAULT_TOKEN,
            database_url=url,
            redis_url=REDIS_URL,
            redis_prefix=prefix,
            telegram_api_url=emulator.url,
            telegram_global_rate=args.rate,
            outbox_poll_seconds=0.5,
        )
        sessions = make_session_factory(engine)
        async with sessions() as s, s.begin():
            # A confirmation needs no appointment row to be rendered and delivered.
            await s.execute(
                text(QUEUE_SQL),
                {"n": args.messages, "per_chat": args.per_chat, "first": FIRST_CHAT},
            )
        if args.in_process:
            stop_workers = await start_tasks(settings, redis, sessions, args.workers)
        else:
            stop_workers = await start_processes(settings, args.workers)
        # The emulator's condition re-checks on every recorded call: no sleeping loop.
        await emulator.wait_for(
            lambda: len(emulator.sent_messages()) >= args.messages, timeout=args.timeout
        )
        # Every row also recorded as sent (the last marks land just after the last send).
        async with asyncio.timeout(args.timeout):
            while await pending(sessions):  # noqa: ASYNC110 - the database has no wake-up
                await asyncio.sleep(0.1)
        await stop_workers()

        async with sessions() as s:
            statuses = dict(
                (await s.execute(text("SELECT status, count(*) FROM outbox GROUP BY 1"))).all()
            )
        per_chat = Counter(m.chat_id for m in emulator.sent_messages())
        accepted = [c.at for c in emulator.calls_to("sendMessage") if c.ok]
        expected_chats = -(-args.messages // args.per_chat)
        exactly_once = len(per_chat) == expected_chats and sum(per_chat.values()) == args.messages
        print(
            f"messages:              {args.messages} to {expected_chats} chats "
            f"({args.per_chat} per chat)"
        )
        how = "tasks in this process" if args.in_process else "`python -m bot worker` processes"
        print(f"workers:               {args.workers} ({how})")
        print(
            f"configured limit:      {args.rate:g} msg/s per bot, "
            f"{settings.telegram_chat_interval_seconds:g} s per chat"
        )
        # From the first accepted message to the last: worker start-up (imports, connections)
        # is not delivery time.
        span = max(accepted) - min(accepted)
        achieved = (len(accepted) - 1) / span if span > 0 else float("nan")
        print(f"achieved:              {achieved:.1f} msg/s ({span:.1f} s first to last)")
        print(f"429 received:          {emulator.count_429}")
        print(f"busiest 1 s window:    {busiest_second(accepted)} messages")
        print(f"outbox statuses:       {statuses}")
        print(f"each row sent once:    {exactly_once}")
        return 0 if exactly_once and statuses.get("sent") == args.messages else 1
    finally:
        await engine.dispose()
        await discard_redis(redis, prefix)
        await emulator.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--per-chat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=30.0, help="TELEGRAM_GLOBAL_RATE")
    parser.add_argument(
        "--in-process", action="store_true", help="run the workers as tasks of this process"
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after (seconds)")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
