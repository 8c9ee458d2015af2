"""Redis outages and webhook mode, over the emulator with the real application."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import aiohttp
import pytest
from aiogram.utils.backoff import BackoffConfig

from bot.app import BotApp, create_app, serve, webhook_full_url, webhook_secret
from bot.emulator import BotAPIEmulator
from bot.i18n import translate
from bot.middlewares import DrainGate
from tests.emulator.fixtures import running_bot
from tests.emulator.redis_proxy import RedisProxy
from tests.servers import pin_breaker

READY = {"ok": True, "database": True, "migrations": True, "redis": True}


async def test_redis_down_says_temporarily_unavailable_and_recovers(
    clean_db: Any,
    redis: Any,
    emulator: BotAPIEmulator,
    make_bot_settings: Any,
    redis_proxy: RedisProxy,
) -> None:
    async with running_bot(make_bot_settings(redis_url=redis_proxy.url)) as app:
        clock = pin_breaker(app)
        una = emulator.user(2001, "Una", language_code="en")
        await una.send("/start")
        await una.wait_for_message(translate("start.greeting", "en", name="Una"))

        await redis_proxy.stop()
        await una.send("/help")
        down = await una.wait_for_message(timeout=30)
        assert down.text == translate("errors.unavailable", "en")

        await redis_proxy.start()
        clock.pass_pause()  # the breaker's pause is over: the next update asks Redis again
        await una.send("/help")
        assert (await una.wait_for_message(timeout=30)).text == translate("help.text", "en")


async def test_redis_never_reachable_still_answers(
    clean_db: Any, redis: Any, emulator: BotAPIEmulator, make_bot_settings: Any
) -> None:
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    async with running_bot(make_bot_settings(redis_url=f"redis://127.0.0.1:{dead_port}/0")):
        ivo = emulator.user(2002, "Иво", language_code="ru")
        await ivo.send("/start")
        answer = await ivo.wait_for_message(timeout=30)
        assert answer.text == translate("errors.unavailable", "ru")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_checks_the_secret_and_processes_updates(
    clean_db: Any, redis: Any, emulator: BotAPIEmulator, make_bot_settings: Any
) -> None:
    port = _free_port()
    settings = make_bot_settings(
        webhook_url=f"http://127.0.0.1:{port}",
        webhook_host="127.0.0.1",
        webhook_port=port,
        webhook_secret="s3cret-token",
    )
    async with running_bot(settings):
        await emulator.wait_for(lambda: emulator.webhook is not None)
        assert emulator.webhook is not None
        assert emulator.webhook["url"] == webhook_full_url(settings)
        assert emulator.webhook["secret_token"] == webhook_secret(settings) == "s3cret-token"

        # Telegram's delivery: the emulator POSTs with the secret header.
        wes = emulator.user(2003, "Wes", language_code="en")
        update_id = await wes.send("/start")
        assert (await wes.wait_for_message()).text == translate("start.greeting", "en", name="Wes")

        def statuses() -> list[int]:
            return [d["status"] for d in emulator.webhook_deliveries if d["update_id"] == update_id]

        await emulator.wait_for(lambda: bool(statuses()))
        assert statuses() == [200]  # answered after the handler ran, accepted the first time

        async with aiohttp.ClientSession() as http:
            forged = {
                "update_id": 999_999,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": 2003, "type": "private"},
                    "from": {"id": 2003, "is_bot": False, "first_name": "Eve"},
                    "text": "/start",
                },
            }
            url = webhook_full_url(settings)
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(url, json=forged, headers=headers) as response:
                    assert response.status == 401
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200
                assert await response.json() == {"ok": True}
            async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                assert response.status == 200
                assert await response.json() == READY
        # The forged update never reached a handler.
        assert [m.text for m in wes.messages] == [translate("start.greeting", "en", name="Wes")]


async def test_readiness_reports_redis_down_and_back(
    clean_db: Any,
    redis: Any,
    emulator: BotAPIEmulator,
    make_bot_settings: Any,
    redis_proxy: RedisProxy,
) -> None:
    port = _free_port()
    settings = make_bot_settings(
        redis_url=redis_proxy.url,
        webhook_url=f"http://127.0.0.1:{port}",
        webhook_host="127.0.0.1",
        webhook_port=port,
    )
    async with running_bot(settings) as app, aiohttp.ClientSession() as http:
        clock = pin_breaker(app)
        ready = f"http://127.0.0.1:{port}/readyz"
        await redis_proxy.stop()
        async with http.get(ready) as response:
            assert response.status == 503
            assert await response.json() == {**READY, "ok": False, "redis": False}
        # Alive all the same: a restart would not bring Redis back.
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200
        await redis_proxy.start()
        clock.pass_pause()
        async with http.get(ready) as response:
            assert response.status == 200


async def test_stop_lets_the_update_in_flight_finish(
    clean_db: Any, redis: Any, emulator: BotAPIEmulator, make_bot_settings: Any
) -> None:
    app = create_app(make_bot_settings())
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(app, stop))
    await asyncio.wait_for(app.ready.wait(), 10)
    gate: DrainGate = app.drain_gate

    dan = emulator.user(2004, "Dan", language_code="en")
    emulator.delay("sendMessage", 60)
    mark = emulator.last_seq
    await dan.send("/help")
    await emulator.wait_for_call("sendMessage", chat_id=dan.chat_id, after=mark)
    stop.set()  # SIGTERM while the reply is on its way
    await asyncio.wait_for(gate.stopping.wait(), 10)
    late = await dan.send("/help")  # arrives while stopping: must be left for the next process
    emulator.delay("sendMessage", 0)
    await asyncio.wait_for(serving, 30)

    assert [m.text for m in dan.messages] == [translate("help.text", "en")]
    # The late update was never acknowledged: Telegram will deliver it to the next process.
    assert late in [u["update_id"] for u in emulator.pending_updates()]


async def test_telegram_unreachable_while_polling_is_one_line_down_one_line_back(
    clean_db: Any,
    redis: Any,
    emulator: BotAPIEmulator,
    make_bot_settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Telegram stops answering getUpdates after the start (six failures in a row): the log
    says so once and once more when it answers, instead of aiogram's two lines per retry; the
    update sent meanwhile is then handled."""
    caplog.set_level(logging.INFO)
    fast = BackoffConfig(min_delay=0.01, max_delay=0.02, factor=1.3, jitter=0.0)

    def quick_retries(app: BotApp) -> None:
        app.polling_backoff = fast

    async with running_bot(make_bot_settings(), setup=quick_retries):
        vic = emulator.user(2101, "Vic", language_code="en")
        await vic.send("/start")
        await vic.wait_for_message(translate("start.greeting", "en", name="Vic"))
        caplog.clear()
        emulator.fail_next("getUpdates", status=502, count=6, description="Bad Gateway")
        await vic.send("/help")
        assert (await vic.wait_for_message(timeout=30)).text == translate("help.text", "en")
    said = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    polling = [s for s in said if s[0] == "bot.polling"]
    assert [(name, level) for name, level, _ in polling] == [
        ("bot.polling", logging.WARNING),
        ("bot.polling", logging.INFO),
    ], said
    assert "Long polling gets no answer from Telegram" in polling[0][2]
    assert "Bad Gateway" in polling[0][2]
    assert polling[1][2].endswith("and 6 failed attempts")
    assert not [s for s in said if s[0] == "aiogram.dispatcher" and s[1] >= logging.WARNING]
