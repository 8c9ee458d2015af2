"""Value types shared by the slot engine and the services that feed it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class HeldInterval:
    """A pre-booking hold as the slot engine sees it: like an appointment, the client is busy
    for [start, end) and the specialist and workplace until `blocked_until` (end + break); all
    instants are timezone-aware."""

    client_id: int
    location_id: int
    specialist_id: int
    workplace_id: int
    start: datetime
    end: datetime
    blocked_until: datetime


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
