"""FSM states of the conversations. Each feature keeps its StatesGroup here so `/cancel` and the
tests can reason about every flow in one place.

States live in Redis, state and data in one hash per conversation
(`bot.middlewares.fsm.OneKeyRedisStorage`) with a TTL (`FSM_TTL_SECONDS`), so an abandoned flow
expires by itself.
"""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class BookingStates(StatesGroup):
    """The booking conversation: location -> service -> specialist -> date -> time -> confirm."""

    location = State()
    service = State()
    specialist = State()
    date = State()
    time = State()
    confirm = State()


class AccountFlow(StatesGroup):
    """The client's account: confirming a cancel, choosing a new date/time, choosing a top-up.

    The buttons carry everything they act on (re-validated on the server), so these states only
    tell typed text apart from an expected button press (answered with a hint).
    """

    cancel_confirm = State()
    reschedule_date = State()
    reschedule_time = State()
    reschedule_confirm = State()
    topup_amount = State()


class CatalogEdit(StatesGroup):
    """The admin typing a catalog value (the buttons carry the rest, re-validated on press)."""

    holiday_date = State()
    value = State()  # a value of the catalog editor (what it is: the conversation's data)


class AdminStates(StatesGroup):
    """An admin typing free text for an action: the reason of a cancellation, the new time (and
    specialist) of a move, a client search, a new client's name and phone, a client's notes, a
    top-up or adjustment, a day view's date, a new admin, a statistics period."""

    cancel_reason = State()
    move_to = State()
    client_query = State()
    new_client = State()
    client_notes = State()
    client_topup = State()
    client_adjust = State()
    client_discount = State()
    day_date = State()
    add_admin = State()
    stats_period = State()  # a period typed on the statistics screen
