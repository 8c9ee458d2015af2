"""Telling an outage (PostgreSQL or Redis not answering) from a bug, and logging it sparingly.

During an outage every update fails the same way: the user is told "temporarily unavailable,
try again in a minute", and the log gets one line per kind of failure per minute (with how many
updates it hit), not a traceback per update. The bot recovers by itself: the engine's pool
(idle connections pinged, reconnect on error, `db.engine`) and Redis' breaker find the server
again on the next update.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from bot.ops import metrics

log = logging.getLogger("bot.outage")

REDIS = "redis"
POSTGRESQL = "postgresql"
LOG_EVERY_SECONDS = 60.0

# asyncpg's ways of saying "the server is not there (any more)".
_PG_GONE = (
    asyncpg.PostgresConnectionError,  # connection failures, CannotConnectNowError (starting up)
    asyncpg.ConnectionDoesNotExistError,  # the connection died mid-query
    asyncpg.InterfaceError,  # "connection is closed" and the like
    asyncpg.OperatorInterventionError,  # shutting down, admin shutdown, crash shutdown
    asyncpg.InsufficientResourcesError,  # too many connections
)


@dataclass(frozen=True, slots=True)
class Outage:
    """`kind` is "postgresql" or "redis"; `reason` names the failure (the exception class)."""

    kind: str
    reason: str


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc`, its causes and the driver errors SQLAlchemy wraps (`orig`), without repeats."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        item = todo.pop()
        if item in seen:
            continue
        seen.append(item)
        for nxt in (getattr(item, "orig", None), item.__cause__, item.__context__):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return seen


def classify(exc: BaseException) -> Outage | None:
    """The outage `exc` shows (looking through its causes), or None for any other failure
    (a Telegram error is never an outage of ours, even when a socket error caused it)."""
    chain = _chain(exc)
    if any(isinstance(item, TelegramAPIError | TelegramNetworkError) for item in chain):
        return None
    for item in chain:
        if isinstance(item, RedisConnectionError | RedisTimeoutError):
            return Outage(REDIS, type(item).__name__)
    for item in chain:
        if isinstance(item, (*_PG_GONE, PoolTimeoutError)):
            return Outage(POSTGRESQL, type(item).__name__)
    for item in chain:
        if isinstance(item, DBAPIError) and item.connection_invalidated:
            return Outage(POSTGRESQL, "disconnect")
    # A refused or timed-out connect reaches us as a bare OSError / TimeoutError from asyncpg.
    for item in chain:
        if isinstance(item, OSError | TimeoutError):
            return Outage(POSTGRESQL, type(item).__name__)
    return None


class OutageLog:
    """One warning per kind of outage (PostgreSQL, Redis) per `every` seconds, naming the
    failure that started it and how many updates it hit since the last line."""

    def __init__(
        self, *, every: float = LOG_EVERY_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every = every
        self._clock = clock
        self._last: dict[str, float] = {}
        self._hidden: dict[str, int] = {}

    def record(self, outage: Outage) -> bool:
        """Count `outage` (metrics) and log it unless already logged this minute; True if
        a line was written."""
        if outage.kind == POSTGRESQL:
            metrics.POSTGRES_ERRORS.labels(kind=outage.reason).inc()
        key = outage.kind
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.every:
            self._hidden[key] = self._hidden.get(key, 0) + 1
            return False
        hidden = self._hidden.pop(key, 0)
        self._last[key] = now
        more = f" (and {hidden} more updates since the last line)" if hidden else ""
        log.warning(
            "%s unavailable (%s): users are told to try again in a minute%s",
            "PostgreSQL" if outage.kind == POSTGRESQL else "Redis",
            outage.reason,
            more,
        )
        return True
