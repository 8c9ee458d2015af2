"""Redis command deadlines (`bot.ops.redis.deadline`) count Redis' time, not the time this
process's event loop was too busy to read an answer that had arrived: the cause of false Redis
timeouts (and a breaker opened while Redis was fine) under a burst of updates on a busy host.
A Redis that really does not answer still times out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.ops.redis import deadline, make_redis
from bot.services import events
from bot.services.events import EventBus
from tests.emulator.fixtures import REDIS_URL

TIMEOUT = 0.3
BUSY = 0.8  # seconds the loop is blocked: longer than TIMEOUT
# A script that answers after 0.1 s of Redis' time (within TIMEOUT): the answer arrives while
# the loop is busy, not before the loop's next look at its sockets.
SLOW_ANSWER = """
local t = redis.call('TIME')
repeat
  local n = redis.call('TIME')
until (n[1] - t[1]) * 1000000 + (n[2] - t[2]) >= 100000
return 7
"""


def _busy_loop() -> None:
    time.sleep(BUSY)  # the CPU work of other updates, or a host that runs other processes


@contextlib.contextmanager
def loop_busy_after_each_send(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Right after a command went out, the event loop is busy for BUSY seconds: Redis answers
    meanwhile, and the answer waits in the socket until the loop reads it."""
    send = Connection.send_packed_command

    async def send_then_busy(self: Connection, *args: Any, **kwargs: Any) -> None:
        await send(self, *args, **kwargs)
        asyncio.get_running_loop().call_soon(_busy_loop)

    with monkeypatch.context() as patch:
        patch.setattr(Connection, "send_packed_command", send_then_busy)
        yield


