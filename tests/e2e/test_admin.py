"""The admin area through the real bot and the Bot API emulator, in Russian and English: the
shortcuts, the /admin menu, the specialist invite link, and the authorization sweep (every admin
command and every admin button shape refused for a client and a specialist, no row changed)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from aiogram import Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import bot.handlers  # noqa: F401  (imports every CallbackData factory)
from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.handlers import setup_routers
from bot.handlers.admin_only import is_admin_router
from bot.keyboards.admin import DayKind
from bot.keyboards.catalog_edit import AdmCatalogFieldCb, CatKind
from bot.keyboards.catalog_file import HolidayLocationCb
from bot.services.booking import BookingService
from db.models import Admin, Appointment, Client, Location, Specialist
from tests.e2e.booking_support import (
    NOW,
    appointments_of,
    booked,
    booking_bot,
    new_client,
    t,
    wallet_of,
)
from tests.e2e.test_booking_flow import to_summary
from tests.integration.admin_support import database_fingerprint
from tests.integration.factories import (
    START,
    booking_request,
    make_catalog,
    make_client,
)
from tests.money import rub

ADMIN_TG = 1  # in ADMIN_IDS of the test bot
CLIENT_TG = 700_500_001
SPECIALIST_TG = 900_500_001
SECOND_ADMIN_TG = 555_500_001


async def set_client(
    sessions: async_sessionmaker[AsyncSession], client_id: int, **values: object
) -> None:
    async with sessions() as s, s.begin():
        row = await s.get(Client, client_id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_money_shortcuts_and_the_client_card(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    clean_db: object,
    lang: str,
) -> None:
    admin_id = await make_client(session_factory, tg_id=ADMIN_TG)
    await set_client(session_factory, admin_id, language=lang)
    anna = await make_client(session_factory, balance=Decimal("100"))
    await set_client(
        session_factory, anna, first_name="Anna", username="anna_p", phone="+79161234567"
    )
    admin = emulator.user(ADMIN_TG, "Owner", language_code=lang)

    async with booking_bot(make_bot_settings):
        await admin.send("/topup @anna_p 1500 cash")
        await admin.wait_for_message(
            t(
                "admin.topup.done",
                lang,
                amount="+" + rub(1500, lang),
                client="Anna",
                balance=rub(1600, lang),
            )
        )

        await admin.send("/adjust @anna_p -200")  # the comment is required
        await admin.wait_for_message(t("admin.usage.adjust", lang))

        await admin.send("/adjust 89161234567 -5000 typo")
        await admin.wait_for_message(
            t("admin.adjust.insufficient", lang, balance=rub(1600, lang), amount=rub(-5000, lang))
        )

        await admin.send("/adjust +79161234567 -100.5 till error")
        await admin.wait_for_message(
            t(
                "admin.adjust.done",
                lang,
                amount=rub("-100.50", lang),
                client="Anna",
                balance=rub("1499.50", lang),
            )
        )

        await admin.send("/topup @anna_p 1.005")
        await admin.wait_for_message(t("admin.input.amount_decimals", lang))
        await admin.send("/topup @anna_p 2000000")
        await admin.wait_for_message(t("admin.input.amount_too_large", lang, limit="1 000 000"))
        await admin.send("/topup")
        await admin.wait_for_message(t("admin.usage.topup", lang))
        await admin.send("/topup @nobody 10")
        await admin.wait_for_message(t("admin.clients.none", lang, query="@nobody"))

        await admin.send("/discount Anna 150")
        await admin.wait_for_message(t("admin.input.percent_range", lang))
        await admin.send("/discount Anna 15")
        await admin.wait_for_message(t("admin.discount.done", lang, client="Anna", percent="15"))

        await admin.send("/client anna")
        card = await admin.wait_for_message(t("admin.card.title", lang, name="Anna"))
        assert rub("1499.50", lang) in (card.text or "") and "15%" in (card.text or "")

        await admin.press(t("admin.btn.block", lang))
        blocked = await admin.wait_for_message(t("admin.card.blocked", lang))
        assert blocked.find_button(t("admin.btn.unblock", lang)) is not None
        await admin.press(t("admin.btn.close", lang))
        await admin.wait_for_message(t("admin.closed", lang))

    balance, ledger = await wallet_of(session_factory, anna)
    assert balance == Decimal("1499.50")
    assert [(r.kind, r.amount) for r in ledger] == [
        ("topup", Decimal("100.00")),
        ("topup", Decimal("1500.00")),
        ("adjustment", Decimal("-100.50")),
    ]
    async with session_factory() as s:
        row = await s.get(Client, anna)
        assert row is not None and row.is_blocked and row.discount_percent == Decimal("15")


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_invite_link_links_a_specialist_once(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    clean_db: object,
    lang: str,
) -> None:
    cat = await make_catalog(session_factory, specialist_tg_ids=False)
    admin_id = await make_client(session_factory, tg_id=ADMIN_TG)
    await set_client(session_factory, admin_id, language=lang)
    admin = emulator.user(ADMIN_TG, "Owner", language_code=lang)
    newcomer = emulator.user(SPECIALIST_TG, "Maria", language_code=lang)
    stranger = emulator.user(SPECIALIST_TG + 1, "Eve", language_code=lang)

    async with booking_bot(make_bot_settings) as app:
        async with session_factory() as s:
            specialist = await s.get(Specialist, cat.specialist_ids[0])
            assert specialist is not None
            name = specialist.name
        await admin.send(f"/invite {name}")
        link = await admin.wait_for_message("https://t.me/booking_test_bot?start=spec_")
        token = re.search(r"start=(spec_[A-Za-z0-9_-]+)", link.text or "")
        assert token is not None

        await newcomer.send(f"/start {token.group(1)}")
        await newcomer.wait_for_message(t("spec.invite.ok", lang, name=name))
        await stranger.send(f"/start {token.group(1)}")
        await stranger.wait_for_message(t("spec.invite.used", lang))
        await stranger.send("/start spec_forgedforgedforgedforged")
        await stranger.wait_for_message(t("spec.invite.forged", lang))

        await newcomer.send("/agenda")
        await newcomer.wait_for_message(lambda m: "spec.invite" not in (m.text or ""))
        await newcomer.send("/help")  # a specialist's help names /agenda
        await newcomer.wait_for_message(t("help.specialist", lang))
        assert app is not None
    async with session_factory() as s:
        linked = await s.get(Specialist, cat.specialist_ids[0])
        assert linked is not None and linked.tg_id == SPECIALIST_TG


SAMPLE_TEXT = ("abcd1234", "month", "name", "x")  # a flow token, a period, a field, anything


def gated_routers() -> list[Router]:
    """Every router behind the admin gate, nested ones included (they inherit the gate)."""
    root = setup_routers()
    gated = [r for r in root.chain_tail if is_admin_router(r)]
    return [sub for r in gated for sub in r.chain_tail]


def admin_factories() -> set[type[CallbackData]]:
    """The callback data factories the gated routers' buttons are parsed with."""
    return {
        f.callback.callback_data
        for router in gated_routers()
        for handler in router.callback_query.handlers
        for f in handler.filters or ()
        if isinstance(f.callback, CallbackQueryFilter)
    }


