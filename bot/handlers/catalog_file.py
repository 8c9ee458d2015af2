"""The catalog file in the chat: an admin sends the catalog YAML as a document and gets the
same checks as `python -m bot catalog import`, then what it would change (created, updated,
deactivated, and the booked appointments it touches) with Apply / Cancel.

The role is checked on the server for the document, every button and every typed answer by
the admin gate of the router (an `AdminRouter`, `bot.middlewares.admin_only`), before the
handler runs. The file waits in
the admin's conversation data between the preview and the press (a stale press finds nothing
and says so); apply is one transaction with its audit row.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, Message
from dishka import FromDishka

from bot import formats
from bot.catalog.checks import CatalogError
from bot.config import Settings
from bot.domain.errors import DomainError, NotFound
from bot.domain.periods import BadPeriod, parse_day
from bot.handlers.admin.menu import edit
from bot.handlers.admin.screens import local_today
from bot.handlers.admin_only import AdminRouter
from bot.i18n import Translator
from bot.ioc.types import Now
from bot.keyboards.admin import AdminNavCb, AdminScreen
from bot.keyboards.catalog_edit import editor_buttons
from bot.keyboards.catalog_file import (
    CatalogFileAction,
    CatalogFileCb,
    HolidayLocationCb,
    SpecialistActiveCb,
    catalog_file_keyboard,
    catalog_screen_keyboard,
    locations_keyboard,
    specialists_keyboard,
)
from bot.services.catalog_changes import CatalogChange, PutHoliday, SetActive
from bot.services.catalog_editor import CatalogEditor, Edit
from bot.services.catalog_file import MAX_FILE_BYTES, CatalogFileService
from bot.services.catalog_impact import Impact, ImpactChanged
from bot.services.stats import Scope, StatsService
from bot.states import CatalogEdit
from bot.telegram import edit_text

FILE_KEY = "catalog_file"
HOLIDAY_KEY = "catalog_holiday"
HOLIDAY_LOCATION_KEY = "catalog_holiday_location"
ACTIVE_KEY = "catalog_active"
TITLE_KEY = "catalog_title"
EXPECTED_KEY = "catalog_expected"
# An edit from the catalog editor (`bot.handlers.catalog_edit`) waiting for keep / cancel.
PENDING_EDIT_KEY = "catalog_edit_pending"
SHOWN_TOUCHED = 10


def render_preview(impact: Impact, i18n: Translator, title: str | None = None) -> str:
    """What the change is (`title`, or a file's import summary: the CLI's lines) and the
    touched appointments, soonest first, named in the admin's language."""
    lines = [title or i18n("catalog.preview.title")]
    lines += impact.summary.lines() if impact.summary is not None else []
    if not impact.touched:
        lines.append(i18n("catalog.touched.none"))
        return "\n".join(lines)
    lines.append(i18n("catalog.touched.header", count=len(impact.touched)))
    for touched in impact.touched[:SHOWN_TOUCHED]:
        t = touched.in_language(i18n.locale)
        lines.append(
            i18n(
                "catalog.touched.line",
                when=formats.day_time(t.start, t.timezone, i18n.locale),
                service=t.service,
                specialist=t.specialist,
                client=t.client,
            )
        )
    if len(impact.touched) > SHOWN_TOUCHED:
        lines.append(i18n("catalog.touched.more", count=len(impact.touched) - SHOWN_TOUCHED))
    return "\n".join(lines)


