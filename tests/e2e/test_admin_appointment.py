"""The admin's appointment card through the real bot and the emulator, in Russian and English:
a button or a typed answer for an appointment that changed meanwhile (cancelled by the client)
changes nothing and shows the appointment as it is now, and the money moves once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import formats
from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.emulator.types import EmuMessage
from bot.emulator.users import SimUser
from bot.keyboards.admin import AdminApptCb, AdminWorkplaceCb, ApptAction
from bot.services.booking import Actor, AppointmentView, BookingService
from db.models import Appointment
from tests.e2e.booking_support import NOW, booking_bot, t, wallet_of
from tests.e2e.test_admin import set_client
from tests.e2e.test_admin_desk import owner
from tests.integration.admin_support import database_fingerprint
from tests.integration.factories import Catalog, booking_request, make_catalog, make_client

pytestmark = pytest.mark.usefixtures("clean_db", "redis")


async def open_card(admin: SimUser, lang: str, location: str, client: str) -> EmuMessage:
    """The appointment's card from the day view of 04.03."""
    await admin.send(f"/day 04.03 {location}")
    await admin.wait_for_message(client)
    await admin.press(client)
    return await admin.wait_for_message(
        lambda m: m.find_button(t("admin.btn.move", lang)) is not None
    )


async def admin_and_boris(
    emulator: BotAPIEmulator,
    session_factory: async_sessionmaker[AsyncSession],
    lang: str,
    *,
    workplaces: int = 1,
    **client: str,
) -> tuple[Catalog, SimUser, int]:
    """A catalog, the owner as the admin in `lang`, and the client "Boris" (with the `client`
    fields set too) with 1000 in the wallet: (catalog, admin, Boris's client id)."""
    cat = await make_catalog(session_factory, workplaces=workplaces)
    admin = await owner(emulator, session_factory, lang)
    boris = await make_client(session_factory, balance=Decimal("1000"))
    await set_client(session_factory, boris, first_name="Boris", **client)
    return cat, admin, boris


