"""The outbox worker: claims due rows with a lease, sends them, settles each outcome.

Delivery is at-least-once (docs/rules.md#delivery): a row is marked sent only after Telegram
accepted it, so a crash between the send and the mark repeats that one message once (after its lease
expires) and loses nothing. While every worker is alive, `FOR UPDATE SKIP LOCKED` plus the lease
keeps any number of them from sending a row twice.

Outcomes:
- sent -> `status='sent'`;
- 429 or "our turn would come after the lease" -> back to pending at `now + retry_after`, the
  attempt given back (pacing is not a failure);
- 403 -> the recipient is marked unreachable and all their pending rows are cancelled;
- anything else -> retried with exponential backoff, `failed` after `OUTBOX_MAX_ATTEMPTS`
  (a malformed request fails at once) with `last_error` kept.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain import notification_kinds as kinds
from bot.domain.statuses import AppointmentStatus
from bot.notify.render import Rendered, UnknownKind, render
from bot.notify.sender import Blocked, Failed, MessageSender, Outcome, RetryLater, Sent
from bot.services.agenda import AgendaLine, agenda_lines, lines_on, queue_daily_agendas
from bot.services.transaction import in_transaction
from db.repositories import notifications, outbox
from db.repositories.outbox import ClaimedRow

log = logging.getLogger(__name__)

T = TypeVar("T")


# Pauses between attempts to record a row's outcome (then one last attempt that may raise).
SETTLE_RETRY_DELAYS = (0.2, 1.0, 3.0)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    lease: dt.timedelta = dt.timedelta(seconds=60)
    # Rows claimed per pass; with several messages per chat the chats of one batch pace it, so
    # it must hold enough distinct chats to keep the global budget busy.
    batch_size: int = 100
    # Chats served in parallel by one worker. The rate limiter, not this, sets the pace; it must
    # be large enough that chats waiting out their 1 s interval don't idle the global budget. A
    # row holds a database connection only to re-check and to settle, not while it waits.
    concurrency: int = 32
    db_connections: int = 4
    backoff_base: dt.timedelta = dt.timedelta(seconds=5)
    backoff_max: dt.timedelta = dt.timedelta(hours=1)
    agenda_every: float = 60.0  # seconds between daily-agenda scheduler steps

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerOptions:
        """The defaults, with the lease and batch size from `OUTBOX_LEASE_SECONDS` and
        `OUTBOX_BATCH_SIZE`."""
        return cls(
            lease=dt.timedelta(seconds=settings.outbox_lease_seconds),
            batch_size=settings.outbox_batch_size,
        )


class OutboxWorker:
    """Delivers due outbox rows. Safe to run any number of these side by side."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        sender: MessageSender,
        settings: Settings,
        *,
        worker_id: str | None = None,
        options: WorkerOptions | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = session_factory
        self._sender = sender
        self._settings = settings
        self.worker_id = worker_id or default_worker_id()
        self._options = options or WorkerOptions.from_settings(settings)
        self._clock = clock
        self._monotonic = monotonic
        self._wake = asyncio.Event()
        self._db_slots = asyncio.Semaphore(self._options.db_connections)
        self._stopping = asyncio.Event()

    async def _transaction(self, body: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `body` in one short transaction (`in_transaction`: retried after a deadlock or
        serialization failure); at most `db_connections` at a time, however many chats are in
        flight (a database's connection budget is shared with everything else)."""
        async with self._db_slots:
            return await in_transaction(self._sessions, body)

    def wake(self) -> None:
        """Look for due rows now (called on the `outbox.wake` event)."""
        self._wake.set()

    # --- one pass ---------------------------------------------------------------------------

    async def run_once(self, now: dt.datetime | None = None) -> int:
        """Claim one batch of due rows and deliver it. Returns how many rows were claimed.

        `now` pins the clock (tests); by default the worker's clock is read as it goes.
        """
        claim_now = now or self._clock()
        rows = await self._transaction(
            partial(
                outbox.claim_due,
                now=claim_now,
                limit=self._options.batch_size,
                lease=self._options.lease,
                worker_id=self.worker_id,
            )
        )
        if not rows:
            return 0
        # Hand a row back rather than send it after the lease ran out (another worker may have
        # taken it by then); keep a margin for the settle write.
        lease_s = self._options.lease.total_seconds()
        deadline = self._monotonic() + lease_s - min(5.0, lease_s * 0.2)
        by_chat: dict[int, list[ClaimedRow]] = defaultdict(list)
        for row in rows:
            by_chat[row.chat_id].append(row)
        gate = asyncio.Semaphore(self._options.concurrency)

        async def deliver_chat(chat_rows: list[ClaimedRow]) -> None:
            async with gate:
                # One chat's rows go in order: a reminder never overtakes the confirmation.
                for index, row in enumerate(chat_rows):
                    if self._stopping.is_set():
                        # Shutting down: what is not sent yet goes back at once (unsent, no
                        # attempt counted) instead of holding the stop up or its lease.
                        await self._hand_back(chat_rows[index:], due=now or self._clock())
                        return
                    outcome = await self._deliver(row, now=now, deadline=deadline)
                    if isinstance(outcome, Blocked):
                        return  # the chat's other rows were cancelled with it
                    retry_at = self._retry_at(row, outcome, now=now)
                    if retry_at is not None:
                        # Keep the order: the rest of this chat waits as long as this row.
                        await self._hand_back(chat_rows[index + 1 :], due=retry_at)
                        return

        results = await asyncio.gather(
            *(deliver_chat(chat_rows) for chat_rows in by_chat.values()), return_exceptions=True
        )
        for result in results:
            # A chat whose row could not be settled (database away) keeps its lease and is
            # retried when it expires; the other chats of the batch are not held back by it.
            if isinstance(result, Exception):
                log.warning(
                    "outbox worker %s: a chat's delivery failed: %r", self.worker_id, result
                )
        return len(rows)

    async def drain(self, now: dt.datetime | None = None) -> int:
        """Run passes until nothing is due (tests and the benchmark)."""
        total = 0
        while count := await self.run_once(now):
            total += count
        return total

    async def _deliver(
        self, row: ClaimedRow, *, now: dt.datetime | None, deadline: float
    ) -> Outcome | None:
        try:
            message = await self._prepare(row, now=now or self._clock())
        except (UnknownKind, KeyError, ValueError, TypeError) as exc:
            log.error("outbox row %s (%s) cannot be rendered: %r", row.id, row.kind, exc)
            await self._settle_failed(row, f"render: {exc!r}")
            return None
        if message is None:
            return None  # no longer relevant; already cancelled
        outcome = await self._sender.send(
            row.chat_id, message.text, message.reply_markup, deadline=deadline
        )
        await self._settle_persistently(row, outcome, now=now or self._clock())
        return outcome

    async def _settle_persistently(
        self, row: ClaimedRow, outcome: Outcome, *, now: dt.datetime
    ) -> None:
        """Record the outcome, retrying a short while if the database is briefly away: a sent
        row left unmarked would be sent again once its lease expires."""
        for delay in SETTLE_RETRY_DELAYS:
            try:
                await self._settle(row, outcome, now=now)
                return
            except (SQLAlchemyError, OSError) as exc:
                log.warning("outbox row %s: settling failed (%r), retrying", row.id, exc)
                await asyncio.sleep(delay)
        await self._settle(row, outcome, now=now)

    def _retry_at(
        self, row: ClaimedRow, outcome: Outcome | None, *, now: dt.datetime | None
    ) -> dt.datetime | None:
        """When a row that was not delivered will be tried again (None: sent, or settled)."""
        at = now or self._clock()
        if isinstance(outcome, RetryLater):
            return at + dt.timedelta(seconds=outcome.seconds)
        if isinstance(outcome, Failed) and not self._gives_up(row, outcome):
            return at + self.backoff(row.attempts)
        return None

    def _gives_up(self, row: ClaimedRow, outcome: Failed) -> bool:
        return outcome.permanent or row.attempts >= self._settings.outbox_max_attempts

    async def _hand_back(self, rows: list[ClaimedRow], *, due: dt.datetime) -> None:
        """Return claimed rows unsent, without counting an attempt."""
        if not rows:
            return

        async def hand_back(session: AsyncSession) -> None:
            for row in rows:
                await outbox.reschedule(
                    session,
                    row.id,
                    worker_id=self.worker_id,
                    due_at=due,
                    error=None,
                    count_attempt=False,
                )

        await self._transaction(hand_back)

    async def _prepare(self, row: ClaimedRow, *, now: dt.datetime) -> Rendered | None:
        """Re-check relevance and render. None means the row was cancelled instead."""
        if row.kind not in kinds.REMINDER_KINDS and row.kind != kinds.SPECIALIST_AGENDA:
            return render(row.kind, row.payload, currency=self._settings.currency, now=now)

        async def recheck(session: AsyncSession) -> tuple[bool, list[AgendaLine] | None]:
            if row.kind in kinds.REMINDER_KINDS and not await self._still_relevant(session, row):
                await outbox.mark_cancelled(session, row.id, reason="no longer relevant")
                return False, None
            if row.kind == kinds.SPECIALIST_AGENDA:
                day = dt.date.fromisoformat(str(row.payload["date"]))
                lines = await agenda_lines(session, int(row.payload["specialist_id"]), around=now)
                return True, lines_on(lines, day)
            return True, None

        relevant, agenda = await self._transaction(recheck)
        if not relevant:
            return None
        return render(
            row.kind, row.payload, currency=self._settings.currency, agenda=agenda, now=now
        )

    @staticmethod
    async def _still_relevant(session: AsyncSession, row: ClaimedRow) -> bool:
        """A reminder is worth sending only while its appointment is booked at the same start
        (and, for the specialist's, still with the specialist it is addressed to); the
        thank-you also when the visit was marked completed."""
        if row.appointment_id is None:
            return False
        found = await notifications.reminder_target(session, row.appointment_id)
        if found is None:
            return False
        status, start, specialist_chat = found
        if row.kind == kinds.SPECIALIST_REMINDER and specialist_chat != row.chat_id:
            return False
        # The thank-you also goes after a visit marked completed (not after a no-show).
        wanted = (
            (AppointmentStatus.BOOKED, AppointmentStatus.COMPLETED)
            if row.kind == kinds.CLIENT_THANKS
            else (AppointmentStatus.BOOKED,)
        )
        return bool(status in wanted and start == dt.datetime.fromisoformat(row.payload["start"]))

    # --- settling ---------------------------------------------------------------------------

    async def _settle(self, row: ClaimedRow, outcome: Outcome, *, now: dt.datetime) -> None:
        await self._transaction(partial(self._settle_in, row=row, outcome=outcome, now=now))

    async def _settle_in(
        self, session: AsyncSession, *, row: ClaimedRow, outcome: Outcome, now: dt.datetime
    ) -> None:
        match outcome:
            case Sent():
                await outbox.mark_sent(session, row.id, worker_id=self.worker_id, now=now)
            case RetryLater(seconds=seconds, reason=reason):
                await outbox.reschedule(
                    session,
                    row.id,
                    worker_id=self.worker_id,
                    due_at=now + dt.timedelta(seconds=seconds),
                    error=reason,
                    count_attempt=False,
                )
            case Blocked(error=error):
                log.info("chat %s (%s) blocked the bot: %s", row.chat_id, row.recipient, error)
                await outbox.mark_failed(session, row.id, worker_id=self.worker_id, error=error)
                await outbox.deactivate_chat(session, row.recipient, row.chat_id)
                await outbox.cancel_pending_for_chat(
                    session, row.chat_id, row.recipient, reason=f"chat unreachable: {error}"
                )
            case Failed(error=error):
                if self._gives_up(row, outcome):
                    log.warning("outbox row %s gave up: %s", row.id, error)
                    await outbox.mark_failed(session, row.id, worker_id=self.worker_id, error=error)
                else:
                    await outbox.reschedule(
                        session,
                        row.id,
                        worker_id=self.worker_id,
                        due_at=now + self.backoff(row.attempts),
                        error=error,
                    )

    async def _settle_failed(self, row: ClaimedRow, error: str) -> None:
        await self._transaction(
            partial(outbox.mark_failed, row_id=row.id, worker_id=self.worker_id, error=error)
        )

    def backoff(self, attempts: int) -> dt.timedelta:
        """Delay before attempt `attempts + 1`: base * 2^(attempts-1), capped."""
        delay = self._options.backoff_base * (1 << max(attempts - 1, 0))
        return min(delay, self._options.backoff_max)

    # --- the loop ---------------------------------------------------------------------------

    async def schedule_agendas(self, now: dt.datetime | None = None) -> int:
        """Queue the daily agendas that are due (idempotent; every worker may run it)."""
        return await self._transaction(
            partial(queue_daily_agendas, now=now or self._clock(), settings=self._settings)
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set: woken by `wake()`, else every `OUTBOX_POLL_SECONDS`,
        or sooner when the next row falls due."""
        poll = self._settings.outbox_poll_seconds
        next_agenda = 0.0
        # A batch in progress checks this between messages.
        self._stopping = stop
        log.info("outbox worker %s started", self.worker_id)
        while not stop.is_set():
            self._wake.clear()
            claimed = 0
            try:
                if self._monotonic() >= next_agenda:
                    await self.schedule_agendas()
                    next_agenda = self._monotonic() + self._options.agenda_every
                claimed = await self.run_once()
                timeout = poll if claimed < self._options.batch_size else 0.0
                if timeout > 0:
                    timeout = min(timeout, await self._until_next_due())
            except (SQLAlchemyError, OSError) as exc:
                # The database is away: keep the loop alive and try again after a poll.
                log.warning("outbox worker: %r; retrying in %.1fs", exc, poll)
                timeout = poll
            if timeout > 0:
                await _wait_any(stop, self._wake, seconds=timeout)
        log.info("outbox worker %s stopped", self.worker_id)

    async def _until_next_due(self) -> float:
        due = await self._transaction(outbox.next_due_at)
        if due is None:
            return self._settings.outbox_poll_seconds
        return max((due - self._clock()).total_seconds(), 0.0)


async def _wait_any(*events: asyncio.Event, seconds: float) -> None:
    """Return when any event is set or after `seconds`."""
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
