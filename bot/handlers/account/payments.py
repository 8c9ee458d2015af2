"""Telegram Payments: the pre-checkout check and the successful payment that credits the wallet.

This router is included before every conversation: a payment's service message must reach the
wallet whatever flow the client is in (a top-up from the booking summary arrives while the
booking conversation waits for a button).

A pre-checkout query is approved only for an invoice this bot signed for that very client,
amount and currency. A successful payment is credited by `WalletService.credit_payment`, which
credits each `telegram_payment_charge_id` once: a second delivery of the same payment (even
under another update_id) credits nothing more.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.types import Message, PreCheckoutQuery, Update
from dishka import FromDishka

from bot import formats
from bot.config import Settings
from bot.handlers.account.context import AccountDeps
from bot.handlers.account.invoices import (
    check_payment,
    from_minor,
    is_booking_payload,
    parse_payload,
)
from bot.handlers.account.wallet import payload_secret, payments_token
from bot.i18n import Translator
from bot.keyboards.account import back_to_wallet_keyboard
from bot.services.clients import ClientProfile
from bot.services.wallet import WalletService

log = logging.getLogger(__name__)


async def on_pre_checkout(
    query: PreCheckoutQuery,
    settings: FromDishka[Settings],
    i18n: Translator,
    profile: ClientProfile | None = None,
) -> None:
    """Approve only an invoice this bot issued to this client, for this amount and currency."""
    payload = check_payment(
        payload_secret(settings),
        query.invoice_payload,
        client_id=profile.client_id if profile is not None else None,
        total_amount=query.total_amount,
        currency=query.currency,
        expected_currency=settings.currency,
    )
    if payload is None or payments_token(settings) is None:
        log.warning(
            "pre-checkout refused: user %s, payload %r", query.from_user.id, query.invoice_payload
        )
        await query.answer(ok=False, error_message=i18n("account.payment.refused"))
        return
    await query.answer(ok=True)


async def on_successful_payment(message: Message, deps: FromDishka[AccountDeps]) -> None:
    """Credit the payment once per Telegram charge id; a repeated delivery credits nothing.
    A booking's payment (pay at checkout) is left to the booking conversation, which credits
    it the same way and then confirms the booking."""
    payment = message.successful_payment
    assert payment is not None
    if is_booking_payload(payment.invoice_payload):
        raise SkipHandler
    payload = check_payment(
        payload_secret(deps.settings),
        payment.invoice_payload,
        client_id=deps.client_id,
        total_amount=payment.total_amount,
        currency=payment.currency,
        expected_currency=deps.currency,
    )
    if payload is None:
        # Telegram took the money for an invoice pre-checkout should have refused: keep a
        # loud record for the operator; crediting an unknown payload would be worse.
        log.error(
            "successful payment with an invalid payload: user %s, charge %s, payload %r",
            message.chat.id,
            payment.telegram_payment_charge_id,
            payment.invoice_payload,
        )
        await message.answer(deps.i18n("account.payment.refused"))
        return
    amount = from_minor(payload.amount_minor, payload.currency)
    credited = await deps.wallet.credit_payment(
        deps.client_id,
        amount,
        charge_id=payment.telegram_payment_charge_id,
    )
    wallet = await deps.wallet.balance_and_ledger(deps.client_id, limit=1)
    balance = formats.money(wallet.balance, deps.currency, deps.i18n.locale)
    if credited:
        text = deps.i18n(
            "account.payment.done",
            amount=formats.money(amount, deps.currency, deps.i18n.locale),
            balance=balance,
        )
    else:
        text = deps.i18n("account.payment.duplicate", balance=balance)
    await message.answer(text, reply_markup=back_to_wallet_keyboard(deps.i18n))


async def credit_after_failure(
    update: Update, settings: Settings, wallet: WalletService, i18n: Translator
) -> str | None:
    """For the error handler: a successful payment whose handling failed before the wallet was
    credited (Redis down in a middleware, say) is credited from its signed payload with the
    database alone, since Telegram will not deliver it again. Returns the text for the client,
    or None when the update is no payment or cannot be credited (then it is logged loudly)."""
    message = update.message
    payment = message.successful_payment if message is not None else None
    if payment is None:
        return None
    parsed = parse_payload(payload_secret(settings), payment.invoice_payload)
    payload = (
        check_payment(
            payload_secret(settings),
            payment.invoice_payload,
            client_id=parsed.client_id,
            total_amount=payment.total_amount,
            currency=payment.currency,
            expected_currency=settings.currency,
        )
        if parsed is not None
        else None
    )
    charge = payment.telegram_payment_charge_id
    if payload is None:
        log.error("failed update with an unusable payment: charge %s", charge)
        return None
    amount = from_minor(payload.amount_minor, payload.currency)
    try:
        credited = await wallet.credit_payment(payload.client_id, amount, charge_id=charge)
        balance = (await wallet.balance_and_ledger(payload.client_id, limit=1)).balance
    except Exception:
        log.exception("payment %s of client %s is NOT credited", charge, payload.client_id)
        return None
    log.warning("payment %s credited after a failed update (now: %s)", charge, credited)
    if not credited:
        return i18n(
            "account.payment.duplicate",
            balance=formats.money(balance, settings.currency, i18n.locale),
        )
    return i18n(
        "account.payment.done",
        amount=formats.money(amount, settings.currency, i18n.locale),
        balance=formats.money(balance, settings.currency, i18n.locale),
    )


def setup_router() -> Router:
    """Pre-checkout and successful payments: included before every conversation router."""
    router = Router(name="account.payments")
    router.pre_checkout_query.register(on_pre_checkout)
    router.message.register(on_successful_payment, F.successful_payment)
    return router
