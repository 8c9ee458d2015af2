"""Telegram Payments top-ups end to end: the invoice (amount in minor units, currency from the
settings), pre-checkout approved only for this client's own untouched invoice, a successful
payment credited exactly once per charge id (even delivered twice under different update ids),
and a payment arriving in the middle of the booking conversation still reaching the wallet."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import BotApp
from bot.config import Settings
from bot.emulator.server import BotAPIEmulator, EmuMessage
from bot.emulator.users import SimUser
from bot.handlers.account.invoices import (
    TopUpPayload,
    check_payment,
    from_minor,
    make_payload,
    parse_payload,
    to_minor,
)
from bot.keyboards.account import TopUpCb
from bot.states import BookingStates
from tests.e2e.account_support import account_bot, ledger_of, t
from tests.e2e.booking_support import PROVIDER, assert_money_invariant, new_client, wallet_of
from tests.money import rub

pytestmark = pytest.mark.usefixtures("clean_db", "redis")


async def invoice_for(user: SimUser, lang: str, amount: str) -> EmuMessage:
    """/wallet -> Top up -> the amount: the invoice the bot sends."""
    await user.send("/wallet")
    await user.wait_for_message(lambda m: bool(m.button_texts()))
    await user.press(t("account.btn.topup", lang))
    await user.wait_for_message(t("account.wallet.choose_amount", lang))
    await user.press(amount)
    return await user.wait_for_message(lambda m: m.invoice is not None)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_top_up_is_credited_once_per_charge(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    user, client_id = await new_client(emulator, session_factory, 6401, lang=lang)
    async with account_bot(make_bot_settings(payment_provider_token=PROVIDER)):
        invoice = await invoice_for(user, lang, rub(1000, lang))
        assert invoice.invoice is not None
        assert (invoice.invoice["currency"], invoice.invoice["total_amount"]) == ("RUB", 100000)
        assert invoice.invoice["title"] == t("account.invoice.title", lang)
        [call] = emulator.calls_to("sendInvoice")
        assert call.params["provider_token"] == PROVIDER

        answer = await user.pay(invoice, charge_id="charge-1")
        assert answer.get("ok") is True
        await user.wait_for_message(
            t("account.payment.done", lang, amount=rub(1000, lang), balance=rub(6000, lang))
        )

        # Telegram delivers the same payment again, under a new update_id.
        data = invoice.invoice
        await user.successful_payment(
            total_amount=data["total_amount"],
            currency=data["currency"],
            payload=data["payload"],
            charge_id="charge-1",
        )
        await user.wait_for_message(t("account.payment.duplicate", lang, balance=rub(6000, lang)))

        payments = await ledger_of(session_factory, client_id, "payment")
        assert [(p.amount, p.external_id) for p in payments] == [(Decimal("1000.00"), "charge-1")]
        assert (await wallet_of(session_factory, client_id))[0] == Decimal("6000")
        await assert_money_invariant(session_factory)


async def test_pre_checkout_refuses_foreign_or_tampered_invoices(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    alice, alice_id = await new_client(emulator, session_factory, 6402, lang="en")
    bob, bob_id = await new_client(emulator, session_factory, 6403, lang="ru")
    async with account_bot(make_bot_settings(payment_provider_token=PROVIDER)):
        invoice = await invoice_for(alice, "en", rub(500, "en"))
        assert invoice.invoice is not None
        payload, total = invoice.invoice["payload"], invoice.invoice["total_amount"]
        tampered_sig = payload[:-1] + ("0" if payload[-1] != "0" else "1")

        attempts = [
            (bob, {"total_amount": total, "currency": "RUB", "payload": payload}, "ru"),
            (alice, {"total_amount": total + 100, "currency": "RUB", "payload": payload}, "en"),
            (alice, {"total_amount": total, "currency": "USD", "payload": payload}, "en"),
            (alice, {"total_amount": total, "currency": "RUB", "payload": tampered_sig}, "en"),
            (alice, {"total_amount": total, "currency": "RUB", "payload": "topup:1:2"}, "en"),
        ]
        for who, fields, lang in attempts:
            qid = await who.pre_checkout(**fields)
            await emulator.wait_for(lambda q=qid: q in emulator.pre_checkout_answers)
            answer = emulator.pre_checkout_answers[qid]
            assert answer.get("ok") is False, fields
            assert answer.get("error_message") == t("account.payment.refused", lang)

        # The untouched invoice, by its owner, is approved.
        qid = await alice.pre_checkout(total_amount=total, currency="RUB", payload=payload)
        await emulator.wait_for(lambda: qid in emulator.pre_checkout_answers)
        assert emulator.pre_checkout_answers[qid].get("ok") is True

        # A successful payment with someone else's payload credits nobody.
        await bob.successful_payment(
            total_amount=total, currency="RUB", payload=payload, charge_id="charge-x"
        )
        await bob.wait_for_message(t("account.payment.refused", "ru"))
        assert await ledger_of(session_factory, alice_id, "payment") == []
        assert await ledger_of(session_factory, bob_id, "payment") == []
        assert (await wallet_of(session_factory, bob_id))[0] == Decimal("5000")
        await assert_money_invariant(session_factory)


async def test_forged_amount_sends_no_invoice(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    user, _ = await new_client(emulator, session_factory, 6404, lang="en")
    async with account_bot(make_bot_settings(payment_provider_token=PROVIDER)):
        await user.send("/wallet")
        await user.wait_for_message()
        await user.press_data(TopUpCb(amount=1).pack())
        answer = await user.wait_for_callback_answer()
        assert answer.get("text") == t("account.appt.stale", "en")
        assert emulator.calls_to("sendInvoice") == []


async def test_payment_in_the_middle_of_booking_reaches_the_wallet(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    user, client_id = await new_client(emulator, session_factory, 6405, lang="en")
    async with account_bot(make_bot_settings(payment_provider_token=PROVIDER)) as app:
        invoice = await invoice_for(user, "en", rub(2000, "en"))
        # The client went back to the booking summary (waiting for a button) before paying.
        await set_state(app, user, BookingStates.confirm.state)
        await user.pay(invoice, charge_id="charge-mid-flow")
        await user.wait_for_message(
            t("account.payment.done", "en", amount=rub(2000, "en"), balance=rub(7000, "en"))
        )
        assert (await wallet_of(session_factory, client_id))[0] == Decimal("7000")
        await assert_money_invariant(session_factory)


async def test_payments_are_never_throttled(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A burst far over the per-user rate: every pre-checkout is answered and every payment
    credited (a dropped successful payment would take money without crediting it)."""
    user, client_id = await new_client(emulator, session_factory, 6406, lang="en")
    settings = make_bot_settings(
        payment_provider_token=PROVIDER, throttle_rate_per_second=1, throttle_burst=1
    )
    payload = make_payload(
        emulator.token, TopUpPayload(client_id=client_id, amount_minor=50000, currency="RUB")
    )
    async with account_bot(settings):
        queries = [
            await user.pre_checkout(total_amount=50000, currency="RUB", payload=payload)
            for _ in range(3)
        ]
        for n in range(3):
            await user.successful_payment(
                total_amount=50000, currency="RUB", payload=payload, charge_id=f"burst-{n}"
            )
        await emulator.wait_for(lambda: all(q in emulator.pre_checkout_answers for q in queries))
        assert [emulator.pre_checkout_answers[q].get("ok") for q in queries] == [True] * 3
        await user.wait_for_message(
            t("account.payment.done", "en", amount=rub(500, "en"), balance=rub(6500, "en"))
        )
        payments = await ledger_of(session_factory, client_id, "payment")
        assert sorted(p.external_id or "" for p in payments) == ["burst-0", "burst-1", "burst-2"]
        assert (await wallet_of(session_factory, client_id))[0] == Decimal("6500")
        await assert_money_invariant(session_factory)


