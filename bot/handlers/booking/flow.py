"""/book: start the flow, pick, page, go back, cancel; stale buttons and typed text in the middle
of the flow (a command that starts another conversation ends it: `common.on_command_mid_flow`;
one that only shows something, such as /wallet, leaves it open).

One message is edited through the flow, and only that message has live buttons: its id is kept
in the draft. A button of another step pressed on that message redraws the current step there;
a button on any other message (an older copy, a replaced flow) is out of date: that message
loses its keyboard, the client gets a short notice, and nothing changes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from dishka import FromDishka

from bot.domain.errors import NotAllowed, NotFound
from bot.handlers.booking.context import (
    ENDS_BOOKING,
    KEEPS_BOOKING,
    Deps,
    Draft,
    command_of,
    current_step,
    drop_keyboard,
    end_flow,
    load_draft,
    new_flow_token,
    retire_flow_message,
    save,
)
from bot.handlers.booking.screens import Screen, previous_step, resolve
from bot.handlers.booking.steps import pick_time, screen_for
from bot.keyboards.account import AppointmentAction, AppointmentCb
from bot.keyboards.booking import BookAction, BookCb, BookStep, NearCb
from bot.keyboards.common import MenuAction, MenuCb, main_menu
from bot.keyboards.fields import is_db_id
from bot.ops.inline_filters import DataPrefix
from bot.services.booking_menu import ClientStart
from bot.services.booking_types import Actor
from bot.services.clients import ClientProfile
from bot.states import BookingStates
from bot.telegram import edit_text

log = logging.getLogger(__name__)

# Steps whose value is a row id (checked to fit a PostgreSQL `integer` before any lookup).
ID_STEPS = frozenset({BookStep.LOCATION, BookStep.SERVICE, BookStep.SPECIALIST})


async def release_hold(state: FSMContext, deps: Deps) -> None:
    """Drop the hold of the flow in `state` (if any), when a new flow replaces it."""
    draft = await load_draft(state)
    if draft is not None and draft.hold_id:
        await deps.flow.leave(deps.client_id, draft.hold_id)


async def edit(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Edit the flow message; an identical re-render is not an error."""
    try:
        await edit_text(message, text, markup)
    except TelegramBadRequest as exc:
        if "not modified" not in str(exc):
            raise


async def apply(state: FSMContext, draft: Draft, screen: Screen) -> None:
    """Remember where the flow is now (or end it)."""
    if screen.step is None:
        await end_flow(state)
    else:
        await save(state, draft, screen.step)


async def show(
    target: Message, state: FSMContext, draft: Draft, screen: Screen, *, new: bool = False
) -> None:
    """Draw `screen` (edit `target`, or a new message below it with `new`) and remember it, with
    the id of the message that now carries the flow's buttons."""
    text = f"{draft.for_label}\n\n{screen.text}" if draft.for_label else screen.text
    if new:
        # The new message's id is known once it is sent: remembered right after.
        sent = await target.answer(text, reply_markup=screen.markup)
        draft.message_id = sent.message_id
        await apply(state, draft, screen)
    else:
        # Remembered first: a step on screen is always the current one (if the edit fails,
        # the next press redraws the step from the state).
        draft.message_id = target.message_id
        await apply(state, draft, screen)
        await edit(target, text, screen.markup)


async def start_booking(
    message: Message,
    state: FSMContext,
    deps: Deps,
    *,
    new_message: bool,
    profile: ClientProfile | None = None,
) -> None:
    """A fresh flow (any previous flow and its hold are dropped). A client an admin blocked is
    told so at once and no flow starts (docs/rules.md#admin-rights); a client's first booking
    says on its first screen that bookings are paid in advance from the wallet, and how the
    wallet is filled (docs/rules.md#top-up-and-payments), not only at the summary."""
    await release_hold(state, deps)
    if message.bot is not None:
        await retire_flow_message(message.bot, message.chat.id, state)
    client = start_from(profile, deps.own_client_id) or await deps.menu.client_start(
        deps.own_client_id
    )
    if client.blocked:
        await end_flow(state)
        await message.answer(deps.i18n("booking.blocked"))
        return
    draft = Draft(flow=new_flow_token())
    notice = prepay_note(deps) if client.first_booking else ""
    screen = await screen_for(deps, draft, BookStep.LOCATION, notice=notice)
    await show(message, state, draft, screen, new=new_message)


