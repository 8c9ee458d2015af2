"""Statistics for admins: `/stats [period]` and its buttons (period, scope, chart and CSV).
While the screen is the admin's conversation, a period typed as text (`01.03-05.03`, `week`)
shows that period for the screen's scope, read by the same parser as `/stats`.

The router is an `AdminRouter`: the admin gate (`bot.middlewares.admin_only`) checks the role
on the server, read from PostgreSQL, before any of its handlers runs; the period and ids in a
button are re-validated. A refused or malformed
request gets a clear message and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from dishka import FromDishka

from bot.config import Settings
from bot.domain.errors import NotFound
from bot.domain.periods import BadPeriod, Period, period_from_token, period_token
from bot.handlers.admin_only import AdminRouter
from bot.handlers.stats_render import render_stats
from bot.i18n import Translator
from bot.ioc.types import Now
from bot.keyboards.stats import StatsAction, StatsCb, scope_of, stats_keyboard
from bot.ops.inline_filters import DataPrefix
from bot.services.stats import Scope, StatsService
from bot.services.stats_chart import render_chart
from bot.services.stats_export import StatsExport
from bot.states import AdminStates
from bot.telegram import edit_text

DEFAULT_PERIOD = "month"
# The screen's scope, kept while the admin may type a period.
LOCATION_KEY, SPECIALIST_KEY = "stats_location_id", "stats_specialist_id"


async def _await_period(state: FSMContext, scope: Scope) -> bool:
    """Let the admin type a period for `scope` next: True, or False when another conversation
    is in progress (a booking, a typed answer), which is left as it is."""
    if await state.get_state() not in (None, AdminStates.stats_period.state):
        return False
    await state.set_state(AdminStates.stats_period)
    await state.update_data({LOCATION_KEY: scope.location_id, SPECIALIST_KEY: scope.specialist_id})
    return True


async def _refuse_period(message: Message, exc: BadPeriod, i18n: Translator) -> None:
    await message.answer(i18n(f"stats.bad_period.{exc.reason}") + "\n" + i18n("stats.usage"))


async def on_stats(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    bot: Bot,
    i18n: Translator,
    stats: FromDishka[StatsService],
    export: FromDishka[StatsExport],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    if message.from_user is None:
        return
    try:
        period = await stats.period(command.args or DEFAULT_PERIOD, Scope(), now=now)
    except BadPeriod as exc:
        await _refuse_period(message, exc, i18n)
        return
    typed = await _await_period(state, Scope())
    await _show(message, None, stats, settings, i18n, period, Scope(), typed=typed)
    await _send_files(bot, message.chat.id, stats, export, i18n, period, Scope())


async def on_typed_period(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    stats: FromDishka[StatsService],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    """A period typed on the statistics screen: the figures of that period for the screen's
    scope, as a new screen (the chart and CSV files are its button); a bad period gets the
    same refusal as `/stats` and the screen stays."""
    data = await state.get_data()
    location, specialist = data.get(LOCATION_KEY), data.get(SPECIALIST_KEY)
    scope = Scope(
        location if isinstance(location, int) else None,
        specialist if isinstance(specialist, int) else None,
    )
    try:
        period = await stats.period(message.text or "", scope, now=now)
        await stats.scope_name(scope, i18n.locale)
    except BadPeriod as exc:
        await _refuse_period(message, exc, i18n)
        return
    except NotFound:  # the location or specialist was deleted meanwhile
        await state.set_state(None)
        await message.answer(i18n("admin.not_found"))
        return
    await _show(message, None, stats, settings, i18n, period, scope, typed=True)


async def on_button(
    query: CallbackQuery,
    callback_data: StatsCb,
    state: FSMContext,
    bot: Bot,
    i18n: Translator,
    stats: FromDishka[StatsService],
    export: FromDishka[StatsExport],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    scope = scope_of(callback_data)
    try:
        period = period_from_token(callback_data.period, await stats.today(scope, now=now))
        await stats.scope_name(scope, i18n.locale)
    except (BadPeriod, NotFound):
        await query.answer(i18n("stats.stale"), show_alert=True)
        return
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        await query.answer(i18n("stats.stale"), show_alert=True)
        return
    await query.answer()
    if callback_data.action is StatsAction.files:
        await _send_files(bot, message.chat.id, stats, export, i18n, period, scope)
        return
    listing = callback_data.action is StatsAction.specialists
    typed = await _await_period(state, scope)
    await _show(
        message,
        message,
        stats,
        settings,
        i18n,
        period,
        scope,
        typed=typed,
        list_specialists=listing,
    )


async def _show(
    message: Message,
    edit: Message | None,
    stats: StatsService,
    settings: Settings,
    i18n: Translator,
    period: Period,
    scope: Scope,
    *,
    typed: bool = False,
    list_specialists: bool = False,
) -> None:
    """The figures as text with the period and scope buttons: a new message, or `edit`;
    `typed` adds the line saying a period may be typed."""
    figures = await stats.figures(scope, period, i18n.locale)
    text = render_stats(
        figures, await stats.scope_name(scope, i18n.locale), settings.currency, i18n
    )
    if typed:
        text += "\n\n" + i18n("stats.type_period")
    markup = stats_keyboard(
        period_token(period),
        scope,
        await stats.choices(i18n.locale),
        i18n,
        list_specialists=list_specialists,
    )
    if edit is None:
        await message.answer(text, reply_markup=markup)
        return
    # The same screen pressed twice is "not modified": nothing to show.
    with contextlib.suppress(TelegramBadRequest):
        await edit_text(edit, text, markup)


async def _send_files(
    bot: Bot,
    chat_id: int,
    stats: StatsService,
    export: StatsExport,
    i18n: Translator,
    period: Period,
    scope: Scope,
) -> None:
    """The chart as a photo and the period's appointments and ledger as CSV documents."""
    figures = await stats.figures(scope, period, i18n.locale)
    png = await asyncio.to_thread(render_chart, figures, i18n.locale)
    stem = f"{period.first:%Y%m%d}-{period.last:%Y%m%d}"
    await bot.send_photo(
        chat_id, BufferedInputFile(png, f"stats-{stem}.png"), caption=i18n("stats.chart.caption")
    )
    await bot.send_document(
        chat_id,
        BufferedInputFile(
            await export.appointments_csv(scope, period, i18n.locale), f"appointments-{stem}.csv"
        ),
        caption=i18n("stats.csv.appointments"),
    )
    await bot.send_document(
        chat_id,
        BufferedInputFile(await export.ledger_csv(scope, period), f"ledger-{stem}.csv"),
        caption=i18n("stats.csv.ledger"),
    )


async def on_unparsable(query: CallbackQuery, i18n: Translator) -> None:
    """A statistics button whose fields are out of range (forged or from an older version)."""
    await query.answer(i18n("stats.stale"), show_alert=True)


def setup_router() -> Router:
    router = AdminRouter(name="stats")
    router.message.register(on_stats, Command("stats"))
    router.message.register(
        on_typed_period, StateFilter(AdminStates.stats_period), F.text, ~F.text.startswith("/")
    )
    router.callback_query.register(on_button, StatsCb.filter())
    router.callback_query.register(on_unparsable, DataPrefix.of(StatsCb))
    return router
