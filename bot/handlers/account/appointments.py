"""/my: the client's appointments (upcoming and past), one appointment's card, cancel with the
refund stated first, and "I'll come".

Every appointment id in a button is re-checked with `BookingService.get` for the pressing
client: another client's id is refused and nothing changes. A button that no longer fits the
appointment (already cancelled, already started) gets a short notice and the current card.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from dishka import FromDishka

from bot import formats
from bot.domain.errors import InvalidState, NotAllowed, NotFound
from bot.domain.statuses import AppointmentStatus
from bot.handlers.account import render
from bot.handlers.account.context import AccountDeps, show
from bot.handlers.account.ics import appointment_ics
from bot.handlers.render_booking import with_notice
from bot.keyboards.account import (
    AppointmentAction,
    AppointmentCb,
    MyListCb,
    MyPage,
    appointment_actions_keyboard,
    appointment_list_keyboard,
    back_to_list_keyboard,
    cancel_confirm_keyboard,
)
from bot.keyboards.common import MenuAction, MenuCb, with_home
from bot.services.booking import AppointmentView
from bot.services.change_policy import client_may_move
from bot.services.reschedule_flow import changeable
from bot.states import AccountFlow

LIST_LIMIT = 20


async def enter_account_step(state: FSMContext, step: State) -> None:
    """Remember the account step, so typed text gets its hint. A booking in progress stays the
    current flow instead: account buttons carry all they act on, and the booking's own buttons
    (its Confirm after a top-up, say) must keep working, its hold with them."""
    current = await state.get_state()
    if current is None or _is_account_step(current):
        await state.set_state(step)


async def leave_account_flow(state: FSMContext) -> None:
    """Forget an unfinished account step (other flows' states are left alone)."""
    current = await state.get_state()
    if current is not None and _is_account_step(current):
        await state.set_state(None)


def _is_account_step(state_name: str) -> bool:
    return state_name.startswith(AccountFlow.__full_group_name__ + ":")


async def own_appointment(
    query: CallbackQuery, deps: AccountDeps, appointment_id: int
) -> AppointmentView | None:
    """The appointment if it is the pressing client's; otherwise a refusal and None."""
    try:
        return await deps.booking.get(appointment_id, actor=deps.actor)
    except NotFound:
        await query.answer(deps.i18n("account.appt.not_found"), show_alert=True)
    except NotAllowed:
        await query.answer(deps.i18n("account.appt.not_yours"), show_alert=True)
    return None


async def show_card(
    query: CallbackQuery,
    deps: AccountDeps,
    view: AppointmentView,
    *,
    notice: str | None = None,
    edit: bool = True,
) -> None:
    """The appointment's card (with a notice above it), with the actions that still apply."""
    text = with_notice(notice, render.details(view, deps.i18n, deps.currency))
    past = view.start < deps.now or view.status == AppointmentStatus.CANCELLED
    markup = appointment_actions_keyboard(
        deps.i18n,
        view.id,
        can_change=changeable(view, deps.now),
        past=past,
        book_again=past and view.status != AppointmentStatus.CANCELLED,
        can_move=client_may_move(view, deps.now, deps.settings),
    )
    await show(query, text, markup, edit=edit)


async def refuse_change(query: CallbackQuery, deps: AccountDeps, view: AppointmentView) -> None:
    """The appointment can no longer be changed: say why, briefly, and show it as it is."""
    cancelled = view.status == AppointmentStatus.CANCELLED
    key = "account.cancel.already" if cancelled else "account.appt.not_changeable"
    notice = deps.i18n(key)
    await query.answer(notice)
    await show_card(query, deps, view, notice=notice)


async def refuse_as_it_is_now(query: CallbackQuery, deps: AccountDeps, appointment_id: int) -> None:
    """The service refused the change: show the appointment as it is after what changed it."""
    await refuse_change(query, deps, await deps.booking.get(appointment_id, actor=deps.actor))


def is_account_screen(query: CallbackQuery) -> bool:
    """True when the pressed message is one of the account's own screens (it may be edited);
    buttons on other messages (the booking confirmation, a reminder) get a new message so that
    message stays as it was."""
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return False
    prefixes = (MyListCb.__prefix__ + ":", "rsd:", "rst:", "rsc:")
    return any(
        (button.callback_data or "").startswith(prefixes)
        for row in message.reply_markup.inline_keyboard
        for button in row
    )


# --- the list -----------------------------------------------------------------------------


async def show_list(
    event: Message | CallbackQuery,
    deps: AccountDeps,
    state: FSMContext,
    *,
    past: bool,
    edit: bool = True,
) -> None:
    await leave_account_flow(state)
    views = await deps.booking.list_for_client(
        deps.client_id, now=deps.now, past=past, limit=LIST_LIMIT
    )
    text, buttons = render.appointment_list(views, deps.i18n, past=past)
    markup = with_home(appointment_list_keyboard(deps.i18n, buttons, past=past), deps.i18n)
    await show(event, text, markup, edit=edit)


async def on_my(message: Message, state: FSMContext, deps: FromDishka[AccountDeps]) -> None:
    await show_list(message, deps, state, past=False)


async def on_menu_my(
    query: CallbackQuery, state: FSMContext, deps: FromDishka[AccountDeps]
) -> None:
    """The main menu's "my appointments": the list replaces the menu ("« Menu" goes back)."""
    await query.answer()
    await show_list(query, deps, state, past=False)


async def on_list_page(
    query: CallbackQuery, callback_data: MyListCb, state: FSMContext, deps: FromDishka[AccountDeps]
) -> None:
    await query.answer()
    await show_list(query, deps, state, past=callback_data.page == MyPage.past)


# --- one appointment ------------------------------------------------------------------------


async def on_view(
    query: CallbackQuery,
    callback_data: AppointmentCb,
    state: FSMContext,
    deps: FromDishka[AccountDeps],
) -> None:
    view = await own_appointment(query, deps, callback_data.appointment_id)
    if view is None:
        return
    await query.answer()
    await leave_account_flow(state)
    await show_card(query, deps, view)


async def on_cancel_ask(
    query: CallbackQuery,
    callback_data: AppointmentCb,
    state: FSMContext,
    deps: FromDishka[AccountDeps],
) -> None:
    """State the refund the policy gives now, then ask to confirm."""
    view = await own_appointment(query, deps, callback_data.appointment_id)
    if view is None:
        return
    if not changeable(view, deps.now):
        await refuse_change(query, deps, view)
        return
    try:
        refund = await deps.booking.refund_preview(view.id, actor=deps.actor, now=deps.now)
    except (InvalidState, NotAllowed):
        await refuse_as_it_is_now(query, deps, view.id)
        return
    await query.answer()
    await enter_account_step(state, AccountFlow.cancel_confirm)
    text = render.cancel_question(
        view, refund, deps.i18n, deps.currency, deps.settings.free_cancel_hours
    )
    await show(
        query, text, cancel_confirm_keyboard(deps.i18n, view.id), edit=is_account_screen(query)
    )


async def on_cancel_confirm(
    query: CallbackQuery,
    callback_data: AppointmentCb,
    state: FSMContext,
    deps: FromDishka[AccountDeps],
) -> None:
    view = await own_appointment(query, deps, callback_data.appointment_id)
    if view is None:
        return
    try:
        result = await deps.booking.cancel(view.id, actor=deps.actor, now=deps.now)
    except (InvalidState, NotAllowed):
        await leave_account_flow(state)
        now = await deps.booking.get(view.id, actor=deps.actor)
        if now.status == AppointmentStatus.CANCELLED and now.cancelled_by == "client":
            # A second press of "Yes, cancel" (or its re-delivery): the same result as the
            # first, so the chat shows the cancelled state once; nothing more is refunded.
            refund = await deps.booking.refunded(view.id, actor=deps.actor)
            await query.answer()
            await show(
                query, await cancelled_text(deps, now, refund), back_to_list_keyboard(deps.i18n)
            )
            return
        # The appointment started or was cancelled by the salon meanwhile: nothing refunded.
        await refuse_change(query, deps, now)
        return
    await query.answer()
    await leave_account_flow(state)
    text = await cancelled_text(deps, result.appointment, result.refund)
    await show(query, text, back_to_list_keyboard(deps.i18n))


async def cancelled_text(deps: AccountDeps, view: AppointmentView, refund: Decimal) -> str:
    """ "Cancelled, N refunded, balance M" for the client's own cancel."""
    wallet = await deps.wallet.balance_and_ledger(deps.client_id, limit=1)
    return deps.i18n(
        "account.cancel.done",
        refund=formats.money(refund, deps.currency, deps.i18n.locale),
        balance=formats.money(wallet.balance, deps.currency, deps.i18n.locale),
        **render.when(view, deps.i18n.locale),
    )


async def on_attend(
    query: CallbackQuery, callback_data: AppointmentCb, deps: FromDishka[AccountDeps]
) -> None:
    """ "I'll come": recorded once; a cancelled or past appointment gets the current card."""
    view = await own_appointment(query, deps, callback_data.appointment_id)
    if view is None:
        return
    try:
        view = await deps.booking.confirm_attendance(
            view.id, client_id=deps.client_id, now=deps.now
        )
    except InvalidState:
        await refuse_change(query, deps, view)
        return
    await query.answer(deps.i18n("account.attend.done", **render.when(view, deps.i18n.locale)))


async def on_calendar(
    query: CallbackQuery, callback_data: AppointmentCb, deps: FromDishka[AccountDeps]
) -> None:
    """ "📅 Add to calendar": the appointment as an `.ics` file in the location's time zone."""
    view = await own_appointment(query, deps, callback_data.appointment_id)
    if view is None:
        return
    if view.status != AppointmentStatus.BOOKED:
        await refuse_change(query, deps, view)
        return
    await query.answer()
    title = deps.i18n(
        "account.ics.title", service=view.service_name, specialist=view.specialist_name
    )
    assert query.bot is not None
    me = await query.bot.me()
    content = appointment_ics(view, summary=title, now=deps.now, domain=me.username or "bot")
    local = view.local_start
    await query.bot.send_document(
        chat_id=query.from_user.id,
        document=BufferedInputFile(content, filename=f"appointment-{local:%Y%m%d-%H%M}.ics"),
        caption=deps.i18n("account.ics.caption"),
    )


def register(router: Router) -> None:
    """/my, the main menu's "my", the list pages and one appointment's card, cancel, attend."""
    router.message.register(on_my, Command("my"))
    router.callback_query.register(on_menu_my, MenuCb.filter(F.action == MenuAction.my))
    router.callback_query.register(on_list_page, MyListCb.filter())
    actions: dict[AppointmentAction, Callable[..., Awaitable[None]]] = {
        AppointmentAction.view: on_view,
        AppointmentAction.cancel: on_cancel_ask,
        AppointmentAction.cancel_confirm: on_cancel_confirm,
        AppointmentAction.attend: on_attend,
        AppointmentAction.calendar: on_calendar,
    }
    for action, handler in actions.items():
        router.callback_query.register(handler, AppointmentCb.filter(F.action == action))