def admin_commands() -> set[str]:
    """Every command the gated routers take."""
    return {
        str(command)
        for router in gated_routers()
        for handler in router.message.handlers
        for f in handler.filters or ()
        if isinstance(f.callback, Command)
        for command in f.callback.commands
    }


def all_factories() -> set[type[CallbackData]]:
    found: set[type[CallbackData]] = set()
    todo = list(CallbackData.__subclasses__())
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo += cls.__subclasses__()
    return found


def field_values(cls: type[CallbackData], name: str, ids: dict[str, int]) -> list[Any]:
    """Values of one field: every member of an enum, both booleans, a real id of this world
    for an id, a day of this world for a date, and a valid sample for text."""
    annotation = cls.model_fields[name].annotation
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return list(annotation)
    if annotation is bool:
        return [True, False]
    if annotation is int:
        return [ids.get(name, 0 if name == "page" else 1)]
    if annotation is date:
        return [START.date()]
    candidates = [START.strftime("%Y%m%d"), *SAMPLE_TEXT]
    for value in candidates:
        try:
            cls.model_validate({name: value})
        except ValidationError as exc:
            if any(e["loc"] == (name,) for e in exc.errors()):
                continue
        return [value]
    raise AssertionError(f"no sample for {cls.__name__}.{name}")


def samples(cls: type[CallbackData], ids: dict[str, int]) -> list[CallbackData]:
    """Every combination of the field values above that packs and parses back."""
    names = list(cls.model_fields)
    made = []
    for combo in itertools.product(*(field_values(cls, n, ids) for n in names)):
        values = dict(zip(names, combo, strict=True))
        if names and "target_id" in values and "kind" in values:
            values["target_id"] = ids["loc" if values["kind"] is DayKind.location else "spec"]
        data = cls(**values)
        assert type(data).unpack(data.pack()) == data
        made.append(data)
    return made


