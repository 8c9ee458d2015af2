"""Values the container hands to handlers besides the services themselves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NewType

from bot.services.clients import ClientProfile

# The instant one update is handled at (read once per update from the `Clock`), UTC-aware.
Now = NewType("Now", datetime)


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Clock:
    """The process's clock. Tests pin it (`source = lambda: NOW`); services never read it, the
    handlers pass the update's `Now` to them."""

    source: Callable[[], datetime] = field(default=wall_clock)

    def now(self) -> datetime:
        return self.source()


@dataclass(frozen=True, slots=True)
class CurrentClient:
    """The client who sent the update (registered on the fly if they skipped /start)."""

    profile: ClientProfile

    @property
    def client_id(self) -> int:
        return self.profile.client_id

    @property
    def language(self) -> str:
        return self.profile.language
