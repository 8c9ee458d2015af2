"""The client booking conversation: /book and the main menu's "book" -> location -> service ->
specialist -> date -> time -> summary -> confirm, plus the waitlist in the flow.

`router()` builds the feature router (confirm and waitlist first, so the flow router's catch-all
for unparsable booking buttons comes last).
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.handlers.booking import confirm, flow
from bot.handlers.booking.flow import start_booking
from bot.handlers.common import register_menu_action
from bot.handlers.routing import adopt
from bot.keyboards.common import MenuAction


def router() -> Router:
    return adopt(Router(name="booking"), confirm.router, flow.router)


async def on_menu_book(query: CallbackQuery, **data: Any) -> None:
    """The main menu's "book" button: a new flow message below the menu."""
    await query.answer()
    if isinstance(query.message, Message):
        await start_booking(query.message, data["state"], data, new_message=True)


register_menu_action(MenuAction.book, on_menu_book)

__all__ = ["on_menu_book", "router", "start_booking"]
