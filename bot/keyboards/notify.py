"""Buttons on notifications and the specialist agenda.

Callback data carries ids only; every handler re-checks on the server that the pressing user
owns the appointment (or the waitlist entry) and that the action is still allowed.
"""

from __future__ import annotations

from enum import Enum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import translate


class ReminderAction(str, Enum):
    come = "come"  # "I'll come"
    cancel = "cancel"  # show the refund and ask to confirm
    cancel_yes = "yes"
    cancel_no = "no"


class ReminderCb(CallbackData, prefix="rem"):
    action: ReminderAction
    appointment_id: int


class WaitlistTakeCb(CallbackData, prefix="wlt"):
    """Take the time offered to a waitlist entry (handled by the booking conversation)."""

    waitlist_id: int


class AgendaMark(str, Enum):
    completed = "completed"
    no_show = "no_show"


class AgendaCb(CallbackData, prefix="agd"):
    status: AgendaMark
    appointment_id: int


def reminder_keyboard(appointment_id: int, locale: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=translate("notify.btn.come", locale),
        callback_data=ReminderCb(action=ReminderAction.come, appointment_id=appointment_id),
    )
    kb.button(
        text=translate("notify.btn.cancel", locale),
        callback_data=ReminderCb(action=ReminderAction.cancel, appointment_id=appointment_id),
    )
    kb.adjust(2)
    return kb.as_markup()


def cancel_confirm_keyboard(appointment_id: int, locale: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=translate("notify.btn.cancel_yes", locale),
        callback_data=ReminderCb(action=ReminderAction.cancel_yes, appointment_id=appointment_id),
    )
    kb.button(
        text=translate("notify.btn.cancel_no", locale),
        callback_data=ReminderCb(action=ReminderAction.cancel_no, appointment_id=appointment_id),
    )
    kb.adjust(2)
    return kb.as_markup()


def waitlist_offer_keyboard(waitlist_id: int, locale: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=translate("notify.btn.take", locale),
        callback_data=WaitlistTakeCb(waitlist_id=waitlist_id),
    )
    return kb.as_markup()


def agenda_keyboard(marks: list[tuple[int, str]], locale: str) -> InlineKeyboardMarkup | None:
    """Completed / no-show buttons for the given (appointment id, local HH:MM) pairs."""
    if not marks:
        return None
    kb = InlineKeyboardBuilder()
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
    return kb.as_markup()
