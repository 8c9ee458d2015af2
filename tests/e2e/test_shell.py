"""The shell over HTTP: the real Dispatcher (built as `python -m bot` builds it) against the
Bot API emulator, the test database and Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiogram import F, Router
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import CallbackQuery
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import BotApp
from bot.domain.slots import SlotCandidate
from bot.domain.types import SlotQuery
from bot.emulator import BotAPIEmulator
from bot.emulator.types import EmuMessage
from bot.emulator.users import SimUser
from bot.i18n import translate
from bot.keyboards.common import BOT_COMMANDS, MenuAction, MenuCb
from bot.states import BookingStates
from db.models import Client, ClientWallet


async def _count(session_factory: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with session_factory() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def chat_menu(emulator: BotAPIEmulator, chat_id: int) -> list[str]:
    """The descriptions of the command menu set for one chat (`BotCommandScopeChat`)."""
    return [c["description"] for c in emulator.commands.get(f"chat@{chat_id}:", [])]


async def test_start_registers_once_and_shows_menu(
    bot_app: BotApp, emulator: BotAPIEmulator, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    anna = emulator.user(1001, "Анна", language_code="ru")
    await anna.send("/start")
    greeting = await anna.wait_for_message()
    assert greeting.text == translate("start.greeting", "ru", name="Анна")
    assert greeting.button_texts() == [
        translate(f"menu.btn.{a}", "ru") for a in ("book", "my", "wallet", "help", "settings")
    ]
    await anna.send("/start")
    again = await anna.wait_for_message()
    assert again.text == translate("start.greeting_back", "ru", name="Анна")
    assert await _count(session_factory, Client) == 1
    assert await _count(session_factory, ClientWallet) == 1


async def test_english_user_gets_english_help(bot_app: BotApp, emulator: BotAPIEmulator) -> None:
    bob = emulator.user(1002, "Bob", language_code="en-US")
    await bob.send("/help")
    answer = await bob.wait_for_message()
    assert answer.text == translate("help.text", "en")
    assert "/book" in (answer.text or "")


async def test_language_switch_is_stored_and_used(
    bot_app: BotApp, emulator: BotAPIEmulator, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    bob = emulator.user(1003, "Bob", language_code="en")
    await bob.send("/start")
    await bob.wait_for_message(translate("start.greeting", "en", name="Bob"))
    await bob.send("/language")
    await bob.wait_for_message(translate("language.choose", "en"))
    await bob.press("Русский")
    changed = await bob.wait_for_message()
    assert changed.text == translate("language.changed", "ru")
    assert translate("menu.btn.book", "ru") in changed.button_texts()
    async with session_factory() as s:
        assert await s.scalar(select(Client.language).where(Client.tg_id == 1003)) == "ru"
    # The chat's own slash-command menu follows the choice, not the app's language.
    assert chat_menu(emulator, 1003) == [translate(f"commands.{c}", "ru") for c in BOT_COMMANDS]
    # Telegram still says "en"; the stored choice wins.
    await bob.send("/help")
    assert (await bob.wait_for_message()).text == translate("help.text", "ru")
    # A double press on a language: the second changes nothing and raises nothing.
    await bob.send("/language")
    prompt = await bob.wait_for_message(translate("language.choose", "ru"))
    button = prompt.find_button("English")
    assert button is not None
    await bob.press_data(button["callback_data"], message_id=prompt.message_id)
    await bob.wait_for_message(translate("language.changed", "en"))
    assert chat_menu(emulator, 1003) == [translate(f"commands.{c}", "en") for c in BOT_COMMANDS]
    await bob.press_data(button["callback_data"], message_id=prompt.message_id)
    assert (await bob.wait_for_callback_answer()).get("text") is None
    await emulator.wait_for(lambda: not emulator.pending_updates())
    texts = [m.text for m in bob.messages]
    assert translate("errors.unexpected", "ru") not in texts
    assert translate("errors.unexpected", "en") not in texts


async def test_cancel_leaves_any_flow_and_releases_the_hold(
    clean_db: Any, redis: Any, emulator: BotAPIEmulator, make_bot_settings: Any
) -> None:
    from tests.emulator.fixtures import running_bot

    async with running_bot(make_bot_settings()) as app:
        eva = emulator.user(1004, "Eva", language_code="ru")
        await eva.send("/start")
        await eva.wait_for_message()
        profile = await app.clients.get_profile(1004)
        assert profile is not None
        key = StorageKey(bot_id=app.bot.id, chat_id=1004, user_id=1004)
        await app.dispatcher.storage.set_state(key, BookingStates.time)
        await app.dispatcher.storage.set_data(key, {"service_id": 7})
        # A hold taken at the time step (Redis only: no catalog is needed to hold).
        holds = app.services.holds
        start = datetime(2031, 3, 3, 10, tzinfo=UTC)
        await holds.acquire(
            client_id=profile.client_id,
            query=SlotQuery(location_id=1, service_id=1),
            candidate=SlotCandidate(
                specialist_id=1,
                workplace_id=1,
                start=start,
                end=start + timedelta(hours=1),
                blocked_until=start + timedelta(hours=1),
                price=Decimal("100"),
                duration_min=60,
                break_min=0,
            ),
        )
        assert await holds.get(profile.client_id) is not None

        await eva.send("/cancel")
        answer = await eva.wait_for_message()
        assert answer.text == translate("cancel.done", "ru")
        assert await app.dispatcher.storage.get_state(key) is None
        assert await app.dispatcher.storage.get_data(key) == {}
        assert await holds.get(profile.client_id) is None

        await eva.send("/cancel")
        assert (await eva.wait_for_message()).text == translate("cancel.nothing", "ru")


async def test_duplicate_update_is_processed_once(
    bot_app: BotApp, emulator: BotAPIEmulator
) -> None:
    kim = emulator.user(1005, "Kim", language_code="en")
    update_id = await kim.send("/help")
    await kim.wait_for_message(translate("help.text", "en"))
    await emulator.redeliver(update_id)
    # A polled batch is acknowledged only after all its handlers returned.
    await emulator.wait_for(lambda: not emulator.pending_updates())
    helps = [m for m in kim.messages if m.text == translate("help.text", "en")]
    assert len(helps) == 1


async def test_unknown_text_and_forged_button_get_an_answer(
    bot_app: BotApp, emulator: BotAPIEmulator
) -> None:
    lea = emulator.user(1006, "Lea", language_code="en")
    await lea.send("hello?")
    assert (await lea.wait_for_message()).text == translate("common.unknown_input", "en")
    await lea.press_data("menu:no-such-action")
    answer = await lea.wait_for_callback_answer()
    assert answer["text"] == translate("common.stale_button", "en")


def menu_feature(action: MenuAction, handler: Any) -> Any:
    """A feature that serves one main-menu section with `handler`."""

    def setup_router() -> Router:
        router = Router(name=f"test.{action.value}")
        router.callback_query.register(handler, MenuCb.filter(F.action == action))
        return router

    return setup_router


async def test_menu_section_without_handler_is_an_honest_notice(
    clean_db: Any, emulator: BotAPIEmulator, make_bot_settings: Any
) -> None:
    from tests.emulator.fixtures import running_bot

    # No feature serves "book" in this bot.
    async with running_bot(make_bot_settings(), features=()):
        ivan = emulator.user(1007, "Иван", language_code="ru")
        await ivan.send("/start")
        await ivan.wait_for_message()
        await ivan.press(translate("menu.btn.book", "ru"))
        answer = await ivan.wait_for_callback_answer()
        assert answer["text"] == translate("menu.not_available", "ru")
        await ivan.press_data(MenuCb(action=MenuAction.help).pack())
        assert (await ivan.wait_for_message()).text == translate("help.text", "ru")


async def test_unexpected_error_gets_an_apology_and_the_update_can_run_again(
    clean_db: Any, emulator: BotAPIEmulator, make_bot_settings: Any, redis: Any, caplog: Any
) -> None:
    from tests.emulator.fixtures import running_bot

    calls: list[int] = []

    async def broken(query: CallbackQuery) -> None:
        calls.append(1)
        raise RuntimeError("database exploded")

    features = [menu_feature(MenuAction.wallet, broken)]
    async with running_bot(make_bot_settings(), features=features) as bot_app:
        await _apology_and_redelivery(bot_app, emulator, redis, caplog, calls)


async def _apology_and_redelivery(
    bot_app: BotApp, emulator: BotAPIEmulator, redis: Any, caplog: Any, calls: list[int]
) -> None:
    zoe = emulator.user(1008, "Zoe", language_code="en")
    await zoe.send("/start")
    await zoe.wait_for_message()
    update_id = await zoe.press(translate("menu.btn.wallet", "en"))
    apology = await zoe.wait_for_message()
    assert apology.text == translate("errors.unexpected", "en")
    assert "exploded" not in (apology.text or "")
    # The trace goes to the log, with the update and the user to find it by.
    logged = [r for r in caplog.records if r.levelname == "ERROR" and r.exc_info]
    assert any(
        f"'update_id': {update_id}" in r.getMessage() and "'user_id': 1008" in r.getMessage()
        for r in logged
    )
    # The failed update is re-admitted, not marked done: a redelivery runs the handler again.
    settings = bot_app.settings
    assert await redis.get(f"{settings.redis_prefix}:update:{update_id}") == b"failed"
    await emulator.redeliver(update_id)
    await zoe.wait_for_message(translate("errors.unexpected", "en"))
    assert len(calls) == 2


async def test_concurrent_duplicate_start_over_the_bot(
    bot_app: BotApp, emulator: BotAPIEmulator, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    ola = emulator.user(1010, "Ola", language_code="ru")
    await asyncio.gather(*(ola.send("/start") for _ in range(3)))
    await emulator.wait_for(lambda: not emulator.pending_updates())
    assert await _count(session_factory, Client) == 1
    assert await _count(session_factory, ClientWallet) == 1
    texts = [m.text for m in ola.messages]
    assert texts[0] == translate("start.greeting", "ru", name="Ola")
    assert texts[1:] == [translate("start.greeting_back", "ru", name="Ola")] * 2


async def test_start_with_a_payload_does_not_crash(
    bot_app: BotApp, emulator: BotAPIEmulator
) -> None:
    pia = emulator.user(1011, "Pia", language_code="en")
    await pia.send("/start promo-2031")
    assert (await pia.wait_for_message()).text == translate("start.greeting", "en", name="Pia")
    # Invite links belong to the admin area; whoever answers, it is never the apology.
    await pia.send("/start spec_not-a-real-token")
    answer = await pia.wait_for_message()
    assert answer.text != translate("errors.unexpected", "en")


async def test_re_rendering_the_same_screen_is_not_an_error(
    clean_db: Any, emulator: BotAPIEmulator, make_bot_settings: Any
) -> None:
    from aiogram.exceptions import TelegramBadRequest
    from aiogram.methods import EditMessageText

    from tests.emulator.fixtures import running_bot

    async def same_screen(query: CallbackQuery) -> None:
        raise TelegramBadRequest(
            method=EditMessageText(text="x"), message="Bad Request: message is not modified"
        )

    async with running_bot(
        make_bot_settings(), features=[menu_feature(MenuAction.my, same_screen)]
    ):
        uma = emulator.user(1012, "Uma", language_code="en")
        await uma.send("/start")
        await uma.wait_for_message()
        await uma.press(translate("menu.btn.my", "en"))
        assert (await uma.wait_for_callback_answer()).get("text") is None
        await emulator.wait_for(lambda: not emulator.pending_updates())
        assert translate("errors.unexpected", "en") not in [m.text for m in uma.messages]


async def _phone_of(session_factory: async_sessionmaker[AsyncSession], tg_id: int) -> str | None:
    async with session_factory() as s:
        return await s.scalar(select(Client.phone).where(Client.tg_id == tg_id))


def bot_messages(emulator: BotAPIEmulator, chat_id: int) -> list[EmuMessage]:
    """The bot's messages in the chat, deleted ones included, in order."""
    return sorted(emulator.sent_messages(chat_id), key=lambda m: m.message_id)