async def on_document(
    message: Message,
    bot: Bot,
    state: FSMContext,
    i18n: Translator,
    files: FromDishka[CatalogFileService],
    now: FromDishka[Now],
) -> None:
    if message.from_user is None or message.document is None:
        return
    if (message.document.file_size or 0) > MAX_FILE_BYTES:
        await message.answer(i18n("catalog.too_big", limit=MAX_FILE_BYTES // 1000))
        return
    buffer = io.BytesIO()
    await bot.download(message.document, destination=buffer)
    raw = buffer.getvalue()
    try:
        impact = await files.preview(raw, now=now)
    except CatalogError as exc:
        header = i18n("catalog.invalid", count=len(exc.issues))
        await message.answer("\n".join([header, *exc.issues]))
        return
    await state.update_data({FILE_KEY: raw.decode("utf-8-sig"), EXPECTED_KEY: sorted(impact.ids)})
    await message.answer(
        render_preview(impact, i18n), reply_markup=catalog_file_keyboard(len(impact.touched), i18n)
    )


async def on_button(
    query: CallbackQuery,
    callback_data: CatalogFileCb,
    state: FSMContext,
    i18n: Translator,
    files: FromDishka[CatalogFileService],
    editor: FromDishka[CatalogEditor],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    if callback_data.action is CatalogFileAction.export:
        await query.answer()
        await send_export(query.bot, query.from_user.id, files, i18n, now)
        return
    if callback_data.action is CatalogFileAction.specialists:
        pick = specialists_keyboard(await files.specialists(i18n.locale))
        await edit(query, i18n("catalog.specialists.pick"), pick)
        return
    if callback_data.action is CatalogFileAction.holiday:
        await edit(
            query,
            i18n("catalog.holiday.pick"),
            locations_keyboard(await files.locations(i18n.locale)),
        )
        return
    if callback_data.action is CatalogFileAction.screen:
        back = InlineKeyboardButton(
            text=i18n("catalog.btn.back"),
            callback_data=AdminNavCb(screen=AdminScreen.home).pack(),
        )
        screen = catalog_screen_keyboard(i18n, back, editor_buttons(i18n))
        await edit(query, i18n("catalog.screen"), screen)
        return
    data = await state.get_data()
    expected = data.get(EXPECTED_KEY)
    message = query.message if isinstance(query.message, Message) else None
    try:
        change = await _pending(data, files, editor, local_today(now, settings))
    except (CatalogError, DomainError, ValueError):
        change = None
    if change is None or not isinstance(expected, list) or message is None:
        await query.answer(i18n("catalog.stale"), show_alert=True)
        return
    if callback_data.action is CatalogFileAction.drop:
        await forget(state)
        await query.answer()
        await edit_text(message, i18n("catalog.dropped"))
        return
    cancel = callback_data.action is CatalogFileAction.cancel
    try:
        done = await files.apply_change(
            change,
            admin_tg_id=query.from_user.id,
            cancel_touched=cancel,
            expected=frozenset(int(i) for i in expected),
            now=now,
        )
    except ImpactChanged:
        fresh = await files.preview_change(change, now=now)
        await state.update_data({EXPECTED_KEY: sorted(fresh.ids)})
        await query.answer(i18n("catalog.changed"), show_alert=True)
        await edit_text(
            message,
            render_preview(fresh, i18n, data.get(TITLE_KEY)),
            catalog_file_keyboard(len(fresh.touched), i18n),
        )
        return
    await forget(state)
    await query.answer()
    outcome = (
        i18n("catalog.applied_cancelled", count=len(done.cancelled))
        if cancel
        else i18n("catalog.applied_kept", count=len(done.touched))
    )
    await edit_text(message, i18n("catalog.applied") + "\n" + outcome)


async def _pending(
    data: dict[str, Any], files: CatalogFileService, editor: CatalogEditor, today: date
) -> CatalogChange | None:
    """The change waiting for Apply: a catalog file, a holiday, a specialist's state or an
    editor's change (built again against the database now). Raises `CatalogError` for a file
    that no longer reads (it was checked when sent), `DomainError` for an edit that no longer
    applies."""
    text, holiday, toggle = data.get(FILE_KEY), data.get(HOLIDAY_KEY), data.get(ACTIVE_KEY)
    edit = data.get(PENDING_EDIT_KEY)
    if isinstance(edit, dict):
        return (await editor.build(Edit.model_validate(edit), today)).change
    if isinstance(text, str):
        return files.change_of(text.encode())
    if isinstance(holiday, dict):
        return PutHoliday(int(holiday["location_id"]), date.fromisoformat(holiday["date"]))
    if isinstance(toggle, dict):
        return SetActive("specialist", int(toggle["specialist_id"]), bool(toggle["active"]))
    return None


async def forget(state: FSMContext) -> None:
    await state.update_data(
        {
            FILE_KEY: None,
            HOLIDAY_KEY: None,
            ACTIVE_KEY: None,
            PENDING_EDIT_KEY: None,
            EXPECTED_KEY: None,
            TITLE_KEY: None,
        }
    )


async def on_specialist_active(
    query: CallbackQuery,
    callback_data: SpecialistActiveCb,
    state: FSMContext,
    i18n: Translator,
    files: FromDishka[CatalogFileService],
    now: FromDishka[Now],
) -> None:
    names = {i: (name, active) for i, name, active in await files.specialists(i18n.locale)}
    found = names.get(callback_data.specialist_id)
    message = query.message if isinstance(query.message, Message) else None
    # A stale button: the specialist is gone, or already in the state it asks for.
    if found is None or found[1] == callback_data.active or message is None:
        await query.answer(i18n("catalog.stale"), show_alert=True)
        return
    change = SetActive("specialist", callback_data.specialist_id, callback_data.active)
    impact = await files.preview_change(change, now=now)
    verb = "reactivate" if callback_data.active else "deactivate"
    title = i18n(f"catalog.specialist.{verb}", name=found[0])
    await query.answer()
    await forget(state)
    await state.update_data(
        {
            ACTIVE_KEY: {
                "specialist_id": callback_data.specialist_id,
                "active": callback_data.active,
            },
            EXPECTED_KEY: sorted(impact.ids),
            TITLE_KEY: title,
        }
    )
    await edit_text(
        message,
        render_preview(impact, i18n, title),
        catalog_file_keyboard(len(impact.touched), i18n),
    )


async def on_holiday_location(
    query: CallbackQuery,
    callback_data: HolidayLocationCb,
    state: FSMContext,
    i18n: Translator,
    files: FromDishka[CatalogFileService],
) -> None:
    try:
        name = await files.location_name(callback_data.location_id, i18n.locale)
    except NotFound:
        await query.answer(i18n("catalog.stale"), show_alert=True)
        return
    await query.answer()
    await state.set_state(CatalogEdit.holiday_date)
    await state.update_data({HOLIDAY_LOCATION_KEY: callback_data.location_id})
    if isinstance(query.message, Message):
        await query.message.answer(i18n("catalog.holiday.ask", location=name))


async def on_holiday_date(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    files: FromDishka[CatalogFileService],
    stats: FromDishka[StatsService],
    now: FromDishka[Now],
) -> None:
    if message.from_user is None:
        return
    data = await state.get_data()
    location_id = data.get(HOLIDAY_LOCATION_KEY)
    try:
        if not isinstance(location_id, int):
            raise NotFound("no location chosen")
        name = await files.location_name(location_id, i18n.locale)
    except NotFound:
        await state.set_state(None)
        await message.answer(i18n("catalog.stale"))
        return
    today = await stats.today(Scope(location_id=location_id), now=now)
    try:
        day = parse_day(message.text or "", today)
    except BadPeriod as exc:
        await message.answer(
            i18n(f"catalog.holiday.bad.{exc.reason}") + "\n" + i18n("catalog.holiday.example")
        )
        return
    impact = await files.preview_change(PutHoliday(location_id, day), now=now)
    title = i18n("catalog.holiday.title", location=name, date=formats.day(day, i18n.locale))
    await state.set_state(None)
    await forget(state)
    await state.update_data(
        {
            HOLIDAY_KEY: {"location_id": location_id, "date": day.isoformat()},
            EXPECTED_KEY: sorted(impact.ids),
            TITLE_KEY: title,
        }
    )
    await message.answer(
        render_preview(impact, i18n, title),
        reply_markup=catalog_file_keyboard(len(impact.touched), i18n),
    )


async def send_export(
    bot: Bot | None, chat_id: int, files: CatalogFileService, i18n: Translator, now: Now
) -> None:
    """The current catalog as a YAML document (`catalog-YYYYMMDD.yaml`)."""
    if bot is None:
        return
    content = await files.export()
    await bot.send_document(
        chat_id,
        BufferedInputFile(content, f"catalog-{now:%Y%m%d}.yaml"),
        caption=i18n("catalog.exported"),
    )


def setup_router() -> Router:
    router = AdminRouter(name="catalog_file")
    router.message.register(on_document, F.document)
    router.callback_query.register(on_button, CatalogFileCb.filter())
    router.callback_query.register(on_holiday_location, HolidayLocationCb.filter())
    router.callback_query.register(on_specialist_active, SpecialistActiveCb.filter())
    router.message.register(on_holiday_date, CatalogEdit.holiday_date, F.text)
    return router
