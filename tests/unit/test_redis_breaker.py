"""The Redis circuit breaker: closed -> a failure -> open (fail fast) -> one probe -> closed or
open again. The clock is a variable; the Redis calls are stand-ins that fail or answer."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.ops.redis import CircuitBreaker, RedisUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Calls:
    """Counts the calls that reached "Redis"; `fail` makes them raise."""

    def __init__(self) -> None:
        self.count = 0
        self.fail: BaseException | None = None

    async def __call__(self) -> str:
        self.count += 1
        if self.fail is not None:
            raise self.fail
        return "PONG"


async def test_a_failure_opens_the_breaker_then_one_probe_closes_it() -> None:
    clock, redis = Clock(), Calls()
    breaker = CircuitBreaker(5.0, clock=clock)
    assert await breaker.call(redis) == "PONG"

    redis.fail = RedisTimeoutError("Timeout reading from socket")
    with pytest.raises(RedisTimeoutError):
        await breaker.call(redis)
    assert breaker.is_open and redis.count == 2

    # Open: nothing reaches Redis, every call fails at once as "unavailable".
    redis.fail = None
    clock.now += 4.9
    for _ in range(3):
        with pytest.raises(RedisUnavailable):
            await breaker.call(redis)
    assert redis.count == 2
    assert isinstance(RedisUnavailable(), RedisConnectionError)

    # After the pause one probe goes through; its success closes the breaker.
    clock.now += 0.2
    assert await breaker.call(redis) == "PONG"
    assert not breaker.is_open and redis.count == 3
    assert await breaker.call(redis) == "PONG"


async def test_a_failed_probe_opens_it_again_for_a_full_pause() -> None:
    clock, redis = Clock(), Calls()
    breaker = CircuitBreaker(5.0, clock=clock)
    redis.fail = RedisConnectionError("Connection refused")
    with pytest.raises(RedisConnectionError):
        await breaker.call(redis)
    clock.now += 5.0
    with pytest.raises(RedisConnectionError) as probe:
        await breaker.call(redis)
    assert not isinstance(probe.value, RedisUnavailable)  # this one really asked Redis
    assert redis.count == 2
    clock.now += 4.0
    with pytest.raises(RedisUnavailable):
        await breaker.call(redis)
    assert redis.count == 2


async def test_while_the_probe_is_in_flight_the_others_fail_fast() -> None:
    clock = Clock()
    breaker = CircuitBreaker(5.0, clock=clock)
    release = asyncio.Event()
    reached = 0

    async def slow() -> str:
        nonlocal reached
        reached += 1
        await release.wait()
        return "PONG"

    async def refused() -> str:
        raise RedisConnectionError("down")

    with pytest.raises(RedisConnectionError):
        await breaker.call(refused)
    clock.now += 5.0
    probe = asyncio.create_task(breaker.call(slow))
    await asyncio.sleep(0)  # let the probe start (one loop turn, not a timed wait)
    assert reached == 1
    with pytest.raises(RedisUnavailable):
        await breaker.call(slow)
    release.set()
    assert await probe == "PONG"
    assert not breaker.is_open


async def test_a_command_error_is_not_an_outage() -> None:
    redis = Calls()
    breaker = CircuitBreaker(5.0, clock=Clock())
    redis.fail = ResponseError("WRONGTYPE Operation against a key holding the wrong kind")
    with pytest.raises(ResponseError):
        await breaker.call(redis)
    assert not breaker.is_open


async def test_zero_seconds_disables_the_breaker() -> None:
    redis = Calls()
    breaker = CircuitBreaker(0, clock=Clock())
    redis.fail = RedisConnectionError("down")
    for _ in range(2):
        with pytest.raises(RedisConnectionError):
            await breaker.call(redis)
    assert redis.count == 2


class Ticks:
    """The background probe's `sleep`: each pause lasts until the test calls `tick()`."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[None] = asyncio.Queue()
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await self.queue.get()

    def tick(self) -> None:
        self.queue.put_nowait(None)


class Pings:
    """The probe's stand-in for PING: each call is reported on `calls`; `fail` makes it raise."""

    def __init__(self) -> None:
        self.calls: asyncio.Queue[bool] = asyncio.Queue()
        self.fail: BaseException | None = None

    async def __call__(self) -> str:
        failing = self.fail
        self.calls.put_nowait(failing is None)
        if failing is not None:
            raise failing
        return "PONG"


async def test_the_background_probe_closes_the_breaker_as_soon_as_redis_answers() -> None:
    """Recovery does not wait for the pause to run out: the clock never moves here, yet the
    first PING that Redis answers closes the breaker and the next command goes through."""
    clock, redis, ticks, pings = Clock(), Calls(), Ticks(), Pings()
    breaker = CircuitBreaker(5.0, clock=clock, probe=pings, probe_seconds=0.5, sleep=ticks)
    redis.fail = RedisConnectionError("Connection refused")
    pings.fail = RedisConnectionError("Connection refused")
    with pytest.raises(RedisConnectionError):
        await breaker.call(redis)
    assert breaker.is_open and not breaker.closed.is_set()

    # Redis still away: the probe's PING fails, the breaker stays open, commands fail fast.
    ticks.tick()
    assert await pings.calls.get() is False
    redis.fail = None
    with pytest.raises(RedisUnavailable):
        await breaker.call(redis)
    assert breaker.is_open and redis.count == 1

    # Redis is back: the next PING answers and closes the breaker at once.
    pings.fail = None
    ticks.tick()
    assert await pings.calls.get() is True
    await asyncio.wait_for(breaker.closed.wait(), 10)  # an event, the bound only guards a hang
    assert not breaker.is_open
    assert await breaker.call(redis) == "PONG"
    assert redis.count == 2
    assert ticks.asked == [0.5, 0.5]
    await breaker.aclose()


async def test_one_probe_runs_however_many_commands_fail() -> None:
    clock, ticks, pings = Clock(), Ticks(), Pings()
    breaker = CircuitBreaker(5.0, clock=clock, probe=pings, sleep=ticks)

    async def refused() -> str:
        raise RedisConnectionError("down")

    with pytest.raises(RedisConnectionError):
        await breaker.call(refused)
    clock.now += 5.0  # the fallback probe (a command) fails too and re-opens the breaker
    with pytest.raises(RedisConnectionError):
        await breaker.call(refused)
    await asyncio.sleep(0)  # one loop turn: the prober is waiting in its sleep
    assert len(ticks.asked) == 1
    assert pings.calls.empty()
    await breaker.aclose()
    assert breaker.is_open  # closing the client stops the probe, it does not close the breaker


async def test_without_a_probe_only_the_pause_reopens_the_way() -> None:
    clock, redis = Clock(), Calls()
    breaker = CircuitBreaker(5.0, clock=clock)
    redis.fail = RedisConnectionError("down")
    with pytest.raises(RedisConnectionError):
        await breaker.call(redis)
    redis.fail = None
    with pytest.raises(RedisUnavailable):
        await breaker.call(redis)
    clock.now += 5.0
    assert await breaker.call(redis) == "PONG"
    assert breaker.closed.is_set()
