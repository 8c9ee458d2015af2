"""Outbox queries: queue, cancel, claim with a lease, and settle rows. They never commit.

`INSERT ... ON CONFLICT (dedupe_key)` is safe here: the outbox has no exclusion constraints
(the deadlock in docs/rules.md#pitfalls-we-design-around concerns the appointments table).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, func, literal_column, null, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from bot.domain.statuses import OutboxStatus
from db.base import Base
from db.driver import fetch
from db.models import Client, Outbox, Specialist

PENDING = OutboxStatus.PENDING
SENT = OutboxStatus.SENT
FAILED = OutboxStatus.FAILED
CANCELLED = OutboxStatus.CANCELLED

_OUTBOX = Base.metadata.tables["outbox"]
# A new row's columns, in the order `NewRow` gives them.
_NEW_COLUMNS = ("dedupe_key", "kind", "recipient", "chat_id", "due_at", "payload", "appointment_id")
# Rows per INSERT: a booking queues up to five; longer lists take several statements, so at
# most 2 x _BATCH statements are ever built.
_BATCH = 8


@lru_cache(maxsize=2 * _BATCH)
def _enqueue_statement(rows: int, reviving: bool) -> ReturningInsert[Any]:
    """`enqueue_many`'s multi-row INSERT for `rows` rows, built once per (rows, reviving):
    parameters `<column>_<row>`. Run through `db.driver.fetch`, which compiles it once; a
    PostgreSQL `INSERT ... ON CONFLICT` has no SQLAlchemy cache key, so `session.execute`
    would compile it at every call. Constants are written in the SQL, not passed."""
    statement = insert(_OUTBOX).values(
        [
            {c: bindparam(f"{c}_{i}", type_=_OUTBOX.c[c].type) for c in _NEW_COLUMNS}
            for i in range(rows)
        ]
    )
    if not reviving:
        statement = statement.on_conflict_do_nothing(index_elements=[_OUTBOX.c.dedupe_key])
    else:
        statement = statement.on_conflict_do_update(
            index_elements=[_OUTBOX.c.dedupe_key],
            set_={
                "status": literal_column(f"'{PENDING.value}'"),
                "due_at": statement.excluded.due_at,
                "payload": statement.excluded.payload,
                "chat_id": statement.excluded.chat_id,
                "attempts": literal_column("0"),
                "locked_until": null(),
                "locked_by": null(),
                "last_error": null(),
            },
            where=_OUTBOX.c.status == literal_column(f"'{CANCELLED.value}'"),
        )
    return statement.returning(_OUTBOX.c.id)


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    """A row leased to one worker until `locked_until`."""

    id: int
    dedupe_key: str
    kind: str
    recipient: str
    chat_id: int
    appointment_id: int | None
    payload: dict[str, Any]
    due_at: dt.datetime
    attempts: int
    locked_until: dt.datetime


@dataclass(frozen=True, slots=True)
class NewRow:
    """One message to queue (see `enqueue_many`)."""

    dedupe_key: str
    kind: str
    recipient: str
    chat_id: int
    due_at: dt.datetime
    payload: dict[str, Any]
    appointment_id: int | None = None


async def enqueue(
    session: AsyncSession,
    *,
    dedupe_key: str,
    kind: str,
    recipient: str,
    chat_id: int,
    due_at: dt.datetime,
    payload: dict[str, Any],
    appointment_id: int | None = None,
    revive_cancelled: bool = False,
) -> bool:
    """Queue one message unless a row with the same `dedupe_key` exists. Returns True if queued.

    `revive_cancelled` re-arms a row that was cancelled earlier (an appointment moved away and
    back to the same start gets its reminder again); a sent or pending row is never touched.
    """
    row = NewRow(dedupe_key, kind, recipient, chat_id, due_at, payload, appointment_id)
    return await enqueue_many(session, [row], revive_cancelled=revive_cancelled) == 1


async def enqueue_many(
    session: AsyncSession, rows: Sequence[NewRow], *, revive_cancelled: bool = False
) -> int:
    """`enqueue` for several rows, one statement per eight (a booking's fit in one); returns
    how many were queued (or revived). A dedupe key given twice is queued once, as its last
    row says."""
    unique = list({r.dedupe_key: r for r in rows}.values())
    queued = 0
    for first in range(0, len(unique), _BATCH):
        batch = unique[first : first + _BATCH]
        params = {
            f"{column}_{i}": getattr(row, column)
            for i, row in enumerate(batch)
            for column in _NEW_COLUMNS
        }
        statement = _enqueue_statement(len(batch), revive_cancelled)
        queued += len(await fetch(session, statement, params))
    return queued


async def cancel_pending(
    session: AsyncSession,
    appointment_id: int,
    kinds: Iterable[str] | None = None,
    *,
    reason: str | None = None,
) -> int:
    """Cancel the appointment's pending rows (all, or only `kinds`). Returns how many."""
    conditions = [Outbox.appointment_id == appointment_id, Outbox.status == PENDING]
    if kinds is not None:
        conditions.append(Outbox.kind.in_(list(kinds)))
    result = await session.execute(
        update(Outbox)
        .where(*conditions)
        .values(status=CANCELLED, locked_until=None, locked_by=None, last_error=reason)
        .returning(Outbox.id)
    )
    return len(result.scalars().all())


async def cancel_pending_for_chat(
    session: AsyncSession, chat_id: int, recipient: str, *, reason: str
) -> int:
    """Cancel every pending row for one chat (the recipient blocked the bot)."""
    result = await session.execute(
        update(Outbox)
        .where(
            Outbox.chat_id == chat_id,
            Outbox.recipient == recipient,
            Outbox.status == PENDING,
        )
        .values(status=CANCELLED, locked_until=None, locked_by=None, last_error=reason)
        .returning(Outbox.id)
    )
    return len(result.scalars().all())


async def claim_due(
    session: AsyncSession,
    *,
    now: dt.datetime,
    limit: int,
    lease: dt.timedelta,
    worker_id: str,
) -> list[ClaimedRow]:
    """Lease up to `limit` due rows to `worker_id` (the caller commits the claim at once).

    `FOR UPDATE SKIP LOCKED` lets any number of workers claim side by side; the lease
    (`locked_until`) hands a row to another worker only when its holder died mid-send.
    """
    due = (
        select(Outbox.id)
        .where(
            Outbox.status == PENDING,
            Outbox.due_at <= now,
            or_(Outbox.locked_until.is_(None), Outbox.locked_until < now),
        )
        .order_by(Outbox.due_at, Outbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    locked_until = now + lease
    result = await session.execute(
        update(Outbox)
        .where(Outbox.id.in_(due))
        .values(locked_until=locked_until, locked_by=worker_id, attempts=Outbox.attempts + 1)
        .returning(
            Outbox.id,
            Outbox.dedupe_key,
            Outbox.kind,
            Outbox.recipient,
            Outbox.chat_id,
            Outbox.appointment_id,
            Outbox.payload,
            Outbox.due_at,
            Outbox.attempts,
            Outbox.locked_until,
        )
    )
    rows = [ClaimedRow(*r) for r in result.all()]
    rows.sort(key=lambda r: (r.due_at, r.id))
    return rows


def _leased(row_id: int, worker_id: str) -> Any:
    # Only the lease holder settles a row; a worker whose lease expired and was taken over
    # must not overwrite the newer holder's outcome.
    return and_(Outbox.id == row_id, Outbox.status == PENDING, Outbox.locked_by == worker_id)


async def mark_sent(
    session: AsyncSession, row_id: int, *, worker_id: str, now: dt.datetime
) -> bool:
    result = await session.execute(
        update(Outbox)
        .where(Outbox.id == row_id, Outbox.status == PENDING)
        .values(status=SENT, sent_at=now, locked_until=None, last_error=None)
        .returning(Outbox.id)
    )
    return result.scalar_one_or_none() is not None


async def reschedule(
    session: AsyncSession,
    row_id: int,
    *,
    worker_id: str,
    due_at: dt.datetime,
    error: str | None,
    count_attempt: bool = True,
) -> None:
    """Release the lease and try again at `due_at`.

    `count_attempt=False` gives the attempt back (a 429 or a lease we chose not to use is
    Telegram's pacing, not a failure of the message).
    """
    values: dict[str, Any] = {"due_at": due_at, "locked_until": None, "locked_by": None}
    if error is not None:
        values["last_error"] = error[:1000]
    if not count_attempt:
        values["attempts"] = func.greatest(Outbox.attempts - 1, 0)
    await session.execute(update(Outbox).where(_leased(row_id, worker_id)).values(**values))


async def mark_failed(session: AsyncSession, row_id: int, *, worker_id: str, error: str) -> None:
    await session.execute(
        update(Outbox)
        .where(_leased(row_id, worker_id))
        .values(status=FAILED, locked_until=None, last_error=error[:1000])
    )


# `settle_unsent`'s statement (Core, on the table, built once): a confirm settles its
# confirmation with it.
_SETTLE_UNSENT = (
    update(_OUTBOX)
    .where(
        _OUTBOX.c.dedupe_key == bindparam("key"),
        _OUTBOX.c.status == PENDING.value,
        or_(_OUTBOX.c.locked_until.is_(None), _OUTBOX.c.locked_until < bindparam("now")),
    )
    .values(
        status=SENT.value,
        sent_at=bindparam("now"),
        locked_until=None,
        locked_by=None,
        last_error=bindparam("reason"),
    )
    .returning(_OUTBOX.c.id)
)


async def settle_unsent(
    session: AsyncSession, dedupe_key: str, *, now: dt.datetime, reason: str
) -> bool:
    """Mark a pending row sent without sending it (what it says is already on screen), unless
    a worker holds its lease right now (then that worker sends it). True if settled."""
    params = {"key": dedupe_key, "now": now, "reason": reason}
    return bool(await fetch(session, _SETTLE_UNSENT, params))


async def mark_cancelled(session: AsyncSession, row_id: int, *, reason: str) -> None:
    await session.execute(
        update(Outbox)
        .where(Outbox.id == row_id, Outbox.status == PENDING)
        .values(status=CANCELLED, locked_until=None, last_error=reason)
    )


async def next_due_at(session: AsyncSession) -> dt.datetime | None:
    """When the earliest pending row falls due (lets an idle worker sleep exactly that long)."""
    result = await session.execute(
        select(
            func.min(
                func.greatest(Outbox.due_at, func.coalesce(Outbox.locked_until, Outbox.due_at))
            )
        ).where(Outbox.status == PENDING)
    )
    due: dt.datetime | None = result.scalar_one_or_none()
    return due


async def rows_for(session: AsyncSession, appointment_id: int) -> Sequence[Outbox]:
    """All rows of one appointment (used by tests and admin diagnostics)."""
    result = await session.execute(
        select(Outbox).where(Outbox.appointment_id == appointment_id).order_by(Outbox.id)
    )
    return result.scalars().all()


async def deactivate_chat(session: AsyncSession, recipient: str, chat_id: int) -> None:
    """The chat blocked the bot: stop writing to it until it talks to us again."""
    if recipient == "client":
        await session.execute(update(Client).where(Client.tg_id == chat_id).values(is_active=False))
    elif recipient == "specialist":
        await session.execute(
            update(Specialist).where(Specialist.tg_id == chat_id).values(chat_active=False)
        )
