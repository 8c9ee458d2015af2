"""The client's account: /my (appointments, cancel, reschedule), /wallet (balance, ledger,
Telegram Payments top-ups).

`router()` builds the feature router; the main menu's "my" and "wallet" are registered here.
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.types import Message

from bot.handlers.account import appointments, payments, reschedule, wallet
from bot.handlers.common import register_menu_action
from bot.handlers.routing import adopt
from bot.i18n import Translator
from bot.keyboards.common import MenuAction
from bot.states import AccountFlow

_hints = Router(name="account.hints")


def _not_a_command(message: Message) -> bool:
    return not (message.text or "").startswith("/")


@_hints.message(StateFilter(AccountFlow), _not_a_command)
async def on_text_mid_flow(message: Message, i18n: Translator, **_: Any) -> None:
    """Text (or anything else) where a button is expected: a hint; the screen stays as is."""
    await message.answer(i18n("account.hint.use_buttons"))


def router() -> Router:
    """/my, cancel, reschedule, /wallet and the hint for text where a button is expected."""
    return adopt(
        Router(name="account"), appointments.router, reschedule.router, wallet.router, _hints
    )


def payments_router() -> Router:
    """Pre-checkout and successful payments: include it before every conversation router."""
    return adopt(Router(name="account.payments.root"), payments.router)


register_menu_action(MenuAction.my, appointments.on_menu_my)
register_menu_action(MenuAction.wallet, wallet.on_menu_wallet)

__all__ = ["payments_router", "router"]
