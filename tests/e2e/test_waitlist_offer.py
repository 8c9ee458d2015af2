"""The waitlist as the client lives it: join from a date without times, get the offer message the
notifier delivers when a time opens, and book it with that message's own button."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.i18n import translate
from bot.services.booking import Actor
from tests.e2e.booking_support import (
    TODAY_SHORT,
    appointments_of,
    assert_money_invariant,
    waitlist_of,
)
from tests.e2e.notify_support import NOW, notify_bot
from tests.e2e.test_booking_flow import booked, is_summary, names, new_client
from tests.integration.factories import make_catalog, make_client

pytestmark = pytest.mark.usefixtures("clean_db", "redis")


@pytest.mark.parametrize(("lang", "tg_id"), [("ru", 5401), ("en", 5402)])
async def test_offer_message_button_books_the_freed_time(
    lang: str,
    tg_id: int,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # Two one-hour slots a day (10:00 and 11:00), one specialist.
    catalog = await make_catalog(
        session_factory, specialists=1, opens=time(10, 0), closes=time(12, 0)
    )
    user, client_id = await new_client(emulator, session_factory, tg_id, lang=lang)
    rival_id = await make_client(session_factory, balance=Decimal("5000"))

    async with notify_bot(make_bot_settings(throttle_rate_per_second=1000.0)) as bot:
        await user.send("/book")
        await user.wait_for_message(translate("booking.ask.date", lang))
        # While the client looks at the dates, someone else books the whole of 03.03.
        taken = [
            await bot.book(
                client_id=rival_id,
                location_id=catalog.location_id,
                service_id=catalog.service_id,
                specialist_id=None,
                start=NOW + timedelta(hours=hours),
            )
            for hours in (1, 2)
        ]
        await user.press("03.03")
        day = TODAY_SHORT[lang]
        await user.wait_for_message(translate("booking.none.times", lang, date=day))
        await user.press(translate("booking.btn.join_waitlist", lang))
        service = (await names(session_factory, catalog))["service"]
        await user.wait_for_message(
            translate("booking.waitlist.joined", lang, date=day, service=service)
        )
        [entry] = await waitlist_of(session_factory, client_id)
        assert entry.status == "waiting"

        await bot.booking.cancel(taken[0], actor=Actor("admin", 1), now=bot.clock.now)
        await bot.deliver()
        take = translate("notify.btn.take", lang)
        offer = await user.wait_for_message(lambda m: m.find_button(take) is not None)
        assert "10:00" in (offer.text or "")

        await user.press(take)
        summary = await user.wait_for_message(is_summary(lang))
        assert "10:00" in (summary.text or "")
        await user.press(translate("booking.btn.confirm", lang))
        await user.wait_for_message(booked(lang))

    [appointment] = await appointments_of(session_factory, client_id)
    assert appointment.start_time == NOW + timedelta(hours=1)
    [entry] = await waitlist_of(session_factory, client_id)
    assert entry.status == "fulfilled"
    await assert_money_invariant(session_factory)
