"""The one gate of the admin area, on every router that serves admins only (the /admin menu and
shortcuts, statistics, the catalog; the handlers mark them, see `bot.handlers.admin_only`): an
inner middleware, so it runs for each message, document and button a handler of that router has
matched, before the handler.

The role is read from PostgreSQL on every update (`AdminGate`, never the cached profile), so a
removed admin is refused at once, old buttons or not. A refused user gets the one refusal text
(`DENIED_TEXT`) and nothing runs; the use cases check the role again inside their transactions.
Rule: docs/rules.md#admin-rights.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Router
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from dishka import AsyncContainer
from dishka.integrations.aiogram import CONTAINER_NAME

from bot.config import Settings
from bot.i18n import Translator
from bot.services.admin_gate import AdminGate

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class AdminOnly(BaseMiddleware):
    """Lets an update through to the matched handler only when its sender is an admin now;
    anyone else gets `denied_text` (a locale key)."""

    def __init__(self, denied_text: str) -> None:
        self._denied_text = denied_text

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        container: AsyncContainer = data[CONTAINER_NAME]
        gate = await container.get(AdminGate)
        if isinstance(user, User) and await gate.is_admin(user.id):
            return await handler(event, data)
        i18n = data.get("i18n")
        if not isinstance(i18n, Translator):
            settings = await container.get(Settings)
            i18n = Translator(settings.default_language)
        text = i18n(self._denied_text)
        if isinstance(event, CallbackQuery):
            await event.answer(text, show_alert=True)
        elif isinstance(event, Message):
            await event.answer(text)
        return None


def gate_routers(root: Router, is_admin_router: Callable[[Router], bool], denied_text: str) -> int:
    """Put the admin gate on every router under `root` (itself included) that
    `is_admin_router` picks, for its messages and buttons; how many routers were gated."""
    gate = AdminOnly(denied_text)
    gated = 0
    for router in root.chain_tail:
        if is_admin_router(router):
            router.message.middleware(gate)
            router.callback_query.middleware(gate)
            gated += 1
    return gated


def is_gated(router: Router) -> bool:
    """True when `router` carries the admin gate for messages and buttons."""
    return any(isinstance(m, AdminOnly) for m in router.message.middleware) and any(
        isinstance(m, AdminOnly) for m in router.callback_query.middleware
    )
