"""The demo's web chat: a Telegram-like page for each persona, served by aiohttp.

The page (`bot/demo/static`: plain HTML, JS and CSS, nothing from the internet) acts for the
persona shown: it sends text, presses inline buttons, shares the contact and pays invoices
through the emulator's simulated users, exactly as the tests do, so the bot sees ordinary
Telegram updates. What the bot does arrives over a WebSocket as it happens.

HTTP interface (JSON):
- `GET /` the page; `GET /static/...` its files; `GET /files/{file_id}` a photo or document.
- `GET /api/state`: personas, every chat's messages, the demo clock.
- `POST /api/act`: `{"persona": tg_id, "action": "send" | "press" | "contact" | "pay", ...}`
  (`text`; `message_id` and `data`; -; `message_id`). Unknown personas or messages: 404.
- `POST /api/clock`: `{"shift": "1h" | "1d" | "09:00"}` moves the demo clock forward.
- `GET /ws`: events `{"type": "message" | "edit" | "delete", "chat_id", "message"}`,
  `{"type": "toast", "chat_id", "text", "alert"}`, `{"type": "clock", ...}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import WSMsgType, web

from bot.demo.clock import DemoClock
from bot.demo.seed import Persona
from bot.emulator import BotAPIEmulator, EmuMessage, SimUser

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
SHIFTS = {"1h": timedelta(hours=1), "1d": timedelta(days=1)}
NEXT_MORNING = time(9, 0)


class ChatHub:
    """The personas' chats: what each one shows, and the page's actions on them."""

    def __init__(
        self,
        emulator: BotAPIEmulator,
        personas: tuple[Persona, ...],
        clock: DemoClock,
        *,
        timezone: ZoneInfo,
        wake: Callable[[], Awaitable[None]],
    ) -> None:
        self.emulator = emulator
        self.personas = personas
        self.clock = clock
        self.timezone = timezone
        self._wake = wake
        self.users: dict[int, SimUser] = {
            p.tg_id: emulator.user(p.tg_id, p.first_name, language_code=p.language_code)
            for p in personas
        }
        # The personas' own messages (the emulator keeps only the bot's).
        self.sent: dict[int, list[dict[str, Any]]] = {p.tg_id: [] for p in personas}
        self.queries: dict[str, int] = {}  # callback query id -> chat id
        self.queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self.sockets: set[web.WebSocketResponse] = set()
        emulator.observers.append(self._observe)

    # ---- what the page shows -------------------------------------------------------------------

    def serialize(self, msg: EmuMessage) -> dict[str, Any]:
        media = None
        if msg.media is not None:
            media = {
                "type": msg.media.get("type"),
                "filename": msg.media.get("filename"),
                "url": f"/files/{msg.media['id']}" if msg.media.get("id") else None,
            }
        return {
            "id": msg.message_id,
            "chat_id": msg.chat_id,
            "from_bot": msg.from_bot,
            "date": msg.date,
            "text": msg.text,
            "parse_mode": msg.parse_mode,
            "markup": msg.reply_markup,
            "invoice": msg.invoice,
            "media": media,
            "edited": msg.edits > 0,
            "deleted": msg.deleted,
        }

    def chat(self, tg_id: int) -> list[dict[str, Any]]:
        """Everything in one persona's chat, oldest first (bot and persona share message ids)."""
        bot_messages = [
            self.serialize(m)
            for m in self.emulator.chats.get(tg_id, {}).values()
            if m.from_bot and not m.deleted
        ]
        return sorted([*bot_messages, *self.sent[tg_id]], key=lambda m: m["id"])

    def clock_state(self) -> dict[str, Any]:
        now = self.clock.now().astimezone(self.timezone)
        return {
            "type": "clock",
            "now": now.isoformat(timespec="seconds"),
            "timezone": str(self.timezone),
            "offset_hours": round(self.clock.offset.total_seconds() / 3600, 1),
        }

    def state(self) -> dict[str, Any]:
        return {
            "personas": [
                {
                    "id": p.tg_id,
                    "name": p.first_name,
                    "role": p.role,
                    "title": p.title,
                    "language": p.language_code,
                }
                for p in self.personas
            ],
            "chats": {str(p.tg_id): self.chat(p.tg_id) for p in self.personas},
            "clock": self.clock_state(),
        }

    # ---- events --------------------------------------------------------------------------------

    def publish(self, event: dict[str, Any]) -> None:
        for queue in self.queues:
            queue.put_nowait(event)

    def _observe(self, kind: str, payload: Any) -> None:
        if kind == "callback_answer":
            chat_id = self.queries.pop(str(payload.get("callback_query_id")), None)
            if chat_id is not None and payload.get("text"):
                self.publish(
                    {
                        "type": "toast",
                        "chat_id": chat_id,
                        "text": str(payload["text"]),
                        "alert": bool(payload.get("show_alert")),
                    }
                )
            return
        if isinstance(payload, EmuMessage) and payload.chat_id in self.users:
            self.publish(
                {"type": kind, "chat_id": payload.chat_id, "message": self.serialize(payload)}
            )

    # ---- actions -------------------------------------------------------------------------------

    async def send(self, user: SimUser, text: str) -> None:
        update_id = await user.send(text)
        message = self.emulator.find_update(update_id)["message"]
        self._record(user, message["message_id"], text=text)

    async def share_contact(self, user: SimUser) -> None:
        phone = f"+7900{user.id:07d}"
        update_id = await user.share_contact(phone)
        message = self.emulator.find_update(update_id)["message"]
        self._record(user, message["message_id"], contact=phone)

    def _record(self, user: SimUser, message_id: int, **fields: Any) -> None:
        entry = {
            "id": message_id,
            "chat_id": user.id,
            "from_bot": False,
            "date": int(self.emulator.clock()),
            **fields,
        }
        self.sent[user.id].append(entry)
        self.publish({"type": "message", "chat_id": user.id, "message": entry})

    async def press(self, user: SimUser, message_id: int, data: str) -> None:
        await user.press_data(data, message_id=message_id)
        assert user.last_query_id is not None
        self.queries[user.last_query_id] = user.id

    async def pay(self, user: SimUser, message_id: int) -> None:
        invoice = self.emulator.message(user.id, message_id)
        if invoice is None or invoice.invoice is None:
            raise web.HTTPNotFound(text="no such invoice")
        await user.pay(invoice)

    async def time_travel(self, shift: str) -> None:
        if shift in SHIFTS:
            self.clock.advance(SHIFTS[shift])
        elif shift == "09:00":
            self.clock.advance_to_next(NEXT_MORNING, self.timezone)
        else:
            raise web.HTTPBadRequest(text=f"unknown shift {shift!r}")
        await self._wake()
        self.publish(self.clock_state())


