"""Which routers serve admins only: they are `AdminRouter`s, and the app puts the admin gate
(`bot.middlewares.admin_only`) on each of them, so every message, document and button their
handlers take is checked on the server first, and a non-admin gets `DENIED_TEXT`.
Rule: docs/rules.md#admin-rights.
"""

from __future__ import annotations

from aiogram import Router

# The one text a non-admin gets for any admin command, document or button.
DENIED_TEXT = "admin.denied"


class AdminRouter(Router):
    """A router for admins only (gated as a whole, nested routers included)."""


def is_admin_router(router: Router) -> bool:
    return isinstance(router, AdminRouter)
