"""Buttons on a client's reminder: "I'll come" and "Cancel" (refund shown first, then confirm).

Thin: each handler resolves the pressing client, calls one `BookingService` method with that
client as the actor (so another client's appointment id is refused on the server) and turns the
result or the domain error into text.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.domain.errors import DomainError, InvalidState, NotAllowed, NotFound
from bot.handlers.booking.context import resolve_profile
from bot.handlers.clock import now_from
from bot.i18n import Translator
from bot.keyboards.notify import ReminderAction, ReminderCb, cancel_confirm_keyboard
from bot.notify.render import ddmm, format_money, hhmm

if TYPE_CHECKING:
    from bot.services.booking import BookingService

log = logging.getLogger(__name__)


def error_text(exc: DomainError, i18n: Translator) -> str:
    if isinstance(exc, NotFound):
        return i18n("notify.error.not_found")
    if isinstance(exc, NotAllowed):
        return i18n("notify.error.not_allowed")
    if isinstance(exc, InvalidState):
        return i18n("notify.error.invalid_state")
    return i18n("notify.error.unavailable")


async def on_reminder(query: CallbackQuery, callback_data: ReminderCb, **data: Any) -> None:
    profile = await resolve_profile(data)
    i18n: Translator = data.get("i18n") or Translator(profile.language)
    booking: BookingService | None = data.get("booking")
    if booking is None:
        await query.answer(i18n("notify.error.unavailable"), show_alert=True)
        return
    from bot.services.booking import Actor

    actor = Actor(kind="client", id=profile.client_id)
    appointment_id = callback_data.appointment_id
    now = now_from(data)
    currency = data["settings"].currency
    try:
        match callback_data.action:
            case ReminderAction.come:
                view = await booking.confirm_attendance(
                    appointment_id, client_id=profile.client_id, now=now
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
                await _replace(query, i18n("notify.cancel.kept"))
    except DomainError as exc:
        await query.answer(error_text(exc, i18n), show_alert=True)


async def _replace(query: CallbackQuery, text: str) -> None:
    """Turn the confirmation message into the result (its buttons go away)."""
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=None)


def router() -> Router:
    """A fresh router (a dispatcher built again in tests gets its own)."""
    r = Router(name="notify.reminders")
    r.callback_query.register(on_reminder, ReminderCb.filter())
    return r


__all__ = ["router"]
