"""FSM states of the conversations. Each feature keeps its StatesGroup here so `/cancel` and the
tests can reason about every flow in one place.

States live in aiogram's RedisStorage with a TTL (`FSM_TTL_SECONDS`), so an abandoned flow
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