def start_from(profile: ClientProfile | None, client_id: int) -> ClientStart | None:
    """What the start of /book needs, from the presser's profile when this update read it from
    the database (no statement of its own then); None otherwise."""
    if profile is None or profile.client_id != client_id:
        return None
    if profile.blocked is None or profile.booked_before is None:
        return None
    return ClientStart(blocked=profile.blocked, first_booking=not profile.booked_before)


def prepay_note(deps: Deps) -> str:
    """Bookings are prepaid from the wallet: by card at checkout when Payments are on, else
    topped up at the salon."""
    way = "card" if deps.settings.payments_enabled else "salon"
    return deps.i18n(f"booking.prepay.{way}")


async def on_book(
    message: Message,
    state: FSMContext,
    deps: FromDishka[Deps],
    profile: ClientProfile | None = None,
) -> None:
    await start_booking(message, state, deps, new_message=True, profile=profile)


async def on_menu_book(
    query: CallbackQuery,
    state: FSMContext,
    deps: FromDishka[Deps],
    profile: ClientProfile | None = None,
) -> None:
    """The main menu's "book" button: the flow takes the menu's message (a tidy chat)."""
    await query.answer()
    if isinstance(query.message, Message):
        await start_booking(query.message, state, deps, new_message=False, profile=profile)


async def on_book_again(
    query: CallbackQuery,
    callback_data: AppointmentCb,
    state: FSMContext,
    deps: FromDishka[Deps],
) -> None:
    """ "🔁 Book again" on a past visit: a new flow with its location, service and specialist
    chosen, at the date step (a choice no longer bookable falls back to that step). Only the
    client's own appointment; anything else is refused and nothing changes."""
    try:
        view = await deps.booking.get(
            callback_data.appointment_id, actor=Actor(kind="client", id=deps.client_id)
        )
    except (NotFound, NotAllowed):
        await query.answer(deps.i18n("account.appt.not_yours"), show_alert=True)
        return
    await query.answer()
    if not isinstance(query.message, Message):
        return
    await release_hold(state, deps)
    if query.bot is not None:
        await retire_flow_message(query.bot, query.message.chat.id, state)
    draft = Draft(
        flow=new_flow_token(),
        location_id=view.location_id,
        service_id=view.service_id,
        specialist_id=view.specialist_id,
    )
    screen = await screen_for(deps, draft, BookStep.DATE)
    await show(query.message, state, draft, screen, new=True)


async def on_text_mid_flow(message: Message, state: FSMContext, deps: FromDishka[Deps]) -> None:
    """Text, a sticker or an unknown command where a button is expected: a hint and the current
    step again, below it; the copy above loses its buttons (one live copy of the step)."""
    draft = await load_draft(state)
    step = await current_step(state)
    await message.answer(deps.i18n("booking.hint.use_buttons"))
    if draft is None or step is None:
        await end_flow(state)
        return
    if message.bot is not None and draft.message_id is not None:
        await drop_keyboard(message.bot, message.chat.id, draft.message_id)
    screen = await screen_for(deps, draft, step)
    await show(message, state, draft, screen, new=True)


def _expects_a_button(message: Message) -> bool:
    """Anything but a command some router serves: text, a sticker, a photo, `/foo`."""
    command = command_of(message.text)
    return command is None or command not in KEEPS_BOOKING | ENDS_BOOKING


async def _stale(
    callback: CallbackQuery, state: FSMContext, deps: Deps, draft: Draft | None
) -> None:
    """A button of another flow or step: a short notice and the current step (or the end). A
    button on a message that no longer carries the flow only loses its keyboard."""
    i18n = deps.i18n
    step = await current_step(state)
    message = callback.message
    if (
        draft is not None
        and step is not None
        and isinstance(message, Message)
        and draft.message_id is not None
        and message.message_id != draft.message_id
    ):
        if message.bot is not None:
            await drop_keyboard(message.bot, message.chat.id, message.message_id)
        await callback.answer(i18n("booking.notice.stale"))
        return
    if draft is None or step is None:
        if isinstance(message, Message):
            await edit(message, i18n("booking.notice.flow_gone"), main_menu(i18n))
        await callback.answer(i18n("booking.notice.flow_gone"))
        return
    if isinstance(message, Message):
        screen = await screen_for(deps, draft, step)
        await show(message, state, draft, screen)
    await callback.answer(i18n("booking.notice.stale"))


