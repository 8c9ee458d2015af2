"""The /admin menu: one message edited in place, Back and Close on every screen.

Every button first passes the server-side role check (`AdminRoles.require` or the use case's
own check in its transaction): a removed admin's old buttons answer "admins only" and change
nothing.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from dishka import FromDishka

from bot.config import Settings
from bot.domain.admin_input import REASON_MAX, check_text
from bot.domain.errors import DomainError
from bot.handlers.admin import moving, screens
from bot.handlers.admin.render import refusal_text
from bot.handlers.admin.shortcuts import allowed
from bot.handlers.render_booking import format_money
from bot.i18n import Translator
from bot.ioc.types import Now
from bot.keyboards.admin import (
    AdminApptCb,
    AdminClientCb,
    AdminDayCb,
    AdminInviteCb,
    AdminNavCb,
    AdminRemoveCb,
    AdminScreen,
    ApptAction,
    ClientAction,
    InviteAction,
    menu_keyboard,
    parse_day_code,
)
from bot.services.admin.audit import AuditService
from bot.services.admin.clients import ClientDesk
from bot.services.admin.day import DayDesk
from bot.services.admin.invites import InviteService
from bot.services.admin.roles import AdminRoles
from bot.services.booking import Actor, BookingService
from bot.states import AdminStates

STATUS = {ApptAction.completed: "completed", ApptAction.no_show: "no_show"}
# Buttons that ask the admin to type something first: the state and the question.
ASK = {
    ApptAction.cancel: (AdminStates.cancel_reason, "admin.cancel.ask_reason"),
    ApptAction.move: (AdminStates.move_to, "admin.move.ask"),
}


async def edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    await query.answer()


def menu_text(i18n: Translator) -> str:
    """The menu's title with the commands that have no button (/stats with a period)."""
    return i18n("admin.menu.title") + "\n" + i18n("admin.menu.hint")


async def refused(query: CallbackQuery, exc: DomainError, i18n: Translator) -> None:
    """Answer a refused button with an alert (the screen stays as it was)."""
    text = refusal_text(exc, i18n)
    if text is None:
        raise exc
    await query.answer(text, show_alert=True)


async def on_admin(
    message: Message, state: FSMContext, i18n: Translator, roles: FromDishka[AdminRoles]
) -> None:
    if await allowed(message, roles, i18n) is None:
        return
    await state.clear()
    await message.answer(menu_text(i18n), reply_markup=menu_keyboard(i18n))


