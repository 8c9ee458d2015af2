"""The Bot API methods the emulator implements (`_m_<method>`, lower-case), the state a chat
shows after them, and webhook delivery. Mixed into `BotAPIEmulator`, which owns the state."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.emulator.types import (
    CONFLICT_OTHER_POLL,
    ApiCall,
    ChatEvent,
    EmuMessage,
    Pending,
    TelegramError,
    as_int,
    coerce,
    markup,
)

if TYPE_CHECKING:
    from bot.emulator.users import SimUser

log = logging.getLogger(__name__)


class ChatMethods:
    """Method implementations over the state declared here (set up by `BotAPIEmulator`)."""

    token: str
    bot_id: int
    bot_username: str
    bot_first_name: str
    calls: list[ApiCall]
    chats: dict[int, dict[int, EmuMessage]]
    chat_events: dict[int, list[ChatEvent]]
    users: dict[int, SimUser]
    files: dict[str, bytes]
    commands: dict[str, list[dict[str, Any]]]
    callback_answers: dict[str, dict[str, Any]]
    pre_checkout_answers: dict[str, dict[str, Any]]
    webhook: dict[str, Any] | None
    webhook_deliveries: list[dict[str, Any]]
    webhook_max_attempts: int
    webhook_retry_base_seconds: float
    webhook_retry_max_seconds: float
    observers: list[Callable[[str, Any], None]]
    uploads: dict[str, tuple[str, bytes]]
    _upload_ids: itertools.count[int]
    clock: Callable[[], float]
    _pending: list[Pending]
    polls: int
    poll_conflicts: int
    _delivered: deque[dict[str, Any]]
    _seq: itertools.count[int]
    _cond: asyncio.Condition
    _closing: bool
    _webhook_task: asyncio.Task[None] | None
    _webhook_session: aiohttp.ClientSession | None

    def next_message_id(self, chat_id: int) -> int:
        raise NotImplementedError

    async def notify(self) -> None:
        raise NotImplementedError

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
        if method.startswith("send") and as_int(params.get("chat_id")) is not None:
            # sendPhoto, sendDocument, ...: a message the chat shows (its caption as text).
            chat_id = self._require_chat(params)
            kind = method.removeprefix("send")
            media: dict[str, Any] = {"type": kind}
            attached = params.get(kind)
            if isinstance(attached, str) and attached.startswith("attach://"):
                attached = params.get(attached.removeprefix("attach://"))
            if isinstance(attached, dict):
                upload_id = f"upload-{next(self._upload_ids)}"
                self.uploads[upload_id] = (str(attached["filename"]), attached["content"])
                media.update(filename=attached["filename"], size=attached["size"], id=upload_id)
            return self._store_bot_message(
                chat_id, {**params, "text": params.get("caption")}, media=media
            ).raw
        return True  # the generic recorder: anything else succeeds

    async def _m_getfile(self, params: dict[str, Any]) -> Any:
        """A file a simulated user sent; its bytes are served under `/file/bot<token>/<path>`."""
        file_id = str(params.get("file_id") or "")
        if file_id not in self.files:
            raise TelegramError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(self.files[file_id]),
            "file_path": f"documents/{file_id}",
        }

    async def _m_getme(self, params: dict[str, Any]) -> Any:
        return self.bot_user()

    async def _m_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise TelegramError(
                409, "Conflict: can't use getUpdates method while webhook is active"
            )
        offset = as_int(params.get("offset"))
        timeout = float(params.get("timeout") or 0)
        limit = as_int(params.get("limit")) or 100

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
            # Telegram serves one consumer: a new getUpdates ends the long poll already waiting
            # with 409 (two bot instances polling at once see exactly this).
            self.polls += 1
            mine = self.polls
            acknowledge()
            self._cond.notify_all()
            if not self._pending and timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._cond.wait_for(
                            lambda: bool(self._pending) or self._closing or self.polls != mine
                        ),
                        timeout,
                    )
            if self.polls != mine:
                self.poll_conflicts += 1
                raise TelegramError(409, CONFLICT_OTHER_POLL)
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
            parse_mode=params.get("parse_mode"),
            reply_markup=markup(params.get("reply_markup")),
            **extra,
        )
        msg.raw = self._message_payload(msg)
        self.chats.setdefault(chat_id, {})[message_id] = msg
        self._chat_event(chat_id, "message", msg)
        return msg

    def _chat_event(self, chat_id: int, kind: str, msg: EmuMessage) -> None:
        events = self.chat_events.setdefault(chat_id, [])
        events.append(ChatEvent(seq=len(events) + 1, kind=kind, message=msg))
        for observer in self.observers:
            observer(kind, msg)

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
        chat_id = as_int(params.get("chat_id"))
        if chat_id is None:
            raise TelegramError(400, "Bad Request: chat not found")
        return chat_id

    def _existing(self, params: dict[str, Any], what: str) -> EmuMessage:
        chat_id = self._require_chat(params)
        message_id = as_int(params.get("message_id"))
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
        new_markup = markup(params.get("reply_markup"))
        if new_text == msg.text and new_markup == msg.reply_markup:
            raise TelegramError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        msg.text = new_text
        msg.parse_mode = params.get("parse_mode")
        msg.reply_markup = new_markup
        msg.edits += 1
        msg.raw = self._message_payload(msg)
        self._chat_event(msg.chat_id, "edit", msg)
        return msg.raw

    async def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        if params.get("inline_message_id"):
            return True
        msg = self._existing(params, "edit")
        new_markup = markup(params.get("reply_markup"))
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
        for observer in self.observers:
            observer("callback_answer", params)
        return True

    async def _m_answerprecheckoutquery(self, params: dict[str, Any]) -> Any:
        self.pre_checkout_answers[str(params.get("pre_checkout_query_id"))] = params
        return True

    def _command_scope_key(self, params: dict[str, Any]) -> str:
        scope = params.get("scope") or {"type": "default"}
        scope_type = scope.get("type", "default") if isinstance(scope, dict) else str(scope)
        if isinstance(scope, dict) and "chat_id" in scope:
            scope_type = f"{scope_type}@{scope['chat_id']}"
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
            "max_connections": as_int(params.get("max_connections")) or 40,
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
        """POST pending updates as Telegram does: up to the webhook's `max_connections` at once
        (Telegram's default: 40), one at a time per chat and in order within a chat; a non-2xx
        answer is retried with a doubling back-off (`webhook_max_attempts` in all)."""
        self._webhook_session = self._webhook_session or aiohttp.ClientSession()
        busy_chats: set[int | None] = set()
        in_flight: set[asyncio.Task[None]] = set()

        def next_ready() -> Pending | None:
            if self.webhook is None or len(busy_chats) >= self.webhook.get("max_connections", 40):
                return None
            waiting_chats: set[int | None] = set()
            for pending in self._pending:
                chat = update_chat_id(pending.update)
                if pending.handed_out or chat in busy_chats or chat in waiting_chats:
                    waiting_chats.add(chat)  # a later update of this chat waits its turn
                    continue
                return pending
            return None

        # One delivery in flight per busy chat: their count is the number of open connections.
        try:
            while True:
                async with self._cond:
                    await self._cond.wait_for(lambda: next_ready() is not None)
                    pending = next_ready()
                    assert pending is not None
                    pending.handed_out = True
                    chat = update_chat_id(pending.update)
                    busy_chats.add(chat)
                    hook = dict(self.webhook or {})
                task = asyncio.create_task(self._deliver_one(hook, pending, chat, busy_chats))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
        finally:
            for task in list(in_flight):
                task.cancel()

    async def _deliver_one(
        self, hook: dict[str, Any], pending: Pending, chat: int | None, busy: set[int | None]
    ) -> None:
        delivered = False
        try:
            for attempt in range(1, self.webhook_max_attempts + 1):
                status = await self._post_update(hook, pending.update)
                self.webhook_deliveries.append(
                    {"update_id": pending.update["update_id"], "attempt": attempt, "status": status}
                )
                if 200 <= status < 300:
                    delivered = True
                    break
                # The retry back-off of a real Bot API server, shortened for tests.
                await asyncio.sleep(
                    min(
                        self.webhook_retry_base_seconds * 2 ** (attempt - 1),
                        self.webhook_retry_max_seconds,
                    )
                )
        finally:
            async with self._cond:
                busy.discard(chat)
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
                params[part.name] = coerce(part.name, await part.text())
        method = str(params.pop("method", ""))
        if method:
            call = ApiCall(
                seq=next(self._seq),
                method=method,
                params=params,
                at=self.clock(),
                chat_id=as_int(params.get("chat_id")),
            )
            self.calls.append(call)
            try:
                call.result = await self._dispatch(method.lower(), params)
            except TelegramError as exc:
                call.error = exc.payload()
            call.completed = True
            await self.notify()


def update_chat_id(update: dict[str, Any]) -> int | None:
    """The chat an update belongs to (the sender's id for a callback query), else None."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        chat = value.get("chat") or (value.get("message") or {}).get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return int(chat["id"])
        sender = value.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return int(sender["id"])
    return None
