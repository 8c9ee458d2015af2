"""What every account handler needs (`AccountDeps`, built per update by the container), and the
small helpers that put a screen on the chat (edit the pressed message, or send a new one)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.config import Settings
from bot.i18n import Translator
from bot.services.availability import AvailabilityService
from bot.services.booking import Actor, BookingService
from bot.services.reschedule_flow import RescheduleFlow
from bot.services.wallet import WalletService
from bot.telegram import edit_text

log = logging.getLogger(__name__)


@dataclass(slots=True)
class AccountDeps:
    """The pressing client (registered on the fly if they skipped /start), the update's time and
    the services the account screens use."""

    settings: Settings
    i18n: Translator
    client_id: int
    now: datetime
    booking: BookingService
    availability: AvailabilityService
    wallet: WalletService
    reschedule: RescheduleFlow

    @property
    def currency(self) -> str:
        return self.settings.currency

    @property
    def actor(self) -> Actor:
        return Actor(kind="client", id=self.client_id)


async def show(
    event: Message | CallbackQuery,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    edit: bool = True,
) -> None:
    """A command answers with a new message; a button edits the message it sits on (when
    `edit`), falling back to a new message if that message can no longer be edited."""
    if isinstance(event, Message):
        await event.answer(text, reply_markup=markup)
        return
    message = event.message
    if not isinstance(message, Message):  # too old to be shown to the bot: write anew
        await event.bot.send_message(event.from_user.id, text, reply_markup=markup)  # type: ignore[union-attr]
        return
    if edit:
        try:
            await edit_text(message, text, markup)
            return
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                return
            log.info("cannot edit message %s, sending anew: %s", message.message_id, exc)
    await message.answer(text, reply_markup=markup)
