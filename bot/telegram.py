"""The Bot object, built the same way by the bot process and the standalone worker."""

from __future__ import annotations

from typing import Any

from aiogram import Bot, methods
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods.base import Response, TelegramMethod

from bot.config import Settings


def _response_types() -> tuple[type[Any], ...]:
    """`Response[T]` for every Bot API method's result type `T` (41 types; about 50 ms once).

    aiogram parses each API answer as `Response[method.__returning__]`. pydantic keeps the
    parametrized model only in a weak cache, and the class dies at the next garbage collection,
    so without a strong reference every call after one rebuilds the model and its validator:
    measured at about a tenth of the bot's CPU under load (docs/bench-stack.md). Holding them
    here keeps pydantic's cache warm for the life of the process.
    """
    returning = {
        kind.__returning__
        for name in methods.__all__
        if isinstance(kind := getattr(methods, name), type)
        and issubclass(kind, TelegramMethod)
        and kind is not TelegramMethod
    }
    return tuple(Response[result] for result in returning)  # type: ignore[valid-type]


RESPONSE_TYPES = _response_types()


def build_bot(settings: Settings) -> Bot:
    """The Bot, talking to `TELEGRAM_API_URL` (a local Bot API server or the emulator) if set."""
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        if settings.telegram_api_url
        else AiohttpSession()
    )
    return Bot(token=settings.bot_token.get_secret_value(), session=session)