async def on_nav(
    query: CallbackQuery,
    callback_data: AdminNavCb,
    bot: Bot,
    i18n: Translator,
    roles: FromDishka[AdminRoles],
    audit: FromDishka[AuditService],
    day_desk: FromDishka[DayDesk],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    admin = query.from_user.id
    try:
        await roles.require(admin)
        screen = callback_data.screen
        if screen is AdminScreen.close:
            if isinstance(query.message, Message):
                await query.message.edit_text(i18n("admin.closed"))
            await query.answer()
            return
        if screen is AdminScreen.home:
            await edit(query, menu_text(i18n), menu_keyboard(i18n))
        elif screen is AdminScreen.clients:
            await edit(query, i18n("admin.clients.ask"), screens.keyboard([], i18n))
        elif screen is AdminScreen.day:
            await edit(
                query,
                *await screens.day_pick(day_desk, admin, screens.local_today(now, settings), i18n),
            )
        elif screen is AdminScreen.admins:
            await edit(query, *await screens.admins_screen(roles, admin, i18n))
        elif screen is AdminScreen.audit:
            await edit(
                query, *await screens.audit_screen(audit, admin, callback_data.page, i18n, settings)
            )
        elif screen is AdminScreen.invites:
            await edit(
                query, *await screens.invites_screen(day_desk, admin, callback_data.page, i18n)
            )
    except DomainError as exc:
        await refused(query, exc, i18n)


async def on_client(
    query: CallbackQuery,
    callback_data: AdminClientCb,
    i18n: Translator,
    desk: FromDishka[ClientDesk],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    admin, client_id = query.from_user.id, callback_data.client_id
    try:
        if callback_data.action is not ClientAction.card:
            blocked = callback_data.action is ClientAction.block
            await desk.set_blocked(admin, client_id, blocked)
        await edit(query, *await screens.client_card(desk, admin, client_id, i18n, settings, now))
    except DomainError as exc:
        await refused(query, exc, i18n)


async def on_day(
    query: CallbackQuery,
    callback_data: AdminDayCb,
    i18n: Translator,
    day_desk: FromDishka[DayDesk],
    settings: FromDishka[Settings],
) -> None:
    day = parse_day_code(callback_data.day)
    if day is None:
        await query.answer(i18n("admin.stale"), show_alert=True)
        return
    try:
        await edit(
            query,
            *await screens.day_screen(
                day_desk,
                query.from_user.id,
                callback_data.kind,
                callback_data.target_id,
                day,
                i18n,
                settings,
            ),
        )
    except DomainError as exc:
        await refused(query, exc, i18n)


async def on_appointment(
    query: CallbackQuery,
    callback_data: AdminApptCb,
    state: FSMContext,
    i18n: Translator,
    roles: FromDishka[AdminRoles],
    booking: FromDishka[BookingService],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    actor = Actor(kind="admin", id=query.from_user.id)
    appointment_id, action = callback_data.appointment_id, callback_data.action
    try:
        if action in ASK:
            await roles.require(actor.id)
            next_state, ask = ASK[action]
            await state.set_state(next_state)
            await state.update_data(appointment_id=appointment_id)
            if isinstance(query.message, Message):
                await query.message.answer(i18n(ask))
            await query.answer()
            return
        if action in STATUS:
            view = await booking.mark_status(
                appointment_id, actor=actor, status=STATUS[action], now=now
            )
        else:
            view = await booking.get(appointment_id, actor=actor)
        await edit(query, *screens.appointment_screen(view, i18n, settings))
    except DomainError as exc:
        await refused(query, exc, i18n)


async def on_cancel_reason(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    booking: FromDishka[BookingService],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    if message.from_user is None:
        return
    data = await state.get_data()
    appointment_id = data.get("appointment_id")
    if not isinstance(appointment_id, int):
        await state.clear()
        return
    try:
        reason = check_text(message.text, REASON_MAX, required=True)
        result = await booking.cancel(
            appointment_id,
            actor=Actor(kind="admin", id=message.from_user.id),
            now=now,
            reason=reason,
        )
    except DomainError as exc:
        text = refusal_text(exc, i18n)
        await state.clear()
        if text is None:
            raise
        await message.answer(text)
        return
    await state.clear()
    await message.answer(
        i18n(
            "admin.cancel.done",
            refund=format_money(result.refund, settings.currency),
        )
    )


async def on_remove_admin(
    query: CallbackQuery,
    callback_data: AdminRemoveCb,
    i18n: Translator,
    roles: FromDishka[AdminRoles],
) -> None:
    admin = query.from_user.id
    try:
        removed = await roles.remove(admin, callback_data.tg_id)
        key = "admin.admins.done_remove" if removed else "admin.admins.not_stored"
        await query.answer(i18n(key, tg_id=callback_data.tg_id), show_alert=True)
        if admin != callback_data.tg_id and isinstance(query.message, Message):
            text, markup = await screens.admins_screen(roles, admin, i18n)
            await query.message.edit_text(text, reply_markup=markup)
    except DomainError as exc:
        await refused(query, exc, i18n)


async def on_invite(
    query: CallbackQuery,
    callback_data: AdminInviteCb,
    bot: Bot,
    i18n: Translator,
    invites: FromDishka[InviteService],
    day_desk: FromDishka[DayDesk],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    admin, specialist_id = query.from_user.id, callback_data.specialist_id
    try:
        if callback_data.action is InviteAction.create:
            text = await screens.invite_text(
                invites, admin, specialist_id, bot, i18n, settings, now
            )
            if isinstance(query.message, Message):
                await query.message.answer(text)
            await query.answer()
            return
        unlinked = await invites.unlink(admin, specialist_id)
        key = "admin.invite.unlinked" if unlinked else "admin.invite.nothing_linked"
        await query.answer(i18n(key, specialist=specialist_id), show_alert=True)
    except DomainError as exc:
        await refused(query, exc, i18n)


def register(router: Router) -> None:
    router.message.register(on_admin, Command("admin"))
    router.message.register(on_cancel_reason, StateFilter(AdminStates.cancel_reason), F.text)
    router.message.register(moving.on_move_to, StateFilter(AdminStates.move_to), F.text)
    router.callback_query.register(on_nav, AdminNavCb.filter())
    router.callback_query.register(on_client, AdminClientCb.filter())
    router.callback_query.register(on_day, AdminDayCb.filter())
    router.callback_query.register(on_appointment, AdminApptCb.filter())
    router.callback_query.register(on_remove_admin, AdminRemoveCb.filter())
    router.callback_query.register(on_invite, AdminInviteCb.filter())
