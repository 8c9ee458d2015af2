"""The /admin menu: one message edited in place, Back and Close on every screen.

The whole admin router is behind the admin gate (`bot.handlers.admin_only`): a removed admin's
old buttons answer "admins only" and change nothing; each use case checks the role again in its
transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from dishka import FromDishka

from bot import formats
from bot.config import Settings
from bot.domain.admin_input import REASON_MAX, check_text, parse_day, parse_tg_id
from bot.domain.errors import (
    DomainError,
    InputProblem,
    InvalidInput,
    SlotTaken,
    SlotUnavailable,
)
from bot.domain.statuses import ACTIVE_STATUSES, ATTENDANCE_MARKS, AppointmentStatus
from bot.handlers.admin import clients, desk_booking, moving, screens
from bot.handlers.admin.common import ask, edit, pending_id, refuse, retry
from bot.i18n import Translator
from bot.ioc.types import Now
from bot.keyboards.admin import (
    AdminApptCb,
    AdminApptClientCb,
    AdminClientCb,
    AdminClientsCb,
    AdminDayCb,
    AdminDayDateCb,
    AdminDayPickCb,
    AdminDeskPayCb,
    AdminInviteCb,
    AdminNavCb,
    AdminRemoveCb,
    AdminScreen,
    AdminWorkplaceCb,
    ApptAction,
    ClientListPurpose,
    DayKind,
    InviteAction,
    menu_keyboard,
    parse_day_code,
)
from bot.services.admin.audit import AuditService
from bot.services.admin.clients import ClientDesk
from bot.services.admin.day import DayDesk
from bot.services.admin.invites import InviteService
from bot.services.admin.roles import AdminRoles
from bot.services.booking import BookingService
from bot.states import AdminStates
from bot.telegram import edit_text

__all__ = ["edit", "register"]

STATUS = {ApptAction.completed: "completed", ApptAction.no_show: "no_show"}
# Buttons that ask the admin to type something first: the state and the question.
ASK = {
    ApptAction.cancel: (AdminStates.cancel_reason, "admin.cancel.ask_reason"),
    ApptAction.move: (AdminStates.move_to, "admin.move.ask"),
}
APPOINTMENT_KEY = "appointment_id"
DAY_TARGET_KEY = "desk_day_target"


def menu_text(i18n: Translator) -> str:
    """The menu's title with the commands that have no button (/stats with a period)."""
    return i18n("admin.menu.title") + "\n" + i18n("admin.menu.hint")


async def on_admin(message: Message, state: FSMContext, i18n: Translator) -> None:
    await state.clear()
    await message.answer(menu_text(i18n), reply_markup=menu_keyboard(i18n))


