"""Chooses the language of each update and hands handlers a `Translator`.

The profile comes from its Redis cache, read by the update gate's opening script
(`bot.middlewares.gate`, no command of its own), else from PostgreSQL (then cached).

Language: the stored client profile, else Telegram's `language_code` (if ru/en), else the default.
Handlers receive `i18n` (a `Translator`), `locale` (str) and `profile` (`ClientProfile | None`);
`bot.i18n.gettext` works too, through a context variable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from bot.config import Settings
from bot.i18n import Translator, current_locale, normalize_language
from bot.services.clients import ClientProfile, ClientService

# Where the gate leaves the profile cache's value (bytes, or None on a miss) in the update's data.
CACHED_PROFILE = "cached_profile"


def choose_language(profile: ClientProfile | None, language_code: str | None, default: str) -> str:
    if profile is not None:
        return profile.language
    return normalize_language(language_code) or default


class I18nMiddleware(BaseMiddleware):
    """Outer update middleware (after dedupe): profile lookup (cached) and language."""

    def __init__(self, clients: ClientService, settings: Settings) -> None:
        self.clients = clients
        self.default = settings.default_language

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        profile: ClientProfile | None = None
        if user is not None:
            if CACHED_PROFILE in data:
                cached = data.pop(CACHED_PROFILE)
                profile = await self.clients.profile_from_cache(user.id, cached)
            else:  # no gate in front (a narrowed test dispatcher)
                profile = await self.clients.get_profile(user.id)
        locale = choose_language(profile, user.language_code if user else None, self.default)
        data["profile"] = profile
        data["locale"] = locale
        data["i18n"] = Translator(locale)
        token = current_locale.set(locale)
        try:
            return await handler(event, data)
        finally:
            current_locale.reset(token)
