"""The catalog file in the chat: an admin sends the catalog YAML as a document and gets the
same checks as `python -m bot catalog import`, then what it would change (created, updated,
deactivated, and the booked appointments it touches) with Apply / Cancel.

The role is checked on the server for the document and for every button. The file waits in
the admin's conversation data between the preview and the press (a stale press finds nothing
and says so); apply is one transaction with its audit row.
"""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from dishka import FromDishka

from bot.catalog.checks import CatalogError
from bot.domain.errors import NotAllowed
from bot.domain.tz import wall
from bot.i18n import Translator
from bot.ioc.types import Now
from bot.keyboards.catalog_file import (
    CatalogFileAction,
    CatalogFileCb,
    catalog_file_keyboard,
    catalog_screen_keyboard,
)
from bot.services.admin_gate import AdminGate
from bot.services.catalog_file import MAX_FILE_BYTES, CatalogFileService
from bot.services.catalog_impact import Impact, ImpactChanged

FILE_KEY = "catalog_file"
EXPECTED_KEY = "catalog_expected"
SHOWN_TOUCHED = 10


def render_preview(impact: Impact, i18n: Translator) -> str:
    """The import summary (the CLI's lines) and the touched appointments, soonest first."""
    lines = [i18n("catalog.preview.title")]
    lines += impact.summary.lines() if impact.summary is not None else []
    if not impact.touched:
        lines.append(i18n("catalog.touched.none"))
        return "\n".join(lines)
    lines.append(i18n("catalog.touched.header", count=len(impact.touched)))
    for t in impact.touched[:SHOWN_TOUCHED]:
        local = wall(t.start, ZoneInfo(t.timezone))
        lines.append(
            i18n(
                "catalog.touched.line",
                when=f"{local:%d.%m %H:%M}",
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
    gate: FromDishka[AdminGate],
    files: FromDishka[CatalogFileService],
    now: FromDishka[Now],
) -> None:
    if message.from_user is None or message.document is None:
        return
    try:
        await gate.require(message.from_user.id)
    except NotAllowed:
        await message.answer(i18n("catalog.not_admin"))
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
    gate: FromDishka[AdminGate],
    files: FromDishka[CatalogFileService],
    now: FromDishka[Now],
) -> None:
    try:
        await gate.require(query.from_user.id)
    except NotAllowed:
        await query.answer(i18n("catalog.not_admin"), show_alert=True)
        return
    if callback_data.action is CatalogFileAction.export:
        await query.answer()
        await send_export(query.bot, query.from_user.id, files, i18n, now)
        return
    if callback_data.action is CatalogFileAction.screen:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.edit_text(
                i18n("catalog.screen"), reply_markup=catalog_screen_keyboard(i18n)
            )
        return
    data = await state.get_data()
    text, expected = data.get(FILE_KEY), data.get(EXPECTED_KEY)
    message = query.message if isinstance(query.message, Message) else None
    if not isinstance(text, str) or not isinstance(expected, list) or message is None:
        await query.answer(i18n("catalog.stale"), show_alert=True)
        return
    if callback_data.action is CatalogFileAction.drop:
        await state.update_data({FILE_KEY: None, EXPECTED_KEY: None})
        await query.answer()
        await message.edit_text(i18n("catalog.dropped"))
        return
    raw = text.encode()
    cancel = callback_data.action is CatalogFileAction.cancel
    try:
        done = await files.apply(
            raw,
            admin_tg_id=query.from_user.id,
            cancel_touched=cancel,
            expected=frozenset(int(i) for i in expected),
            now=now,
        )
    except ImpactChanged:
        fresh = await files.preview(raw, now=now)
        await state.update_data({EXPECTED_KEY: sorted(fresh.ids)})
        await query.answer(i18n("catalog.changed"), show_alert=True)
        await message.edit_text(
            render_preview(fresh, i18n),
            reply_markup=catalog_file_keyboard(len(fresh.touched), i18n),
        )
        return
    except CatalogError:
        await query.answer(i18n("catalog.stale"), show_alert=True)
        return
    await state.update_data({FILE_KEY: None, EXPECTED_KEY: None})
    await query.answer()
    outcome = (
        i18n("catalog.applied_cancelled", count=len(done.cancelled))
        if cancel
        else i18n("catalog.applied_kept", count=len(done.touched))
    )
    await message.edit_text(i18n("catalog.applied") + "\n" + outcome)


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
    router = Router(name="catalog_file")
    router.message.register(on_document, F.document)
    router.callback_query.register(on_button, CatalogFileCb.filter())
    return router
