"""/start, /help, /language, /cancel, the main menu, the last-resort fallbacks and the one error
handler that turns failures into text.

The main menu's sections are built by their own features: each registers its entry with
`register_menu_action(MenuAction.book, handler)`; a section nobody registered yet is answered
with an honest "not available yet" notice.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, ErrorEvent, Message, ReplyKeyboardRemove, Update, User
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.config import Settings
from bot.domain.errors import InvalidState, NotAllowed, NotFound, SlotTaken
from bot.i18n import SUPPORTED_LANGUAGES, Translator, normalize_language, translate
from bot.keyboards.common import (
    LanguageCb,
    MenuAction,
    MenuCb,
    language_keyboard,
    main_menu,
    phone_keyboard,
)
from bot.services.clients import ClientProfile, ClientService, TelegramUser

log = logging.getLogger(__name__)

router = Router(name="common")
# Included after every feature router: whatever nobody else understood ends here.
fallback_router = Router(name="fallback")

MenuHandler = Callable[..., Awaitable[object]]
# Filled by the features: MenuAction -> `async def handler(query: CallbackQuery, **data)`.
MENU_ACTIONS: dict[MenuAction, MenuHandler] = {}
# Deep-link payloads that belong to another feature (the admin area's specialist invites).
FOREIGN_START_PAYLOADS = ("spec_",)

ReleaseHold = Callable[[int], Awaitable[object]]


def register_menu_action(action: MenuAction, handler: MenuHandler) -> None:
    """Route a main-menu button to a feature's handler (called with the query and handler data)."""
    MENU_ACTIONS[action] = handler


def telegram_user(user: User) -> TelegramUser:
    return TelegramUser(
        tg_id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        language_code=user.language_code,
    )


async def leave_flow(
    state: FSMContext, profile: ClientProfile | None, release_hold: ReleaseHold | None
) -> bool:
    """Clear the FSM state and release the client's booking hold; True if a flow was left."""
    had_state = await state.get_state() is not None
    await state.clear()
    if release_hold is not None and profile is not None:
        await release_hold(profile.client_id)
    return had_state


@router.message(~StateFilter(None), F.text.startswith("/"), ~Command("cancel"))
async def on_command_mid_flow(
    message: Message,
    state: FSMContext,
    profile: ClientProfile | None = None,
    release_hold: ReleaseHold | None = None,
) -> None:
    """Any command ends the flow in progress (its hold released), then runs as usual; whatever
    router owns it. /cancel is left to say whether there was something to cancel.

    Later routers still see the old state in their filters, so their text-in-a-flow handlers
    leave commands alone."""
    await leave_flow(state, profile, release_hold)
    raise SkipHandler


def _is_own_start(message: Message, command: CommandObject) -> bool:
    return not (command.args or "").startswith(FOREIGN_START_PAYLOADS)


@router.message(CommandStart(), _is_own_start)
async def on_start(
    message: Message,
    clients: ClientService,
    state: FSMContext,
    profile: ClientProfile | None = None,
    release_hold: ReleaseHold | None = None,
) -> None:
    assert message.from_user is not None
    await leave_flow(state, profile, release_hold)
    registered = await clients.register(telegram_user(message.from_user))
    i18n = Translator(registered.language)
    name = registered.first_name or i18n("start.friend")
    text = (
        i18n("start.greeting", name=name)
        if registered.created
        else i18n("start.greeting_back", name=name)
    )
    await message.answer(text, reply_markup=main_menu(i18n))


@router.message(Command("help"))
async def on_help(message: Message, i18n: Translator) -> None:
    await message.answer(i18n("help.text"), reply_markup=main_menu(i18n))


@router.message(Command("language"))
async def on_language(message: Message, i18n: Translator) -> None:
    await message.answer(i18n("language.choose"), reply_markup=language_keyboard(i18n))


@router.message(Command("cancel"))
async def on_cancel(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    profile: ClientProfile | None = None,
    release_hold: ReleaseHold | None = None,
) -> None:
    left = await leave_flow(state, profile, release_hold)
    await message.answer(
        i18n("cancel.done" if left else "cancel.nothing"), reply_markup=main_menu(i18n)
    )


async def _menu_help(query: CallbackQuery, i18n: Translator, **_: Any) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(i18n("help.text"), reply_markup=main_menu(i18n))


async def _menu_language(query: CallbackQuery, i18n: Translator, **_: Any) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(i18n("language.choose"), reply_markup=language_keyboard(i18n))


async def _menu_phone(query: CallbackQuery, i18n: Translator, **_: Any) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(i18n("phone.ask"), reply_markup=phone_keyboard(i18n))


register_menu_action(MenuAction.help, _menu_help)
register_menu_action(MenuAction.language, _menu_language)
register_menu_action(MenuAction.phone, _menu_phone)


@router.message(F.contact)
async def on_contact(
    message: Message, i18n: Translator, clients: ClientService, profile: ClientProfile | None = None
) -> None:
    """A shared contact: stored as the client's phone only when it is the sender's own."""
    assert message.from_user is not None and message.contact is not None
    if message.contact.user_id != message.from_user.id:
        await message.answer(i18n("phone.not_own"), reply_markup=phone_keyboard(i18n))
        return
    if profile is None:
        await clients.register(telegram_user(message.from_user))
    try:
        await clients.set_phone(message.from_user.id, message.contact.phone_number)
    except ValueError:
        await message.answer(i18n("phone.invalid"), reply_markup=phone_keyboard(i18n))
        return
    await message.answer(i18n("phone.saved"), reply_markup=ReplyKeyboardRemove())


