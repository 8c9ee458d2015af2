"""Reschedule from /my end to end: dates `DD.MM`, times `HH:MM`, the price difference explained
and settled in the ledger, a lost race (fresh times, nothing moved), too late (clear refusal),
and not enough money for the extra charge (nothing written)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.errors import SlotTaken
from bot.emulator.server import BotAPIEmulator, EmuMessage
from bot.emulator.users import SimUser
from bot.services.availability import AvailabilityService
from bot.services.booking import AppointmentView
from bot.services.reschedule_flow import RescheduleFlow
from bot.services.wallet import WalletService
from db.models import Service
from tests.e2e.account_support import (
    ZONE,
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
from tests.e2e.booking_support import (
    appointments_of,
    assert_money_invariant,
    button_data,
    new_client,
    wallet_of,
)
from tests.e2e.test_booking_flow import booked, to_summary
from tests.integration.factories import Catalog, make_catalog
from tests.money import rub

pytestmark = pytest.mark.usefixtures("clean_db", "redis")


async def open_reschedule(
    user: SimUser, view: AppointmentView, lang: str, *, command: bool = True
) -> EmuMessage:
    """/my (or, with `command=False`, a list already asked for) -> the appointment's card ->
    Reschedule: the dates screen."""
    await open_card(user, view, lang, command=command)
    await user.press(t("account.btn.reschedule", lang))
    return await user.wait_for_message(
        t(
            "account.resched.choose_date",
            lang,
            service=view.service_name,
            specialist=view.specialist_name,
            date=date_text(view.start, lang),
            time="10:00",
        )
    )


async def to_confirm(
    user: SimUser, view: AppointmentView, lang: str, day: datetime, time: str
) -> EmuMessage:
    return await _to_confirm(user, view, lang, day, time, command=True)


async def to_confirm_from_list(
    user: SimUser, view: AppointmentView, lang: str, day: datetime, time: str
) -> EmuMessage:
    """Like `to_confirm`, from a list the menu's "my appointments" asked for."""
    return await _to_confirm(user, view, lang, day, time, command=False)


async def _to_confirm(
    user: SimUser, view: AppointmentView, lang: str, day: datetime, time: str, *, command: bool
) -> EmuMessage:
    dates = await open_reschedule(user, view, lang, command=command)
    assert dates.find_button(ddmm(day)) is not None, dates
    await user.press(ddmm(day))
    chosen = date_text(day, lang)
    times = await user.wait_for_message(t("account.resched.choose_time", lang, date=chosen))
    times = await open_part(user, times, lang, time)
    await user.press(time)
    return await user.wait_for_message(
        lambda m: m.find_button(t("account.btn.reschedule_confirm", lang)) is not None
    )


def part_of(hhmm: str) -> str:
    """The part-of-day tab a time is under: before 12:00, before 17:00, later."""
    hour = int(hhmm[:2])
    return "morning" if hour < 12 else "afternoon" if hour < 17 else "evening"


async def open_part(user: SimUser, times: EmuMessage, lang: str, hhmm: str) -> EmuMessage:
    """The times screen showing `hhmm`: a day with many times shows one part of the day at a
    time, so press that part's tab first when it is not the one shown."""
    if hhmm in times.button_texts():
        return times
    await user.press(t(f"booking.part.{part_of(hhmm)}", lang))
    shown = await user.wait_for_message(lambda m: hhmm in m.button_texts())
    assert shown.message_id == times.message_id  # the same message, edited
    return shown


async def set_service_price(
    sessions: async_sessionmaker[AsyncSession], catalog: Catalog, price: Decimal
) -> None:
    async with sessions() as s, s.begin():
        await s.execute(update(Service).where(Service.id == catalog.service_id).values(price=price))


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_reschedule_happy_path(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6201, lang=lang)
    async with account_bot(make_bot_settings()) as app:
        view = await book(app, client_id, catalog, local(3, 10))
        new_day, new_start = local(4, 0), local(4, 12)

        confirm = await to_confirm(user, view, lang, new_day, "12:00")
        assert confirm.text == t(
            "account.resched.confirm",
            lang,
            service=view.service_name,
            specialist=view.specialist_name,
            old={"ru": "чт, 6 мар. 10:00", "en": "Thu 6 Mar 10:00"}[lang],
            new={"ru": "пт, 7 мар. 12:00", "en": "Fri 7 Mar 12:00"}[lang],
            price_note=t("account.resched.price_same", lang, price=rub(1000, lang)),
        )
        # "Move Haircut with Anna: Thu 6 Mar 10:00 → Fri 7 Mar 12:00?"
        await user.press(t("account.btn.reschedule_confirm", lang))
        done = await user.wait_for_message(t("account.resched.settled_same", lang))
        assert done.text == t(
            "account.resched.done",
            lang,
            date={"ru": "пт, 7 мар.", "en": "Fri 7 Mar"}[lang],
            time="12:00",
            price_note=t("account.resched.settled_same", lang),
            balance=rub(4000, lang),
        )
        row = await appointment(session_factory, view.id)
        assert (row.status, row.start_time, row.specialist_id) == (
            "booked",
            new_start,
            view.specialist_id,
        )
        assert await ledger_of(session_factory, client_id, "reschedule") == []
        assert (await wallet_of(session_factory, client_id))[0] == Decimal("4000")
        await assert_money_invariant(session_factory)


