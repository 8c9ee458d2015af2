"""Liveness, readiness and metrics in long polling (`HEALTH_PORT`), and `python -m bot health
[--ready]`, which the compose health check runs."""

from __future__ import annotations

import asyncio
import functools
import socket
from typing import Any

import aiohttp
import pytest

from bot.__main__ import check_health, health_url
from bot.config import load_settings
from bot.emulator import BotAPIEmulator
from tests.emulator.fixtures import running_bot
from tests.emulator.redis_proxy import RedisProxy
from tests.servers import pin_breaker

READY = {"ok": True, "database": True, "migrations": True, "redis": True}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as response:
        return response.status, await response.json()


async def test_polling_serves_healthz_readyz_and_metrics_on_health_port(
    clean_db: Any,
    redis: Any,
    emulator: BotAPIEmulator,
    make_bot_settings: Any,
    redis_proxy: RedisProxy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = _free_port()
    settings = make_bot_settings(
        redis_url=redis_proxy.url, webhook_host="127.0.0.1", health_port=port
    )
    url = f"http://127.0.0.1:{port}/healthz"
    ready = f"http://127.0.0.1:{port}/readyz"
    assert health_url(settings) == url
    assert health_url(settings, "/readyz") == ready
    async with running_bot(settings) as app, aiohttp.ClientSession() as http:
        clock = pin_breaker(app)
        assert await _get(http, url) == (200, {"ok": True})
        assert await _get(http, ready) == (200, READY)
        assert await asyncio.to_thread(check_health, settings) == 0
        assert await asyncio.to_thread(functools.partial(check_health, settings, ready=True)) == 0

        # Still polling: a user is answered while the health server runs beside it.
        amy = emulator.user(2101, "Amy", language_code="en")
        await amy.send("/help")
        assert (await amy.wait_for_message()).text
        async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
            assert response.status == 200
            assert response.content_type == "text/plain"
            scraped = await response.text()
            assert 'bot_updates_total{outcome="ok",type="message"}' in scraped
            # The workplace searches' limits, read from the domain's count at each scrape.
            assert "\nbot_slot_search_gave_up_total " in scraped
            assert "\nbot_hold_search_gave_up_total " in scraped

        await redis_proxy.stop()
        assert await _get(http, ready) == (503, {**READY, "ok": False, "redis": False})
        assert await _get(http, url) == (200, {"ok": True})  # alive: a restart would not help
        assert await asyncio.to_thread(functools.partial(check_health, settings, ready=True)) == 1
        assert "unhealthy: 503" in capsys.readouterr().err

        await redis_proxy.start()
        clock.pass_pause()
        assert (await _get(http, ready))[0] == 200

    # The server closed with the bot: the check now fails instead of hanging.
    assert await asyncio.to_thread(check_health, settings, 2.0) == 1
    assert "unreachable" in capsys.readouterr().err


def test_health_url_follows_the_mode(capsys: pytest.CaptureFixture[str]) -> None:
    base: dict[str, Any] = {"_env_file": None, "bot_token": "1:test"}
    polling = load_settings(**base)
    assert polling.health_port is None
    assert health_url(polling) is None
    assert check_health(polling) == 1
    assert "HEALTH_PORT" in capsys.readouterr().err

    assert health_url(load_settings(**base, health_port=9100)) == "http://127.0.0.1:9100/healthz"
    # Webhook mode: /healthz is on the webhook server; HEALTH_PORT does not apply.
    webhook = load_settings(
        **base, webhook_url="https://bot.example.com", webhook_port=8443, health_port=9100
    )
    assert health_url(webhook) == "http://127.0.0.1:8443/healthz"
    bound = load_settings(**base, webhook_host="10.0.0.5", health_port=9100)
    assert health_url(bound) == "http://10.0.0.5:9100/healthz"