# The "not now" button of the phone keyboard arrives as plain text, in either language.
_SKIP_PHONE_TEXTS = frozenset(translate("phone.btn.skip", lang) for lang in SUPPORTED_LANGUAGES)


@router.message(F.text.in_(_SKIP_PHONE_TEXTS))
async def on_phone_skipped(message: Message, i18n: Translator) -> None:
    await message.answer(i18n("phone.skipped"), reply_markup=ReplyKeyboardRemove())


@router.callback_query(MenuCb.filter())
async def on_menu(
    query: CallbackQuery, callback_data: MenuCb, i18n: Translator, **data: Any
) -> None:
    handler = MENU_ACTIONS.get(callback_data.action)
    if handler is None:
        await query.answer(i18n("menu.not_available"), show_alert=True)
        return
    await handler(query, i18n=i18n, callback_data=callback_data, **data)


@router.callback_query(LanguageCb.filter(F.language.in_(SUPPORTED_LANGUAGES)))
async def on_language_chosen(
    query: CallbackQuery,
    callback_data: LanguageCb,
    clients: ClientService,
    profile: ClientProfile | None = None,
) -> None:
    if profile is None:
        await clients.register(telegram_user(query.from_user))
    updated = await clients.set_language(query.from_user.id, callback_data.language)
    i18n = Translator(updated.language)
    await query.answer()
    if not isinstance(query.message, Message):
        return
    text, menu = i18n("language.changed"), main_menu(i18n)
    try:
        await query.message.edit_text(text, reply_markup=menu)
    except TelegramBadRequest as exc:
        if "not modified" in str(exc):
            return  # pressed twice: the answer is already on screen
        # Too old to edit (or deleted): say it in a new message instead.
        await query.message.answer(text, reply_markup=menu)


@fallback_router.message()
async def on_unknown_message(message: Message, i18n: Translator) -> None:
    await message.answer(i18n("common.unknown_input"))


@fallback_router.callback_query()
async def on_stale_button(query: CallbackQuery, i18n: Translator) -> None:
    await query.answer(i18n("common.stale_button"), show_alert=True)


# --- the one place that turns an unhandled failure into text --------------------------------

_DOMAIN_TEXTS: tuple[tuple[type[Exception], str], ...] = (
    (SlotTaken, "errors.slot_taken"),
    (NotAllowed, "errors.not_allowed"),
    (NotFound, "errors.not_found"),
    (InvalidState, "errors.invalid_state"),
)


UNAVAILABLE_TEXT = "errors.unavailable"
UNEXPECTED_TEXT = "errors.unexpected"
ERROR_TEXTS = (UNAVAILABLE_TEXT, UNEXPECTED_TEXT, *(key for _, key in _DOMAIN_TEXTS))


def _error_text_key(exc: Exception) -> str:
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return UNAVAILABLE_TEXT
    for kind, key in _DOMAIN_TEXTS:
        if isinstance(exc, kind):
            return key
    return UNEXPECTED_TEXT


def _event_user_and_chat(update: Update) -> tuple[User | None, int | None]:
    if update.message is not None:
        return update.message.from_user, update.message.chat.id
    if update.callback_query is not None:
        query = update.callback_query
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        return query.from_user, chat_id
    if update.pre_checkout_query is not None:
        return update.pre_checkout_query.from_user, update.pre_checkout_query.from_user.id
    return None, None


@router.errors()
async def on_error(event: ErrorEvent, bot: Bot, settings: Settings, **data: Any) -> bool:
    """Redis down -> "temporarily unavailable"; a domain error -> its text; anything else -> an
    apology and a log record with context. The user never sees a trace."""
    exc = event.exception
    update = event.update
    user, chat_id = _event_user_and_chat(update)
    if isinstance(exc, TelegramBadRequest) and "message is not modified" in str(exc):
        # A double press re-rendered the same screen: nothing went wrong for the user.
        if update.callback_query is not None:
            with contextlib.suppress(Exception):
                await update.callback_query.answer()
        return True
    key = _error_text_key(exc)
    context = {"update_id": update.update_id, "user_id": user.id if user else None}
    if key == UNAVAILABLE_TEXT:
        log.error("redis unavailable while handling %s: %s", context, exc)
    elif key == UNEXPECTED_TEXT:
        log.error("unhandled error while handling %s", context, exc_info=exc)
    else:
        log.warning("domain error escaped a handler %s: %r", context, exc)
    i18n: Translator = data.get("i18n") or Translator(
        normalize_language(user.language_code if user else None) or settings.default_language
    )
    text = i18n(key)
    # A successful payment is never delivered again: credit it from its signed payload.
    from bot.handlers.account.payments import credit_after_failure

    text = await credit_after_failure(update, settings, data, i18n) or text
    try:
        if chat_id is not None:
            await bot.send_message(chat_id, text)
        if update.callback_query is not None:
            # Stops the button's spinner; the handler may have answered it already.
            await update.callback_query.answer()
    except Exception:  # telling the user is best effort; the failure is already logged
        log.warning("could not tell the user about the error %s", context, exc_info=True)
    return True
