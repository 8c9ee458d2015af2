"""Answering a button press too late is not an error (docs/rules.md#pitfalls-we-design-around).

Telegram accepts `answerCallbackQuery` only within about 15 seconds of the press; after that it
answers "query is too old and response timeout expired or query ID is invalid". A press handled
late (a redelivery after an instance died, a slow moment) would then fail at its answer, which
only stops the button's spinner, and the failure would abort the handler and be logged as an
error with a traceback, although the screen the handler drew is what the user needs.
`LateCallbackAnswers` turns that one refusal into a successful answer (logged at INFO).
"""

from __future__ import annotations

import logging
from typing import cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, Response, TelegramMethod
from aiogram.methods.base import TelegramType

log = logging.getLogger(__name__)

# Telegram's description of an expired (or unknown) callback query.
_TOO_LATE = ("query is too old", "query id is invalid")


class LateCallbackAnswers(BaseRequestMiddleware):
    """Bot request middleware: an `answerCallbackQuery` refused as too late counts as answered.
    Every other request and every other refusal passes through unchanged."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            if not isinstance(method, AnswerCallbackQuery) or not any(
                phrase in exc.message.lower() for phrase in _TOO_LATE
            ):
                raise
            log.info("a button press was answered too late for Telegram: %s", exc.message)
            return cast(Response[TelegramType], Response[bool](ok=True, result=True))
