"""Buttons on notifications and the specialist agenda.

Callback data carries ids only; every handler re-checks on the server that the pressing user
owns the appointment (or the waitlist entry) and that the action is still allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import translate
from bot.keyboards.account import AppointmentAction, AppointmentCb
from bot.keyboards.builder import KeyboardBuilder
from bot.keyboards.fields import DbId


class ReminderAction(str, Enum):
    come = "come"  # "I'll come"
    cancel = "cancel"  # show the refund and ask to confirm
    cancel_yes = "yes"
    cancel_no = "no"


class ReminderCb(CallbackData, prefix="rem"):
    action: ReminderAction
    appointment_id: DbId


class WaitlistTakeCb(CallbackData, prefix="wlt"):
    """Take the time offered to a waitlist entry (handled by the booking conversation)."""

    waitlist_id: DbId


def book_again_keyboard(appointment_id: int, locale: str) -> InlineKeyboardMarkup:
    """The thank-you's "🔁 Book again": the same button as on a past visit in /my (the booking
    conversation re-checks the appointment is the presser's)."""
    kb = KeyboardBuilder()
    kb.button(
        text=translate("notify.btn.book_again", locale),
        callback_data=AppointmentCb(action=AppointmentAction.again, appointment_id=appointment_id),
    )
    return kb.as_markup()


class AgendaMark(str, Enum):
    completed = "completed"
    no_show = "no_show"
    undo = "undo"  # take the mark back: the appointment is booked again


class AgendaCb(CallbackData, prefix="agd"):
    status: AgendaMark
    appointment_id: DbId


def _reminder_row(
    appointment_id: int, locale: str, *buttons: tuple[str, ReminderAction]
) -> InlineKeyboardMarkup:
    """One row of (text key, action) buttons on a reminder about the appointment."""
    kb = KeyboardBuilder()
    for text_key, action in buttons:
        kb.button(
            text=translate(text_key, locale),
            callback_data=ReminderCb(action=action, appointment_id=appointment_id),
        )
    kb.adjust(2)
    return kb.as_markup()


def reminder_keyboard(appointment_id: int, locale: str) -> InlineKeyboardMarkup:
    return _reminder_row(
        appointment_id,
        locale,
        ("notify.btn.come", ReminderAction.come),
        ("notify.btn.cancel", ReminderAction.cancel),
    )


def cancel_confirm_keyboard(appointment_id: int, locale: str) -> InlineKeyboardMarkup:
    return _reminder_row(
        appointment_id,
        locale,
        ("notify.btn.cancel_yes", ReminderAction.cancel_yes),
        ("notify.btn.cancel_no", ReminderAction.cancel_no),
    )


def waitlist_offer_keyboard(waitlist_id: int, locale: str) -> InlineKeyboardMarkup:
    kb = KeyboardBuilder()
    kb.button(
        text=translate("notify.btn.take", locale),
        callback_data=WaitlistTakeCb(waitlist_id=waitlist_id),
    )
    return kb.as_markup()


class ScheduleView(str, Enum):
    """Which days the specialist's schedule shows."""

    today = "today"
    tomorrow = "tomorrow"
    week = "week"


class ScheduleCb(CallbackData, prefix="sch"):
    """Open the pressing specialist's schedule (the role is checked on the server)."""

    view: ScheduleView


def schedule_row(locale: str) -> list[InlineKeyboardButton]:
    """Today / Tomorrow / Week: the specialist's home and schedule navigation."""
    return [
        InlineKeyboardButton(
            text=translate(f"notify.schedule.{view.value}", locale),
            callback_data=ScheduleCb(view=view).pack(),
        )
        for view in ScheduleView
    ]


def open_schedule_keyboard(locale: str) -> InlineKeyboardMarkup:
    """The one button under a specialist's notice: their schedule for today."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=translate("notify.btn.open_schedule", locale),
                    callback_data=ScheduleCb(view=ScheduleView.today).pack(),
                )
            ]
        ]
    )


def agenda_keyboard(
    marks: list[tuple[int, str]],
    locale: str,
    *,
    navigation: bool = False,
    undos: Sequence[tuple[int, str]] = (),
) -> InlineKeyboardMarkup | None:
    """Completed / no-show buttons for the given (appointment id, local HH:MM) pairs, an undo
    button for each of `undos` (marked ones); with `navigation`, the Today / Tomorrow / Week
    row below them."""
    if not marks and not undos and not navigation:
        return None
    kb = KeyboardBuilder()
    for appointment_id, hhmm in marks:
        kb.button(
            text=translate("notify.btn.completed", locale, time=hhmm),
            callback_data=AgendaCb(status=AgendaMark.completed, appointment_id=appointment_id),
        )
        kb.button(
            text=translate("notify.btn.no_show", locale, time=hhmm),
            callback_data=AgendaCb(status=AgendaMark.no_show, appointment_id=appointment_id),
        )
    kb.adjust(2)
    for appointment_id, hhmm in undos:
        kb.row(
            InlineKeyboardButton(
                text=translate("notify.btn.undo", locale, time=hhmm),
                callback_data=AgendaCb(
                    status=AgendaMark.undo, appointment_id=appointment_id
                ).pack(),
            )
        )
    if navigation:
        kb.row(*schedule_row(locale))
    return kb.as_markup()
