"""The Redis client of the bot: short timeouts and a circuit breaker.

A Redis that hangs (paused, overloaded, a black-holed network) does not refuse connections; it
just never answers. Without care every update would wait the full socket timeout, one after
another. So:

- every command may take at most `timeout` seconds (connect and read) of Redis' time: the
  deadline (`deadline`) does not count the time this process's event loop was too busy to read
  an answer that had arrived. A plain socket timeout does, and under a burst of updates (or a
  CPU-starved host) the loop can run a second late: the answer is in the socket, but the timer
  fires in the same loop pass, before the read resumes. Those false timeouts opened the breaker
  and answered "temporarily unavailable" while Redis was fine;
- a command is not retried after a timeout; after a broken connection it is retried once, on a
  fresh connection (a restarted Redis leaves dead connections in the pool);
- after a failure the breaker opens: every command fails at once with `RedisUnavailable` (a
  `redis.exceptions.ConnectionError`, so the bot answers "temporarily unavailable" as for a
  Redis that is down);
- while it is open, a background probe sends `PING` every `probe_seconds`, beside the updates
  (none of them waits for it): the first answer closes the breaker, so the bot serves again
  within about `probe_seconds` of Redis' return (a paused Redis answers the PING in flight the
  moment it resumes). As a fallback, when no probe ran (say, no event loop was left to run it),
  the first command after `breaker_seconds` is let through as the probe.

A hand-written breaker rather than a library: it has to sit inside redis-py's client (every
command, pipeline and script passes through `execute_command` / `Pipeline.execute`), which the
decorator-style breaker libraries do not reach, and it is a few lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.ops import metrics

log = logging.getLogger(__name__)

T = TypeVar("T")

# What counts as Redis failing (a wrong command or a WRONGTYPE reply does not).
FAILURES = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisUnavailable(RedisConnectionError):
    """The breaker is open: Redis failed a moment ago and is not asked again yet."""


Probe = Callable[[], Awaitable[Any]]
Sleep = Callable[[float], Awaitable[Any]]


class CircuitBreaker:
    """closed -> (a failure) -> open -> a probe answered -> closed.

    While open, a background task awaits `probe()` (Redis' PING, past the breaker) every
    `probe_seconds` (waiting with `sleep`) until one answers; the first command after
    `open_seconds` is a probe too. `clock` is `time.monotonic` (seconds); tests pass their own
    clock and `sleep`. `open_seconds=0` disables the breaker; `probe=None` the background probe.
    `closed` is set whenever the breaker is closed (tests and the readiness check wait on it).
    """

    def __init__(
        self,
        open_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        probe: Probe | None = None,
        probe_seconds: float = 0.5,
        sleep: Sleep = asyncio.sleep,
    ):
        self.open_seconds = open_seconds
        self.clock = clock
        self.probe = probe
        self.probe_seconds = probe_seconds
        self.sleep = sleep
        self.closed = asyncio.Event()
        self.closed.set()
        self._open_until: float | None = None
        self._probing = False
        self._prober: asyncio.Task[None] | None = None

    @property
    def is_open(self) -> bool:
        return self._open_until is not None

    def before_call(self) -> bool:
        """Raise `RedisUnavailable` while open; returns True if this call is the probe."""
        if self._open_until is None:
            return False
        if self._probing or self.clock() < self._open_until:
            raise RedisUnavailable("Redis failed a moment ago; not asked again yet")
        self._probing = True
        return True

    def succeeded(self, probe: bool) -> None:
        if probe or self._open_until is not None:
            self._close()
        if probe:
            self._probing = False

    def _close(self) -> None:
        if self._open_until is not None:
            log.info("Redis answers again")
        self._open_until = None
        self.closed.set()

    def failed(self, probe: bool, exc: BaseException) -> None:
        if probe:
            self._probing = False
        if self.open_seconds <= 0:
            return
        if self._open_until is None:
            log.warning(
                "Redis failed (%s: %s): answering 'temporarily unavailable' for %.0f s, "
                "then trying again",
                type(exc).__name__,
                exc,
                self.open_seconds,
            )
        self._open_until = self.clock() + self.open_seconds
        self.closed.clear()
        self._start_prober()

    def _start_prober(self) -> None:
        if self.probe is None or (self._prober is not None and not self._prober.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop: the fallback probe after `open_seconds` remains
            return
        self._prober = loop.create_task(self._probe_until_closed(), name="redis-breaker-probe")

    async def _probe_until_closed(self) -> None:
        """PING every `probe_seconds` until Redis answers (or the breaker closed otherwise)."""
        assert self.probe is not None
        while self._open_until is not None:
            await self.sleep(self.probe_seconds)
            if self._open_until is None:
                return
            try:
                await self.probe()
            except FAILURES:
                continue  # still away: the breaker stays open, nothing more to log
            self._close()

    async def aclose(self) -> None:
        """Stop the background probe (the client is closing)."""
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
            self._prober = None

    async def call(self, fn: Callable[[], Any]) -> Any:
        """Run `await fn()` through the breaker."""
        probe = self.before_call()
        try:
            result = await fn()
        except FAILURES as exc:
            metrics.REDIS_ERRORS.labels(kind=type(exc).__name__).inc()
            self.failed(probe, exc)
            raise
        except BaseException:
            if probe:
                self._probing = False
            raise
        self.succeeded(probe)
        return result


# A deadline timer that runs later than this (seconds) ran on a busy loop, not on time.
_LATE_SECONDS = 0.02
# However late the loop runs, a command ends after this many times its timeout.
_HARD_LIMIT_FACTOR = 5


class deadline:  # used as `async with deadline(seconds)`, like asyncio.timeout
    """Like `asyncio.timeout(seconds)` (raises `TimeoutError`), but measured on a responsive
    event loop, so that an answer that arrived in time is never thrown away because the loop
    read it late.

    When the timer fires late (the loop was busy: other updates' work, or the host's CPU went
    to other processes), the deadline moves on by as much as it was late, up to
    `_HARD_LIMIT_FACTOR * seconds` in all. When it fires on time, the cancel waits one loop
    pass: a read the same pass has just made ready resumes first, and the cancel then finds
    the block left. So a timeout means Redis did not answer within `seconds` of loop time.

    A class rather than a generator-based context manager: it wraps every Redis command, and
    the generator's frames cost about a fifth of the wrapper's CPU (docs/bench-stack.md).
    """

    __slots__ = ("_due", "_handle", "_limit", "_loop", "_seconds", "_timeout")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    async def __aenter__(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        timeout = self._timeout = asyncio.timeout(None)
        await timeout.__aenter__()
        start = loop.time()
        self._due = start + self._seconds
        self._limit = start + self._seconds * _HARD_LIMIT_FACTOR
        self._handle = loop.call_at(self._due, self._check)

    def _check(self) -> None:
        now = self._loop.time()
        late = now - self._due
        if late > _LATE_SECONDS and now < self._limit:
            self._due = min(now + late, self._limit)
            self._handle = self._loop.call_at(self._due, self._check)
        else:
            self._timeout.reschedule(now)  # due now: runs after what this pass made ready

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._handle.cancel()
        await self._timeout.__aexit__(kind, exc, tb)  # raises TimeoutError when it expired


async def _within(seconds: float | None, run: Callable[[], Awaitable[T]]) -> T:
    """`await run()` under `deadline(seconds)` (None: no deadline); a missed deadline is
    redis-py's `TimeoutError`, as a socket timeout would be."""
    if seconds is None:
        return await run()
    try:
        async with deadline(seconds):
            return await run()
    except TimeoutError as exc:
        raise RedisTimeoutError(f"Redis did not answer within {seconds} s") from exc


class _BreakerPipeline(Pipeline):
    breaker: CircuitBreaker
    command_timeout: float | None

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        metrics.REDIS_COMMANDS.inc(len(self.command_stack))
        run = super().execute
        result: list[Any] = await self.breaker.call(
            lambda: _within(self.command_timeout, lambda: run(raise_on_error))
        )
        return result

    async def _execute_pipeline(self, connection: Any, commands: Any, raise_on_error: bool) -> Any:
        """redis-py's (`transaction=False`), except that a failure before every reply was read
        (a reply's callback that raised) closes the connection: redis-py would give it back to
        the pool with the other replies in it, for the next command to read as its own (the
        stock pool's look into each connection caught that; `LeanConnectionPool` does not
        look). A `ResponseError` comes after every reply was read."""
        try:
            return await super()._execute_pipeline(connection, commands, raise_on_error)
        except ResponseError:
            raise
        except BaseException:
            await connection.disconnect(nowait=True)
            raise


class LeanConnectionPool(ConnectionPool):
    """redis-py's pool without the work it does on every command that this client never needs
    (docs/bench-stack.md: about a third of a GET's CPU in this process):

    - the check that a connection taken from the pool has nothing to read
      (`can_read_destructive`): it starts a read of the socket under a zero timeout and
      cancels it, an extra pass of the event loop per command. A connection cannot come back
      with a reply left unread: redis-py disconnects one whose command failed or was cancelled
      midway (a missed `deadline` included), and so does this client's pipeline where
      redis-py does not (`_BreakerPipeline._execute_pipeline`). One the server closed while
      idle (a restart, an idle timeout) fails its next command with a broken connection, and
      the client's one retry sends it again on a fresh connection (the server never read the
      first, so nothing runs twice);
    - the connect call through the retry policy for a connection that is connected already;
    - the pool's lock (nothing is awaited between taking a connection and marking it used),
      the four observability records (OpenTelemetry, which the bot does not use) and the
      release event (it re-authenticates connections of a streaming credential provider,
      which the bot does not use either).

    The limit on connections and a connection marked for reconnecting (`should_reconnect`)
    are kept."""

    async def get_connection(
        self, command_name: Any = None, *keys: Any, **options: Any
    ) -> AbstractConnection:
        """A connection from the pool (a new one when none is idle), connected. Raises
        `MaxConnectionsError` at the pool's limit and redis-py's `ConnectionError` or
        `TimeoutError` when connecting fails (the connection is then back in the pool)."""
        # redis-py leaves these unannotated.
        connection: AbstractConnection = self.get_available_connection()  # type: ignore[no-untyped-call]
        if not connection.is_connected:
            try:
                await connection.connect()  # type: ignore[no-untyped-call]
            except BaseException:
                await self.release(connection)
                raise
        return connection

    async def release(self, connection: AbstractConnection) -> None:
        self._in_use_connections.remove(connection)
        if connection.should_reconnect():  # type: ignore[no-untyped-call]
            await connection.disconnect()
        self._available_connections.append(connection)


class BreakerRedis(Redis):
    """`redis.asyncio.Redis` whose commands and pipelines pass through `self.breaker`, each
    within `command_timeout` seconds (`deadline`; None: the socket timeouts alone)."""

    breaker: CircuitBreaker
    command_timeout: float | None = None

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        metrics.REDIS_COMMANDS.inc()
        run = super().execute_command
        # redis-py leaves execute_command unannotated.
        return await self.breaker.call(
            lambda: _within(self.command_timeout, lambda: run(*args, **options))  # type: ignore[no-untyped-call]
        )

    async def ping_past_breaker(self) -> Any:
        """`PING`, not through the breaker: the breaker's own probe."""
        run = super().execute_command
        return await _within(self.command_timeout, lambda: run("PING"))  # type: ignore[no-untyped-call]

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await self.breaker.aclose()
        await super().aclose(close_connection_pool)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        pipe = _BreakerPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.breaker = self.breaker
        pipe.command_timeout = self.command_timeout
        return pipe


def make_redis(
    url: str, *, timeout: float, breaker_seconds: float = 5.0, probe_seconds: float = 0.5
) -> BreakerRedis:
    """A client for `url` (bytes replies) whose commands end after `timeout` seconds of Redis'
    time (`deadline`), one retry after a broken connection and none after a timeout, and a
    breaker (0 `breaker_seconds`: none) that a PING every `probe_seconds` closes as soon as
    Redis answers again, or the first command after `breaker_seconds`.

    Connecting may take `_HARD_LIMIT_FACTOR` times `timeout`. The sockets' reads and writes get
    no timeout of their own: every command, pipeline and script runs under `deadline` (which
    ends it after `_HARD_LIMIT_FACTOR` times `timeout` however late the loop runs), and the
    event listener bounds its own reads and reconnects (`bot.services.events`). A pipeline's
    `watch` (immediate execution, outside `execute`) would have no bound: the bot uses none.
    A socket timeout made redis-py send each command through `asyncio.wait_for`, a new task
    per command: about a third of a command's CPU in this process (docs/bench-stack.md)."""
    pool = LeanConnectionPool.from_url(
        url,
        socket_timeout=None,
        socket_connect_timeout=timeout * _HARD_LIMIT_FACTOR,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        health_check_interval=30,
    )
    redis = cast(BreakerRedis, BreakerRedis.from_pool(pool))
    redis.command_timeout = timeout
    redis.breaker = CircuitBreaker(
        breaker_seconds, probe=redis.ping_past_breaker, probe_seconds=probe_seconds
    )
    return redis