ADMIN_KEYBOARD_MODULES = (
    "bot.keyboards.admin",
    "bot.keyboards.stats",
    "bot.keyboards.catalog_file",
    "bot.keyboards.catalog_edit",
)


def test_the_sweep_finds_every_admin_button_and_command_by_itself() -> None:
    """Enumerated from the routers: a factory or command added to an admin router is swept
    without touching this test; one defined for the admin area but served outside the gate
    fails here."""
    factories = admin_factories()
    defined = {
        cls
        for cls in all_factories()
        if cls.__module__ in ADMIN_KEYBOARD_MODULES or cls.__prefix__.startswith("adm")
    }
    assert defined <= factories, defined - factories
    assert {"admin", "client", "topup", "adjust", "discount", "invite", "day", "addadmin"} | {
        "stats"
    } <= admin_commands()
    ids = {"client_id": 1, "appointment_id": 1, "specialist_id": 1, "location_id": 1}
    ids |= {"tg_id": 1, "loc": 1, "spec": 1}
    assert all(samples(cls, ids) for cls in factories)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_clients_and_specialists_are_refused_every_admin_command_and_button(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    clean_db: object,
    lang: str,
) -> None:
    cat = await make_catalog(session_factory)
    client_id = await make_client(session_factory, balance=Decimal("5000"), tg_id=CLIENT_TG)
    await set_client(session_factory, client_id, language=lang)
    async with session_factory() as s, s.begin():
        spec = await s.get(Specialist, cat.specialist_ids[0])
        assert spec is not None
        spec.tg_id = SPECIALIST_TG
        s.add(Admin(tg_id=SECOND_ADMIN_TG, added_by=ADMIN_TG))
    users = [
        emulator.user(CLIENT_TG, "Client", language_code=lang),
        emulator.user(SPECIALIST_TG, "Specialist", language_code=lang),
    ]
    denied = t("admin.denied", lang)
    async with booking_bot(make_bot_settings) as app:
        booking: BookingService = app.services.booking
        view = await booking.confirm(booking_request(cat, client_id), now=NOW)
        ids = {
            "client_id": client_id,
            "appointment_id": view.id,
            "specialist_id": cat.specialist_ids[0],
            "location_id": cat.location_id,
            "tg_id": SECOND_ADMIN_TG,
            "loc": cat.location_id,
            "spec": cat.specialist_ids[0],
        }
        for user in users:
            await user.send("/start")
            await user.wait_for_message()
        before = await database_fingerprint(session_factory)
        sent = 0
        for user in users:
            for command in sorted(admin_commands()):
                await user.send(f"/{command} @anybody 100 note")
                assert (await user.wait_for_message()).text == denied, (user.id, command)
            await user.send_document("catalog.yaml", b"locations: []\n")
            assert (await user.wait_for_message()).text == denied, (user.id, "document")
            for factory in sorted(admin_factories(), key=lambda f: f.__prefix__):
                for data in samples(factory, ids):
                    await user.press_data(data.pack())
                    answer = await user.wait_for_callback_answer()
                    assert answer.get("text") == denied, (user.id, data.pack())
                    sent += 1
        assert sent >= 2 * 30
        assert await database_fingerprint(session_factory) == before


