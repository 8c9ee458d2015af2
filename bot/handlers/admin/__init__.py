"""The admin area: the /admin menu, the text shortcuts, booking at the desk, and the specialist
invite deep link. Everything but the invite link (opened by the specialist, who is no admin) is
behind the admin gate (an `AdminRouter`, see `bot.handlers.admin_only`).
Rule: docs/rules.md#admin-rights."""

from __future__ import annotations

from aiogram import Router

from bot.handlers.admin import invite_start, menu, shortcuts
from bot.handlers.admin_only import AdminRouter


def setup_router() -> Router:
    router = Router(name="admin")
    invite_start.register(router)
    gated = AdminRouter(name="admin_desk")
    menu.register(gated)
    shortcuts.register(gated)
    router.include_router(gated)
    return router
