"""Redis work per update through the bot's real dispatcher and middlewares, next to a bare
Redis GET in the same run, and what update dedupe keeps in Redis per 1,000 updates.

    python bench/redis_update.py [--updates 3000] [--users 100] [--gets 3000]

1. The real application (`bot.app.create_app`) with one bench router: "step" is a flow step
   (reads the conversation three times, changes state and data, then makes a Telegram request,
   answered in-process so no network is involved), "look" only reads the conversation
   (plain texts: a command would end the flow, as in the bot).
   Every user's profile is cached, as for anyone who wrote in the last five minutes.
2. `--updates` updates from `--users` users (alternating step and look) are fed one after
   another. Every Redis command is recorded with its update (`bench.redis_commands`) and the
   time spent waiting for Redis is summed.
3. `--gets` sequential `GET`s of one key on the same client: the baseline.
4. Memory: what the run left in Redis by kind (`MEMORY USAGE`), and 1,000 markers written the
   way dedupe kept them before (one key per update, `done` for 24 h) for comparison.

Printed: commands per update (by kind of update), Redis time per update / one GET, wall time
per update, dedupe memory per 1,000 updates, load average. Keys live under a unique prefix
and are deleted at the end. Environment: `REDIS_URL` (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiogram import Bot, F, Router  # noqa: E402
from aiogram.client.session.middlewares.base import BaseRequestMiddleware  # noqa: E402
from aiogram.fsm.context import FSMContext  # noqa: E402
from aiogram.methods import Response  # noqa: E402
from aiogram.types import Chat, Message, Update, User  # noqa: E402

from bench.redis_commands import CommandLog  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.config import Settings  # noqa: E402

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


class InProcessTelegram(BaseRequestMiddleware):
    """Answers every Bot API request with `True` (the bench's step only sends a chat action)."""

    async def __call__(self, make_request: Any, bot: Any, method: Any) -> Any:
        return Response[bool](ok=True, result=True)


def bench_router() -> Router:
    router = Router(name="bench")

    @router.message(F.text == "step")
    async def step(message: Message, state: FSMContext) -> None:
        data = await state.get_data()
        await state.get_state()
        await state.update_data(step=int(data.get("step", 0)) + 1, service_id=7)
        await state.set_state("Bench:step")
        assert message.bot is not None
        await message.bot.send_chat_action(message.chat.id, "typing")

    @router.message(F.text == "look")
    async def look(message: Message, state: FSMContext) -> None:
        await state.get_state()
        await state.get_data()

    return router


def update(update_id: int, user_id: int, text: str) -> Update:
    return Update(
        update_id=update_id,
        message=Message(
            message_id=update_id,
            date=datetime.now(UTC),
            chat=Chat(id=user_id, type="private"),
            from_user=User(id=user_id, is_bot=False, first_name="Bench", language_code="en"),
            text=text,
        ),
    )


class TimedLog(CommandLog):
    """CommandLog that also sums the time spent waiting for Redis."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds = 0.0

    def attach(self, redis: Any) -> Any:
        execute = redis.execute_command

        async def timed(*args: Any, **options: Any) -> Any:
            started = time.perf_counter()
            try:
                return await execute(*args, **options)
            finally:
                self.seconds += time.perf_counter() - started

        redis.execute_command = timed
        return super().attach(redis)


async def memory_by_kind(redis: Any, prefix: str) -> dict[str, tuple[int, int]]:
    """{kind: (keys, bytes)} of everything under `prefix` (kind: the segment after it)."""
    out: dict[str, list[int]] = {}
    async for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
        kind = key.decode().split(":")[len(prefix.split(":"))]
        usage = await redis.memory_usage(key) or 0
        entry = out.setdefault(kind, [0, 0])
        entry[0] += 1
        entry[1] += usage
    return {k: (v[0], v[1]) for k, v in out.items()}


async def main(args: argparse.Namespace) -> None:
    prefix = f"bench:{uuid.uuid4().hex[:8]}"
    settings = Settings(
        bot_token="42:BENCH",
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        throttle_rate_per_second=1000.0,
        run_worker=False,
    )
    app = create_app(settings, bot=Bot("42:BENCH"), features=[bench_router])
    app.bot.session.middleware(InProcessTelegram())
    redis = app.redis
    users = [100_000 + n for n in range(args.users)]
    try:
        for tg_id in users:  # profiles cached, as for anyone active in the last five minutes
            profile = {
                "client_id": tg_id,
                "tg_id": tg_id,
                "first_name": "Bench",
                "language": "en",
                "role": "client",
                "is_admin": False,
                "specialist_id": None,
                "created": False,
            }
            await redis.set(app.clients.profile_key(tg_id), json.dumps(profile), ex=3600)
        dp = app.dispatcher
        # Warm-up: scripts loaded into Redis, code paths taken once.
        for n in range(20):
            await dp.feed_update(app.bot, update(n + 1, users[n % len(users)], "step"))

        log = TimedLog()
        kinds: dict[int, str] = {}
        first_id = 1000
        started = time.perf_counter()
        with log.attach(redis):
            for n in range(args.updates):
                update_id = first_id + n
                text = "step" if (n // args.users) % 2 == 0 else "look"
                kinds[update_id] = text
                await dp.feed_update(app.bot, update(update_id, users[n % len(users)], text))
        wall = time.perf_counter() - started
        redis_seconds = log.seconds

        key = f"{prefix}:bench:get"
        await redis.set(key, "x" * 64)
        started = time.perf_counter()
        for _ in range(args.gets):
            await redis.get(key)
        get_seconds = (time.perf_counter() - started) / args.gets
        await redis.delete(key)

        per_update = log.per_update()
        by_kind: dict[str, list[int]] = {}
        names: dict[str, Counter[str]] = {}
        for update_id, commands in per_update.items():
            kind = kinds.get(update_id)
            if kind is None:
                continue
            by_kind.setdefault(kind, []).append(len(commands))
            names.setdefault(kind, Counter()).update(commands)

        memory = await memory_by_kind(redis, prefix)
        # The previous dedupe: one `done` key per update, kept 24 h.
        old_prefix = f"{prefix}:old"
        for n in range(1000):
            await redis.set(f"{old_prefix}:update:{first_id + n}", "done", ex=24 * 3600)
        old = await memory_by_kind(redis, old_prefix)
        old_bytes = old.get("update", (0, 0))[1]

        per_update_redis = redis_seconds / args.updates
        load = os.getloadavg()
        print(f"updates: {args.updates} from {args.users} users (step and look alternating)")
        for kind, counts in sorted(by_kind.items()):
            spread = f"min {min(counts)}, max {max(counts)}"
            detail = ", ".join(f"{n} {c / len(counts):.2f}" for n, c in names[kind].items())
            print(
                f"  {kind}: {statistics.mean(counts):.2f} Redis commands per update "
                f"({spread}; {detail})"
            )
        all_counts = [c for counts in by_kind.values() for c in counts]
        print(f"  all: {statistics.mean(all_counts):.2f} commands per update")
        print(
            f"Redis time per update: {per_update_redis * 1e6:.0f} us; one GET: "
            f"{get_seconds * 1e6:.0f} us; ratio {per_update_redis / get_seconds:.2f}"
        )
        wall_ms = wall / args.updates * 1e3
        print(f"wall time per update (dispatch, middlewares, handler): {wall_ms:.2f} ms")
        print("left in Redis by kind (keys, bytes by MEMORY USAGE):")
        for kind, (count, size) in sorted(memory.items()):
            print(f"  {kind}: {count} keys, {size} bytes")
        seen_keys, seen_bytes = memory.get("seen", (0, 0))
        print(
            f"dedupe per 1,000 updates: {seen_bytes / args.updates * 1000:.0f} bytes "
            f"({seen_keys} watermarks of {seen_bytes / max(seen_keys, 1):.0f} bytes, "
            f"{args.updates / args.users:.0f} updates per user; at worst, every update from "
            f"another user: {seen_bytes / max(seen_keys, 1) * 1000:.0f}); before: {old_bytes} "
            "bytes (1,000 keys of 'done' for 24 h, whoever sent them)"
        )
        cpus = os.cpu_count()
        print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1/5/15 min, {cpus} CPUs)")
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        for n in range(0, len(keys), 500):
            await redis.delete(*keys[n : n + 500])
        await app.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--gets", type=int, default=3000)
    asyncio.run(main(parser.parse_args()))