async def test_a_removed_admin_pressing_an_old_button_is_refused(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    clean_db: object,
) -> None:
    await make_client(session_factory, tg_id=ADMIN_TG)
    await make_client(session_factory, tg_id=SECOND_ADMIN_TG)
    owner = emulator.user(ADMIN_TG, "Owner", language_code="en")
    helper = emulator.user(SECOND_ADMIN_TG, "Helper", language_code="en")
    async with booking_bot(make_bot_settings):
        await owner.send(f"/addadmin {SECOND_ADMIN_TG}")
        await owner.wait_for_message(t("admin.admins.done_add", "ru", tg_id=SECOND_ADMIN_TG))
        await helper.send("/admin")
        await helper.wait_for_message(t("admin.menu.title", "ru"))

        await owner.send("/admin")
        await owner.wait_for_message(t("admin.menu.title", "ru"))
        await owner.press(t("admin.menu.admins", "ru"))
        await owner.wait_for_message(str(SECOND_ADMIN_TG))
        # The button names the admin (a client of the bot) with their id.
        await owner.press(str(SECOND_ADMIN_TG))
        answer = await owner.wait_for_callback_answer()
        assert answer.get("text") == t("admin.admins.done_remove", "ru", tg_id=SECOND_ADMIN_TG)

        before = await database_fingerprint(session_factory)
        await helper.press(t("admin.menu.audit", "ru"))
        answer = await helper.wait_for_callback_answer()
        assert answer.get("text") == t("admin.denied", "ru")
        await helper.send("/topup 1 100")
        await helper.wait_for_message(t("admin.denied", "ru"))
        assert await database_fingerprint(session_factory) == before


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_day_view_and_admin_cancel_with_a_reason(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    clean_db: object,
    lang: str,
) -> None:
    cat = await make_catalog(session_factory)
    admin_id = await make_client(session_factory, tg_id=ADMIN_TG)
    await set_client(session_factory, admin_id, language=lang)
    client_id = await make_client(session_factory, balance=Decimal("1000"))
    await set_client(session_factory, client_id, first_name="Boris")
    admin = emulator.user(ADMIN_TG, "Owner", language_code=lang)
    async with booking_bot(make_bot_settings) as app:
        booking: BookingService = app.services.booking
        view = await booking.confirm(booking_request(cat, client_id), now=NOW)
        await admin.send("/day 04.03")
        await admin.wait_for_message(t("admin.day.pick_loc", lang, date="04.03.2031"))
        await admin.press(
            cat_location_name := await location_name(session_factory, cat.location_id)
        )
        day = await admin.wait_for_message("Boris")
        assert cat_location_name in (day.text or "")
        await admin.press("Boris")
        await admin.wait_for_message(
            lambda m: m.find_button(t("account.btn.cancel", lang)) is not None
        )
        await admin.press(t("admin.btn.move", lang))
        await admin.wait_for_message(t("admin.move.ask", lang))
        await admin.send("31.02 10:00")
        await admin.wait_for_message(t("admin.input.date_format", lang))
        await admin.send("04.03 14:00")
        tuesday = {"ru": "вт, 4 мар.", "en": "Tue 4 Mar"}[lang]
        moved = await admin.wait_for_message(lambda m: f"{tuesday} 14:00" in (m.text or ""))
        assert moved.text == t(
            "admin.move.done",
            lang,
            date=tuesday,
            time="14:00",
            specialist=view.specialist_name,
            workplace=view.workplace_name,
        )
        await admin.press(t("account.btn.cancel", lang))
        await admin.wait_for_message(t("admin.cancel.ask_reason", lang))
        await admin.send("x" * 201)
        await admin.wait_for_message(t("admin.input.text_too_long", lang, limit=200))
        await admin.press(t("account.btn.cancel", lang))
        await admin.wait_for_message(t("admin.cancel.ask_reason", lang))
        await admin.send("   ")
        await admin.wait_for_message(t("admin.input.reason_empty", lang))
        await admin.press(t("account.btn.cancel", lang))
        await admin.wait_for_message(t("admin.cancel.ask_reason", lang))
        await admin.send("the salon is closed <today>")
        await admin.wait_for_message(t("admin.cancel.done", lang, refund=rub(1000, lang)))
    balance, ledger = await wallet_of(session_factory, client_id)
    assert balance == Decimal("1000.00")
    assert [r.kind for r in ledger] == ["topup", "debit", "refund"]
    async with session_factory() as s:
        moved_row = await s.get(Appointment, view.id)
        assert moved_row is not None and moved_row.status == "cancelled"
        assert moved_row.start_time == START + timedelta(hours=4)


