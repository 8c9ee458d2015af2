"""The bot's own database work per booking, through the real conversation (every update of it,
the middlewares' included), held to what it is now so it cannot silently grow back (the
figures are in docs/bench-stack.md). The catalog is in memory already (the first booking read
it), as it is in a running bot."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.emulator.users import SimUser
from tests.e2e.booking_support import NOW, booking_bot, has_button, new_client, t
from tests.integration.factories import make_catalog

pytestmark = pytest.mark.usefixtures("clean_db", "redis")

# Measured 20 statements and 7 checkouts (2026-11-30), held there: one session per step (the
# date step's nearest times come from its own read, the hold's workplace hosts from the
# catalog in memory, the hold and the quote share one), the hold reads the date's
# appointments with their workplace pins in its check's query, a date built for the time
# step reads the client's own appointments with its own, a new client's profile, roles and
# what /book asks (blocked, booked before) in one statement, the confirm's holidays and
# breaks of the date in one, the booked appointment read once, its outbox rows in one INSERT,
# the hold id's lock in the same round trip as the held pair's.
STATEMENTS_PER_BOOKING = 20
CHECKOUTS_PER_BOOKING = 7


@dataclass
class Work:
    statements: list[str] = field(default_factory=list)
    checkouts: int = 0


@contextmanager
def counted(engine: AsyncEngine) -> Iterator[Work]:
    work = Work()

    def on_statement(*args: Any) -> None:
        work.statements.append(str(args[2]))

    def on_checkout(*args: Any) -> None:
        work.checkouts += 1

    sync = engine.sync_engine
    event.listen(sync, "before_cursor_execute", on_statement)
    event.listen(sync.pool, "checkout", on_checkout)
    try:
        yield work
    finally:
        event.remove(sync, "before_cursor_execute", on_statement)
        event.remove(sync.pool, "checkout", on_checkout)


async def book(user: SimUser, location: str, specialist: str, day: str, time: str) -> None:
    """/book, the location (its one service is chosen by itself), the specialist, the date,
    the time, Confirm: six updates."""
    await user.send("/book")
    await user.wait_for_message(t("booking.ask.location", "en"))
    await user.press(location)
    await user.wait_for_message(t("booking.ask.specialist", "en"))
    await user.press(specialist)
    await user.wait_for_message(t("booking.ask.date", "en"))
    await user.press(day)
    await user.wait_for_message("Choose a time")
    await user.press(time)
    confirm = t("booking.btn.confirm", "en")
    await user.wait_for_message(lambda m: has_button(m, confirm))
    await user.press(confirm)
    await user.wait_for_message(t("booking.done", "en").split("\n")[0])


async def test_a_booking_through_the_bot_stays_within_its_database_budget(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await make_catalog(session_factory, specialists=2)
    await make_catalog(session_factory, specialists=2)
    first, _ = await new_client(emulator, session_factory, 9101, lang="en")
    second, _ = await new_client(emulator, session_factory, 9102, lang="en")
    tomorrow = f"{NOW + timedelta(days=1):%d.%m}"
    async with booking_bot(make_bot_settings) as app:
        # The first booking reads the catalog into memory (once per catalog version).
        await book(first, "Location", "Specialist", tomorrow, "10:00")
        with counted(app.engine) as work:
            await book(second, "Location", "Specialist", tomorrow, "11:00")
    assert len(work.statements) <= STATEMENTS_PER_BOOKING, "\n".join(work.statements)
    assert work.checkouts <= CHECKOUTS_PER_BOOKING, work.checkouts
    # No catalog table is read per booking any more (only the date's holidays and breaks,
    # under the confirm's locks).
    catalog = (
        "FROM locations",
        "FROM services",
        "FROM location_schedules",
        "FROM service_specialists",
        "workplace_services.price",
    )
    assert not [s for s in work.statements if any(t in s for t in catalog)], work.statements
