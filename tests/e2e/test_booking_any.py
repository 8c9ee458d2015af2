""" "Any specialist" is definite: its button shows the lowest price "from", the summary names
the specialist who will be assigned and the exact price, and confirm books exactly that
specialist at that price, or nothing (docs/rules.md#any-specialist)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator, EmuMessage
from bot.emulator.users import SimUser
from tests.e2e.booking_support import (
    NOW,
    Services,
    appointments_of,
    assert_money_invariant,
    booking_bot,
    has_button,
    new_client,
    t,
    wallet_of,
)
from tests.e2e.test_booking_flow import booked, is_summary, names
from tests.integration.factories import make_catalog
from tests.money import rub

pytestmark = pytest.mark.usefixtures("clean_db", "redis")

TEN = NOW + timedelta(hours=1)


async def any_to_summary(user: SimUser, lang: str) -> EmuMessage:
    await user.send("/book")
    msg = await user.wait_for_message(t("booking.ask.specialist", lang))
    any_label = t("booking.btn.any_specialist", lang)
    from_price = t("formats.from", lang, price=rub(1000, lang))
    assert has_button(msg, f"{any_label} · {from_price}")
    await user.press(any_label)
    await user.wait_for_message(t("booking.ask.date", lang))
    await user.press("03.03")
    await user.wait_for_message(t("booking.ask.time", lang, zone=""))
    await user.press("10:00")
    return await user.wait_for_message(is_summary(lang))


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_any_names_the_assigned_specialist_and_charges_the_quoted_price(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(
        session_factory, specialists=2, specialist_prices={1: Decimal("1500")}
    )
    cheap, _dear = (await names(session_factory, catalog))["specialists"]
    user, client_id = await new_client(emulator, session_factory, 5401, lang=lang)

    async with booking_bot(make_bot_settings):
        summary = await any_to_summary(user, lang)
        text = summary.text or ""
        assert t("booking.summary.any", lang, name=cheap) in text and rub(1000, lang) in text
        await user.press(t("booking.btn.confirm", lang))
        await user.wait_for_message(booked(lang))

    [appointment] = await appointments_of(session_factory, client_id)
    assert appointment.specialist_id == catalog.specialist_ids[0]
    assert appointment.price == Decimal("1000.00")
    balance, _ = await wallet_of(session_factory, client_id)
    assert balance == Decimal("4000.00")
    await assert_money_invariant(session_factory)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_any_never_switches_to_another_specialist_at_another_price(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The quoted specialist is taken after the hold lapsed; the other one is free at 1500
    (two workplaces): confirm books nothing and says the time is gone, instead of charging
    1500 where 1000 was quoted."""
    catalog = await make_catalog(
        session_factory, specialists=2, workplaces=2, specialist_prices={1: Decimal("1500")}
    )
    cheap, _dear = (await names(session_factory, catalog))["specialists"]
    alice, alice_id = await new_client(emulator, session_factory, 5402, lang=lang)
    bob, bob_id = await new_client(emulator, session_factory, 5403, lang=lang)

    async with booking_bot(make_bot_settings) as app:
        await any_to_summary(alice, lang)
        await Services(app).holds.release(alice_id)  # Alice's hold lapses
        await bob.send("/book")
        await bob.wait_for_message(t("booking.ask.specialist", lang))
        await bob.press(cheap)
        await bob.wait_for_message(t("booking.ask.date", lang))
        await bob.press("03.03")
        await bob.wait_for_message(t("booking.ask.time", lang, zone=""))
        await bob.press("10:00")
        await bob.wait_for_message(is_summary(lang))
        await bob.press(t("booking.btn.confirm", lang))
        await bob.wait_for_message(booked(lang))

        await alice.press(t("booking.btn.confirm", lang))
        await alice.wait_for_message(t("booking.hold_expired", lang))

    assert await appointments_of(session_factory, alice_id) == []
    balance, _ = await wallet_of(session_factory, alice_id)
    assert balance == Decimal("5000.00")
    [b] = await appointments_of(session_factory, bob_id)
    assert b.specialist_id == catalog.specialist_ids[0] and b.start_time == TEN
    await assert_money_invariant(session_factory)
