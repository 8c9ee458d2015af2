"""Throw-away PostgreSQL and Redis servers that a test may stop, restart or pause (SIGSTOP)
without touching the shared ones: each runs from a temporary directory on a free port.

PostgreSQL comes from `PG_BIN` (default: the newest `/usr/lib/postgresql/*/bin`, Debian's); as
root, `initdb` and the server run as the `postgres` user (PostgreSQL refuses root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.ops.redis import BreakerRedis


def _pg_bin() -> Path:
    """`PG_BIN`, else the newest of Debian's `/usr/lib/postgresql/<version>/bin`."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
START_TIMEOUT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class Postgres:
    """`start()`, `stop()` (fast shutdown), `kill()` (SIGKILL, a crash); `url(db)` for asyncpg."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pg-throwaway-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            [
                *_as_postgres(),
                *(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres"),
                *("--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"),
            ],
            check=True,
            capture_output=True,
        )

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*_as_postgres(), str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-w", "-t", str(START_TIMEOUT_SECONDS), "-o", options, "-l",
                  str(self.dir / "log"), "start")  # fmt: skip

    def stop(self) -> None:
        self._ctl("-w", "-m", "fast", "stop")

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = subprocess.run(
            [str(PG_BIN / "psql"), self.url(database, "postgresql"), "-Atqc", sql],
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisServer:
    """`redis-server` on a free port with no persistence; `pause()`/`resume()` SIGSTOP/SIGCONT
    it (a hung Redis: connections are accepted by the kernel, nothing is answered). With
    `password` it requires it (`requirepass`); `url` then carries it."""

    def __init__(self, password: str | None = None) -> None:
        self.port = free_port()
        self.password = password
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
                *(("--requirepass", self.password) if self.password else ()),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:  # polling for a port to open: the server gives no other signal
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            if time.monotonic() > deadline:
                raise TimeoutError("redis-server did not start")
            time.sleep(0.05)

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[Postgres]:
    server = Postgres()
    try:
        server.start()
        yield server
    finally:
        server.close()


@contextlib.contextmanager
def throwaway_redis(password: str | None = None) -> Iterator[RedisServer]:
    server = RedisServer(password)
    try:
        server.start()
        yield server
    finally:
        server.stop()


class BreakerClock:
    """A hand-moved clock for the bot's Redis circuit breaker (`pin_breaker`)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def pass_pause(self) -> None:
        """Move past the breaker's pause: the next Redis command is the probe."""
        self.now += 3600.0


def pin_breaker(app: Any) -> BreakerClock:
    """Put a running bot's (`BotApp`) Redis breaker on a test clock, before Redis fails; returns
    the clock. (The breaker's background probe still closes it once Redis answers.)"""
    clock = BreakerClock()
    redis = app.redis
    assert isinstance(redis, BreakerRedis)
    redis.breaker.clock = clock
    return clock
