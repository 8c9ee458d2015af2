"""The client's conversation keeps its promises, in both languages: what the bot tells the client
to do keeps the booking; a second Confirm while short says what is missing; the summary never
contradicts itself and states the cancel/move policy before the money; money missing without
Payments opens a chat with the salon, with Payments one invoice pays exactly the missing amount
and books; one confirmation per booking; old keyboards are removed; reminders, after an answer,
show their new state without buttons; a repeated "Yes, cancel" shows the cancelled state once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain import notification_kinds as kinds
from bot.emulator.server import BotAPIEmulator, EmuMessage
from bot.emulator.users import SimUser
from bot.handlers.render_booking import short_when
from bot.i18n import Translator
from db.models import Location, Outbox
from tests.e2e.booking_support import (
    NOW,
    PROVIDER,
    Services,
    appointments_of,
    assert_money_invariant,
    booked,
    booking_bot,
    button_data,
    has_button,
    is_summary,
    new_client,
    t,
    wallet_of,
)
from tests.e2e.notify_support import notify_bot
from tests.integration.factories import TZ, make_catalog
from tests.money import rub

pytestmark = pytest.mark.usefixtures("clean_db", "redis")

LANGS = ["ru", "en"]
TEN = NOW + dt.timedelta(hours=1)  # today 10:00 in Moscow: inside the free-cancel window


def callback_datas(message: EmuMessage) -> list[str]:
    return [str(b.get("callback_data", "")) for row in message.buttons for b in row]


async def to_summary(user: SimUser, lang: str, *, day: str = "03.03") -> EmuMessage:
    """/book in a one-location, one-service, one-specialist catalog: `day` at 10:00."""
    await user.send("/book")
    await user.wait_for_message(t("booking.ask.date", lang))
    await user.press(day)
    await user.wait_for_message(lambda m: has_button(m, "10:00"))
    await user.press("10:00")
    return await user.wait_for_message(is_summary(lang))


def shown(emulator: BotAPIEmulator, user: SimUser, message_id: int) -> EmuMessage:
    found = emulator.message(user.chat_id, message_id)
    assert found is not None
    return found


# --- 1, 2, 3: missing money -----------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_the_wallet_command_the_bot_suggests_keeps_the_booking(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Item 1: /wallet in the middle of a booking short of money leaves the booking (and its
    held time) open; after a top-up, Confirm on the same message books."""
    await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(
        emulator, session_factory, 7101, lang=lang, balance=Decimal("300")
    )
    async with booking_bot(make_bot_settings) as app:
        services = Services(app)
        summary = await to_summary(user, lang)
        await user.press(t("booking.btn.confirm", lang))
        await user.wait_for_message(
            t(
                "booking.insufficient",
                lang,
                price=rub(1000, lang),
                balance=rub(300, lang),
                missing=rub(700, lang),
            )
        )
        await user.send("/wallet")
        await user.wait_for_message(edits=False)
        assert await services.hold_of(client_id) is not None
        await app.services.wallet.top_up(client_id, Decimal("700"), comment=None, admin_id=None)
        await user.press_data(
            button_data(shown(emulator, user, summary.message_id), t("booking.btn.confirm", lang)),
            message_id=summary.message_id,
        )
        done = await user.wait_for_message(booked(lang))
        assert done.message_id == summary.message_id
    [appointment] = await appointments_of(session_factory, client_id)
    assert appointment.start_time == TEN
    await assert_money_invariant(session_factory)


