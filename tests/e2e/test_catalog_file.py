"""The catalog file in the chat, end to end in Russian and English: a valid file shows what it
changes and the booked appointments it touches, then applies (keeping them, or cancelling them
with a full refund); a broken file lists its problems; a non-admin, a dropped preview and a
stale button change nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.catalog.exporter import export_catalog
from bot.catalog.yamlio import dump_catalog
from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.emulator.types import EmuMessage
from bot.emulator.users import SimUser
from bot.keyboards.catalog_file import CatalogFileAction, CatalogFileCb, SpecialistActiveCb
from tests.e2e.booking_support import TOMORROW_SHORT as TUE
from tests.e2e.booking_support import t
from tests.e2e.catalog_support import catalog_screen, editor
from tests.integration.factories import (
    NOW,
    Catalog,
    booking_request,
    build_engine,
    make_catalog,
    make_client,
    money_invariant_violations,
)

pytestmark = pytest.mark.usefixtures("clean_db")

ADMIN = 778_001


async def q(sessions: async_sessionmaker[AsyncSession], sql: str, **params: Any) -> Any:
    async with sessions() as s:
        return (await s.execute(text(sql), params)).scalar_one()


async def world(
    sessions: async_sessionmaker[AsyncSession], redis: Redis, prefix: str
) -> tuple[Catalog, int, bytes]:
    """Two specialists; the second has a booked appointment at START. Returns the catalog,
    that appointment and the current catalog file without the second specialist."""
    cat = await make_catalog(sessions, specialists=2)
    client = await make_client(sessions, balance=cat.price * 3)
    engine = build_engine(sessions, redis, prefix)
    request = booking_request(cat, client, specialist=cat.specialist_ids[1])
    view = await engine.booking.confirm(request, now=NOW)
    async with sessions() as s:
        current = await export_catalog(s)
    gone = await q(sessions, "SELECT name FROM specialists WHERE id = :i", i=cat.specialist_ids[1])
    smaller = current.model_copy(
        update={"specialists": [sp for sp in current.specialists if sp.name != gone]}
    )
    return cat, view.id, dump_catalog(smaller).encode()


async def open_catalog_screen(admin: SimUser, lang: str) -> EmuMessage:
    """/admin, then its Catalog button; the screen leads back to the menu."""
    screen = await catalog_screen(admin, lang)
    assert screen.find_button(t("catalog.btn.back", lang)) is not None
    return screen


@pytest.mark.parametrize(("lang", "cancel"), [("ru", True), ("en", False)])
async def test_a_valid_file_previews_then_applies(
    lang: str,
    cancel: bool,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    _, appointment, content = await world(session_factory, redis, redis_prefix)
    async with editor(emulator, make_bot_settings, lang, ADMIN) as (admin, _):
        await admin.send_document("catalog.yaml", content)
        preview = await admin.wait_for_message(t("catalog.touched.header", lang, count=1))
        assert "specialists: 1 deactivated" in (preview.text or "")
        assert f"{TUE[lang]} 10:00" in (preview.text or "")
        assert await q(session_factory, "SELECT count(*) FROM specialists WHERE is_active") == 2
        await admin.press(t("catalog.btn.cancel" if cancel else "catalog.btn.keep", lang))
        outcome = "catalog.applied_cancelled" if cancel else "catalog.applied_kept"
        await admin.wait_for_message(t(outcome, lang, count=1))
    assert await q(session_factory, "SELECT count(*) FROM specialists WHERE is_active") == 1
    status = await q(
        session_factory, "SELECT status FROM appointments WHERE id = :a", a=appointment
    )
    assert status == ("cancelled" if cancel else "booked")
    refunds = await q(
        session_factory, "SELECT count(*) FROM wallet_transactions WHERE kind = 'refund'"
    )
    assert refunds == (1 if cancel else 0)
    audit = (
        "SELECT count(*) FROM audit_log "
        "WHERE actor_tg_id = :a AND action {} 'appointment.cancelled'"
    )
    # The file's change is one row; each cancel it made is an admin's change with its own row.
    assert await q(session_factory, audit.format("<>"), a=ADMIN) == 1
    assert await q(session_factory, audit.format("="), a=ADMIN) == (1 if cancel else 0)
    async with session_factory() as s:
        assert await money_invariant_violations(s) == []


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_refusals_change_nothing(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    _, appointment, content = await world(session_factory, redis, redis_prefix)
    client = emulator.user(778_002, "Client", language_code=lang)
    async with editor(emulator, make_bot_settings, lang, ADMIN) as (admin, _):
        await client.send_document("catalog.yaml", content)
        await client.wait_for_message(t("admin.denied", lang))

        await admin.send_document("broken.yaml", b"locations: [\n  - name: X\n")
        broken = await admin.wait_for_message(t("catalog.invalid", lang, count=1))
        assert "invalid YAML" in (broken.text or "")
        await admin.send_document("catalog.yaml", b"\xff\xfe not text")
        await admin.wait_for_message(t("catalog.invalid", lang, count=1))

        # A button pressed with no file waiting (never sent, or already handled) is stale.
        await admin.press_data(CatalogFileCb(action=CatalogFileAction.keep).pack())
        assert (await admin.wait_for_callback_answer()).get("text") == t("catalog.stale", lang)

        await admin.send_document("catalog.yaml", content)
        await admin.wait_for_message(t("catalog.touched.header", lang, count=1))
        await client.press_data(CatalogFileCb(action=CatalogFileAction.cancel).pack())
        assert (await client.wait_for_callback_answer()).get("text") == t("admin.denied", lang)
        await admin.press(t("catalog.btn.drop", lang))
        await admin.wait_for_message(t("catalog.dropped", lang))
        await admin.press_data(CatalogFileCb(action=CatalogFileAction.cancel).pack())
        assert (await admin.wait_for_callback_answer()).get("text") == t("catalog.stale", lang)
    assert await q(session_factory, "SELECT count(*) FROM specialists WHERE is_active") == 2
    status = await q(
        session_factory, "SELECT status FROM appointments WHERE id = :a", a=appointment
    )
    assert status == "booked"
    assert await q(session_factory, "SELECT count(*) FROM audit_log") == 0


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_export_sends_the_catalog_that_imports_back_unchanged(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    await world(session_factory, redis, redis_prefix)
    client = emulator.user(778_002, "Client", language_code=lang)
    async with editor(emulator, make_bot_settings, lang, ADMIN) as (admin, _):
        screen = await open_catalog_screen(admin, lang)
        await admin.press(t("catalog.btn.export", lang))
        await admin.wait_for_message(t("catalog.exported", lang))
        [call] = emulator.calls_to("sendDocument", chat_id=ADMIN)[-1:]
        part = str(call.params["document"]).removeprefix("attach://")
        exported = call.params[part]
        assert exported["filename"] == f"catalog-{NOW:%Y%m%d}.yaml"
        assert screen.find_button(t("catalog.btn.export", lang)) is not None

        await admin.send_document(exported["filename"], exported["content"])
        same = await admin.wait_for_message(t("catalog.touched.none", lang))
        assert "no changes: the database already matches the file" in (same.text or "")

        await client.send("/stats")
        await client.wait_for_message(t("admin.denied", lang))
        await client.press_data(CatalogFileCb(action=CatalogFileAction.export).pack())
        answer = await client.wait_for_callback_answer()
        assert answer.get("text") == t("admin.denied", lang)
    assert emulator.calls_to("sendDocument", chat_id=client.id) == []


@pytest.mark.parametrize(("lang", "cancel"), [("ru", False), ("en", True)])
async def test_closing_a_date_with_rejected_inputs_then_the_impact_screen(
    lang: str,
    cancel: bool,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    cat, appointment, _ = await world(session_factory, redis, redis_prefix)
    location = await q(
        session_factory, "SELECT name FROM locations WHERE id = :i", i=cat.location_id
    )
    async with editor(emulator, make_bot_settings, lang, ADMIN) as (admin, _):
        await open_catalog_screen(admin, lang)
        await admin.press(t("catalog.btn.holiday", lang))
        await admin.wait_for_message(t("catalog.holiday.pick", lang))
        await admin.press(location)
        await admin.wait_for_message(t("catalog.holiday.ask", lang, location=location))
        for typed, reason in (("tomorrow", "format"), ("31.02", "date"), ("01.03.2031", "past")):
            await admin.send(typed)
            refusal = await admin.wait_for_message(t(f"catalog.holiday.bad.{reason}", lang))
            assert t("catalog.holiday.example", lang) in (refusal.text or "")
        assert await q(session_factory, "SELECT count(*) FROM holidays") == 0
        await admin.send("4.3")
        title = t("catalog.holiday.title", lang, location=location, date=TUE[lang])
        preview = await admin.wait_for_message(title)
        assert t("catalog.touched.header", lang, count=1) in (preview.text or "")
        await admin.press(t("catalog.btn.cancel" if cancel else "catalog.btn.keep", lang))
        outcome = "catalog.applied_cancelled" if cancel else "catalog.applied_kept"
        await admin.wait_for_message(t(outcome, lang, count=1))
        # The same preview pressed again is stale: the change was applied once.
        await admin.press_data(CatalogFileCb(action=CatalogFileAction.keep).pack())
        assert (await admin.wait_for_callback_answer()).get("text") == t("catalog.stale", lang)
    assert await q(session_factory, "SELECT count(*) FROM holidays WHERE NOT is_working") == 1
    status = await q(
        session_factory, "SELECT status FROM appointments WHERE id = :a", a=appointment
    )
    assert status == ("cancelled" if cancel else "booked")
    async with session_factory() as s:
        assert await money_invariant_violations(s) == []


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_deactivating_and_reactivating_a_specialist(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    cat, appointment, _ = await world(session_factory, redis, redis_prefix)
    spec = cat.specialist_ids[1]
    name = await q(session_factory, "SELECT name FROM specialists WHERE id = :i", i=spec)
    client = emulator.user(778_002, "Client", language_code=lang)
    async with editor(emulator, make_bot_settings, lang, ADMIN) as (admin, _):
        await open_catalog_screen(admin, lang)
        await admin.press(t("catalog.btn.specialists", lang))
        await admin.wait_for_message(t("catalog.specialists.pick", lang))
        await admin.press(f"✅ {name}")
        preview = await admin.wait_for_message(t("catalog.specialist.deactivate", lang, name=name))
        assert t("catalog.touched.header", lang, count=1) in (preview.text or "")
        await admin.press(t("catalog.btn.cancel", lang))
        await admin.wait_for_message(t("catalog.applied_cancelled", lang, count=1))
        assert (
            await q(session_factory, "SELECT is_active FROM specialists WHERE id = :i", i=spec)
            is False
        )

        # The old button asks for what is already done: stale, nothing changes.
        await admin.press_data(SpecialistActiveCb(specialist_id=spec, active=False).pack())
        assert (await admin.wait_for_callback_answer()).get("text") == t("catalog.stale", lang)
        await admin.press_data(SpecialistActiveCb(specialist_id=999_999, active=False).pack())
        assert (await admin.wait_for_callback_answer()).get("text") == t("catalog.stale", lang)
        await client.send("/stats")
        await client.wait_for_message(t("admin.denied", lang))
        await client.press_data(SpecialistActiveCb(specialist_id=spec, active=True).pack())
        assert (await client.wait_for_callback_answer()).get("text") == t("admin.denied", lang)

        await admin.press_data(CatalogFileCb(action=CatalogFileAction.specialists).pack())
        await admin.wait_for_message(lambda m: f"⛔ {name}" in m.button_texts())
        await admin.press(f"⛔ {name}")
        back = await admin.wait_for_message(t("catalog.specialist.reactivate", lang, name=name))
        assert t("catalog.touched.none", lang) in (back.text or "")
        await admin.press(t("catalog.btn.apply", lang))
        await admin.wait_for_message(t("catalog.applied_kept", lang, count=0))
    assert (
        await q(session_factory, "SELECT is_active FROM specialists WHERE id = :i", i=spec) is True
    )
    status = await q(
        session_factory, "SELECT status FROM appointments WHERE id = :a", a=appointment
    )
    assert status == "cancelled"
    actions = await q(
        session_factory,
        "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE entity = 'specialist'",
    )
    assert actions == "specialist.deactivated,specialist.reactivated"
