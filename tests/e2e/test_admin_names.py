"""Admins see catalog names in their own language (the translated name where there is one,
the base name otherwise) on every admin screen, and type a name in either language: the front
desk (day view, appointment card, move confirmation, /day), the catalog editor and
statistics."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.services.booking import BookingService
from tests.e2e.booking_support import NOW, booking_bot, pinned, t
from tests.e2e.test_admin import ADMIN_TG, set_client
from tests.e2e.test_catalog_edit import ADMIN as EDITOR_ADMIN
from tests.e2e.test_catalog_edit import open_list
from tests.e2e.test_stats import ADMIN as STATS_ADMIN
from tests.e2e.test_stats import NOW as STATS_NOW
from tests.e2e.test_stats import upload
from tests.emulator.fixtures import running_bot
from tests.integration import stats_data
from tests.integration.factories import Catalog, booking_request, make_catalog, make_client

pytestmark = pytest.mark.usefixtures("clean_db")

TABLES = ("locations", "services", "specialists", "workplaces")


async def translated(sessions: async_sessionmaker[AsyncSession], cat: Catalog) -> dict[str, Any]:
    """Give the catalog's location, service, first specialist and first workplace an English
    name ("EN <table>"); their base names by table."""
    ids = {
        "locations": cat.location_id,
        "services": cat.service_id,
        "specialists": cat.specialist_ids[0],
        "workplaces": cat.workplace_ids[0],
    }
    base = {}
    async with sessions() as s, s.begin():
        for table, row in ids.items():
            base[table] = await s.scalar(
                text(
                    f"UPDATE {table} SET name_i18n = jsonb_build_object('en', CAST(:n AS text)) "
                    "WHERE id = :i RETURNING name"
                ),
                {"n": f"EN {table}", "i": row},
            )
    return base


def shown(lang: str, base: dict[str, Any], table: str) -> str:
    return f"EN {table}" if lang == "en" else str(base[table])


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_the_front_desk_names_the_catalog_in_the_admins_language(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    lang: str,
) -> None:
    cat = await make_catalog(session_factory)
    base = await translated(session_factory, cat)
    admin_id = await make_client(session_factory, tg_id=ADMIN_TG)
    await set_client(session_factory, admin_id, language=lang)
    client_id = await make_client(session_factory, balance=Decimal("1000"))
    await set_client(session_factory, client_id, first_name="Boris")
    admin = emulator.user(ADMIN_TG, "Owner", language_code=lang)
    other = "EN specialists" if lang == "ru" else str(base["specialists"])
    async with booking_bot(make_bot_settings) as app:
        booking: BookingService = app.services.booking
        await booking.confirm(booking_request(cat, client_id), now=NOW)
        # The specialist typed in the other language, in another case: found all the same.
        await admin.send(f"/day 04.03 {other.upper()}")
        day = await admin.wait_for_message("Boris")
        for table in TABLES[1:]:
            assert shown(lang, base, table) in (day.text or ""), (table, day.text)
        await admin.press("Boris")
        card = await admin.wait_for_message(
            lambda m: m.find_button(t("account.btn.cancel", lang)) is not None
        )
        for table in TABLES:
            assert shown(lang, base, table) in (card.text or ""), (table, card.text)
        await admin.press(t("admin.btn.move", lang))
        await admin.wait_for_message(t("admin.move.ask", lang))
        await admin.send("04.03 14:00")
        tuesday = {"ru": "вт, 4 мар.", "en": "Tue 4 Mar"}[lang]
        moved = await admin.wait_for_message(lambda m: f"{tuesday} 14:00" in (m.text or ""))
        assert moved.text == t(
            "admin.move.done",
            lang,
            date=tuesday,
            time="14:00",
            specialist=shown(lang, base, "specialists"),
            workplace=shown(lang, base, "workplaces"),
        )
        # The location typed in English by a Russian admin, and the other way round.
        location = "en locations" if lang == "ru" else str(base["locations"]).lower()
        await admin.send(f"/day 04.03 {location}")
        title = await admin.wait_for_message(
            t("admin.day.title", lang, title=shown(lang, base, "locations"), date="04.03.2031")
        )
        assert "Boris" in (title.text or "")


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_statistics_name_scopes_and_report_columns_in_the_admins_language(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    world = await stats_data.build(session_factory)
    async with session_factory() as s, s.begin():
        for table, row, name in (
            ("locations", world.center, "Center"),
            ("specialists", world.boris, "Boris"),
        ):
            await s.execute(
                text(
                    f"UPDATE {table} SET name_i18n = jsonb_build_object('en', CAST(:n AS text)) "
                    "WHERE id = :i"
                ),
                {"n": name, "i": row},
            )
    center, boris = ("Center", "Boris") if lang == "en" else ("Центр", "Борис")
    admin = emulator.user(STATS_ADMIN, "Owner", language_code=lang)
    setup = lambda app: setattr(app.clock, "source", lambda: STATS_NOW)  # noqa: E731
    async with running_bot(make_bot_settings(admin_ids=[STATS_ADMIN]), setup=setup):
        await admin.send("/stats 24.03-30.03")
        shown = await admin.wait_for_message(t("stats.bookings_made", lang, count=6))
        assert center in shown.button_texts()
        await admin.wait_for_message(t("stats.csv.ledger", lang))
        report = next(
            upload(c.params, "document")
            for c in emulator.calls_to("sendDocument", chat_id=STATS_ADMIN)
            if upload(c.params, "document")["filename"].startswith("appointments-")
        )
        rows = list(csv.reader(io.StringIO(report["content"].decode("utf-8-sig"))))
        column = rows[0].index(f"location_{lang}")
        assert {r[column] for r in rows[1:]} >= {center}
        assert {r[rows[0].index("location")] for r in rows[1:]} >= {"Центр"}  # the base name

        await admin.press(center)
        narrowed = await admin.wait_for_message(t("stats.bookings_made", lang, count=5))
        assert center in (narrowed.text or "")
        await admin.press(t("stats.btn.specialists", lang))
        await admin.wait_for_message(lambda m: boris in m.button_texts())
        await admin.press(boris)
        picked = await admin.wait_for_message(lambda m: boris in (m.text or ""))
        assert t("stats.bookings_made", lang, count=2) in (picked.text or "")


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_the_catalog_editor_impact_screen_and_audit_log_name_entries_in_the_admins_language(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    cat = await make_catalog(session_factory)
    base = await translated(session_factory, cat)
    location, service, specialist, workplace = (shown(lang, base, table) for table in TABLES)
    client = await make_client(session_factory, balance=cat.price * 2)
    admin = emulator.user(EDITOR_ADMIN, "Owner", language_code=lang)
    async with running_bot(make_bot_settings(admin_ids=[EDITOR_ADMIN]), setup=pinned) as app:
        await app.services.booking.confirm(booking_request(cat, client), now=NOW)
        await open_list(admin, "workplace", lang)
        await admin.press(f"{location} · {workplace}")
        card = await admin.wait_for_message(t("catalog_edit.card.workplace", lang))
        assert f"{t('catalog_edit.card.workplace', lang)}: {location}" in (card.text or "")
        await admin.press(t("catalog_edit.btn.wp_services", lang))
        hosted = await admin.wait_for_message(t("catalog_edit.links.workplace_service", lang))
        assert f"✅ {service}" in hosted.button_texts()

        await open_list(admin, "location", lang)
        await admin.press(location)
        await admin.wait_for_message(t("catalog_edit.card.location", lang))
        await admin.press(t("catalog_edit.btn.hours", lang))
        await admin.wait_for_message(t("catalog_edit.hours.title", lang, name=location))

        await open_list(admin, "specialist", lang)
        await admin.press(specialist)
        await admin.wait_for_message(t("catalog_edit.card.specialist", lang))
        await admin.press(t("catalog_edit.btn.schedule", lang))
        await admin.wait_for_message(t("catalog_edit.schedule.pick", lang))
        await admin.press(location)
        await admin.wait_for_message(
            t("catalog_edit.schedule.title", lang, name=specialist, location=location)
        )
        # The pinned workplace typed by its name in the other language.
        other = "en workplaces" if lang == "ru" else str(base["workplaces"]).upper()
        await admin.press("✏️ " + t("booking.weekday.5", lang))
        await admin.wait_for_message(t("catalog_edit.format.shift", lang))
        await admin.send(f"10:00-19:00 {other}")
        week = await admin.wait_for_message(
            t("catalog_edit.schedule.title", lang, name=specialist, location=location)
        )
        assert f"10:00-19:00 · {workplace}" in (week.text or "")

        # The impact screen names the touched appointment's service and specialist.
        await admin.press(t("admin.btn.back", lang))
        await admin.wait_for_message(t("catalog_edit.card.specialist", lang))
        await admin.press(t("catalog_edit.btn.off", lang))
        preview = await admin.wait_for_message(t("catalog.touched.header", lang, count=1))
        assert service in (preview.text or "") and specialist in (preview.text or "")
        await admin.press(t("catalog.btn.keep", lang))
        await admin.wait_for_message(t("catalog.applied_kept", lang, count=1))

        # The catalog screen's own lists: close a date at a location, switch a specialist.
        await admin.send("/admin")
        await admin.wait_for_message(t("admin.menu.title", lang))
        await admin.press(t("catalog.menu", lang))
        await admin.wait_for_message(t("catalog.screen", lang))
        await admin.press(t("catalog.btn.holiday", lang))
        places = await admin.wait_for_message(t("catalog.holiday.pick", lang))
        assert location in places.button_texts()
        await admin.send("/admin")
        await admin.wait_for_message(t("admin.menu.title", lang))
        await admin.press(t("catalog.menu", lang))
        await admin.wait_for_message(t("catalog.screen", lang))
        await admin.press(t("catalog.btn.specialists", lang))
        people = await admin.wait_for_message(t("catalog.specialists.pick", lang))
        assert f"⛔ {specialist}" in people.button_texts()

        await admin.send("/admin")
        await admin.wait_for_message(t("admin.menu.title", lang))
        await admin.press(t("admin.menu.audit", lang))
        audit = await admin.wait_for_message(lambda m: "specialist.deactivated" in (m.text or ""))
        assert f"{specialist} (#{cat.specialist_ids[0]})" in (audit.text or "")
    async with session_factory() as s:
        pinned_to = await s.scalar(
            text(
                "SELECT workplace_id FROM specialist_schedules WHERE specialist_id = :s "
                "AND day_of_week = 5"
            ),
            {"s": cat.specialist_ids[0]},
        )
    assert pinned_to == cat.workplace_ids[0]
