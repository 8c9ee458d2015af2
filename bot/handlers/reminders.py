"""Buttons on a client's reminder: "I'll come" and "Cancel" (refund shown first, then confirm).

Thin: each handler resolves the pressing client, calls one `BookingService` method with that
client as the actor (so another client's appointment id is refused on the server, on every
button, even "keep it" which changes nothing) and turns the result or the domain error into
text.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from dishka import FromDishka

from bot.config import Settings
from bot.domain.errors import DomainError, InvalidState, NotAllowed, NotFound
from bot.i18n import Translator
from bot.ioc.types import CurrentClient, Now
from bot.keyboards.notify import ReminderAction, ReminderCb, cancel_confirm_keyboard
from bot.notify.render import ddmm, format_money, hhmm
from bot.services.booking import Actor, BookingService

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
    actor = Actor(kind="client", id=client.client_id)
    appointment_id = callback_data.appointment_id
    currency = settings.currency
    try:
        match callback_data.action:
            case ReminderAction.come:
                view = await booking.confirm_attendance(
                    appointment_id, client_id=client.client_id, now=now
                )
                start = view.local_start
                await query.answer(
                    i18n("notify.come.done", date=ddmm(start), time=hhmm(start)), show_alert=True
                )
            case ReminderAction.cancel:
                view = await booking.get(appointment_id, actor=actor)
                refund = await booking.refund_preview(appointment_id, actor=actor, now=now)
                start = view.local_start
                text = i18n(
                    "notify.cancel.preview",
                    service=view.service_name,
                    date=ddmm(start),
                    time=hhmm(start),
                    refund=format_money(refund, currency),
                )
                await query.answer()
                if isinstance(query.message, Message):
                    await query.message.answer(
                        text, reply_markup=cancel_confirm_keyboard(appointment_id, i18n.locale)
                    )
            case ReminderAction.cancel_yes:
                result = await booking.cancel(appointment_id, actor=actor, now=now)
                await _replace(
                    query,
                    i18n("notify.cancel.done", refund=format_money(result.refund, currency)),
                )
            case ReminderAction.cancel_no:
                await booking.get(appointment_id, actor=actor)  # the presser's own, or refused
                await _replace(query, i18n("notify.cancel.kept"))
    except DomainError as exc:
        await query.answer(error_text(exc, i18n), show_alert=True)


async def _replace(query: CallbackQuery, text: str) -> None:
    """Turn the confirmation message into the result (its buttons go away)."""
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=None)


def register(router: Router) -> None:
    router.callback_query.register(on_reminder, ReminderCb.filter())
