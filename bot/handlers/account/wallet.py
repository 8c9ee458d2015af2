"""/wallet: the balance and the latest ledger rows; with `PAYMENT_PROVIDER_TOKEN` set, top-ups
through Telegram Payments: fixed amounts -> an invoice signed for this client (the pre-checkout
and the successful payment are in `payments.py`).
"""

from __future__ import annotations

from decimal import Decimal

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, LabeledPrice, Message
from dishka import FromDishka

from bot import formats
from bot.config import Settings
from bot.handlers.account import render
from bot.handlers.account.appointments import enter_account_step, leave_account_flow
from bot.handlers.account.context import AccountDeps, show
from bot.handlers.account.invoices import (
    TopUpPayload,
    from_minor,
    make_payload,
    to_minor,
)
from bot.keyboards.account import (
    TOPUP_AMOUNTS,
    TopUpCb,
    WalletAction,
    WalletCb,
    topup_amounts_keyboard,
    wallet_keyboard,
)
from bot.keyboards.common import MenuAction, MenuCb, with_home
from bot.states import AccountFlow

LEDGER_ROWS = 10


def payments_token(settings: Settings) -> str | None:
    token = settings.payment_provider_token
    value = token.get_secret_value().strip() if token is not None else ""
    return value or None


def payload_secret(settings: Settings) -> str:
    # Derived from the bot token: stable across restarts and instances, never sent to users.
    return settings.bot_token.get_secret_value()


async def wallet_screen(deps: AccountDeps) -> tuple[str, InlineKeyboardMarkup | None]:
    wallet = await deps.wallet.balance_and_ledger(deps.client_id, limit=LEDGER_ROWS)
    text = render.wallet_text(wallet, deps.i18n, deps.currency, deps.settings.default_timezone)
    enabled = payments_token(deps.settings) is not None
    contact = deps.settings.admin_contact
    if not enabled:
        how = (
            deps.i18n("account.wallet.topup_contact", contact=contact)
            if contact is not None
            else deps.i18n("account.wallet.topup_by_admin")
        )
        text = f"{text}\n\n{how}"
    markup = wallet_keyboard(
        deps.i18n, payments_enabled=enabled, contact_url=deps.settings.admin_contact_url
    )
    return text, markup


async def show_wallet(
    event: Message | CallbackQuery, deps: AccountDeps, state: FSMContext, *, edit: bool = True
) -> None:
    await leave_account_flow(state)
    text, markup = await wallet_screen(deps)
    await show(event, text, markup, edit=edit)


async def on_wallet(message: Message, state: FSMContext, deps: FromDishka[AccountDeps]) -> None:
    await show_wallet(message, deps, state)


async def on_menu_wallet(
    query: CallbackQuery, state: FSMContext, deps: FromDishka[AccountDeps]
) -> None:
    """The main menu's "wallet": the wallet replaces the menu ("« Menu" goes back)."""
    await query.answer()
    await leave_account_flow(state)
    text, markup = await wallet_screen(deps)
    await show(query, text, with_home(markup, deps.i18n))


async def on_wallet_button(
    query: CallbackQuery, state: FSMContext, deps: FromDishka[AccountDeps]
) -> None:
    await query.answer()
    await show_wallet(query, deps, state, edit=_edits_wallet(query))


async def on_topup(query: CallbackQuery, state: FSMContext, deps: FromDishka[AccountDeps]) -> None:
    if payments_token(deps.settings) is None:
        await query.answer(deps.i18n("account.wallet.payments_off"), show_alert=True)
        return
    await query.answer()
    await enter_account_step(state, AccountFlow.topup_amount)
    amounts = [
        (a, formats.money(Decimal(a), deps.currency, deps.i18n.locale)) for a in TOPUP_AMOUNTS
    ]
    await show(
        query,
        deps.i18n("account.wallet.choose_amount"),
        topup_amounts_keyboard(deps.i18n, amounts),
        edit=_edits_wallet(query),
    )


async def on_amount(
    query: CallbackQuery,
    callback_data: TopUpCb,
    state: FSMContext,
    deps: FromDishka[AccountDeps],
) -> None:
    """Send the invoice for one of the offered amounts (anything else is a forged button)."""
    token = payments_token(deps.settings)
    if token is None:
        await query.answer(deps.i18n("account.wallet.payments_off"), show_alert=True)
        return
    if callback_data.amount not in TOPUP_AMOUNTS:
        await query.answer(deps.i18n("account.appt.stale"))
        text, markup = await wallet_screen(deps)
        await show(query, text, markup)
        return
    await query.answer()
    await leave_account_flow(state)
    currency = deps.currency.upper()
    minor = to_minor(callback_data.amount, currency)
    payload = make_payload(
        payload_secret(deps.settings),
        TopUpPayload(client_id=deps.client_id, amount_minor=minor, currency=currency),
    )
    amount_text = formats.money(from_minor(minor, currency), currency, deps.i18n.locale)
    assert query.bot is not None
    await query.bot.send_invoice(
        chat_id=query.from_user.id,
        title=deps.i18n("account.invoice.title"),
        description=deps.i18n("account.invoice.description", amount=amount_text),
        payload=payload,
        currency=currency,
        prices=[LabeledPrice(label=deps.i18n("account.invoice.label"), amount=minor)],
        provider_token=token,
    )


def _edits_wallet(query: CallbackQuery) -> bool:
    """Edit only the wallet's own screens; a top-up button under a booking summary gets a new
    message so the summary stays."""
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return False
    prefixes = (WalletCb.__prefix__ + ":", TopUpCb.__prefix__ + ":")
    buttons = [b for row in message.reply_markup.inline_keyboard for b in row]
    return bool(buttons) and all((b.callback_data or "").startswith(prefixes) for b in buttons)


def register(router: Router) -> None:
    """/wallet, the main menu's "wallet", its buttons and the top-up amounts."""
    router.message.register(on_wallet, Command("wallet"))
    router.callback_query.register(on_menu_wallet, MenuCb.filter(F.action == MenuAction.wallet))
    router.callback_query.register(on_wallet_button, WalletCb.filter(F.action == WalletAction.show))
    router.callback_query.register(on_topup, WalletCb.filter(F.action == WalletAction.topup))
    router.callback_query.register(on_amount, TopUpCb.filter())
