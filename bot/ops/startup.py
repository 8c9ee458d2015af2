"""Start-up checks of `python -m bot run` and `python -m bot worker`, in this order: PostgreSQL
(reachable, the database exists, migrated to head), Redis, Telegram (`getMe`). The settings
were checked before (`load_settings`: the placeholder token of `.env.example` is refused there).

Each problem is one log line naming the fix, never a traceback:
- something only an operator can fix (a missing database, an unmigrated one, a refused password,
  a token Telegram rejects) raises `StartupError` (exit code 2): restarting cannot help;
- a server that does not answer yet (PostgreSQL starting, a network outage) is waited for with
  backoff, said once when the wait starts and once when it ends, instead of exiting (a process
  manager that restarts the bot would otherwise loop on the same traceback).
"""

from __future__ import annotations

import ast
import asyncio
import configparser
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import asyncpg
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from redis.exceptions import AuthenticationError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.ops.redis import make_redis
from bot.telegram import build_bot

log = logging.getLogger("bot.startup")

T = TypeVar("T")

EXIT_MISCONFIGURED = 2
CONNECT_TIMEOUT_SECONDS = 5.0
# Waits between attempts while a server does not answer: 0.5 s, doubling, at most this.
MAX_BACKOFF_SECONDS = 15.0
ROOT = Path(__file__).resolve().parents[2]


class StartupError(Exception):
    """A problem restarting cannot fix; `str(exc)` is the one line to show."""

    exit_code = EXIT_MISCONFIGURED


class Unreachable(Exception):
    """The server did not answer (yet); `str(exc)` says which and why, in one line."""


async def wait_until_up(what: str, probe: Callable[[], Awaitable[T]]) -> T:
    """`await probe()` until it stops raising `Unreachable`; returns its result.

    Logs one warning when the wait starts (with the reason and the fix to look for) and one
    line when the server answers; `StartupError` from the probe ends the wait at once.
    """
    delay = 0.5
    waited = False
    while True:
        try:
            result = await probe()
        except Unreachable as exc:
            if not waited:
                log.warning("%s; retrying with backoff until it answers", exc)
                waited = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
            continue
        if waited:
            log.info("%s answers now; starting", what)
        return result


def migration_heads() -> set[str]:
    """The revisions `alembic upgrade head` leads to, read from the migrations of the
    `alembic.ini` of the working directory (as `alembic` itself finds it) or of the source
    tree. Raises `StartupError` if neither has one.

    The revision files are parsed, not imported, and Alembic is not imported either: Alembic,
    Mako and the loaded revisions would stay in every bot process, which needs only these names
    (7.6 MiB of its RSS at start, `docs/bench-memory.md`)."""
    for folder in (Path.cwd(), ROOT):
        ini = folder / "alembic.ini"
        if ini.is_file():
            return heads_of(versions_folder(ini))
    raise StartupError(
        f"no alembic.ini in {Path.cwd()} or {ROOT}: start the bot from the project directory "
        "(the image's /app), where the migrations are"
    )


def versions_folder(ini: Path) -> Path:
    """`<script_location>/versions` of `ini`'s `[alembic]` section (`%(here)s` is the folder of
    `ini`; a relative location is taken from there, as Alembic takes it from the working
    directory the ini is read in)."""
    parser = configparser.ConfigParser(defaults={"here": str(ini.parent)})
    parser.read(ini, encoding="utf-8")
    location = Path(parser.get("alembic", "script_location", fallback="migrations"))
    return (location if location.is_absolute() else ini.parent / location) / "versions"


