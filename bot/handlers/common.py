"""/start, /help, /language, /cancel, the main menu's own sections (help, language, phone), the
shared contact, and the last-resort fallbacks.

`setup_router()` comes first in the dispatcher, so /start, /cancel and /help work in the middle
of any flow; `setup_fallback_router()` comes last and answers whatever nobody understood (text
where a button is expected, a stale button, a menu section no feature serves).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    User,
)
from dishka import FromDishka

from bot import formats
from bot.handlers.booking.context import (
    ENDS_BOOKING,
    command_of,
    load_draft,
    retire_flow_message,
)
from bot.i18n import SUPPORTED_LANGUAGES, Translator, translate
from bot.ioc.types import CurrentClient, Now
from bot.keyboards.common import (
    LanguageCb,
    MenuAction,
    MenuCb,
    command_menu,
    language_keyboard,
    main_menu,
    phone_keyboard,
    settings_menu,
)
from bot.keyboards.notify import schedule_row
from bot.notify.agenda import SpecialistAgenda
from bot.services.admin_gate import AdminGate
from bot.services.booking import BookingService
from bot.services.booking_flow import BookingFlow
from bot.services.clients import ClientProfile, ClientService, TelegramUser
from bot.states import AdminStates, BookingStates
from bot.telegram import edit_text

log = logging.getLogger(__name__)

# Deep-link payloads that belong to another feature (the admin area's specialist invites).
FOREIGN_START_PAYLOADS = ("spec_",)


def telegram_user(user: User) -> TelegramUser:
    return TelegramUser(
        tg_id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        language_code=user.language_code,
    )


async def leave_flow(
    state: FSMContext,
    profile: ClientProfile | None,
    flow: BookingFlow,
    message: Message | None = None,
) -> bool:
    """Clear the FSM state and release the client's booking hold (or, for an admin's booking
    at the desk, the hold taken for that client); True if a flow was left. With `message` (the
    command that leaves), the booking message's buttons are removed too."""
    had_state = await state.get_state() is not None
    draft = await load_draft(state)
    if message is not None and message.bot is not None:
        await retire_flow_message(message.bot, message.chat.id, state)
    await state.clear()
    if draft is not None and draft.for_client is not None and draft.hold_id:
        await flow.leave(draft.for_client, draft.hold_id)
    if profile is not None:
        await flow.leave(profile.client_id)
    return had_state


async def on_command_mid_flow(
    message: Message,
    state: FSMContext,
    flow: FromDishka[BookingFlow],
    profile: ClientProfile | None = None,
) -> None:
    """A command that starts another conversation ends the flow in progress (its hold released,
    its buttons removed), then runs as usual, whatever router owns it. /cancel is left to say
    whether there was something to cancel.

    In a booking, a command that only shows something (/wallet, /help, /my, /language) or one
    nobody serves keeps the booking open: the bot itself sends the client to the wallet when
    money is missing, and Confirm must still work afterwards.

    Later routers still see the old state in their filters, so their text-in-a-flow handlers
    leave commands alone. During a PostgreSQL outage the command could not run: the flow stays
    (the outage error reaches the error handler, which says "try again in a minute")."""
    in_booking = (await state.get_state() or "").startswith(BookingStates.__full_group_name__ + ":")
    if in_booking and command_of(message.text) not in ENDS_BOOKING:
        raise SkipHandler
    await flow.check_database()
    await leave_flow(state, profile, flow, message)
    raise SkipHandler


def _is_own_start(message: Message, command: CommandObject) -> bool:
    return not (command.args or "").startswith(FOREIGN_START_PAYLOADS)


# How many upcoming appointments the greeting counts at most.
UPCOMING_LIMIT = 20


async def greeting(
    profile: ClientProfile, i18n: Translator, booking: BookingService, now: datetime
) -> tuple[str, InlineKeyboardMarkup]:
    """The greeting with the client's next appointment, and the main menu with "My
    appointments (N)"."""
    name = profile.first_name or i18n("start.friend")
    text = (
        i18n("start.greeting", name=name)
        if profile.created
        else i18n("start.greeting_back", name=name)
    )
    upcoming = await booking.list_for_client(profile.client_id, now=now, limit=UPCOMING_LIMIT)
    if upcoming:
        nxt = upcoming[0]
        when = formats.day_time(
            nxt.start,
            nxt.timezone,
            i18n.locale,
            today=formats.today_in(nxt.timezone, now),
        )
        text += "\n" + i18n(
            "start.next", when=when, service=nxt.service_name, specialist=nxt.specialist_name
        )
    return text, main_menu(i18n, appointments=len(upcoming))


