"""Use cases of the /book conversation that own the client's hold: taking it for a chosen time
(and quoting the price there), giving it back when the client goes back or leaves, and confirming.

The handlers never touch holds, prices or discounts: they call these and render the result.
Rules: a hold is taken when a time is picked and replaces the client's previous one (one hold
per client); going back from the summary or leaving the flow gives it back at once; a confirm
that loses the time gives it back too and says why (`TimeGone.reason`).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.errors import AccessDenied, DomainError, HoldExpired, SlotTaken, SlotUnavailable
from bot.domain.policies import apply_discount
from bot.services.booking import BookingService
from bot.services.booking_menu import BookingMenuService
from bot.services.booking_types import AppointmentView, BookingRequest
from bot.services.holds import Hold, HoldStore
from bot.services.transaction import read_session
from bot.services.waitlist import WaitlistService

# A pay-at-checkout invoice keeps the time held this long (seconds): enough to enter a card.
PAYMENT_HOLD_SECONDS = 900


class LostReason(str, Enum):
    """Why a picked time is gone."""

    TAKEN = "taken"  # another client booked or holds it (a lost race)
    HOLD_EXPIRED = "hold_expired"  # the client's hold lapsed and someone took the time
    UNAVAILABLE = "unavailable"  # no longer bookable at all (too soon now, closed, horizon)


class TimeGone(DomainError):
    """The picked time can no longer be held or booked; the client's hold is released."""

    def __init__(self, reason: LostReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TimeChoice:
    """A time the client picked in the flow; `specialist_id` None means "any specialist"."""

    client_id: int
    location_id: int
    service_id: int
    specialist_id: int | None
    start: datetime


@dataclass(frozen=True, slots=True)
class SummaryQuote:
    """What the summary shows for a held time. Money in the currency's units (kopeck precision):
    `charge = price - discount`; `balance` is the wallet before the debit."""

    hold_id: str
    start: datetime
    end: datetime
    specialist_id: int  # the specialist the hold is for ("any" resolved: who will be assigned)
    specialist_name: str
    workplace_id: int  # where the hold sits now (`BookingRequest.held_workplace`)
    price: Decimal
    discount_percent: Decimal
    discount: Decimal
    charge: Decimal
    balance: Decimal
    hold_expires_at: datetime


class BookingFlow:
    """The booking conversation's hold decisions. Process-wide: keeps no per-update state."""

    def __init__(
        self,
        holds: HoldStore,
        booking: BookingService,
        menu: BookingMenuService,
        waitlist: WaitlistService,
        session_factory: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self._holds = holds
        self._booking = booking
        self._menu = menu
        self._waitlist = waitlist
        self._session_factory = session_factory

    async def check_database(self) -> None:
        """Raise the driver's error if PostgreSQL does not answer (`SELECT 1`).

        A command sent in the middle of a flow ends the flow only if the command can run: during
        a PostgreSQL outage it could not, so the flow (and its hold) stays as it was and the
        client is told to try again in a minute."""
        if self._session_factory is None:
            return
        async with read_session(self._session_factory) as session:
            await session.execute(text("SELECT 1"))

    async def pick_time(self, choice: TimeChoice, *, now: datetime) -> SummaryQuote:
        """Hold `choice` for the client (replacing their previous hold) and quote it.

        Raises `TimeGone(TAKEN)` when another client has the time, `TimeGone(UNAVAILABLE)` when
        it is not bookable (too soon, closed, beyond the horizon).
        """
        return await self._hold_and_quote(choice, now=now)

    async def resume(
        self, choice: TimeChoice, hold_id: str | None, *, now: datetime
    ) -> SummaryQuote:
        """The summary again (a stale button, a restart): the live hold `hold_id` if the client
        still has it, else the time is held again (`pick_time`, same errors)."""
        hold = await self._holds.get(choice.client_id)
        if hold is None or hold.hold_id != hold_id:
            return await self.pick_time(choice, now=now)
        return await self._quote(choice.client_id, hold)

    async def hold_for_payment(self, choice: TimeChoice, *, now: datetime) -> SummaryQuote:
        """Hold `choice` again for `PAYMENT_HOLD_SECONDS` (the client pays the missing amount by
        card before the booking) and quote it: the quote's `charge - balance` is what to
        invoice. The client's own hold is replaced (atomically, by the new one); same errors as
        `pick_time`."""
        return await self._hold_and_quote(choice, now=now, ttl_seconds=PAYMENT_HOLD_SECONDS)

    async def _hold_and_quote(
        self, choice: TimeChoice, *, now: datetime, ttl_seconds: int | None = None
    ) -> SummaryQuote:
        """`pick_time` for `ttl_seconds` (None: the usual hold), in one session outside a
        transaction (`read_session`: both only read): the hold's reads, then the client's
        money."""
        async with (
            nullcontext(None)
            if self._session_factory is None
            else read_session(self._session_factory)
        ) as session:
            try:
                hold = await self._booking.hold(
                    client_id=choice.client_id,
                    location_id=choice.location_id,
                    service_id=choice.service_id,
                    specialist_id=choice.specialist_id,
                    start=choice.start,
                    now=now,
                    ttl_seconds=ttl_seconds,
                    session=session,
                )
            except SlotTaken as exc:
                raise TimeGone(LostReason.TAKEN) from exc
            except SlotUnavailable as exc:
                raise TimeGone(LostReason.UNAVAILABLE) from exc
            return await self._quote(choice.client_id, hold, session)

    async def confirm(
        self, request: BookingRequest, *, now: datetime, booked_by: int | None = None
    ) -> AppointmentView:
        """Book the held time (`BookingService.confirm`: debit, appointment, ledger, outbox);
        `booked_by` is the admin booking for the client at the desk (checked and audited).

        A lost time releases the hold and raises `TimeGone` with the reason: `UNAVAILABLE` (no
        longer bookable), `HOLD_EXPIRED` (the hold lapsed before the press and someone took the
        time), `TAKEN` (a lost race). `InsufficientFunds`, `NotFound`, `NotAllowed` and
        `InvalidState` pass through unchanged; nothing is written then. `AccessDenied` (an admin
        blocked the client) releases the hold and passes through.
        """
        try:
            return await self._booking.confirm(
                request, now=now, booked_by=booked_by, card_on_screen=True
            )
        except (SlotTaken, HoldExpired, SlotUnavailable) as exc:
            # A failed confirm leaves the hold as it was: read it only now (a booking that
            # succeeds spends no Redis command on it here).
            live = await self._holds.get(request.client_id)
            hold_lapsed = live is None or live.hold_id != request.hold_id
            await self._holds.release(request.client_id, request.hold_id)
            if isinstance(exc, SlotUnavailable):
                reason = LostReason.UNAVAILABLE
            elif hold_lapsed or isinstance(exc, HoldExpired):
                reason = LostReason.HOLD_EXPIRED
            else:
                reason = LostReason.TAKEN
            raise TimeGone(reason) from exc
        except AccessDenied:
            await self._holds.release(request.client_id, request.hold_id)
            raise

    async def take_offer(
        self, waitlist_id: int, *, client_id: int, previous_hold_id: str | None, now: datetime
    ) -> BookingRequest:
        """Take a waitlist offer (`WaitlistService.take_offer`, same errors); the hold of the flow
        it replaces is released unless it is the offer's own."""
        request = await self._waitlist.take_offer(waitlist_id, client_id=client_id, now=now)
        if previous_hold_id is not None and previous_hold_id != request.hold_id:
            await self._holds.release(client_id, previous_hold_id)
        return request

    async def leave(self, client_id: int, hold_id: str | None = None) -> None:
        """The client left the time or the flow (Back, Cancel, a command, /cancel, a new flow):
        release their hold (only `hold_id` when given, so a newer flow's hold survives).
        Idempotent."""
        await self._holds.release(client_id, hold_id)

    async def _quote(
        self, client_id: int, hold: Hold, session: AsyncSession | None = None
    ) -> SummaryQuote:
        specialist_name = await self._menu.specialist_name(hold.specialist_id, session)
        money = await self._menu.client_money(client_id, session)
        charge = apply_discount(hold.price, money.discount_percent)
        return SummaryQuote(
            hold_id=hold.hold_id,
            start=hold.start,
            end=hold.end,
            specialist_id=hold.specialist_id,
            specialist_name=specialist_name or "",
            workplace_id=hold.workplace_id,
            price=charge.price,
            discount_percent=money.discount_percent,
            discount=charge.discount,
            charge=charge.amount,
            balance=money.balance,
            hold_expires_at=hold.expires_at,
        )
