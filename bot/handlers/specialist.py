"""The specialist's side: `/agenda` (today and tomorrow), the schedule views (Today / Tomorrow /
Week, from the home on `/start` and from the "Open schedule" button of every notice) and the
came / no-show buttons.

The role is checked on the server for every command and every button: the Telegram account must
be linked to an active specialist, and a mark goes through `BookingService.mark_status` with that
specialist as the actor (another specialist's appointment, or one that has not started yet, is
refused there).
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from dishka import FromDishka

from bot import formats
from bot.domain.errors import DomainError, InvalidState, InvalidStateReason
from bot.domain.statuses import AppointmentStatus
from bot.handlers.errors import domain_text_key
from bot.handlers.reminders import error_text
from bot.i18n import Translator
from bot.ioc.types import Now
from bot.keyboards.notify import AgendaCb, AgendaMark, ScheduleCb
from bot.notify.agenda import SpecialistAgenda
from bot.services.booking import Actor, BookingService
from bot.telegram import edit_text


async def on_agenda(
    message: Message,
    i18n: Translator,
    agenda: FromDishka[SpecialistAgenda],
    now: FromDishka[Now],
) -> None:
    if message.from_user is None:
        return
    rendered = await agenda.render_for(message.from_user.id, now=now, lang=i18n.locale)
    if rendered is None:
        await message.answer(i18n("notify.agenda.not_specialist"))
        return
    await message.answer(rendered.text, reply_markup=rendered.reply_markup)


async def on_mark(
    query: CallbackQuery,
    callback_data: AgendaCb,
    i18n: Translator,
    agenda: FromDishka[SpecialistAgenda],
    booking: FromDishka[BookingService],
    now: FromDishka[Now],
) -> None:
    specialist_id = await agenda.specialist_id(query.from_user.id)
    if specialist_id is None:
        await query.answer(i18n("notify.agenda.not_specialist"), show_alert=True)
        return
    actor = Actor(kind="specialist", id=specialist_id)
    undo = callback_data.status is AgendaMark.undo
    try:
        if undo:
            view = await booking.undo_mark(callback_data.appointment_id, actor=actor, now=now)
        else:
            view = await booking.mark_status(
                callback_data.appointment_id,
                actor=actor,
                status=callback_data.status.value,
                now=now,
            )
    except InvalidState as exc:
        changed = exc.reason in CHANGED
        if exc.reason is InvalidStateReason.NOT_STARTED:
            text = i18n("notify.agenda.too_early")
        elif exc.reason is InvalidStateReason.UNDO_TOO_LATE:
            text = i18n(domain_text_key(exc))
        elif changed:
            text = await changed_text(booking, callback_data.appointment_id, actor, i18n)
        else:
            text = error_text(exc, i18n)
        await query.answer(text, show_alert=True)
        if changed:  # an old agenda: show it as it is now
            await redraw(query, agenda, i18n, now)
        return
    except DomainError as exc:
        await query.answer(error_text(exc, i18n), show_alert=True)
        return
    if undo:
        toast = i18n("notify.agenda.unmarked", time=formats.hhmm(view.start, view.timezone))
    else:
        # The toast says what the button said ("came", not "completed").
        toast = i18n(
            "notify.agenda.marked",
            time=formats.hhmm(view.start, view.timezone),
            status=i18n(f"notify.mark.{callback_data.status.value}"),
        )
    await query.answer(toast)
    await redraw(query, agenda, i18n, now)


# Refusals that mean the appointment changed since the agenda was drawn (cancelled meanwhile,
# or marked or unmarked from another screen).
CHANGED = {InvalidStateReason.NOT_BOOKED, InvalidStateReason.CHANGED_MEANWHILE}


async def changed_text(
    booking: BookingService, appointment_id: int, actor: Actor, i18n: Translator
) -> str:
    """ "Already cancelled" (or the status it has now): nothing was marked."""
    view = await booking.get(appointment_id, actor=actor)
    if view.status == AppointmentStatus.CANCELLED:
        return i18n("notify.agenda.already_cancelled")
    return i18n("notify.agenda.status_now", status=i18n(f"account.status.{view.status}"))


async def redraw(
    query: CallbackQuery, agenda: SpecialistAgenda, i18n: Translator, now: datetime
) -> None:
    """The pressed agenda message, as the agenda is now."""
    rendered = await agenda.render_for(query.from_user.id, now=now, lang=i18n.locale)
    if rendered is not None and isinstance(query.message, Message):
        # The same agenda (marked twice from two screens) is "not modified": nothing to show.
        with contextlib.suppress(TelegramBadRequest):
            await edit_text(query.message, rendered.text, rendered.reply_markup)


async def on_schedule(
    query: CallbackQuery,
    callback_data: ScheduleCb,
    i18n: Translator,
    agenda: FromDishka[SpecialistAgenda],
    now: FromDishka[Now],
) -> None:
    """Today / Tomorrow / Week (from the specialist's home or a notice's "Open schedule"):
    the message becomes that schedule; a notice stays as it was and the schedule comes below."""
    rendered = await agenda.render_for(
        query.from_user.id, now=now, lang=i18n.locale, view=callback_data.view
    )
    if rendered is None:
        await query.answer(i18n("notify.agenda.not_specialist"), show_alert=True)
        return
    await query.answer()
    message = query.message
    if not isinstance(message, Message):
        return
    if _is_schedule(message):
        with contextlib.suppress(TelegramBadRequest):  # the same view pressed again
            await edit_text(message, rendered.text, rendered.reply_markup)
    else:
        await message.answer(rendered.text, reply_markup=rendered.reply_markup)


def _is_schedule(message: Message) -> bool:
    """A message whose buttons include the Today / Tomorrow / Week row (the home or a
    schedule), as opposed to a notice with its single "Open schedule" button."""
    markup = message.reply_markup
    if markup is None:
        return False
    views = {
        button.callback_data
        for row in markup.inline_keyboard
        for button in row
        if button.callback_data and button.callback_data.startswith(ScheduleCb.__prefix__)
    }
    return len(views) > 1


def register(router: Router) -> None:
    router.message.register(on_agenda, Command("agenda"))
    router.callback_query.register(on_mark, AgendaCb.filter())
    router.callback_query.register(on_schedule, ScheduleCb.filter())
