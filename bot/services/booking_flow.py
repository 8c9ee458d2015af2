"""Use cases of the /book conversation that own the client's hold (taking it for a chosen time,
giving it back when the client goes back, leaves or confirms).

The handlers never touch holds themselves: they call these and render the result.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.holds import HoldStore


class BookingFlow:
    """The booking conversation's hold decisions. Process-wide: keeps no per-update state."""

    def __init__(
        self, holds: HoldStore, session_factory: async_sessionmaker[AsyncSession] | None = None
    ) -> None:
        self._holds = holds
        self._session_factory = session_factory

    async def check_database(self) -> None:
        """Raise the driver's error if PostgreSQL does not answer (`SELECT 1`).

        A command sent in the middle of a flow ends the flow only if the command can run: during
        a PostgreSQL outage it could not, so the flow (and its hold) stays as it was and the
        client is told to try again in a minute."""
        if self._session_factory is None:
            return
        async with self._session_factory() as session:
            await session.execute(text("SELECT 1"))

    async def leave(self, client_id: int, hold_id: str | None = None) -> None:
        """The client left the flow (a command, /cancel, a new flow): release their hold (only
        `hold_id` when given, so a newer flow's hold survives). Idempotent."""
        await self._holds.release(client_id, hold_id)