def shown(emulator: BotAPIEmulator, chat_id: int) -> list[EmuMessage]:
    return [m for m in bot_messages(emulator, chat_id) if not m.deleted]


def reply_keyboard_removed(emulator: BotAPIEmulator, chat_id: int) -> bool:
    """The last reply keyboard the bot sent in the chat was a removal."""
    sent = [
        m.reply_markup
        for m in bot_messages(emulator, chat_id)
        if m.reply_markup and ("keyboard" in m.reply_markup or "remove_keyboard" in m.reply_markup)
    ]
    return bool(sent) and sent[-1].get("remove_keyboard") is True


async def open_phone(user: SimUser, lang: str) -> tuple[EmuMessage, EmuMessage]:
    """/start -> Settings -> Phone: (the settings message, now the phone screen; the message
    carrying the contact keyboard)."""
    await user.send("/start")
    menu = await user.wait_for_message()
    await user.press(translate("menu.btn.settings", lang))  # language and phone live there
    await user.wait_for_message(translate("settings.title", lang))
    await user.press(translate("menu.btn.phone", lang))
    screen = await user.wait_for_message(translate("phone.ask", lang))
    assert screen.message_id == menu.message_id  # the conversation goes on in place
    assert screen.button_texts() == [translate("booking.btn.back", lang)]
    carrier = await user.wait_for_message(translate("phone.keyboard_below", lang))
    rows = (carrier.reply_markup or {}).get("keyboard") or []
    assert rows[0][0] == {"text": translate("phone.btn.share", lang), "request_contact": True}
    assert rows[1][0] == {"text": translate("phone.btn.skip", lang)}
    return screen, carrier


