"""/my end to end over the emulator: the upcoming and past pages, an appointment's card, cancel
with the refund the policy gives (early, late partial, late none), a double cancel, forged and
stale buttons, and text where a button is expected. DB state is asserted with the messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.keyboards.account import (
    AppointmentAction,
    AppointmentCb,
    RescheduleConfirmCb,
)
from bot.services.booking import Actor, AppointmentView, BookingService
from db.models import Location
from tests.e2e.account_support import (
    account_bot,
    appointment,
    book,
    date_text,
    hhmm,
    ledger_of,
    local,
    open_card,
    t,
)
from tests.e2e.booking_support import (
    NOW,
    assert_money_invariant,
    button_data,
    new_client,
    wallet_of,
)
from tests.integration.factories import make_catalog
from tests.money import rub

pytestmark = pytest.mark.usefixtures("clean_db", "redis")

ADDRESS = "Тверская, 1"


def label(view: AppointmentView, lang: str) -> str:
    """The appointment's button in /my: weekday, date, time, service, specialist."""
    return t(
        "account.my.button",
        lang,
        date=date_text(view.start, lang),
        time=hhmm(view.start),
        service=view.service_name,
        specialist=view.specialist_name,
    )


def card(
    view: AppointmentView, lang: str, *, status: str = "booked", paid: str | None = None
) -> str:
    return t(
        "account.appt.details",
        lang,
        service=view.service_name,
        date=date_text(view.start, lang),
        time=hhmm(view.start),
        specialist=view.specialist_name,
        location=view.location_name,
        address=ADDRESS,
        paid=paid if paid is not None else rub(1000, lang),
        status=t(f"account.status.{status}", lang),
    )


async def set_address(sessions: async_sessionmaker[AsyncSession], location_id: int) -> None:
    async with sessions() as s, s.begin():
        await s.execute(update(Location).where(Location.id == location_id).values(address=ADDRESS))


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_upcoming_and_past_pages(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6101, lang=lang)
    async with account_bot(make_bot_settings()) as app:
        booking: BookingService = app.services.booking
        later = await book(app, client_id, catalog, local(3, 14))
        sooner = await book(app, client_id, catalog, local(2, 10))
        past = await book(app, client_id, catalog, local(-2, 10), now=NOW - timedelta(days=4))
        dropped = await book(app, client_id, catalog, local(4, 11))
        await booking.cancel(dropped.id, actor=Actor("client", client_id), now=NOW)

        # From the main menu's button.
        await user.send("/start")
        await user.wait_for_message()
        await user.press(t("menu.btn.my", lang))
        upcoming = await user.wait_for_message(t("account.my.upcoming_title", lang))
        # Each appointment once: a button, not a line of text and a button again.
        assert upcoming.text == t("account.my.upcoming_title", lang)
        assert upcoming.button_texts() == [
            label(sooner, lang),
            label(later, lang),
            t("account.btn.past", lang),
            t("menu.btn.home", lang),  # opened from the menu: it leads back there
        ]
        # Two days after Monday 3 March 2031.
        first = {"ru": "ср, 5 мар. 10:00 · ", "en": "Wed 5 Mar 10:00 · "}[lang]
        assert label(sooner, lang).startswith(first)

        await user.press(t("account.btn.past", lang))
        history = await user.wait_for_message(t("account.my.past_title", lang))
        # History: cancelled and past, latest first, each with its status.
        assert history.text == t("account.my.past_title", lang)
        assert history.button_texts() == [
            f"{label(dropped, lang)} · {t('account.status.cancelled', lang)}",
            f"{label(past, lang)} · {t('account.status.booked', lang)}",
            t("account.btn.upcoming", lang),
            t("menu.btn.home", lang),
        ]

        # A past visit offers "Book again"; a cancelled one does not.
        await user.press(label(dropped, lang))
        dropped_card = await user.wait_for_message(dropped.service_name)
        assert t("account.btn.book_again", lang) not in dropped_card.button_texts()
        await user.press(t("account.btn.back", lang))
        await user.wait_for_message(t("account.my.past_title", lang))
        await user.press(label(past, lang))
        past_card = await user.wait_for_message(lambda m: len(m.button_texts()) == 2)
        assert past_card.button_texts() == [
            t("account.btn.book_again", lang),
            t("account.btn.back", lang),
        ]
        await user.press(t("account.btn.book_again", lang))
        # The same service with the same specialist: straight to the date step.
        rebook = await user.wait_for_message(t("booking.ask.date", lang), edits=False)
        assert past.service_name in (rebook.text or "")
        assert past.specialist_name in (rebook.text or "")

        await user.send("/my")
        again = await user.wait_for_message(t("account.my.upcoming_title", lang))
        assert label(sooner, lang) in again.button_texts()