async def _invalid(
    callback: CallbackQuery,
    state: FSMContext,
    deps: Deps,
    draft: Draft,
    step: BookStep,
    value: int | None = None,
) -> None:
    """A value the server does not offer (forged or gone): notice + the current step. A time
    not offered is left out of the times shown again even if it looks free now, so the screen
    changes (an unchanged screen is no answer at all): the state may have moved past the screen
    the user sees, when an update is handled again after the instance handling it died."""
    lost = value if step is BookStep.TIME else None
    screen = await screen_for(deps, draft, step, lost=lost)
    if isinstance(callback.message, Message):
        await show(callback.message, state, draft, screen)
    await callback.answer(deps.i18n("booking.notice.invalid"))


async def guard(
    callback: CallbackQuery, callback_data: BookCb, state: FSMContext, deps: Deps
) -> tuple[Draft, Message] | None:
    """The draft and message when the button belongs to the current step of the current flow;
    otherwise answers as stale and returns None."""
    return await guard_step(callback, callback_data.flow, callback_data.step, state, deps)


async def guard_step(
    callback: CallbackQuery, flow: str, button_step: BookStep, state: FSMContext, deps: Deps
) -> tuple[Draft, Message] | None:
    """`guard` for a button of flow `flow` drawn on `button_step`."""
    draft = await load_draft(state)
    step = await current_step(state)
    message = callback.message
    if (
        draft is None
        or draft.flow != flow
        or step is not button_step
        or not isinstance(message, Message)
        or (draft.message_id is not None and message.message_id != draft.message_id)
    ):
        await _stale(callback, state, deps, draft)
        return None
    return draft, message


async def on_pick(
    callback: CallbackQuery, callback_data: BookCb, state: FSMContext, deps: FromDishka[Deps]
) -> None:
    checked = await guard(callback, callback_data, state, deps)
    if checked is None:
        return
    draft, message = checked
    step, value = callback_data.step, callback_data.value
    if step in ID_STEPS and not (is_db_id(value) or (step is BookStep.SPECIALIST and value == 0)):
        return await _invalid(callback, state, deps, draft, step)
    picked = await resolve(deps, draft)
    if step is BookStep.LOCATION:
        if await deps.menu.location(value) is None:
            return await _invalid(callback, state, deps, draft, step)
        draft.location_id = value
        draft.forget_after(step)
        screen = await screen_for(deps, draft, BookStep.SERVICE)
    elif step is BookStep.SERVICE:
        if picked.location is None or value not in {
            s.id for s in await deps.menu.services(picked.location.id)
        }:
            return await _invalid(callback, state, deps, draft, step)
        draft.service_id = value
        draft.forget_after(step)
        screen = await screen_for(deps, draft, BookStep.SPECIALIST)
    elif step is BookStep.SPECIALIST:
        offered = {s.id for s in picked.specialists or []}
        if value != 0 and value not in offered:
            return await _invalid(callback, state, deps, draft, step)
        draft.forget_after(step)
        draft.any_specialist = value == 0
        draft.specialist_id = None if value == 0 else value
        screen = await screen_for(deps, draft, BookStep.DATE)
    elif step is BookStep.DATE:
        # Only a date the dates screen offered; it may have no times left by now (raced away),
        # which the time step turns into a waitlist offer.
        if value not in draft.offered_days:
            return await _invalid(callback, state, deps, draft, step)
        draft.forget_after(step)
        draft.day = value
        screen = await screen_for(deps, draft, BookStep.TIME)
    elif step is BookStep.TIME:
        if value not in draft.offered_times:
            return await _invalid(callback, state, deps, draft, step, value)
        draft.start = value
        screen = await pick_time(deps, draft, picked)
    else:
        return await _stale(callback, state, deps, draft)
    await show(message, state, draft, screen)
    await callback.answer()


