"""/wallet end to end: the balance and the latest ledger rows with dates and localized kinds;
without a payment provider there is no top-up button and forged top-up buttons do nothing."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.keyboards.account import TopUpCb, WalletAction, WalletCb
from bot.services.booking import Actor, BookingService
from bot.services.wallet import WalletService
from db.models import WalletTransaction
from tests import dates
from tests.e2e.account_support import account_bot, book, ledger_of, local, t
from tests.e2e.booking_support import NOW, assert_money_invariant, new_client, wallet_of
from tests.integration.factories import make_catalog
from tests.money import rub

pytestmark = pytest.mark.usefixtures("clean_db", "redis")


def ledger_line(row: WalletTransaction, lang: str, timezone: str) -> str:
    sign = "+" if row.amount > 0 else "−"
    values = {
        "date": dates.day(row.created_at, lang, ZoneInfo(timezone))
        + row.created_at.astimezone(ZoneInfo(timezone)).strftime(" %H:%M"),
        "amount": f"{sign}{rub(abs(row.amount), lang)}",
        "kind": t(f"account.wallet.kind.{row.kind}", lang),
    }
    if row.description:
        return t("account.wallet.ledger_row_note", lang, note=row.description, **values)
    return t("account.wallet.ledger_row", lang, **values)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_wallet_shows_balance_and_latest_ledger_rows(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6301, lang=lang)
    settings = make_bot_settings()
    async with account_bot(settings) as app:
        booking: BookingService = app.services.booking
        wallet: WalletService = app.services.wallet
        view = await book(app, client_id, catalog, local(3, 10))
        await booking.cancel(view.id, actor=Actor("client", client_id), now=NOW)
        await wallet.top_up(client_id, Decimal("500"), comment="Gift card", admin_id=1)

        await user.send("/start")
        await user.wait_for_message()
        await user.press(t("menu.btn.wallet", lang))
        shown = await user.wait_for_message(
            t("account.wallet.balance", lang, balance=rub(5500, lang))
        )

        rows = list(reversed(await ledger_of(session_factory, client_id)))  # newest first
        assert [r.kind for r in rows] == ["topup", "refund", "debit", "topup"]
        expected = [
            t("account.wallet.balance", lang, balance=rub(5500, lang)),
            "",
            t("account.wallet.ledger_title", lang),
            *(ledger_line(r, lang, settings.default_timezone) for r in rows),
            "",
            t("account.wallet.topup_by_admin", lang),
        ]
        assert (shown.text or "").splitlines() == expected
        # No payment provider: no top-up button; opened from the menu: the way back to it.
        assert shown.button_texts() == [t("menu.btn.home", lang)]
        assert (await wallet_of(session_factory, client_id))[0] == Decimal("5500")
        await assert_money_invariant(session_factory)


async def test_empty_wallet(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    user, _ = await new_client(emulator, session_factory, 6302, lang="en", balance=Decimal("0"))
    async with account_bot(make_bot_settings()):
        await user.send("/wallet")
        shown = await user.wait_for_message()
        assert (shown.text or "").splitlines()[:2] == [
            t("account.wallet.balance", "en", balance=rub(0, "en")),
            t("account.wallet.ledger_empty", "en"),
        ]


async def test_forged_top_up_buttons_without_a_provider_do_nothing(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    user, client_id = await new_client(emulator, session_factory, 6303, lang="en")
    async with account_bot(make_bot_settings()):
        await user.send("/wallet")
        await user.wait_for_message()
        for data in (WalletCb(action=WalletAction.topup).pack(), TopUpCb(amount=1000).pack()):
            await user.press_data(data)
            answer = await user.wait_for_callback_answer()
            assert answer.get("text") == t("account.wallet.payments_off", "en")
        assert emulator.calls_to("sendInvoice") == []
        assert (await wallet_of(session_factory, client_id))[0] == Decimal("5000")
