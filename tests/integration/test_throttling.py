"""The per-user token bucket on the real Redis: bursts, refill, one notice per flood, atomicity.

Time is an injected clock (frozen, then moved by hand), so no test sleeps or depends on the
machine's speed; one test uses Redis `TIME`, as production does, with a refill too slow to
matter.
"""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from bot.middlewares.throttling import DROPPED, DROPPED_TELL, PASSED, ThrottlingMiddleware


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def bucket(
    redis: Redis, prefix: str, clock: Clock | None, *, rate: float = 3.0, burst: int = 8
) -> ThrottlingMiddleware:
    return ThrottlingMiddleware(redis, prefix, rate_per_second=rate, burst=burst, clock=clock)


async def takes(mw: ThrottlingMiddleware, user_id: int, n: int) -> list[int]:
    return [await mw.take(user_id) for _ in range(n)]


async def test_a_flood_gets_the_burst_through_then_the_rate_and_one_notice(
    redis: Redis, redis_prefix: str
) -> None:
    clock = Clock()
    mw = bucket(redis, redis_prefix, clock)

    flood = await takes(mw, 1, 300)  # 300 updates in the same instant
    assert flood[:8] == [PASSED] * 8
    assert flood[8] == DROPPED_TELL
    assert set(flood[9:]) == {DROPPED}

    clock.now += 1.0  # one second refills 3 tokens; the flood goes on: no second notice
    assert await takes(mw, 1, 4) == [PASSED] * 3 + [DROPPED]
    assert await mw.take(2) == PASSED  # another user has a bucket of their own

    # Nothing dropped for a full refill (8 / 3 s): the bucket is full, the flood is over, and
    # the next flood is told again.
    clock.now += 8 / 3 + 0.01
    assert await takes(mw, 1, 9) == [PASSED] * 8 + [DROPPED_TELL]


async def test_quick_human_taps_are_never_dropped(redis: Redis, redis_prefix: str) -> None:
    """/start, /book, a service, a specialist, all in one instant; then a steady three a
    second for a minute (the sustained rate) is never dropped either."""
    clock = Clock()
    mw = bucket(redis, redis_prefix, clock)
    assert await takes(mw, 7, 4) == [PASSED] * 4
    for _ in range(180):
        clock.now += 1 / 3
        assert await mw.take(7) == PASSED


async def test_a_rate_below_one_per_second(redis: Redis, redis_prefix: str) -> None:
    clock = Clock()
    mw = bucket(redis, redis_prefix, clock, rate=0.2, burst=1)
    assert await takes(mw, 1, 2) == [PASSED, DROPPED_TELL]
    clock.now += 4.9
    assert await mw.take(1) == DROPPED
    clock.now += 0.2  # 5.1 s since the first: one token (0.2/s) is back
    assert await mw.take(1) == PASSED


async def test_concurrent_updates_never_share_the_last_token(
    redis: Redis, redis_prefix: str
) -> None:
    clock = Clock()
    mw = bucket(redis, redis_prefix, clock)
    verdicts = await asyncio.gather(*(mw.take(3) for _ in range(50)))
    assert verdicts.count(PASSED) == 8
    assert verdicts.count(DROPPED_TELL) == 1
    assert verdicts.count(DROPPED) == 41


async def test_redis_time_is_the_clock_by_default(redis: Redis, redis_prefix: str) -> None:
    # One token per 1000 s: nothing refills while the test runs, however slow the machine.
    mw = bucket(redis, redis_prefix, None, rate=0.001, burst=3)
    assert await takes(mw, 1, 5) == [PASSED] * 3 + [DROPPED_TELL, DROPPED]
    ttl = await redis.pttl(f"{redis_prefix}:throttle:bucket:1")
    assert 0 < ttl <= 3_000_000 + 60_000  # forgotten a minute after it would be full again


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 8), (-1.0, 8), (3.0, 0)])
def test_nonsense_limits_are_refused(redis: Redis, rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        ThrottlingMiddleware(redis, "x", rate_per_second=rate, burst=burst)
