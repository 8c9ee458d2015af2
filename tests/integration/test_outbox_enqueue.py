"""The outbox's queueing and settling statements: `enqueue_many` (one multi-row INSERT per
eight rows, run on the session's connection) and `settle_unsent`."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler

from db.models import Outbox
from db.repositories import outbox

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def row(key: str, *, minutes: int = 0, payload: dict[str, object] | None = None) -> outbox.NewRow:
    return outbox.NewRow(
        dedupe_key=key,
        kind="reminder",
        recipient="client",
        chat_id=1000 + len(key),
        due_at=NOW + dt.timedelta(minutes=minutes),
        payload={"key": key, "nested": [1, "два"]} if payload is None else payload,
    )


async def stored(session: AsyncSession) -> dict[str, Outbox]:
    found = await session.execute(select(Outbox).execution_options(populate_existing=True))
    return {r.dedupe_key: r for r in found.scalars()}


async def test_rows_beyond_one_statement_are_all_queued_once_with_their_values(
    session: AsyncSession,
) -> None:
    # 11 distinct keys (two statements: 8 + 3), one of them given twice.
    rows = [row(f"k{i}", minutes=i) for i in range(11)] + [row("k3", minutes=99)]
    assert await outbox.enqueue_many(session, rows) == 11
    await session.commit()
    found = await stored(session)
    assert sorted(found) == sorted(f"k{i}" for i in range(11))
    for i in range(11):
        r = found[f"k{i}"]
        expected_minutes = 99 if i == 3 else i  # the last of a repeated key is queued
        assert (r.kind, r.recipient, r.status) == ("reminder", "client", "pending")
        assert r.chat_id == 1000 + len(f"k{i}")
        assert r.due_at == NOW + dt.timedelta(minutes=expected_minutes)
        assert r.payload == {"key": f"k{i}", "nested": [1, "два"]}
        assert r.appointment_id is None
    # Queued again: nothing new, nothing changed.
    assert await outbox.enqueue_many(session, [row("k1", minutes=50), row("k2")]) == 0
    assert (await stored(session))["k1"].due_at == NOW + dt.timedelta(minutes=1)
    assert await outbox.enqueue_many(session, []) == 0


async def test_reviving_re_arms_only_a_cancelled_row(session: AsyncSession) -> None:
    assert await outbox.enqueue_many(session, [row("gone"), row("sent"), row("waiting")]) == 3
    await session.execute(
        update(Outbox)
        .where(Outbox.dedupe_key == "gone")
        .values(status="cancelled", attempts=2, locked_by="w1", last_error="moved away")
    )
    await session.execute(update(Outbox).where(Outbox.dedupe_key == "sent").values(status="sent"))
    again = [
        replace(row(k, minutes=30, payload={"again": k}), chat_id=77)
        for k in ("gone", "sent", "waiting", "new")
    ]
    # Without reviving only the new key is queued.
    assert await outbox.enqueue_many(session, again[3:]) == 1
    assert await outbox.enqueue_many(session, again, revive_cancelled=True) == 1
    await session.commit()
    found = await stored(session)
    gone = found["gone"]
    assert (gone.status, gone.attempts, gone.payload) == ("pending", 0, {"again": "gone"})
    assert (gone.locked_by, gone.last_error, gone.chat_id) == (None, None, 77)
    assert gone.due_at == NOW + dt.timedelta(minutes=30)
    for key, status in (("sent", "sent"), ("waiting", "pending")):
        assert (found[key].status, found[key].payload["key"]) == (status, key)
        assert (found[key].due_at, found[key].chat_id) == (NOW, 1000 + len(key))


async def test_settling_skips_a_row_a_worker_holds(session: AsyncSession) -> None:
    await outbox.enqueue_many(session, [row("free"), row("leased")])
    await session.execute(
        update(Outbox)
        .where(Outbox.dedupe_key == "leased")
        .values(locked_until=NOW + dt.timedelta(minutes=1), locked_by="w1")
    )
    assert await outbox.settle_unsent(session, "free", now=NOW, reason="shown") is True
    assert await outbox.settle_unsent(session, "free", now=NOW, reason="again") is False
    assert await outbox.settle_unsent(session, "leased", now=NOW, reason="shown") is False
    assert await outbox.settle_unsent(session, "missing", now=NOW, reason="shown") is False
    later = NOW + dt.timedelta(minutes=2)  # the lease ran out: its holder died
    assert await outbox.settle_unsent(session, "leased", now=later, reason="late") is True
    await session.commit()
    found = await stored(session)
    free, leased = found["free"], found["leased"]
    assert (free.status, free.sent_at, free.last_error, free.locked_by) == (
        "sent",
        NOW,
        "shown",
        None,
    )
    assert (leased.status, leased.sent_at, leased.last_error) == ("sent", later, "late")
    assert (leased.locked_until, leased.locked_by) == (None, None)


async def test_queueing_compiles_its_statement_once(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's INSERT ... ON CONFLICT has no SQLAlchemy cache key: through
    `session.execute` it was compiled at every booking. Through the driver it is compiled once
    per number of rows."""
    compiled: list[str] = []
    real = SQLCompiler.__init__

    def counting(self: SQLCompiler, *args: Any, **kwargs: Any) -> None:
        real(self, *args, **kwargs)
        compiled.append(self.string)

    await outbox.enqueue_many(session, [row("warm 1"), row("warm 2")])
    monkeypatch.setattr(SQLCompiler, "__init__", counting)
    assert await outbox.enqueue_many(session, [row("again 1"), row("again 2")]) == 2
    assert await outbox.settle_unsent(session, "again 1", now=NOW, reason="shown") is True
    assert await outbox.settle_unsent(session, "again 2", now=NOW, reason="shown") is True
    assert compiled == [], compiled
