"""Booking use cases: hold, confirm (with the wallet debit), cancel (with the refund),
reschedule, attendance and status marks
(docs/rules.md#booking, docs/rules.md#money).

PostgreSQL has the last word. Every use case is one transaction; the Redis hold only decides
which time other clients are offered. A confirm:
  1. serializes on its hold id (a double press finds the first appointment, one debit; with
     the held pair, that lock goes in the same round trip as the pair's, step 2);
  2. picks a candidate with `AvailabilityService.candidates` (authoritative, in this
     transaction), locks specialist, workplace and (if capped) location capacity with
     `pg_advisory_xact_lock` in a fixed order, and re-validates under the locks;
  3. debits with a conditional UPDATE, INSERTs the appointment (plain INSERT: the EXCLUDE
     constraints refuse an overlap, sqlstate 23P01 -> `SlotTaken`), writes the ledger row and
     the outbox rows, and commits;
  4. after the commit, best effort: invalidates the slot cache, publishes events, and only
     then releases the hold (until the cache is dropped, the hold keeps the time from being
     offered; a hold seen along with its appointment counts once, docs/rules.md#holds). A
     Redis failure there never fails the booking; a confirm run again (the update delivered
     again after a crash) does these steps again.
Deadlocks and serialization failures (40P01, 40001) re-run the whole transaction
(`bot.services.transaction.in_transaction`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import nullcontext
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.errors import (
    AccessDenied,
    InsufficientFunds,
    InvalidState,
    InvalidStateReason,
    NotAllowed,
    NotAllowedReason,
    NotFound,
    SlotTaken,
    SlotTakenReason,
    SlotUnavailable,
)
from bot.domain.policies import (
    ZERO,
    apply_discount,
    is_free_cancel,
    refund_amount,
    reschedule_difference,
)
from bot.domain.slots import NOT_BOOKABLE
from bot.domain.statuses import (
    ACTIVE_STATUSES,
    ATTENDANCE_MARKS,
    AppointmentStatus,
    mark_undoable,
)
from bot.domain.types import SlotQuery
from bot.ops import metrics
from bot.services.admin_gate import require_admin
from bot.services.audit_trail import AuditAction, write_audit
from bot.services.booking_types import (
    Actor,
    AppointmentView,
    BookingRequest,
    CancelResult,
    FreedTimeListener,
    Publisher,
    SlotAuthority,
    appointment_view,
    local_day,
)
from bot.services.events import OUTBOX_WAKE, Event, EventBus
from bot.services.holds import Hold, HoldStore
from bot.services.notifications import (
    queue_booking_notifications,
    queue_cancel_notifications,
    queue_reschedule_notifications,
    queue_workplace_moves,
    settle_client_confirmation,
)
from bot.services.take_hold import take_hold
from bot.services.transaction import in_transaction, read_session
from db.errors import EXCLUSION_VIOLATION, UNIQUE_VIOLATION, sqlstate
from db.models import Appointment
from db.repositories import appointments as appts
from db.repositories import waitlist as waitlist_repo
from db.repositories import wallets
from db.repositories.workplace_day import (
    location_workplace_ids,
    move_workplaces,
    pin_workplace,
    workplace_names,
)

if TYPE_CHECKING:
    from bot.domain.slots import SlotCandidate

# The names importers know this module by, wherever they are defined.
__all__ = [
    "Actor",
    "AppointmentView",
    "BookingRequest",
    "BookingService",
    "CancelResult",
    "Publisher",
    "SlotAuthority",
    "take_hold",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
# Runs of a confirm or move whose chosen specialist and workplace were taken under the lock.
REPICK_ATTEMPTS = 5


class _Booked(Exception):
    """The hold id has booked this appointment already: the confirm answers with it."""

    def __init__(self, appointment_id: int) -> None:
        super().__init__(appointment_id)
        self.appointment_id = appointment_id


class _Repick(Exception):
    """Under the locks the chosen pair was gone but others are free: run the transaction again.
    `lock_all`: the pair is free only after moving other appointments between workplaces, so
    the next run keeps the pair and locks every workplace of the location first."""

    def __init__(self, *, lock_all: bool = False) -> None:
        super().__init__()
        self.lock_all = lock_all


async def _set_mark(
    session: AsyncSession,
    appointment_id: int,
    actor: Actor,
    before: AppointmentStatus,
    after: AppointmentStatus,
    allowed_from: Sequence[AppointmentStatus],
    refused: InvalidStateReason,
) -> None:
    """Set a mark (or take it back) if the status is still one of `allowed_from`, else
    `InvalidState(refused)`; an admin's change is audited in the same transaction."""
    if not await appts.set_status(session, appointment_id, status=after, allowed_from=allowed_from):
        raise InvalidState(refused)
    if actor.kind == "admin":
        await write_audit(
            session,
            actor_tg_id=actor.id,
            action=AuditAction.APPOINTMENT_MARKED,
            entity="appointment",
            entity_id=appointment_id,
            before={"status": before.value},
            after={"status": after.value},
        )


