"""Keyboards and callback data of the admin area. Callback data carries ids and enum values
only, range-checked when parsed (a forged value fails to parse and is answered as a stale
button); every handler then checks the admin role on the server before acting.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import Enum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from pydantic import Field

from bot.domain.periods import PeriodKind
from bot.i18n import Translator
from bot.keyboards.builder import KeyboardBuilder
from bot.keyboards.catalog_file import CatalogFileAction, CatalogFileCb
from bot.keyboards.fields import FlowToken
from bot.keyboards.stats import StatsAction, StatsCb

# A database id (PostgreSQL integer) and a Telegram user id.
DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]
TgId = Annotated[int, Field(ge=1, le=2**53)]
Page = Annotated[int, Field(ge=0, le=10_000)]
# A date as YYYYMMDD.
Day = Annotated[str, Field(pattern=r"^\d{8}$")]


class AdminScreen(str, Enum):
    home = "home"
    day = "day"
    clients = "cl"
    book = "book"  # book for a client: pick the client first
    new_client = "newc"  # book for a new client without Telegram: ask name and phone
    add_admin = "adda"  # ask for the new admin's id, a forwarded message or a contact
    admins = "adm"
    audit = "aud"
    invites = "inv"
    close = "x"


class AdminNavCb(CallbackData, prefix="adm"):
    """Open a screen of the /admin menu (`page` of a paged list)."""

    screen: AdminScreen
    page: Page = 0


class ClientAction(str, Enum):
    card = "card"
    block = "block"
    unblock = "unblock"
    notes = "notes"  # asks for the new notes
    topup = "topup"  # asks for the amount and an optional comment
    adjust = "adjust"  # asks for the signed amount and a comment
    discount = "disc"  # asks for the discount percent
    book = "book"  # books for this client: the booking flow on the client's behalf


class AdminClientCb(CallbackData, prefix="admc"):
    action: ClientAction
    client_id: DbId


class ClientListPurpose(str, Enum):
    card = "card"  # a client's button opens the card
    book = "book"  # a client's button starts booking for them


class AdminClientsCb(CallbackData, prefix="adml"):
    """A page of the clients list: those matching the admin's last typed search, or everyone."""

    purpose: ClientListPurpose
    page: Page = 0


class DayKind(str, Enum):
    location = "loc"
    specialist = "spec"


class AdminDayCb(CallbackData, prefix="admd"):
    kind: DayKind
    target_id: DbId
    day: Day


class AdminDayPickCb(CallbackData, prefix="admp"):
    """The day view's choice for a date: a page of locations or of specialists."""

    kind: DayKind
    day: Day
    page: Page = 0


class AdminDayDateCb(CallbackData, prefix="admq"):
    """Ask for a date to show the day view of this location or specialist on."""

    kind: DayKind
    target_id: DbId


class ApptAction(str, Enum):
    view = "view"
    cancel = "cancel"  # asks for the reason, then cancels with a full refund
    move = "move"  # asks for the new time (and specialist), then moves it
    completed = "done"
    no_show = "ns"
    undo_mark = "un"  # takes a came / no-show mark back (the appointment's own day only)
    workplace = "wp"  # lists the other workplaces free at that time


class AdminApptCb(CallbackData, prefix="adma"):
    action: ApptAction
    appointment_id: DbId


class AdminApptClientCb(CallbackData, prefix="admac"):
    """The client's card opened from this appointment's card: its Back returns there."""

    appointment_id: DbId


class AdminWorkplaceCb(CallbackData, prefix="admw"):
    """Move the appointment to this workplace at the same time and pin it there."""

    appointment_id: DbId
    workplace_id: DbId


class AdminRemoveCb(CallbackData, prefix="admr"):
    """Take the admin role from a stored admin."""

    tg_id: TgId


class InviteAction(str, Enum):
    create = "new"
    unlink = "unl"


class AdminInviteCb(CallbackData, prefix="admi"):
    action: InviteAction
    specialist_id: DbId


