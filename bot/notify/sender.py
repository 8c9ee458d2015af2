"""The rate-limited Telegram sender: paces every message and turns Bot API errors into outcomes
the worker acts on (sent, retry after N seconds, recipient blocked us, failed)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardMarkup

from bot.notify.ratelimit import RateLimiter, acquire
from bot.ops import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sent:
    message_id: int


@dataclass(frozen=True, slots=True)
class RetryLater:
    """Telegram asked us to slow down (429) or the lease would run out while waiting our turn.
    Not a failure of the message: the attempt is given back."""

    seconds: float
    reason: str


@dataclass(frozen=True, slots=True)
class Blocked:
    """The recipient blocked the bot or the chat is gone (403): stop writing to it."""

    error: str


@dataclass(frozen=True, slots=True)
class Failed:
    """Anything else. `permanent` errors (a malformed request) are not worth retrying."""

    error: str
    permanent: bool = False


Outcome = Sent | RetryLater | Blocked | Failed
# `bot_telegram_sends_total{result}` per outcome (a RetryLater of 0 s sent nothing: not counted).
_METRIC_RESULTS: dict[type, str] = {Sent: "ok", RetryLater: "429", Blocked: "403", Failed: "error"}


class MessageSender(Protocol):
    async def send(
        self,
        chat_id: int,
        text: str,
        reply_markup: InlineKeyboardMarkup | None = None,
        *,
        deadline: float | None = None,
    ) -> Outcome: ...


class TelegramSender:
    """Sends through an aiogram `Bot`, paced by a shared `RateLimiter`.

    `deadline` is a `time.monotonic()` value (the end of the worker's lease): if our turn would
    come after it, nothing is sent and the message is handed back; a request still unanswered
    then is given up (a network error, retried later).
    """

    def __init__(
        self, bot: Bot, limiter: RateLimiter, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._bot = bot
        self._limiter = limiter
        self._clock = clock

    async def send(
        self,
        chat_id: int,
        text: str,
        reply_markup: InlineKeyboardMarkup | None = None,
        *,
        deadline: float | None = None,
    ) -> Outcome:
        outcome = await self._send(chat_id, text, reply_markup, deadline=deadline)
        result = _METRIC_RESULTS.get(type(outcome))
        if result is not None and not (isinstance(outcome, RetryLater) and not outcome.seconds):
            metrics.SENDS.labels(result=result).inc()
        return outcome

    async def _send(
        self,
        chat_id: int,
        text: str,
        reply_markup: InlineKeyboardMarkup | None,
        *,
        deadline: float | None,
    ) -> Outcome:
        if not await acquire(self._limiter, chat_id, deadline=deadline, clock=self._clock):
            return RetryLater(seconds=0.0, reason="rate limit wait exceeds the lease")
        # The request must end before the lease does: after it, another worker may take the row,
        # and two requests in flight at once could both be delivered.
        timeout: int | None = None
        if deadline is not None:
            timeout = int(deadline - self._clock())
            if timeout < 1:
                return RetryLater(seconds=0.0, reason="too little of the lease left to send")
        try:
            message = await self._bot.send_message(
                chat_id=chat_id,
                text=text,
                reply_markup=reply_markup,
                parse_mode=None,
                request_timeout=timeout,
            )
        except TelegramRetryAfter as exc:
            # Telegram's word beats our pacing: keep this chat quiet for as long as it asked.
            await self._limiter.penalize(chat_id, float(exc.retry_after))
            return RetryLater(seconds=float(exc.retry_after), reason=f"429: {exc.message}")
        except TelegramForbiddenError as exc:
            return Blocked(error=f"403: {exc.message}")
        except TelegramBadRequest as exc:
            # "chat not found" means the chat is unreachable for good, like a block.
            if "chat not found" in exc.message.lower():
                return Blocked(error=f"{type(exc).__name__}: {exc.message}")
            return Failed(error=f"{type(exc).__name__}: {exc.message}", permanent=True)
        except Exception as exc:
            # Network errors, 5xx, timeouts, even a bad token (an operator fixes it): worth
            # another try later, so nothing is lost to a transient fault.
            log.warning("send to %s failed: %r", chat_id, exc)
            return Failed(error=f"{type(exc).__name__}: {exc}"[:1000])
        return Sent(message_id=message.message_id)
