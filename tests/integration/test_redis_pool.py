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
    assert isinstance(redis.connection_pool, LeanConnectionPool)
    await redis.set("k", "v")
    pool = redis.connection_pool
    assert len(pool._available_connections) == 1  # type: ignore[attr-defined]
    await redis.aclose()
    # The client owns its pool: closing it closes the pool's connections.
    assert not any(c.is_connected for c in pool._available_connections)  # type: ignore[attr-defined]


async def test_connections_the_server_closed_while_idle_are_replaced(
    client: BreakerRedis, other: Redis
) -> None:
    await client.set("k", "v")
    # Two connections left idle in the pool, then closed by the server (an idle timeout, an
    # admin's kill): the next commands find them dead.
    await asyncio.gather(client.get("k"), client.get("k"))
    assert len(client.connection_pool._available_connections) == 2  # type: ignore[attr-defined]
    killed = await other.client_kill_filter(_type="normal", skipme=True)
    assert killed == 2
    assert await client.get("k") == b"v"
    assert await client.set("k", "w") is True
    assert await other.get("k") == b"w"


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