async def edit_in_place(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | ReplyKeyboardMarkup
) -> int | None:
    """A main-menu answer replaces the menu message instead of stacking a new one (a reply
    keyboard, or a message too old to edit, comes as a new message). Returns the id of the
    message that now shows `text` (None when the pressed message is inaccessible)."""
    message = query.message
    if not isinstance(message, Message):
        return None
    if isinstance(markup, InlineKeyboardMarkup):
        try:
            await edit_text(message, text, markup)
            return message.message_id
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                return message.message_id
    sent = await message.answer(text, reply_markup=markup)
    return sent.message_id


async def on_start(
    message: Message,
    state: FSMContext,
    clients: FromDishka[ClientService],
    flow: FromDishka[BookingFlow],
    agenda: FromDishka[SpecialistAgenda],
    booking: FromDishka[BookingService],
    now: FromDishka[Now],
    profile: ClientProfile | None = None,
) -> None:
    assert message.from_user is not None
    await leave_flow(state, profile, flow, message)
    registered = await clients.register(telegram_user(message.from_user), now=now)
    i18n = Translator(registered.language)
    text, menu = await greeting(registered, i18n, booking, now)
    # A specialist's home: their day first, with Today / Tomorrow / Week above the menu.
    home = await agenda.home_for(message.from_user.id, now=now, lang=i18n.locale)
    if home is not None:
        text = f"{home}\n\n{text}"
        menu.inline_keyboard.insert(0, schedule_row(i18n.locale))
    await message.answer(text, reply_markup=menu)


async def help_text(
    i18n: Translator, tg_id: int | None, profile: ClientProfile, gate: AdminGate
) -> str:
    """The client's help, plus `/agenda` for a specialist and the admin area's commands for an
    admin (the role read on the server)."""
    parts = [i18n("help.text")]
    if profile.specialist_id is not None:
        parts.append(i18n("help.specialist"))
    if tg_id is not None and await gate.is_admin(tg_id):
        parts.append(i18n("admin.help"))
    return "\n\n".join(parts)


async def on_help(
    message: Message,
    i18n: Translator,
    client: FromDishka[CurrentClient],
    gate: FromDishka[AdminGate],
) -> None:
    user = message.from_user.id if message.from_user is not None else None
    text = await help_text(i18n, user, client.profile, gate)
    await message.answer(text, reply_markup=main_menu(i18n))


async def on_language(message: Message, i18n: Translator) -> None:
    await message.answer(i18n("language.choose"), reply_markup=language_keyboard(i18n))


async def on_cancel(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    flow: FromDishka[BookingFlow],
    profile: ClientProfile | None = None,
) -> None:
    left = await leave_flow(state, profile, flow, message)
    await message.answer(
        i18n("cancel.done" if left else "cancel.nothing"), reply_markup=main_menu(i18n)
    )


async def on_menu_help(
    query: CallbackQuery,
    i18n: Translator,
    client: FromDishka[CurrentClient],
    gate: FromDishka[AdminGate],
) -> None:
    await query.answer()
    text = await help_text(i18n, query.from_user.id, client.profile, gate)
    await edit_in_place(query, text, main_menu(i18n))


async def on_menu_settings(query: CallbackQuery, i18n: Translator, state: FSMContext) -> None:
    """⚙️ Settings in place; from the phone screen's « Back, the phone prompt is put away
    first (its reply keyboard removed)."""
    await query.answer()
    if isinstance(query.message, Message) and await _phone_pending(state):
        await close_phone_prompt(query.message, state, i18n, notice=None)
        return
    await edit_in_place(query, i18n("settings.title"), settings_menu(i18n))


async def on_menu_home(
    query: CallbackQuery,
    i18n: Translator,
    clients: FromDishka[ClientService],
    booking: FromDishka[BookingService],
    now: FromDishka[Now],
) -> None:
    """« Menu: the greeting and the main menu again, in place."""
    registered = await clients.register(telegram_user(query.from_user), now=now)
    await query.answer()
    text, menu = await greeting(registered, Translator(registered.language), booking, now)
    await edit_in_place(query, text, menu)


async def on_menu_language(query: CallbackQuery, i18n: Translator) -> None:
    await query.answer()
    await edit_in_place(query, i18n("language.choose"), language_keyboard(i18n))