# ---- HTTP ----------------------------------------------------------------------------------------

HUB_KEY = web.AppKey("hub", ChatHub)


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def _state(request: web.Request) -> web.Response:
    return web.json_response(request.app[HUB_KEY].state())


async def _file(request: web.Request) -> web.Response:
    stored = request.app[HUB_KEY].emulator.uploads.get(request.match_info["file_id"])
    if stored is None:
        raise web.HTTPNotFound()
    name, data = stored
    content_type = "image/png" if name.lower().endswith(".png") else "application/octet-stream"
    disposition = "inline" if content_type.startswith("image/") else "attachment"
    return web.Response(
        body=data,
        content_type=content_type,
        headers={"Content-Disposition": f'{disposition}; filename="{name}"'},
    )


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="expected JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return body


def _int(body: dict[str, Any], key: str) -> int:
    try:
        return int(body[key])
    except (KeyError, TypeError, ValueError):
        raise web.HTTPBadRequest(text=f"{key} must be an integer") from None


async def _act(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    body = await _json(request)
    user = hub.users.get(_int(body, "persona"))
    if user is None:
        raise web.HTTPNotFound(text="no such persona")
    action = body.get("action")
    if action == "send":
        text = str(body.get("text") or "").strip()
        if not text:
            raise web.HTTPBadRequest(text="empty message")
        await hub.send(user, text)
    elif action == "press":
        await hub.press(user, _int(body, "message_id"), str(body.get("data") or ""))
    elif action == "contact":
        await hub.share_contact(user)
    elif action == "pay":
        await hub.pay(user, _int(body, "message_id"))
    else:
        raise web.HTTPBadRequest(text=f"unknown action {action!r}")
    return web.json_response({"ok": True})


async def _clock(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    body = await _json(request)
    await hub.time_travel(str(body.get("shift")))
    return web.json_response(hub.clock_state())


async def _ws(request: web.Request) -> web.WebSocketResponse:
    hub = request.app[HUB_KEY]
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    hub.queues.add(queue)
    hub.sockets.add(ws)

    async def pump() -> None:
        while True:
            await ws.send_json(await queue.get())

    sender = asyncio.create_task(pump())
    try:
        async for message in ws:  # the page sends nothing; this ends when it goes away
            if message.type == WSMsgType.ERROR:
                break
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sender
        hub.queues.discard(queue)
        hub.sockets.discard(ws)
    return ws


async def _close_sockets(app: web.Application) -> None:
    for ws in list(app[HUB_KEY].sockets):
        await ws.close(code=1001, message=b"demo stopping")


def build_web_app(hub: ChatHub) -> web.Application:
    app = web.Application()
    app[HUB_KEY] = hub
    app.router.add_get("/", _index)
    app.router.add_static("/static", STATIC)
    app.router.add_get("/files/{file_id}", _file)
    app.router.add_get("/api/state", _state)
    app.router.add_post("/api/act", _act)
    app.router.add_post("/api/clock", _clock)
    app.router.add_get("/ws", _ws)
    app.on_shutdown.append(_close_sockets)
    return app
