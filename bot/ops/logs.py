"""Logging set-up: `LOG_FORMAT=text` (one readable line per record) or `json` (one JSON object
per line, by `python-json-logger`), both on stderr.

Every record made while an update is handled carries `update_id`, `user_id` and `handler` (set
by `bot.ops.observe`); the per-update record also carries `latency_ms`. The handler replaces the
secrets given to `configure_logging` (the bot token, the webhook secret, the payment provider
token) wherever they would appear. Phone numbers and payment payloads are kept out by never
logging them (SQL parameters are hidden by the engine, see `db.engine`); a test greps a whole
run's logs for them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import IO

from pythonjsonlogger.json import JsonFormatter


@dataclass
class UpdateContext:
    """What the log records of one update share."""

    update_id: int | None = None
    user_id: int | None = None
    handler: str | None = None


current_update: ContextVar[UpdateContext | None] = ContextVar("current_update", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
REDACTED = "[redacted]"


class UpdateFields(logging.Filter):
    """Adds `update_id`, `user_id` and `handler` (None outside an update) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_update.get()
        for name in ("update_id", "user_id", "handler"):
            if not hasattr(record, name):
                setattr(record, name, getattr(context, name) if context else None)
        return True


class RedactingHandler(logging.StreamHandler[IO[str]]):
    """A stream handler that replaces each secret in the finished line (message, arguments,
    traceback, every JSON field) with `[redacted]`."""

    def __init__(self, stream: IO[str], secrets: Iterable[str]) -> None:
        super().__init__(stream)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        for secret in self.secrets:
            line = line.replace(secret, REDACTED)
        return line


class _TextWithUpdate(logging.Formatter):
    """The text format, with `[update 12 user 34 handler]` when inside an update."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        update_id = getattr(record, "update_id", None)
        if update_id is None:
            return line
        where = f" [update {update_id} user {getattr(record, 'user_id', None)}"
        handler = getattr(record, "handler", None)
        where += f" {handler}]" if handler else "]"
        head, sep, tail = line.partition("\n")
        return head + where + sep + tail


def configure_logging(
    level: str, fmt: str = "text", *, secrets: Iterable[str] = (), stream: IO[str] | None = None
) -> None:
    """Replace the root logger's handlers with one handler writing `fmt` (`text` or `json`) to
    `stream` (default stderr)."""
    handler = RedactingHandler(stream or sys.stderr, secrets)
    handler.addFilter(UpdateFields())
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(JSON_FIELDS, rename_fields={"levelname": "level", "name": "logger"})
        )
    else:
        handler.setFormatter(_TextWithUpdate(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # aiogram logs every handled update at INFO; `bot.ops.observe` logs it with context instead.
    if root.level > logging.DEBUG:
        logging.getLogger("aiogram.event").setLevel(logging.WARNING)
