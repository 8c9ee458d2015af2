"""Fewer taps: after the specialist, the date step offers the nearest free times (one a day,
"Today 10:00", "Tomorrow 08:00", "Wed 5 Mar 08:00"), so a booking with a specific specialist
takes four taps from /book; many times of a day come grouped by part of the day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import formats
from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.emulator.users import SimUser
from bot.keyboards.booking import NearCb
from tests.e2e.booking_support import (
    NOW,
    TODAY,
    appointments_of,
    assert_money_invariant,
    booked,
    booking_bot,
    button_data,
    has_button,
    is_summary,
    new_client,
    t,
)
from tests.e2e.test_booking_flow import names
from tests.integration.factories import make_catalog

pytestmark = pytest.mark.usefixtures("clean_db", "redis")

TEN = NOW + timedelta(hours=1)  # 10:00 in Moscow, the first start the minimum notice allows


class Counted:
    """The user's button presses, counted."""

    def __init__(self, user: SimUser) -> None:
        self.user, self.taps = user, 0

    async def press(self, text: str) -> None:
        self.taps += 1
        await self.user.press(text)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_a_booking_with_a_chosen_specialist_takes_four_taps(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    main = await make_catalog(session_factory, specialists=2)
    other = await make_catalog(session_factory)
    n, other_names = await names(session_factory, main), await names(session_factory, other)
    user, client_id = await new_client(emulator, session_factory, 5301, lang=lang)
    today = t("formats.today", lang)
    tomorrow = t("formats.tomorrow", lang)
    wednesday = formats.day(TODAY + timedelta(days=2), lang)

    async with booking_bot(make_bot_settings):
        taps = Counted(user)
        await user.send("/book")
        await user.wait_for_message(lambda m: has_button(m, other_names["location"]))
        await taps.press(n["location"])  # 1
        await user.wait_for_message(t("booking.ask.specialist", lang))
        await taps.press(n["specialists"][1])  # 2
        msg = await user.wait_for_message(t("booking.ask.date", lang))
        # The nearest free time of each of the next free dates, above the date buttons.
        assert msg.button_texts()[:3] == [
            f"{today} 10:00",
            f"{tomorrow} 08:00",
            f"{wednesday} 08:00",
        ]
        assert t("booking.hint.nearest", lang) in (msg.text or "")
        assert has_button(msg, "03.03") and has_button(msg, "05.03")
        await taps.press(f"{today} 10:00")  # 3
        summary = await user.wait_for_message(is_summary(lang))
        assert "10:00" in (summary.text or "") and n["specialists"][1] in (summary.text or "")
        await taps.press(t("booking.btn.confirm", lang))  # 4
        await user.wait_for_message(booked(lang))

    assert taps.taps == 4
    [appointment] = await appointments_of(session_factory, client_id)
    assert appointment.start_time == TEN
    assert appointment.specialist_id == main.specialist_ids[1]
    await assert_money_invariant(session_factory)


async def test_a_nearest_time_not_offered_or_of_an_old_flow_changes_nothing(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 5302, lang="en")

    async with booking_bot(make_bot_settings):
        await user.send("/book")
        msg = await user.wait_for_message(t("booking.ask.date", "en"))
        flow = NearCb.unpack(button_data(msg, "Today 10:00")).flow
        # A start the screen did not offer (10:15 is free, but was not a nearest time).
        forged = NearCb(flow=flow, start=int((TEN + timedelta(minutes=15)).timestamp())).pack()
        await user.press_data(forged, message_id=msg.message_id)
        assert (await user.wait_for_callback_answer()).get("text") == t(
            "booking.notice.invalid", "en"
        )
        # A nearest time from another flow: out of date.
        old = NearCb(flow="0123abcd", start=int(TEN.timestamp())).pack()
        await user.press_data(old, message_id=msg.message_id)
        assert (await user.wait_for_callback_answer()).get("text") == t(
            "booking.notice.stale", "en"
        )

    assert await appointments_of(session_factory, client_id) == []


@pytest.mark.parametrize(
    ("lang", "words"), [("ru", "время: Екатеринбург"), ("en", "Yekaterinburg Time")]
)
async def test_the_time_step_names_a_zone_only_when_it_differs(
    lang: str,
    words: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Times are the location's; its zone is named, in words, only when it is not the
    deployment's own (DEFAULT_TIMEZONE, Moscow here)."""
    await make_catalog(session_factory, timezone="Asia/Yekaterinburg")
    user, _ = await new_client(emulator, session_factory, 5303, lang=lang)

    async with booking_bot(make_bot_settings):
        await user.send("/book")
        msg = await user.wait_for_message(t("booking.ask.date", lang))
        # 06:00 UTC is 11:00 in Yekaterinburg: the first start the notice allows is 12:00.
        assert msg.button_texts()[0] == f"{t('formats.today', lang)} 12:00"
        await user.press("03.03")
        times = await user.wait_for_message(t("booking.ask.time", lang, zone=f" ({words})"))
        assert "Asia/" not in (times.text or "")
