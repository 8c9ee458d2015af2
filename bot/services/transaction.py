"""One transaction per use case, run again after a serialization failure or a deadlock; and
sessions for reads that need none.

Every service (and the outbox worker) opens its write transactions here, so the retry rule is
written once: PostgreSQL reports a transient conflict as sqlstate 40001 (serialization failure)
or 40P01 (deadlock detected); the transaction was rolled back as a whole, so running the same
body again from a fresh session is safe. Anything else propagates at once.

A use case that only reads opens `read_session` instead: its statements run outside a
transaction (autocommit). At READ COMMITTED each statement sees what was committed when it
started either way, so nothing changes but the BEGIN and ROLLBACK round trips it saves.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.errors import RETRYABLE, sqlstate

log = logging.getLogger(__name__)

T = TypeVar("T")

# How many times one use case's transaction runs at most (the first run included) before the
# transient error reaches the caller.
TRANSACTION_ATTEMPTS = 5
# Backoff before re-run n (n = 1, 2, ...): a random delay in [0, min(cap, base * 2^(n-1))]
# ("full jitter"), so transactions that collided once do not collide again in lockstep.
RETRY_BACKOFF_BASE_SECONDS = 0.01
RETRY_BACKOFF_CAP_SECONDS = 0.2

Sleep = Callable[[float], Awaitable[None]]


def is_retryable(exc: BaseException) -> bool:
    """True for a serialization failure (40001) or a deadlock (40P01)."""
    return isinstance(exc, DBAPIError) and sqlstate(exc) in RETRYABLE


def retry_delay(retry: int, *, rng: random.Random | None = None) -> float:
    """Seconds to wait before re-run number `retry` (1-based): jittered, capped exponential."""
    ceiling = min(RETRY_BACKOFF_CAP_SECONDS, RETRY_BACKOFF_BASE_SECONDS * 2 ** (retry - 1))
    return (rng or random).uniform(0.0, ceiling)


async def in_transaction(
    sessions: async_sessionmaker[AsyncSession],
    body: Callable[[AsyncSession], Awaitable[T]],
    *,
    attempts: int = TRANSACTION_ATTEMPTS,
    sleep: Sleep = asyncio.sleep,
) -> T:
    """Run `body(session)` in one transaction and commit; return what it returned.

    On a serialization failure or deadlock (sqlstate 40001 / 40P01) the transaction has been
    rolled back, and `body` runs again in a fresh session after a jittered backoff, up to
    `attempts` runs in all; the last such error is re-raised. Every other exception (domain
    errors included) rolls back and propagates at once. `body` must not commit.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(1, attempts + 1):
        try:
            async with sessions() as session, session.begin():
                return await body(session)
        except DBAPIError as exc:
            if not is_retryable(exc) or attempt == attempts:
                raise
            log.info("transaction attempt %s hit %s; running it again", attempt, sqlstate(exc))
        await sleep(retry_delay(attempt))
    raise AssertionError("unreachable")  # the loop returns or raises


# engine -> the same engine (same pool) whose connections run in autocommit: built once, as
# building one costs about 50 µs.
_AUTOCOMMIT: WeakKeyDictionary[AsyncEngine, AsyncEngine] = WeakKeyDictionary()


def read_session(sessions: async_sessionmaker[AsyncSession]) -> AsyncSession:
    """A new session of `sessions` whose statements run outside a transaction (autocommit), for
    a use case that writes nothing: no BEGIN before its first statement, no ROLLBACK when it
    closes. Each statement sees what was committed when it started, as at READ COMMITTED
    inside a transaction; a use case that needs its reads to agree with each other (REPEATABLE
    READ) or writes anything opens a transaction instead. The connection is checked out at
    the first statement, as with any session, and goes back to the pool in its default
    isolation level. A factory not bound to an `AsyncEngine` gives a plain session."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        return sessions()
    autocommit = _AUTOCOMMIT.get(bind)
    if autocommit is None:
        autocommit = _AUTOCOMMIT[bind] = bind.execution_options(isolation_level="AUTOCOMMIT")
    return sessions(bind=autocommit)
