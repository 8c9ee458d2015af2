"""The emulator itself, driven by a real aiogram Bot: state, faults, limits, webhook delivery."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp import web
from redis.asyncio import Redis

from bot.emulator import BotAPIEmulator
from tests.emulator.fixtures import REDIS_URL
from tests.emulator.redis_proxy import RedisProxy


def _keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=f"cb:{t}")] for t in labels]
    )


async def test_a_message_keeps_the_parse_mode_it_was_sent_and_edited_with(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    emulator.user(11, "Bea")
    plain = await bot.send_message(11, "Usage: /topup <client> <amount>")
    html = await bot.send_message(11, "<b>Booked</b>", parse_mode="HTML")
    assert emulator.message(11, plain.message_id).parse_mode is None  # type: ignore[union-attr]
    assert emulator.message(11, html.message_id).parse_mode == "HTML"  # type: ignore[union-attr]

    await bot.edit_message_text("Plain again", chat_id=11, message_id=html.message_id)
    assert emulator.message(11, html.message_id).parse_mode is None  # type: ignore[union-attr]


async def test_messages_edits_and_deletions_are_kept_per_chat(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    user = emulator.user(10, "Ann")
    me = await bot.get_me()
    assert (me.id, me.username) == (emulator.bot_id, emulator.bot_username)

    first = await bot.send_message(10, "Pick one", reply_markup=_keyboard("Yes", "No"))
    assert first.reply_markup is not None  # parsed from a multipart/form request
    await bot.edit_message_text("Picked", chat_id=10, message_id=first.message_id)
    second = await bot.send_message(10, "Bye")
    await bot.delete_message(10, second.message_id)

    assert [m.text for m in user.messages] == ["Picked"]
    assert emulator.message(10, first.message_id).edits == 1  # type: ignore[union-attr]
    assert [c.method for c in emulator.calls_to(chat_id=10)] == [
        "sendMessage",
        "editMessageText",
        "sendMessage",
        "deleteMessage",
    ]
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await bot.edit_message_text("Picked", chat_id=10, message_id=first.message_id)
    with pytest.raises(TelegramBadRequest, match="not found"):
        await bot.delete_message(10, second.message_id)


async def test_user_presses_a_button_and_waits_for_the_answer(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    user = emulator.user(11, "Bob", language_code="en")
    await bot.send_message(11, "Confirm?", reply_markup=_keyboard("Подтвердить", "Назад"))
    update_id = await user.press("Подтв")
    [update] = await bot.get_updates(timeout=1)
    assert update.update_id == update_id
    assert update.callback_query is not None
    assert update.callback_query.data == "cb:Подтвердить"
    assert update.callback_query.from_user.language_code == "en"
    await bot.answer_callback_query(update.callback_query.id, text="ok")
    assert (await user.wait_for_callback_answer())["text"] == "ok"

    # getUpdates with a higher offset acknowledges; a long poll ends when an update arrives.
    poll = asyncio.create_task(bot.get_updates(offset=update_id + 1, timeout=30))
    await user.send("/start payload")
    [message_update] = await asyncio.wait_for(poll, 10)
    assert message_update.message is not None
    assert message_update.message.entities is not None
    assert message_update.message.entities[0].type == "bot_command"
    # The callback query was acknowledged by the offset; the new message is still pending.
    assert [u["update_id"] for u in emulator.pending_updates()] == [message_update.update_id]

    with pytest.raises(AssertionError, match="no button"):
        await user.press("Missing")


async def test_a_second_long_poll_ends_the_first_with_409(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    """Telegram serves one getUpdates consumer: a second one overtakes the long poll waiting."""
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await emulator.wait_for(lambda: emulator.polls == 1, timeout=10)
    second = asyncio.create_task(bot.get_updates(timeout=30))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 10)
    user = emulator.user(13, "Dora")
    await user.send("/start")
    [update] = await asyncio.wait_for(second, 10)  # the newer poll is served
    assert update.message is not None and update.message.text == "/start"
    assert emulator.poll_conflicts == 1


async def test_wait_for_message_sees_new_messages_and_edits(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    user = emulator.user(12, "Cid")
    user.mark()
    sent = await bot.send_message(12, "one")
    assert (await user.wait_for_message()).text == "one"
    await bot.edit_message_text("two", chat_id=12, message_id=sent.message_id)
    assert (await user.wait_for_message("two")).message_id == sent.message_id
    with pytest.raises(AssertionError, match="no matching bot message"):
        await user.wait_for_message(timeout=0.2)


async def test_fail_next_returns_telegram_errors(emulator: BotAPIEmulator, bot: Bot) -> None:
    emulator.fail_next("sendMessage", status=429, retry_after=7)
    emulator.fail_next("sendMessage", status=403, chat_id=21)
    emulator.fail_next("sendMessage", status=500, count=2)
    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(20, "a")
    assert retry.value.retry_after == 7
    with pytest.raises(TelegramServerError):
        await bot.send_message(20, "b")  # the 403 rule only applies to chat 21
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot.send_message(21, "c")
    with pytest.raises(TelegramServerError):
        await bot.send_message(20, "d")
    await bot.send_message(20, "e")
    assert [m.text for m in emulator.sent_messages(20)] == ["e"]
    assert emulator.count_429 == 1


async def test_enforce_limits_per_chat_and_global(emulator: BotAPIEmulator, bot: Bot) -> None:
    now = [1000.0]
    emulator.monotonic = lambda: now[0]  # all sends below happen "at the same instant"
    emulator.enforce_limits(global_per_second=3, per_chat_per_second=1)
    await bot.send_message(30, "first")
    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(30, "too soon")
    assert retry.value.retry_after >= 1
    await bot.send_message(31, "other chat")
    await bot.send_message(32, "third chat")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(33, "over the global limit")
    assert emulator.count_429 == 2
    now[0] += 1.0  # a second later both windows have room again
    await bot.send_message(30, "later")
    await bot.send_message(33, "later")
    await bot.send_chat_action(30, "typing")  # not a send: never limited


async def test_delay_holds_the_answer_until_removed(emulator: BotAPIEmulator, bot: Bot) -> None:
    emulator.delay("sendMessage", 60)
    mark = emulator.last_seq
    send = asyncio.create_task(bot.send_message(40, "slow"))
    call = await emulator.wait_for_call("sendMessage", after=mark)
    assert not call.completed and emulator.sent_messages(40) == []
    emulator.delay("sendMessage", 0)
    await asyncio.wait_for(send, 10)
    assert [m.text for m in emulator.sent_messages(40)] == ["slow"]


async def test_unknown_methods_are_recorded_and_succeed(emulator: BotAPIEmulator, bot: Bot) -> None:
    await bot.set_my_commands([], language_code="en")
    assert await bot.pin_chat_message(50, 1)
    assert emulator.calls_to("pinChatMessage")[0].params["chat_id"] == 50
    sent = await bot.send_location(50, latitude=55.75, longitude=37.62)
    assert sent.chat.id == 50 and [m.message_id for m in emulator.sent_messages(50)] == [
        sent.message_id
    ]


async def test_webhook_delivery_retries_until_accepted(emulator: BotAPIEmulator, bot: Bot) -> None:
    received: list[tuple[int, str | None]] = []
    answers = iter([500, 502, 200])

    async def hook(request: web.Request) -> web.Response:
        body = await request.json()
        received.append((body["update_id"], request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return web.json_response({}, status=next(answers))

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="abc")
        with pytest.raises(TelegramConflictError):
            await bot.get_updates()  # 409 while a webhook is set
        update_id = await emulator.user(60, "Wes").send("hi")
        await emulator.wait_for(lambda: not emulator.pending_updates())
        assert received == [(update_id, "abc")] * 3
        assert [d["status"] for d in emulator.webhook_deliveries] == [500, 502, 200]
    finally:
        await bot.delete_webhook()
        await runner.cleanup()


async def test_webhook_delivers_chats_in_parallel_and_each_chat_in_order(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    """As Telegram with several connections: two chats' updates are in flight at once, while a
    chat's second update waits until its first was answered."""
    arrived: asyncio.Queue[int] = asyncio.Queue()
    answer: dict[int, asyncio.Event] = {}

    async def hook(request: web.Request) -> web.Response:
        update_id = (await request.json())["update_id"]
        answer[update_id] = asyncio.Event()
        arrived.put_nowait(update_id)
        await answer[update_id].wait()
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", max_connections=10)
        xena, yuri = emulator.user(61, "Xena"), emulator.user(62, "Yuri")
        first = await xena.send("one")
        second = await xena.send("two")
        other = await yuri.send("hi")
        assert {await arrived.get(), await arrived.get()} == {first, other}  # both in flight
        assert arrived.empty() and second not in answer
        answer[first].set()
        assert await arrived.get() == second  # only now
        answer[second].set()
        answer[other].set()
        await emulator.wait_for(lambda: not emulator.pending_updates())
        assert emulator.webhook is not None and emulator.webhook["max_connections"] == 10
    finally:
        await bot.delete_webhook()
        await runner.cleanup()


def test_redis_proxy_url_keeps_credentials_and_database() -> None:
    proxy = RedisProxy("redis://user:pw@10.1.2.3:6380/5?socket_timeout=2")
    proxy.port = 41234
    assert proxy.target == ("10.1.2.3", 6380)
    assert proxy.url == "redis://user:pw@127.0.0.1:41234/5?socket_timeout=2"


async def test_redis_proxy_reaches_the_test_redis_database(
    redis_proxy: RedisProxy, redis: Redis, redis_prefix: str
) -> None:
    """A key written through the proxy is where the tests (TEST_REDIS_URL) read and clean up."""
    through = Redis.from_url(redis_proxy.url)
    try:
        await through.set(f"{redis_prefix}:via-proxy", b"1", ex=60)
    finally:
        await through.aclose()
    assert await redis.get(f"{redis_prefix}:via-proxy") == b"1"
    assert (urlsplit(redis_proxy.url).path or "/0") == (urlsplit(REDIS_URL).path or "/0")
