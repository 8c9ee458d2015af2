"""A local Telegram Bot API emulator (aiohttp on 127.0.0.1, random port by default): the demo's
Telegram and the tests'.

It keeps the state a chat would show (messages with ids; edits applied; deletions), records every
call, hands updates out through `getUpdates` (long polling, `offset` acknowledges) or POSTs them
to a webhook (with the secret header, retried on non-2xx), and can inject faults: failures
(429/403/500...), Telegram's rate limits, and slow methods.

Point the bot at it with `TELEGRAM_API_URL=emulator.url`. Simulated users (`emulator.user(...)`)
send messages, press buttons and wait for the bot's answers; waiting uses an asyncio condition,
never sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from bot.emulator.methods import ChatMethods
from bot.emulator.types import (
    DEFAULT_TOKEN,
    LIMITED_PREFIXES,
    UNLIMITED,
    ApiCall,
    ChatEvent,
    EmuMessage,
    FailRule,
    Pending,
    TelegramError,
    as_int,
    coerce,
)

if TYPE_CHECKING:
    from bot.emulator.users import SimUser

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_TOKEN", "ApiCall", "BotAPIEmulator", "EmuMessage", "TelegramError"]


class BotAPIEmulator(ChatMethods):
    """The Bot API on `self.url`; `await start()` / `await stop()` (or `async with`)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "booking_test_bot",
        bot_first_name: str = "Booking Bot",
        first_update_id: int = 1,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.calls: list[ApiCall] = []
        self.chats: dict[int, dict[int, EmuMessage]] = {}
        self.chat_events: dict[int, list[ChatEvent]] = {}
        self.users: dict[int, SimUser] = {}
        # Files users sent (file_id -> bytes), downloadable as Telegram serves them.
        self.files: dict[str, bytes] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.pre_checkout_answers: dict[str, dict[str, Any]] = {}
        self.webhook: dict[str, Any] | None = None
        self.webhook_deliveries: list[dict[str, Any]] = []
        self.count_429 = 0
        self._pending: list[Pending] = []
        # getUpdates requests so far: a long poll whose number is no longer the latest was
        # overtaken by another consumer and ends with 409 (counted in `poll_conflicts`), as
        # Telegram ends it. getUpdates calls are not kept in `calls`.
        self.polls = 0
        self.poll_conflicts = 0
        # Updates already delivered (acknowledged), kept for `redeliver`.
        self._delivered: deque[dict[str, Any]] = deque(maxlen=1000)
        # A bot that keeps its Redis across emulator runs (the demo) remembers the update ids it
        # handled, so such a caller starts above them.
        self._update_ids = itertools.count(first_update_id)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._seq = itertools.count(1)
        self._cond = asyncio.Condition()
        self._fail_rules: list[FailRule] = []
        self._delays: dict[str, float] = {}
        self._limits: tuple[float, float] | None = None
        self._sent_global: deque[float] = deque()
        self._sent_chat: dict[int, deque[float]] = {}
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_session: aiohttp.ClientSession | None = None
        self.port: int = 0
        self.url: str = ""
        # A failed delivery is retried with a doubling back-off (0.05 s, 0.1 s, ... capped at 2 s):
        # about 13 s in all, longer than a proxy keeps a failed upstream out (nginx's
        # fail_timeout), as Telegram too keeps retrying an update for a long while.
        self.webhook_max_attempts = 12
        self.webhook_retry_base_seconds = 0.05
        self.webhook_retry_max_seconds = 2.0
        self.clock: Callable[[], float] = time.time
        # The rate limiter's clock; tests may pin it.
        self.monotonic: Callable[[], float] = time.monotonic
        self._closing = False
        # Photos and documents the bot sent, by an id of the emulator's: (file name, bytes).
        self.uploads: dict[str, tuple[str, bytes]] = {}
        self._upload_ids = itertools.count(1)
        # Called on every chat change: ("message" | "edit" | "delete", message) and on every
        # callback answer: ("callback_answer", params). The demo's web chat listens here.
        self.observers: list[Callable[[str, Any], None]] = []
        self._background: set[asyncio.Task[None]] = set()

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self, port: int = 0) -> BotAPIEmulator:
        """Serve on `port` of 127.0.0.1 (0: a free one)."""
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/documents/{file_id}", self._download)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    async def stop(self) -> None:
        async with self._cond:
            self._closing = True  # ends pending long polls at once
            self._cond.notify_all()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._webhook_session is not None:
            await self._webhook_session.close()
            self._webhook_session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotAPIEmulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- users and updates --------------------------------------------------------------------

    def user(
        self,
        id: int,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "ru",
    ) -> SimUser:
        """A simulated private-chat user (chat id = user id)."""
        from bot.emulator.users import SimUser

        user = SimUser(
            self,
            id=id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        self.users[id] = user
        return user

    def next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    async def push_update(self, payload: dict[str, Any], *, update_id: int | None = None) -> int:
        """Queue an update (`payload` without `update_id`); returns its update_id."""
        uid = update_id if update_id is not None else next(self._update_ids)
        update = {"update_id": uid, **payload}
        async with self._cond:
            self._pending.append(Pending(update))
            self._cond.notify_all()
        return uid

    async def redeliver(self, update_id: int) -> None:
        """Deliver an already delivered update again (what Telegram does after a lost ack)."""
        original = self.find_update(update_id)
        async with self._cond:
            self._pending.append(Pending(json.loads(json.dumps(original))))
            self._cond.notify_all()

    def find_update(self, update_id: int) -> dict[str, Any]:
        for pending in self._all_updates:
            if pending["update_id"] == update_id:
                return pending
        raise KeyError(update_id)

    @property
    def _all_updates(self) -> list[dict[str, Any]]:
        return [p.update for p in self._pending] + list(self._delivered)

    def pending_updates(self) -> list[dict[str, Any]]:
        return [p.update for p in self._pending]

    # ---- fault injection ----------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        retry_after: int | None = None,
        chat_id: int | None = None,
        count: int = 1,
        description: str = "",
    ) -> None:
        """The next `count` calls of `method` (to `chat_id`, if given) fail with `status`."""
        if status == 429 and retry_after is None:
            retry_after = 1
        self._fail_rules.append(
            FailRule(method.lower(), status, retry_after, chat_id, count, description)
        )

    def enforce_limits(self, global_per_second: float = 30, per_chat_per_second: float = 1) -> None:
        """Answer 429 (with retry_after) to sends beyond Telegram's limits; see `count_429`."""
        self._limits = (global_per_second, per_chat_per_second)

    def delay(self, method: str, seconds: float) -> None:
        """Make `method` answer `seconds` late (0 removes the delay)."""
        if seconds <= 0:
            self._delays.pop(method.lower(), None)
        else:
            self._delays[method.lower()] = seconds
        # Calls already waiting re-check their delay.
        task = asyncio.get_running_loop().create_task(self.notify())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ---- queries --------------------------------------------------------------------------------

    def calls_to(self, method: str | None = None, *, chat_id: int | None = None) -> list[ApiCall]:
        return [
            c
            for c in self.calls
            if (method is None or c.is_(method)) and (chat_id is None or c.chat_id == chat_id)
        ]

    def sent_messages(self, chat_id: int | None = None) -> list[EmuMessage]:
        """Messages the bot sent successfully (current state), in order, optionally to one chat."""
        chats: Iterable[int] = [chat_id] if chat_id is not None else list(self.chats)
        result = [m for c in chats for m in self.chats.get(c, {}).values() if m.from_bot]
        if chat_id is None:
            return sorted(result, key=lambda m: (m.date, m.chat_id, m.message_id))
        return result

    def message(self, chat_id: int, message_id: int) -> EmuMessage | None:
        return self.chats.get(chat_id, {}).get(message_id)

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 10,  # noqa: ASYNC109 - tests read better with a timeout argument
    ) -> None:
        """Wait until `predicate()` holds (re-checked on every recorded change)."""
        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(predicate), timeout)

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        *,
        chat_id: int | None = None,
        completed: bool = False,
        after: int = 0,
        timeout: float = 10,  # noqa: ASYNC109
    ) -> ApiCall:
        """The first call of `method` (seq > `after`) matching; `completed` waits for its answer."""
        found: list[ApiCall] = []

        def check() -> bool:
            for call in self.calls:
                if call.seq <= after or not call.is_(method):
                    continue
                if chat_id is not None and call.chat_id != chat_id:
                    continue
                if completed and not call.completed:
                    continue
                if predicate is None or predicate(call):
                    found.append(call)
                    return True
            return False

        await self.wait_for(check, timeout=timeout)
        return found[0]

    @property
    def last_seq(self) -> int:
        return self.calls[-1].seq if self.calls else 0

    async def notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    # ---- HTTP ----------------------------------------------------------------------------------

    async def _parse_params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            raw = await request.read()
            # As the Bot API server does, a string where a number, a flag or an object is
            # expected is read as one (aiogram sends a date as a string of digits).
            body = dict(json.loads(raw)) if raw else {}
            return {k: coerce(k, v) if isinstance(v, str) else v for k, v in body.items()}
        params: dict[str, Any] = {}
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                    continue
                if part.filename:
                    content = bytes(await part.read())
                    params[part.name] = {
                        "filename": part.filename,
                        "size": len(content),
                        "content": content,
                    }
                else:
                    params[part.name] = coerce(part.name, await part.text())
            return params
        for key, value in (await request.post()).items():
            params[key] = coerce(key, value if isinstance(value, str) else str(value))
        for key, value in request.query.items():
            params.setdefault(key, coerce(key, value))
        return params

    async def _download(self, request: web.Request) -> web.Response:
        content = self.files.get(request.match_info["file_id"])
        if request.match_info["token"] != self.token or content is None:
            return web.Response(status=404)
        return web.Response(body=content)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            error = TelegramError(401, "Unauthorized")
            return web.json_response(error.payload(), status=401)
        method = request.match_info["method"]
        params = await self._parse_params(request)
        chat_id = as_int(params.get("chat_id"))
        call = ApiCall(
            seq=next(self._seq), method=method, params=params, at=self.clock(), chat_id=chat_id
        )
        if method.lower() != "getupdates":
            async with self._cond:
                self.calls.append(call)
                self._cond.notify_all()
        try:
            if method.lower() in self._delays:
                await self._slow_down(method.lower())
                if request.transport is None or request.transport.is_closing():
                    # The bot went away (killed) while waiting: the request is lost with it.
                    call.error = {"ok": False, "error_code": 0, "description": "client gone"}
                    call.completed = True
                    await self.notify()
                    return web.Response(status=499)
            self._inject_faults(method.lower(), chat_id)
            result = await self._dispatch(method.lower(), params)
        except TelegramError as exc:
            call.error = exc.payload()
            call.completed = True
            if exc.status == 429:
                self.count_429 += 1
            await self.notify()
            return web.json_response(call.error, status=exc.status)
        call.result = result
        call.completed = True
        await self.notify()
        return web.json_response({"ok": True, "result": result})

    async def _slow_down(self, method: str) -> None:
        """Answer late: after the configured delay, or at once when the delay is removed."""
        seconds = self._delays[method]
        async with self._cond:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._cond.wait_for(lambda: method not in self._delays or self._closing),
                    seconds,
                )

    def _inject_faults(self, method: str, chat_id: int | None) -> None:
        for rule in self._fail_rules:
            if rule.method != method or rule.count <= 0:
                continue
            if rule.chat_id is not None and rule.chat_id != chat_id:
                continue
            rule.count -= 1
            self._fail_rules = [r for r in self._fail_rules if r.count > 0]
            raise TelegramError(rule.status, rule.description, retry_after=rule.retry_after)
        if self._limits is None or method in UNLIMITED or not method.startswith(LIMITED_PREFIXES):
            return
        global_rate, chat_rate = self._limits
        now = self.monotonic()
        window = self._sent_global
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= global_rate:
            raise TelegramError(429, retry_after=max(1, math.ceil(1.0 - (now - window[0]))))
        if chat_id is not None:
            chat_window = self._sent_chat.setdefault(chat_id, deque())
            span = 1.0 / chat_rate if chat_rate < 1 else 1.0
            allowed = max(1, math.floor(chat_rate)) if chat_rate >= 1 else 1
            while chat_window and now - chat_window[0] >= span:
                chat_window.popleft()
            if len(chat_window) >= allowed:
                raise TelegramError(
                    429, retry_after=max(1, math.ceil(span - (now - chat_window[0])))
                )
            chat_window.append(now)
        window.append(now)
