"""A local Telegram Bot API emulator and simulated users: Telegram for `python -m bot demo` (the
real bot and worker talk to it over HTTP, as to api.telegram.org) and for the tests.

Typical use (fixtures from `tests/emulator/fixtures.py`, registered in `tests/conftest.py`)::

    async def test_something(bot_app, emulator):
        anna = emulator.user(1001, "Анна", language_code="ru")
        await anna.send("/start")
        menu = await anna.wait_for_message()          # next bot message or edit
        await anna.press("Записаться")                 # inline button by text
        answer = await anna.wait_for_callback_answer()

A bot with a pinned clock or other features: `async with running_bot(make_bot_settings(),
setup=pin, features=[...]) as app: ...`. Faults: `emulator.fail_next("sendMessage", status=429,
retry_after=3)`, `emulator.enforce_limits()`, `emulator.delay("sendMessage", 30)`. Everything the
bot called is in `emulator.calls` (`calls_to(method, chat_id=...)`, `wait_for_call(...)`).
"""

from bot.emulator.server import DEFAULT_TOKEN, ApiCall, BotAPIEmulator, EmuMessage, TelegramError
from bot.emulator.users import SimUser

__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "BotAPIEmulator",
    "EmuMessage",
    "SimUser",
    "TelegramError",
]
