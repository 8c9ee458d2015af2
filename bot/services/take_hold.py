"""Hold a start for a client: the first free candidate that no other client holds.

Used by the booking flow (`BookingService.hold`) and by the waitlist's offers.
"""

from __future__ import annotations

from datetime import datetime
from itertools import chain

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.errors import SlotTaken, SlotTakenReason
from bot.domain.types import SlotQuery
from bot.services.booking_types import SlotAuthority
from bot.services.holds import Hold, HoldStore
from db.repositories import appointments as appts


async def take_hold(
    session: AsyncSession,
    availability: SlotAuthority,
    holds: HoldStore,
    query: SlotQuery,
    *,
    client_id: int,
    start: datetime,
    now: datetime,
    ttl_seconds: int | None = None,
) -> Hold:
    """Hold the first candidate for `start` that no other client holds.

    Reads PostgreSQL through `session` (not committed here), then takes the Redis hold. The
    capacity left is what the location's cap allows minus the appointments already running
    during the interval; other clients' holds use up the rest inside the Lua script. The
    hold reserves one of the candidate's compatible workplaces, checked in the script against
    the other clients' holds and the date's appointments (docs/rules.md#holds). The live holds
    are read before the appointments, and the script is given them (`seen`): one booked and
    given back after the appointments were read is still counted.
    """
    # A hold reserves a workplace among the candidate's compatible ones: the script checks
    # that one is left with the other clients' holds and the date's appointments (`placed`,
    # read with the candidates' own) placed too.
    # In rank order, each pair checked only when the one before it was refused: the first
    # one is nearly always the one held.
    candidates, seen, placed = await availability.hold_candidates(
        session, query=query, start=start, now=now, client_id=client_id
    )
    first = next(candidates, None)
    if first is None:
        raise SlotTaken(SlotTakenReason.NO_FREE_PAIR)
    # Read after `placed`: a live hold the script finds booked among `placed` is counted as
    # that appointment, so the count must include every appointment `placed` has.
    capacity = await availability.capacity(
        session, location_id=query.location_id, service_id=query.service_id
    )
    capacity_left = None
    if capacity is not None:
        capacity_left = capacity - await appts.in_progress_peak(
            session, query.location_id, first.start, first.end
        )
    for candidate in chain((first,), candidates):
        try:
            hold = await holds.acquire(
                client_id=client_id,
                query=query,
                candidate=candidate,
                capacity_left=capacity_left,
                ttl_seconds=ttl_seconds,
                placed=placed,
                seen=seen,
            )
        except SlotTaken:
            continue
        return hold
    raise SlotTaken(SlotTakenReason.HELD)