class AdminDeskPayCb(CallbackData, prefix="admy"):
    """Booking at the desk for a client whose wallet is short: record the missing amount as
    paid at the desk (cash or card), then confirm the booking flow `flow`."""

    flow: FlowToken


def day_code(day: date) -> str:
    return day.strftime("%Y%m%d")


def parse_day_code(code: str) -> date | None:
    try:
        return date(int(code[:4]), int(code[4:6]), int(code[6:8]))
    except ValueError:
        return None


def nav_row(i18n: Translator, back: CallbackData | None) -> list[InlineKeyboardButton]:
    """Back (to `back`, default the menu) and Close: on every screen."""
    target = back or AdminNavCb(screen=AdminScreen.home)
    return [
        InlineKeyboardButton(text=i18n("admin.btn.back"), callback_data=target.pack()),
        InlineKeyboardButton(
            text=i18n("admin.btn.close"),
            callback_data=AdminNavCb(screen=AdminScreen.close).pack(),
        ),
    ]


def pager_row(
    i18n: Translator, screen: AdminScreen, page: int, has_next: bool
) -> list[InlineKeyboardButton]:
    row = []
    if page > 0:
        row.append(
            InlineKeyboardButton(
                text=i18n("admin.btn.prev"),
                callback_data=AdminNavCb(screen=screen, page=page - 1).pack(),
            )
        )
    if has_next:
        row.append(
            InlineKeyboardButton(
                text=i18n("admin.btn.next"),
                callback_data=AdminNavCb(screen=screen, page=page + 1).pack(),
            )
        )
    return row


def menu_keyboard(i18n: Translator) -> InlineKeyboardMarkup:
    kb = KeyboardBuilder()
    for screen, key in (
        (AdminScreen.day, "admin.menu.day"),
        (AdminScreen.clients, "admin.menu.clients"),
        (AdminScreen.book, "admin.menu.book"),
        (AdminScreen.admins, "admin.menu.admins"),
        (AdminScreen.audit, "admin.menu.audit"),
        (AdminScreen.invites, "admin.menu.invites"),
    ):
        kb.button(text=i18n(key), callback_data=AdminNavCb(screen=screen))
    # The owner's side: statistics (this month, the whole business) and the catalog screen.
    kb.button(
        text=i18n("stats.menu"),
        callback_data=StatsCb(action=StatsAction.show, period=PeriodKind.MONTH.value),
    )
    kb.button(
        text=i18n("catalog.menu"), callback_data=CatalogFileCb(action=CatalogFileAction.screen)
    )
    kb.button(text=i18n("admin.btn.close"), callback_data=AdminNavCb(screen=AdminScreen.close))
    kb.adjust(2, 1, 2, 1, 2, 1)
    return kb.as_markup()


def rows_keyboard(
    rows: Sequence[Sequence[InlineKeyboardButton]],
    i18n: Translator,
    back: CallbackData | None = None,
) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[list(r) for r in rows if r] + [nav_row(i18n, back)]
    )


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def desk_pay_button(i18n: Translator, flow: str, missing: str) -> InlineKeyboardButton:
    """ "Paid `missing` at the desk: book" under a desk booking's summary."""
    return button(i18n("admin.btn.desk_pay", amount=missing), AdminDeskPayCb(flow=flow))


def desk_booked_keyboard(
    appointment_id: int, client_id: int, i18n: Translator
) -> InlineKeyboardMarkup:
    """Under an appointment booked at the desk: its admin card, and the client's card."""
    rows = [
        [
            button(
                i18n("admin.btn.appointment"),
                AdminApptCb(action=ApptAction.view, appointment_id=appointment_id),
            )
        ],
        [
            button(
                i18n("admin.btn.client_card"),
                AdminClientCb(action=ClientAction.card, client_id=client_id),
            )
        ],
    ]
    return rows_keyboard(rows, i18n)
