"""What the booking use cases take and return (requests, actors, appointment views), and what
they need from the slot engine and the event bus. `bot.services.booking` re-exports every
public name here, so importers keep one place to import from."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.assignment import Job
from bot.domain.names import localized_name
from bot.domain.policies import ActorKind
from bot.domain.types import HeldInterval, SlotQuery
from db.repositories import appointments as appts

if TYPE_CHECKING:
    from bot.domain.slots import Reason, SlotCandidate
    from bot.services.events import Event


class SlotAuthority(Protocol):
    """What the booking engine needs from `AvailabilityService`."""

    async def candidates(
        self,
        session: AsyncSession,
        *,
        location_id: int,
        service_id: int,
        specialist_id: int | None,
        start: datetime,
        now: datetime,
        client_id: int,
        exclude_appointment_id: int | None = None,
    ) -> list[SlotCandidate]: ...

    async def hold_candidates(
        self,
        session: AsyncSession,
        *,
        query: SlotQuery,
        start: datetime,
        now: datetime,
        client_id: int,
    ) -> tuple[Iterator[SlotCandidate], list[HeldInterval], Sequence[Job]]: ...

    async def evaluate(
        self,
        session: AsyncSession,
        *,
        location_id: int,
        service_id: int,
        specialist_id: int | None,
        start: datetime,
        now: datetime,
        client_id: int,
        exclude_appointment_id: int | None = None,
        fresh_calendar: bool = False,
        only_workplace: int | None = None,
        check_workplace: int | None = None,
    ) -> tuple[Reason, list[SlotCandidate]]: ...

    async def invalidate(
        self,
        *,
        location_id: int | None = None,
        day: date | None = None,
        events: Sequence[Event] = (),
        release: Sequence[str | int] = (),
        elsewhere: Sequence[tuple[int, date]] = (),
    ) -> None: ...

    async def elsewhere(
        self, specialist_id: int, location_id: int, starts: Sequence[datetime]
    ) -> list[tuple[int, date]]: ...

    async def capacity(
        self, session: AsyncSession, *, location_id: int, service_id: int
    ) -> int | None: ...


class Publisher(Protocol):
    async def publish(self, kind: str, **data: object) -> None: ...


class FreedTimeListener(Protocol):
    """Who is told after a commit freed time (`WaitlistService.on_time_freed`)."""

    async def on_time_freed(
        self,
        session: AsyncSession | None,
        location_id: int,
        day: date,
        *,
        now: datetime,
        freed_start: datetime | None = None,
    ) -> int | None: ...


@dataclass(frozen=True)
class Actor:
    """Who acts: a client (client id), an admin (Telegram id) or a specialist (specialist id).

    An admin actor is trusted: the handler checks the role on the server before building one.
    """

    kind: ActorKind
    id: int


@dataclass(frozen=True)
class BookingRequest:
    """What the conversation keeps in FSM data between picking a time and pressing Confirm."""

    client_id: int
    location_id: int
    service_id: int
    specialist_id: int | None
    start: datetime
    hold_id: str
    # The price the summary quoted (before the discount): confirm charges exactly that or
    # refuses (`SlotTaken(PRICE_CHANGED)`); None = whatever the chosen pair costs.
    expected_price: Decimal | None = None
    # The workplace the quoted hold sits on: with `specialist_id`, the pair confirm locks
    # first without reading the hold back from Redis (the look under the locks still decides
    # whether the pair is free). None: confirm reads the client's hold for its pair.
    held_workplace: int | None = None

    @property
    def query(self) -> SlotQuery:
        """What is being booked, as the slot engine is asked about it."""
        return SlotQuery(self.location_id, self.service_id, self.specialist_id)


@dataclass(frozen=True)
class AppointmentView:
    """An appointment with the names a message shows. `price` is before the discount; the
    client paid `price - discount` (`charged`)."""

    id: int
    client_id: int
    location_id: int
    location_name: str
    location_address: str | None
    timezone: str
    service_id: int
    service_name: str
    specialist_id: int
    specialist_name: str
    workplace_id: int
    workplace_name: str
    start: datetime
    end: datetime
    blocked_until: datetime
    status: str
    price: Decimal
    discount: Decimal
    client_confirmed_at: datetime | None
    cancelled_by: str | None
    # Translated names by field (`location_name` ...) and language: `in_language` uses them.
    names: dict[str, dict[str, str]] = field(default_factory=dict, compare=False)

    def in_language(self, language: str) -> AppointmentView:
        """The same view with the names translated into `language` where a translation
        exists (the base names otherwise)."""

        def pick(column: str, base: str) -> str:
            return localized_name(base, self.names.get(column), language)

        return replace(
            self,
            location_name=pick("location_name", self.location_name),
            service_name=pick("service_name", self.service_name),
            specialist_name=pick("specialist_name", self.specialist_name),
            workplace_name=pick("workplace_name", self.workplace_name),
        )

    @property
    def charged(self) -> Decimal:
        return self.price - self.discount

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(ZoneInfo(self.timezone))


@dataclass(frozen=True)
class CancelResult:
    appointment: AppointmentView
    refund: Decimal


def appointment_view(row: appts.ViewRow | appts.ViewFacts) -> AppointmentView:
    appt, location, service, specialist, workplace, _client = row
    return AppointmentView(
        id=appt.id,
        client_id=appt.client_id,
        location_id=appt.location_id,
        location_name=location.name,
        location_address=location.address,
        timezone=location.timezone,
        service_id=appt.service_id,
        service_name=service.name,
        specialist_id=appt.specialist_id,
        specialist_name=specialist.name,
        workplace_id=appt.workplace_id,
        workplace_name=workplace.name,
        start=appt.start_time,
        end=appt.end_time,
        blocked_until=appt.blocked_until,
        status=appt.status,
        price=appt.price,
        discount=appt.discount,
        client_confirmed_at=appt.client_confirmed_at,
        cancelled_by=appt.cancelled_by,
        names={
            "location_name": dict(location.name_i18n or {}),
            "service_name": dict(service.name_i18n or {}),
            "specialist_name": dict(specialist.name_i18n or {}),
            "workplace_name": dict(workplace.name_i18n or {}),
        },
    )


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()