async def location_name(sessions: async_sessionmaker[AsyncSession], location_id: int) -> str:
    async with sessions() as s:
        row = await s.get(Location, location_id)
        assert row is not None
        return row.name


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_a_blocked_client_cannot_book_until_unblocked(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    clean_db: object,
    lang: str,
) -> None:
    await make_catalog(session_factory)
    admin_id = await make_client(session_factory, tg_id=ADMIN_TG)
    await set_client(session_factory, admin_id, language=lang)
    user, client_id = await new_client(emulator, session_factory, CLIENT_TG, lang=lang)
    admin = emulator.user(ADMIN_TG, "Owner", language_code=lang)
    async with booking_bot(make_bot_settings) as app:
        await to_summary(user, lang)  # blocked while at the summary: refused at the confirm
        await admin.send(f"/client {CLIENT_TG}")
        await admin.wait_for_message(
            lambda m: m.find_button(t("admin.btn.block", lang)) is not None
        )
        await admin.press(t("admin.btn.block", lang))
        await admin.wait_for_message(t("admin.card.blocked", lang))
        await user.press(t("booking.btn.confirm", lang))
        await user.wait_for_message(t("booking.blocked", lang))

        # Told at once when starting to book, not only at the confirm: with the profile cached
        # (/book reads the flag itself) and without (it comes with the profile's statement).
        await user.send("/book")
        assert (await user.wait_for_message()).text == t("booking.blocked", lang)
        await app.redis.delete(f"{app.settings.redis_prefix}:profile:{CLIENT_TG}")
        await user.send("/book")
        assert (await user.wait_for_message()).text == t("booking.blocked", lang)
        assert await appointments_of(session_factory, client_id) == []

        await admin.press(t("admin.btn.unblock", lang))
        await admin.wait_for_message(
            lambda m: m.find_button(t("admin.btn.block", lang)) is not None
        )
        await to_summary(user, lang)
        await user.press(t("booking.btn.confirm", lang))
        await user.wait_for_message(booked(lang))
    assert len(await appointments_of(session_factory, client_id)) == 1


async def test_the_invites_screen_pages_through_every_specialist(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    clean_db: object,
) -> None:
    cat = await make_catalog(session_factory, specialists=10, specialist_tg_ids=False)
    await make_client(session_factory, tg_id=ADMIN_TG)
    admin = emulator.user(ADMIN_TG, "Owner", language_code="ru")
    async with booking_bot(make_bot_settings):
        await admin.send("/admin")
        await admin.wait_for_message(t("admin.menu.title", "ru"))
        await admin.press(t("admin.menu.invites", "ru"))
        # The screen is edited in place: read each page's buttons while it is shown.
        pages = [(await admin.wait_for_message(t("admin.invite.pick", "ru"))).button_texts()]
        await admin.press(t("admin.btn.next", "ru"))
        second = await admin.wait_for_message(
            lambda m: m.find_button(t("admin.btn.prev", "ru")) is not None
        )
        pages.append(second.button_texts())
    chrome = {
        t(key, "ru")
        for key in (
            "admin.btn.unlink",
            "admin.btn.next",
            "admin.btn.prev",
            "admin.btn.back",
            "admin.btn.close",
        )
    }
    names = [b for page in pages for b in page if b not in chrome]
    assert len(names) == len(set(names)) == len(cat.specialist_ids) == 10


@pytest.mark.parametrize("asked_for", ["holiday", "catalog_value"])
async def test_a_removed_admin_typing_an_answer_is_refused(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    clean_db: object,
    asked_for: str,
) -> None:
    """The gate covers typed answers too: an admin removed while the bot waits for a date to
    close (the catalog file) or a new value (the catalog editor) gets "admins only" for it,
    and nothing changes."""

    cat = await make_catalog(session_factory)
    await make_client(session_factory, tg_id=SECOND_ADMIN_TG)
    async with session_factory() as s, s.begin():
        s.add(Admin(tg_id=SECOND_ADMIN_TG, added_by=ADMIN_TG))
    helper = emulator.user(SECOND_ADMIN_TG, "Helper", language_code="en")
    async with booking_bot(make_bot_settings):
        await helper.send("/admin")
        await helper.wait_for_message(t("admin.menu.title", "ru"))
        if asked_for == "holiday":
            await helper.press_data(HolidayLocationCb(location_id=cat.location_id).pack())
            asked = t("catalog.holiday.ask", "ru").split("{", 1)[0]
        else:
            field = AdmCatalogFieldCb(kind=CatKind.service, id=cat.service_id, field="name")
            await helper.press_data(field.pack())
            asked = t("catalog_edit.ask", "ru").split("{", 1)[0]
        await helper.wait_for_message(lambda m: (m.text or "").startswith(asked))
        async with session_factory() as s, s.begin():
            row = await s.get(Admin, SECOND_ADMIN_TG)
            assert row is not None
            await s.delete(row)
        before = await database_fingerprint(session_factory)
        await helper.send("08.03" if asked_for == "holiday" else "Новое имя")
        assert (await helper.wait_for_message()).text == t("admin.denied", "ru")
        assert await database_fingerprint(session_factory) == before
