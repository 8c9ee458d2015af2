"""Value types shared by the slot engine and the services that feed it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class HeldInterval:
    """A pre-booking hold as the slot engine sees it: like an appointment, the client is busy
    for [start, end) and the specialist until `blocked_until` (end + break); all instants are
    timezone-aware. It reserves one workplace among `workplace_ids` (the workplaces able to
    serve it; only one when the specialist is pinned to a workplace) over the same interval,
    not a particular one (docs/rules.md#holds); `workplace_id` is where it would sit now.
    An empty `workplace_ids` means `workplace_id` only. `hold_id` is the booking key its
    confirm gives the appointment: a hold whose appointment is already read is spent (the same
    booking, counted once)."""

    client_id: int
    location_id: int
    specialist_id: int
    workplace_id: int
    start: datetime
    end: datetime
    blocked_until: datetime
    workplace_ids: frozenset[int] = frozenset()
    hold_id: str = ""

    @property
    def allowed(self) -> frozenset[int]:
        """The workplaces this hold may use (never empty)."""
        return self.workplace_ids or frozenset({self.workplace_id})


@dataclass(frozen=True, slots=True)
class SlotQuery:
    """What a client asks the slot engine about: one service at one location, with one
    specialist or any of them (`specialist_id` None). Dates, instants and the asking client
    travel beside it, since they change from call to call while the query stays the same."""

    location_id: int
    service_id: int
    specialist_id: int | None = None

    @property
    def any_specialist(self) -> bool:
        return self.specialist_id is None
