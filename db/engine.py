"""Engine and session factory. Repositories never commit; the service that owns a use case does."""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

# Seconds to wait for a new connection: an unreachable PostgreSQL fails an update quickly
# ("temporarily unavailable") instead of after asyncpg's default minute.
CONNECT_TIMEOUT_SECONDS = 5
# Pooled connections are replaced after this many seconds (a server restarted, a proxy or a
# firewall that drops idle connections): a new connection costs one handshake every few minutes.
POOL_RECYCLE_SECONDS = 300
# Connections a pool keeps open; up to `max_overflow` more are opened under load and closed as
# soon as they are returned (a connect and fresh statement preparations each time).
POOL_SIZE = 10
# A connection that sat in the pool longer than this is pinged before use; a busy pool (a
# connection reused within the second) is never pinged: the ping is a round trip per checkout.
IDLE_PING_SECONDS = 1.0
_CHECKED_IN_AT = "checked_in_at"


def json_text(value: Any) -> str:
    """A JSONB column's value as the JSON text sent to PostgreSQL, by orjson: about a sixth of
    the standard library's CPU for an outbox payload (1.1 against 6.2 us), and every booking
    writes up to five. Keys that are not strings become strings, as the standard library makes
    them. Raises `TypeError` for what JSON cannot hold (as the standard library does; integers
    beyond 64 bits too)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


async def _ping(connection: Any) -> None:
    """An empty statement on the raw asyncpg `connection`: one round trip. The dialect's own
    ping (`do_ping`) wraps it in a transaction of its own (BEGIN, the statement, ROLLBACK:
    three round trips), which only a transaction-pooling proxy in front of PostgreSQL needs;
    the bot connects to PostgreSQL itself (docker-compose.yml)."""
    await connection.fetchrow(";")


def _connect_args() -> dict[str, Any]:
    """asyncpg's connect arguments: the connect timeout, and the name PostgreSQL shows for the
    bot's sessions (`pg_stat_activity.application_name`)."""
    return {
        "timeout": CONNECT_TIMEOUT_SECONDS,
        "server_settings": {"application_name": "booking-bot"},
    }


def make_engine(
    url: str,
    *,
    pool_size: int = POOL_SIZE,
    max_overflow: int = 20,
    pool_timeout: float = 30.0,
    idle_ping_seconds: float = IDLE_PING_SECONDS,
) -> AsyncEngine:
    """The async engine. Keeps SQL parameters (phone numbers, payment payloads) out of error
    messages and so out of the logs.

    A restarted server is found again without a restart of the bot, without a ping per
    checkout (`pool_pre_ping` would add a round trip to every transaction):
    - a connection idle for more than `idle_ping_seconds` is pinged at checkout and replaced
      if the server does not answer (a restart during a quiet moment costs nobody an error);
    - a statement that finds its connection broken invalidates the whole pool (SQLAlchemy's
      reconnect-on-error), so at most the update in flight is answered "temporarily
      unavailable" and the next one runs on fresh connections;
    - connections are recycled after `POOL_RECYCLE_SECONDS` anyway.
    """
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_recycle=POOL_RECYCLE_SECONDS,
        hide_parameters=True,
        connect_args=_connect_args(),
        json_serializer=json_text,
    )
    pool = engine.sync_engine.pool

    def on_checkin(dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        checked_in = record.info.get(_CHECKED_IN_AT)
        if checked_in is None or time.monotonic() - checked_in <= idle_ping_seconds:
            return
        try:
            dbapi_connection.run_async(_ping)
        except Exception as exc:
            # The pool drops this connection and checks out (or opens) another.
            raise DisconnectionError(str(exc)) from exc

    event.listen(pool, "checkin", on_checkin)
    event.listen(pool, "checkout", on_checkout)
    return engine


def make_unpooled_engine(url: str) -> AsyncEngine:
    """An engine without a pool: each session opens its own connection (one handshake, a few
    ms) and closes it at the end.

    For loads that a caller may wait on while it holds a pooled connection, such as the
    catalog cache's load after a catalog change (`bot.services.catalog_cache`): a load from the
    pool would wait for a free connection, and updates holding every pooled connection while
    they wait for that load would deadlock until the pool's timeout. Meant for loads made once
    per change, not per update.
    """
    return create_async_engine(
        url,
        poolclass=NullPool,
        hide_parameters=True,
        connect_args=_connect_args(),
        json_serializer=json_text,
    )


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
