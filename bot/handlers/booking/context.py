"""The state of one booking conversation (kept in FSM data) and the services its handlers use.

The draft holds ids only, plus what was offered on screen (dates, times) so that a pressed value
can be told apart from a forged one. It also keeps every field of a `BookingRequest`, so a
confirm still works after the hold has expired, as long as the time is free.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State

from bot.config import Settings
from bot.i18n import Translator
from bot.keyboards.booking import BookStep
from bot.services.admin_gate import AdminGate
from bot.services.availability import AvailabilityService
from bot.services.booking import BookingService
from bot.services.booking_flow import BookingFlow
from bot.services.booking_menu import BookingMenuService
from bot.services.waitlist import WaitlistService
from bot.services.wallet import WalletService
from bot.states import BookingStates

DRAFT_KEY = "booking"
# The last flow that ended in a booking: {"flow": token, "appointment_id": id}.
BOOKED_KEY = "booked"

STEP_STATES: dict[BookStep, State] = {
    BookStep.LOCATION: BookingStates.location,
    BookStep.SERVICE: BookingStates.service,
    BookStep.SPECIALIST: BookingStates.specialist,
    BookStep.DATE: BookingStates.date,
    BookStep.TIME: BookingStates.time,
    BookStep.SUMMARY: BookingStates.confirm,
}
STATE_STEPS: dict[str, BookStep] = {s.state: step for step, s in STEP_STATES.items() if s.state}
ORDER: tuple[BookStep, ...] = tuple(STEP_STATES)

# Commands that only show something (the wallet, the help, the list, the language choice): a
# booking in progress stays open under them, its held time with it, so the summary's own
# buttons still work afterwards (the missing-money screen sends the client to the wallet).
KEEPS_BOOKING = frozenset({"wallet", "help", "my", "language"})
# Commands that start another conversation: they end the booking (its hold released).
ENDS_BOOKING = frozenset(
    {
        "start",
        "book",
        "cancel",
        "admin",
        "agenda",
        "client",
        "day",
        "topup",
        "adjust",
        "discount",
        "invite",
        "stats",
        "addadmin",
    }
)


def command_of(text: str | None) -> str | None:
    """The command a message starts with (`/wallet@bot args` -> `wallet`), or None."""
    if not text or not text.startswith("/"):
        return None
    return text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""


def new_flow_token() -> str:
    return secrets.token_hex(4)


@dataclass(slots=True)
class Draft:
    """What the client picked so far in one flow (`flow` identifies the flow's buttons)."""

    flow: str
    location_id: int | None = None
    service_id: int | None = None
    specialist_id: int | None = None
    any_specialist: bool = False
    day: int | None = None  # date ordinal
    start: int | None = None  # Unix timestamp of the chosen start
    hold_id: str | None = None
    date_page: int = 0
    time_page: int = 0
    # Steps chosen automatically because they had one choice: Back skips them.
    auto: list[str] = field(default_factory=list)
    # What the current screen offered (dates as ordinals, times as timestamps).
    offered_days: list[int] = field(default_factory=list)
    offered_times: list[int] = field(default_factory=list)
    offered_near: list[int] = field(default_factory=list)  # the date step's nearest starts
    # What the summary quoted for the held time: the specialist ("any" made definite) and the
    # price before the discount (a decimal string); confirm books exactly that.
    assigned_specialist: int | None = None
    held_workplace: int | None = None  # the hold's workplace (with the specialist: its pair)
    quoted_price: str | None = None
    # An admin booking at the desk for this client, and the line naming them above each
    # screen ("Booking for Anna"); None: the presser books for themself.
    for_client: int | None = None
    for_label: str = ""
    for_name: str = ""  # the client's name, for the texts that speak about them
    for_chat: bool = True  # False: the client has no Telegram (no waitlist offer reaches them)
    # The one message that carries this flow's live buttons (None: not known yet). A button
    # pressed on any other message is out of date, and that message loses its keyboard.
    message_id: int | None = None

    @property
    def desk_client(self) -> str | None:
        """The client's name when an admin books for them at the desk (None: the presser
        books for themself): the texts then name them (`render_booking.voice`)."""
        return (self.for_name or "—") if self.for_client is not None else None

    @property
    def chosen_specialist(self) -> int | None:
        """The specialist to ask the services for: None means "any"."""
        return None if self.any_specialist else self.specialist_id

    @property
    def day_date(self) -> date | None:
        return date.fromordinal(self.day) if self.day is not None else None

    @property
    def start_at(self) -> datetime | None:
        return datetime.fromtimestamp(self.start, UTC) if self.start is not None else None

    def set_auto(self, step: BookStep, auto: bool) -> None:
        if auto and step.value not in self.auto:
            self.auto.append(step.value)
        elif not auto and step.value in self.auto:
            self.auto.remove(step.value)

    def is_auto(self, step: BookStep) -> bool:
        return step.value in self.auto

    def forget_after(self, step: BookStep) -> None:
        """Drop every choice made after `step` (the client changed `step`)."""
        later = ORDER[ORDER.index(step) + 1 :]
        if BookStep.SERVICE in later:
            self.service_id = None
        if BookStep.SPECIALIST in later:
            self.specialist_id = None
            self.any_specialist = False
        if BookStep.DATE in later:
            self.day = None
            self.date_page = 0
            self.offered_days = []
            self.offered_near = []
        if BookStep.TIME in later:
            self.start = None
            self.time_page = 0
            self.offered_times = []
        self.hold_id = None
        self.assigned_specialist = None
        self.held_workplace = None
        self.quoted_price = None
        for s in later:
            self.set_auto(s, False)

    def to_data(self) -> dict[str, Any]:
        """The draft as FSM data: every field, lists copied (what `dataclasses.asdict` gives,
        without its recursive deep copy: the fields are plain values and lists of them)."""
        return {
            name: list(value) if isinstance(value, list) else value
            for name in _DRAFT_FIELDS
            for value in (getattr(self, name),)
        }

    @classmethod
    def from_data(cls, raw: object) -> Draft | None:
        if not isinstance(raw, dict):
            return None
        try:
            return cls(**raw)
        except TypeError:
            return None  # written by an older version of the flow: treat as gone


_DRAFT_FIELDS = tuple(f.name for f in fields(Draft))


async def load_draft(state: FSMContext) -> Draft | None:
    data = await state.get_data()
    return Draft.from_data(data.get(DRAFT_KEY))


async def current_step(state: FSMContext) -> BookStep | None:
    raw = await state.get_state()
    return STATE_STEPS.get(raw) if raw else None


async def save(state: FSMContext, draft: Draft, step: BookStep) -> None:
    await state.set_state(STEP_STATES[step])
    await state.update_data({DRAFT_KEY: draft.to_data()})


async def end_flow(state: FSMContext, *, booked: tuple[str, int] | None = None) -> None:
    """Leave the booking conversation. `booked` = (the flow's token, the appointment it booked)
    is remembered, so a repeated or re-delivered Confirm of that flow shows the same card."""
    await state.set_state(None)
    update: dict[str, object] = {DRAFT_KEY: None}
    if booked is not None:
        update[BOOKED_KEY] = {"flow": booked[0], "appointment_id": booked[1]}
    await state.update_data(update)


async def retire_flow_message(bot: Bot, chat_id: int, state: FSMContext) -> None:
    """Take the keyboard off the message of the booking flow in `state`, when that flow ends
    or another message replaces it: a finished or replaced flow leaves no live buttons."""
    draft = await load_draft(state)
    if draft is None or draft.message_id is None:
        return
    await drop_keyboard(bot, chat_id, draft.message_id)


async def drop_keyboard(bot: Bot, chat_id: int, message_id: int) -> None:
    """Remove a message's inline keyboard; a message already without one (or gone) is fine."""
    # Not modified, too old or deleted: nothing live is left either way.
    with contextlib.suppress(TelegramBadRequest):
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)


