"""Logging set-up: `LOG_FORMAT=text` (one readable line per record) or `json` (one JSON object
per line, by `python-json-logger`), both on stderr.

Every record made while an update is handled carries `update_id`, `user_id` and `handler` (set
by `bot.ops.observe`); the per-update record also carries `latency_ms`. A filter replaces the
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


class RedactSecrets(logging.Filter):
    """Replaces each secret in the record's formatted message and exception text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def _clean(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        cleaned = self._clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            # Format the traceback now, cleaned; the formatter reuses `exc_text`.
            record.exc_text = self._clean(logging.Formatter().formatException(record.exc_info))
        return True


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


def configure_logging(level: str, fmt: str = "text", *, secrets: Iterable[str] = ()) -> None:
    """Replace the root logger's handlers with one stderr handler in `fmt` (`text` or `json`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(UpdateFields())
    handler.addFilter(RedactSecrets(secrets))
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
