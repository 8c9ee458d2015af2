"""The Bot object, built the same way by the bot process and the standalone worker."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, ClassVar, cast

import orjson
from aiogram import Bot, methods
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import EditMessageText
from aiogram.methods.base import Response, TelegramMethod, TelegramType
from aiogram.types import InlineKeyboardMarkup, Message
from aiohttp import FormData
from aiohttp.payload import JsonPayload
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.config import Settings


def _response_types() -> tuple[type[Any], ...]:
    """`Response[T]` for every Bot API method's result type `T` (41 types; about 50 ms once).

    aiogram parses each API answer as `Response[method.__returning__]`. pydantic keeps the
    parametrized model only in a weak cache, and the class dies at the next garbage collection,
    so without a strong reference every call after one rebuilds the model and its validator:
    measured at about a tenth of the bot's CPU under load (docs/bench-stack.md). Holding them
    here keeps pydantic's cache warm for the life of the process.
    """
    returning = {
        kind.__returning__
        for name in methods.__all__
        if isinstance(kind := getattr(methods, name), type)
        and issubclass(kind, TelegramMethod)
        and kind is not TelegramMethod
    }
    returning.add(EditScreen.__returning__)
    return tuple(Response[result] for result in returning)  # type: ignore[valid-type]


class ScreenEdited(BaseModel):
    """What the bot reads of the message an edit returns: its id, nothing else (the rest of the
    answer is skipped unparsed)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    message_id: int


class EditScreen(EditMessageText):
    """`editMessageText`, the same call, with its answer read as `ScreenEdited` (or `True`, for
    an inline message) instead of a whole `Message`.

    No edit's answer is read by the bot, and parsing it as a `Message` (every keyboard button a
    pydantic model) cost about 320 us of CPU for a 24-button screen against about 25 us here
    (docs/bench-stack.md): a third of a millisecond on nearly every press.
    """

    __returning__: ClassVar[type] = ScreenEdited | bool  # type: ignore[assignment]


async def edit_text(
    message: Message, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Replace `message`'s text and inline keyboard (`markup`; None drops it) through
    `EditScreen`, as `message.edit_text(text, reply_markup=markup)` would. Raises what the Bot
    API call raises (`TelegramBadRequest` for "message is not modified", among others)."""
    if message.bot is None:
        raise RuntimeError("the message is not bound to a Bot")
    await message.bot(
        EditScreen(
            chat_id=message.chat.id,
            message_id=message.message_id,
            business_connection_id=message.business_connection_id,
            text=text,
            reply_markup=markup,
        )
    )


RESPONSE_TYPES = _response_types()


class JsonBodySession(AiohttpSession):
    """aiogram's aiohttp session, sending each Bot API call as one JSON body
    (`application/json`, which the Bot API accepts for every method except file uploads)
    instead of an url-encoded form.

    The form encodes every byte of the nested JSON values (a keyboard's buttons) through
    `urllib.parse.quote_plus` in Python: 0.35 ms of the 1.05 ms of CPU a 24-button message cost
    the bot (docs/bench-stack.md). The values are prepared by aiogram's own `prepare_value`
    (bot defaults, enums, dates, nested objects without their unset fields), so the call is
    the same; a call that uploads a file goes as aiogram sends it (multipart). Only the body
    changes: aiogram's `make_request` sends it, with its timeouts and errors.

    A successful answer is parsed straight from its JSON text (`check_response`).
    """

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        """aiogram's `check_response`, except that a successful answer is validated from its
        text by pydantic in one pass (`model_validate_json`) instead of `json.loads` into
        dicts first: the same objects (bound to `bot`) at about two thirds of the CPU, which
        counts for every pressed button's update (the pressed message comes with its whole
        keyboard; docs/bench-stack.md). Anything else (an error status, `ok: false`, an answer
        that does not parse) goes through aiogram's own path, which raises as it always did."""
        if HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED:
            kind = Response[method.__returning__]  # type: ignore[name-defined]
            try:
                response = kind.model_validate_json(content, context={"bot": bot})
            except ValidationError:
                pass
            else:
                if response.ok:
                    return cast(Response[TelegramType], response)
        return super().check_response(bot, method, status_code, content)

    def build_form_data(  # type: ignore[override]  # aiohttp posts any Payload as `data`
        self, bot: Bot, method: TelegramMethod[TelegramType]
    ) -> FormData | JsonPayload:
        files: dict[str, Any] = {}
        # Unset fields (None) are dropped by `prepare_value` anyway; not dumping them halves
        # its walk over a keyboard's buttons (each has a dozen optional fields).
        payload = self.prepare_value(
            method.model_dump(warnings=False, exclude_none=True),
            bot=bot,
            files=files,
            _dumps_json=False,
        )
        if files:
            return super().build_form_data(bot, method)
        body = {key: value for key, value in payload.items() if value != ""}
        return JsonPayload(body, dumps=self.json_dumps)


def json_text(value: Any) -> str:
    """`value` (what aiogram's `prepare_value` leaves: str, int, float, bool, None, lists and
    dicts) as JSON text, by orjson: about a seventh of the standard library's CPU for a
    24-button keyboard (4 against 31 us), and a third smaller with Cyrillic text, which the
    standard library escapes (UTF-8, as the Bot API reads it). Raises `TypeError` for what
    JSON cannot hold."""
    return orjson.dumps(value).decode()


def build_bot(settings: Settings) -> Bot:
    """The Bot, talking to `TELEGRAM_API_URL` (a local Bot API server or the emulator) if set,
    through `JsonBodySession`, its bodies encoded by `json_text`."""
    session = (
        JsonBodySession(
            api=TelegramAPIServer.from_base(settings.telegram_api_url), json_dumps=json_text
        )
        if settings.telegram_api_url
        else JsonBodySession(json_dumps=json_text)
    )
    return Bot(token=settings.bot_token.get_secret_value(), session=session)