async def test_empty_list_says_how_to_book(
    emulator: BotAPIEmulator, make_bot_settings: Callable[..., Settings], session_factory: Any
) -> None:
    user, _ = await new_client(emulator, session_factory, 6102, lang="en")
    async with account_bot(make_bot_settings()):
        await user.send("/my")
        msg = await user.wait_for_message()
        assert msg.text == t("account.my.upcoming_empty", "en")


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_card_and_early_cancel_refunds_everything(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory)
    await set_address(session_factory, catalog.location_id)
    user, client_id = await new_client(emulator, session_factory, 6103, lang=lang)
    async with account_bot(make_bot_settings()) as app:
        view = await book(app, client_id, catalog, local(3, 10))
        assert (await wallet_of(session_factory, client_id))[0] == Decimal("4000")

        shown = await open_card(user, view, lang)
        assert shown.text == card(view, lang)
        assert shown.button_texts() == [
            t("account.btn.cancel", lang),
            t("account.btn.reschedule", lang),
            t("account.btn.back", lang),
        ]

        await user.press(t("account.btn.cancel", lang))
        ask = await user.wait_for_message()
        assert ask.text == t(
            "account.cancel.ask_full",
            lang,
            date=date_text(view.start, lang),
            time="10:00",
            refund=rub(1000, lang),
        )
        # Asking changed nothing yet.
        assert (await appointment(session_factory, view.id)).status == "booked"

        await user.press(t("account.btn.cancel_yes", lang))
        done = await user.wait_for_message()
        assert done.text == t(
            "account.cancel.done",
            lang,
            date=date_text(view.start, lang),
            time="10:00",
            refund=rub(1000, lang),
            balance=rub(5000, lang),
        )
        row = await appointment(session_factory, view.id)
        assert (row.status, row.cancelled_by) == ("cancelled", "client")
        refunds = await ledger_of(session_factory, client_id, "refund")
        assert [(r.amount, r.appointment_id) for r in refunds] == [(Decimal("1000.00"), view.id)]
        assert (await wallet_of(session_factory, client_id))[0] == Decimal("5000")
        await assert_money_invariant(session_factory)


@pytest.mark.parametrize(("percent", "refund"), [(50, Decimal("500")), (0, Decimal("0"))])
async def test_late_cancel_refunds_the_late_percent(
    percent: int,
    refund: Decimal,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6104, lang="en")
    settings = make_bot_settings(free_cancel_hours=48, late_cancel_refund_percent=percent)
    async with account_bot(settings) as app:
        # 25 hours ahead: inside the 48-hour window, so the late rule applies.
        view = await book(app, client_id, catalog, local(1, 10))
        await open_card(user, view, "en")
        await user.press(t("account.btn.cancel", "en"))
        ask = await user.wait_for_message()
        when = {
            "date": date_text(view.start, "en"),
            "time": "10:00",
            "hours": 48,
            "paid": rub(1000, "en"),
        }
        if refund:
            expected = t("account.cancel.ask_partial", "en", refund=rub(refund, "en"), **when)
        else:
            expected = t("account.cancel.ask_none", "en", **when)
        assert ask.text == expected

        await user.press(t("account.btn.cancel_yes", "en"))
        done = await user.wait_for_message()
        balance = Decimal("4000") + refund
        assert done.text == t(
            "account.cancel.done",
            "en",
            date=date_text(view.start, "en"),
            time="10:00",
            refund=rub(refund, "en"),
            balance=rub(balance, "en"),
        )
        assert (await appointment(session_factory, view.id)).status == "cancelled"
        refunds = await ledger_of(session_factory, client_id, "refund")
        assert [r.amount for r in refunds] == ([refund] if refund else [])
        assert (await wallet_of(session_factory, client_id))[0] == balance
        await assert_money_invariant(session_factory)


async def test_cancel_pressed_twice_refunds_once(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6105)
    async with account_bot(make_bot_settings()) as app:
        view = await book(app, client_id, catalog, local(3, 10))
        await open_card(user, view, "ru")
        await user.press(t("account.btn.cancel", "ru"))
        ask = await user.wait_for_message()
        yes = button_data(ask, t("account.btn.cancel_yes", "ru"))

        await user.press_data(yes, message_id=ask.message_id)
        done = t(
            "account.cancel.done",
            "ru",
            date=date_text(view.start, "ru"),
            time="10:00",
            refund=rub(1000, "ru"),
            balance=rub(5000, "ru"),
        )
        await user.wait_for_message(done)
        await user.press_data(yes, message_id=ask.message_id)
        answer = await user.wait_for_callback_answer()
        # The second press shows the same cancelled state, once: no "already cancelled".
        assert answer.get("text") is None
        again = emulator.message(user.chat_id, ask.message_id)
        assert again is not None and again.text == done
        assert again.button_texts() == [t("account.btn.upcoming", "ru")]

        refunds = await ledger_of(session_factory, client_id, "refund")
        assert [r.amount for r in refunds] == [Decimal("1000.00")]
        assert (await wallet_of(session_factory, client_id))[0] == Decimal("5000")
        await assert_money_invariant(session_factory)