async def test_move_by_a_quarter_hour_overlapping_its_own_slot(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """10:00-11:00 -> 10:15: the appointment's own current time does not block its move."""
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6207, lang="en")
    async with account_bot(make_bot_settings()) as app:
        view = await book(app, client_id, catalog, local(3, 10))
        day = ddmm(view.start)
        dates = await open_reschedule(user, view, "en")
        assert dates.find_button(day) is not None
        await user.press(day)
        chosen = t("account.resched.choose_time", "en", date="Thu 6 Mar")
        times = await user.wait_for_message(chosen)
        offered = times.button_texts()
        assert "10:15" in offered and "10:45" in offered
        assert "10:00" not in offered  # where it already is
        await user.press("10:15")
        await user.wait_for_message(
            lambda m: m.find_button(t("account.btn.reschedule_confirm", "en")) is not None
        )
        await user.press(t("account.btn.reschedule_confirm", "en"))
        await user.wait_for_message(t("account.resched.settled_same", "en"))
        row = await appointment(session_factory, view.id)
        assert (row.status, row.start_time) == ("booked", local(3, 10, 15))
        assert (await wallet_of(session_factory, client_id))[0] == Decimal("4000")
        await assert_money_invariant(session_factory)


async def test_a_date_where_only_its_own_time_is_free_is_not_offered(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory, opens=time(10, 0), closes=time(11, 0))
    user, client_id = await new_client(emulator, session_factory, 6210, lang="en")
    async with account_bot(make_bot_settings()) as app:
        view = await book(app, client_id, catalog, local(3, 10))
        dates = await open_reschedule(user, view, "en")
        assert dates.find_button(ddmm(local(4, 0))) is not None
        assert dates.find_button(ddmm(view.start)) is None


async def test_a_command_ends_the_reschedule_flow(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6208, lang="en")
    async with account_bot(make_bot_settings()) as app:
        view = await book(app, client_id, catalog, local(3, 10))
        await open_reschedule(user, view, "en")
        await user.send("hello")
        assert (await user.wait_for_message(edits=False)).text == t(
            "account.hint.use_buttons", "en"
        )
        # A command of another feature (here a specialist's, refused to a client) ends the flow:
        # text afterwards is no longer taken for an answer to the dates screen.
        await user.send("/agenda")
        await user.wait_for_message(edits=False)
        await user.send("hello")
        assert (await user.wait_for_message(edits=False)).text == t("common.unknown_input", "en")
    assert (await appointment(session_factory, view.id)).start_time == view.start


