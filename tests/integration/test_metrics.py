"""The Prometheus metrics the use cases and the sender count, and the outbox gauges measured
from PostgreSQL (values read from the registry before and after each step)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from aiogram.exceptions import TelegramForbiddenError
from aiogram.methods import SendMessage
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.notify.ratelimit import LocalRateLimiter
from bot.notify.sender import Blocked, TelegramSender
from bot.ops.metrics import refresh_outbox
from bot.services.booking import Actor
from db.models import Outbox
from tests.integration.factories import (
    NOW,
    START,
    booking_request,
    build_engine,
    make_catalog,
    make_client,
)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_bookings_cancels_and_refunds_are_counted(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    eng = build_engine(session_factory, redis, redis_prefix)
    cat = await make_catalog(session_factory)
    client = await make_client(session_factory, balance=Decimal("5000"))
    before = {n: value(n) for n in ("bot_bookings_total", "bot_cancels_total", "bot_refunds_total")}

    request = booking_request(cat, client, start=START + timedelta(days=2))
    view = await eng.booking.confirm(request, now=NOW)
    await eng.booking.confirm(request, now=NOW)  # the same booking again: not a new one
    assert value("bot_bookings_total") == before["bot_bookings_total"] + 1

    await eng.booking.cancel(view.id, actor=Actor("client", client), now=NOW)  # early: refund
    assert value("bot_cancels_total") == before["bot_cancels_total"] + 1
    assert value("bot_refunds_total") == before["bot_refunds_total"] + 1


async def test_outbox_backlog_and_oldest_due_age_come_from_the_database(
    clean_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime.now(UTC)
    async with session_factory() as s, s.begin():
        for key, due, status in (
            ("a", now - timedelta(minutes=10), "pending"),
            ("b", now - timedelta(minutes=1), "pending"),
            ("c", now + timedelta(hours=1), "pending"),  # not due yet
            ("d", now - timedelta(hours=5), "sent"),
        ):
            s.add(
                Outbox(
                    dedupe_key=f"test:{key}",
                    kind="test",
                    recipient="client",
                    chat_id=1,
                    payload={},
                    due_at=due,
                    status=status,
                )
            )
    await refresh_outbox(clean_db, now=now)
    assert value("bot_outbox_backlog") == 2
    assert value("bot_outbox_oldest_due_seconds") == pytest.approx(600, abs=5)


class BlockedBot:
    id = 1

    async def send_message(self, **_: object) -> object:
        raise TelegramForbiddenError(method=SendMessage(chat_id=1, text="x"), message="blocked")


async def test_sends_are_counted_by_result() -> None:
    limiter = LocalRateLimiter(global_rate=1000, chat_interval=0)
    sender = TelegramSender(BlockedBot(), limiter)  # type: ignore[arg-type]
    before = value("bot_telegram_sends_total", result="403")
    assert isinstance(await sender.send(1, "hello"), Blocked)
    assert value("bot_telegram_sends_total", result="403") == before + 1
