"""One log line when Telegram stops answering long polling, one when it answers again.

aiogram's polling loop logs two lines per failed `getUpdates` (the error, then "Sleep for ...
and try again"), so an hour without Telegram is thousands of lines. `PollingOutageLog`, a filter
on aiogram's dispatcher logger while polling runs, swallows those and says instead:

- once when polling first fails (WARNING, with the error);
- every `summary_seconds` while it keeps failing (WARNING, attempts so far and the last error);
- once when `getUpdates` answers again (INFO, how long and how many attempts it took).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("bot.polling")

AIOGRAM_DISPATCHER = "aiogram.dispatcher"
_FAILED = "Failed to fetch updates"
_SLEEP = "Sleep for"
_BACK = "Connection established"


class PollingOutageLog(logging.Filter):
    """A filter for the `aiogram.dispatcher` logger (see the module). `clock` is
    `time.monotonic` (seconds); tests pass their own."""

    def __init__(
        self, *, summary_seconds: float = 600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.summary_seconds = summary_seconds
        self.clock = clock
        self.down_since: float | None = None
        self.attempts = 0
        self._last_said = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith(_FAILED):
            self._failed(record)
            return False
        if message.startswith(_SLEEP):
            return False
        if message.startswith(_BACK):
            self._answered()
            return False
        return True

    def _failed(self, record: logging.LogRecord) -> None:
        now = self.clock()
        self.attempts += 1
        reason = record.getMessage().removeprefix(_FAILED).lstrip(" -")
        if self.down_since is None:
            self.down_since = self._last_said = now
            log.warning(
                "Long polling gets no answer from Telegram (%s); retrying with backoff, one line "
                "when it answers again",
                reason,
            )
        elif now - self._last_said >= self.summary_seconds:
            self._last_said = now
            log.warning(
                "Long polling still gets no answer from Telegram: %d attempts in %.0f s (last: %s)",
                self.attempts,
                now - self.down_since,
                reason,
            )

    def _answered(self) -> None:
        if self.down_since is not None:
            log.info(
                "Long polling reaches Telegram again after %.0f s and %d failed attempts",
                self.clock() - self.down_since,
                self.attempts,
            )
        self.down_since = None
        self.attempts = 0


def install_polling_log(outage_log: PollingOutageLog) -> Callable[[], None]:
    """Put `outage_log` on aiogram's dispatcher logger; returns the function that removes it."""
    logger = logging.getLogger(AIOGRAM_DISPATCHER)
    logger.addFilter(outage_log)
    return lambda: logger.removeFilter(outage_log)
