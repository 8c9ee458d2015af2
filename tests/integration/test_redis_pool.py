"""The bot's Redis pool (`bot.ops.redis.LeanConnectionPool`) skips redis-py's look into each
connection it hands out. What that look guards against still cannot happen: a connection the
server closed is replaced by the client's one retry, and a command cut off midway leaves no
reply behind for the next command. Each on a throw-away Redis (connections are killed, the
server restarted)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.ops.redis import BreakerRedis, LeanConnectionPool, make_redis
from tests.servers import RedisServer, throwaway_redis


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with throwaway_redis() as redis_server:
        yield redis_server


@pytest.fixture
async def client(server: RedisServer) -> AsyncIterator[BreakerRedis]:
    # No breaker: a failed command would otherwise make the next one fail at once.
    redis = make_redis(server.url, timeout=1.0, breaker_seconds=0)
    try:
        yield redis
    finally:
        await redis.aclose()


@pytest.fixture
async def other(server: RedisServer) -> AsyncIterator[Redis]:
    redis: Redis = Redis.from_url(server.url)
    try:
        yield redis
    finally:
        await redis.aclose()


async def test_the_bot_client_uses_the_lean_pool_and_closes_it(server: RedisServer) -> None:
    redis = make_redis(server.url, timeout=1.0, breaker_seconds=0)
    pool = redis.connection_pool
    try:
        assert isinstance(pool, LeanConnectionPool)
        await redis.set("k", "v")
        assert len(pool._available_connections) == 1
    finally:
        await redis.aclose()
    # The client owns its pool: closing it closes the pool's connections.
    assert not any(c.is_connected for c in pool._available_connections)


async def test_connections_the_server_closed_while_idle_are_replaced(
    client: BreakerRedis, other: Redis
) -> None:
    await client.set("k", "v")
    # Two connections left idle in the pool, then closed by the server (an idle timeout, an
    # admin's kill): the next two commands at once take one each and find it dead.
    await asyncio.gather(client.get("k"), client.get("k"))
    idle = list(client.connection_pool._available_connections)
    assert len(idle) == 2
    killed = await other.client_kill_filter(_type="normal", skipme=True)
    assert killed == 2
    assert await asyncio.gather(client.get("k"), client.set("k", "w")) == [b"v", True]
    assert await other.get("k") == b"w"
    # Both were used, failed once and connected again (the client's retry).
    assert set(client.connection_pool._available_connections) == set(idle)
    assert all(c.is_connected for c in idle)


async def test_a_restarted_server_is_found_again_by_the_next_command(
    server: RedisServer, client: BreakerRedis
) -> None:
    await client.set("k", "v")
    server.stop()
    server.start()  # the same port, no data kept
    assert await client.get("k") is None
    assert await client.set("k", "again") is True
    assert await client.get("k") == b"again"


async def test_a_command_cut_off_midway_leaves_no_reply_for_the_next(
    server: RedisServer, other: Redis
) -> None:
    client = make_redis(server.url, timeout=0.2, breaker_seconds=0)
    try:
        await client.set("k", "v")
        # BLPOP waits 5 s on the server: the deadline cuts it off after 0.2 s.
        with pytest.raises(RedisTimeoutError):
            await client.blpop(["queue"], timeout=5)
        # Had that connection gone back to the pool still waiting, this push would be its
        # reply, read by the next command on it as its own.
        await other.rpush("queue", "stale")
        assert await client.get("k") == b"v"
        assert await client.get("k") == b"v"
    finally:
        await client.aclose()


async def test_a_pipeline_cut_off_by_a_reply_that_cannot_be_read_leaves_no_reply_behind(
    client: BreakerRedis,
) -> None:
    """redis-py stops reading a pipeline's replies at a reply whose callback raises, and gives
    the connection back with the rest of them in it; the bot's pipeline closes it instead."""
    await client.set("a", "A")
    await client.set("b", "B")
    await client.zadd("z", {"m": 1})

    def unreadable(score: object) -> float:
        raise ValueError("not a score")

    with pytest.raises(ValueError, match="not a score"):
        async with client.pipeline(transaction=False) as pipe:
            pipe.zrange("z", 0, -1, withscores=True, score_cast_func=unreadable)
            pipe.get("b")
            await pipe.execute()
    assert await client.get("a") == b"A"
    assert await client.get("b") == b"B"