async def ask_to_move(
    admin: SimUser, lang: str, booking: BookingService, cat: Catalog, boris: int
) -> AppointmentView:
    """Boris booked, his card opened by the admin and Move pressed: the bot asks for the time."""
    view = await booking.confirm(booking_request(cat, boris), now=NOW)
    await open_card(admin, lang, view.location_name, "Boris")
    await admin.press(t("admin.btn.move", lang))
    await admin.wait_for_message(t("admin.move.ask", lang))
    return view


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_stale_appointment_buttons_and_answers_show_it_as_it_is(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    lang: str,
) -> None:
    cat, admin, boris = await admin_and_boris(emulator, session_factory, lang, workplaces=2)
    already = t("admin.appt.already_cancelled", lang)
    async with booking_bot(make_bot_settings) as app:
        booking: BookingService = app.services.booking
        view: AppointmentView = await booking.confirm(booking_request(cat, boris), now=NOW)
        client = Actor(kind="client", id=boris)

        # A typed reason after the client cancelled meanwhile: one refund, the card as it is.
        first = await open_card(admin, lang, view.location_name, "Boris")
        await admin.press(t("account.btn.cancel", lang))
        await admin.wait_for_message(t("admin.cancel.ask_reason", lang))
        await booking.cancel(view.id, actor=client, now=NOW)
        await admin.send("the salon is closed")
        card = await admin.wait_for_message(already)
        assert t("account.status.cancelled", lang) in (card.text or "")
        assert card.find_button(t("account.btn.cancel", lang)) is None
        assert card.find_button(t("admin.btn.move", lang)) is None

        # Every old button of the first card: told, nothing changes, the card redrawn as it is.
        before = await database_fingerprint(session_factory)
        old = first.message_id
        pressed = [
            AdminApptCb(action=action, appointment_id=view.id)
            for action in (
                ApptAction.cancel,
                ApptAction.move,
                ApptAction.workplace,
                ApptAction.completed,
                ApptAction.no_show,
            )
        ]
        pressed.append(AdminWorkplaceCb(appointment_id=view.id, workplace_id=cat.workplace_ids[1]))
        for data in pressed:
            await admin.press_data(data.pack(), message_id=old)
            answer = await admin.wait_for_callback_answer()
            assert answer.get("text") == already, data.pack()
        redrawn = emulator.message(admin.chat_id, old)
        assert redrawn is not None and (redrawn.text or "").startswith(already)
        assert t("account.status.cancelled", lang) in (redrawn.text or "")
        assert redrawn.find_button(t("account.btn.cancel", lang)) is None
        assert redrawn.find_button(t("admin.btn.move", lang)) is None
        assert await database_fingerprint(session_factory) == before

    balance, ledger = await wallet_of(session_factory, boris)
    assert balance == Decimal("1000.00")
    assert [r.kind for r in ledger] == ["topup", "debit", "refund"]


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_a_move_typed_after_the_client_cancelled_moves_nothing(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    lang: str,
) -> None:
    cat, admin, boris = await admin_and_boris(emulator, session_factory, lang)
    async with booking_bot(make_bot_settings) as app:
        booking: BookingService = app.services.booking
        view = await ask_to_move(admin, lang, booking, cat, boris)
        await booking.cancel(view.id, actor=Actor(kind="client", id=boris), now=NOW)
        before = await database_fingerprint(session_factory)
        await admin.send("04.03 14:00")
        card = await admin.wait_for_message(t("admin.appt.already_cancelled", lang))
        assert t("account.status.cancelled", lang) in (card.text or "")
        assert await database_fingerprint(session_factory) == before


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_a_wrong_move_names_the_time_or_the_date_and_asks_again(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    lang: str,
) -> None:
    cat, admin, boris = await admin_and_boris(emulator, session_factory, lang)
    ask = t("admin.move.ask", lang)
    async with booking_bot(make_bot_settings) as app:
        booking: BookingService = app.services.booking
        view = await ask_to_move(admin, lang, booking, cat, boris)
        before = await database_fingerprint(session_factory)
        # A wrong time gets the move's own form (not the opening hours' HH:MM-HH:MM).
        for typed in ("04.03 24:00", "04.03 10:60", "04.03"):
            await admin.send(typed)
            reply = await admin.wait_for_message(t("admin.move.time_format", lang))
            assert reply.text == t("admin.move.time_format", lang)
        await admin.send("31.02 10:00")
        reply = await admin.wait_for_message(ask)
        assert reply.text == f"{t('admin.input.date_format', lang)}\n{ask}"
        # A date beyond the booking horizon is told so, with the horizon in days.
        await admin.send("04.03.2099 10:00")
        far = formats.day(date(2099, 3, 4), lang, today=NOW.date())
        await admin.wait_for_message(
            t("admin.move.horizon", lang, date=far, days=app.settings.booking_horizon_days)
        )
        assert await database_fingerprint(session_factory) == before
        await admin.send("04.03 14:00")
        await admin.wait_for_message(lambda m: "14:00" in (m.text or "") and ask not in m.text)
    async with session_factory() as s:
        moved = await s.get(Appointment, view.id)
        assert moved is not None
        assert moved.start_time == datetime(2031, 3, 4, 11, 0, tzinfo=UTC)
    balance, ledger = await wallet_of(session_factory, boris)
    assert balance == sum(r.amount for r in ledger)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_the_card_names_the_client_and_back_returns_to_it(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    lang: str,
) -> None:
    cat, admin, boris = await admin_and_boris(
        emulator, session_factory, lang, username="boris_k", phone="+79160000007"
    )
    who = t("admin.card.title", lang, name="Boris · @boris_k · +79160000007")
    async with booking_bot(make_bot_settings) as app:
        booking: BookingService = app.services.booking
        view = await booking.confirm(booking_request(cat, boris), now=NOW)
        card = await open_card(admin, lang, view.location_name, "Boris")
        assert (card.text or "").startswith(who)

        await admin.press(t("admin.btn.client_card", lang))
        client_card = t("admin.card.title", lang, name="Boris")
        opened = await admin.wait_for_message(lambda m: (m.text or "").startswith(client_card))
        # The upcoming appointment: Tuesday 4 March 2031, 07:00 UTC = 10:00 in Moscow.
        tuesday = {"ru": "вт, 4 мар. 10:00 ", "en": "Tue 4 Mar 10:00 "}[lang]
        assert f"\n{tuesday}{view.service_name} · " in (opened.text or "")
        # An action on that card keeps where Back goes.
        await admin.press(t("admin.btn.block", lang))
        await admin.wait_for_message(t("admin.card.blocked", lang))
        await admin.press(t("admin.btn.back", lang))
        back = await admin.wait_for_message(lambda m: (m.text or "").startswith(who))
        assert back.message_id == card.message_id
        assert back.find_button(t("admin.btn.move", lang)) is not None

        # Opened from the clients list, the same card's Back goes to the list.
        await admin.send("/client @boris_k")
        await admin.wait_for_message(lambda m: (m.text or "").startswith(client_card))
        await admin.press(t("admin.btn.back", lang))
        await admin.wait_for_message(t("admin.clients.title_card", lang))
