"""A fully booked working date stays in the /book date picker, marked with a bell, and leads
to the waitlist offer for that date (for the chosen specialist, or for any)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.keyboards.booking import FULL_DATE_MARK, BookAction, BookCb, BookStep
from db.models import SpecialistSchedule
from tests.e2e.account_support import book
from tests.e2e.booking_support import (
    NOW,
    TODAY,
    TOMORROW_SHORT,
    booking_bot,
    button_data,
    has_button,
    new_client,
    t,
    waitlist_of,
)
from tests.e2e.test_booking_flow import names
from tests.integration.factories import make_catalog, make_client

pytestmark = pytest.mark.usefixtures("clean_db", "redis")

D = TODAY + timedelta(days=1)  # Tuesday 04.03.2031
D_TEN = NOW + timedelta(days=1, hours=1)  # 10:00 in Moscow on D


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("any_specialist", [False, True], ids=["specialist", "any"])
async def test_a_full_date_is_marked_and_offers_the_waitlist(
    lang: str,
    any_specialist: bool,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # Anna works 10:00-12:00 every day; Boris too, except on D (Tuesdays): on D only Anna
    # works, and both of her 60-minute times are booked.
    catalog = await make_catalog(
        session_factory, specialists=2, workplaces=2, opens=time(10, 0), closes=time(12, 0)
    )
    anna_id, boris_id = catalog.specialist_ids
    async with session_factory() as s, s.begin():
        await s.execute(
            update(SpecialistSchedule)
            .where(
                SpecialistSchedule.specialist_id == boris_id,
                SpecialistSchedule.day_of_week == D.isoweekday(),
            )
            .values(is_day_off=True, start_time=None, end_time=None)
        )
    anna = (await names(session_factory, catalog))["specialists"][0]
    service = (await names(session_factory, catalog))["service"]
    user, client_id = await new_client(emulator, session_factory, 5301, lang=lang)
    rival_id = await make_client(session_factory, balance=Decimal("5000"))

    async with booking_bot(make_bot_settings) as app:
        for hours in (0, 1):
            await book(app, rival_id, catalog, D_TEN + timedelta(hours=hours), specialist_index=0)

        await user.send("/book")
        await user.wait_for_message(t("booking.ask.specialist", lang))
        await user.press(t("booking.btn.any_specialist", lang) if any_specialist else anna)
        picker = await user.wait_for_message(t("booking.ask.date", lang))
        assert t("booking.hint.full_dates", lang) in (picker.text or "")
        tuesday, wednesday = t("booking.weekday.2", lang), t("booking.weekday.3", lang)
        full_label = f"04.03 {tuesday} {FULL_DATE_MARK}"
        assert has_button(picker, full_label)
        # Free dates around it are not marked.
        assert has_button(picker, "03.03") and not has_button(
            picker, f"03.03 {t('booking.weekday.1', lang)} {FULL_DATE_MARK}"
        )
        assert not has_button(picker, f"05.03 {wednesday} {FULL_DATE_MARK}")
        # The marked button is an ordinary, validated date pick.
        pick = BookCb.unpack(button_data(picker, full_label))
        assert (pick.step, pick.action, pick.value) == (
            BookStep.DATE,
            BookAction.PICK,
            D.toordinal(),
        )

        await user.press(full_label)
        day = TOMORROW_SHORT[lang]
        offer = await user.wait_for_message(t("booking.none.times", lang, date=day))
        assert has_button(offer, t("booking.btn.join_waitlist", lang))
        assert not has_button(offer, "10:00") and not has_button(offer, "11:00")

        await user.press(t("booking.btn.join_waitlist", lang))
        await user.wait_for_message(t("booking.waitlist.joined", lang, date=day, service=service))

    [entry] = await waitlist_of(session_factory, client_id)
    assert (entry.status, entry.date, entry.location_id, entry.service_id) == (
        "waiting",
        D,
        catalog.location_id,
        catalog.service_id,
    )
    assert entry.specialist_id == (None if any_specialist else anna_id)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_help_explains_the_waitlist(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    user, _ = await new_client(emulator, session_factory, 5302, lang=lang)
    async with booking_bot(make_bot_settings):
        await user.send("/help")
        msg = await user.wait_for_message(t("help.text", lang).split("\n", 1)[0])
    text = msg.text or ""
    assert FULL_DATE_MARK in text and "/book" in text
    assert ("лист ожидания" if lang == "ru" else "waitlist") in text.lower()