class BookingService:
    """The booking engine's use cases. Services own the transaction; one call = one commit."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        settings: Settings,
        availability: SlotAuthority,
        holds: HoldStore,
        *,
        events: Publisher | None = None,
        waitlist: FreedTimeListener | None = None,
    ) -> None:
        self._sessions = session_factory
        self._settings = settings
        self._availability = availability
        self._holds = holds
        self._events = events
        self._waitlist = waitlist

    # --- hold ------------------------------------------------------------------------------

    async def hold(
        self,
        *,
        client_id: int,
        location_id: int,
        service_id: int,
        specialist_id: int | None,
        start: datetime,
        now: datetime,
        ttl_seconds: int | None = None,
        session: AsyncSession | None = None,
    ) -> Hold:
        """Hold `start` (an aware instant) for the client, replacing their previous hold, for
        `ttl_seconds` (default `HOLD_TTL_SECONDS`); returns the `Hold` with the chosen
        specialist, workplace, interval and price (before the discount). Reads the database
        in `session` when given (the caller's step, which reads on in it), else in its own;
        writes nothing there.

        Tries the engine's candidates in preference order. Raises `SlotTaken` when the time is
        booked or held by another client, `SlotUnavailable` when it is too soon or not a
        bookable time. Rule: docs/rules.md#holds.
        """
        self._check_notice(start, now)
        # Reads only: outside a transaction (no BEGIN, no ROLLBACK).
        own = read_session(self._sessions) if session is None else nullcontext(session)
        async with own as reads:
            hold = await take_hold(
                reads,
                self._availability,
                self._holds,
                SlotQuery(location_id, service_id, specialist_id),
                client_id=client_id,
                start=start,
                now=now,
                ttl_seconds=ttl_seconds,
            )
        # No cache invalidation: the engine overlays live holds on every read, so dropping the
        # location's cached slots on every hold would only cost a rebuild.
        return hold

    # --- confirm ---------------------------------------------------------------------------

    async def confirm(
        self,
        request: BookingRequest,
        *,
        now: datetime,
        booked_by: int | None = None,
        card_on_screen: bool = False,
    ) -> AppointmentView:
        """Book the requested time in one transaction; idempotent on `request.hold_id` (a
        second call returns the same appointment, one debit). Returns the appointment's view.

        Debits `price - discount` (the client's percent; currency amounts, 2 decimals) and
        writes the ledger and outbox rows in the same transaction. Works with an expired hold
        when the time is still free. Raises `SlotTaken` (lost race, another client's hold),
        `InsufficientFunds` (nothing written), `SlotUnavailable` (not a bookable time),
        `NotAllowed(NOT_YOUR_BOOKING)` for another client's hold id, `NotFound` for an unknown
        client, `AccessDenied(CLIENT_BLOCKED)` for a client an admin blocked. `booked_by` is the
        admin (Telegram id) booking for the client at the desk: the role is checked and the
        booking audited in the transaction. `card_on_screen`: the client's own chat is about to
        show the confirmation card, so the outbox confirmation waits a grace period for
        `confirmation_shown` (docs/rules.md#what-is-sent). Rules: docs/rules.md#confirm,
        docs/rules.md#conflicts, docs/rules.md#admin-rights.
        """
        release = self._holds.release_args(request.client_id, request.hold_id)
        if (too_soon := self._too_soon(request.start, now)) is not None:
            # The same confirm again (a double press, an update delivered again after the
            # process that committed it died) once its time came within the notice: what the
            # hold id booked is shown, the clock refuses only a new booking
            # (docs/rules.md#idempotency).
            booked = await self._booked_already(request)
            if booked is None:
                raise too_soon
            await self._confirmed_again(booked, release)
            return booked
        preferred = await self._held_pair(request)
        view, created = await self._repicking(
            partial(
                self._confirm_in,
                request=request,
                preferred=preferred,
                now=now,
                booked_by=booked_by,
                card_on_screen=card_on_screen,
            )
        )
        # The hold is given back only after the cached day is dropped (in the same script
        # call): until then it keeps the time from being offered by a cached day that
        # predates the commit (a hold seen along with its appointment counts once,
        # docs/rules.md#holds). Only this client's hold of this id.
        if created:
            metrics.BOOKINGS.inc()
            await self._after_change("appointment.created", view, [view.start], release=release)
        else:
            await self._confirmed_again(view, release)
        return view

    async def _booked_already(self, request: BookingRequest) -> AppointmentView | None:
        """The appointment `request.hold_id` booked (committed), or None. Raises
        `NotAllowed(NOT_YOUR_BOOKING)` when the hold id booked another client's."""
        async with self._sessions() as session:
            try:
                await self._check_booked(session, request)
            except _Booked as booked:
                return await self._view_of(session, booked.appointment_id)
        return None

    async def _confirmed_again(self, view: AppointmentView, release: Sequence[str | int]) -> None:
        """After the same confirm again (a double press, or an update delivered again after
        the process that committed it died before the steps after the commit): the cached day
        may still not show the appointment, so it is dropped again, and the hold given back."""
        await self._best_effort(
            self._availability.invalidate(
                location_id=view.location_id,
                day=local_day(view.start, view.timezone),
                release=release,
                elsewhere=await self._elsewhere(view, [view.start]),
            ),
            "invalidate",
        )

    async def _confirm_in(
        self,
        session: AsyncSession,
        *,
        request: BookingRequest,
        preferred: tuple[int, int] | None,
        now: datetime,
        keep_preferred: bool,
        booked_by: int | None = None,
        lock_all: bool = False,
        card_on_screen: bool = False,
    ) -> tuple[AppointmentView, bool]:
        """One run of the confirm transaction; (the view, whether this run created it)."""
        if booked_by is not None:
            await require_admin(session, self._settings, booked_by)
        prefer: tuple[int | None, int | None] = (
            preferred if preferred is not None and keep_preferred else (None, None)
        )
        key_lock = appts.booking_key_lock(request.hold_id)
        try:
            if None in prefer:
                # No pair to lock yet: the hold id's lock alone, and what it booked already
                # looked up before the engine looks (which would find the time taken by it).
                await appts.lock_resources(session, [key_lock])
                await self._check_booked(session, request)
            chosen = await self._lock_candidate(
                session,
                request.query,
                start=request.start,
                now=now,
                client_id=request.client_id,
                prefer=prefer,
                lock_all=lock_all,
                # With the held pair, the hold id's lock goes in the same round trip as the
                # pair's, and the lookup comes right after them.
                first_lock=None if None in prefer else key_lock,
                after_locks=(
                    None if None in prefer else partial(self._check_booked, session, request)
                ),
            )
        except _Booked as booked:
            return await self._view_of(session, booked.appointment_id), False
        if request.expected_price is not None and chosen.price != request.expected_price:
            # The summary promised this price (docs/rules.md#any-specialist): never charge
            # another one silently; the client sees the time as gone and picks again.
            raise SlotTaken(SlotTakenReason.PRICE_CHANGED, f"{chosen.price}")
        await self._make_room(session, chosen, now)
        terms = await wallets.booking_terms(session, request.client_id)
        if terms is None:
            raise NotFound(f"client {request.client_id}")
        percent, blocked, on_waitlist = terms
        if blocked:  # an admin blocked this client: no new bookings (docs/rules.md#admin-rights)
            raise AccessDenied(NotAllowedReason.CLIENT_BLOCKED)
        charge = apply_discount(chosen.price, percent)
        values = {
            "location_id": request.location_id,
            "service_id": request.service_id,
            "workplace_id": chosen.workplace_id,
            "specialist_id": chosen.specialist_id,
            "client_id": request.client_id,
            "start_time": chosen.start,
            "end_time": chosen.end,
            "blocked_until": chosen.blocked_until,
            "status": AppointmentStatus.BOOKED,
            "price": charge.price,
            "discount": charge.discount,
            "booking_key": request.hold_id,
        }
        try:
            if charge.amount > ZERO:
                # The debit, the appointment and its ledger row: one statement.
                booked_id = await appts.insert_paid(session, amount=charge.amount, **values)
            else:
                booked_id = await appts.insert(session, **values)
        except DBAPIError as exc:
            if sqlstate(exc) in (EXCLUSION_VIOLATION, UNIQUE_VIOLATION):
                raise SlotTaken(SlotTakenReason.REFUSED_BY_DATABASE) from exc
            raise
        if booked_id is None:
            raise await self._short_of(session, request.client_id, charge.amount)
        appointment_id = booked_id
        # The new appointment with its names, read once: the answer and the notifications.
        row = await appts.view_facts(session, appointment_id)
        if row is None:
            raise NotFound(f"appointment {appointment_id}")
        view = appointment_view(row)
        appt_row, location, service, specialist, workplace, client = row
        if on_waitlist:  # read with the terms: most clients wait for nothing
            await waitlist_repo.fulfil_for_booking(
                session,
                client_id=request.client_id,
                location_id=request.location_id,
                service_id=request.service_id,
                day=local_day(view.start, view.timezone),
            )
        await queue_booking_notifications(
            session,
            appointment_id,
            now=now,
            settings=self._settings,
            card_on_screen=card_on_screen and booked_by is None,
            row=(appt_row, client, specialist, location, service, workplace),
        )
        if booked_by is not None:
            await write_audit(
                session,
                actor_tg_id=booked_by,
                action=AuditAction.APPOINTMENT_BOOKED,
                entity="appointment",
                entity_id=appointment_id,
                after=_audit_state(view),
            )
        return view, True

    @staticmethod
    async def _check_booked(session: AsyncSession, request: BookingRequest) -> None:
        """Under the hold id's lock: `_Booked` when the hold id booked an appointment already
        (a double press, a confirm delivered again), `NotAllowed(NOT_YOUR_BOOKING)` when it
        is another client's; nothing when it booked none."""
        existing = await appts.by_booking_key(session, request.hold_id)
        if existing is None:
            return
        appointment_id, client_id = existing
        if client_id != request.client_id:
            raise NotAllowed(NotAllowedReason.NOT_YOUR_BOOKING)
        raise _Booked(appointment_id)

    async def _lock_candidate(
        self,
        session: AsyncSession,
        query: SlotQuery,
        *,
        start: datetime,
        now: datetime,
        client_id: int,
        prefer: tuple[int | None, int | None],
        exclude_appointment_id: int | None = None,
        only_workplace: int | None = None,
        lock_all: bool = False,
        first_lock: tuple[int, int] | None = None,
        after_locks: Callable[[], Awaitable[None]] | None = None,
    ) -> SlotCandidate:
        """Pick a free (specialist, workplace) for `start`, lock it, and re-check under the lock.
        `first_lock` is taken in the same round trip (first in the fixed order) and
        `after_locks` run right after them, before the re-check.

        The pair is the preferred one (the hold's, or the appointment's current one), else the
        engine's first choice from an unlocked look. After `pg_advisory_xact_lock` on the
        specialist and the workplace the engine is asked again, now seeing every commit made by
        whoever held the lock before us; a capped location's capacity lock comes last (the
        fixed order is specialist, workplace, location capacity) and the count under it decides.
        """

        async def look(*, locked: bool) -> list[SlotCandidate]:
            reason, found = await self._availability.evaluate(
                session,
                location_id=query.location_id,
                service_id=query.service_id,
                specialist_id=query.specialist_id,
                start=start,
                now=now,
                client_id=client_id,
                exclude_appointment_id=exclude_appointment_id,
                # Under the locks the day's holidays and breaks are read in this transaction:
                # a catalog change holds every specialist's lock until it commits.
                fresh_calendar=locked,
                only_workplace=only_workplace,
            )
            if reason in NOT_BOOKABLE:
                # Not a bookable time at all (closed, too soon, beyond the horizon): not a race.
                raise SlotUnavailable(reason.value)
            return found

        async def look_at(pair: tuple[int, int]) -> list[SlotCandidate]:
            """Under the locks, the engine asked about `pair` alone: its candidate if it is free
            as things stand (nothing to move), as the full look would find it (but for other
            clients' holds beyond the pair's reach that could not all be placed anyway:
            `DayPlan.reach`); else nothing, and the full look decides. Spares the engine every
            other pair of a booking that goes through, which is nearly every one."""
            if lock_all or only_workplace is not None or query.specialist_id not in (None, pair[0]):
                return []
            _, found = await self._availability.evaluate(
                session,
                location_id=query.location_id,
                service_id=query.service_id,
                specialist_id=pair[0],
                start=start,
                now=now,
                client_id=client_id,
                exclude_appointment_id=exclude_appointment_id,
                fresh_calendar=True,
                check_workplace=pair[1],
            )
            return [c for c in found if (c.specialist_id, c.workplace_id) == pair and not c.moves]

        if prefer[0] is not None and prefer[1] is not None:
            # The held (or current) pair: lock it at once and ask the engine only under the lock.
            pair = (prefer[0], prefer[1])
        else:
            candidates = await look(locked=False)
            if not candidates:
                raise SlotTaken(SlotTakenReason.NO_FREE_PAIR)
            pair = (candidates[0].specialist_id, candidates[0].workplace_id)
            lock_all = lock_all or bool(candidates[0].moves)
        keys = [(appts.LOCK_SPECIALIST, pair[0]), (appts.LOCK_WORKPLACE, pair[1])]
        if lock_all:
            # Making room moves other appointments between the location's workplaces: hold
            # every workplace, in the same fixed order as everyone else.
            workplaces = await location_workplace_ids(session, query.location_id)
            keys += [(appts.LOCK_WORKPLACE, w) for w in workplaces]
        if first_lock is not None:
            keys.append(first_lock)
        await appts.lock_resources(session, keys)
        if after_locks is not None:
            await after_locks()

        fresh = await look_at(pair)
        if fresh:
            return await self._within_capacity(
                session, query, fresh[0], exclude_appointment_id=exclude_appointment_id
            )
        free = await look(locked=True)
        fresh = [c for c in free if (c.specialist_id, c.workplace_id) == pair]
        elsewhere = [
            c.workplace_id
            for c in free
            if c.specialist_id == pair[0] and c.workplace_id != pair[1] and not c.moves
        ]
        if not fresh and elsewhere and not lock_all:
            # The specialist (locked) is free, only the workplace went: concurrent confirms of
            # one time often name the same workplace (a hold reserves one among several). Take
            # a free one's lock if nobody holds it (never waiting, so the fixed order cannot
            # deadlock) and look again under it, instead of starting over to queue on the
            # same workplace as every other confirm of that time.
            workplace = await appts.try_lock_first(session, appts.LOCK_WORKPLACE, elsewhere)
            if workplace is not None:
                pair = (pair[0], workplace)
                free = await look(locked=True)
                fresh = [c for c in free if (c.specialist_id, c.workplace_id) == pair]
        if not fresh:
            # Our pair was taken while we waited for the lock (or the preferred pair is not free
            # at this time). Locks can't be dropped early, so if anything else is free, the
            # transaction starts over and picks without preference.
            if free:
                raise _Repick
            raise SlotTaken(SlotTakenReason.JUST_TAKEN)
        chosen = fresh[0]
        if chosen.moves and not lock_all:
            raise _Repick(lock_all=True)
        return await self._within_capacity(
            session, query, chosen, exclude_appointment_id=exclude_appointment_id
        )

    async def _within_capacity(
        self,
        session: AsyncSession,
        query: SlotQuery,
        chosen: SlotCandidate,
        *,
        exclude_appointment_id: int | None,
    ) -> SlotCandidate:
        """`chosen`, once a capped location's capacity lock is taken and the count under it
        leaves room; else `SlotTaken(AT_CAPACITY)`."""
        # The cap comes with the catalog the look just read. Its lock is the last one in the
        # fixed order, and the count under it is what decides.
        capacity = await self._availability.capacity(
            session, location_id=query.location_id, service_id=query.service_id
        )
        if capacity is not None:
            await appts.lock_resources(session, [(appts.LOCK_LOCATION_CAPACITY, query.location_id)])
            peak = await appts.in_progress_peak(
                session,
                query.location_id,
                chosen.start,
                chosen.end,
                exclude_appointment_id=exclude_appointment_id,
            )
            if peak >= capacity:
                raise SlotTaken(SlotTakenReason.AT_CAPACITY)
        return chosen

    async def _make_room(self, session: AsyncSession, chosen: SlotCandidate, now: datetime) -> None:
        """Move the appointments the chosen slot needs moved (under the locks taken), tell their
        specialists, and let the exclusion constraint check the result at once."""
        try:
            previous = await move_workplaces(session, dict(chosen.moves))
        except DBAPIError as exc:
            if sqlstate(exc) == EXCLUSION_VIOLATION:
                raise SlotTaken(SlotTakenReason.REFUSED_BY_DATABASE) from exc
            raise
        if previous:
            log.info("workplaces re-assigned to fit a booking: %s", previous)
            await queue_workplace_moves(session, previous, now=now)

    @staticmethod
    async def _discount_percent(session: AsyncSession, client_id: int) -> Decimal:
        percent = await wallets.discount_percent(session, client_id)
        if percent is None:
            raise NotFound(f"client {client_id}")
        return percent

    async def _debit(self, session: AsyncSession, client_id: int, amount: Decimal) -> None:
        if await wallets.debit(session, client_id, amount) is None:
            raise await self._short_of(session, client_id, amount)

    @staticmethod
    async def _short_of(
        session: AsyncSession, client_id: int, amount: Decimal
    ) -> InsufficientFunds:
        """The error for a debit of `amount` the client's balance did not cover."""
        balance = await wallets.balance(session, client_id)
        return InsufficientFunds(amount, balance if balance is not None else ZERO)

    async def confirmation_shown(self, appointment_id: int, *, now: datetime) -> None:
        """The client's chat shows the confirmation card: their outbox confirmation is settled
        without being sent (one confirmation per booking, docs/rules.md#what-is-sent). Best
        effort: if this fails, the client gets the outbox copy as well."""

        async def settle(session: AsyncSession) -> None:
            await settle_client_confirmation(session, appointment_id, now=now)

        await self._best_effort(in_transaction(self._sessions, settle), "settle confirmation")

    # --- cancel ----------------------------------------------------------------------------

    async def refund_preview(self, appointment_id: int, *, actor: Actor, now: datetime) -> Decimal:
        """What `cancel` by `actor` would refund right now (a currency amount, 2 decimals; 0
        for nothing), for the "are you sure?" screen. Raises what `cancel` raises, writes
        nothing. Rule: docs/rules.md#cancel-and-refunds."""
        async with read_session(self._sessions) as session:
            appointment = await self._load_for(session, appointment_id, actor)
            self._check_cancellable(appointment, actor, now)
            return await self._refund_for(session, appointment, actor, now)

    async def cancel(
        self, appointment_id: int, *, actor: Actor, now: datetime, reason: str | None = None
    ) -> CancelResult:
        """Cancel the appointment and refund what docs/rules.md#cancel-and-refunds grants, in
        one transaction (the refund is a ledger row, never given twice); returns the view and
        the refunded amount. The freed time is then offered to the waitlist.

        Raises `InvalidState(NOT_BOOKED)` for an appointment that is not booked (a second
        cancel refunds nothing), `NotAllowed(ALREADY_STARTED)` for a client after the start,
        `NotAllowed(NOT_YOURS)` / `NotFound` for someone else's or an unknown appointment. An
        admin's cancel (full refund) carries its `reason` to both notices and the audit log.
        """

        async def attempt(session: AsyncSession) -> CancelResult:
            return await self.cancel_in(
                session, appointment_id, actor=actor, now=now, reason=reason
            )

        result = await in_transaction(self._sessions, attempt)
        await self.after_cancel(result, now=now)
        return result

    async def cancel_in(
        self,
        session: AsyncSession,
        appointment_id: int,
        *,
        actor: Actor,
        now: datetime,
        reason: str | None = None,
    ) -> CancelResult:
        """The cancel's writes inside the caller's transaction (status, refund with its ledger
        row, outbox notices; an admin's cancel also its audit row), for a use case that cancels
        as part of a bigger change. The caller commits, then calls `after_cancel`. Raises as
        `cancel` does."""
        appointment = await self._load_for(session, appointment_id, actor)
        self._check_cancellable(appointment, actor, now)
        refund = await self._refund_for(session, appointment, actor, now)
        if not await appts.mark_cancelled(session, appointment_id, now=now, by=actor.kind):
            raise InvalidState(InvalidStateReason.ALREADY_CANCELLED)
        if refund > ZERO:
            await wallets.credit(session, appointment.client_id, refund)
            try:
                await wallets.add_entry(
                    session,
                    client_id=appointment.client_id,
                    amount=refund,
                    kind="refund",
                    appointment_id=appointment_id,
                )
            except DBAPIError as exc:
                # The partial unique index: this appointment was refunded already.
                if sqlstate(exc) == UNIQUE_VIOLATION:
                    raise InvalidState(InvalidStateReason.ALREADY_REFUNDED) from exc
                raise
        await queue_cancel_notifications(
            session,
            appointment_id,
            cancelled_by=actor.kind,
            refund=refund,
            now=now,
            settings=self._settings,
            reason=reason,
        )
        view = await self._view_of(session, appointment_id)
        if actor.kind == "admin":
            await write_audit(
                session,
                actor_tg_id=actor.id,
                action=AuditAction.APPOINTMENT_CANCELLED,
                entity="appointment",
                entity_id=appointment_id,
                before={"status": AppointmentStatus.BOOKED.value},
                after={"status": view.status, "refund": refund, "reason": reason},
            )
        return CancelResult(view, refund)

    async def after_cancel(self, result: CancelResult, *, now: datetime) -> None:
        """After a committed cancel, best effort: drop cached slots, offer the freed time to
        the waitlist, publish the event and wake the notifier."""
        metrics.CANCELS.inc()
        if result.refund > ZERO:
            metrics.REFUNDS.inc()
        await self._after_change(
            "appointment.cancelled", result.appointment, [result.appointment.start], now=now
        )

    def _check_cancellable(self, appointment: Appointment, actor: Actor, now: datetime) -> None:
        if appointment.status != AppointmentStatus.BOOKED:
            raise InvalidState(InvalidStateReason.NOT_BOOKED)
        if actor.kind == "client" and now >= appointment.start_time:
            raise NotAllowed(NotAllowedReason.ALREADY_STARTED)

    async def _refund_for(
        self, session: AsyncSession, appointment: Appointment, actor: Actor, now: datetime
    ) -> Decimal:
        return refund_amount(
            charged=await wallets.charged_for(session, appointment.id),
            start=appointment.start_time,
            now=now,
            actor=actor.kind,
            free_cancel_hours=self._settings.free_cancel_hours,
            late_cancel_refund_percent=self._settings.late_cancel_refund_percent,
        )

    # --- reschedule ------------------------------------------------------------------------

    async def reschedule(
        self,
        appointment_id: int,
        *,
        actor: Actor,
        new_start: datetime,
        now: datetime,
        specialist_id: int | None = None,
        workplace_id: int | None = None,
    ) -> AppointmentView:
        """Move the appointment (same service) to `new_start` in one transaction; an admin may
        also name another `specialist_id` and/or `workplace_id` (the slot engine decides they
        are free; anyone else gets `NotAllowed(ADMIN_ONLY)`).

        The price is recomputed (with the client's current discount) and the difference is
        settled in the ledger (kind 'reschedule'): an extra debit if the wallet covers it, else
        `InsufficientFunds`; or a credit back. A client may move only before the free-cancel
        deadline (`NotAllowed(TOO_LATE)`). Also raises `SlotTaken`, `SlotUnavailable`,
        `InvalidState(NOT_BOOKED | CHANGED_MEANWHILE)`. Rule: docs/rules.md#reschedule.
        """
        # Raised in the transaction unless the appointment starts there already: the same
        # move again (an update delivered again) shows the moved appointment.
        too_soon = self._too_soon(new_start, now)
        if actor.kind != "admin" and (specialist_id is not None or workplace_id is not None):
            raise NotAllowed(NotAllowedReason.ADMIN_ONLY)
        view, old_start = await self._repicking(
            partial(
                self._move_in,
                appointment_id=appointment_id,
                actor=actor,
                new_start=new_start,
                now=now,
                too_soon=too_soon,
                specialist_id=specialist_id,
                workplace_id=workplace_id,
            )
        )
        if old_start is not None:
            await self._after_change(
                "appointment.moved", view, [old_start, view.start], now=now, freed=old_start
            )
        return view

    async def _move_in(
        self,
        session: AsyncSession,
        *,
        appointment_id: int,
        actor: Actor,
        new_start: datetime,
        now: datetime,
        keep_preferred: bool,
        specialist_id: int | None = None,
        workplace_id: int | None = None,
        lock_all: bool = False,
        too_soon: SlotUnavailable | None = None,
    ) -> tuple[AppointmentView, datetime | None]:
        """One run of the reschedule transaction; (the view, the old start or None if the
        appointment already starts at `new_start`). `keep_preferred`: try the appointment's
        current specialist and workplace first. `too_soon`: `new_start` is inside the minimum
        notice, raised unless the appointment is already there (the same move again is not a
        new move: neither the notice nor the client's deadline applies to it)."""
        appointment = await self._load_for(session, appointment_id, actor)
        if appointment.status != AppointmentStatus.BOOKED:
            raise InvalidState(InvalidStateReason.NOT_BOOKED)
        old_start = appointment.start_time
        # Read before the UPDATE below refreshes the loaded appointment.
        old_specialist_id = appointment.specialist_id
        old_workplace_id = appointment.workplace_id
        old_charged = appointment.price - appointment.discount
        target_specialist = specialist_id or old_specialist_id
        target_workplace = workplace_id or (
            old_workplace_id if target_specialist == old_specialist_id else None
        )
        if (new_start, target_specialist, target_workplace) == (
            old_start,
            old_specialist_id,
            old_workplace_id,
        ):
            return await self._view_of(session, appointment_id), None
        if too_soon is not None:
            raise too_soon
        if actor.kind == "client" and not is_free_cancel(
            old_start, now, self._settings.free_cancel_hours
        ):
            raise NotAllowed(NotAllowedReason.TOO_LATE)
        chosen = await self._lock_candidate(
            session,
            SlotQuery(appointment.location_id, appointment.service_id, target_specialist),
            start=new_start,
            now=now,
            client_id=appointment.client_id,
            prefer=((target_specialist, target_workplace) if keep_preferred else (None, None)),
            exclude_appointment_id=appointment_id,
            only_workplace=workplace_id,
            lock_all=lock_all,
        )
        await self._make_room(session, chosen, now)
        percent = await self._discount_percent(session, appointment.client_id)
        charge = apply_discount(chosen.price, percent)
        difference = await self._settle_difference(
            session, appointment.client_id, appointment_id, charge.amount
        )
        try:
            moved = await appts.move(
                session,
                appointment_id,
                expected_start=old_start,
                start=chosen.start,
                end=chosen.end,
                blocked_until=chosen.blocked_until,
                workplace_id=chosen.workplace_id,
                specialist_id=chosen.specialist_id,
                price=charge.price,
                discount=charge.discount,
            )
        except DBAPIError as exc:
            if sqlstate(exc) == EXCLUSION_VIOLATION:
                raise SlotTaken(SlotTakenReason.REFUSED_BY_DATABASE) from exc
            raise
        if not moved:
            raise InvalidState(InvalidStateReason.CHANGED_MEANWHILE)
        if difference != ZERO:
            await wallets.add_entry(
                session,
                client_id=appointment.client_id,
                amount=difference,
                discount=charge.discount,
                kind="reschedule",
                appointment_id=appointment_id,
            )
        await queue_reschedule_notifications(
            session,
            appointment_id,
            old_start=old_start,
            old_specialist_id=old_specialist_id,
            old_workplace_id=old_workplace_id,
            moved_by=actor.kind,
            now=now,
            settings=self._settings,
        )
        view = await self._view_of(session, appointment_id)
        if actor.kind == "admin":
            await write_audit(
                session,
                actor_tg_id=actor.id,
                action=AuditAction.APPOINTMENT_MOVED,
                entity="appointment",
                entity_id=appointment_id,
                before={
                    "start": old_start,
                    "specialist_id": old_specialist_id,
                    "workplace_id": old_workplace_id,
                    "charged": old_charged,
                },
                after=_audit_state(view),
            )
        return view, old_start

    async def _settle_difference(
        self, session: AsyncSession, client_id: int, appointment_id: int, new_charge: Decimal
    ) -> Decimal:
        """Debit or credit the wallet by what the move changes in the price; returns the
        ledger amount (negative: an extra debit, `InsufficientFunds` if not covered)."""
        difference = reschedule_difference(
            already_charged=await wallets.charged_for(session, appointment_id),
            new_charge=new_charge,
        )
        if difference < ZERO:
            await self._debit(session, client_id, -difference)
        elif difference > ZERO:
            await wallets.credit(session, client_id, difference)
        return difference

    # --- status marks ----------------------------------------------------------------------

    async def mark_status(
        self, appointment_id: int, *, actor: Actor, status: str, now: datetime
    ) -> AppointmentView:
        """An admin or the appointment's specialist marks it `completed` or `no_show` once it
        has started (a mark can be corrected; a cancelled appointment can't be marked).

        Raises `InvalidState(UNKNOWN_STATUS | NOT_STARTED | NOT_BOOKED)`,
        `NotAllowed(CLIENTS_CANNOT_MARK | NOT_YOURS)`. Rule: docs/rules.md#appointments."""
        if status not in ATTENDANCE_MARKS:
            raise InvalidState(InvalidStateReason.UNKNOWN_STATUS, status)
        mark = AppointmentStatus(status)
        if actor.kind == "client":
            raise NotAllowed(NotAllowedReason.CLIENTS_CANNOT_MARK)

        async def attempt(session: AsyncSession) -> AppointmentView:
            appointment = await self._load_for(session, appointment_id, actor)
            if now < appointment.start_time:
                raise InvalidState(InvalidStateReason.NOT_STARTED)
            before = AppointmentStatus(appointment.status)
            await _set_mark(
                session,
                appointment_id,
                actor,
                before,
                mark,
                ACTIVE_STATUSES,
                InvalidStateReason.NOT_BOOKED,
            )
            return await self._view_of(session, appointment_id)

        return await in_transaction(self._sessions, attempt)

    async def undo_mark(
        self, appointment_id: int, *, actor: Actor, now: datetime
    ) -> AppointmentView:
        """An admin or the appointment's specialist takes back a came / no-show mark: the
        appointment is booked again, as before the mark. Only on the appointment's own day
        (`mark_undoable`). A mark moves no money, so no ledger row is written or reversed.

        Raises `InvalidState(CHANGED_MEANWHILE | UNDO_TOO_LATE)` (not marked now; its day is
        over), `NotAllowed(CLIENTS_CANNOT_MARK | NOT_YOURS)`. Rule: docs/rules.md#appointments."""
        if actor.kind == "client":
            raise NotAllowed(NotAllowedReason.CLIENTS_CANNOT_MARK)

        async def attempt(session: AsyncSession) -> AppointmentView:
            await self._load_for(session, appointment_id, actor)
            view = await self._view_of(session, appointment_id)
            if view.status not in ATTENDANCE_MARKS:
                raise InvalidState(InvalidStateReason.CHANGED_MEANWHILE)
            if not mark_undoable(view.status, view.start, view.timezone, now):
                raise InvalidState(InvalidStateReason.UNDO_TOO_LATE)
            before = AppointmentStatus(view.status)
            booked = AppointmentStatus.BOOKED
            changed = InvalidStateReason.CHANGED_MEANWHILE
            await _set_mark(session, appointment_id, actor, before, booked, (before,), changed)
            return replace(view, status=booked)

        return await in_transaction(self._sessions, attempt)

    async def confirm_attendance(
        self, appointment_id: int, *, client_id: int, now: datetime
    ) -> AppointmentView:
        """The client's "I'll come" (from a reminder): recorded once in `client_confirmed_at`.
        Raises `InvalidState(NOT_UPCOMING)` once the appointment started or is not booked."""

        async def attempt(session: AsyncSession) -> AppointmentView:
            appointment = await self._load_for(
                session, appointment_id, Actor(kind="client", id=client_id)
            )
            if appointment.status != AppointmentStatus.BOOKED or now >= appointment.start_time:
                raise InvalidState(InvalidStateReason.NOT_UPCOMING)
            if not await appts.set_client_confirmed(session, appointment_id, now=now):
                raise InvalidState(InvalidStateReason.NOT_BOOKED)
            return await self._view_of(session, appointment_id)

        return await in_transaction(self._sessions, attempt)

    async def list_for_client(
        self, client_id: int, *, now: datetime, past: bool = False, limit: int = 20
    ) -> list[AppointmentView]:
        """Upcoming booked appointments (soonest first), or with `past` the history."""
        async with read_session(self._sessions) as session:
            rows = await appts.client_rows(session, client_id, now=now, past=past, limit=limit)
            return [appointment_view(r) for r in rows]

    # --- workplace (admin) -----------------------------------------------------------------

    async def workplace_choices(
        self, appointment_id: int, *, actor: Actor, now: datetime
    ) -> list[tuple[int, str]]:
        """The other workplaces a booked appointment could move to at its own time, for an
        admin: (workplace id, name), in id order; empty when none is free. Free counts the
        re-assignment of the day's other movable appointments (docs/rules.md#slot-grid).
        Raises `NotAllowed(ADMIN_ONLY)` for anyone else, `AccessDenied` for a non-admin
        (checked on the server), `NotFound`, `InvalidState(NOT_BOOKED)`, `SlotUnavailable`
        when it starts within the minimum notice (as any move)."""
        if actor.kind != "admin":
            raise NotAllowed(NotAllowedReason.ADMIN_ONLY)
        async with read_session(self._sessions) as session:
            appointment = await self._load_for(session, appointment_id, actor)
            if appointment.status != AppointmentStatus.BOOKED:
                raise InvalidState(InvalidStateReason.NOT_BOOKED)
            self._check_notice(appointment.start_time, now)
            ids = []
            for workplace_id in await location_workplace_ids(session, appointment.location_id):
                if workplace_id == appointment.workplace_id:
                    continue
                _, found = await self._availability.evaluate(
                    session,
                    location_id=appointment.location_id,
                    service_id=appointment.service_id,
                    specialist_id=appointment.specialist_id,
                    start=appointment.start_time,
                    now=now,
                    client_id=appointment.client_id,
                    exclude_appointment_id=appointment_id,
                    only_workplace=workplace_id,
                )
                if found:
                    ids.append(workplace_id)
            names = await workplace_names(session, ids)
        return [(i, names.get(i, str(i))) for i in ids]

    async def move_workplace(
        self, appointment_id: int, *, actor: Actor, workplace_id: int, now: datetime
    ) -> AppointmentView:
        """Put a booked appointment on another workplace at the same time and pin it there, so
        re-assignment never moves it again (docs/rules.md#slot-grid); an admin's action, in one
        transaction with its audit row. The price stays as booked. Other movable appointments
        may be moved to make room (their specialists are told), and the specialist of this one
        is told too. Raises what `workplace_choices` raises, and `SlotTaken` when the
        workplace is not free (or does not host the service) at that time."""
        if actor.kind != "admin":
            raise NotAllowed(NotAllowedReason.ADMIN_ONLY)
        view = await self._repicking(
            partial(
                self._pin_in,
                appointment_id=appointment_id,
                actor=actor,
                workplace_id=workplace_id,
                now=now,
            )
        )
        await self._after_change("appointment.moved", view, [view.start], now=now)
        return view

    async def _pin_in(
        self,
        session: AsyncSession,
        *,
        appointment_id: int,
        actor: Actor,
        workplace_id: int,
        now: datetime,
        keep_preferred: bool,
        lock_all: bool = False,
    ) -> AppointmentView:
        """One run of the workplace move transaction."""
        appointment = await self._load_for(session, appointment_id, actor)
        if appointment.status != AppointmentStatus.BOOKED:
            raise InvalidState(InvalidStateReason.NOT_BOOKED)
        self._check_notice(appointment.start_time, now)
        old_workplace_id = appointment.workplace_id
        start = appointment.start_time
        query = SlotQuery(
            appointment.location_id, appointment.service_id, appointment.specialist_id
        )
        if workplace_id != old_workplace_id:
            # Every workplace of the location is locked (moves may be needed), in the fixed
            # order, then the engine is asked again under the locks.
            chosen = await self._lock_candidate(
                session,
                query,
                start=start,
                now=now,
                client_id=appointment.client_id,
                prefer=(appointment.specialist_id, workplace_id),
                exclude_appointment_id=appointment_id,
                only_workplace=workplace_id,
                lock_all=True,
            )
            # This appointment moves with the ones making room for it, all while the workplace
            # constraint is deferred (a swap passes through overlaps); every specialist whose
            # appointment moved, this one's included, is told.
            moves = {**dict(chosen.moves), appointment_id: workplace_id}
            await self._make_room(session, replace(chosen, moves=tuple(sorted(moves.items()))), now)
        try:
            pinned = await pin_workplace(session, appointment_id, workplace_id)
        except DBAPIError as exc:
            if sqlstate(exc) == EXCLUSION_VIOLATION:
                raise SlotTaken(SlotTakenReason.REFUSED_BY_DATABASE) from exc
            raise
        if not pinned:
            raise InvalidState(InvalidStateReason.CHANGED_MEANWHILE)
        view = await self._view_of(session, appointment_id)
        await write_audit(
            session,
            actor_tg_id=actor.id,
            action=AuditAction.APPOINTMENT_WORKPLACE_PINNED,
            entity="appointment",
            entity_id=appointment_id,
            before={"workplace_id": old_workplace_id},
            after={"workplace_id": workplace_id, "pinned": True},
        )
        return view

    async def get(self, appointment_id: int, *, actor: Actor) -> AppointmentView:
        """One appointment, if the actor may see it (`NotFound` / `NotAllowed`)."""
        async with read_session(self._sessions) as session:
            await self._load_for(session, appointment_id, actor)
            return await self._view_of(session, appointment_id)

    async def refunded(self, appointment_id: int, *, actor: Actor) -> Decimal:
        """What the appointment's cancel refunded (a currency amount; 0 for nothing), if the
        actor may see it (`NotFound` / `NotAllowed`): a repeated "Yes, cancel" shows the same
        result as the first. Rule: docs/rules.md#cancel-and-refunds."""
        async with read_session(self._sessions) as session:
            await self._load_for(session, appointment_id, actor)
            return await wallets.refunded_for(session, appointment_id)

    # --- plumbing --------------------------------------------------------------------------

    def _check_notice(self, start: datetime, now: datetime) -> None:
        if (too_soon := self._too_soon(start, now)) is not None:
            raise too_soon

    def _too_soon(self, start: datetime, now: datetime) -> SlotUnavailable | None:
        """`SlotUnavailable("too_soon")` when `start` is inside the minimum notice (returned,
        for the caller to raise unless it is a replay), else None. Raises
        `SlotUnavailable("naive_time")` for a start without a zone."""
        if start.tzinfo is None:
            raise SlotUnavailable("naive_time")
        if start < now + timedelta(minutes=self._settings.min_notice_min):
            return SlotUnavailable("too_soon")
        return None

    async def _load_for(
        self, session: AsyncSession, appointment_id: int, actor: Actor
    ) -> Appointment:
        if actor.kind == "admin":
            # Checked on the server in the use case's session (its transaction, for one that
            # writes): a removed admin's old button is refused here. Rule:
            # docs/rules.md#admin-rights.
            await require_admin(session, self._settings, actor.id)
        appointment = await appts.get(session, appointment_id)
        if appointment is None:
            raise NotFound(f"appointment {appointment_id}")
        if (actor.kind == "client" and appointment.client_id != actor.id) or (
            actor.kind == "specialist" and appointment.specialist_id != actor.id
        ):
            raise NotAllowed(NotAllowedReason.NOT_YOURS)
        return appointment

    async def _view_of(self, session: AsyncSession, appointment_id: int) -> AppointmentView:
        row = await appts.view_facts(session, appointment_id)
        if row is None:
            raise NotFound(f"appointment {appointment_id}")
        return appointment_view(row)

    async def _repicking(self, body: Callable[..., Awaitable[T]]) -> T:
        """Run `body(session, keep_preferred=..., lock_all=...)` in a retried transaction
        (`in_transaction`).

        The first run tries the preferred pair (the hold's, or the appointment's current one).
        When that pair is gone under the lock while others are free (`_Repick`), the
        transaction runs again with `keep_preferred=False`, letting the engine choose; after
        `REPICK_ATTEMPTS` such runs the time counts as taken (`SlotTaken`).
        """
        keep_preferred, lock_all = True, False
        for _ in range(REPICK_ATTEMPTS):
            try:
                return await in_transaction(
                    self._sessions,
                    partial(body, keep_preferred=keep_preferred, lock_all=lock_all),
                )
            except _Repick as repick:
                if repick.lock_all:
                    lock_all = True  # the same pair once room is made: lock every workplace
                else:
                    keep_preferred = False
        raise SlotTaken(SlotTakenReason.JUST_TAKEN)

    async def _held_pair(self, request: BookingRequest) -> tuple[int, int] | None:
        """The (specialist, workplace) of the request's hold, the pair confirm locks first; None:
        no live hold of that id (the engine picks). The conversation keeps the pair with the
        hold id (`held_workplace`), so no Redis command is spent on it: whether the hold is
        still live changes nothing, as the look under the locks decides if the pair is free
        (another client's hold or appointment there makes the run pick again). Without it,
        the client's hold is read."""
        if request.specialist_id is not None and request.held_workplace is not None:
            return request.specialist_id, request.held_workplace
        try:
            held = await self._holds.get(request.client_id)
        except Exception as exc:  # Redis is a courtesy; PostgreSQL decides without it.
            # One line, no trace: during a Redis outage this happens on every confirm.
            log.warning("could not read the hold of client %s: %r", request.client_id, exc)
            return None
        if held is None or held.hold_id != request.hold_id:
            return None
        return held.specialist_id, held.workplace_id

    async def _after_change(
        self,
        kind: str,
        view: AppointmentView,
        starts: Sequence[datetime],
        *,
        now: datetime | None = None,
        freed: datetime | None = None,
        release: Sequence[str | int] = (),
    ) -> None:
        """After the commit: drop cached slots, offer freed time to the waitlist, publish the
        event and wake the notifier, then give back the hold `release` names
        (`HoldStore.release_args`). Without a waitlist offer, that is one script call (the
        last day's invalidation carries the events and the release). All best effort: the
        commit already happened."""
        days = sorted({local_day(s, view.timezone) for s in starts})
        offer = self._waitlist is not None and now is not None
        events: list[Event] = []
        if self._events is not None:
            data = {
                "appointment_id": view.id,
                "location_id": view.location_id,
                "start": view.start.isoformat(),
            }
            # The wake-up last, so the worker also finds a waitlist offer queued before it.
            events = [(kind, data), (OUTBOX_WAKE, {})]
        # The Redis bus's events ride on the last invalidation's script call when no waitlist
        # offer has to come before them; another publisher is told on its own.
        folded = not offer and isinstance(self._events, EventBus)
        # The specialist is busy (or free) at their other locations too: the same call drops
        # those dates.
        elsewhere = await self._elsewhere(view, starts)
        for day in days:
            last = day == days[-1]
            await self._best_effort(
                self._availability.invalidate(
                    location_id=view.location_id,
                    day=day,
                    events=events if last and folded else (),
                    release=release if last else (),
                    elsewhere=elsewhere if last else (),
                ),
                "invalidate",
            )
        if self._waitlist is not None and now is not None:
            released = freed if freed is not None else view.start
            await self._best_effort(
                self._waitlist.on_time_freed(
                    None,
                    view.location_id,
                    local_day(released, view.timezone),
                    now=now,
                    freed_start=released,
                ),
                "waitlist offer",
            )
        if self._events is not None and not folded:
            for name, body in events:
                await self._best_effort(self._events.publish(name, **body), f"publish {name}")

    async def _elsewhere(
        self, view: AppointmentView, starts: Sequence[datetime]
    ) -> list[tuple[int, date]]:
        """`AvailabilityService.elsewhere` for the appointment's specialist, or [] when it
        cannot be read (logged; after the commit, the cache's short TTL is the safety net)."""
        try:
            return await self._availability.elsewhere(view.specialist_id, view.location_id, starts)
        except Exception as exc:
            log.warning("the specialist's other locations not read after commit: %r", exc)
            return []

    @staticmethod
    async def _best_effort(action: Awaitable[object], what: str) -> None:
        try:
            await action
        except Exception as exc:
            log.warning("%s failed after commit (ignored): %r", what, exc)


def _audit_state(view: AppointmentView) -> dict[str, object]:
    """What the audit log keeps of an appointment's booking."""
    return {
        "start": view.start,
        "specialist_id": view.specialist_id,
        "workplace_id": view.workplace_id,
        "status": view.status,
        "charged": view.charged,
    }