async def on_nav(
    query: CallbackQuery,
    callback_data: AdminNavCb,
    state: FSMContext,
    i18n: Translator,
    roles: FromDishka[AdminRoles],
    audit: FromDishka[AuditService],
    desk: FromDishka[ClientDesk],
    day_desk: FromDishka[DayDesk],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    admin, screen, page = query.from_user.id, callback_data.screen, callback_data.page
    message = query.message if isinstance(query.message, Message) else None
    try:
        if screen is AdminScreen.close:
            await state.set_state(None)
            if message is not None:
                await edit_text(message, i18n("admin.closed"))
            await query.answer()
        elif screen is AdminScreen.home:
            await state.set_state(None)
            await edit(query, menu_text(i18n), menu_keyboard(i18n))
        elif screen in (AdminScreen.clients, AdminScreen.book):
            purpose = ClientListPurpose(screen.value if screen is AdminScreen.book else "card")
            await clients.open_list(query, state, desk, purpose, page, i18n, new_search=True)
        elif screen is AdminScreen.new_client:
            await query.answer()
            await ask(message, state, AdminStates.new_client, i18n("admin.new_client.ask"))
        elif screen is AdminScreen.add_admin:
            await roles.require(admin)
            await query.answer()
            await ask(message, state, AdminStates.add_admin, i18n("admin.admins.ask"))
        elif screen is AdminScreen.day:
            today = screens.local_today(now, settings)
            await edit(
                query, *await screens.day_pick(day_desk, admin, DayKind.location, today, 0, i18n)
            )
        elif screen is AdminScreen.admins:
            await edit(query, *await screens.admins_screen(roles, admin, i18n))
        elif screen is AdminScreen.audit:
            await edit(query, *await screens.audit_screen(audit, admin, page, i18n, settings))
        elif screen is AdminScreen.invites:
            await edit(query, *await screens.invites_screen(day_desk, admin, page, i18n))
    except DomainError as exc:
        await refuse(query, exc, i18n)


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
        screen = await screens.day_screen(
            day_desk,
            query.from_user.id,
            callback_data.kind,
            callback_data.target_id,
            day,
            i18n,
            settings,
        )
        await edit(query, *screen)
    except DomainError as exc:
        await refuse(query, exc, i18n)


async def on_day_pick(
    query: CallbackQuery,
    callback_data: AdminDayPickCb,
    i18n: Translator,
    day_desk: FromDishka[DayDesk],
) -> None:
    day = parse_day_code(callback_data.day)
    if day is None:
        await query.answer(i18n("admin.stale"), show_alert=True)
        return
    try:
        admin, kind, page = query.from_user.id, callback_data.kind, callback_data.page
        await edit(query, *await screens.day_pick(day_desk, admin, kind, day, page, i18n))
    except DomainError as exc:
        await refuse(query, exc, i18n)


async def on_day_date(
    query: CallbackQuery, callback_data: AdminDayDateCb, state: FSMContext, i18n: Translator
) -> None:
    """ "Pick a date" on a day view: the admin types it."""
    await query.answer()
    message = query.message if isinstance(query.message, Message) else None
    target = {"kind": callback_data.kind.value, "id": callback_data.target_id}
    await ask(
        message, state, AdminStates.day_date, i18n("admin.day.ask_date"), {DAY_TARGET_KEY: target}
    )


async def on_day_date_typed(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    day_desk: FromDishka[DayDesk],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    target = (await state.get_data()).get(DAY_TARGET_KEY)
    if message.from_user is None or not isinstance(target, dict):
        await state.set_state(None)
        return
    try:
        day = parse_day((message.text or "").strip(), screens.local_today(now, settings))
        kind, target_id = DayKind(target.get("kind")), int(target.get("id", 0))
        text, markup = await screens.day_screen(
            day_desk, message.from_user.id, kind, target_id, day, i18n, settings
        )
    except InvalidInput as exc:
        await retry(message, exc, i18n, i18n("admin.day.ask_date"))  # the state stays
        return
    except (DomainError, ValueError) as exc:
        if isinstance(exc, DomainError):
            await refuse(message, exc, i18n)  # the state stays: type again
        else:
            await state.set_state(None)
        return
    await state.set_state(None)
    await message.answer(text, reply_markup=markup)


# The statuses each appointment button acts on; pressed on an appointment in another status
# (an old card), it changes nothing and shows the appointment as it is now.
ACTS_ON = {
    ApptAction.cancel: {AppointmentStatus.BOOKED},
    ApptAction.move: {AppointmentStatus.BOOKED},
    ApptAction.workplace: {AppointmentStatus.BOOKED},
    # A mark can be changed; a cancelled appointment cannot be marked.
    ApptAction.completed: set(ACTIVE_STATUSES),
    ApptAction.no_show: set(ACTIVE_STATUSES),
    ApptAction.undo_mark: set(ATTENDANCE_MARKS),
}


async def on_appointment(
    query: CallbackQuery,
    callback_data: AdminApptCb,
    state: FSMContext,
    i18n: Translator,
    booking: FromDishka[BookingService],
    desk: FromDishka[ClientDesk],
    day_desk: FromDishka[DayDesk],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    card = screens.ApptCard(booking, desk, query.from_user.id, i18n, settings, now)
    actor = card.actor
    appointment_id, action = callback_data.appointment_id, callback_data.action
    try:
        view = await booking.get(appointment_id, actor=actor)
        if action in ACTS_ON and view.status not in ACTS_ON[action]:
            await screens.show_as_it_is(query, card, appointment_id)
            return
        if action in ASK:
            next_state, question = ASK[action]
            await query.answer()
            message = query.message if isinstance(query.message, Message) else None
            await ask(message, state, next_state, i18n(question), {APPOINTMENT_KEY: view.id})
            return
        if action is ApptAction.workplace:
            try:
                choices = await booking.workplace_choices(appointment_id, actor=actor, now=now)
                choices = await day_desk.workplace_names(query.from_user.id, choices, i18n.locale)
            except SlotUnavailable:  # it starts within the minimum notice, as any move
                await query.answer(i18n("admin.workplace.too_late"), show_alert=True)
                return
            await edit(query, *screens.workplace_screen(view, choices, i18n))
            return
        if action in STATUS:
            view = await booking.mark_status(
                appointment_id, actor=actor, status=STATUS[action], now=now
            )
        elif action is ApptAction.undo_mark:
            view = await booking.undo_mark(appointment_id, actor=actor, now=now)
        await edit(query, *await screens.appointment_screen(card, view))
    except DomainError as exc:
        await screens.refuse_action(query, exc, card, appointment_id)


async def on_workplace(
    query: CallbackQuery,
    callback_data: AdminWorkplaceCb,
    i18n: Translator,
    booking: FromDishka[BookingService],
    desk: FromDishka[ClientDesk],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    """Move the appointment to the chosen workplace and pin it there (the use case checks the
    admin role in its transaction and writes the audit row)."""
    card = screens.ApptCard(booking, desk, query.from_user.id, i18n, settings, now)
    appointment_id = callback_data.appointment_id
    try:
        view = await booking.move_workplace(
            appointment_id, actor=card.actor, workplace_id=callback_data.workplace_id, now=now
        )
    except SlotTaken:
        await query.answer(i18n("admin.workplace.taken"), show_alert=True)
        return
    except SlotUnavailable:
        await query.answer(i18n("admin.workplace.too_late"), show_alert=True)
        return
    except DomainError as exc:
        await screens.refuse_action(query, exc, card, appointment_id)
        return
    text, markup = await screens.appointment_screen(card, view)
    done = i18n("admin.workplace.done", workplace=view.in_language(i18n.locale).workplace_name)
    await edit(query, f"{done}\n\n{text}", markup)


async def on_cancel_reason(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    booking: FromDishka[BookingService],
    desk: FromDishka[ClientDesk],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    appointment_id = await pending_id(state, APPOINTMENT_KEY)
    if appointment_id is None or message.from_user is None:
        return
    card = screens.ApptCard(booking, desk, message.from_user.id, i18n, settings, now)
    try:
        reason = check_text(
            message.text, REASON_MAX, required=True, empty=InputProblem.REASON_EMPTY
        )
    except InvalidInput as exc:
        await retry(message, exc, i18n, i18n("admin.cancel.ask_reason"))  # the state stays
        return
    await state.set_state(None)
    try:
        result = await booking.cancel(appointment_id, actor=card.actor, now=now, reason=reason)
    except DomainError as exc:
        # Cancelled (or marked) meanwhile, by the client or another admin: one refund only.
        await screens.refuse_action(message, exc, card, appointment_id)
        return
    refund = formats.money(result.refund, settings.currency, i18n.locale)
    await message.answer(i18n("admin.cancel.done", refund=refund))


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
            await edit_text(query.message, text, markup)
    except DomainError as exc:
        await refuse(query, exc, i18n)


async def add_admin(message: Message, roles: AdminRoles, i18n: Translator, target: int) -> None:
    """Make `target` an admin and say so (or that they already were)."""
    if message.from_user is None:
        return
    added = await roles.add(message.from_user.id, target)
    key = "admin.admins.done_add" if added else "admin.admins.already"
    await message.answer(i18n(key, tg_id=target))


async def on_add_admin_input(
    message: Message, state: FSMContext, i18n: Translator, roles: FromDishka[AdminRoles]
) -> None:
    """The new admin: a forwarded message from them, their shared contact, or their id typed.
    A forward whose sender hides their account gets the privacy explanation; text that is no
    Telegram id is told so with the question again (the state stays: type again)."""
    if screens.hides_sender(message):
        await message.answer(i18n("admin.admins.ask_again"))
        return
    try:
        target = screens.user_id_of(message) or parse_tg_id(message.text or "")
    except InvalidInput as exc:
        await retry(message, exc, i18n, i18n("admin.admins.ask"))
        return
    await state.set_state(None)
    try:
        await add_admin(message, roles, i18n, target)
    except DomainError as exc:
        await refuse(message, exc, i18n)


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
        names = {c.id: c.name for c in await day_desk.specialists(admin, i18n.locale)}
        name = names.get(specialist_id, str(specialist_id))
        key = "admin.invite.unlinked" if unlinked else "admin.invite.nothing_linked"
        await query.answer(i18n(key, specialist=name), show_alert=True)
        if isinstance(query.message, Message):
            text, markup = await screens.invites_screen(day_desk, admin, 0, i18n)
            await edit_text(query.message, text, markup)
    except DomainError as exc:
        await refuse(query, exc, i18n)


def register(router: Router) -> None:
    """The menu's commands, buttons and typed answers (on the gated admin router)."""
    router.message.register(on_admin, Command("admin"))
    typed: dict[State, Callable[..., Awaitable[None]]] = {
        AdminStates.cancel_reason: on_cancel_reason,
        AdminStates.move_to: moving.on_move_to,
        AdminStates.client_query: clients.on_search,
        AdminStates.new_client: clients.on_new_client,
        AdminStates.client_notes: clients.on_card_value,
        AdminStates.client_topup: clients.on_card_value,
        AdminStates.client_adjust: clients.on_card_value,
        AdminStates.client_discount: clients.on_card_value,
        AdminStates.day_date: on_day_date_typed,
    }
    for state, handler in typed.items():
        router.message.register(handler, StateFilter(state), F.text, ~F.text.startswith("/"))
    # A forwarded message or a shared contact, or the id typed.
    router.message.register(
        on_add_admin_input, StateFilter(AdminStates.add_admin), ~F.text.startswith("/")
    )
    router.callback_query.register(on_nav, AdminNavCb.filter())
    router.callback_query.register(clients.on_clients, AdminClientsCb.filter())
    router.callback_query.register(clients.on_client, AdminClientCb.filter())
    router.callback_query.register(clients.on_appointment_client, AdminApptClientCb.filter())
    router.callback_query.register(on_day, AdminDayCb.filter())
    router.callback_query.register(on_day_pick, AdminDayPickCb.filter())
    router.callback_query.register(on_day_date, AdminDayDateCb.filter())
    router.callback_query.register(on_appointment, AdminApptCb.filter())
    router.callback_query.register(on_workplace, AdminWorkplaceCb.filter())
    router.callback_query.register(on_remove_admin, AdminRemoveCb.filter())
    router.callback_query.register(on_invite, AdminInviteCb.filter())
    router.callback_query.register(desk_booking.on_desk_pay, AdminDeskPayCb.filter())
