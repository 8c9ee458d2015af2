"""The bot's Bot API session sends each call as a JSON body (`bot.telegram.JsonBodySession`):
the Bot API must receive exactly what aiogram's url-encoded form sends, defaults, nested
keyboards and dates included, and a file upload still goes as multipart. An edit through
`bot.telegram.edit_text` sends what aiogram's `Message.edit_text` sends, and reads back only
the message id."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import GetUpdates, SendMessage
from aiogram.methods.base import Response
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)

from bot.emulator.server import BotAPIEmulator
from bot.telegram import EditScreen, JsonBodySession, ScreenEdited, edit_text, json_text

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[
        [InlineKeyboardButton(text=f"{h}:00", callback_data=f"bk:ab:t:pick:{h}") for h in (9, 10)],
        [InlineKeyboardButton(text="Назад «ё»", callback_data="bk:ab:t:back:0")],
    ]
)

Call = Callable[[Bot], Awaitable[Any]]

CALLS: dict[str, Call] = {
    "message with a keyboard and the default parse mode": lambda bot: bot.send_message(
        1001,
        "<b>Choose</b> a time & pay 10% = 5 €",
        reply_markup=KEYBOARD,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    ),
    "edit with a keyboard": lambda bot: bot.edit_message_text(
        text="Choose a date", chat_id=1001, message_id=1, reply_markup=KEYBOARD
    ),
    "ban until a date": lambda bot: bot.ban_chat_member(
        -100, 1001, until_date=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    ),
    "no keyboard, nothing optional": lambda bot: bot.send_message(1001, "plain"),
    # Falsy values that are not None are sent; only unset (None) fields are left out.
    "false and zero kept": lambda bot: bot.send_message(
        1001,
        "quiet",
        disable_notification=False,
        message_thread_id=0,
        link_preview_options=LinkPreviewOptions(is_disabled=False, url=None),
    ),
}


def make_bot(emulator: BotAPIEmulator, session: AiohttpSession) -> Bot:
    return Bot(emulator.token, session=session, default=DefaultBotProperties(parse_mode="HTML"))


async def last_params(emulator: BotAPIEmulator, bot: Bot, call: Call) -> tuple[str, Any]:
    before = emulator.last_seq
    try:
        await call(bot)
    except TelegramBadRequest:
        pass  # the emulator's answer does not matter here, only what it was sent
    finally:
        await bot.session.close()
    calls = [c for c in emulator.calls if c.seq > before]
    assert len(calls) == 1
    return calls[0].method, calls[0].params


@pytest.mark.parametrize("name", list(CALLS))
async def test_a_call_sends_what_the_form_sends(emulator: BotAPIEmulator, name: str) -> None:
    emulator.user(1001)
    server = TelegramAPIServer.from_base(emulator.url)
    form = await last_params(emulator, make_bot(emulator, AiohttpSession(api=server)), CALLS[name])
    json_body = await last_params(
        emulator, make_bot(emulator, JsonBodySession(api=server)), CALLS[name]
    )
    assert json_body == form
    assert form[1]  # something was sent


@pytest.mark.parametrize("name", list(CALLS))
async def test_the_bots_own_json_encoding_sends_what_the_form_sends(
    emulator: BotAPIEmulator, name: str
) -> None:
    """`build_bot`'s session encodes its bodies with `json_text` (orjson)."""
    emulator.user(1001)
    server = TelegramAPIServer.from_base(emulator.url)
    form = await last_params(emulator, make_bot(emulator, AiohttpSession(api=server)), CALLS[name])
    session = JsonBodySession(api=server, json_dumps=json_text)
    assert await last_params(emulator, make_bot(emulator, session), CALLS[name]) == form


def test_json_text_is_compact_utf8_json() -> None:
    value = {
        "text": "Назад «ё» & <b>",
        "reply_markup": KEYBOARD.model_dump(exclude_none=True),
        "chat_id": -1_001_234_567_890,
        "until": 1_900_000_000,
        "ratio": 0.5,
        "flags": [True, False, None],
    }
    text = json_text(value)
    assert json.loads(text) == value
    assert "Назад «ё»" in text and "\\u" not in text
    assert len(text.encode()) < len(json.dumps(value).encode())
    with pytest.raises(TypeError):
        json_text({"when": object()})


async def test_the_result_is_parsed_as_aiogram_parses_it(emulator: BotAPIEmulator) -> None:
    emulator.user(1001)
    bot = make_bot(emulator, JsonBodySession(api=TelegramAPIServer.from_base(emulator.url)))
    try:
        sent = await bot.send_message(1001, "Choose", reply_markup=KEYBOARD)
    finally:
        await bot.session.close()
    assert sent.chat.id == 1001
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump(exclude_none=True) == KEYBOARD.model_dump(exclude_none=True)


