"""The polling lease on the real Redis (`bot.ops.polling_lease`): one holder, a standby that says
so once and takes over when the lease expires or is released, renewals that keep it, notice
another holder and take back a lease Redis lost, and a Redis that does not answer."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redis.asyncio import Redis

from bot.ops.polling_lease import PollingLease, polling_lease_key
from bot.ops.redis import make_redis
from tests.emulator.redis_proxy import RedisProxy

WAIT = 10.0  # seconds; an upper bound, every wait ends as soon as its condition holds


def lease(redis: Redis, prefix: str, name: str, ttl: float = 5.0) -> PollingLease:
    return PollingLease(
        redis, polling_lease_key(prefix, 42), ttl_seconds=ttl, name=name, retry_seconds=0.02
    )


class Attempts:
    """Counts `target`'s take/renew attempts once each has ended (`tried`) and those Redis
    answered (`answered`), so a test can wait for them."""

    def __init__(self, target: PollingLease) -> None:
        self.tried = 0
        self.answered = 0
        self._changed = asyncio.Condition()
        take = target.try_take

        async def counted() -> str:
            try:
                holder = await take()
                self.answered += 1
                return holder
            finally:
                self.tried += 1
                async with self._changed:
                    self._changed.notify_all()

        target.try_take = counted  # type: ignore[method-assign]

    async def reach(self, tried: int = 0, *, answered: int = 0) -> None:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: self.tried >= tried and self.answered >= answered),
                WAIT,
            )


async def test_key_is_per_bot_under_the_prefix() -> None:
    assert polling_lease_key("bb", 123456) == "bb:polling:123456"


async def test_one_holder_a_standby_that_says_so_once_and_takes_over_on_release(
    redis: Redis, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.ops.polling_lease")
    first, second = lease(redis, redis_prefix, "a:1:x"), lease(redis, redis_prefix, "b:2:y")
    stop = asyncio.Event()
    assert await first.acquire(stop)
    assert await second.try_take() == "a:1:x"  # refused, told who holds it

    tries = Attempts(second)
    waiting = asyncio.create_task(second.acquire(stop))
    await tries.reach(5)
    assert not waiting.done()
    lines = [r.getMessage() for r in caplog.records if "another instance" in r.getMessage()]
    assert lines == [
        f"another instance is polling (a:1:x); waiting to take over "
        f"(lease {redis_prefix}:polling:42, 5 s)"
    ]

    await first.release()
    assert await asyncio.wait_for(waiting, WAIT) is True
    assert await redis.get(first.key) == b"b:2:y"
    await first.release()  # not its lease any more: nothing happens
    assert await redis.get(first.key) == b"b:2:y"


async def test_a_dead_holders_lease_expires_and_the_standby_takes_over(
    redis: Redis, redis_prefix: str
) -> None:
    dead = lease(redis, redis_prefix, "dead:1:x", ttl=1.0)
    assert await dead.try_take() == "dead:1:x"
    assert 0 < await redis.pttl(dead.key) <= 1000
    # The holder never renews (killed); the standby gets the lease once the TTL ran out.
    standby = lease(redis, redis_prefix, "standby:2:y")
    assert await asyncio.wait_for(standby.acquire(asyncio.Event()), WAIT) is True
    assert await redis.get(dead.key) == b"standby:2:y"


async def test_a_standby_stops_waiting_on_stop(redis: Redis, redis_prefix: str) -> None:
    assert await lease(redis, redis_prefix, "a:1:x").try_take() == "a:1:x"
    stop = asyncio.Event()
    standby = lease(redis, redis_prefix, "b:2:y")
    tries = Attempts(standby)
    waiting = asyncio.create_task(standby.acquire(stop))
    await tries.reach(2)
    stop.set()
    assert await asyncio.wait_for(waiting, WAIT) is False


async def test_renewals_keep_the_lease_and_notice_another_holder(
    redis: Redis, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    holder = lease(redis, redis_prefix, "a:1:x", ttl=0.6)  # renewed every 0.2 s
    assert await holder.try_take() == "a:1:x"
    renewals = Attempts(holder)
    lost = asyncio.Event()
    keeping = asyncio.create_task(holder.keep(lost))
    await renewals.reach(5)  # well past one TTL: still held
    assert await redis.get(holder.key) == b"a:1:x"
    assert not lost.is_set()

    await redis.set(holder.key, "b:2:y", px=60_000)  # another instance has it now
    await asyncio.wait_for(lost.wait(), WAIT)
    await asyncio.wait_for(keeping, WAIT)
    assert "the polling lease went to another instance (b:2:y)" in caplog.text
    await holder.release()  # not its own: left alone
    assert await redis.get(holder.key) == b"b:2:y"


async def test_a_renewal_takes_back_a_lease_redis_lost(redis: Redis, redis_prefix: str) -> None:
    holder = lease(redis, redis_prefix, "a:1:x")
    assert await holder.try_take() == "a:1:x"
    await redis.delete(holder.key)  # Redis restarted without its data
    assert await holder.try_take() == "a:1:x"
    assert 0 < await redis.pttl(holder.key) <= 5000


async def test_redis_going_away_keeps_the_holder_polling_and_the_standby_waiting(
    redis_proxy: RedisProxy, redis_prefix: str
) -> None:
    client = make_redis(redis_proxy.url, timeout=0.2, breaker_seconds=0)
    try:
        holder = lease(client, redis_prefix, "a:1:x", ttl=0.3)
        standby = lease(client, redis_prefix, "b:2:y")
        assert await holder.try_take() == "a:1:x"
        assert await standby.try_take() == "a:1:x"
        await redis_proxy.stop()

        renewals = Attempts(holder)
        lost = asyncio.Event()
        keeping = asyncio.create_task(holder.keep(lost))
        await renewals.reach(3)
        assert not lost.is_set() and not keeping.done()  # keeps polling while Redis is away
        keeping.cancel()

        stop = asyncio.Event()
        tries = Attempts(standby)
        waiting = asyncio.create_task(standby.acquire(stop))
        await tries.reach(3)
        assert not waiting.done()  # it knows another instance polls: nobody grants it the lease
        stop.set()
        assert await asyncio.wait_for(waiting, WAIT) is False
    finally:
        await client.aclose()


async def test_an_instance_starting_while_redis_is_away_polls_and_takes_the_lease_later(
    redis_proxy: RedisProxy, redis: Redis, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Users are answered ("temporarily unavailable") rather than nobody polling; once Redis
    answers, the first renewal takes the lease."""
    client = make_redis(redis_proxy.url, timeout=0.2, breaker_seconds=0)
    await redis_proxy.stop()
    try:
        fresh = lease(client, redis_prefix, "a:1:x", ttl=0.3)
        assert await asyncio.wait_for(fresh.acquire(asyncio.Event()), WAIT) is True
        assert "polling without the polling lease" in caplog.text
        renewals = Attempts(fresh)
        lost = asyncio.Event()
        keeping = asyncio.create_task(fresh.keep(lost))
        await redis_proxy.start()
        await renewals.reach(answered=1)
        assert await redis.get(fresh.key) == b"a:1:x"
        assert not lost.is_set()
        keeping.cancel()
    finally:
        await client.aclose()