# The phone step. Telegram's "share my contact" button exists only on a reply keyboard, which
# only a new message can bring. So the settings message itself becomes the phone screen (its
# text, and « Back), one short message below carries the reply keyboard, and when the client
# answers (shares, says "not now" or goes back) that message is deleted, the reply keyboard is
# removed, and the answer shows in place on the settings message.
PHONE_SCREEN_KEY = "phone_screen"  # the settings message, now the phone screen
PHONE_PROMPT_KEY = "phone_prompt"  # the message carrying the reply keyboard


async def _phone_pending(state: FSMContext) -> bool:
    return isinstance((await state.get_data()).get(PHONE_SCREEN_KEY), int)


async def _prompt_phone(message: Message, state: FSMContext, i18n: Translator, text: str) -> None:
    """(Re)place the one message carrying the contact keyboard: the old one is deleted."""
    old = (await state.get_data()).get(PHONE_PROMPT_KEY)
    if isinstance(old, int) and message.bot is not None:
        await _delete(message.bot, message.chat.id, old)
    sent = await message.answer(text, reply_markup=phone_keyboard(i18n))
    await state.update_data({PHONE_PROMPT_KEY: sent.message_id})


async def _delete(bot: Bot, chat_id: int, message_id: int) -> None:
    # Gone already (or too old to delete): nothing is left on screen either way.
    with contextlib.suppress(TelegramBadRequest):
        await bot.delete_message(chat_id=chat_id, message_id=message_id)


async def close_phone_prompt(
    message: Message, state: FSMContext, i18n: Translator, *, notice: str | None
) -> None:
    """Put the phone step away: the keyboard's message deleted, the reply keyboard removed (a
    removal only a message can carry, deleted at once), and the settings shown in place on the
    phone screen with `notice` above (as a new message when there is no screen to edit)."""
    data = await state.get_data()
    screen, prompt = data.get(PHONE_SCREEN_KEY), data.get(PHONE_PROMPT_KEY)
    await state.update_data({PHONE_SCREEN_KEY: None, PHONE_PROMPT_KEY: None})
    bot, chat_id = message.bot, message.chat.id
    text = f"{notice}\n\n{i18n('settings.title')}" if notice else i18n("settings.title")
    if bot is None or not isinstance(screen, int):
        await message.answer(notice or text, reply_markup=ReplyKeyboardRemove())
        return
    if isinstance(prompt, int):
        await _delete(bot, chat_id, prompt)
    remover = await bot.send_message(
        chat_id, notice or text, reply_markup=ReplyKeyboardRemove(), disable_notification=True
    )
    await _delete(bot, chat_id, remover.message_id)
    try:
        await bot.edit_message_text(
            text, chat_id=chat_id, message_id=screen, reply_markup=settings_menu(i18n)
        )
    except TelegramBadRequest as exc:
        if "not modified" not in str(exc):  # the screen is gone: the settings come anew
            await bot.send_message(chat_id, text, reply_markup=settings_menu(i18n))


async def on_menu_phone(query: CallbackQuery, i18n: Translator, state: FSMContext) -> None:
    """The settings message becomes the phone screen; the contact keyboard comes below it. A
    phone screen left open on another (older) settings message turns back into the settings, so
    one phone screen is live at a time."""
    await query.answer()
    if not isinstance(query.message, Message):
        return
    earlier = (await state.get_data()).get(PHONE_SCREEN_KEY)
    bot = query.message.bot
    if isinstance(earlier, int) and earlier != query.message.message_id and bot is not None:
        # Gone or already the settings: nothing to put back.
        with contextlib.suppress(TelegramBadRequest):
            await bot.edit_message_text(
                i18n("settings.title"),
                chat_id=query.message.chat.id,
                message_id=earlier,
                reply_markup=settings_menu(i18n),
            )
    back = MenuCb(action=MenuAction.settings).pack()
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=i18n("booking.btn.back"), callback_data=back)]]
    )
    # The message that shows the phone text is the screen to put back later: a settings
    # message too old to edit leaves it to a new one.
    screen = await edit_in_place(query, i18n("phone.ask"), markup)
    await state.update_data({PHONE_SCREEN_KEY: screen})
    await _prompt_phone(query.message, state, i18n, i18n("phone.keyboard_below"))


