"""The catalog editor in /admin, end to end in Russian and English: creating and editing
locations (weekly hours, holidays, capacity), workplaces (hosted services with overrides),
services and specialists (services with custom price, schedules with a pinned workplace,
breaks), every rejected input keeping the admin in the same step with the format and an
example, and a change that touches a booked appointment asking keep / cancel first."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.emulator.users import SimUser
from bot.i18n import translate
from tests.e2e.booking_support import TOMORROW_SHORT as TUE
from tests.e2e.booking_support import booking_bot, new_client, t
from tests.e2e.catalog_support import catalog_screen, editor
from tests.integration.factories import (
    NOW,
    Catalog,
    booking_request,
    make_catalog,
    make_client,
    money_invariant_violations,
)
from tests.money import rub

pytestmark = pytest.mark.usefixtures("clean_db")

ADMIN = 779_001


async def q(sessions: async_sessionmaker[AsyncSession], sql: str, **params: Any) -> Any:
    """The one value `sql` selects (JSON read back as Python values)."""
    async with sessions() as s:
        value = (await s.execute(text(sql), params)).scalar_one()
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


async def name_of(
    sessions: async_sessionmaker[AsyncSession],
    table: Literal["locations", "services", "specialists", "workplaces"],
    row_id: int,
) -> str:
    """The `name` of row `row_id` in `table`."""
    name: str = await q(sessions, f"SELECT name FROM {table} WHERE id = :i", i=row_id)
    return name


async def catalog_and_client(
    sessions: async_sessionmaker[AsyncSession], **catalog: Any
) -> tuple[Catalog, int]:
    """A catalog (`make_catalog`'s options) and a client whose wallet pays two visits."""
    cat = await make_catalog(sessions, **catalog)
    client = await make_client(sessions, balance=cat.price * 2)
    return cat, client


async def open_list(admin: SimUser, kind: str, lang: str) -> None:
    """/admin -> Catalog -> the kind's list."""
    await catalog_screen(admin, lang)
    await admin.press(t(f"catalog_edit.list.{kind}", lang))
    await admin.wait_for_message(t(f"catalog_edit.list.{kind}", lang))


async def answer(admin: SimUser, value: str, expect: str) -> str:
    await admin.send(value)
    return (await admin.wait_for_message(expect)).text or ""


async def refused(
    admin: SimUser, value: str, problem: str, fmt: str, lang: str, limit: int = 1440
) -> None:
    """A wrong value: what was wrong and the format with an example; the step stays."""
    text_ = await answer(admin, value, t(f"catalog_edit.format.{fmt}", lang))
    assert t(f"admin.input.{problem}", lang, limit=limit) in text_, text_


async def edit_field(admin: SimUser, field: str, lang: str) -> None:
    await admin.press("✏️ " + t(f"catalog_edit.field.{field}", lang))
    await admin.wait_for_message(
        t("catalog_edit.ask", lang, field=t(f"catalog_edit.field.{field}", lang))
    )


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_a_service_is_created_and_edited_with_every_wrong_value_refused(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    cat = await make_catalog(session_factory)
    taken = await name_of(session_factory, "services", cat.service_id)
    async with editor(emulator, make_bot_settings, lang, ADMIN) as (admin, _):
        await open_list(admin, "service", lang)
        await admin.press(t("catalog_edit.btn.new", lang))
        await admin.wait_for_message(t("catalog_edit.format.name", lang))
        await refused(admin, "   ", "name_empty", "name", lang)
        await refused(admin, "\u200b\u3164", "name_empty", "name", lang)  # draws nothing
        await refused(admin, taken.upper(), "name_taken", "name", lang)
        await refused(admin, "x" * 101, "text_too_long", "name", lang, limit=100)
        await answer(admin, "Укладка", t("catalog_edit.format.minutes", lang))
        await refused(admin, "0", "minutes_range", "minutes", lang)
        await refused(admin, "сорок", "whole_number", "minutes", lang)
        await answer(admin, "45", t("catalog_edit.format.money", lang))
        await refused(admin, "12.345", "amount_decimals", "money", lang)
        await refused(admin, "-5", "amount_format", "money", lang)
        card = await answer(admin, "1500,5", t("catalog_edit.card.service", lang))
        assert rub("1500.50", lang) in card and "Укладка" in card  # money as the reader writes it
        new_id = await q(session_factory, "SELECT id FROM services WHERE name = 'Укладка'")
        assert await q(
            session_factory, "SELECT price FROM services WHERE id = :i", i=new_id
        ) == Decimal("1500.50")

        await edit_field(admin, "break", lang)
        await refused(admin, "1441", "minutes_range", "break", lang)
        await answer(admin, "10", t("catalog_edit.saved", lang))
        await edit_field(admin, "name_en", lang)
        await answer(admin, "Styling", t("catalog_edit.saved", lang))
        await edit_field(admin, "name", lang)
        await refused(admin, " ", "name_empty", "name", lang)
        await refused(admin, taken, "name_taken", "name", lang)
        await answer(admin, "Укладка вечерняя", t("catalog_edit.saved", lang))
    row = await q(
        session_factory,
        "SELECT json_build_array(name, break_min, name_i18n) FROM services WHERE id = :i",
        i=new_id,
    )
    assert row == ["Укладка вечерняя", 10, {"en": "Styling"}]
    actions = await q(
        session_factory,
        "SELECT array_agg(action ORDER BY id) FROM audit_log WHERE actor_tg_id = :a",
        a=ADMIN,
    )
    assert actions == ["service.created", "service.edited", "service.edited", "service.edited"]


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_a_location_with_hours_holidays_and_capacity(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with editor(emulator, make_bot_settings, lang, ADMIN) as (admin, _):
        await open_list(admin, "location", lang)
        await admin.press(t("catalog_edit.btn.new", lang))
        await answer(admin, "Салон на Арбате", t("catalog_edit.format.text", lang))
        await answer(admin, "-", t("catalog_edit.format.timezone", lang))
        await refused(admin, "Mars/Olympus", "timezone_unknown", "timezone", lang)
        await refused(admin, "right/UTC", "timezone_unknown", "timezone", lang)  # PostgreSQL: no
        await answer(admin, "Asia/Yekaterinburg", t("catalog_edit.card.location", lang))
        location = await q(
            session_factory, "SELECT id FROM locations WHERE name = 'Салон на Арбате'"
        )
        assert (
            await q(session_factory, "SELECT timezone FROM locations WHERE id = :i", i=location)
            == "Asia/Yekaterinburg"
        )

        await edit_field(admin, "capacity", lang)
        await refused(admin, "три", "whole_number", "capacity", lang)
        await answer(admin, "3", t("catalog_edit.saved", lang))

        await admin.press(t("catalog_edit.btn.hours", lang))
        await admin.wait_for_message(t("catalog_edit.hours.title", lang, name="Салон на Арбате"))
        await admin.press("✏️ " + t("booking.weekday.1", lang))
        await admin.wait_for_message(t("catalog_edit.format.hours", lang))
        await refused(admin, "18:00-9:00", "hours_order", "hours", lang)
        await refused(admin, "24:00-24:00", "hours_order", "hours", lang)
        await refused(admin, "9-18", "time_format", "hours", lang)
        await refused(admin, "25:00-26:00", "time_format", "hours", lang)
        week = await answer(
            admin, "9:00-24:00", t("catalog_edit.hours.title", lang, name="Салон на Арбате")
        )
        assert "09:00-24:00" in week
        await admin.press("✏️ " + t("booking.weekday.7", lang))
        await answer(admin, "off", t("catalog_edit.saved", lang))

        await admin.press(t("admin.btn.back", lang))
        await admin.wait_for_message(t("catalog_edit.card.location", lang))
        await admin.press(t("catalog_edit.btn.holidays", lang))
        await admin.wait_for_message(t("catalog_edit.holidays.title", lang))
        await admin.press(t("catalog_edit.btn.add", lang))
        await admin.wait_for_message(t("catalog_edit.format.holiday", lang))
        await refused(admin, "31.02", "date_format", "holiday", lang)
        await refused(admin, "08.03 14:00-10:00", "hours_order", "holiday", lang)
        await refused(admin, "08.03 opened", "time_format", "holiday", lang)
        # Today is Monday 3 March 2031.
        sat, sun, mon = (
            {"ru": "сб, 8 мар.", "en": "Sat 8 Mar"}[lang],
            {"ru": "вс, 9 мар.", "en": "Sun 9 Mar"}[lang],
            {"ru": "пн, 10 мар.", "en": "Mon 10 Mar"}[lang],
        )
        await answer(admin, "08.03 10:00-14:00", f"{sat} 10:00-14:00")
        await admin.press(t("catalog_edit.btn.add", lang))
        open_word = "открыто" if lang == "ru" else "open"
        await answer(admin, f"10.03 {open_word}", f"{mon} " + t("catalog_edit.holiday.open", lang))
        await admin.press(t("catalog_edit.btn.add", lang))
        await answer(admin, "09.03.2031", f"{sun} " + t("catalog_edit.holiday.closed", lang))
        await admin.press(f"🗑 {sun}")
        await admin.wait_for_message(t("catalog_edit.saved", lang))
    hours = await q(
        session_factory,
        "SELECT json_agg(json_build_array(day_of_week, start_time::text, end_time::text, "
        "is_day_off) ORDER BY day_of_week) FROM location_schedules WHERE location_id = :i",
        i=location,
    )
    assert hours == [[1, "09:00:00", "24:00:00", False], [7, None, None, True]]
    holidays = await q(
        session_factory,
        "SELECT json_agg(json_build_array(date::text, is_working, start_time::text) "
        "ORDER BY date) FROM holidays WHERE location_id = :i",
        i=location,
    )
    assert holidays == [["2031-03-08", True, "10:00:00"], ["2031-03-10", True, None]]
    assert await q(session_factory, "SELECT capacity FROM locations WHERE id = :i", i=location) == 3


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_a_workplace_hosts_a_service_with_overrides(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    cat = await make_catalog(session_factory)
    location = await name_of(session_factory, "locations", cat.location_id)
    service = await name_of(session_factory, "services", cat.service_id)
    async with editor(emulator, make_bot_settings, lang, ADMIN) as (admin, _):
        await open_list(admin, "workplace", lang)
        await admin.press(t("catalog_edit.btn.new", lang))
        await admin.wait_for_message(t("catalog_edit.workplace.pick_location", lang))
        await admin.press(location)
        await admin.wait_for_message(t("catalog_edit.format.name", lang))
        await refused(admin, "chair 1", "name_taken", "name", lang)  # "Chair 1" is there
        await answer(admin, "Кресло 5", t("catalog_edit.format.text", lang))
        await answer(admin, "кресло", t("catalog_edit.card.workplace", lang))
        await admin.press(t("catalog_edit.btn.wp_services", lang))
        await admin.wait_for_message(t("catalog_edit.links.workplace_service", lang))
        await admin.press("▫️ " + service)
        await admin.wait_for_message(t("catalog_edit.card.workplace_service", lang))
        await edit_field(admin, "price", lang)
        await refused(admin, "1e3", "amount_format", "money_opt", lang)
        await answer(admin, "1200", t("catalog_edit.saved", lang))
        await edit_field(admin, "duration", lang)
        await answer(admin, "50", t("catalog_edit.saved", lang))
        await edit_field(admin, "price", lang)
        await answer(admin, "-", t("catalog_edit.saved", lang))
    link = await q(
        session_factory,
        "SELECT json_build_array(w.name, w.type, ws.price, ws.duration_min, ws.is_active) "
        "FROM workplace_services ws JOIN workplaces w ON w.id = ws.workplace_id "
        "WHERE w.name = 'Кресло 5'",
    )
    assert link == ["Кресло 5", "кресло", None, 50, True]


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_a_specialist_with_services_schedule_and_breaks(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    cat = await make_catalog(session_factory)
    location = await name_of(session_factory, "locations", cat.location_id)
    service = await name_of(session_factory, "services", cat.service_id)
    async with editor(emulator, make_bot_settings, lang, ADMIN) as (admin, _):
        await open_list(admin, "specialist", lang)
        await admin.press(t("catalog_edit.btn.new", lang))
        await answer(admin, "Вера Новикова", t("catalog_edit.format.text", lang))
        card = await answer(admin, "Колорист", t("catalog_edit.card.specialist", lang))
        assert "Колорист" in card
        shown = admin.last_message
        assert shown is not None and shown.find_button(t("catalog_edit.btn.invite", lang))

        await admin.press(t("catalog_edit.btn.sp_services", lang))
        await admin.wait_for_message(t("catalog_edit.links.service_specialist", lang))
        await admin.press("▫️ " + service)
        await admin.wait_for_message(t("catalog_edit.card.service_specialist", lang))
        await edit_field(admin, "price", lang)
        await answer(admin, "2500.50", t("catalog_edit.card.service_specialist", lang))

        await admin.press(t("admin.btn.back", lang))  # the services
        await admin.wait_for_message(t("catalog_edit.links.service_specialist", lang))
        await admin.press(t("admin.btn.back", lang))  # the card
        await admin.wait_for_message(t("catalog_edit.card.specialist", lang))
        await admin.press(t("catalog_edit.btn.schedule", lang))
        await admin.wait_for_message(t("catalog_edit.schedule.pick", lang))
        await admin.press(location)
        await admin.wait_for_message(
            t("catalog_edit.schedule.title", lang, name="Вера Новикова", location=location)
        )
        await admin.press("✏️ " + t("booking.weekday.2", lang))
        await admin.wait_for_message(t("catalog_edit.format.shift", lang))
        await refused(admin, "10:00-19:00 Кресло 9", "workplace_unknown", "shift", lang)
        await refused(admin, "10:00", "time_format", "shift", lang)
        # Outside the location's hours (8:00-22:00): allowed, with a warning.
        saved = await answer(admin, "7:00-23:00 chair 1", t("catalog_edit.saved", lang))
        assert t("catalog_edit.shift.outside", lang) in saved
        await admin.press("✏️ " + t("booking.weekday.3", lang))
        saved = await answer(admin, "10:00-19:00", t("catalog_edit.saved", lang))
        assert t("catalog_edit.shift.outside", lang) not in saved

        await admin.press(t("admin.btn.back", lang))
        await admin.wait_for_message(t("catalog_edit.card.specialist", lang))
        await admin.press(t("catalog_edit.btn.breaks", lang))
        await admin.wait_for_message(t("catalog_edit.breaks.title", lang))
        await admin.press(t("catalog_edit.btn.add", lang))
        await admin.wait_for_message(t("catalog_edit.break.ask", lang))
        await refused(admin, "5.3 13-14", "time_format", "dated", lang)
        wed, thu = (
            {"ru": "ср, 5 мар.", "en": "Wed 5 Mar"}[lang],
            {"ru": "чт, 6 мар.", "en": "Thu 6 Mar"}[lang],
        )
        await answer(admin, "05.03 13:00-14:00", f"{wed} 13:00-14:00")
        await admin.press(t("catalog_edit.btn.add", lang))
        await answer(admin, "06.03", f"{thu} " + t("catalog_edit.break.all_day", lang))
    specialist = await q(session_factory, "SELECT id FROM specialists WHERE name = 'Вера Новикова'")
    shifts = await q(
        session_factory,
        "SELECT json_agg(json_build_array(s.day_of_week, s.start_time::text, "
        "s.end_time::text, w.name) ORDER BY s.day_of_week) FROM specialist_schedules s "
        "LEFT JOIN workplaces w ON w.id = s.workplace_id WHERE s.specialist_id = :i",
        i=specialist,
    )
    assert shifts == [[2, "07:00:00", "23:00:00", "Chair 1"], [3, "10:00:00", "19:00:00", None]]
    breaks = await q(
        session_factory,
        "SELECT json_agg(json_build_array(date::text, start_time::text) ORDER BY date) "
        "FROM breaks WHERE specialist_id = :i",
        i=specialist,
    )
    assert breaks == [["2031-03-05", "13:00:00"], ["2031-03-06", None]]
    price = await q(
        session_factory,
        "SELECT custom_price FROM service_specialists WHERE specialist_id = :i",
        i=specialist,
    )
    assert price == Decimal("2500.50")


TUESDAY_OPENS = (
    "SELECT start_time::text FROM location_schedules WHERE location_id = :l AND day_of_week = 2"
)


@pytest.mark.parametrize(("lang", "cancel"), [("ru", True), ("en", False)])
async def test_shorter_hours_over_a_booking_ask_keep_or_cancel_first(
    lang: str,
    cancel: bool,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    cat, client = await catalog_and_client(session_factory)
    location = await name_of(session_factory, "locations", cat.location_id)
    async with editor(emulator, make_bot_settings, lang, ADMIN) as (admin, app):
        view = await app.services.booking.confirm(booking_request(cat, client), now=NOW)
        await open_list(admin, "location", lang)
        await admin.press(location)
        await admin.wait_for_message(t("catalog_edit.card.location", lang))
        await admin.press(t("catalog_edit.btn.hours", lang))
        await admin.wait_for_message(t("catalog_edit.hours.title", lang, name=location))
        # The booking is on Tuesday 04.03 10:00 Moscow: opening at 12:00 leaves it outside.
        await admin.press("✏️ " + t("booking.weekday.2", lang))
        await admin.wait_for_message(t("catalog_edit.format.hours", lang))
        preview = await answer(admin, "12:00-22:00", t("catalog.touched.header", lang, count=1))
        assert f"{TUE[lang]} 10:00" in preview and t("catalog_edit.preview", lang) in preview
        # Nothing is written before the press.
        assert (
            await q(
                session_factory,
                TUESDAY_OPENS,
                l=cat.location_id,
            )
            == "08:00:00"
        )
        await admin.press(t("catalog.btn.cancel" if cancel else "catalog.btn.keep", lang))
        outcome = "catalog.applied_cancelled" if cancel else "catalog.applied_kept"
        await admin.wait_for_message(t(outcome, lang, count=1))
    assert (
        await q(
            session_factory,
            TUESDAY_OPENS,
            l=cat.location_id,
        )
        == "12:00:00"
    )
    status = await q(session_factory, "SELECT status FROM appointments WHERE id = :a", a=view.id)
    assert status == ("cancelled" if cancel else "booked")
    audit = await q(
        session_factory,
        "SELECT after->'touched' FROM audit_log "
        "WHERE action = 'location.hours' AND actor_tg_id = :a",
        a=ADMIN,
    )
    assert audit == [view.id]
    async with session_factory() as s:
        assert await money_invariant_violations(s) == []


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_clients_see_translated_names_in_their_language(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    cat = await make_catalog(session_factory, specialists=2)
    base = await q(
        session_factory,
        "SELECT json_build_array(l.name, s.name, p.name) FROM locations l, services s, "
        "specialists p WHERE l.id = :l AND s.id = :s AND p.id = :p",
        l=cat.location_id,
        s=cat.service_id,
        p=cat.specialist_ids[0],
    )
    async with session_factory() as s, s.begin():
        for table, row in (
            ("locations", cat.location_id),
            ("services", cat.service_id),
            ("specialists", cat.specialist_ids[0]),
        ):
            await s.execute(
                text(f'UPDATE {table} SET name_i18n = \'{{"en": "EN {table}"}}\' WHERE id = :i'),
                {"i": row},
            )
    user, client = await new_client(emulator, session_factory, 5091, lang=lang)
    async with booking_bot(make_bot_settings) as app:
        await user.send("/book")
        shown = await user.wait_for_message(translate("booking.ask.specialist", lang))
        # A booked visit: its list entry and its confirmation notice name it the same way.
        request = booking_request(cat, client, specialist=cat.specialist_ids[0])
        await app.services.booking.confirm(request, now=NOW)
        await user.send("/my")
        listed = await user.wait_for_message(translate("account.my.upcoming_title", lang))
    notice = await q(
        session_factory,
        "SELECT payload::text FROM outbox WHERE kind = 'client.confirm' AND chat_id = 5091",
    )
    assert "names_i18n" not in notice
    names = " ".join([shown.text or "", *shown.button_texts(), *listed.button_texts()])
    names += " " + " ".join(str(notice[k]) for k in ("location", "service", "specialist"))
    if lang == "en":
        assert "EN locations" in names and "EN services" in names
        assert "EN specialists" in names and base[2] not in names
    else:  # no Russian entry: the base names
        assert base[0] in names and base[1] in names and base[2] in names
        assert "EN " not in names


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_deactivating_and_a_break_over_a_booking_show_it_first(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    cat, client = await catalog_and_client(session_factory)
    specialist = cat.specialist_ids[0]
    name = await name_of(session_factory, "specialists", specialist)
    async with editor(emulator, make_bot_settings, lang, ADMIN) as (admin, app):
        view = await app.services.booking.confirm(booking_request(cat, client), now=NOW)
        await open_list(admin, "specialist", lang)
        await admin.press(name)
        await admin.wait_for_message(t("catalog_edit.card.specialist", lang))
        await admin.press(t("catalog_edit.btn.off", lang))
        preview = await admin.wait_for_message(t("catalog.touched.header", lang, count=1))
        assert f"{TUE[lang]} 10:00" in (preview.text or "")
        assert await q(
            session_factory, "SELECT is_active FROM specialists WHERE id = :i", i=specialist
        )
        await admin.press(t("catalog.btn.keep", lang))
        await admin.wait_for_message(t("catalog.applied_kept", lang, count=1))
        assert not await q(
            session_factory, "SELECT is_active FROM specialists WHERE id = :i", i=specialist
        )
        # Reactivating touches nobody: saved at once. Deactivating again shows the impact;
        # dropping it changes nothing.
        await open_list(admin, "specialist", lang)
        await admin.press(name)
        await admin.wait_for_message(t("catalog_edit.card.specialist", lang))
        await admin.press(t("catalog_edit.btn.on", lang))
        await admin.wait_for_message(t("catalog_edit.saved", lang))
        await admin.press(t("catalog_edit.btn.off", lang))  # the card shown after saving
        await admin.wait_for_message(t("catalog.touched.header", lang, count=1))
        await admin.press(t("catalog.btn.drop", lang))
        await admin.wait_for_message(t("catalog.dropped", lang))

        await open_list(admin, "specialist", lang)
        await admin.press(name)
        await admin.wait_for_message(t("catalog_edit.card.specialist", lang))
        await admin.press(t("catalog_edit.btn.breaks", lang))
        await admin.wait_for_message(t("catalog_edit.breaks.title", lang))
        await admin.press(t("catalog_edit.btn.add", lang))
        await admin.wait_for_message(t("catalog_edit.break.ask", lang))
        await answer(admin, "04.03 9:00-10:30", t("catalog.touched.header", lang, count=1))
        await admin.press(t("catalog.btn.cancel", lang))
        await admin.wait_for_message(t("catalog.applied_cancelled", lang, count=1))
    assert await q(session_factory, "SELECT status FROM appointments WHERE id = :a", a=view.id) == (
        "cancelled"
    )
    actions = await q(
        session_factory,
        "SELECT array_agg(action ORDER BY id) FROM audit_log WHERE actor_tg_id = :a",
        a=ADMIN,
    )
    # The cancel is an admin's change with its own row, in the break's transaction.
    assert sorted(actions) == sorted(
        [
            "specialist.deactivated",
            "specialist.reactivated",
            "appointment.cancelled",
            "specialist.break",
        ]
    )
    async with session_factory() as s:
        assert await money_invariant_violations(s) == []


@pytest.mark.parametrize(("lang", "cancel"), [("ru", False), ("en", True)])
async def test_a_workplace_moves_to_another_location_with_its_bookings_shown_first(
    lang: str,
    cancel: bool,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    cat, client = await catalog_and_client(session_factory, workplaces=2)
    async with session_factory() as s, s.begin():
        second = await s.scalar(
            text(
                "INSERT INTO locations (name, timezone) VALUES ('Салон на Неглинной', "
                "'Europe/Moscow') RETURNING id"
            )
        )
    async with editor(emulator, make_bot_settings, lang, ADMIN) as (admin, app):
        view = await app.services.booking.confirm(booking_request(cat, client), now=NOW)
        used = await q(
            session_factory, "SELECT workplace_id FROM appointments WHERE id = :a", a=view.id
        )
        free = next(w for w in cat.workplace_ids if w != used)
        names = {w: await name_of(session_factory, "workplaces", w) for w in cat.workplace_ids}
        await open_list(admin, "workplace", lang)
        await admin.press(names[used])
        await admin.wait_for_message(t("catalog_edit.card.workplace", lang))
        await admin.press(t("catalog_edit.btn.move", lang))
        await admin.wait_for_message(t("catalog_edit.workplace.move", lang, name=names[used]))
        await admin.press("Салон на Неглинной")
        preview = await admin.wait_for_message(t("catalog.touched.header", lang, count=1))
        assert f"{TUE[lang]} 10:00" in (preview.text or "")
        assert await q(
            session_factory, "SELECT location_id FROM workplaces WHERE id = :i", i=used
        ) == (cat.location_id)
        await admin.press(t("catalog.btn.cancel" if cancel else "catalog.btn.keep", lang))
        outcome = "catalog.applied_cancelled" if cancel else "catalog.applied_kept"
        await admin.wait_for_message(t(outcome, lang, count=1))

        # A workplace a specialist's schedule pins is refused, with the reason; nothing moves.
        async with session_factory() as s, s.begin():
            await s.execute(
                text("UPDATE specialist_schedules SET workplace_id = :w WHERE day_of_week = 3"),
                {"w": free},
            )
        await open_list(admin, "workplace", lang)
        await admin.press(names[free])
        await admin.wait_for_message(t("catalog_edit.card.workplace", lang))
        await admin.press(t("catalog_edit.btn.move", lang))
        await admin.wait_for_message(t("catalog_edit.workplace.move", lang, name=names[free]))
        await admin.press("Салон на Неглинной")
        refusal = await admin.wait_for_callback_answer()
        assert refusal["text"] == t("admin.input.workplace_pinned", lang)
        # Unpinned and with nothing booked on it: moved at once, the card names the new place.
        async with session_factory() as s, s.begin():
            await s.execute(text("UPDATE specialist_schedules SET workplace_id = NULL"))
        await admin.press("Салон на Неглинной")
        await admin.wait_for_message(t("catalog_edit.saved", lang))
        card = await admin.wait_for_message(t("catalog_edit.card.workplace", lang))
        assert "Салон на Неглинной" in (card.text or "")
    moved = await q(
        session_factory,
        "SELECT json_agg(location_id ORDER BY id) FROM workplaces WHERE id IN (:a, :b)",
        a=used,
        b=free,
    )
    assert moved == [second, second]
    status = await q(session_factory, "SELECT status FROM appointments WHERE id = :a", a=view.id)
    assert status == ("cancelled" if cancel else "booked")
    audit = await q(
        session_factory,
        "SELECT json_agg(json_build_array(entity_id, after->'touched') ORDER BY id) "
        "FROM audit_log WHERE action = 'workplace.moved' AND actor_tg_id = :a",
        a=ADMIN,
    )
    assert audit == [[used, [view.id]], [free, []]]
    async with session_factory() as s:
        assert await money_invariant_violations(s) == []
