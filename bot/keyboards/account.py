"""Keyboards and callback data of the client's account: appointments, cancel, reschedule, wallet.

`AppointmentCb` is the one callback for acting on an appointment; the booking confirmation and
the reminders import it from here. Callback data carries ids only; the handlers re-validate
every id against the pressing client on the server.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from enum import Enum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from pydantic import Field

from bot.keyboards.builder import KeyboardBuilder
from bot.keyboards.fields import DayCode, DbId, Timestamp
from bot.keyboards.times import MAX_TIME_PAGE, time_rows

# A translator bound to the reader's locale (`bot.i18n.Translator`):
# `t("account.key", name=value) -> str`.
Translate = Callable[..., str]


class AppointmentAction(str, Enum):
    """What a button does to one appointment."""

    view = "view"
    cancel = "cancel"  # ask: shows the refund the policy gives, then asks to confirm
    cancel_confirm = "cancel_ok"  # do it
    reschedule = "resched"  # choose a new date, then a time
    attend = "attend"  # "I'll come" from a reminder
    again = "again"  # "Book again": a new booking of the same service with the same specialist
    calendar = "ics"  # send the appointment as an .ics file


class AppointmentCb(CallbackData, prefix="appt"):
    action: AppointmentAction
    appointment_id: DbId


class MyPage(str, Enum):
    upcoming = "up"
    past = "past"


class MyListCb(CallbackData, prefix="my"):
    """Open the list of the client's appointments (upcoming or past)."""

    page: MyPage


class RescheduleDateCb(CallbackData, prefix="rsd"):
    """A new date for the appointment; `day` is written YYYYMMDD on the wire."""

    appointment_id: DbId
    day: DayCode


class RescheduleTimeCb(CallbackData, prefix="rst"):
    """A new start for the appointment, as a UTC POSIX timestamp (seconds)."""

    appointment_id: DbId
    ts: Timestamp


class RescheduleTimesPageCb(CallbackData, prefix="rstp"):
    """A part of the day (a tab) or a page of the new date's times: `page` is
    `part * PART_PAGES + page within the part` (`bot.keyboards.times`)."""

    appointment_id: DbId
    day: DayCode
    page: Annotated[int, Field(ge=0, le=MAX_TIME_PAGE)]


class RescheduleConfirmCb(CallbackData, prefix="rsc"):
    appointment_id: DbId
    ts: Timestamp


class WalletAction(str, Enum):
    show = "show"
    topup = "topup"  # choose an amount


class WalletCb(CallbackData, prefix="wal"):
    action: WalletAction


class TopUpCb(CallbackData, prefix="top"):
    """Top up by a fixed amount, in whole units of the currency (validated against the list)."""

    amount: DbId


# Fixed top-up amounts offered to clients (whole units of the currency).
TOPUP_AMOUNTS: tuple[int, ...] = (500, 1000, 2000, 5000)


def appointment_list_keyboard(
    t: Translate, items: Sequence[tuple[int, str]], *, past: bool
) -> InlineKeyboardMarkup:
    """One button per appointment (`(id, short label)`), then the page switch."""
    kb = KeyboardBuilder()
    for appointment_id, label in items:
        kb.button(
            text=label,
            callback_data=AppointmentCb(
                action=AppointmentAction.view, appointment_id=appointment_id
            ),
        )
    if past:
        kb.button(text=t("account.btn.upcoming"), callback_data=MyListCb(page=MyPage.upcoming))
    else:
        kb.button(text=t("account.btn.past"), callback_data=MyListCb(page=MyPage.past))
    kb.adjust(1)
    return kb.as_markup()


def appointment_actions_keyboard(
    t: Translate,
    appointment_id: int,
    *,
    can_change: bool,
    can_move: bool = True,
    past: bool = False,
    book_again: bool = False,
) -> InlineKeyboardMarkup:
    """Cancel / Reschedule (when the appointment is still booked and upcoming; Reschedule only
    while a move is allowed, before the free-cancel deadline), "Book again" (a past visit), and
    Back (to the list it belongs to: `past` = the history)."""
    kb = KeyboardBuilder()
    if book_again:
        kb.button(
            text=t("account.btn.book_again"),
            callback_data=AppointmentCb(
                action=AppointmentAction.again, appointment_id=appointment_id
            ),
        )
    first_row = 0
    if can_change:
        kb.button(
            text=t("account.btn.cancel"),
            callback_data=AppointmentCb(
                action=AppointmentAction.cancel, appointment_id=appointment_id
            ),
        )
        first_row += 1
        if can_move:
            kb.button(
                text=t("account.btn.reschedule"),
                callback_data=AppointmentCb(
                    action=AppointmentAction.reschedule, appointment_id=appointment_id
                ),
            )
            first_row += 1
    page = MyPage.past if past else MyPage.upcoming
    kb.button(text=t("account.btn.back"), callback_data=MyListCb(page=page))
    if first_row:
        kb.adjust(*([1] if book_again else []), first_row, 1)
    else:
        kb.adjust(1)
    return kb.as_markup()


def cancel_confirm_keyboard(t: Translate, appointment_id: int) -> InlineKeyboardMarkup:
    kb = KeyboardBuilder()
    kb.button(
        text=t("account.btn.cancel_yes"),
        callback_data=AppointmentCb(
            action=AppointmentAction.cancel_confirm, appointment_id=appointment_id
        ),
    )
    kb.button(
        text=t("account.btn.cancel_no"),
        callback_data=AppointmentCb(action=AppointmentAction.view, appointment_id=appointment_id),
    )
    kb.adjust(1)
    return kb.as_markup()


