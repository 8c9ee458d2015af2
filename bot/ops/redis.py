"""The Redis client of the bot: short timeouts and a circuit breaker.

A Redis that hangs (paused, overloaded, a black-holed network) does not refuse connections; it
just never answers. Without care every update would wait the full socket timeout, one after
another. So:

- every command may take at most `timeout` seconds (connect and read);
- a command is not retried after a timeout; after a broken connection it is retried once, on a
  fresh connection (a restarted Redis leaves dead connections in the pool);
- after a failure the breaker opens: for `breaker_seconds` every command fails at once with
  `RedisUnavailable` (a `redis.exceptions.ConnectionError`, so the bot answers "temporarily
  unavailable" as for a Redis that is down). Then one command is let through as a probe:
  its success closes the breaker, its failure opens it again.

A hand-written breaker rather than a library: it has to sit inside redis-py's client (every
command, pipeline and script passes through `execute_command` / `Pipeline.execute`), which the
decorator-style breaker libraries do not reach, and it is a few lines.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.ops import metrics

log = logging.getLogger(__name__)

# What counts as Redis failing (a wrong command or a WRONGTYPE reply does not).
FAILURES = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisUnavailable(RedisConnectionError):
    """The breaker is open: Redis failed a moment ago and is not asked again yet."""


class CircuitBreaker:
    """closed -> (a failure) -> open for `open_seconds` -> one probe -> closed or open again.

    `clock` is `time.monotonic` (seconds); tests pass their own. `open_seconds=0` disables it.
    """

    def __init__(self, open_seconds: float, *, clock: Callable[[], float] = time.monotonic):
        self.open_seconds = open_seconds
        self._clock = clock
        self._open_until: float | None = None
        self._probing = False

    @property
    def is_open(self) -> bool:
        return self._open_until is not None

    def before_call(self) -> bool:
        """Raise `RedisUnavailable` while open; returns True if this call is the probe."""
        if self._open_until is None:
            return False
        if self._probing or self._clock() < self._open_until:
            raise RedisUnavailable("Redis failed a moment ago; not asked again yet")
        self._probing = True
        return True

    def succeeded(self, probe: bool) -> None:
        if probe or self._open_until is not None:
            if self._open_until is not None:
                log.info("Redis answers again")
            self._open_until = None
        if probe:
            self._probing = False

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
        self._open_until = self._clock() + self.open_seconds

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


class _BreakerPipeline(Pipeline):
    breaker: CircuitBreaker

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        run = super().execute
        result: list[Any] = await self.breaker.call(lambda: run(raise_on_error))
        return result


class BreakerRedis(Redis):
    """`redis.asyncio.Redis` whose commands and pipelines pass through `self.breaker`."""

    breaker: CircuitBreaker

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        run = super().execute_command
        # redis-py leaves execute_command unannotated.
        return await self.breaker.call(lambda: run(*args, **options))  # type: ignore[no-untyped-call]

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        pipe = _BreakerPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.breaker = self.breaker
        return pipe


def make_redis(url: str, *, timeout: float, breaker_seconds: float = 5.0) -> BreakerRedis:
    """A client for `url` (bytes replies) with `timeout`-second connects and reads, one retry
    after a broken connection and none after a timeout, and a breaker that stays open
    `breaker_seconds` after a failure (0: no breaker)."""
    redis = cast(
        BreakerRedis,
        BreakerRedis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            health_check_interval=30,
        ),
    )
    redis.breaker = CircuitBreaker(breaker_seconds)
    return redis
