"""A TCP proxy in front of the shared Redis that a test can stop and start again, to play
"Redis is down" without touching the Redis other tests use.

The proxy stands in for the Redis named by a URL (the tests' `TEST_REDIS_URL`): its own `url`
keeps that URL's user, password, database and options and changes only where to connect, so a
bot behind the proxy writes to the very database the tests read and clean up.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import SplitResult, urlsplit, urlunsplit


class RedisProxy:
    def __init__(self, target_url: str) -> None:
        target = urlsplit(target_url)
        if target.scheme != "redis" or target.hostname is None:
            raise ValueError(f"the proxy relays plain TCP redis:// URLs, not {target_url!r}")
        self.target = (target.hostname, target.port or 6379)
        self._target_url = target
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """The target URL with only host and port replaced by the proxy's."""
        t = self._target_url
        auth = t.netloc.rpartition("@")[0]
        netloc = f"{auth}@" if auth else ""
        netloc += f"127.0.0.1:{self.port}"
        return urlunsplit(SplitResult(t.scheme, netloc, t.path, t.query, t.fragment))

    async def start(self) -> None:
        """Listen (on the same port as before, after a `stop()`)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Refuse new connections and cut the open ones: Redis looks down."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(dst)
            dst.close()