def settings_after(notice: str | None, lang: str) -> str:
    title = translate("settings.title", lang)
    return f"{notice}\n\n{title}" if notice else title


@pytest.mark.parametrize(("lang", "tg_id"), [("ru", 1011), ("en", 1012)])
async def test_phone_is_shared_through_the_contact_keyboard_and_only_ones_own(
    lang: str,
    tg_id: int,
    bot_app: BotApp,
    emulator: BotAPIEmulator,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The contact keyboard needs a message of its own; once the number is saved that message
    is gone, the reply keyboard removed, and the answer is shown on the settings message."""
    user = emulator.user(tg_id, "Mia", language_code=lang)
    screen, carrier = await open_phone(user, lang)

    # Someone else's contact is refused, and the keyboard is offered again (one such message).
    await user.share_contact("+7 900 111-22-33", user_id=tg_id + 100)
    refused = await user.wait_for_message(translate("phone.not_own", lang), edits=False)
    assert (refused.reply_markup or {}).get("keyboard")
    assert emulator.message(user.chat_id, carrier.message_id).deleted  # type: ignore[union-attr]
    assert await _phone_of(session_factory, tg_id) is None

    await user.share_contact("79001234567")
    saved = await user.wait_for_message(lambda m: m.message_id == screen.message_id)
    assert saved.text == settings_after(translate("phone.saved", lang), lang)
    assert translate("menu.btn.phone", lang) in saved.button_texts()  # the settings again
    assert await _phone_of(session_factory, tg_id) == "+79001234567"
    await emulator.wait_for(lambda: reply_keyboard_removed(emulator, user.chat_id))
    # No stray message: the settings message is the bot's only one left in the chat.
    await emulator.wait_for(lambda: len(shown(emulator, user.chat_id)) == 1)
    assert shown(emulator, user.chat_id)[0].message_id == screen.message_id


@pytest.mark.parametrize(("lang", "tg_id"), [("ru", 1015), ("en", 1016)])
async def test_phone_pressed_on_another_settings_message_puts_the_first_screen_back(
    lang: str, tg_id: int, bot_app: BotApp, emulator: BotAPIEmulator
) -> None:
    """Phone pressed on an older settings message while a phone screen is open elsewhere: that
    screen shows the settings again, so only one message asks for the phone."""
    user = emulator.user(tg_id, "Eva", language_code=lang)
    await user.send("/start")
    older = await user.wait_for_message()
    await user.press(translate("menu.btn.settings", lang))
    await user.wait_for_message(translate("settings.title", lang))
    screen, _ = await open_phone(user, lang)
    assert screen.message_id != older.message_id

    phone = translate("menu.btn.phone", lang)
    await user.press_data(MenuCb(action=MenuAction.phone).pack(), message_id=older.message_id)
    first = await user.wait_for_message(
        lambda m: m.message_id == screen.message_id and m.text == settings_after(None, lang)
    )
    assert phone in first.button_texts()
    await user.wait_for_message(
        lambda m: m.message_id == older.message_id and m.text == translate("phone.ask", lang)
    )


@pytest.mark.parametrize(("lang", "tg_id"), [("ru", 1017), ("en", 1018)])
async def test_phone_from_a_settings_message_too_old_to_edit_is_put_away_after(
    lang: str, tg_id: int, bot_app: BotApp, emulator: BotAPIEmulator
) -> None:
    """A settings message Telegram no longer lets the bot edit: the phone text comes as a new
    message, and that message (not the old settings) turns back into the settings after."""
    user = emulator.user(tg_id, "Ada", language_code=lang)
    await user.send("/start")
    settings = await user.wait_for_message()
    await user.press(translate("menu.btn.settings", lang))
    await user.wait_for_message(translate("settings.title", lang))
    emulator.fail_next(
        "editMessageText", status=400, description="Bad Request: message can't be edited"
    )
    await user.press(translate("menu.btn.phone", lang))
    asked = await user.wait_for_message(translate("phone.ask", lang), edits=False)
    assert asked.message_id != settings.message_id
    await user.wait_for_message(translate("phone.keyboard_below", lang))

    await user.send(translate("phone.btn.skip", lang))
    put_back = await user.wait_for_message(lambda m: m.message_id == asked.message_id)
    assert put_back.text == settings_after(translate("phone.skipped", lang), lang)
    assert translate("menu.btn.phone", lang) in put_back.button_texts()


@pytest.mark.parametrize(("lang", "tg_id"), [("ru", 1013), ("en", 1014)])
async def test_phone_can_be_declined_or_left_with_back_and_a_numberless_contact_is_refused(
    lang: str,
    tg_id: int,
    bot_app: BotApp,
    emulator: BotAPIEmulator,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    ola = emulator.user(tg_id, "Ola", language_code=lang)
    screen, _ = await open_phone(ola, lang)
    await ola.send(translate("phone.btn.skip", lang))
    declined = await ola.wait_for_message(lambda m: m.message_id == screen.message_id)
    assert declined.text == settings_after(translate("phone.skipped", lang), lang)
    await emulator.wait_for(lambda: reply_keyboard_removed(emulator, ola.chat_id))
    await emulator.wait_for(lambda: len(shown(emulator, ola.chat_id)) == 1)

    # « Back from the phone screen: the settings as they were, the keyboard put away.
    await ola.press(translate("menu.btn.phone", lang))
    await ola.wait_for_message(translate("phone.keyboard_below", lang))
    assert not reply_keyboard_removed(emulator, ola.chat_id)
    await ola.press(translate("booking.btn.back", lang))
    back = await ola.wait_for_message(
        lambda m: m.message_id == screen.message_id and m.text == settings_after(None, lang)
    )
    assert translate("menu.btn.phone", lang) in back.button_texts()
    await emulator.wait_for(lambda: reply_keyboard_removed(emulator, ola.chat_id))
    await emulator.wait_for(lambda: len(shown(emulator, ola.chat_id)) == 1)

    # A forged contact with no digits in it is not a phone number.
    await ola.share_contact("n/a")
    refused = await ola.wait_for_message(translate("phone.invalid", lang), edits=False)
    assert (refused.reply_markup or {}).get("keyboard")
    assert await _phone_of(session_factory, tg_id) is None