async def on_contact(
    message: Message,
    i18n: Translator,
    state: FSMContext,
    clients: FromDishka[ClientService],
    now: FromDishka[Now],
    profile: ClientProfile | None = None,
) -> None:
    """A shared contact: stored as the client's phone only when it is the sender's own; a
    refused one asks again on the keyboard's message, a saved one closes the phone step."""
    assert message.from_user is not None and message.contact is not None
    if message.contact.user_id != message.from_user.id:
        await _prompt_phone(message, state, i18n, i18n("phone.not_own"))
        return
    if profile is None:
        await clients.register(telegram_user(message.from_user), now=now)
    try:
        await clients.set_phone(message.from_user.id, message.contact.phone_number)
    except ValueError:
        await _prompt_phone(message, state, i18n, i18n("phone.invalid"))
        return
    await close_phone_prompt(message, state, i18n, notice=i18n("phone.saved"))


# The "not now" button of the phone keyboard arrives as plain text, in either language.
_SKIP_PHONE_TEXTS = frozenset(translate("phone.btn.skip", lang) for lang in SUPPORTED_LANGUAGES)


async def on_phone_skipped(message: Message, i18n: Translator, state: FSMContext) -> None:
    await close_phone_prompt(message, state, i18n, notice=i18n("phone.skipped"))


async def on_language_chosen(
    query: CallbackQuery,
    callback_data: LanguageCb,
    clients: FromDishka[ClientService],
    now: FromDishka[Now],
    profile: ClientProfile | None = None,
) -> None:
    if profile is None:
        await clients.register(telegram_user(query.from_user), now=now)
    updated = await clients.set_language(query.from_user.id, callback_data.language)
    i18n = Translator(updated.language)
    await query.answer()
    if not isinstance(query.message, Message):
        return
    await _set_chat_commands(query.message, updated.language)
    text, menu = i18n("language.changed"), main_menu(i18n)
    try:
        await edit_text(query.message, text, menu)
    except TelegramBadRequest as exc:
        if "not modified" in str(exc):
            return  # pressed twice: the answer is already on screen
        # Too old to edit (or deleted): say it in a new message instead.
        await query.message.answer(text, reply_markup=menu)


async def _set_chat_commands(message: Message, language: str) -> None:
    """The slash-command menu of this chat in the chosen language (Telegram otherwise shows
    the menu of the app's language). Best effort: the language is saved either way."""
    if message.bot is None:
        return
    try:
        await message.bot.set_my_commands(
            command_menu(language), scope=BotCommandScopeChat(chat_id=message.chat.id)
        )
    except TelegramAPIError as exc:
        log.warning("could not set the command menu of chat %s: %r", message.chat.id, exc)


def setup_router() -> Router:
    """Commands and screens every feature shares; included before the features."""
    router = Router(name="common")
    router.message.register(
        on_command_mid_flow, ~StateFilter(None), F.text.startswith("/"), ~Command("cancel")
    )
    router.message.register(on_start, CommandStart(), _is_own_start)
    router.message.register(on_help, Command("help"))
    router.message.register(on_language, Command("language"))
    router.message.register(on_cancel, Command("cancel"))
    # A contact shared while adding an admin names the new admin (the admin menu takes it).
    router.message.register(on_contact, F.contact, ~StateFilter(AdminStates.add_admin))
    router.message.register(on_phone_skipped, F.text.in_(_SKIP_PHONE_TEXTS))
    router.callback_query.register(on_menu_help, MenuCb.filter(F.action == MenuAction.help))
    router.callback_query.register(on_menu_language, MenuCb.filter(F.action == MenuAction.language))
    router.callback_query.register(on_menu_phone, MenuCb.filter(F.action == MenuAction.phone))
    router.callback_query.register(on_menu_settings, MenuCb.filter(F.action == MenuAction.settings))
    router.callback_query.register(on_menu_home, MenuCb.filter(F.action == MenuAction.home))
    router.callback_query.register(
        on_language_chosen, LanguageCb.filter(F.language.in_(SUPPORTED_LANGUAGES))
    )
    return router


async def on_unknown_message(message: Message, i18n: Translator) -> None:
    await message.answer(i18n("common.unknown_input"))


async def on_menu_not_available(query: CallbackQuery, i18n: Translator) -> None:
    """A main-menu section no feature included in this dispatcher serves."""
    await query.answer(i18n("menu.not_available"), show_alert=True)


async def on_stale_button(query: CallbackQuery, i18n: Translator) -> None:
    await query.answer(i18n("common.stale_button"), show_alert=True)


def setup_fallback_router() -> Router:
    """Included after every feature: whatever nobody else understood ends here."""
    router = Router(name="fallback")
    router.message.register(on_unknown_message)
    router.callback_query.register(on_menu_not_available, MenuCb.filter())
    router.callback_query.register(on_stale_button)
    return router
