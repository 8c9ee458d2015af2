"""Inline keyboards of the /book flow and the callback data they carry.

Callback data carries ids only (a location, service or specialist id, a date as an ordinal, a
start as a Unix timestamp, a page number) plus the flow token and the step the button belongs to,
so the handler can tell a stale button from a current one. Everything is re-validated on the
server before it is used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from enum import Enum
from typing import Annotated
from urllib.parse import quote_plus

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from pydantic import Field

from bot.i18n import Translator
from bot.keyboards.account import AppointmentAction, AppointmentCb, WalletAction, WalletCb
from bot.keyboards.builder import KeyboardBuilder
from bot.keyboards.fields import END_TIMESTAMP, FlowToken, Timestamp
from bot.keyboards.times import time_rows

DATES_PER_PAGE = 12
DATES_PER_ROW = 3


class BookStep(str, Enum):
    """The step a button was drawn for."""

    LOCATION = "l"
    SERVICE = "s"
    SPECIALIST = "p"
    DATE = "d"
    TIME = "t"
    SUMMARY = "c"


class BookAction(str, Enum):
    PICK = "pick"
    PAGE = "page"
    BACK = "back"
    CANCEL = "x"
    CONFIRM = "ok"
    JOIN_WAITLIST = "wl"
    PAY = "pay"  # pay the missing amount by card, and book when the payment arrives


# Ids, date ordinals, Unix timestamps and page numbers all fit in [0, END_TIMESTAMP); an id is
# checked further (`is_db_id`) before it is looked up.
BookValue = Annotated[int, Field(ge=0, lt=END_TIMESTAMP)]


class BookCb(CallbackData, prefix="bk"):
    """A button of the booking flow.

    `flow` is the token of the flow the button was drawn in (a button of an older flow is
    stale); `value` is the id of what was picked: a location/service/specialist id (0 = any
    specialist), a date ordinal, a start as a Unix timestamp, or a page number.
    """

    flow: FlowToken
    step: BookStep
    action: BookAction
    value: BookValue = 0


class NearCb(CallbackData, prefix="bn"):
    """One of the nearest free times offered on the date step (`start`, a Unix timestamp): it
    picks the date and the time in one press. Valid only in the flow `flow`, on its date step,
    and only for a start that screen offered."""

    flow: FlowToken
    start: Timestamp


_FLOW_TOKEN = re.compile(r"[0-9a-f]{1,16}")


def _cb(flow: str, step: BookStep, action: BookAction, value: int = 0) -> str:
    """`BookCb(flow=..., step=..., action=..., value=...).pack()`, written directly when the
    values keep the fields' rules: a screen packs up to 30 buttons, and the model's validation
    and dump cost about 8 us each (docs/bench-stack.md). Anything else goes through the model,
    which raises `ValidationError` as before. `tests/unit/test_callback_data.py` holds the
    two equal."""
    if type(value) is int and 0 <= value < END_TIMESTAMP and _FLOW_TOKEN.fullmatch(flow):
        return f"{BookCb.__prefix__}:{flow}:{step.value}:{action.value}:{value}"
    return BookCb(flow=flow, step=step, action=action, value=value).pack()


def _nav_row(
    flow: str, step: BookStep, i18n: Translator, *, back: bool
) -> list[InlineKeyboardButton]:
    row = []
    if back:
        row.append(
            InlineKeyboardButton(
                text=i18n("booking.btn.back"), callback_data=_cb(flow, step, BookAction.BACK)
            )
        )
    row.append(
        InlineKeyboardButton(
            text=i18n("booking.btn.cancel"), callback_data=_cb(flow, step, BookAction.CANCEL)
        )
    )
    return row


def _pager_row(
    flow: str, step: BookStep, page: int, pages: int, i18n: Translator
) -> list[InlineKeyboardButton]:
    row = []
    if page > 0:
        row.append(
            InlineKeyboardButton(
                text=i18n("booking.btn.prev"),
                callback_data=_cb(flow, step, BookAction.PAGE, page - 1),
            )
        )
    if page < pages - 1:
        row.append(
            InlineKeyboardButton(
                text=i18n("booking.btn.next"),
                callback_data=_cb(flow, step, BookAction.PAGE, page + 1),
            )
        )
    return row


def page_count(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def clamp_page(page: int, total: int, per_page: int) -> int:
    return min(max(page, 0), page_count(total, per_page) - 1)


def choice_keyboard(
    flow: str,
    step: BookStep,
    items: Sequence[tuple[int, str]],
    i18n: Translator,
    *,
    back: bool,
) -> InlineKeyboardMarkup:
    """One button per row (location, service or specialist names can be long)."""
    kb = KeyboardBuilder()
    for item_id, label in items:
        kb.row(
            InlineKeyboardButton(
                text=label, callback_data=_cb(flow, step, BookAction.PICK, item_id)
            )
        )
    kb.row(*_nav_row(flow, step, i18n, back=back))
    return kb.as_markup()


def date_label(day: date, i18n: Translator) -> str:
    """`DD.MM` plus the weekday abbreviation of the user's language."""
    return f"{day:%d.%m} {i18n(f'booking.weekday.{day.isoweekday()}')}"


