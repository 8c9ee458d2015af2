"""Waitlist: a client asks to be told when a time opens on a date (docs/rules.md#waitlist).

When time is freed (a cancel or a move), the oldest waiting entry of that place and date that
can use a free slot gets an offer: the entry becomes `offered` (with the start and specialist),
the client gets a hold on that time for `WAITLIST_OFFER_TTL_SECONDS`, and an outbox message
with a button to take it. Taking it goes through the normal confirm (`take_offer` builds the
`BookingRequest`), which marks the entry `fulfilled`.

The offer's hold replaces any hold the client had (one hold per client, docs/rules.md#holds); a
booking the client was in the middle of can still be confirmed while its time is free.

An offer that is not taken in time becomes `expired` (the client joins again if they still
want to), and the time goes to the next waiting client. Going back to `waiting` would keep the
same client first in line forever and starve the others.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.errors import (
    InvalidState,
    InvalidStateReason,
    NotAllowed,
    NotAllowedReason,
    NotFound,
    SlotTaken,
    SlotUnavailable,
)
from bot.domain.horizon import date_refusal
from bot.domain.statuses import WaitlistStatus
from bot.domain.types import SlotQuery
from bot.domain.tz import local_date
from bot.services.booking_types import BookingRequest, SlotAuthority
from bot.services.holds import HoldStore
from bot.services.notifications import queue_waitlist_offer
from bot.services.take_hold import take_hold
from bot.services.transaction import in_transaction, read_session
from db.errors import FOREIGN_KEY_VIOLATION, sqlstate
from db.models import Client, WaitlistEntry
from db.repositories import waitlist as repo
from db.repositories.catalog import location_meta

log = logging.getLogger(__name__)

T = TypeVar("T")
# How many of the day's free slots are tried for one waiting entry before moving on.
SLOTS_TRIED_PER_ENTRY = 3


class WaitlistAvailability(SlotAuthority, Protocol):
    """What the waitlist needs from `AvailabilityService`: candidates plus the day's slots."""

    async def day_slots(
        self,
        *,
        location_id: int,
        service_id: int,
        specialist_id: int | None,
        day: dt.date,
        now: dt.datetime,
        client_id: int | None = None,
    ) -> Sequence[Any]: ...


@dataclass(frozen=True)
class WaitlistView:
    id: int
    client_id: int
    location_id: int
    service_id: int
    specialist_id: int | None
    date: dt.date
    status: str
    offered_at: dt.datetime | None
    offered_start: dt.datetime | None
    offered_specialist_id: int | None


def _view(entry: WaitlistEntry) -> WaitlistView:
    return WaitlistView(
        id=entry.id,
        client_id=entry.client_id,
        location_id=entry.location_id,
        service_id=entry.service_id,
        specialist_id=entry.specialist_id,
        date=entry.date,
        status=entry.status,
        offered_at=entry.offered_at,
        offered_start=entry.offered_start,
        offered_specialist_id=entry.offered_specialist_id,
    )