async def test_reschedule_in_the_middle_of_a_booking_keeps_the_booking(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Moving one appointment from the menu while booking another: both go through."""
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6209, lang="en")
    async with account_bot(make_bot_settings()) as app:
        view = await book(app, client_id, catalog, local(3, 10))
        await user.send("/start")
        await user.wait_for_message()
        summary = await to_summary(user, "en")

        await user.press(t("menu.btn.my", "en"))  # the menu under the greeting
        confirm = await to_confirm_from_list(user, view, "en", local(4, 0), "12:00")
        await user.press_data(
            button_data(confirm, t("account.btn.reschedule_confirm", "en")),
            message_id=confirm.message_id,
        )
        await user.wait_for_message(t("account.resched.settled_same", "en"))

        await user.press_data(
            button_data(summary, t("booking.btn.confirm", "en")), message_id=summary.message_id
        )
        await user.wait_for_message(booked("en"))

    moved, new = await appointments_of(session_factory, client_id)
    assert (moved.id, moved.start_time) == (view.id, local(4, 12))
    assert new.start_time == local(0, 10)
    assert (await wallet_of(session_factory, client_id))[0] == Decimal("3000")
    await assert_money_invariant(session_factory)


@pytest.mark.parametrize(
    ("change", "new_charge", "note_key", "settled_key", "ledger", "balance"),
    [
        ("price", Decimal("1300"), "price_more", "settled_more", Decimal("-300"), Decimal("3700")),
        ("discount", Decimal("500"), "price_less", "settled_less", Decimal("500"), Decimal("4500")),
    ],
)
async def test_price_difference_is_explained_and_settled(
    change: str,
    new_charge: Decimal,
    note_key: str,
    settled_key: str,
    ledger: Decimal,
    balance: Decimal,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6202, lang="en")
    async with account_bot(make_bot_settings()) as app:
        view = await book(app, client_id, catalog, local(3, 10))
        if change == "price":
            await set_service_price(session_factory, catalog, new_charge)
            availability: AvailabilityService = app.services.availability
            await availability.invalidate()  # a catalog change moves the catalog's version
        else:
            wallet: WalletService = app.services.wallet
            await wallet.set_discount(client_id, 50)
        diff = rub(abs(ledger), "en")

        confirm = await to_confirm(user, view, "en", local(4, 0), "12:00")
        note = t(
            f"account.resched.{note_key}",
            "en",
            price=rub(new_charge, "en"),
            paid=rub(1000, "en"),
            diff=diff,
        )
        assert note in (confirm.text or "")
        await user.press(t("account.btn.reschedule_confirm", "en"))
        done = await user.wait_for_message(t("account.resched.done", "en").split(":")[0])
        assert t(f"account.resched.{settled_key}", "en", diff=diff) in (done.text or "")
        assert rub(balance, "en") in (done.text or "")

        settled = await ledger_of(session_factory, client_id, "reschedule")
        assert [(r.amount, r.appointment_id) for r in settled] == [(ledger, view.id)]
        row = await appointment(session_factory, view.id)
        assert row.start_time == local(4, 12)
        assert row.price - row.discount == new_charge
        assert (await wallet_of(session_factory, client_id))[0] == balance
        await assert_money_invariant(session_factory)


async def test_lost_race_shows_fresh_times_and_moves_nothing(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6203)
    _, rival_id = await new_client(emulator, session_factory, 6204)
    async with account_bot(make_bot_settings()) as app:
        view = await book(app, client_id, catalog, local(3, 10))
        await to_confirm(user, view, "ru", local(4, 0), "12:00")

        # Someone else books 12:00 with the same specialist while the client reads the summary.
        await book(app, rival_id, catalog, local(4, 12))
        await user.press(t("account.btn.reschedule_confirm", "ru"))
        fresh = await user.wait_for_message(t("account.resched.taken", "ru", date="пт, 7 мар."))
        # The fresh times open at the part of the day the client was choosing from.
        assert "• " + t("booking.part.afternoon", "ru") in fresh.button_texts()
        assert "12:00" not in fresh.button_texts()
        assert "14:00" in fresh.button_texts()

        row = await appointment(session_factory, view.id)
        assert (row.status, row.start_time) == ("booked", local(3, 10))
        assert await ledger_of(session_factory, client_id, "reschedule") == []
        assert (await wallet_of(session_factory, client_id))[0] == Decimal("4000")
        await assert_money_invariant(session_factory)


async def test_a_refused_time_is_not_offered_again(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The move refuses a time the day's listing still shows (a cached day not yet refreshed):
    the fresh times leave it out, as booking does, so the client is not sent back to it."""
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6210)

    async def refuse(self: RescheduleFlow, *args: object, **kwargs: object) -> None:
        raise SlotTaken()

    monkeypatch.setattr(RescheduleFlow, "move", refuse)
    async with account_bot(make_bot_settings()) as app:
        view = await book(app, client_id, catalog, local(3, 10))
        await to_confirm(user, view, "ru", local(4, 0), "12:00")
        await user.press(t("account.btn.reschedule_confirm", "ru"))
        fresh = await user.wait_for_message(t("account.resched.taken", "ru", date="пт, 7 мар."))
        assert "12:00" not in fresh.button_texts()
        assert "14:00" in fresh.button_texts()
        row = await appointment(session_factory, view.id)
        assert (row.status, row.start_time) == ("booked", local(3, 10))


