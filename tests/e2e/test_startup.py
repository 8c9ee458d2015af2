"""Start-up of the real `python -m bot` process, as a new user would try it: a `.env` copied
from `.env.example`, a missing or unmigrated database, an unreachable PostgreSQL or Telegram,
a token Telegram rejects. Each ends in one clear line (exit code 2) or a wait that is said once
and ends when the server answers; never a traceback."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.config import PLACEHOLDER_BOT_TOKEN
from bot.emulator import BotAPIEmulator
from tests.conftest import create_database, drop_database
from tests.emulator.fixtures import process_env
from tests.servers import free_port, throwaway_redis

ROOT = Path(__file__).resolve().parents[2]
# Start-up imports aiogram, SQLAlchemy and Alembic: slow on a busy machine.
START_TIMEOUT = 90


async def run_to_exit(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, list[str]]:
    """`python -m bot *args` until it exits; (exit code, non-empty stderr lines)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(proc.communicate(), START_TIMEOUT)
    assert proc.returncode is not None
    return proc.returncode, [line for line in err.decode().splitlines() if line.strip()]


class Running:
    """A `python -m bot` process whose stderr lines are collected as they come."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            async with self._changed:
                self.lines.append(raw.decode().rstrip())
                self._changed.notify_all()

    async def wait_for_line(self, pattern: str, timeout: float = START_TIMEOUT) -> str:  # noqa: ASYNC109
        regex = re.compile(pattern)

        def found() -> bool:
            return any(regex.search(line) for line in self.lines)

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(found), timeout)
        return next(line for line in self.lines if regex.search(line))


@asynccontextmanager
async def running(env: dict[str, str], cwd: Path) -> AsyncIterator[Running]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=cwd, env=env, stderr=asyncio.subprocess.PIPE
    )
    bot = Running(proc)
    try:
        yield bot
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await bot._reader


def _clean_env(**values: str) -> dict[str, str]:
    names = {"BOT_TOKEN", "DATABASE_URL", "REDIS_URL", "TELEGRAM_API_URL", "WEBHOOK_URL"}
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(values)
    return env


def _one_line(lines: list[str]) -> str:
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]


async def test_env_copied_from_the_example_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text("utf-8"), "utf-8")
    code, lines = await run_to_exit(_clean_env(), tmp_path)
    line = _one_line(lines)
    assert code == 2
    assert "BOT_TOKEN" in line and "placeholder" in line
    assert PLACEHOLDER_BOT_TOKEN not in line


async def test_webhook_instance_without_webhook_url_is_refused_not_polling(
    tmp_path: Path, emulator: BotAPIEmulator
) -> None:
    """The scale profile's command: an instance behind the proxy never falls back to polling."""
    env = _clean_env(BOT_TOKEN=emulator.token, TELEGRAM_API_URL=emulator.url)
    code, lines = await run_to_exit(env, tmp_path, "run", "--webhook")
    line = _one_line(lines)
    assert code == 2
    assert "WEBHOOK_URL is required" in line
    assert not emulator.calls and emulator.polls == 0  # nothing asked of Telegram


async def test_missing_database_is_one_line_naming_the_fix(
    tmp_path: Path, emulator: BotAPIEmulator, redis_prefix: str
) -> None:
    missing = f"no_such_db_{uuid.uuid4().hex[:8]}"
    env = process_env(emulator, create_url(missing), redis_prefix)
    code, lines = await run_to_exit(env, tmp_path)
    line = _one_line(lines)
    assert code == 2
    assert f"createdb {missing}" in line and "run: alembic upgrade head" in line
    assert not emulator.calls  # Telegram is not asked before the database is right


async def test_unmigrated_database_says_run_alembic_upgrade_head(
    tmp_path: Path, emulator: BotAPIEmulator, redis_prefix: str
) -> None:
    name = f"unmigrated_{uuid.uuid4().hex[:8]}"
    url = create_database(name)
    try:
        code, lines = await run_to_exit(process_env(emulator, url, redis_prefix), tmp_path)
    finally:
        drop_database(name)
    line = _one_line(lines)
    assert code == 2
    assert line.endswith("run: alembic upgrade head")
    assert "no migrations" in line


