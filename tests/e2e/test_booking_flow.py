"""The /book conversation end to end: the real Dispatcher over HTTP against the Bot API emulator,
the real PostgreSQL and Redis. Happy paths in both languages, "any specialist", auto-skipped
steps, Back at every step, a lost race, missing money and an expired hold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator, EmuMessage
from bot.emulator.users import SimUser
from bot.services.booking_flow import BookingFlow, LostReason, TimeChoice, TimeGone
from db.models import Client, Location, Service, ServiceSpecialist, Specialist, WorkplaceService
from tests.e2e.booking_support import (
    NOW,
    PROVIDER,
    SAID_TODAY,
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
from tests.integration.factories import Catalog, make_catalog
from tests.money import rub

pytestmark = pytest.mark.usefixtures("clean_db", "redis")

TEN = NOW + timedelta(hours=1)  # 10:00 in Moscow: the first start MIN_NOTICE_MIN allows
ELEVEN = NOW + timedelta(hours=2)


async def names(sessions: async_sessionmaker[AsyncSession], catalog: Catalog) -> dict[str, Any]:
    async with sessions() as s:
        location = await s.scalar(select(Location.name).where(Location.id == catalog.location_id))
        service = await s.scalar(select(Service.name).where(Service.id == catalog.service_id))
        specialists = (
            await s.scalars(
                select(Specialist.name)
                .where(Specialist.id.in_(catalog.specialist_ids))
                .order_by(Specialist.id)
            )
        ).all()
    return {"location": location, "service": service, "specialists": list(specialists)}


async def to_times(user: SimUser, lang: str, *, specialist: str | None = None) -> EmuMessage:
    """/book in a one-location, one-service catalog, up to the times of today (03.03)."""
    await user.send("/book")
    if specialist is not None:
        await user.wait_for_message(t("booking.ask.specialist", lang))
        await user.press(specialist)
    await user.wait_for_message(t("booking.ask.date", lang))
    await user.press("03.03")
    return await user.wait_for_message(t("booking.ask.time", lang, zone=""))


async def to_summary(user: SimUser, lang: str) -> EmuMessage:
    """/book as in `to_times`, then today's 10:00: the summary, with the time held."""
    await to_times(user, lang)
    await user.press("10:00")
    return await user.wait_for_message(is_summary(lang))


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_happy_path(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    main = await make_catalog(
        session_factory, specialists=2, specialist_prices={1: Decimal("1500")}
    )
    other = await make_catalog(session_factory)
    main_names, other_names = (
        await names(session_factory, main),
        await names(session_factory, other),
    )
    user, client_id = await new_client(emulator, session_factory, 5001, lang=lang)

    async with booking_bot(make_bot_settings) as app:
        services = Services(app)
        if lang == "en":  # the main menu's button starts the same flow as /book
            await user.send("/start")
            await user.wait_for_message()
            await user.press(t("menu.btn.book", lang))
        else:
            await user.send("/book")
        start = await user.wait_for_message(t("booking.ask.location", lang))
        assert has_button(start, main_names["location"]) and has_button(
            start, other_names["location"]
        )

        await user.press(main_names["location"])
        # One service at that location: chosen automatically, and the header says so.
        msg = await user.wait_for_message(t("booking.ask.specialist", lang))
        assert t("booking.chosen.service", lang, name=main_names["service"]) in (msg.text or "")
        cheap, dear = main_names["specialists"]
        assert has_button(msg, f"{cheap} · {rub(1000, lang)}") and has_button(
            msg, f"{dear} · {rub(1500, lang)}"
        )
        assert has_button(msg, t("booking.btn.any_specialist", lang))

        await user.press(dear)
        msg = await user.wait_for_message(t("booking.ask.date", lang))
        weekday = t("booking.weekday.1", lang)
        assert has_button(msg, f"03.03 {weekday}")

        await user.press("03.03")
        msg = await user.wait_for_message(t("booking.ask.time", lang, zone=""))
        assert has_button(msg, "10:00") and not has_button(msg, "09:45")

        await user.press("10:00")
        summary = await user.wait_for_message(is_summary(lang))
        text = summary.text or ""
        assert main_names["location"] in text and dear in text
        assert f"{SAID_TODAY[lang]}, 10:00" in text
        assert rub(1500, lang) in text and rub(3500, lang) in text  # price, balance after
        assert ("Подтвердить" if lang == "ru" else "Confirm") in summary.button_texts()[0]
        hold = await services.hold_of(client_id)
        assert hold is not None and hold.start == TEN

        await user.press(t("booking.btn.confirm", lang))
        done = await user.wait_for_message(booked(lang))
        # One message was edited through the whole flow.
        assert done.message_id == start.message_id
        assert dear in (done.text or "") and rub(1500, lang) in (done.text or "")
        data = [b.get("callback_data", "") for row in done.buttons for b in row]
        assert any(d.startswith("appt:cancel:") for d in data)
        # Today's 10:00 is inside the free-cancel window: no move is offered.
        assert not any(d.startswith("appt:resched:") for d in data)
        assert await services.hold_of(client_id) is None

    [appointment] = await appointments_of(session_factory, client_id)
    assert appointment.status == "booked"
    assert appointment.start_time == TEN
    assert appointment.specialist_id == main.specialist_ids[1]
    assert appointment.location_id == main.location_id
    assert appointment.price == Decimal("1500.00")
    balance, ledger = await wallet_of(session_factory, client_id)
    assert balance == Decimal("3500.00")
    assert [(r.kind, r.amount) for r in ledger] == [
        ("topup", Decimal("5000.00")),
        ("debit", Decimal("-1500.00")),
    ]
    assert ledger[1].appointment_id == appointment.id
    await assert_money_invariant(session_factory)


async def test_any_specialist_gets_the_preferred_one(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory, specialists=2)
    first_name = (await names(session_factory, catalog))["specialists"][0]
    user, client_id = await new_client(emulator, session_factory, 5002, lang="en")

    async with booking_bot(make_bot_settings):
        await user.send("/book")
        msg = await user.wait_for_message(t("booking.ask.specialist", "en"))
        # Same price everywhere: names only, no price next to them.
        assert not any("₽" in label for label in msg.button_texts())
        await user.press("Any specialist")
        await user.wait_for_message(t("booking.ask.date", "en"))
        await user.press("03.03")
        await user.wait_for_message(t("booking.ask.time", "en", zone=""))
        await user.press("10:00")
        summary = await user.wait_for_message(is_summary("en"))
        assert t("booking.summary.any", "en", name=first_name) in (summary.text or "")
        await user.press("Confirm")
        await user.wait_for_message("You are booked")

    [appointment] = await appointments_of(session_factory, client_id)
    # Both are free: the fewest appointments that day, then the lowest id.
    assert appointment.specialist_id == catalog.specialist_ids[0]
    await assert_money_invariant(session_factory)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_services_offer_only_the_bookable_with_price_and_duration(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory, specialists=1)
    n = await names(session_factory, catalog)
    async with session_factory() as s, s.begin():
        coloring = Service(name="Coloring", duration_min=90, price=Decimal("2500"))
        elsewhere = Service(name="Massage", duration_min=30, price=Decimal("800"))
        s.add_all([coloring, elsewhere])
        await s.flush()
        s.add(WorkplaceService(workplace_id=catalog.workplace_ids[0], service_id=coloring.id))
        s.add(ServiceSpecialist(service_id=coloring.id, specialist_id=catalog.specialist_ids[0]))
        # Qualified, but no workplace of this location hosts it: not bookable here.
        s.add(ServiceSpecialist(service_id=elsewhere.id, specialist_id=catalog.specialist_ids[0]))
    user, _ = await new_client(emulator, session_factory, 5012, lang=lang)

    async with booking_bot(make_bot_settings):
        await user.send("/book")
        msg = await user.wait_for_message(t("booking.ask.service", lang))
        minutes = t("booking.duration", lang, minutes=60)
        assert has_button(msg, f"{n['service']} · {rub(1000, lang)} · {minutes}")
        assert has_button(
            msg, f"Coloring · {rub(2500, lang)} · {t('booking.duration', lang, minutes=90)}"
        )
        assert not has_button(msg, "Massage")
        await user.press("Coloring")
        msg = await user.wait_for_message(t("booking.ask.date", lang))
        assert t("booking.chosen.service", lang, name="Coloring") in (msg.text or "")


async def test_single_choices_are_skipped_and_shown(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory, specialists=1)
    n = await names(session_factory, catalog)
    user, _ = await new_client(emulator, session_factory, 5003)

    async with booking_bot(make_bot_settings):
        await user.send("/book")
        msg = await user.wait_for_message(t("booking.ask.date", "ru"))
        text = msg.text or ""
        auto = " " + t("booking.chosen.auto", "ru")
        assert t("booking.chosen.location", "ru", name=n["location"]) + auto in text
        assert t("booking.chosen.service", "ru", name=n["service"]) + auto in text
        assert t("booking.chosen.specialist", "ru", name=n["specialists"][0]) + auto in text
        # Nothing to go back to: Cancel only.
        assert not has_button(msg, t("booking.btn.back", "ru"))
        assert has_button(msg, t("booking.btn.cancel", "ru"))


async def test_back_at_every_step_releases_the_hold(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    main = await make_catalog(session_factory, specialists=2)
    await make_catalog(session_factory)
    n = await names(session_factory, main)
    user, client_id = await new_client(emulator, session_factory, 5004)
    back = t("booking.btn.back", "ru")

    async with booking_bot(make_bot_settings) as app:
        services = Services(app)
        await user.send("/book")
        await user.wait_for_message(t("booking.ask.location", "ru"))
        await user.press(n["location"])
        await user.wait_for_message(t("booking.ask.specialist", "ru"))
        await user.press(n["specialists"][0])
        await user.wait_for_message(t("booking.ask.date", "ru"))
        await user.press("03.03")
        await user.wait_for_message(t("booking.ask.time", "ru", zone=""))
        await user.press("10:00")
        await user.wait_for_message(is_summary("ru"))
        assert await services.hold_of(client_id) is not None

        await user.press(back)
        msg = await user.wait_for_message(t("booking.ask.time", "ru", zone=""))
        assert await services.hold_of(client_id) is None
        assert has_button(msg, "10:00")
        # Many times: grouped by part of the day (tabs), no pages of 15-minute buttons.
        assert has_button(msg, "• " + t("booking.part.morning", "ru"))
        assert not has_button(msg, "12:00") and not has_button(msg, t("booking.btn.next", "ru"))
        await user.press(t("booking.part.evening", "ru"))
        later = await user.wait_for_message(lambda m: has_button(m, "21:00"))
        assert not has_button(later, "10:00") and not has_button(later, "16:45")
        assert has_button(later, "17:00")
        await user.press(t("booking.part.morning", "ru"))
        await user.wait_for_message(lambda m: has_button(m, "10:00"))
        await user.press(back)
        await user.wait_for_message(t("booking.ask.date", "ru"))
        await user.press(back)
        await user.wait_for_message(t("booking.ask.specialist", "ru"))
        # The service step was skipped on the way in, so Back skips it too.
        await user.press(back)
        msg = await user.wait_for_message(t("booking.ask.location", "ru"))
        assert not has_button(msg, back)

        # And forward again to the summary, then Cancel: the hold is released, nothing booked.
        await user.press(n["location"])
        await user.wait_for_message(t("booking.ask.specialist", "ru"))
        await user.press(n["specialists"][1])
        await user.wait_for_message(t("booking.ask.date", "ru"))
        await user.press("03.03")
        await user.wait_for_message(t("booking.ask.time", "ru", zone=""))
        await user.press("11:00")
        summary = await user.wait_for_message(is_summary("ru"))
        assert n["specialists"][1] in (summary.text or "")
        assert await services.hold_of(client_id) is not None
        await user.press(t("booking.btn.cancel", "ru"))
        await user.wait_for_message(t("booking.cancelled", "ru"))
        assert await services.hold_of(client_id) is None

    assert await appointments_of(session_factory, client_id) == []


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_lost_race_offers_fresh_times(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await make_catalog(session_factory, specialists=1)
    alice, alice_id = await new_client(emulator, session_factory, 5005, lang=lang)
    bob, bob_id = await new_client(emulator, session_factory, 5006, lang=lang)

    async with booking_bot(make_bot_settings):
        await to_times(alice, lang)
        await to_times(bob, lang)
        await alice.press("10:00")
        await alice.wait_for_message(is_summary(lang))

        # Bob still sees 10:00 on his screen; Alice holds it now.
        await bob.press("10:00")
        msg = await bob.wait_for_message(t("booking.taken", lang))
        assert not has_button(msg, "10:00") and not has_button(msg, "10:45")
        assert has_button(msg, "11:00")

        await alice.press(t("booking.btn.confirm", lang))
        await alice.wait_for_message(booked(lang))
        await bob.press("11:00")
        await bob.wait_for_message(is_summary(lang))
        await bob.press(t("booking.btn.confirm", lang))
        await bob.wait_for_message(booked(lang))

    [a] = await appointments_of(session_factory, alice_id)
    [b] = await appointments_of(session_factory, bob_id)
    assert (a.start_time, b.start_time) == (TEN, ELEVEN)
    await assert_money_invariant(session_factory)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_a_refused_time_is_not_offered_again_and_every_loss_changes_the_screen(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hold refuses a time the day's listing still shows (a hold racing a commit, a cached
    day not yet refreshed): the time is not offered again, so a second loss is a new screen,
    not an identical edit Telegram drops while the client waits before the same button."""
    await make_catalog(session_factory, specialists=1)
    bob, _ = await new_client(emulator, session_factory, 5011, lang=lang)
    refused: list[int] = []

    async def refuse(self: BookingFlow, choice: TimeChoice, *, now: Any) -> None:
        refused.append(int(choice.start.timestamp()))
        raise TimeGone(LostReason.TAKEN)

    monkeypatch.setattr(BookingFlow, "pick_time", refuse)
    async with booking_bot(make_bot_settings):
        before = await to_times(bob, lang)
        assert has_button(before, "10:00") and has_button(before, "11:00")
        await bob.press("10:00")
        first = await bob.wait_for_message(t("booking.taken", lang))
        assert not has_button(first, "10:00") and has_button(first, "11:00")
        await bob.press("11:00")
        second = await bob.wait_for_message(t("booking.taken", lang))
        assert has_button(second, "10:00") and not has_button(second, "11:00")

    assert refused == [int(TEN.timestamp()), int(ELEVEN.timestamp())]


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_a_time_the_saved_screen_dropped_is_left_out_when_pressed_on_the_older_screen(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The conversation can be ahead of the screen: the times without a refused time were saved,
    then their edit never reached Telegram (here it fails; in production the instance died and
    the press came again to another one). Pressing the refused time on the screen still shown
    must change that screen, even while the time looks free, or the client waits before it."""
    await make_catalog(session_factory, specialists=1)
    bob, _ = await new_client(emulator, session_factory, 5012, lang=lang)

    async def refuse(self: BookingFlow, choice: TimeChoice, *, now: Any) -> None:
        raise TimeGone(LostReason.TAKEN)

    monkeypatch.setattr(BookingFlow, "pick_time", refuse)
    async with booking_bot(make_bot_settings):
        before = await to_times(bob, lang)
        emulator.fail_next("editMessageText", status=500, chat_id=bob.chat_id)
        await bob.press("10:00")
        await bob.wait_for_callback_answer()
        shown = emulator.message(bob.chat_id, before.message_id)
        assert shown is not None and has_button(shown, "10:00")  # the older screen stays

        await bob.press("10:00")
        again = await bob.wait_for_message(lambda m: m.message_id == before.message_id)
        assert not has_button(again, "10:00") and has_button(again, "11:00")
        answer = await bob.wait_for_callback_answer()
        assert answer.get("text") == t("booking.notice.invalid", lang)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_insufficient_funds_writes_nothing(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(
        emulator, session_factory, 5007, lang=lang, balance=Decimal("300")
    )

    async with booking_bot(make_bot_settings):
        summary = await to_summary(user, lang)
        short = t("booking.summary.short", lang, balance=rub(300, lang), missing=rub(700, lang))
        assert short.strip() in (summary.text or "")
        await user.press(t("booking.btn.confirm", lang))
        msg = await user.wait_for_message(
            t(
                "booking.insufficient",
                lang,
                price=rub(1000, lang),
                balance=rub(300, lang),
                missing=rub(700, lang),
            )
        )
        assert has_button(msg, t("booking.btn.wallet", lang))  # no Payments, no contact set
        # After a top-up, confirm again from here.
        assert has_button(msg, t("booking.btn.confirm", lang))

    assert await appointments_of(session_factory, client_id) == []
    balance, ledger = await wallet_of(session_factory, client_id)
    assert balance == Decimal("300.00") and [r.kind for r in ledger] == ["topup"]
    await assert_money_invariant(session_factory)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_top_up_from_the_missing_money_screen_then_confirm(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """With Telegram Payments on, the missing-money screen tops up in place; the booking
    conversation waits on the same message, and Confirm books once the money is there."""
    await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(
        emulator, session_factory, 5011, lang=lang, balance=Decimal("300")
    )

    async with booking_bot(make_bot_settings, payment_provider_token=PROVIDER):
        await to_summary(user, lang)
        await user.press(t("booking.btn.confirm", lang))
        short = await user.wait_for_message(
            t(
                "booking.insufficient",
                lang,
                price=rub(1000, lang),
                balance=rub(300, lang),
                missing=rub(700, lang),
            )
        )
        # /wallet keeps the booking open (the bot sent the client there).
        await user.send("/wallet")
        await user.wait_for_message(edits=False)
        await user.press(t("account.btn.topup", lang))
        await user.wait_for_message(t("account.wallet.choose_amount", lang))
        await user.press(rub(1000, lang))
        invoice = await user.wait_for_message(lambda m: m.invoice is not None)
        await user.pay(invoice, charge_id=f"charge-{lang}")
        await user.wait_for_message(
            t("account.payment.done", lang, amount=rub(1000, lang), balance=rub(1300, lang))
        )

        await user.press_data(
            button_data(short, t("booking.btn.confirm", lang)), message_id=short.message_id
        )
        await user.wait_for_message(booked(lang))

    [appointment] = await appointments_of(session_factory, client_id)
    assert appointment.start_time == TEN
    balance, _ = await wallet_of(session_factory, client_id)
    assert balance == Decimal("300.00")
    await assert_money_invariant(session_factory)


async def test_expired_hold_still_books_a_free_time(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(emulator, session_factory, 5008)

    async with booking_bot(make_bot_settings) as app:
        services = Services(app)
        await to_summary(user, "ru")
        await services.holds.release(client_id)  # the hold expires
        assert await services.hold_of(client_id) is None
        await user.press("Подтвердить")
        await user.wait_for_message("Вы записаны")

    [appointment] = await appointments_of(session_factory, client_id)
    assert appointment.start_time == TEN
    await assert_money_invariant(session_factory)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_expired_hold_and_time_taken_reoffers(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await make_catalog(session_factory, specialists=1)
    alice, alice_id = await new_client(emulator, session_factory, 5009, lang=lang)
    bob, bob_id = await new_client(emulator, session_factory, 5010, lang=lang)

    async with booking_bot(make_bot_settings) as app:
        services = Services(app)
        await to_summary(alice, lang)
        await services.holds.release(alice_id)  # Alice's hold expires...
        await to_summary(bob, lang)  # ...and Bob takes the time

        await alice.press(t("booking.btn.confirm", lang))
        msg = await alice.wait_for_message(t("booking.hold_expired", lang))
        assert not has_button(msg, "10:00") and has_button(msg, "11:00")
        await bob.press(t("booking.btn.confirm", lang))
        await bob.wait_for_message(booked(lang))

    assert await appointments_of(session_factory, alice_id) == []
    [b] = await appointments_of(session_factory, bob_id)
    assert b.start_time == TEN
    balance, _ = await wallet_of(session_factory, alice_id)
    assert balance == Decimal("5000.00")
    await assert_money_invariant(session_factory)


async def test_double_confirm_books_once(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(emulator, session_factory, 5011)

    async with booking_bot(make_bot_settings):
        summary = await to_summary(user, "ru")
        confirm = summary.find_button("Подтвердить")
        assert confirm is not None
        # Two presses before the first is answered (a double tap).
        await user.press_data(confirm["callback_data"], message_id=summary.message_id)
        first = user.last_query_id
        await user.press_data(confirm["callback_data"], message_id=summary.message_id)
        second = user.last_query_id
        await user.wait_for_callback_answer(first)
        card = emulator.message(user.chat_id, summary.message_id)
        assert card is not None
        booked = (card.text, card.button_texts())
        assert booked[1] == [
            t("booking.btn.calendar", "ru"),
            t("booking.btn.cancel_appointment", "ru"),
        ]
        late = await user.wait_for_callback_answer(second)
        # The second press keeps the "you are booked" card and its buttons.
        assert late.get("text") is None
        again = emulator.message(user.chat_id, summary.message_id)
        assert again is not None and (again.text, again.button_texts()) == booked

    [appointment] = await appointments_of(session_factory, client_id)
    balance, ledger = await wallet_of(session_factory, client_id)
    assert balance == Decimal("4000.00")
    assert [r.kind for r in ledger] == ["topup", "debit"]
    assert ledger[1].appointment_id == appointment.id
    await assert_money_invariant(session_factory)


async def test_discount_is_shown_and_charged(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(emulator, session_factory, 5012, lang="en")
    async with session_factory() as s, s.begin():
        await s.execute(
            update(Client).where(Client.id == client_id).values(discount_percent=Decimal("10"))
        )

    async with booking_bot(make_bot_settings):
        summary = await to_summary(user, "en")
        text = summary.text or ""
        assert f"Price: {rub(1000, 'en')}" in text
        assert (
            t(
                "booking.summary.discount",
                "en",
                percent="10",
                discount=rub(100, "en"),
                amount=rub(900, "en"),
            ).strip()
            in text
        )
        assert rub(4100, "en") in text  # balance after
        await user.press("Confirm")
        done = await user.wait_for_message("You are booked")
        assert rub(900, "en") in (done.text or "")

    [appointment] = await appointments_of(session_factory, client_id)
    assert (appointment.price, appointment.discount) == (Decimal("1000.00"), Decimal("100.00"))
    balance, ledger = await wallet_of(session_factory, client_id)
    assert balance == Decimal("4100.00")
    assert (ledger[-1].amount, ledger[-1].discount) == (Decimal("-900.00"), Decimal("100.00"))
    await assert_money_invariant(session_factory)