async def test_too_late_is_refused_clearly(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6205, lang="en")
    async with account_bot(make_bot_settings(free_cancel_hours=100)) as app:
        view = await book(app, client_id, catalog, local(3, 10))  # ~73 h ahead
        card = await open_card(user, view, "en")
        # Past the free-cancel deadline the card offers no Reschedule at all; an old or forged
        # Reschedule button is still refused clearly.
        assert t("account.btn.reschedule", "en") not in card.button_texts()
        await user.press_data(f"appt:resched:{view.id}", message_id=card.message_id)
        refusal = t("account.resched.too_late", "en", hours=100, date="Thu 6 Mar", time="10:00")
        shown = await user.wait_for_message(refusal)
        # No dates are offered: the refusal comes before any choice.
        callbacks = [button.get("callback_data", "") for row in shown.buttons for button in row]
        assert not [c for c in callbacks if c.startswith("rsd:")], callbacks
        assert (await appointment(session_factory, view.id)).start_time == local(3, 10)


async def test_not_enough_money_for_the_extra_charge_writes_nothing(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(
        emulator, session_factory, 6206, lang="en", balance=Decimal("1000")
    )
    async with account_bot(make_bot_settings()) as app:
        view = await book(app, client_id, catalog, local(3, 10))
        await set_service_price(session_factory, catalog, Decimal("1300"))
        availability: AvailabilityService = app.services.availability
        await availability.invalidate()  # a catalog change moves the catalog's version

        await to_confirm(user, view, "en", local(4, 0), "12:00")
        await user.press(t("account.btn.reschedule_confirm", "en"))
        expected = t(
            "account.resched.insufficient",
            "en",
            price=rub(300, "en"),
            balance=rub(0, "en"),
            missing=rub(300, "en"),
        )
        await user.wait_for_message(expected)
        row = await appointment(session_factory, view.id)
        assert (row.start_time, row.price) == (local(3, 10), Decimal("1000.00"))
        assert await ledger_of(session_factory, client_id, "reschedule") == []
        assert (await wallet_of(session_factory, client_id))[0] == Decimal("0")
        await assert_money_invariant(session_factory)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_reschedule_dates_look_like_booking_weekdays_and_pages(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The same date picker as /book: `DD.MM` with the weekday, no past dates, 12 to a page."""
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6231, lang=lang)
    async with account_bot(make_bot_settings()) as app:
        view = await book(app, client_id, catalog, local(3, 10))
        dates = await open_reschedule(user, view, lang)
        today = local(0, 12)
        first = today.astimezone(ZONE).date()
        weekday = t(f"booking.weekday.{first.isoweekday()}", lang)
        labels = dates.button_texts()
        assert labels[0] == f"{ddmm(today)} {weekday}"  # today first: nothing in the past
        assert ddmm(local(-1, 12)) not in " ".join(labels)
        assert ddmm(local(12, 12)) not in " ".join(labels)  # the 13th date is on page 2
        await user.press(t("booking.btn.next", lang))
        later = await user.wait_for_message(
            lambda m: ddmm(local(12, 12)) in " ".join(m.button_texts())
        )
        assert later.message_id == dates.message_id
        assert t("booking.btn.prev", lang) in later.button_texts()


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_reschedule_times_are_grouped_by_part_of_day_as_in_booking(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A day with many free times: one part of the day at a time, the parts as tabs above (the
    /book time picker's keyboard), no pages of 15-minute buttons; a tab edits the same
    message, and a time from another part moves the appointment there."""
    catalog = await make_catalog(session_factory)
    user, client_id = await new_client(emulator, session_factory, 6241, lang=lang)
    async with account_bot(make_bot_settings()) as app:
        view = await book(app, client_id, catalog, local(3, 10))
        await open_reschedule(user, view, lang)
        await user.press(ddmm(local(4, 0)))
        friday = {"ru": "пт, 7 мар.", "en": "Fri 7 Mar"}[lang]
        times = await user.wait_for_message(t("account.resched.choose_time", lang, date=friday))
        labels = times.button_texts()
        morning, evening = t("booking.part.morning", lang), t("booking.part.evening", lang)
        assert "• " + morning in labels and evening in labels
        assert "10:00" in labels and "12:00" not in labels and "17:00" not in labels
        assert t("booking.btn.next", lang) not in labels
        assert t("account.btn.other_date", lang) in labels

        await user.press(evening)
        later = await user.wait_for_message(lambda m: "17:00" in m.button_texts())
        assert later.message_id == times.message_id
        assert "• " + evening in later.button_texts()
        assert "10:00" not in later.button_texts() and "16:45" not in later.button_texts()
        await user.press("17:00")
        await user.wait_for_message(
            lambda m: m.find_button(t("account.btn.reschedule_confirm", lang)) is not None
        )
        await user.press(t("account.btn.reschedule_confirm", lang))
        await user.wait_for_message(t("account.resched.done", lang).split(":")[0])
        assert (await appointment(session_factory, view.id)).start_time == local(4, 17)
        await assert_money_invariant(session_factory)
