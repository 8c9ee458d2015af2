"""The Bot object, built the same way by the bot process and the standalone worker."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.config import Settings


def build_bot(settings: Settings) -> Bot:
    """The Bot, talking to `TELEGRAM_API_URL` (a local Bot API server or the emulator) if set."""
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        if settings.telegram_api_url
        else AiohttpSession()
    )
    return Bot(token=settings.bot_token.get_secret_value(), session=session)
