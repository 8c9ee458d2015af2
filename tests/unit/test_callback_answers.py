"""A button press answered after Telegram's window counts as answered; nothing else is hidden."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, Response, TelegramMethod

from bot.middlewares.callback_answers import LateCallbackAnswers

TOO_LATE = "Bad Request: query is too old and response timeout expired or query ID is invalid"


def refusing(method: TelegramMethod[Any], message: str) -> Any:
    async def make_request(bot: Any, called: TelegramMethod[Any]) -> Response[Any]:
        raise TelegramBadRequest(method=called, message=message)

    return make_request


async def test_a_late_answer_is_taken_as_answered() -> None:
    method = AnswerCallbackQuery(callback_query_id="1")
    answered = await LateCallbackAnswers()(refusing(method, TOO_LATE), None, method)  # type: ignore[arg-type]
    assert answered.ok and answered.result is True


@pytest.mark.parametrize(
    ("method", "message"),
    [
        (AnswerCallbackQuery(callback_query_id="1"), "Bad Request: message text is empty"),
        (EditMessageText(chat_id=1, message_id=1, text="x"), TOO_LATE),
    ],
    ids=["another refusal of an answer", "the same words for another method"],
)
async def test_every_other_refusal_passes_through(
    method: TelegramMethod[Any], message: str
) -> None:
    with pytest.raises(TelegramBadRequest):
        await LateCallbackAnswers()(refusing(method, message), None, method)  # type: ignore[arg-type]
