"""The admin area: the /admin menu, the text shortcuts, and the specialist invite deep link.
Every handler checks the role on the server; see `menu` and `shortcuts`.
Rule: docs/rules.md#admin-rights."""

from __future__ import annotations

from aiogram import Router

from bot.handlers.admin import invite_start, menu, shortcuts


def setup_router() -> Router:
    router = Router(name="admin")
    invite_start.register(router)
    menu.register(router)
    shortcuts.register(router)
    return router
