"""Use cases of the /book conversation that own the client's hold (taking it for a chosen time,
giving it back when the client goes back, leaves or confirms).

The handlers never touch holds themselves: they call these and render the result.
"""

from __future__ import annotations

from bot.services.holds import HoldStore


class BookingFlow:
    """The booking conversation's hold decisions. Process-wide: keeps no per-update state."""

    def __init__(self, holds: HoldStore) -> None:
        self._holds = holds

    async def leave(self, client_id: int, hold_id: str | None = None) -> None:
        """The client left the flow (a command, /cancel, a new flow): release their hold (only
        `hold_id` when given, so a newer flow's hold survives). Idempotent."""
        await self._holds.release(client_id, hold_id)
