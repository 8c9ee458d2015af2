"""The client's account: /my (appointments, cancel, reschedule), /wallet (balance, ledger,
Telegram Payments top-ups).

`setup_router()` builds the feature router (the main menu's "my" and "wallet" included);
`payments.setup_router()` is included separately, before every conversation.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.types import Message

from bot.handlers.account import appointments, reschedule, wallet
from bot.i18n import Translator
from bot.states import AccountFlow


def _not_a_command(message: Message) -> bool:
    return not (message.text or "").startswith("/")


async def on_text_mid_flow(message: Message, i18n: Translator) -> None:
    """Text (or anything else) where a button is expected: a hint; the screen stays as is."""
    await message.answer(i18n("account.hint.use_buttons"))


def setup_router() -> Router:
    """/my, cancel, reschedule, /wallet and the hint for text where a button is expected."""
    router = Router(name="account")
    appointments.register(router)
    reschedule.register(router)
    wallet.register(router)
    router.message.register(on_text_mid_flow, StateFilter(AccountFlow), _not_a_command)
    return router


__all__ = ["setup_router"]
