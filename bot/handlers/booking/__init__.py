"""The client booking conversation: /book and the main menu's "book" -> location -> service ->
specialist -> date -> time -> summary -> confirm, plus the waitlist in the flow.

`setup_router()` builds the feature router (confirm and waitlist first, so the flow's catch-all
for unparsable booking buttons comes last).
"""

from __future__ import annotations

from aiogram import Router

from bot.handlers.booking import confirm, flow


def setup_router() -> Router:
    router = Router(name="booking")
    confirm.register(router)
    flow.register(router)
    return router


__all__ = ["setup_router"]
