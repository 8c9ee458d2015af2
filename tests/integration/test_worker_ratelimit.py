"""The Redis limiter is one budget for every worker: two limiter instances (two processes, in
effect) share the global pace and the per-chat interval."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from bot.notify.ratelimit import RedisRateLimiter, acquire


def limiter(redis: Redis, prefix: str, rate: float = 30, interval: float = 1.0) -> RedisRateLimiter:
    return RedisRateLimiter(
        redis, prefix=prefix, global_rate=rate, chat_interval=interval, margin=0.0
    )


async def test_two_instances_share_the_global_budget(redis: Redis, redis_prefix: str) -> None:
    a, b = limiter(redis, redis_prefix), limiter(redis, redis_prefix)
    delays = []
    for chat in range(60):
        reservation = await (a if chat % 2 else b).reserve(chat)
        assert reservation.granted
        delays.append(reservation.delay)
    # Sixty reservations from two instances are spread over two seconds, not one each.
    assert delays[-1] == pytest.approx(59 / 30, abs=0.05)


async def test_a_chat_busy_in_one_instance_is_busy_in_the_other(
    redis: Redis, redis_prefix: str
) -> None:
    a, b = limiter(redis, redis_prefix), limiter(redis, redis_prefix)
    assert (await a.reserve(42)).granted
    busy = await b.reserve(42)
    assert not busy.granted and 0.9 < busy.delay <= 1.0
    await b.penalize(43, 5)
    assert not (await a.reserve(43)).granted


async def test_real_sends_keep_the_pace(redis: Redis, redis_prefix: str) -> None:
    """Three workers acquiring for 45 distinct chats at 30/s take about 1.5 s in total."""
    shared = [limiter(redis, redis_prefix) for _ in range(3)]
    stamps: list[float] = []

    async def worker(index: int) -> None:
        for chat in range(index, 45, 3):
            assert await acquire(shared[index], chat)
            stamps.append(time.monotonic())

    started = time.monotonic()
    await asyncio.gather(*(worker(i) for i in range(3)))
    assert time.monotonic() - started >= 44 / 30 - 0.05
    stamps.sort()
    assert all(stamps[i + 30] - stamps[i] >= 0.95 for i in range(len(stamps) - 30))


async def test_falls_back_to_process_pacing_when_redis_is_down(redis_prefix: str) -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        fallback = limiter(dead, redis_prefix)
        assert (await fallback.reserve(1)).granted
        assert not (await fallback.reserve(1)).granted  # still one message per chat interval
    finally:
        await dead.aclose()