async def booked_by(state: FSMContext, flow: str) -> int | None:
    """The appointment the flow `flow` booked (see `end_flow`), or None."""
    booked = (await state.get_data()).get(BOOKED_KEY)
    if isinstance(booked, dict) and booked.get("flow") == flow:
        appointment_id = booked.get("appointment_id")
        return appointment_id if isinstance(appointment_id, int) else None
    return None


@dataclass(slots=True)
class Deps:
    """Everything a booking handler needs: the pressing client, the update's time and the
    services (built per update by the container, see `bot.ioc.providers`)."""

    settings: Settings
    i18n: Translator
    client_id: int
    now: datetime
    menu: BookingMenuService
    availability: AvailabilityService
    booking: BookingService
    flow: BookingFlow
    waitlist: WaitlistService
    wallet: WalletService
    # The admin's Telegram id when `client_id` is a client they book for at the desk, and the
    # admin's own client id (a new /book of theirs is for themself).
    booked_by: int | None = None
    presser_client_id: int | None = None

    @property
    def own_client_id(self) -> int:
        """The client id of the person pressing (not of the client booked for at the desk)."""
        return self.client_id if self.presser_client_id is None else self.presser_client_id

    @property
    def currency(self) -> str:
        return self.settings.currency


async def acting_client(
    state: FSMContext | None, client_id: int, tg_id: int, gate: AdminGate
) -> tuple[int, int | None]:
    """Whom the booking handlers act for: (client id, the booking admin's Telegram id or None).

    The presser themself, unless their flow is an admin's desk booking for another client
    (`Draft.for_client`); then the role is checked on the server first, and a user who is no
    admin now gets `AccessDenied(NOT_ADMIN)` (their old desk flow is not theirs to finish).
    Rule: docs/rules.md#admin-rights."""
    draft = await load_draft(state) if state is not None else None
    if draft is None or draft.for_client is None:
        return client_id, None
    await gate.require(tg_id)
    return draft.for_client, tg_id
