"""What every admin handler does the same way: edit the menu message, tell a refusal, send the
usage line, read what a typed answer is for. The role itself is checked once for the whole
admin router (`bot.handlers.admin_only`) and again by each use case in its transaction."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.domain.errors import DomainError, InvalidInput
from bot.handlers.admin.render import refusal_text
from bot.i18n import Translator
from bot.telegram import edit_text

# Shortcuts whose usage line is followed by how to name a client.
CLIENT_ARGUMENT = ("client", "topup", "adjust", "discount")


async def edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Show `text` in the pressed message (the menu's one message) and stop the spinner."""
    if isinstance(query.message, Message):
        await edit_text(query.message, text, markup)
    await query.answer()


async def refuse(event: Message | CallbackQuery, exc: DomainError, i18n: Translator) -> None:
    """Tell a refused action: an alert for a button (the screen stays), a reply to a message.
    A refusal the admin area has no text for goes on to the error router's text."""
    text = refusal_text(exc, i18n)
    if text is None:
        raise exc
    if isinstance(event, CallbackQuery):
        await event.answer(text, show_alert=True)
    else:
        await event.answer(text)


def usage_text(i18n: Translator, command: str) -> str:
    """The shortcut's usage line with an example, in the admin's language."""
    text = i18n(f"admin.usage.{command}")
    if command in CLIENT_ARGUMENT:
        text = f"{text}\n{i18n('admin.usage.client_hint')}"
    return text


async def usage(message: Message, i18n: Translator, command: str) -> None:
    await message.answer(usage_text(i18n, command))


async def retry(message: Message, exc: InvalidInput, i18n: Translator, expected: str) -> None:
    """A typed value broke a rule: which rule, then what is expected (the question asked, or
    the shortcut's usage line) again, so the admin can type it right."""
    await message.answer(f"{refusal_text(exc, i18n)}\n{expected}")


async def ask(
    message: Message | None,
    state: FSMContext,
    next_state: State,
    text: str,
    data: dict[str, object] | None = None,
) -> None:
    """Wait for the admin to type an answer (`next_state`, what it is for in `data`)."""
    await state.set_state(next_state)
    if data:
        await state.update_data(data)
    if message is not None:
        await message.answer(text)


async def pending_id(state: FSMContext, key: str) -> int | None:
    """The id a typed answer is for (set by `ask`); None (and the state cleared) when gone."""
    value = (await state.get_data()).get(key)
    if isinstance(value, int):
        return value
    await state.set_state(None)
    return None