class WaitlistService:
    """Join, leave and list waitlist entries; offer freed time to the first in line."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        settings: Settings,
        availability: WaitlistAvailability,
        holds: HoldStore,
    ) -> None:
        self._sessions = session_factory
        self._settings = settings
        self._availability = availability
        self._holds = holds

    async def join(
        self,
        client_id: int,
        location_id: int,
        service_id: int,
        date: dt.date,
        specialist_id: int | None = None,
        *,
        now: dt.datetime,
    ) -> WaitlistView:
        """Wait for a time on `date` (docs/rules.md#waitlist); joining twice returns the same
        live entry.

        `NotAllowed(NO_CHAT)` for a client without Telegram (one an admin added at the desk):
        an offer would hold a freed time for nobody to hear of it.
        `SlotUnavailable("past")` or `("horizon")` for a location-local date before today or
        beyond the booking horizon (no time can ever open there); `NotFound` for an unknown or
        inactive location.
        """

        async def insert(session: AsyncSession) -> WaitlistView:
            await self._check_date(session, location_id, date, now=now)
            client = await session.get(Client, client_id)
            if client is not None and client.tg_id is None:
                raise NotAllowed(NotAllowedReason.NO_CHAT)
            entry_id = await repo.insert_waiting(
                session,
                client_id=client_id,
                location_id=location_id,
                service_id=service_id,
                specialist_id=specialist_id,
                day=date,
            )
            if entry_id is None:
                existing = await repo.find_live(
                    session,
                    client_id=client_id,
                    location_id=location_id,
                    service_id=service_id,
                    specialist_id=specialist_id,
                    day=date,
                )
                if existing is None:  # offered and fulfilled in between: join again
                    raise InvalidState(InvalidStateReason.RETRY_JOIN)
                return _view(existing)
            entry = await repo.get(session, entry_id)
            assert entry is not None
            return _view(entry)

        try:
            return await in_transaction(self._sessions, insert)
        except DBAPIError as exc:
            if sqlstate(exc) == FOREIGN_KEY_VIOLATION:
                raise NotFound("client, location, service or specialist") from exc
            raise

    async def _check_date(
        self, session: AsyncSession, location_id: int, day: dt.date, *, now: dt.datetime
    ) -> None:
        meta = await location_meta(session, location_id)
        if meta is None or not meta.is_active:
            raise NotFound(f"location {location_id}")
        today = local_date(now, ZoneInfo(meta.timezone))
        refusal = date_refusal(day, today, self._settings.booking_horizon_days)
        if refusal is not None:
            raise SlotUnavailable(refusal.value)

    async def leave(self, client_id: int, entry_id: int) -> None:
        """Stop waiting (`NotAllowed` for another client's entry)."""

        async def cancel(session: AsyncSession) -> WaitlistEntry:
            entry = await repo.get(session, entry_id)
            if entry is None:
                raise NotFound(f"waitlist entry {entry_id}")
            if entry.client_id != client_id:
                raise NotAllowed(NotAllowedReason.NOT_YOURS)
            if not await repo.set_status(
                session, entry_id, status=WaitlistStatus.CANCELLED, from_statuses=repo.LIVE
            ):
                raise InvalidState(InvalidStateReason.NOT_WAITING)
            return entry

        entry = await in_transaction(self._sessions, cancel)
        if entry.status == WaitlistStatus.OFFERED:
            await self._holds.release(client_id)

    async def list_for_client(self, client_id: int) -> list[WaitlistView]:
        """The client's live entries (waiting or offered), by date."""
        async with read_session(self._sessions) as session:
            return [_view(e) for e in await repo.for_client(session, client_id)]

    async def take_offer(
        self, entry_id: int, *, client_id: int, now: dt.datetime
    ) -> BookingRequest:
        """The request that books an offered time through `BookingService.confirm`.

        Uses the offer's hold when it is still there; an expired hold still books if the time
        is free (the confirm decides). `InvalidState("offer_expired")` after the offer's TTL.
        """
        async with read_session(self._sessions) as session:
            entry = await repo.get(session, entry_id)
        if entry is None:
            raise NotFound(f"waitlist entry {entry_id}")
        if entry.client_id != client_id:
            raise NotAllowed(NotAllowedReason.NOT_YOURS)
        if entry.status != WaitlistStatus.OFFERED or entry.offered_start is None:
            raise InvalidState(InvalidStateReason.NO_OFFER)
        ttl = dt.timedelta(seconds=self._settings.waitlist_offer_ttl_seconds)
        if entry.offered_at is not None and entry.offered_at + ttl <= now:
            raise InvalidState(InvalidStateReason.OFFER_EXPIRED)
        hold = await self._holds.get(client_id)
        hold_id = (
            hold.hold_id
            if hold is not None and hold.start == entry.offered_start
            else uuid.uuid4().hex
        )
        return BookingRequest(
            client_id=client_id,
            location_id=entry.location_id,
            service_id=entry.service_id,
            specialist_id=entry.offered_specialist_id or entry.specialist_id,
            start=entry.offered_start,
            hold_id=hold_id,
        )

    async def expire_offers(self, *, now: dt.datetime) -> int:
        """Expire offers older than the offer TTL and re-offer their time; how many expired.

        Call it periodically (the worker loop); it is also run before every new offer.
        """
        expired = await in_transaction(self._sessions, partial(self._expire, now=now))
        for location_id, day in sorted(set(expired)):
            await self.on_time_freed(None, location_id, day, now=now)
        return len(expired)

    async def on_time_freed(
        self,
        session: AsyncSession | None,
        location_id: int,
        day: dt.date,
        *,
        now: dt.datetime,
        freed_start: dt.datetime | None = None,
    ) -> int | None:
        """Offer time freed at `location_id` on `day` to the first waiting client who can use
        it (the freed start first, else another free slot that day). Returns the entry id
        offered, or None.

        With `session`, runs inside the caller's transaction (never commits); without one,
        runs its own. Call it after the commit that freed the time, so the engine sees it.
        """

        async def body(s: AsyncSession) -> int | None:
            return await self._offer(s, location_id, day, now=now, freed_start=freed_start)

        if session is not None:
            return await body(session)
        return await in_transaction(self._sessions, body)

    async def _offer(
        self,
        session: AsyncSession,
        location_id: int,
        day: dt.date,
        *,
        now: dt.datetime,
        freed_start: dt.datetime | None,
    ) -> int | None:
        await self._expire(session, now)
        for entry in await repo.waiting_for_day(session, location_id=location_id, day=day):
            starts: list[dt.datetime] = [freed_start] if freed_start is not None else []
            offers = await self._availability.day_slots(
                location_id=location_id,
                service_id=entry.service_id,
                specialist_id=entry.specialist_id,
                day=day,
                now=now,
                client_id=entry.client_id,
            )
            starts += [o.start for o in offers[:SLOTS_TRIED_PER_ENTRY] if o.start != freed_start]
            for start in starts:
                try:
                    hold = await take_hold(
                        session,
                        self._availability,
                        self._holds,
                        SlotQuery(location_id, entry.service_id, entry.specialist_id),
                        client_id=entry.client_id,
                        start=start,
                        now=now,
                        ttl_seconds=self._settings.waitlist_offer_ttl_seconds,
                    )
                except SlotTaken:
                    continue
                await repo.mark_offered(
                    session, entry.id, now=now, start=hold.start, specialist_id=hold.specialist_id
                )
                await queue_waitlist_offer(session, entry.id, now=now, settings=self._settings)
                return entry.id
        return None

    async def _expire(self, session: AsyncSession, now: dt.datetime) -> list[tuple[int, dt.date]]:
        ttl = dt.timedelta(seconds=self._settings.waitlist_offer_ttl_seconds)
        return await repo.expire_offers(session, offered_before=now - ttl)
