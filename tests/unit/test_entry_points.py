"""Every feature has a way in that the interface shows (a fault found by replaying other bots'
bug reports: a feature whose only entry point sits behind a state the interface never shows).

For each feature, the path from what a new client sees (/start's menu, /help) to the feature's
first button is checked in both languages: the waitlist (a full date in /book's picker, marked
🔔: `tests/e2e/test_waitlist_full_date.py` walks it), reschedule and cancel (My appointments ->
the card), top-up (the wallet: a button with online payment, else the text says who tops up),
and phone sharing (Settings -> Phone opens Telegram's own contact button).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from aiogram.types import InlineKeyboardMarkup

from bot.i18n import SUPPORTED_LANGUAGES, Translator
from bot.keyboards.account import (
    AppointmentAction,
    AppointmentCb,
    WalletAction,
    WalletCb,
    appointment_actions_keyboard,
    wallet_keyboard,
)
from bot.keyboards.common import MenuAction, MenuCb, main_menu, phone_keyboard, settings_menu
from bot.services.booking_types import AppointmentView
from bot.services.reschedule_flow import changeable

NOW = datetime(2031, 3, 3, 6, 0, tzinfo=UTC)


def callbacks(markup: InlineKeyboardMarkup | None) -> list[str]:
    if markup is None:
        return []
    return [b.callback_data or "" for row in markup.inline_keyboard for b in row]


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_the_start_menu_opens_every_feature(lang: str) -> None:
    shown = callbacks(main_menu(Translator(lang)))
    for action in (MenuAction.book, MenuAction.my, MenuAction.wallet, MenuAction.settings):
        assert MenuCb(action=action).pack() in shown, action
    # The phone is one step further, in Settings.
    assert MenuCb(action=MenuAction.phone).pack() in callbacks(settings_menu(Translator(lang)))


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_help_names_the_way_into_every_feature(lang: str) -> None:
    i18n = Translator(lang)
    text = i18n("help.text")
    for command in ("/book", "/my", "/wallet", "/start"):
        assert command in text, command
    assert "🔔" in text  # the waitlist: a full date's marker in /book
    # The phone: the buttons leading to it are named.
    assert i18n("menu.btn.settings") in text and i18n("menu.btn.phone") in text
    words = {
        "en": ("cancel", "move", "administrator", "phone"),
        "ru": ("отменить", "перенести", "администратор", "телефон"),
    }[lang]
    for word in words:
        assert word in text.lower(), word


def view(start: datetime, status: str = "booked") -> AppointmentView:
    return AppointmentView(
        id=7,
        status=status,
        start=start,
        end=start + timedelta(hours=1),
        timezone="Europe/Moscow",
        location_id=1,
        location_name="L",
        location_address="A",
        service_id=1,
        service_name="S",
        specialist_id=1,
        specialist_name="Sp",
        workplace_id=1,
        workplace_name="W",
        client_id=1,
        blocked_until=start + timedelta(minutes=75),
        price=Decimal("1000.00"),
        discount=Decimal("0.00"),
        client_confirmed_at=None,
        cancelled_by=None,
    )


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_an_upcoming_appointment_card_offers_reschedule_and_cancel(lang: str) -> None:
    upcoming = view(NOW + timedelta(days=2))
    markup = appointment_actions_keyboard(
        Translator(lang), upcoming.id, can_change=changeable(upcoming, NOW)
    )
    shown = callbacks(markup)
    for action in (AppointmentAction.reschedule, AppointmentAction.cancel):
        assert AppointmentCb(action=action, appointment_id=upcoming.id).pack() in shown
    # Started or cancelled: nothing to change, so neither is offered.
    for done in (view(NOW - timedelta(minutes=1)), view(NOW + timedelta(days=2), "cancelled")):
        assert not changeable(done, NOW)


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_the_wallet_shows_how_to_top_up_either_way(lang: str) -> None:
    i18n = Translator(lang)
    assert WalletCb(action=WalletAction.topup).pack() in callbacks(
        wallet_keyboard(i18n, payments_enabled=True)
    )
    # Without online payment there is no button; the wallet text then names who tops up
    # (`account.wallet.topup_by_admin`, checked end to end in tests/e2e/test_wallet.py).
    assert wallet_keyboard(i18n, payments_enabled=False) is None
    assert i18n("account.wallet.topup_by_admin")


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_the_phone_button_asks_for_the_contact(lang: str) -> None:
    rows = phone_keyboard(Translator(lang)).keyboard
    assert any(button.request_contact for row in rows for button in row)