async def on_near(
    callback: CallbackQuery, callback_data: NearCb, state: FSMContext, deps: FromDishka[Deps]
) -> None:
    """One of the date step's nearest free times: the date and the time in one press, then
    the summary (the hold is taken as after a time button)."""
    checked = await guard_step(callback, callback_data.flow, BookStep.DATE, state, deps)
    if checked is None:
        return
    draft, message = checked
    if callback_data.start not in draft.offered_near:
        return await _invalid(callback, state, deps, draft, BookStep.DATE)
    picked = await resolve(deps, draft)
    if picked.location is None:
        return await _invalid(callback, state, deps, draft, BookStep.DATE)
    start = datetime.fromtimestamp(callback_data.start, UTC)
    draft.forget_after(BookStep.DATE)
    draft.day = start.astimezone(picked.tz).date().toordinal()
    draft.start = callback_data.start
    draft.offered_times = [callback_data.start]
    await show(message, state, draft, await pick_time(deps, draft, picked))
    await callback.answer()


async def on_page(
    callback: CallbackQuery, callback_data: BookCb, state: FSMContext, deps: FromDishka[Deps]
) -> None:
    checked = await guard(callback, callback_data, state, deps)
    if checked is None:
        return
    draft, message = checked
    if callback_data.step is BookStep.DATE:
        draft.date_page = max(0, callback_data.value)
    elif callback_data.step is BookStep.TIME:
        # A page of times, or of one part of the day (`part * PART_PAGES + page`).
        draft.time_page = max(0, callback_data.value)
    else:
        return await _invalid(callback, state, deps, draft, callback_data.step)
    await show(message, state, draft, await screen_for(deps, draft, callback_data.step))
    await callback.answer()


async def on_back(
    callback: CallbackQuery, callback_data: BookCb, state: FSMContext, deps: FromDishka[Deps]
) -> None:
    checked = await guard(callback, callback_data, state, deps)
    if checked is None:
        return
    draft, message = checked
    target = previous_step(draft, callback_data.step)
    if target is None:
        return await _invalid(callback, state, deps, draft, callback_data.step)
    if draft.hold_id:
        # Leaving the summary (or the time step) gives the held time back at once.
        # (Holds are applied on every slot read, cached or not: no cache to drop.)
        await deps.flow.leave(deps.client_id, draft.hold_id)
        draft.hold_id = None
    draft.start = None
    await show(message, state, draft, await screen_for(deps, draft, target))
    await callback.answer()


async def on_cancel(
    callback: CallbackQuery, callback_data: BookCb, state: FSMContext, deps: FromDishka[Deps]
) -> None:
    checked = await guard(callback, callback_data, state, deps)
    if checked is None:
        return
    draft, message = checked
    await cancel_flow(state, deps, draft)
    await edit(message, deps.i18n("booking.cancelled"), None)
    await callback.answer()


async def cancel_flow(state: FSMContext, deps: Deps, draft: Draft) -> None:
    if draft.hold_id:
        await deps.flow.leave(deps.client_id, draft.hold_id)
    await end_flow(state)


async def on_unparsable(callback: CallbackQuery, state: FSMContext, deps: FromDishka[Deps]) -> None:
    """Booking callback data that does not parse (forged or from an older version)."""
    await _stale(callback, state, deps, await load_draft(state))


def register(router: Router) -> None:
    """/book, the main menu's "book", the flow's buttons and the hint for typed text. Include
    after `confirm.register`: the catch-all for unparsable booking buttons comes last."""
    router.message.register(on_book, Command("book"))
    router.callback_query.register(on_menu_book, MenuCb.filter(F.action == MenuAction.book))
    router.callback_query.register(
        on_book_again, AppointmentCb.filter(F.action == AppointmentAction.again)
    )
    # Known commands are excluded: their own routers serve them (the common router's
    # `on_command_mid_flow` has ended the flow for those in ENDS_BOOKING, but this router would
    # still see the old state in the filter data).
    router.message.register(on_text_mid_flow, StateFilter(BookingStates), _expects_a_button)
    actions = {
        BookAction.PICK: on_pick,
        BookAction.PAGE: on_page,
        BookAction.BACK: on_back,
        BookAction.CANCEL: on_cancel,
    }
    for action, handler in actions.items():
        router.callback_query.register(handler, BookCb.filter(F.action == action))
    router.callback_query.register(on_near, NearCb.filter())
    router.callback_query.register(on_unparsable, DataPrefix.of(NearCb))
    router.callback_query.register(on_unparsable, DataPrefix.of(BookCb))