async def set_state(app: BotApp, user: SimUser, state: str | None) -> None:
    key = StorageKey(bot_id=app.bot.id, chat_id=user.chat_id, user_id=user.id)
    await app.dispatcher.storage.set_state(key, state)


# --- the signed payload (no I/O) ------------------------------------------------------------


def test_payload_round_trip_and_tampering() -> None:
    payload = TopUpPayload(client_id=42, amount_minor=150000, currency="RUB")
    raw = make_payload("secret", payload)
    assert len(raw.encode()) <= 128  # Telegram's limit
    assert parse_payload("secret", raw) == payload
    assert parse_payload("other-secret", raw) is None
    assert parse_payload("secret", raw.replace(":42:", ":43:")) is None
    assert parse_payload("secret", raw.replace("150000", "250000")) is None
    assert parse_payload("secret", raw.replace("150000", "²")) is None  # a digit, no number
    assert parse_payload("secret", "") is None
    assert parse_payload("secret", "topup:x:y:RUB:sig") is None
    ok = {"total_amount": 150000, "currency": "RUB", "expected_currency": "RUB"}
    assert check_payment("secret", raw, client_id=42, **ok) == payload  # type: ignore[arg-type]
    assert check_payment("secret", raw, client_id=7, **ok) is None  # type: ignore[arg-type]
    assert check_payment("secret", raw, client_id=None, **ok) is None  # type: ignore[arg-type]


def test_minor_units_follow_the_currency() -> None:
    assert to_minor(Decimal("1000"), "RUB") == 100000
    assert to_minor(1000, "JPY") == 1000
    assert from_minor(100050, "RUB") == Decimal("1000.50")
    assert from_minor(1000, "JPY") == Decimal("1000.00")
