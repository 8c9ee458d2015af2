"""The real `python -m bot` process against the emulator: start-up, /start for ru and en users,
a clean SIGTERM, a bad configuration, and a kill in the middle of a handler."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.emulator import BotAPIEmulator
from bot.i18n import translate
from db.models import Client, ClientWallet
from tests.emulator.fixtures import process_env

BotProcess = Callable[[], Any]


def _env(emulator: BotAPIEmulator, database_url: str, redis_prefix: str) -> dict[str, str]:
    return process_env(
        emulator,
        database_url,
        redis_prefix,
        RUN_WORKER="false",
        THROTTLE_RATE_PER_SECOND="1000",
    )


@asynccontextmanager
async def bot_process(
    emulator: BotAPIEmulator, env: dict[str, str], workdir: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m bot` in `workdir` (no .env there); returns once it polls the emulator."""
    mark = emulator.last_seq
    log = (workdir / f"bot-{uuid.uuid4().hex[:6]}.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=workdir, env=env, stdout=log, stderr=log
    )
    try:
        await emulator.wait_for_call("deleteWebhook", completed=True, after=mark, timeout=30)
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        log.close()


async def _count(session_factory: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with session_factory() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_process_serves_start_and_stops_on_sigterm(
    clean_db: Any,
    redis: Any,
    redis_prefix: str,
    database_url: str,
    emulator: BotAPIEmulator,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    env = _env(emulator, database_url, redis_prefix)
    async with bot_process(emulator, env, tmp_path) as proc:
        anna = emulator.user(3001, "Анна", last_name="Иванова", username="anna", language_code="ru")
        bob = emulator.user(3002, "Bob", language_code="en")
        await anna.send("/start")
        await bob.send("/start")
        ru = await anna.wait_for_message()
        en = await bob.wait_for_message()
        assert ru.text == translate("start.greeting", "ru", name="Анна")
        assert en.text == translate("start.greeting", "en", name="Bob")
        menu = ("book", "my", "wallet", "help", "settings")
        assert {translate(f"menu.btn.{b}", "ru") for b in menu} <= set(ru.button_texts())
        assert {translate(f"menu.btn.{b}", "en") for b in menu} <= set(en.button_texts())

        async with session_factory() as s:
            rows = (
                await s.execute(
                    select(
                        Client.tg_id,
                        Client.first_name,
                        Client.last_name,
                        Client.username,
                        Client.language,
                    )
                )
            ).all()
            wallets = (await s.execute(select(ClientWallet.client_id, ClientWallet.balance))).all()
            client_ids = (await s.scalars(select(Client.id))).all()
        assert sorted(rows) == [
            (3001, "Анна", "Иванова", "anna", "ru"),
            (3002, "Bob", None, None, "en"),
        ]
        # One wallet per client, balance 0.
        assert sorted(wallets) == [(cid, Decimal("0.00")) for cid in sorted(client_ids)]

        await anna.send("/start")
        again = await anna.wait_for_message()
        assert again.text == translate("start.greeting_back", "ru", name="Анна")
        assert await _count(session_factory, Client) == 2
        assert await _count(session_factory, ClientWallet) == 2
        # The command menus were registered in both languages.
        assert {c["command"] for c in emulator.commands["default:ru"]} >= {"start", "help"}
        assert emulator.commands["default:en"][0]["description"] == translate(
            "commands.start", "en"
        )

        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    logs = "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("bot-*.log"))
    assert "Traceback" not in logs
    assert "bot stopped" in logs


async def test_bad_configuration_is_one_readable_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    env["DATABASE_URL"] = "mysql://nope"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode != 0
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "BOT_TOKEN" in lines[0] and "DATABASE_URL" in lines[0]
    assert "Traceback" not in err.decode()


async def test_killed_mid_handler_the_update_is_processed_after_restart(
    clean_db: Any,
    redis: Any,
    redis_prefix: str,
    database_url: str,
    emulator: BotAPIEmulator,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    env = _env(emulator, database_url, redis_prefix)
    cleo = emulator.user(3003, "Cleo", language_code="en")
    async with bot_process(emulator, env, tmp_path) as proc:
        await cleo.send("/start")
        await cleo.wait_for_message()
        # The reply to /help hangs in the emulator: the handler is in flight when we kill.
        emulator.delay("sendMessage", 120)
        mark = emulator.last_seq
        update_id = await cleo.send("/help")
        await emulator.wait_for_call("sendMessage", chat_id=cleo.chat_id, after=mark)
        proc.kill()
        await proc.wait()
    emulator.delay("sendMessage", 0)
    # Not acknowledged: the killed process never asked for the next batch.
    assert update_id in [u["update_id"] for u in emulator.pending_updates()]

    async with bot_process(emulator, env, tmp_path) as proc:
        helped = await cleo.wait_for_message(translate("help.text", "en"), timeout=40)
        assert helped.text == translate("help.text", "en")
        await emulator.wait_for(lambda: not emulator.pending_updates(), timeout=20)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    # The lost first attempt left nothing behind; the retry answered exactly once.
    helps = [m for m in cleo.messages if m.text == translate("help.text", "en")]
    assert len(helps) == 1
    assert await _count(session_factory, Client) == 1


async def test_entry_point_delegates_subcommands(monkeypatch: Any) -> None:
    import bot.__main__ as entry
    import bot.app
    import bot.catalog.cli
    import bot.notify.runner
    import bot.ops.startup

    seen: list[tuple[str, object]] = []

    def catalog_main(argv: list[str]) -> int:
        seen.append(("catalog", argv))
        return 3

    async def run_worker(settings: object, **_: object) -> None:
        seen.append(("worker", settings))

    async def run(settings: object) -> None:
        seen.append(("run", settings))

    def check_health(settings: object, *, ready: bool = False) -> int:
        seen.append(("health", settings))
        return 7

    async def preflight(settings: object) -> None:
        seen.append(("checks", settings))

    monkeypatch.setattr(bot.catalog.cli, "main", catalog_main)
    monkeypatch.setattr(bot.notify.runner, "run_worker", run_worker)
    monkeypatch.setattr(bot.app, "run", run)
    monkeypatch.setattr(entry, "check_health", check_health)
    monkeypatch.setattr(bot.ops.startup, "preflight", preflight)
    monkeypatch.setenv("BOT_TOKEN", "1:test")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.chdir(Path(__file__).parent)  # no .env here

    async def main(*argv: str) -> int:
        # In a thread: `asyncio.run` there must not unset the tests' shared event loop.
        return await asyncio.to_thread(entry.main, list(argv))

    assert await main("catalog", "import", "catalog.yaml", "--dry-run") == 3
    assert await main("catalog", "--help") == 3
    assert await main("worker") == 0
    assert await main() == 0
    assert await main("run") == 0
    assert await main("health") == 7  # its exit code is the container health check's
    # run and worker check PostgreSQL, Redis and Telegram first; health needs none of them.
    assert [kind for kind, _ in seen] == [
        *("catalog", "catalog", "checks", "worker", "checks", "run", "checks", "run", "health")
    ]
    assert seen[0][1] == ["import", "catalog.yaml", "--dry-run"]
    assert seen[1][1] == ["--help"]


async def test_process_runs_the_notification_worker_by_default(
    clean_db: Any,
    redis: Any,
    redis_prefix: str,
    database_url: str,
    emulator: BotAPIEmulator,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    """`python -m bot` alone delivers notifications (RUN_WORKER defaults to true): a booking's
    confirmation queued in the outbox reaches the client, and the row is marked sent."""
    import datetime as dt

    from bot.config import load_settings
    from bot.services.notifications import queue_booking_notifications
    from db.models import Outbox
    from tests.integration.notify_data import make_appointment, make_world

    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=3)
    async with session_factory() as s, s.begin():
        world = await make_world(s, client_tg=3101, specialist_tg=3102)
        appt = await make_appointment(s, world, start=start)
        await queue_booking_notifications(
            s,
            appt.id,
            now=dt.datetime.now(dt.UTC),
            settings=load_settings(bot_token=emulator.token, _env_file=None),
        )

    env = _env(emulator, database_url, redis_prefix)
    del env["RUN_WORKER"]
    async with bot_process(emulator, env, tmp_path) as proc:
        client_msg = await emulator.wait_for_call(
            "sendMessage", chat_id=3101, completed=True, timeout=30
        )
        assert world.service.name in client_msg.params["text"]
        await emulator.wait_for_call("sendMessage", chat_id=3102, completed=True, timeout=30)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0

    async with session_factory() as s:
        sent = (await s.execute(select(Outbox.chat_id).where(Outbox.status == "sent"))).scalars()
        assert sorted(sent) == [3101, 3102]
