"""The per-user lock across webhook instances, on the real Redis: a lock left by a killed
instance frees within one lease (aiogram's own lock would hold it 60 s), a lock held by a live
handler is renewed past its lease, and a lock lost while held is logged, not raised."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from redis.asyncio import Redis

from bot.middlewares.lease import LeasedEventIsolation

LEASE = 0.6
KEY = StorageKey(bot_id=1, chat_id=42, user_id=42)


def isolation(redis: Redis, prefix: str) -> LeasedEventIsolation:
    builder = DefaultKeyBuilder(prefix=f"{prefix}:fsm", with_destiny=True)
    return LeasedEventIsolation(redis, builder, lease_seconds=LEASE, poll_seconds=0.02)


async def test_a_lock_left_by_a_killed_instance_frees_within_one_lease(
    redis: Redis, redis_prefix: str
) -> None:
    locks = isolation(redis, redis_prefix)
    name = locks.key_builder.build(KEY, "lock")
    # What a killed instance leaves: the lock taken with the lease, never renewed nor released.
    assert await redis.set(name, "dead-instance-token", px=int(LEASE * 1000), nx=True)

    async def take() -> str:
        async with locks.lock(KEY):
            return (await redis.get(name) or b"").decode()

    # Bounded well below aiogram's fixed 60 s lock; the lease itself is 0.6 s.
    token = await asyncio.wait_for(take(), timeout=10)
    assert token and token != "dead-instance-token"
    assert await redis.exists(name) == 0  # released on the way out


async def test_a_live_holder_keeps_its_lock_past_the_lease(redis: Redis, redis_prefix: str) -> None:
    locks = isolation(redis, redis_prefix)
    name = locks.key_builder.build(KEY, "lock")
    async with locks.lock(KEY):
        # Another instance waits three leases: without renewal it would get in after one.
        rival = redis.lock(name, timeout=LEASE, sleep=0.02, blocking_timeout=3 * LEASE)
        assert await rival.acquire() is False
        assert await redis.pttl(name) > 0
    rival = redis.lock(name, timeout=LEASE, sleep=0.02, blocking_timeout=3 * LEASE)
    assert await rival.acquire() is True
    await rival.release()


async def test_one_users_updates_run_one_at_a_time(redis: Redis, redis_prefix: str) -> None:
    locks = isolation(redis, redis_prefix)
    inside = 0
    most = 0

    async def update() -> None:
        nonlocal inside, most
        async with locks.lock(KEY):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0)  # let the others try to get in
            inside -= 1

    await asyncio.gather(*(update() for _ in range(5)))
    assert most == 1


async def test_a_lock_lost_while_held_is_logged_not_raised(
    redis: Redis, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    locks = isolation(redis, redis_prefix)
    name = locks.key_builder.build(KEY, "lock")
    with caplog.at_level(logging.WARNING, logger="bot.middlewares.lease"):
        async with locks.lock(KEY):
            await redis.delete(name)  # Redis lost it (expired during an outage)
    assert any("expired while held" in r.getMessage() for r in caplog.records)