async def test_a_file_goes_as_multipart(emulator: BotAPIEmulator) -> None:
    emulator.user(1001)
    bot = make_bot(emulator, JsonBodySession(api=TelegramAPIServer.from_base(emulator.url)))
    method, params = await last_params(
        emulator,
        bot,
        lambda b: b.send_document(
            1001, BufferedInputFile(b"date,total\n", filename="stats.csv"), caption="Stats"
        ),
    )
    assert method == "sendDocument"
    attached = params[params["document"].removeprefix("attach://")]
    assert attached["filename"] == "stats.csv"
    assert attached["content"] == b"date,total\n"
    assert params["caption"] == "Stats"


async def test_an_edit_sends_what_aiogram_sends_and_reads_the_id(
    emulator: BotAPIEmulator,
) -> None:
    emulator.user(1001)
    bot = make_bot(emulator, JsonBodySession(api=TelegramAPIServer.from_base(emulator.url)))
    try:
        sent = await bot.send_message(1001, "Choose", reply_markup=KEYBOARD)
        before = emulator.last_seq
        await sent.edit_text("<b>Choose</b> a date", reply_markup=KEYBOARD)
        await edit_text(sent, "<i>Choose</i> a time", KEYBOARD)
        calls = [(c.method, c.params) for c in emulator.calls if c.seq > before]
        answer = await bot(EditScreen(chat_id=1001, message_id=sent.message_id, text="Done"))
        # The same text again: the Bot API refuses it, and the refusal still comes through.
        with pytest.raises(TelegramBadRequest, match="not modified"):
            await edit_text(sent, "Done")
    finally:
        await bot.session.close()
    assert [method for method, _ in calls] == ["editMessageText", "editMessageText"]
    aiogram_params, ours = calls[0][1], calls[1][1]
    assert {k: v for k, v in ours.items() if k != "text"} == {
        k: v for k, v in aiogram_params.items() if k != "text"
    }
    assert ours["text"] == "<i>Choose</i> a time"
    assert ours["parse_mode"] == "HTML"  # the bot's default, as aiogram applies it
    assert answer == ScreenEdited(message_id=sent.message_id)
    shown = emulator.message(1001, sent.message_id)
    assert shown is not None and shown.text == "Done" and shown.reply_markup is None


async def test_an_edit_needs_a_message_bound_to_a_bot() -> None:
    loose = Message.model_validate(
        {"message_id": 1, "date": 0, "chat": {"id": 1001, "type": "private"}, "text": "x"}
    )
    with pytest.raises(RuntimeError, match="not bound"):
        await edit_text(loose, "y")


PRESSED = {
    "update_id": 7,
    "callback_query": {
        "id": "c1",
        "from": {"id": 1001, "is_bot": False, "first_name": "Ann", "language_code": "ru"},
        "chat_instance": "ci",
        "data": "bk:ab:t:pick:9",
        "message": {
            "message_id": 5,
            "date": 1_900_000_000,
            "chat": {"id": 1001, "type": "private", "first_name": "Ann"},
            "from": {"id": 1, "is_bot": True, "first_name": "Bot"},
            "text": "Choose a time",
            "reply_markup": KEYBOARD.model_dump(exclude_none=True),
        },
    },
}
ANSWERS: dict[str, tuple[Any, int, dict[str, Any]]] = {
    "a pressed button's update": (GetUpdates(), 200, {"ok": True, "result": [PRESSED]}),
    "a sent message": (
        SendMessage(chat_id=1001, text="x"),
        200,
        {"ok": True, "result": PRESSED["callback_query"]["message"]},
    ),
    "an edit read as its id": (
        EditScreen(chat_id=1001, message_id=5, text="x"),
        200,
        {"ok": True, "result": PRESSED["callback_query"]["message"]},
    ),
    "not modified": (
        EditScreen(chat_id=1001, message_id=5, text="x"),
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: message is not modified"},
    ),
    "too many requests": (
        SendMessage(chat_id=1001, text="x"),
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many",
            "parameters": {"retry_after": 3},
        },
    ),
    "ok but not a message": (SendMessage(chat_id=1001, text="x"), 200, {"ok": True, "result": 5}),
    "not json": (SendMessage(chat_id=1001, text="x"), 200, "<html>"),
}


@pytest.mark.parametrize("name", list(ANSWERS))
def test_an_answer_is_read_as_aiogram_reads_it(name: str) -> None:
    method, status, body = ANSWERS[name]
    content = body if isinstance(body, str) else json.dumps(body)
    bot = Bot("1:token")

    def read(session: AiohttpSession) -> Any:
        try:
            return session.check_response(bot, method, status, content)
        except Exception as exc:  # the error itself is compared
            return type(exc), str(exc)

    ours, aiogram_own = read(JsonBodySession()), read(AiohttpSession())
    assert ours == aiogram_own
    if isinstance(ours, Response) and isinstance(ours.result, list):
        [update] = ours.result
        assert update.callback_query.message.bot is bot  # bound, as aiogram binds it
        buttons = update.callback_query.message.reply_markup.inline_keyboard
        assert buttons[0][1].callback_data == "bk:ab:t:pick:10"