@pytest.mark.parametrize("lang", LANGS)
async def test_confirm_again_while_short_says_what_is_missing(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Items 2 and 3: the short summary shows the balance and what is missing (no "balance
    after: 0"), and every Confirm while short answers with what is missing."""
    await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(
        emulator, session_factory, 7102, lang=lang, balance=Decimal("300")
    )
    async with booking_bot(make_bot_settings):
        summary = await to_summary(user, lang)
        text = summary.text or ""
        assert (
            t("booking.summary.short", lang, balance=rub(300, lang), missing=rub(700, lang)) in text
        )
        assert t("booking.summary.after", lang, balance=rub(0, lang)) not in text
        alert = t("booking.insufficient_alert", lang, missing=rub(700, lang))
        for _ in range(2):
            await user.press(t("booking.btn.confirm", lang))
            answer = await user.wait_for_callback_answer()
            assert answer.get("text") == alert and answer.get("show_alert"), answer
    assert await appointments_of(session_factory, client_id) == []


# --- 4: the policy before the money ---------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_a_same_day_booking_says_it_cannot_be_moved_and_offers_no_reschedule(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await make_catalog(session_factory, specialists=1)
    user, _ = await new_client(emulator, session_factory, 7103, lang=lang)
    late = t("booking.policy.late_none", lang)
    async with booking_bot(make_bot_settings):
        summary = await to_summary(user, lang)
        assert t("booking.policy.not_free", lang, hours=24, late=late) in (summary.text or "")
        await user.press(t("booking.btn.confirm", lang))
        done = await user.wait_for_message(booked(lang))
        assert t("booking.policy.not_free", lang, hours=24, late=late) in (done.text or "")
        datas = callback_datas(done)
        assert any(d.startswith("appt:cancel:") for d in datas)
        assert not any(d.startswith("appt:resched:") for d in datas)
        assert not has_button(done, t("booking.btn.reschedule", lang))


@pytest.mark.parametrize("lang", LANGS)
async def test_a_booking_days_ahead_says_until_when_it_is_free_to_change(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await make_catalog(session_factory, specialists=1)
    user, _ = await new_client(emulator, session_factory, 7104, lang=lang)
    # Wed 05.03 10:00: free until Tue 04.03 10:00.
    deadline = short_when(NOW + dt.timedelta(days=1, hours=1), ZoneInfo(TZ), Translator(lang))
    free = t(
        "booking.policy.free", lang, deadline=deadline, late=t("booking.policy.late_none", lang)
    )
    async with booking_bot(make_bot_settings):
        summary = await to_summary(user, lang, day="05.03")
        assert free in (summary.text or "")
        await user.press(t("booking.btn.confirm", lang))
        done = await user.wait_for_message(booked(lang))
        assert free in (done.text or "")
        assert any(d.startswith("appt:resched:") for d in callback_datas(done))


# --- 5 and pay at checkout ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_without_payments_money_missing_opens_a_chat_with_the_salon(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Item 5: no dead end: the short summary (before Confirm) and the wallet carry a button
    that opens a chat with ADMIN_CONTACT."""
    await make_catalog(session_factory, specialists=1)
    user, _ = await new_client(emulator, session_factory, 7105, lang=lang, balance=Decimal("300"))
    async with booking_bot(make_bot_settings, admin_contact="@salon_admin"):
        summary = await to_summary(user, lang)
        contact = summary.find_button(t("booking.btn.contact", lang))
        assert contact is not None and contact.get("url") == "https://t.me/salon_admin"
        await user.send("/wallet")
        wallet = await user.wait_for_message(edits=False)
        assert t("account.wallet.topup_contact", lang, contact="@salon_admin") in (
            wallet.text or ""
        )
        button = wallet.find_button(t("account.btn.contact", lang))
        assert button is not None and button.get("url") == "https://t.me/salon_admin"


@pytest.mark.parametrize("lang", LANGS)
async def test_pay_at_checkout_invoices_the_missing_amount_and_books(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(
        emulator, session_factory, 7106, lang=lang, balance=Decimal("300")
    )
    async with booking_bot(make_bot_settings, payment_provider_token=PROVIDER) as app:
        services = Services(app)
        summary = await to_summary(user, lang)
        pay = t("booking.btn.pay", lang, amount=rub(700, lang))
        assert summary.button_texts()[0] == pay  # the main button
        await user.press(pay)
        invoice = await user.wait_for_message(lambda m: m.invoice is not None)
        assert invoice.invoice is not None and invoice.invoice["total_amount"] == 70000
        hold = await services.hold_of(client_id)
        # Held again for the payment: longer than the ordinary HOLD_TTL_SECONDS (10 min).
        left = hold.expires_at - dt.datetime.now(dt.UTC) if hold is not None else None
        assert left is not None and left > dt.timedelta(minutes=11)
        await user.pay(invoice, charge_id=f"booking-{lang}")
        done = await user.wait_for_message(lambda m: booked(lang) in (m.text or ""))
        assert done.message_id == summary.message_id  # the summary became the confirmation
        # A second delivery of the same payment credits and books nothing more.
        await user.successful_payment(
            total_amount=70000,
            currency="RUB",
            payload=invoice.invoice["payload"],
            charge_id=f"booking-{lang}",
        )
        await user.send("/wallet")
        await user.wait_for_message(edits=False)
    [appointment] = await appointments_of(session_factory, client_id)
    assert appointment.start_time == TEN
    balance, ledger = await wallet_of(session_factory, client_id)
    assert balance == Decimal("0.00")
    assert [(r.kind, r.amount) for r in ledger] == [
        ("topup", Decimal("300.00")),
        ("payment", Decimal("700.00")),
        ("debit", Decimal("-1000.00")),
    ]
    await assert_money_invariant(session_factory)


# --- 6: one confirmation --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_one_confirmation_per_booking(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Item 6: the card is on screen, so the outbox confirmation is settled unsent; the
    specialist's notice still goes."""
    await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(emulator, session_factory, 7107, lang=lang)
    async with notify_bot(make_bot_settings(throttle_rate_per_second=1000.0)) as bot:
        await to_summary(user, lang)
        await user.press(t("booking.btn.confirm", lang))
        await user.wait_for_message(booked(lang))
        await user.wait_for_callback_answer()  # answered once the card is shown and settled
        bot.clock.now = NOW + dt.timedelta(minutes=5)
        assert await bot.deliver() == 1  # the specialist's notice only
        user.mark()
        [appointment] = await appointments_of(session_factory, client_id)
        async with session_factory() as s:
            rows = {
                r.kind: r
                for r in await s.scalars(
                    select(Outbox).where(Outbox.appointment_id == appointment.id)
                )
            }
        confirm = rows[kinds.CLIENT_CONFIRM]
        assert confirm.status == "sent" and confirm.last_error == "shown on screen"
        assert rows[kinds.SPECIALIST_NEW].status == "sent"
    confirmations = [m for m in user.messages if booked(lang) in (m.text or "")]
    assert len(confirmations) == 1


# --- 7: old keyboards -----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_old_keyboards_are_removed(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Item 7: typed text, a sticker or an unknown /command gets a hint and a fresh copy of
    the step while the old copy loses its buttons (and the flow and its hold stay); an old
    button gets "out of date" only; /cancel takes the buttons off."""
    await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(emulator, session_factory, 7108, lang=lang)
    async with booking_bot(make_bot_settings) as app:
        services = Services(app)
        await user.send("/book")
        first = await user.wait_for_message(t("booking.ask.date", lang))
        old_date = button_data(first, "03.03")

        await user.send("hello")
        await user.wait_for_message(t("booking.hint.use_buttons", lang))
        second = await user.wait_for_message(t("booking.ask.date", lang), edits=False)
        assert shown(emulator, user, first.message_id).buttons == []
        assert has_button(second, "03.03")

        # The old copy's button: out of date, nothing redrawn.
        edits_before = shown(emulator, user, second.message_id).edits
        await user.press_data(old_date, message_id=first.message_id)
        assert (await user.wait_for_callback_answer())["text"] == t("booking.notice.stale", lang)
        assert shown(emulator, user, second.message_id).edits == edits_before
        assert t("booking.ask.date", lang) in (shown(emulator, user, first.message_id).text or "")

        await user.press("03.03")
        await user.wait_for_message(lambda m: has_button(m, "10:00"))
        await user.press("10:00")
        summary = await user.wait_for_message(is_summary(lang))
        assert summary.message_id == second.message_id

        # A sticker, then an unknown command: hint + fresh copy; the flow and hold stay.
        sticker = {
            "file_id": "s1",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        user.mark()
        await emulator.push_update({"message": user._user_message(sticker=sticker)})
        await user.wait_for_message(t("booking.hint.use_buttons", lang))
        third = await user.wait_for_message(is_summary(lang), edits=False)
        assert shown(emulator, user, second.message_id).buttons == []
        await user.send("/foo")
        await user.wait_for_message(t("booking.hint.use_buttons", lang))
        fourth = await user.wait_for_message(is_summary(lang), edits=False)
        assert shown(emulator, user, third.message_id).buttons == []
        assert await services.hold_of(client_id) is not None

        await user.send("/cancel")
        await user.wait_for_message(t("cancel.done", lang), edits=False)
        assert shown(emulator, user, fourth.message_id).buttons == []
        assert await services.hold_of(client_id) is None
    assert await appointments_of(session_factory, client_id) == []


# --- 8: reminders ---------------------------------------------------------------------------------


async def reminder_of(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    tg: int,
) -> tuple[Any, SimUser, int]:
    catalog = await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(emulator, session_factory, tg, lang=lang)
    return catalog, user, client_id


@pytest.mark.parametrize("lang", LANGS)
async def test_a_reminder_answered_shows_its_new_state_without_buttons(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Item 8, and a repeated "Yes, cancel": "I'll come" leaves no buttons; Cancel turns the
    reminder into the question and then into the result, shown once, with no buttons left."""
    catalog, user, client_id = await reminder_of(
        lang, emulator, make_bot_settings, session_factory, 7109
    )
    start = NOW + dt.timedelta(hours=8)  # 17:00 local
    async with notify_bot(make_bot_settings(throttle_rate_per_second=1000.0)) as bot:
        first = await bot.book(
            client_id=client_id,
            location_id=catalog.location_id,
            service_id=catalog.service_id,
            specialist_id=None,
            start=start,
        )
        second = await bot.book(
            client_id=client_id,
            location_id=catalog.location_id,
            service_id=catalog.service_id,
            specialist_id=None,
            start=start + dt.timedelta(hours=2),
        )
        bot.clock.now = start - dt.timedelta(hours=2)
        await bot.deliver()
        reminders = [
            m
            for m in user.messages
            if m.buttons and any(d.endswith(f":{first}") for d in callback_datas(m))
        ]
        [reminder] = reminders
        await user.press_data(f"rem:come:{first}", message_id=reminder.message_id)
        after = await user.wait_for_message(lambda m: m.message_id == reminder.message_id)
        assert after.buttons == []
        monday = {"ru": "пн, 3 мар.", "en": "Mon 3 Mar"}[lang]
        assert t("notify.come.done", lang, date=monday, time="17:00") in (after.text or "")

        bot.clock.now = start
        await bot.deliver()
        [other] = [
            m for m in user.messages if any(d.endswith(f":{second}") for d in callback_datas(m))
        ]
        await user.press_data(f"rem:cancel:{second}", message_id=other.message_id)
        question = await user.wait_for_message(lambda m: m.message_id == other.message_id)
        assert has_button(question, t("notify.btn.cancel_yes", lang))
        yes = f"rem:yes:{second}"
        await user.press_data(yes, message_id=other.message_id)
        await user.wait_for_message(lambda m: m.message_id == other.message_id)
        await user.press_data(yes, message_id=other.message_id)  # a double press
        await user.wait_for_callback_answer()
        result = shown(emulator, user, other.message_id)
        assert result.buttons == []
        assert result.text == t("notify.cancel.done", lang, refund=rub(0, lang))
    balance, _ = await wallet_of(session_factory, client_id)
    assert balance == Decimal("3000.00")  # 5000 - 2 * 1000, no refund for a late cancel


@pytest.mark.parametrize("lang", LANGS)
async def test_a_double_yes_cancel_shows_the_cancelled_state_once(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(emulator, session_factory, 7110, lang=lang)
    async with booking_bot(make_bot_settings):
        await to_summary(user, lang, day="05.03")
        await user.press(t("booking.btn.confirm", lang))
        done = await user.wait_for_message(booked(lang))
        await user.press(t("booking.btn.cancel_appointment", lang))
        ask = await user.wait_for_message(edits=False)
        yes = button_data(ask, t("account.btn.cancel_yes", lang))
        await user.press_data(yes, message_id=ask.message_id)
        first = await user.wait_for_callback_answer()
        text = (await user.wait_for_message(lambda m: m.message_id == ask.message_id)).text
        await user.press_data(yes, message_id=ask.message_id)
        second = await user.wait_for_callback_answer()
        assert not first.get("show_alert") and not second.get("show_alert")
        assert shown(emulator, user, ask.message_id).text == text
        assert t("account.cancel.already", lang) not in (text or "")
        assert done.message_id != ask.message_id
    balance, _ = await wallet_of(session_factory, client_id)
    assert balance == Decimal("5000.00")
    await assert_money_invariant(session_factory)


# --- a richer confirmation, after the visit -------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_the_confirmation_has_the_map_and_a_calendar_file(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory, specialists=1)
    async with session_factory() as s, s.begin():
        await s.execute(
            update(Location).where(Location.id == catalog.location_id).values(address="Tverskaya 1")
        )
    user, _ = await new_client(emulator, session_factory, 7111, lang=lang)
    async with booking_bot(make_bot_settings):
        await to_summary(user, lang)
        await user.press(t("booking.btn.confirm", lang))
        done = await user.wait_for_message(booked(lang))
        assert "Tverskaya 1" in (done.text or "")
        map_button = done.find_button(t("booking.btn.map", lang))
        assert map_button is not None and "Tverskaya" in str(map_button.get("url"))
        await user.press(t("booking.btn.calendar", lang))
        document = await user.wait_for_message(lambda m: m.media is not None, edits=False)
        assert document.media is not None
        filename, content = emulator.uploads[document.media["id"]]
        assert filename.endswith(".ics")
        ics = content.decode()
        assert "DTSTART;TZID=Europe/Moscow:20310303T100000" in ics
        assert "BEGIN:VTIMEZONE" in ics and "TZID:Europe/Moscow" in ics


@pytest.mark.parametrize("lang", LANGS)
async def test_after_the_visit_a_thank_you_with_book_again(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory, specialists=2)
    user, client_id = await new_client(emulator, session_factory, 7112, lang=lang)
    start = NOW + dt.timedelta(hours=8)
    async with notify_bot(make_bot_settings(throttle_rate_per_second=1000.0)) as bot:
        visit = await bot.book(
            client_id=client_id,
            location_id=catalog.location_id,
            service_id=catalog.service_id,
            specialist_id=catalog.specialist_ids[1],
            start=start,
        )
        bot.clock.now = start + dt.timedelta(hours=1)  # ended, not yet two hours ago
        await bot.deliver()
        assert not any(has_button(m, t("notify.btn.book_again", lang)) for m in user.messages)
        bot.clock.now = start + dt.timedelta(hours=3)
        await bot.deliver()
        thanks = await user.wait_for_message(
            lambda m: has_button(m, t("notify.btn.book_again", lang))
        )
        assert button_data(thanks, t("notify.btn.book_again", lang)) == f"appt:again:{visit}"
        await user.press(t("notify.btn.book_again", lang))
        flow = await user.wait_for_message(t("booking.ask.date", lang), edits=False)
        [view] = await appointments_of(session_factory, client_id)
        specialist = (await bot.booking.get(view.id, actor=_admin())).specialist_name
        assert t("booking.chosen.specialist", lang, name=specialist) in (flow.text or "")


def _admin() -> Any:
    from bot.services.booking import Actor

    return Actor(kind="admin", id=1)


# --- prepayment said up front ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("payments", [True, False])
async def test_a_first_booking_says_up_front_that_bookings_are_prepaid(
    lang: str,
    payments: bool,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A new client learned that bookings are paid from the wallet only at the summary. Their
    first /book says it on its first screen, with how the wallet is filled (by card at
    checkout with Payments, else by the salon); once they have booked, it is not repeated."""
    await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(
        emulator, session_factory, 7190 + payments, lang=lang, balance=Decimal("5000")
    )
    note = t(f"booking.prepay.{'card' if payments else 'salon'}", lang)
    other = t(f"booking.prepay.{'salon' if payments else 'card'}", lang)
    token = {"payment_provider_token": PROVIDER} if payments else {}
    async with booking_bot(make_bot_settings, **token):
        await user.send("/book")
        first = await user.wait_for_message(t("booking.ask.date", lang))
        text = first.text or ""
        assert text.startswith(note) and other not in text
        await user.press("03.03")
        await user.wait_for_message(lambda m: has_button(m, "10:00"))
        await user.press("10:00")
        summary = await user.wait_for_message(is_summary(lang))
        assert note not in (summary.text or "")  # said once, where the booking starts
        await user.press(t("booking.btn.confirm", lang))
        await user.wait_for_message(booked(lang))

        await user.send("/book")
        again = await user.wait_for_message(t("booking.ask.date", lang))
        assert note not in (again.text or "")
    assert len(await appointments_of(session_factory, client_id)) == 1
    await assert_money_invariant(session_factory)