async def test_token_telegram_rejects_is_one_line_and_exit_code_2(
    tmp_path: Path, emulator: BotAPIEmulator, database_url: str, redis_prefix: str
) -> None:
    env = process_env(emulator, database_url, redis_prefix)
    env["BOT_TOKEN"] = "987654321:a-token-the-server-does-not-know"
    code, lines = await run_to_exit(env, tmp_path)
    line = _one_line(lines)
    assert code == 2
    assert "Telegram rejected BOT_TOKEN" in line
    assert env["BOT_TOKEN"] not in line


@pytest.mark.parametrize("given", ["a-wrong-password", None])
async def test_redis_refusing_the_password_is_one_line_and_exit_code_2(
    given: str | None,
    tmp_path: Path,
    emulator: BotAPIEmulator,
    database_url: str,
    redis_prefix: str,
) -> None:
    """A Redis with `requirepass`, given a wrong password or none: no wait (restarting cannot
    help), one line naming REDIS_URL, exit code 2, the password never shown."""
    with throwaway_redis(password="the-right-one") as server:
        env = process_env(emulator, database_url, redis_prefix)
        auth = f":{given}@" if given else ""
        env["REDIS_URL"] = f"redis://{auth}127.0.0.1:{server.port}/0"
        code, lines = await run_to_exit(env, tmp_path)
    line = _one_line(lines)
    assert code == 2
    assert "Redis at 127.0.0.1 refused the bot" in line and "check REDIS_URL" in line
    assert "the-right-one" not in line and (given is None or given not in line)
    assert not emulator.calls  # Telegram is not asked before Redis is right


async def test_unreachable_postgresql_is_waited_for_and_said_once(
    tmp_path: Path, emulator: BotAPIEmulator, redis_prefix: str
) -> None:
    # A port that accepts and at once hangs up: PostgreSQL "not answering", attempts counted.
    attempts = 0
    retried = asyncio.Event()

    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        attempts += 1
        if attempts >= 3:
            retried.set()
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/booking"
    try:
        async with running(process_env(emulator, url, redis_prefix), tmp_path) as bot:
            line = await bot.wait_for_line("PostgreSQL at .* does not answer")
            assert "retrying" in line and "DATABASE_URL" in line
            await asyncio.wait_for(retried.wait(), START_TIMEOUT)
            assert bot.proc.returncode is None  # waiting, not exited
    finally:
        server.close()
    # Three attempts, one line; Telegram never asked while the database is missing.
    assert sum("does not answer" in line for line in bot.lines) == 1
    assert not any("Traceback" in line for line in bot.lines)
    assert not emulator.calls


async def test_unreachable_telegram_is_retried_until_it_answers(
    tmp_path: Path, database_url: str, redis_prefix: str, clean_db: Any, redis: Any
) -> None:
    port = free_port()
    emulator = BotAPIEmulator()
    env = process_env(emulator, database_url, redis_prefix, RUN_WORKER="false")
    env["TELEGRAM_API_URL"] = f"http://127.0.0.1:{port}"
    async with running(env, tmp_path) as bot:
        line = await bot.wait_for_line("Telegram does not answer")
        assert "retrying with backoff" in line
        await emulator.start(port=port)
        try:
            await emulator.wait_for_call("deleteWebhook", completed=True, timeout=START_TIMEOUT)
            await bot.wait_for_line("Telegram answers now")
            amy = emulator.user(4101, "Amy", language_code="en")
            await amy.send("/help")
            assert (await amy.wait_for_message(timeout=30)).text
        finally:
            await emulator.stop()
    assert sum("Telegram does not answer" in line for line in bot.lines) == 1
    assert not any("Traceback" in line for line in bot.lines)


async def test_health_needs_no_bot_token(tmp_path: Path) -> None:
    port = free_port()  # nothing listens: the check fails, but on reaching the bot
    env = _clean_env(HEALTH_PORT=str(port))
    code, lines = await run_to_exit(env, tmp_path, "health", "--ready")
    line = _one_line(lines)
    assert code == 1
    assert f"127.0.0.1:{port}/readyz unreachable" in line


def create_url(database: str) -> str:
    from tests.conftest import ADMIN_URL, asyncpg_url

    return asyncpg_url(ADMIN_URL.rsplit("/", 1)[0] + f"/{database}")