def heads_of(versions: Path) -> set[str]:
    """The revisions of the files in `versions` that no other revision names as its
    `down_revision` (a merge names several). Each file's module-level `revision` and
    `down_revision` literals are read with `ast`; a file without a `revision` is not one."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(versions.glob("*.py")):
        names: dict[str, object] = {}
        for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
            target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            value = getattr(node, "value", None)
            if isinstance(target, ast.Name) and value is not None:
                try:
                    names[target.id] = ast.literal_eval(value)
                except (ValueError, TypeError, SyntaxError):
                    continue  # not a literal: not a name Alembic reads either
        revision = names.get("revision")
        if not isinstance(revision, str):
            continue
        revisions.add(revision)
        down = names.get("down_revision")
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):
            parents.update(d for d in down if isinstance(d, str))
    return revisions - parents


async def check_database(database_url: str) -> None:
    """PostgreSQL answers, the database exists and is migrated to head (`StartupError` if not;
    `Unreachable` while the server does not answer)."""
    url = make_url(database_url)
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_SECONDS)
    except asyncpg.InvalidCatalogNameError:
        raise StartupError(
            f"PostgreSQL at {where} has no database {url.database!r}: create it "
            f"(createdb {url.database}), then run: alembic upgrade head"
        ) from None
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError) as exc:
        raise StartupError(
            f"PostgreSQL at {where} refused user {url.username!r} ({exc}): "
            "check the user and password in DATABASE_URL"
        ) from None
    except (
        OSError,
        TimeoutError,
        asyncpg.CannotConnectNowError,  # starting up or shutting down
        asyncpg.PostgresConnectionError,
        asyncpg.ConnectionDoesNotExistError,  # the server hung up during the handshake
        asyncpg.TooManyConnectionsError,
    ) as exc:
        reason = str(exc) or type(exc).__name__
        raise Unreachable(
            f"PostgreSQL at {where} does not answer ({reason}): is it running, and is "
            "DATABASE_URL's host and port right?"
        ) from None
    try:
        try:
            rows = await conn.fetch("SELECT version_num FROM alembic_version")
        except asyncpg.UndefinedTableError:
            rows = []
    finally:
        await conn.close()
    current = {row["version_num"] for row in rows}
    heads = migration_heads()
    if current != heads:
        found = ", ".join(sorted(current)) or "no migrations"
        raise StartupError(
            f"database {url.database!r} is at {found}, this version needs "
            f"{', '.join(sorted(heads))}: run: alembic upgrade head"
        )


async def check_redis(settings: Settings) -> None:
    """Redis answers PING (`StartupError` for a refused password; `Unreachable` otherwise)."""
    redis = make_redis(settings.redis_url, timeout=CONNECT_TIMEOUT_SECONDS, breaker_seconds=0)
    where = redis.connection_pool.connection_kwargs.get("host", settings.redis_url)
    try:
        await redis.ping()  # type: ignore[misc]
    except (AuthenticationError, ResponseError) as exc:
        raise StartupError(f"Redis at {where} refused the bot ({exc}): check REDIS_URL") from None
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise Unreachable(
            f"Redis at {where} does not answer ({exc}): is it running, and is REDIS_URL right?"
        ) from None
    finally:
        await redis.aclose()


async def check_telegram(settings: Settings) -> str:
    """`getMe` with BOT_TOKEN; returns the bot's @username (`StartupError` if Telegram rejects
    the token; `Unreachable` while Telegram cannot be reached)."""
    bot = build_bot(settings)
    try:
        me = await bot.get_me()
    except TelegramUnauthorizedError:
        raise StartupError(
            "Telegram rejected BOT_TOKEN (401 Unauthorized): put the token from @BotFather "
            "in BOT_TOKEN"
        ) from None
    except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as exc:
        # The message of a network error never includes the URL, so never the token.
        raise Unreachable(f"Telegram does not answer ({type(exc).__name__}: {exc})") from None
    finally:
        await bot.session.close()
    return f"@{me.username}"


async def preflight(settings: Settings) -> None:
    """Every check in order; returns once the bot can start (raises `StartupError`)."""
    await wait_until_up("PostgreSQL", lambda: check_database(settings.database_url))
    await wait_until_up("Redis", lambda: check_redis(settings))
    username = await wait_until_up("Telegram", lambda: check_telegram(settings))
    log.info("checks passed: PostgreSQL migrated to head, Redis, Telegram as %s", username)