# Dates a page of the reschedule date picker shows (as many as /book's picker).
RESCHEDULE_DATES_PER_PAGE = 12


class ReschedulePageCb(CallbackData, prefix="rsp"):
    """A page of the reschedule date picker (`page` 0 = the first dates)."""

    appointment_id: DbId
    page: Annotated[int, Field(ge=0, le=100)]


def reschedule_dates_keyboard(
    t: Translate,
    appointment_id: int,
    days: Sequence[date],
    *,
    labels: Sequence[str] | None = None,
    page: int = 0,
) -> InlineKeyboardMarkup:
    """Date buttons as in /book's picker (`DD.MM` and the weekday, given as `labels`), three to
    a row, paged like it; only the dates the service offers (none in the past)."""
    per = RESCHEDULE_DATES_PER_PAGE
    pages = max(1, -(-len(days) // per))
    page = min(max(page, 0), pages - 1)
    texts = list(labels) if labels is not None else [d.strftime("%d.%m") for d in days]
    kb = KeyboardBuilder()
    for day, text in list(zip(days, texts, strict=True))[page * per : (page + 1) * per]:
        kb.button(
            text=text,
            callback_data=RescheduleDateCb(appointment_id=appointment_id, day=day),
        )
    kb.adjust(3)
    pager = []
    if page > 0:
        pager.append(
            InlineKeyboardButton(
                text=t("booking.btn.prev"),
                callback_data=ReschedulePageCb(appointment_id=appointment_id, page=page - 1).pack(),
            )
        )
    if page < pages - 1:
        pager.append(
            InlineKeyboardButton(
                text=t("booking.btn.next"),
                callback_data=ReschedulePageCb(appointment_id=appointment_id, page=page + 1).pack(),
            )
        )
    if pager:
        kb.row(*pager)
    kb.row(_back_to(t, appointment_id))
    return kb.as_markup()


def reschedule_times_keyboard(
    t: Translate,
    appointment_id: int,
    day: date,
    starts: Sequence[tuple[int, str]],
    page: int = 0,
) -> InlineKeyboardMarkup:
    """The day's times in /book's picker layout (`bot.keyboards.times`: `HH:MM` in the
    location's zone, many times grouped by part of the day); `starts` is `(utc_ts, "HH:MM")`.
    Below: another date."""
    kb = KeyboardBuilder()
    rows = time_rows(
        starts,
        page,
        t,
        pick=lambda ts: RescheduleTimeCb(appointment_id=appointment_id, ts=ts).pack(),
        turn=lambda value: RescheduleTimesPageCb(
            appointment_id=appointment_id, day=day, page=value
        ).pack(),
    )
    for row in rows:
        kb.row(*row)
    kb.row(
        InlineKeyboardButton(
            text=t("account.btn.other_date"),
            callback_data=AppointmentCb(
                action=AppointmentAction.reschedule, appointment_id=appointment_id
            ).pack(),
        )
    )
    return kb.as_markup()


def reschedule_confirm_keyboard(t: Translate, appointment_id: int, ts: int) -> InlineKeyboardMarkup:
    kb = KeyboardBuilder()
    kb.button(
        text=t("account.btn.reschedule_confirm"),
        callback_data=RescheduleConfirmCb(appointment_id=appointment_id, ts=ts),
    )
    kb.button(
        text=t("account.btn.other_time"),
        callback_data=AppointmentCb(
            action=AppointmentAction.reschedule, appointment_id=appointment_id
        ),
    )
    kb.adjust(1)
    kb.row(_back_to(t, appointment_id))
    return kb.as_markup()


def wallet_keyboard(
    t: Translate, *, payments_enabled: bool, contact_url: str | None = None
) -> InlineKeyboardMarkup | None:
    """Top up by card when Telegram Payments are on; else a button that opens a chat with the
    salon (`ADMIN_CONTACT`), when one is set."""
    kb = KeyboardBuilder()
    if payments_enabled:
        kb.button(text=t("account.btn.topup"), callback_data=WalletCb(action=WalletAction.topup))
    elif contact_url is not None:
        kb.button(text=t("account.btn.contact"), url=contact_url)
    else:
        return None
    return kb.as_markup()


def topup_amounts_keyboard(
    t: Translate, amounts: Sequence[tuple[int, str]]
) -> InlineKeyboardMarkup:
    """`amounts` is `(whole units, formatted label)`."""
    kb = KeyboardBuilder()
    for amount, label in amounts:
        kb.button(text=label, callback_data=TopUpCb(amount=amount))
    kb.adjust(2)
    kb.row(
        InlineKeyboardButton(
            text=t("account.btn.back"), callback_data=WalletCb(action=WalletAction.show).pack()
        )
    )
    return kb.as_markup()


def _back_to(t: Translate, appointment_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=t("account.btn.back"),
        callback_data=AppointmentCb(
            action=AppointmentAction.view, appointment_id=appointment_id
        ).pack(),
    )


def back_to_list_keyboard(t: Translate) -> InlineKeyboardMarkup:
    kb = KeyboardBuilder()
    kb.button(text=t("account.btn.upcoming"), callback_data=MyListCb(page=MyPage.upcoming))
    return kb.as_markup()


def back_to_wallet_keyboard(t: Translate) -> InlineKeyboardMarkup:
    kb = KeyboardBuilder()
    kb.button(text=t("account.btn.back"), callback_data=WalletCb(action=WalletAction.show))
    return kb.as_markup()
