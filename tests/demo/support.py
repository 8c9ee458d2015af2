"""A real `python -m bot demo` process for the demo's tests: no DATABASE_URL / REDIS_URL (so it
starts its embedded servers), its own data directory and a free port, run outside the project
directory so no `.env` leaks in."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0
STOP_TIMEOUT = 40.0


@contextlib.contextmanager
def demo_root() -> Iterator[Path]:
    """A scratch directory for one demo's data, outside pytest's temporary directories: each new
    pytest session (several may run on one machine) makes /tmp/pytest-of-<user> private again,
    which locks out the system user the embedded PostgreSQL runs as (when run as root)."""
    root = Path(tempfile.mkdtemp(prefix="booking-demo-test-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def demo_env(data_dir: Path, port: int) -> dict[str, str]:
    """The caller's environment minus every bot setting, plus the demo's two. A browser clicks
    faster than people: the per-user throttle (3 updates/s) is raised as in the e2e tests."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env.update(
        DEMO_DATA_DIR=str(data_dir),
        DEMO_PORT=str(port),
        THROTTLE_RATE_PER_SECOND="1000",
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Demo:
    process: asyncio.subprocess.Process
    data_dir: Path
    port: int
    stderr_path: Path
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def server_pids(self) -> dict[str, int]:
        """The embedded servers' pids, from their own pid records in the data directory."""
        postmaster = (self.data_dir / "postgres" / "postmaster.pid").read_text().split()[0]
        registry = json.loads((self.data_dir / "redis" / "dump.rdb.settings").read_text())
        redis_pid = Path(registry["pidfile"]).read_text().strip()
        return {"postgres": int(postmaster), "redis": int(redis_pid)}

    async def read_until(self, needle: str, timeout: float = START_TIMEOUT) -> None:  # noqa: ASYNC109
        async def read() -> None:
            assert self.process.stdout is not None
            while True:
                raw = await self.process.stdout.readline()
                if not raw:
                    raise AssertionError(
                        f"demo ended before {needle!r}:\n{self.output}\n{self.stderr}"
                    )
                self.lines.append(raw.decode().rstrip("\n"))
                if needle in self.lines[-1]:
                    return

        await asyncio.wait_for(read(), timeout)

    async def stop(self, sig: int = signal.SIGINT) -> int:
        """Send `sig`; read the rest of the output; the exit code."""
        self.process.send_signal(sig)
        assert self.process.stdout is not None
        rest = await asyncio.wait_for(self.process.stdout.read(), STOP_TIMEOUT)
        self.lines.extend(rest.decode().splitlines())
        return await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)


@contextlib.asynccontextmanager
async def running_demo(data_dir: Path, *args: str) -> AsyncIterator[Demo]:
    """Start the demo and wait for its URL line; kill it if the block leaves it running."""
    port = free_port()
    stderr_path = data_dir.parent / f"{data_dir.name}-stderr-{port}.txt"
    with stderr_path.open("w") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "demo",
            *args,
            cwd=str(data_dir.parent),
            env=demo_env(data_dir, port),
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    demo = Demo(process, data_dir, port, stderr_path)
    try:
        await demo.read_until("Web chat:")
        yield demo
    finally:
        if process.returncode is None:
            with contextlib.suppress(TimeoutError, ProcessLookupError):
                await demo.stop(signal.SIGTERM)
