"""A local Telegram Bot API emulator (aiohttp on 127.0.0.1, random port) for tests.

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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

if TYPE_CHECKING:
    from tests.emulator.users import SimUser

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:TEST-emulator-token_abcdefghijklmnopqrs"

# Form fields whose value is a plain string even when it looks like a number or JSON.
_STRING_FIELDS = {
    "text",
    "caption",
    "title",
    "description",
    "payload",
    "callback_query_id",
    "pre_checkout_query_id",
    "url",
    "secret_token",
    "currency",
    "provider_token",
    "start_parameter",
    "error_message",
    "parse_mode",
    "inline_message_id",
    "action",
    "language_code",
    "name",
    "short_description",
}
# Methods that put a message in front of a user: Telegram's send limits apply to them.
_LIMITED_PREFIXES = ("send", "copy", "forward")
_UNLIMITED = {"sendchataction"}
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: request is invalid",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class TelegramError(Exception):
    """Raised inside a method implementation to answer `{"ok": false, ...}`."""

    def __init__(
        self, status: int, description: str = "", *, retry_after: int | None = None
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        template = description or _DEFAULT_DESCRIPTIONS.get(status, "Error")
        self.description = template.format(retry_after=retry_after)
        super().__init__(self.description)

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class ApiCall:
    """One request the bot made. `result`/`error` are set once the answer is sent."""

    seq: int
    method: str  # as the bot spelled it (sendMessage)
    params: dict[str, Any]
    at: float
    chat_id: int | None
    result: Any = None
    error: dict[str, Any] | None = None
    completed: bool = False

    @property
    def ok(self) -> bool:
        return self.completed and self.error is None

    def is_(self, method: str) -> bool:
        return self.method.lower() == method.lower()


@dataclass
class EmuMessage:
    """A message as the chat shows it now (after edits and deletions)."""

    message_id: int
    chat_id: int
    from_bot: bool
    date: int
    text: str | None = None
    reply_markup: dict[str, Any] | None = None
    deleted: bool = False
    edits: int = 0
    invoice: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def buttons(self) -> list[list[dict[str, Any]]]:
        """Inline keyboard rows (each button a dict with `text`, `callback_data`, ...)."""
        if not self.reply_markup:
            return []
        return list(self.reply_markup.get("inline_keyboard") or [])

    def button_texts(self) -> list[str]:
        return [b.get("text", "") for row in self.buttons for b in row]

    def find_button(self, text: str) -> dict[str, Any] | None:
        for row in self.buttons:
            for button in row:
                if text in button.get("text", ""):
                    return button
        return None

    def __repr__(self) -> str:
        return (
            f"EmuMessage(id={self.message_id}, chat={self.chat_id}, bot={self.from_bot}, "
            f"text={self.text!r}, buttons={self.button_texts()!r})"
        )


@dataclass
class _FailRule:
    method: str
    status: int
    retry_after: int | None
    chat_id: int | None
    count: int
    description: str


@dataclass
class _Pending:
    update: dict[str, Any]
    handed_out: bool = False


@dataclass
class ChatEvent:
    """Something the user saw happen: a new bot message or an edit of one."""

    seq: int
    kind: str  # "message" | "edit" | "delete"
    message: EmuMessage


class BotAPIEmulator:
    """The Bot API on `self.url`; `await start()` / `await stop()` (or `async with`)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "booking_test_bot",
        bot_first_name: str = "Booking Bot",
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.calls: list[ApiCall] = []
        self.chats: dict[int, dict[int, EmuMessage]] = {}
        self.chat_events: dict[int, list[ChatEvent]] = {}
        self.users: dict[int, SimUser] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.pre_checkout_answers: dict[str, dict[str, Any]] = {}
        self.webhook: dict[str, Any] | None = None
        self.webhook_deliveries: list[dict[str, Any]] = []
        self.count_429 = 0
        self._pending: list[_Pending] = []
        # Updates already delivered (acknowledged), kept for `redeliver`.
        self._delivered: deque[dict[str, Any]] = deque(maxlen=1000)
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._seq = itertools.count(1)
        self._cond = asyncio.Condition()
        self._fail_rules: list[_FailRule] = []
        self._delays: dict[str, float] = {}
        self._limits: tuple[float, float] | None = None
        self._sent_global: deque[float] = deque()
        self._sent_chat: dict[int, deque[float]] = {}
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_session: aiohttp.ClientSession | None = None
        self.port: int = 0
        self.url: str = ""
        self.webhook_max_attempts = 5
        self.webhook_retry_base_seconds = 0.05
        self.clock: Callable[[], float] = time.time
        # The rate limiter's clock; tests may pin it.
        self.monotonic: Callable[[], float] = time.monotonic
        self._closing = False
        self._background: set[asyncio.Task[None]] = set()

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> BotAPIEmulator:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
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
        from tests.emulator.users import SimUser

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
            self._pending.append(_Pending(update))
            self._cond.notify_all()
        return uid

    async def redeliver(self, update_id: int) -> None:
        """Deliver an already delivered update again (what Telegram does after a lost ack)."""
        original = self.find_update(update_id)
        async with self._cond:
            self._pending.append(_Pending(json.loads(json.dumps(original))))
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
            _FailRule(method.lower(), status, retry_after, chat_id, count, description)
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
            return dict(json.loads(raw)) if raw else {}
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
                    params[part.name] = {"filename": part.filename, "size": len(await part.read())}
                else:
                    params[part.name] = _coerce(part.name, await part.text())
            return params
        for key, value in (await request.post()).items():
            params[key] = _coerce(key, value if isinstance(value, str) else str(value))
        for key, value in request.query.items():
            params.setdefault(key, _coerce(key, value))
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            error = TelegramError(401, "Unauthorized")
            return web.json_response(error.payload(), status=401)
        method = request.match_info["method"]
        params = await self._parse_params(request)
        chat_id = _as_int(params.get("chat_id"))
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
        if self._limits is None or method in _UNLIMITED or not method.startswith(_LIMITED_PREFIXES):
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

    # ---- methods -------------------------------------------------------------------------------

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def chat_payload(self, chat_id: int) -> dict[str, Any]:
        user = self.users.get(chat_id)
        chat: dict[str, Any] = {"id": chat_id, "type": "private"}
        if user is not None:
            chat["first_name"] = user.first_name
            if user.last_name:
                chat["last_name"] = user.last_name
            if user.username:
                chat["username"] = user.username
        return chat

    async def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        handler = getattr(self, f"_m_{method}", None)
        if handler is not None:
            return await handler(params)
        if method.startswith("send") and _as_int(params.get("chat_id")) is not None:
            # sendPhoto, sendDocument, ...: a message the chat shows (its caption as text).
            chat_id = self._require_chat(params)
            return self._store_bot_message(chat_id, {**params, "text": params.get("caption")}).raw
        return True  # the generic recorder: anything else succeeds

    async def _m_getme(self, params: dict[str, Any]) -> Any:
        return self.bot_user()

    async def _m_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise TelegramError(
                409, "Conflict: can't use getUpdates method while webhook is active"
            )
        offset = _as_int(params.get("offset"))
        timeout = float(params.get("timeout") or 0)
        limit = _as_int(params.get("limit")) or 100

        def acknowledge() -> None:
            if offset is None:
                return
            keep = []
            for pending in self._pending:
                if pending.update["update_id"] < offset and pending.handed_out:
                    self._delivered.append(pending.update)
                else:
                    keep.append(pending)
            self._pending = keep

        async with self._cond:
            acknowledge()
            self._cond.notify_all()
            if not self._pending and timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._cond.wait_for(lambda: bool(self._pending) or self._closing), timeout
                    )
            batch = self._pending[:limit]
            for pending in batch:
                pending.handed_out = True
            return [p.update for p in batch]

    def _store_bot_message(self, chat_id: int, params: dict[str, Any], **extra: Any) -> EmuMessage:
        message_id = self.next_message_id(chat_id)
        msg = EmuMessage(
            message_id=message_id,
            chat_id=chat_id,
            from_bot=True,
            date=int(self.clock()),
            text=params.get("text"),
            reply_markup=_markup(params.get("reply_markup")),
            **extra,
        )
        msg.raw = self._message_payload(msg)
        self.chats.setdefault(chat_id, {})[message_id] = msg
        self._chat_event(chat_id, "message", msg)
        return msg

    def _chat_event(self, chat_id: int, kind: str, msg: EmuMessage) -> None:
        events = self.chat_events.setdefault(chat_id, [])
        events.append(ChatEvent(seq=len(events) + 1, kind=kind, message=msg))

    def _message_payload(self, msg: EmuMessage) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "message_id": msg.message_id,
            "date": msg.date,
            "chat": self.chat_payload(msg.chat_id),
        }
        if msg.from_bot:
            payload["from"] = self.bot_user()
        elif msg.chat_id in self.users:
            payload["from"] = self.users[msg.chat_id].payload()
        if msg.text is not None:
            payload["text"] = msg.text
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            payload["reply_markup"] = msg.reply_markup
        if msg.invoice is not None:
            payload["invoice"] = {
                k: msg.invoice[k]
                for k in ("title", "description", "start_parameter", "currency", "total_amount")
                if k in msg.invoice
            }
        if msg.edits:
            payload["edit_date"] = msg.date
        return payload

    def _require_chat(self, params: dict[str, Any]) -> int:
        chat_id = _as_int(params.get("chat_id"))
        if chat_id is None:
            raise TelegramError(400, "Bad Request: chat not found")
        return chat_id

    def _existing(self, params: dict[str, Any], what: str) -> EmuMessage:
        chat_id = self._require_chat(params)
        message_id = _as_int(params.get("message_id"))
        msg = self.chats.get(chat_id, {}).get(message_id or -1)
        if msg is None or msg.deleted:
            raise TelegramError(400, f"Bad Request: message to {what} not found")
        return msg

    async def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        chat_id = self._require_chat(params)
        if not params.get("text"):
            raise TelegramError(400, "Bad Request: message text is empty")
        return self._store_bot_message(chat_id, params).raw

    async def _m_sendinvoice(self, params: dict[str, Any]) -> Any:
        chat_id = self._require_chat(params)
        prices = params.get("prices") or []
        total = sum(int(p.get("amount", 0)) for p in prices)
        invoice = {
            "title": params.get("title"),
            "description": params.get("description"),
            "payload": params.get("payload"),
            "currency": params.get("currency"),
            "start_parameter": params.get("start_parameter") or "",
            "total_amount": total,
            "prices": prices,
        }
        return self._store_bot_message(chat_id, {**params, "text": None}, invoice=invoice).raw

    async def _m_editmessagetext(self, params: dict[str, Any]) -> Any:
        if params.get("inline_message_id"):
            return True
        msg = self._existing(params, "edit")
        new_text = params.get("text")
        new_markup = _markup(params.get("reply_markup"))
        if new_text == msg.text and new_markup == msg.reply_markup:
            raise TelegramError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        msg.text = new_text
        msg.reply_markup = new_markup
        msg.edits += 1
        msg.raw = self._message_payload(msg)
        self._chat_event(msg.chat_id, "edit", msg)
        return msg.raw

    async def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        if params.get("inline_message_id"):
            return True
        msg = self._existing(params, "edit")
        new_markup = _markup(params.get("reply_markup"))
        if new_markup == msg.reply_markup:
            raise TelegramError(400, "Bad Request: message is not modified")
        msg.reply_markup = new_markup
        msg.edits += 1
        msg.raw = self._message_payload(msg)
        self._chat_event(msg.chat_id, "edit", msg)
        return msg.raw

    async def _m_deletemessage(self, params: dict[str, Any]) -> Any:
        msg = self._existing(params, "delete")
        msg.deleted = True
        self._chat_event(msg.chat_id, "delete", msg)
        return True

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id"))
        if query_id in self.callback_answers:
            raise TelegramError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self.callback_answers[query_id] = params
        return True

    async def _m_answerprecheckoutquery(self, params: dict[str, Any]) -> Any:
        self.pre_checkout_answers[str(params.get("pre_checkout_query_id"))] = params
        return True

    def _command_scope_key(self, params: dict[str, Any]) -> str:
        scope = params.get("scope") or {"type": "default"}
        scope_type = scope.get("type", "default") if isinstance(scope, dict) else str(scope)
        return f"{scope_type}:{params.get('language_code') or ''}"

    async def _m_setmycommands(self, params: dict[str, Any]) -> Any:
        self.commands[self._command_scope_key(params)] = list(params.get("commands") or [])
        return True

    async def _m_deletemycommands(self, params: dict[str, Any]) -> Any:
        self.commands.pop(self._command_scope_key(params), None)
        return True

    async def _m_getmycommands(self, params: dict[str, Any]) -> Any:
        return self.commands.get(self._command_scope_key(params), [])

    async def _m_setwebhook(self, params: dict[str, Any]) -> Any:
        url = params.get("url") or ""
        if not url:
            return await self._m_deletewebhook(params)
        self.webhook = {
            "url": url,
            "secret_token": params.get("secret_token"),
            "allowed_updates": params.get("allowed_updates"),
        }
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self._ensure_webhook_delivery()
        return True

    async def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _m_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        return {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    async def _m_getchat(self, params: dict[str, Any]) -> Any:
        chat_id = self._require_chat(params)
        return {**self.chat_payload(chat_id), "accent_color_id": 0, "max_reaction_count": 11}

    async def _m_sendchataction(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_close(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_logout(self, params: dict[str, Any]) -> Any:
        return True

    # ---- webhook delivery ------------------------------------------------------------------------

    def _ensure_webhook_delivery(self) -> None:
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhooks())

    async def _deliver_webhooks(self) -> None:
        """POST pending updates one by one, in order; retry a non-2xx answer a few times."""
        self._webhook_session = self._webhook_session or aiohttp.ClientSession()
        while True:
            async with self._cond:
                await self._cond.wait_for(lambda: self.webhook is not None and bool(self._pending))
                pending = self._pending[0]
                hook = dict(self.webhook or {})
            delivered = False
            for attempt in range(1, self.webhook_max_attempts + 1):
                status = await self._post_update(hook, pending.update)
                self.webhook_deliveries.append(
                    {"update_id": pending.update["update_id"], "attempt": attempt, "status": status}
                )
                if 200 <= status < 300:
                    delivered = True
                    break
                # The retry back-off of a real Bot API server, shortened for tests.
                await asyncio.sleep(self.webhook_retry_base_seconds * attempt)
            async with self._cond:
                if pending in self._pending:
                    self._pending.remove(pending)
                if delivered:
                    self._delivered.append(pending.update)
                self._cond.notify_all()

    async def _post_update(self, hook: dict[str, Any], update: dict[str, Any]) -> int:
        assert self._webhook_session is not None
        headers = {}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        try:
            async with self._webhook_session.post(
                hook["url"], json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=60)
            ) as response:
                if 200 <= response.status < 300:
                    await self._apply_webhook_reply(response)
                return response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("webhook delivery of %s failed: %s", update.get("update_id"), exc)
            return 599

    async def _apply_webhook_reply(self, response: aiohttp.ClientResponse) -> None:
        """A handler may answer with a method in the webhook reply; execute it like a call."""
        if not response.content_type.startswith("multipart/"):
            return
        reader = aiohttp.MultipartReader.from_response(response)
        params: dict[str, Any] = {}
        while True:
            part = await reader.next()
            if part is None:
                break
            if isinstance(part, aiohttp.BodyPartReader) and part.name:
                params[part.name] = _coerce(part.name, await part.text())
        method = str(params.pop("method", ""))
        if method:
            call = ApiCall(
                seq=next(self._seq),
                method=method,
                params=params,
                at=self.clock(),
                chat_id=_as_int(params.get("chat_id")),
            )
            self.calls.append(call)
            try:
                call.result = await self._dispatch(method.lower(), params)
            except TelegramError as exc:
                call.error = exc.payload()
            call.completed = True
            await self.notify()


def _as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return None


def _coerce(key: str, value: str) -> Any:
    """Form values arrive as strings; nested objects are JSON-encoded (aiogram does that)."""
    if key in _STRING_FIELDS:
        return value
    stripped = value.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except ValueError:
            return value
    if stripped in ("true", "false"):
        return stripped == "true"
    if stripped.lstrip("-").isdigit():
        return int(stripped)
    return value


def _markup(value: Any) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None
