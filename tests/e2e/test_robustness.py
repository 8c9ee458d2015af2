"""Robustness of the account flows over the emulator: Redis going down in the middle of a cancel
(a clear "temporarily unavailable", nothing written, recovery by itself when Redis is back), a
payment arriving while Redis is down (credited all the same, and once), and a restart in the
middle of a reschedule (a new application instance on the same Redis and database continues
from the buttons already on screen).

Redis is reached through a proxy the test stops and starts; the shared Redis is never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator, EmuMessage
from bot.handlers.account.invoices import TopUpPayload, make_payload
from tests.e2e.account_support import (
    account_bot,
    appointment,
    book,
    date_text,
    ddmm,
    ledger_of,
    local,
    open_card,
    t,
)
from tests.e2e.booking_support import assert_money_invariant, button_data, new_client, wallet_of
from tests.emulator.redis_proxy import RedisProxy
from tests.integration.factories import make_catalog
from tests.money import rub
from tests.servers import pin_breaker

pytestmark = pytest.mark.usefixtures("clean_db", "redis")


def has_button(text: str) -> Callable[[EmuMessage], bool]:
    return lambda m: m.find_button(text) is not None


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_redis_down_mid_cancel_is_temporarily_unavailable_then_recovers(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    redis_proxy: RedisProxy,
) -> None:
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6501, lang=lang)
    async with account_bot(make_bot_settings(redis_url=redis_proxy.url)) as app:
        clock = pin_breaker(app)
        view = await book(app, client_id, catalog, local(3, 10))
        await open_card(user, view, lang)
        await user.press(t("account.btn.cancel", lang))
        ask = await user.wait_for_message(has_button(t("account.btn.cancel_yes", lang)))

        await redis_proxy.stop()
        yes = button_data(ask, t("account.btn.cancel_yes", lang))
        await user.press_data(yes, message_id=ask.message_id)
        down = await user.wait_for_message(edits=False, timeout=30)
        assert down.text == t("errors.unavailable", lang)
        # Nothing was written while Redis was away.
        assert (await appointment(session_factory, view.id)).status == "booked"
        assert await ledger_of(session_factory, client_id, "refund") == []

        await redis_proxy.start()
        clock.pass_pause()  # the breaker's pause is over: the next update asks Redis again
        await user.press(t("account.btn.cancel_yes", lang))
        done = t(
            "account.cancel.done",
            lang,
            date=date_text(view.start, lang),
            time="10:00",
            refund=rub(1000, lang),
            balance=rub(5000, lang),
        )
        await user.wait_for_message(done, timeout=30)
        assert (await appointment(session_factory, view.id)).status == "cancelled"
        refunds = await ledger_of(session_factory, client_id, "refund")
        assert [r.amount for r in refunds] == [Decimal("1000.00")]
        await assert_money_invariant(session_factory)


async def test_payment_during_a_redis_outage_is_credited_once(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    redis_proxy: RedisProxy,
) -> None:
    """Telegram never delivers a successful payment again, so an outage must not lose it."""
    user, client_id = await new_client(emulator, session_factory, 6503, lang="en")
    settings = make_bot_settings(redis_url=redis_proxy.url, payment_provider_token="1:TEST:x")
    payload = make_payload(
        emulator.token, TopUpPayload(client_id=client_id, amount_minor=100000, currency="RUB")
    )
    payment = {"total_amount": 100000, "currency": "RUB", "payload": payload}
    async with account_bot(settings) as app:
        clock = pin_breaker(app)
        await user.send("/wallet")
        await user.wait_for_message()

        await redis_proxy.stop()
        await user.successful_payment(**payment, charge_id="charge-outage")
        credited = t("account.payment.done", "en", amount=rub(1000, "en"), balance=rub(6000, "en"))
        assert (await user.wait_for_message(timeout=30)).text == credited

        await redis_proxy.start()
        clock.pass_pause()
        await user.successful_payment(**payment, charge_id="charge-outage")
        await user.wait_for_message(
            t("account.payment.duplicate", "en", balance=rub(6000, "en")), timeout=30
        )
    payments = await ledger_of(session_factory, client_id, "payment")
    assert [(p.amount, p.external_id) for p in payments] == [(Decimal("1000.00"), "charge-outage")]
    assert (await wallet_of(session_factory, client_id))[0] == Decimal("6000")
    await assert_money_invariant(session_factory)


async def test_restart_mid_reschedule_continues_from_the_buttons_on_screen(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6502, lang="en")
    settings = make_bot_settings()
    new_day = ddmm(local(4, 0))

    async with account_bot(settings) as app:
        view = await book(app, client_id, catalog, local(3, 10))
        await open_card(user, view, "en")
        await user.press(t("account.btn.reschedule", "en"))
        await user.wait_for_message(has_button(new_day))
        await user.press(new_day)
        await user.wait_for_message(t("account.resched.choose_time", "en", date="Fri 7 Mar"))

    # A new instance of the application: same Redis (FSM state) and database.
    async with account_bot(settings):
        # The step survived the restart: typed text still gets the hint of this step.
        await user.send("12:00 please")
        hint = await user.wait_for_message(edits=False)
        assert hint.text == t("account.hint.use_buttons", "en")

        await user.press(t("booking.part.afternoon", "en"))
        await user.wait_for_message(has_button("12:00"))
        await user.press("12:00")
        await user.wait_for_message(has_button(t("account.btn.reschedule_confirm", "en")))
        await user.press(t("account.btn.reschedule_confirm", "en"))
        await user.wait_for_message(t("account.resched.settled_same", "en"))

    row = await appointment(session_factory, view.id)
    assert (row.status, row.start_time) == ("booked", local(4, 12))
    assert (await wallet_of(session_factory, client_id))[0] == Decimal("4000")
    await assert_money_invariant(session_factory)
