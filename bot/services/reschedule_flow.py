"""Use cases of the client's reschedule screens: whether an appointment may still be changed,
which dates and times it can move to, the price of a move (the quote, next to
`BookingService.refund_preview` for a cancel), and the move itself.

Rules (docs/rules.md, money and refunds): a client changes only a booked appointment that has
not started; a client moves it only before the free-cancel deadline (more than
`FREE_CANCEL_HOURS` before the start); a move keeps the service and the specialist, and its
price is the new time's price with the client's current discount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.domain.errors import DomainError, NotAllowed, NotAllowedReason
from bot.domain.policies import apply_discount, is_free_cancel
from bot.domain.slots import SlotOffer
from bot.domain.statuses import AppointmentStatus
from bot.services.availability import AvailabilityService
from bot.services.booking import Actor, BookingService
from bot.services.booking_menu import BookingMenuService
from bot.services.booking_types import AppointmentView


class ChangeRefusal(str, Enum):
    NOT_CHANGEABLE = "not_changeable"  # cancelled, completed, or already started
    TOO_LATE = "too_late"  # a client's move after the free-cancel deadline


class ChangeRefused(DomainError):
    """The client may not move this appointment (now)."""

    def __init__(self, reason: ChangeRefusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RescheduleQuote:
    """A move to `new_start`: `new_charge` is what the new time costs the client after the
    discount; `old_charge` is what they paid. The difference is settled by the move."""

    new_start: datetime
    old_charge: Decimal
    new_charge: Decimal


def changeable(view: AppointmentView, now: datetime) -> bool:
    """Cancel and Reschedule are offered while the appointment is booked and not started."""
    return view.status == AppointmentStatus.BOOKED and view.start > now


def local_day(moment: datetime, view: AppointmentView) -> date:
    """The calendar day of `moment` where the appointment takes place."""
    return moment.astimezone(ZoneInfo(view.timezone)).date()


class RescheduleFlow:
    """Process-wide; every method reads (or, `move`, writes) in its own transaction."""

    def __init__(
        self,
        settings: Settings,
        availability: AvailabilityService,
        booking: BookingService,
        menu: BookingMenuService,
    ) -> None:
        self._settings = settings
        self._availability = availability
        self._booking = booking
        self._menu = menu

    def check_movable(self, view: AppointmentView, now: datetime) -> None:
        """Raises `ChangeRefused(NOT_CHANGEABLE)` or `ChangeRefused(TOO_LATE)`."""
        if not changeable(view, now):
            raise ChangeRefused(ChangeRefusal.NOT_CHANGEABLE)
        if not is_free_cancel(view.start, now, self._settings.free_cancel_hours):
            raise ChangeRefused(ChangeRefusal.TOO_LATE)

    async def dates(self, view: AppointmentView, *, now: datetime) -> list[date]:
        """Dates with a free time other than the appointment's own (its own slot is free for
        it, so a date where that is all is not offered)."""
        days = await self._availability.available_dates(
            location_id=view.location_id,
            service_id=view.service_id,
            specialist_id=view.specialist_id,
            now=now,
            client_id=view.client_id,
            exclude_appointment_id=view.id,
        )
        own_day = local_day(view.start, view)
        if own_day in days and not await self.times(view, own_day, now=now):
            days.remove(own_day)
        return days

    async def times(self, view: AppointmentView, day: date, *, now: datetime) -> list[datetime]:
        """Free starts on `day` with the same specialist, the current start excluded."""
        return [o.start for o in await self._offers(view, day, now)]

    async def quote(
        self, view: AppointmentView, new_start: datetime, *, now: datetime
    ) -> RescheduleQuote | None:
        """The price of moving to `new_start`, or None when that time is not free (now)."""
        offers = await self._offers(view, local_day(new_start, view), now)
        offer = next((o for o in offers if o.start == new_start), None)
        if offer is None:
            return None
        money = await self._menu.client_money(view.client_id)
        charge = apply_discount(offer.price, money.discount_percent)
        return RescheduleQuote(
            new_start=new_start, old_charge=view.charged, new_charge=charge.amount
        )

    async def _offers(self, view: AppointmentView, day: date, now: datetime) -> list[SlotOffer]:
        offers = await self._availability.day_slots(
            location_id=view.location_id,
            service_id=view.service_id,
            specialist_id=view.specialist_id,
            day=day,
            now=now,
            client_id=view.client_id,
            exclude_appointment_id=view.id,
        )
        return [
            o for o in offers if o.start != view.start and view.specialist_id in o.specialist_ids
        ]

    async def move(
        self, view: AppointmentView, new_start: datetime, *, actor: Actor, now: datetime
    ) -> AppointmentView:
        """`BookingService.reschedule` (same errors), except that a client's move refused
        because the free-cancel deadline has passed meanwhile raises `ChangeRefused(TOO_LATE)`."""
        try:
            return await self._booking.reschedule(
                view.id, actor=actor, new_start=new_start, now=now
            )
        except NotAllowed as exc:
            if exc.reason is NotAllowedReason.TOO_LATE:
                raise ChangeRefused(ChangeRefusal.TOO_LATE) from exc
            raise