async def test_forged_ids_of_another_client_change_nothing(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory)
    alice, alice_id = await new_client(emulator, session_factory, 6106)
    mallory, mallory_id = await new_client(emulator, session_factory, 6107, lang="en")
    async with account_bot(make_bot_settings()) as app:
        view = await book(app, alice_id, catalog, local(3, 10))
        before = await appointment(session_factory, view.id)
        await mallory.send("/my")
        await mallory.wait_for_message(t("account.my.upcoming_empty", "en"))

        forged = [
            AppointmentCb(action=action, appointment_id=view.id).pack()
            for action in AppointmentAction
        ]
        new_start = int(local(4, 12).timestamp())
        forged.append(RescheduleConfirmCb(appointment_id=view.id, ts=new_start).pack())
        for data in forged:
            await mallory.press_data(data)
            answer = await mallory.wait_for_callback_answer()
            assert answer.get("text") == t("account.appt.not_yours", "en"), data
            assert answer.get("show_alert") is True

        await mallory.press_data(
            AppointmentCb(action=AppointmentAction.cancel_confirm, appointment_id=987654).pack()
        )
        missing = await mallory.wait_for_callback_answer()
        assert missing.get("text") == t("account.appt.not_found", "en")

        after = await appointment(session_factory, view.id)
        assert (after.status, after.start_time, after.client_confirmed_at) == (
            before.status,
            before.start_time,
            before.client_confirmed_at,
        )
        assert (await wallet_of(session_factory, alice_id))[0] == Decimal("4000")
        assert (await wallet_of(session_factory, mallory_id))[0] == Decimal("5000")
        assert await ledger_of(session_factory, mallory_id, "refund") == []
        await assert_money_invariant(session_factory)


async def test_stale_button_and_text_where_a_button_is_expected(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6108, lang="en")
    async with account_bot(make_bot_settings()) as app:
        booking: BookingService = app.services.booking
        view = await book(app, client_id, catalog, local(3, 10))
        shown = await open_card(user, view, "en")
        reschedule = button_data(shown, t("account.btn.reschedule", "en"))

        await user.press(t("account.btn.cancel", "en"))
        await user.wait_for_message(
            lambda m: m.find_button(t("account.btn.cancel_yes", "en")) is not None
        )
        await user.send("yes please")
        hint = await user.wait_for_message(edits=False)
        assert hint.text == t("account.hint.use_buttons", "en")
        assert (await appointment(session_factory, view.id)).status == "booked"

        # Cancelled elsewhere (say, by an admin); the old Reschedule button is now stale.
        await booking.cancel(view.id, actor=Actor("admin", 1), now=NOW)
        await user.press_data(reschedule)
        notice = await user.wait_for_message(t("account.cancel.already", "en"))
        assert t("account.status.cancelled", "en") in (notice.text or "")
        assert (await user.wait_for_callback_answer()).get("text") == t(
            "account.cancel.already", "en"
        )


async def test_ill_come_is_recorded_once(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6109, lang="en")
    async with account_bot(make_bot_settings()) as app:
        view = await book(app, client_id, catalog, local(3, 10))
        await user.send("/my")
        await user.wait_for_message()
        attend = AppointmentCb(action=AppointmentAction.attend, appointment_id=view.id).pack()
        await user.press_data(attend)
        answer = await user.wait_for_callback_answer()
        assert answer.get("text") == t(
            "account.attend.done", "en", date=date_text(view.start, "en"), time="10:00"
        )
        first = (await appointment(session_factory, view.id)).client_confirmed_at
        assert first is not None
        await user.press_data(attend)
        assert (await user.wait_for_callback_answer()).get("text") == answer.get("text")
        assert (await appointment(session_factory, view.id)).client_confirmed_at == first

        # Once cancelled, the same button answers with the current card and records nothing.
        booking: BookingService = app.services.booking
        await booking.cancel(view.id, actor=Actor("client", client_id), now=NOW)
        await user.press_data(attend)
        await user.wait_for_message(t("account.cancel.already", "en"))
        assert (await appointment(session_factory, view.id)).client_confirmed_at == first


async def test_buttons_on_other_messages_answer_below_and_keep_that_message(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Cancel/Reschedule under a booking confirmation: the confirmation stays as it was."""
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6110, lang="en")
    async with account_bot(make_bot_settings()) as app:
        view = await book(app, client_id, catalog, local(3, 10))
        await user.send("/start")
        greeting = await user.wait_for_message()
        original = greeting.text
        cancel = AppointmentCb(action=AppointmentAction.cancel, appointment_id=view.id).pack()
        await user.press_data(cancel, message_id=greeting.message_id)
        ask = await user.wait_for_message(edits=False)
        assert ask.message_id != greeting.message_id
        assert ask.find_button(t("account.btn.cancel_yes", "en")) is not None
        assert (greeting.text, greeting.edits) == (original, 0)
