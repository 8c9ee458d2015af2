"""Buttons on a client's reminder: "I'll come" and "Cancel" (refund shown first, then confirm),
each answered by editing the reminder itself, so it never keeps buttons that no longer apply.

Thin: each handler resolves the pressing client, calls one `BookingService` method with that
client as the actor (so another client's appointment id is refused on the server, on every
button, even "keep it" which changes nothing) and turns the result or the domain error into
text.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from dishka import FromDishka

from bot import formats
from bot.config import Settings
from bot.domain.errors import DomainError, InvalidState, NotAllowed, NotFound
from bot.domain.statuses import AppointmentStatus
from bot.handlers.account.render import when
from bot.i18n import Translator
from bot.ioc.types import CurrentClient, Now
from bot.keyboards.notify import (
    ReminderAction,
    ReminderCb,
    cancel_confirm_keyboard,
    reminder_keyboard,
)
from bot.services.booking import Actor, BookingService
from bot.telegram import edit_text

log = logging.getLogger(__name__)


def error_text(exc: DomainError, i18n: Translator) -> str:
    if isinstance(exc, NotFound):
        return i18n("notify.error.not_found")
    if isinstance(exc, NotAllowed):
        return i18n("notify.error.not_allowed")
    if isinstance(exc, InvalidState):
        return i18n("notify.error.invalid_state")
    return i18n("notify.error.unavailable")


async def on_reminder(
    query: CallbackQuery,
    callback_data: ReminderCb,
    i18n: Translator,
    client: FromDishka[CurrentClient],
    booking: FromDishka[BookingService],
    settings: FromDishka[Settings],
    now: FromDishka[Now],
) -> None:
    """Every answer edits the reminder itself: "I'll come" leaves the reminder with a thank-you
    and no buttons; "Cancel" turns it into the question (refund stated), then into the result;
    "keep it" gives the reminder's own buttons back. An appointment that can no longer be
    changed shows its state with no buttons, so no live button is left under it."""
    actor = Actor(kind="client", id=client.client_id)
    appointment_id = callback_data.appointment_id
    currency = settings.currency
    try:
        match callback_data.action:
            case ReminderAction.come:
                view = await booking.confirm_attendance(
                    appointment_id, client_id=client.client_id, now=now
                )
                thanks = i18n("notify.come.done", **when(view, i18n.locale))
                await query.answer(thanks)
                await _replace(query, _below(query, thanks), None)
            case ReminderAction.cancel:
                view = await booking.get(appointment_id, actor=actor)
                refund = await booking.refund_preview(appointment_id, actor=actor, now=now)
                text = i18n(
                    "notify.cancel.preview",
                    service=view.service_name,
                    **when(view, i18n.locale),
                    refund=formats.money(refund, currency, i18n.locale),
                )
                await query.answer()
                await _replace(query, text, cancel_confirm_keyboard(appointment_id, i18n.locale))
            case ReminderAction.cancel_yes:
                result = await booking.cancel(appointment_id, actor=actor, now=now)
                await query.answer()
                await _replace(query, _cancelled(i18n, result.refund, currency), None)
            case ReminderAction.cancel_no:
                await booking.get(appointment_id, actor=actor)  # the presser's own, or refused
                await query.answer()
                await _replace(
                    query,
                    i18n("notify.cancel.kept"),
                    reminder_keyboard(appointment_id, i18n.locale),
                )
    except InvalidState:
        await _as_it_is_now(query, i18n, booking, actor, appointment_id, currency)
    except DomainError as exc:
        await query.answer(error_text(exc, i18n), show_alert=True)


def _cancelled(i18n: Translator, refund: Decimal, currency: str) -> str:
    return i18n("notify.cancel.done", refund=formats.money(refund, currency, i18n.locale))


def _below(query: CallbackQuery, line: str) -> str:
    """The pressed message's text with `line` under it."""
    text = query.message.text if isinstance(query.message, Message) else None
    return f"{text}\n\n{line}" if text else line


async def _as_it_is_now(
    query: CallbackQuery,
    i18n: Translator,
    booking: BookingService,
    actor: Actor,
    appointment_id: int,
    currency: str,
) -> None:
    """The appointment is no longer booked or has started: the reminder shows that, with no
    buttons. A repeated "Yes, cancel" shows the same result as the first press."""
    view = await booking.get(appointment_id, actor=actor)
    if view.status == AppointmentStatus.CANCELLED and view.cancelled_by == "client":
        refund = await booking.refunded(appointment_id, actor=actor)
        await query.answer()
        await _replace(query, _cancelled(i18n, refund, currency), None)
        return
    key = (
        "notify.state.cancelled"
        if view.status == AppointmentStatus.CANCELLED
        else "notify.error.invalid_state"
    )
    await query.answer(i18n(key), show_alert=True)
    await _replace(query, _below(query, i18n(key)), None)


async def _replace(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Edit the pressed message into `text` with `markup` (None: no buttons); an identical
    re-render is fine."""
    if not isinstance(query.message, Message):
        return
    try:
        await edit_text(query.message, text, markup)
    except TelegramBadRequest as exc:
        if "not modified" not in str(exc):
            raise


def register(router: Router) -> None:
    router.callback_query.register(on_reminder, ReminderCb.filter())
