"""The Redis limiter is one budget for every worker: two limiter instances (two processes, in
effect) share the global pace and the per-chat interval.

The limiter's clock is injected, so the delays it hands out are exact whatever the machine's
load: a fake clock where time must stand still, and for real sends a recording real clock, so
each send's reserved moment (the clock reading plus the delay) is known exactly instead of
being guessed from when a sleeping task woke up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from bot.notify.ratelimit import RedisRateLimiter, Reservation, acquire

STEP = 33_333 / 1_000_000  # 1/30 s, in whole microseconds as the limiter counts it


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def limiter(
    redis: Redis,
    prefix: str,
    clock: Callable[[], float],
    rate: float = 30,
    interval: float = 1.0,
) -> RedisRateLimiter:
    return RedisRateLimiter(
        redis, prefix=prefix, global_rate=rate, chat_interval=interval, margin=0.0, clock=clock
    )


async def test_two_instances_share_the_global_budget(redis: Redis, redis_prefix: str) -> None:
    clock = FakeClock()
    a, b = limiter(redis, redis_prefix, clock), limiter(redis, redis_prefix, clock)
    delays = []
    for chat in range(60):
        reservation = await (a if chat % 2 else b).reserve(chat)
        assert reservation.granted
        delays.append(reservation.delay)
    # Sixty reservations from two instances are spread over two seconds, not one each.
    assert delays == pytest.approx([i * STEP for i in range(60)], abs=1e-6)


async def test_a_chat_busy_in_one_instance_is_busy_in_the_other(
    redis: Redis, redis_prefix: str
) -> None:
    clock = FakeClock()
    a, b = limiter(redis, redis_prefix, clock), limiter(redis, redis_prefix, clock)
    assert (await a.reserve(42)).granted
    clock.now += 0.25
    assert await b.reserve(42) == Reservation(delay=0.75, granted=False)
    clock.now += 0.75
    assert (await b.reserve(42)).granted

    await b.penalize(43, 5)
    assert await a.reserve(43) == Reservation(delay=5.0, granted=False)
    clock.now += 5
    assert (await a.reserve(43)).granted


class RecordingLimiter:
    """A limiter on the real monotonic clock that records, for every granted reservation, the
    moment it reserved: the clock reading the limiter used plus the delay it handed out."""

    def __init__(self, redis: Redis, prefix: str, moments: list[float]) -> None:
        self._readings: dict[asyncio.Task[object] | None, float] = {}
        self._inner = limiter(redis, prefix, self._clock)
        self._moments = moments

    def _clock(self) -> float:
        now = time.monotonic()
        self._readings[asyncio.current_task()] = now
        return now

    async def reserve(self, chat_id: int) -> Reservation:
        reservation = await self._inner.reserve(chat_id)
        if reservation.granted:
            self._moments.append(self._readings[asyncio.current_task()] + reservation.delay)
        return reservation

    async def penalize(self, chat_id: int, seconds: float) -> None:
        await self._inner.penalize(chat_id, seconds)


async def test_real_sends_keep_the_pace(redis: Redis, redis_prefix: str) -> None:
    """Three workers acquiring for 45 distinct chats at 30/s: never more than 30 sends in any
    second, and the last waits for its turn (at least 44 steps after the first)."""
    moments: list[float] = []
    shared = [RecordingLimiter(redis, redis_prefix, moments) for _ in range(3)]

    async def worker(index: int) -> None:
        for chat in range(index, 45, 3):
            assert await acquire(shared[index], chat)

    started = time.monotonic()
    await asyncio.gather(*(worker(i) for i in range(3)))
    elapsed = time.monotonic() - started

    assert len(moments) == 45
    moments.sort()
    assert all(moments[i + 30] - moments[i] >= 30 * STEP - 1e-6 for i in range(15))
    # acquire() returned only after sleeping until the last reserved moment.
    assert elapsed >= moments[-1] - started >= 44 * STEP - 1e-6


async def test_falls_back_to_process_pacing_when_redis_is_down(redis_prefix: str) -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        fallback = limiter(dead, redis_prefix, FakeClock())
        assert (await fallback.reserve(1)).granted
        assert not (await fallback.reserve(1)).granted  # still one message per chat interval
    finally:
        await dead.aclose()


async def test_redis_time_is_the_default_clock(redis: Redis, redis_prefix: str) -> None:
    """Without an injected clock the limiter reads Redis TIME; a one-hour chat interval keeps
    the check independent of the machine's speed."""
    shared = RedisRateLimiter(
        redis, prefix=redis_prefix, global_rate=30, chat_interval=3600, margin=0.0
    )
    assert (await shared.reserve(1)).granted
    busy = await shared.reserve(1)
    assert not busy.granted and 3500 < busy.delay <= 3600