async def test_an_answer_read_late_by_a_busy_loop_is_not_a_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = make_redis(REDIS_URL, timeout=TIMEOUT)
    plain = Redis.from_url(REDIS_URL, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
    try:
        await client.ping()
        await plain.ping()
        with loop_busy_after_each_send(monkeypatch):
            # A plain socket timeout throws the arrived answer away: the cause.
            with pytest.raises(RedisTimeoutError):
                await plain.eval(SLOW_ANSWER, 0)
            assert await client.eval(SLOW_ANSWER, 0) == 7
            async with client.pipeline(transaction=False) as pipe:
                pipe.eval(SLOW_ANSWER, 0)
                assert await pipe.execute() == [7]
        assert not client.breaker.is_open
    finally:
        await client.aclose()
        await plain.aclose()


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A TCP port that accepts and never answers (a hung Redis); yields the port."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_redis_that_does_not_answer_still_times_out() -> None:
    async with silent_server() as port:
        client = make_redis(f"redis://127.0.0.1:{port}/0", timeout=TIMEOUT, breaker_seconds=0)
        try:
            with pytest.raises(RedisTimeoutError):
                await asyncio.wait_for(client.get("x"), 10)
        finally:
            await client.aclose()


async def test_deadline_waits_out_a_busy_loop_where_asyncio_timeout_does_not() -> None:
    """Both timers come due in the loop pass after the busy spell; asyncio's cancels the work
    that pass had just finished, the deadline lets it through."""
    loop = asyncio.get_running_loop()

    async def work_done_during_busy_spell() -> str:
        loop.call_soon(_busy_loop)
        await asyncio.sleep(TIMEOUT / 4)  # "Redis' answer": due long before the timeout
        return "answer"

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(TIMEOUT):
            await work_done_during_busy_spell()
    async with deadline(TIMEOUT):
        assert await work_done_during_busy_spell() == "answer"
    with pytest.raises(TimeoutError):  # work that really takes too long still times out
        async with deadline(TIMEOUT):
            await asyncio.sleep(30)


async def test_a_pipeline_and_a_script_to_a_redis_that_does_not_answer_time_out() -> None:
    """The client's sockets have no read timeout of their own (`make_redis`): the deadline
    alone ends what a hung Redis never answers, connecting included."""
    async with silent_server() as port:
        client = make_redis(f"redis://127.0.0.1:{port}/0", timeout=TIMEOUT, breaker_seconds=0)
        try:
            assert client.connection_pool.connection_kwargs["socket_timeout"] is None
            with pytest.raises(RedisTimeoutError):
                async with client.pipeline(transaction=True) as pipe:
                    pipe.get("x")
                    pipe.incr("y")
                    await asyncio.wait_for(pipe.execute(), 10)
            with pytest.raises(RedisTimeoutError):
                await asyncio.wait_for(client.eval("return 1", 0), 10)
        finally:
            await client.aclose()


@pytest.fixture
def retried(monkeypatch: pytest.MonkeyPatch) -> Iterator[asyncio.Event]:
    """Set when the event listener logs that it lost Redis and retries; its subscribe (and
    reconnect) bound is `TIMEOUT` meanwhile."""
    monkeypatch.setattr(events, "_SUBSCRIBE_SECONDS", TIMEOUT)
    event = asyncio.Event()

    class Retries(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("event listener lost Redis"):
                event.set()

    watcher = Retries()
    events.log.addHandler(watcher)
    try:
        yield event
    finally:
        events.log.removeHandler(watcher)


async def test_the_event_listener_on_a_redis_that_does_not_answer_stops_when_asked(
    retried: asyncio.Event,
) -> None:
    """Subscribing to a hung Redis (which never answers the connection's handshake) gives up
    after `_SUBSCRIBE_SECONDS` and retries, so the listener still ends when `stop` is set."""
    handled: list[str] = []

    async def handler(kind: str, _data: dict[str, object]) -> None:
        handled.append(kind)

    async with silent_server() as port:
        client = make_redis(f"redis://127.0.0.1:{port}/0", timeout=TIMEOUT, breaker_seconds=0)
        stop = asyncio.Event()
        listening = asyncio.create_task(EventBus(client, "t").listen(handler, stop=stop))
        try:
            await asyncio.wait_for(retried.wait(), 10)
            stop.set()
            await asyncio.wait_for(listening, 10)
        finally:
            listening.cancel()
            await client.aclose()
    assert handled == []


class SilentableProxy:
    """A TCP proxy to the test Redis whose connections can be cut, and which can turn silent
    for new connections (accepts and reads, never answers: a hung Redis)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.silent = False
        self.port = 0
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> SilentableProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cut()
        self._server.close()
        await self._server.wait_closed()

    def cut(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        if self.silent:
            with contextlib.suppress(OSError):
                while await reader.read(65536):
                    pass
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers.append(up_writer)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))


class CountedEvent(asyncio.Event):
    """An event whose `set` also counts; `reached` is set at the `times`-th call."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.calls = 0
        self.times = times
        self.reached = asyncio.Event()

    def set(self) -> None:
        super().set()
        self.calls += 1
        if self.calls >= self.times:
            self.reached.set()


async def test_the_event_listener_reconnects_past_a_redis_that_hung_meanwhile(
    retried: asyncio.Event,
) -> None:
    """The listener's connection drops while Redis hangs: reopening it inside `get_message`
    never gets the handshake's answer. The listener gives up after its bound, subscribes again
    once Redis answers, and gets the next event."""
    target = Redis.from_url(REDIS_URL)
    host = target.connection_pool.connection_kwargs["host"]
    port = target.connection_pool.connection_kwargs.get("port", 6379)
    got: asyncio.Queue[str] = asyncio.Queue()

    async def handler(kind: str, _data: dict[str, object]) -> None:
        got.put_nowait(kind)

    async with SilentableProxy((host, port)) as proxy:
        client = make_redis(f"redis://127.0.0.1:{proxy.port}/0", timeout=TIMEOUT, breaker_seconds=0)
        bus = EventBus(client, f"test:{time.monotonic_ns()}")
        subscribed = CountedEvent(times=2)
        stop = asyncio.Event()
        listening = asyncio.create_task(bus.listen(handler, stop=stop, ready=subscribed))
        try:
            await asyncio.wait_for(subscribed.wait(), 10)
            await target.publish(bus.channel, '{"kind": "before"}')
            assert await asyncio.wait_for(got.get(), 10) == "before"
            proxy.silent = True
            proxy.cut()
            await asyncio.wait_for(retried.wait(), 10)
            proxy.silent = False
            await asyncio.wait_for(subscribed.reached.wait(), 10)
            await target.publish(bus.channel, '{"kind": "after"}')
            assert await asyncio.wait_for(got.get(), 10) == "after"
            stop.set()
            await asyncio.wait_for(listening, 10)
        finally:
            listening.cancel()
            await client.aclose()
            await target.aclose()
