"""EventBus on the real Redis: publish/listen round trip, robustness of the listener, and the
best-effort publish (a Redis failure never propagates)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.config import load_settings
from bot.services.availability import AvailabilityService
from bot.services.events import APPOINTMENT_CREATED, SLOTS_INVALIDATED, EventBus

Received = list[tuple[str, dict[str, object]]]
WAIT = 5.0  # seconds; generous upper bound, the waits end as soon as the event arrives


@asynccontextmanager
async def listening(
    bus: EventBus, handler: Callable[[str, dict[str, object]], Awaitable[None]]
) -> AsyncIterator[asyncio.Task[None]]:
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(bus.listen(handler, stop=stop, ready=ready))
    await asyncio.wait_for(ready.wait(), WAIT)
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT)


def collector(expected: int) -> tuple[Received, asyncio.Event, Callable[..., Awaitable[None]]]:
    got: Received = []
    done = asyncio.Event()

    async def handler(kind: str, data: dict[str, object]) -> None:
        got.append((kind, data))
        if len(got) >= expected:
            done.set()

    return got, done, handler


async def test_publish_listen_round_trip(redis: Redis, redis_prefix: str) -> None:
    bus = EventBus(redis, redis_prefix)
    got, done, handler = collector(2)
    start = dt.datetime(2030, 3, 5, 7, 0, tzinfo=dt.UTC)
    async with listening(bus, handler):
        await bus.publish(APPOINTMENT_CREATED, appointment_id=7, start=start, price=Decimal("9.50"))
        await bus.publish("outbox.wake")
        await asyncio.wait_for(done.wait(), WAIT)
    assert got == [
        (
            APPOINTMENT_CREATED,
            {"appointment_id": 7, "start": "2030-03-05T07:00:00+00:00", "price": "9.50"},
        ),
        ("outbox.wake", {}),
    ]


async def test_prefixes_do_not_hear_each_other(redis: Redis, redis_prefix: str) -> None:
    mine, theirs = EventBus(redis, redis_prefix), EventBus(redis, redis_prefix + "x")
    got, done, handler = collector(1)
    async with listening(mine, handler):
        await theirs.publish("outbox.wake", n=1)
        await mine.publish("outbox.wake", n=2)
        await asyncio.wait_for(done.wait(), WAIT)
    assert got == [("outbox.wake", {"n": 2})]


async def test_a_failing_handler_and_garbage_do_not_stop_the_listener(
    redis: Redis, redis_prefix: str
) -> None:
    bus = EventBus(redis, redis_prefix)
    got, done, collect = collector(1)

    async def handler(kind: str, data: dict[str, object]) -> None:
        if data.get("boom"):
            raise RuntimeError("subscriber bug")
        await collect(kind, data)

    async with listening(bus, handler) as task:
        await redis.publish(bus.channel, b"not json")
        await bus.publish("hold.changed", boom=True)
        await bus.publish("hold.changed", boom=False)
        await asyncio.wait_for(done.wait(), WAIT)
        assert not task.done()
    assert got == [("hold.changed", {"boom": False})]


async def test_publish_without_redis_does_not_raise(redis_prefix: str) -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        await EventBus(dead, redis_prefix).publish("outbox.wake")
    finally:
        await dead.aclose()


async def test_listener_retries_a_lost_connection_and_stops_on_request(
    redis: Redis, redis_prefix: str
) -> None:
    """The first subscription fails (Redis away); the listener retries by itself and then
    delivers events; `stop` ends it promptly."""
    attempts = 0
    first_failed = asyncio.Event()
    real_pubsub = redis.pubsub

    def flaky_pubsub(**kwargs: Any) -> Any:
        nonlocal attempts
        attempts += 1
        pubsub = real_pubsub(**kwargs)
        if attempts == 1:

            async def refuse(*channels: object) -> None:
                first_failed.set()
                raise RedisConnectionError("Redis is away")

            pubsub.subscribe = refuse  # type: ignore[method-assign]
        return pubsub

    redis.pubsub = flaky_pubsub  # type: ignore[method-assign]
    bus = EventBus(redis, redis_prefix)
    got, done, handler = collector(1)
    try:
        async with listening(bus, handler):
            assert first_failed.is_set()
            await bus.publish("outbox.wake")
            await asyncio.wait_for(done.wait(), WAIT)
    finally:
        redis.pubsub = real_pubsub  # type: ignore[method-assign]
    assert attempts == 2
    assert got == [("outbox.wake", {})]


async def test_invalidate_announces_itself(redis: Redis, redis_prefix: str) -> None:
    settings = load_settings(bot_token="1:test", redis_prefix=redis_prefix)
    bus = EventBus(redis, redis_prefix)

    class NoHolds:
        async def holds_between(self, *args: object) -> list[object]:
            return []

    service = AvailabilityService(None, redis, settings, NoHolds(), events=bus)  # type: ignore[arg-type]
    got, done, handler = collector(1)
    async with listening(bus, handler):
        await service.invalidate(location_id=3, day=dt.date(2030, 3, 5))
        await asyncio.wait_for(done.wait(), WAIT)
    assert got == [(SLOTS_INVALIDATED, {"location_id": 3, "day": "2030-03-05"})]
    # The date's version and the next date's (a block may reach past midnight).
    for day in ("2030-03-05", "2030-03-06"):
        assert await redis.get(f"{redis_prefix}:slots:ver:loc:3:{day}") == b"1"