FULL_DATE_MARK = "\N{BELL}"


def dates_keyboard(
    flow: str,
    days: Sequence[date],
    page: int,
    i18n: Translator,
    *,
    back: bool,
    full: frozenset[date] = frozenset(),
    nearest: Sequence[tuple[int, str]] = (),
) -> InlineKeyboardMarkup:
    """One button per date; a date in `full` (no free time left) is marked with a bell: it
    leads to the waitlist offer for that date. `nearest` (Unix timestamp, label such as
    `Today 16:30`) are shown above the dates on the first page: one press books that time."""
    items = [
        (
            day.toordinal(),
            f"{date_label(day, i18n)} {FULL_DATE_MARK}" if day in full else date_label(day, i18n),
        )
        for day in days
    ]
    top = [
        InlineKeyboardButton(text=label, callback_data=NearCb(flow=flow, start=start).pack())
        for start, label in nearest
    ]
    return _grid_keyboard(
        flow,
        BookStep.DATE,
        items,
        page,
        DATES_PER_PAGE,
        DATES_PER_ROW,
        i18n,
        back=back,
        top=top if page == 0 else [],
    )


def times_keyboard(
    flow: str, times: Sequence[tuple[int, str]], page: int, i18n: Translator
) -> InlineKeyboardMarkup:
    """All of the day's `times` (Unix timestamp, `HH:MM` in the location's zone) in the shared
    picker layout (`bot.keyboards.times`: many times go by part of the day, `page` is
    `part * PART_PAGES + page within the part`), then Back and Cancel."""
    kb = KeyboardBuilder()
    rows = time_rows(
        times,
        page,
        i18n,
        pick=lambda start: _cb(flow, BookStep.TIME, BookAction.PICK, start),
        turn=lambda value: _cb(flow, BookStep.TIME, BookAction.PAGE, value),
    )
    for row in rows:
        kb.row(*row)
    kb.row(*_nav_row(flow, BookStep.TIME, i18n, back=True))
    return kb.as_markup()


def _grid_keyboard(
    flow: str,
    step: BookStep,
    items: Sequence[tuple[int, str]],
    page: int,
    per_page: int,
    per_row: int,
    i18n: Translator,
    *,
    back: bool,
    top: Sequence[InlineKeyboardButton] = (),
) -> InlineKeyboardMarkup:
    """One page of short (value, label) choices, `per_row` to a row, with the pager below;
    `top` is a row above them."""
    page = clamp_page(page, len(items), per_page)
    shown = items[page * per_page : (page + 1) * per_page]
    kb = KeyboardBuilder()
    if top:
        kb.row(*top)
    buttons = [
        InlineKeyboardButton(text=label, callback_data=_cb(flow, step, BookAction.PICK, value))
        for value, label in shown
    ]
    for i in range(0, len(buttons), per_row):
        kb.row(*buttons[i : i + per_row])
    pager = _pager_row(flow, step, page, page_count(len(items), per_page), i18n)
    if pager:
        kb.row(*pager)
    kb.row(*_nav_row(flow, step, i18n, back=back))
    return kb.as_markup()


