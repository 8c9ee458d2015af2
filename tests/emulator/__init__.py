"""Local Telegram Bot API emulator and simulated users for the bot's tests."""

from tests.emulator.server import DEFAULT_TOKEN, ApiCall, BotAPIEmulator, EmuMessage, TelegramError
from tests.emulator.users import SimUser

__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "BotAPIEmulator",
    "EmuMessage",
    "SimUser",
    "TelegramError",
]
