"""Engine and session factory. Repositories never commit; the service that owns a use case does."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# Seconds to wait for a new connection: an unreachable PostgreSQL fails an update quickly
# ("temporarily unavailable") instead of after asyncpg's default minute.
CONNECT_TIMEOUT_SECONDS = 5


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> AsyncEngine:
    """The async engine: pre-pings pooled connections (a restarted server is found again
    without a restart) and keeps SQL parameters (phone numbers, payment payloads) out of error
    messages and so out of the logs."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        hide_parameters=True,
        connect_args={
            "timeout": CONNECT_TIMEOUT_SECONDS,
            "server_settings": {"application_name": "booking-bot"},
        },
    )


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
