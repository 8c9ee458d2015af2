"""The emulator's records: errors it answers with, the calls it saw, the messages a chat shows,
and the coercion of form-encoded parameters (aiogram sends nested objects as JSON strings)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TOKEN = "123456789:TEST-emulator-token_abcdefghijklmnopqrs"

# Form fields whose value is a plain string even when it looks like a number or JSON.
STRING_FIELDS = {
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
LIMITED_PREFIXES = ("send", "copy", "forward")
UNLIMITED = {"sendchataction"}
# Telegram's answer to a long poll overtaken by another getUpdates consumer.
CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: request is invalid",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: CONFLICT_OTHER_POLL,
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
    # As the bot sent it ("HTML", "MarkdownV2", ...); None means plain text, shown as typed.
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    deleted: bool = False
    edits: int = 0
    invoice: dict[str, Any] | None = None
    # A photo or document the bot sent: {"type": "photo", "filename", "size", "id"} (its bytes
    # in `BotAPIEmulator.uploads[id]`).
    media: dict[str, Any] | None = None
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
class FailRule:
    method: str
    status: int
    retry_after: int | None
    chat_id: int | None
    count: int
    description: str


@dataclass
class Pending:
    update: dict[str, Any]
    handed_out: bool = False


@dataclass
class ChatEvent:
    """Something the user saw happen: a new bot message or an edit of one."""

    seq: int
    kind: str  # "message" | "edit" | "delete"
    message: EmuMessage


def as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return None


def coerce(key: str, value: str) -> Any:
    """Form values arrive as strings; nested objects are JSON-encoded (aiogram does that)."""
    if key in STRING_FIELDS:
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


def markup(value: Any) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None