def waitlist_keyboard(
    flow: str, i18n: Translator, *, client: str | None = None
) -> InlineKeyboardMarkup:
    """A date whose times are gone (the time step, empty): join the waitlist for it, or go back
    to the dates. `client` names the client an admin books for at the desk."""
    key = "admin.desk.btn.join_waitlist" if client is not None else "booking.btn.join_waitlist"
    kb = KeyboardBuilder()
    kb.row(
        InlineKeyboardButton(
            text=i18n(key, client=client),
            callback_data=_cb(flow, BookStep.TIME, BookAction.JOIN_WAITLIST),
        )
    )
    kb.row(*_nav_row(flow, BookStep.TIME, i18n, back=True))
    return kb.as_markup()


def summary_keyboard(
    flow: str,
    i18n: Translator,
    *,
    pay: InlineKeyboardButton | None = None,
    top_up: InlineKeyboardButton | None = None,
) -> InlineKeyboardMarkup:
    """Confirm (with `pay` above it as the main button when money is missing and card payments
    are on; `top_up` below it otherwise), then Back and Cancel."""
    kb = KeyboardBuilder()
    if pay is not None:
        kb.row(pay)
    kb.row(
        InlineKeyboardButton(
            text=i18n("booking.btn.confirm"),
            callback_data=_cb(flow, BookStep.SUMMARY, BookAction.CONFIRM),
        )
    )
    if top_up is not None:
        kb.row(top_up)
    kb.row(*_nav_row(flow, BookStep.SUMMARY, i18n, back=True))
    return kb.as_markup()


def pay_button(flow: str, i18n: Translator, *, missing: str) -> InlineKeyboardButton:
    """ "💳 Pay ₽700 and book": one invoice for exactly the missing amount."""
    return InlineKeyboardButton(
        text=i18n("booking.btn.pay", amount=missing),
        callback_data=_cb(flow, BookStep.SUMMARY, BookAction.PAY),
    )


def contact_button(i18n: Translator, url: str) -> InlineKeyboardButton:
    """Opens a chat with the salon (`ADMIN_CONTACT`) to arrange a top-up."""
    return InlineKeyboardButton(text=i18n("booking.btn.contact"), url=url)


def back_keyboard(flow: str, step: BookStep, i18n: Translator) -> InlineKeyboardMarkup:
    kb = KeyboardBuilder()
    kb.row(*_nav_row(flow, step, i18n, back=True))
    return kb.as_markup()


def booked_keyboard(
    appointment_id: int,
    i18n: Translator,
    *,
    can_move: bool = True,
    map_url: str | None = None,
) -> InlineKeyboardMarkup:
    """The confirmation's buttons: add to calendar, the map (when the location has an
    address), Cancel, and Reschedule only while a move is allowed (before the free-cancel
    deadline)."""
    kb = KeyboardBuilder()
    top = [
        InlineKeyboardButton(
            text=i18n("booking.btn.calendar"),
            callback_data=AppointmentCb(
                action=AppointmentAction.calendar, appointment_id=appointment_id
            ).pack(),
        )
    ]
    if map_url is not None:
        top.append(InlineKeyboardButton(text=i18n("booking.btn.map"), url=map_url))
    kb.row(*top)
    row = [
        InlineKeyboardButton(
            text=i18n("booking.btn.cancel_appointment"),
            callback_data=AppointmentCb(
                action=AppointmentAction.cancel, appointment_id=appointment_id
            ).pack(),
        )
    ]
    if can_move:
        row.append(
            InlineKeyboardButton(
                text=i18n("booking.btn.reschedule"),
                callback_data=AppointmentCb(
                    action=AppointmentAction.reschedule, appointment_id=appointment_id
                ).pack(),
            )
        )
    kb.row(*row)
    return kb.as_markup()


def map_url(address: str | None, location: str) -> str | None:
    """A map search for the location's address (None without an address)."""
    if not address:
        return None
    return "https://www.google.com/maps/search/?api=1&query=" + quote_plus(f"{location}, {address}")


def top_up_button(i18n: Translator, *, payments_enabled: bool) -> InlineKeyboardButton:
    """Straight to the amounts when Telegram Payments are on, else to the wallet section."""
    action = WalletAction.topup if payments_enabled else WalletAction.show
    key = "booking.btn.top_up" if payments_enabled else "booking.btn.wallet"
    return InlineKeyboardButton(text=i18n(key), callback_data=WalletCb(action=action).pack())
