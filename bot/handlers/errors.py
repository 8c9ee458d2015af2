"""The one place that turns a failure no handler caught into text, routed by the exception's type
(aiogram's `ExceptionTypeFilter`):

- a re-render of the same screen ("message is not modified") -> nothing to say;
- PostgreSQL or Redis unreachable (`bot.ops.outage.classify`) -> "temporarily unavailable, try
  again in a minute", and one log line per kind of failure per minute, not a trace per update;
- a domain error -> its text (`DOMAIN_TEXTS`), logged as a warning;
- anything else -> an apology, and the trace in the log with the update and the user.

The user never sees a trace. A successful payment whose update failed is credited here from its
signed payload (Telegram never delivers it again).
"""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import ExceptionMessageFilter, ExceptionTypeFilter
from aiogram.types import ErrorEvent, Update, User
from dishka import FromDishka

from bot.config import Settings
from bot.domain.errors import (
    DomainError,
    InvalidState,
    InvalidStateReason,
    NotAllowed,
    NotAllowedReason,
    NotFound,
    SlotTaken,
)
from bot.handlers.account.payments import credit_after_failure
from bot.handlers.admin_only import DENIED_TEXT
from bot.i18n import Translator, normalize_language
from bot.ops.outage import Outage, OutageLog, classify
from bot.services.wallet import WalletService

log = logging.getLogger(__name__)

# A domain error that escaped a handler -> its text key (first match wins).
DOMAIN_TEXTS: tuple[tuple[type[DomainError], str], ...] = (
    (SlotTaken, "errors.slot_taken"),
    (NotAllowed, "errors.not_allowed"),
    (NotFound, "errors.not_found"),
    (InvalidState, "errors.invalid_state"),
)
# A refusal whose reason says more than its kind -> that reason's own text key.
REASON_TEXTS: dict[InvalidStateReason, str] = {
    InvalidStateReason.NOT_STARTED: "errors.not_started",
    InvalidStateReason.UNDO_TOO_LATE: "errors.undo_too_late",
}
UNAVAILABLE_TEXT = "errors.unavailable"
UNEXPECTED_TEXT = "errors.unexpected"
ERROR_TEXTS = (
    UNAVAILABLE_TEXT,
    UNEXPECTED_TEXT,
    *(key for _, key in DOMAIN_TEXTS),
    *REASON_TEXTS.values(),
    DENIED_TEXT,
)


def domain_text_key(exc: DomainError) -> str:
    """The locale key telling the user why `exc` refused: its reason's own text where there is
    one (a mark before the visit started), else its kind's."""
    if isinstance(exc, InvalidState) and exc.reason in REASON_TEXTS:
        return REASON_TEXTS[exc.reason]
    if isinstance(exc, NotAllowed) and exc.reason is NotAllowedReason.NOT_ADMIN:
        return DENIED_TEXT
    return next((key for kind, key in DOMAIN_TEXTS if isinstance(exc, kind)), UNEXPECTED_TEXT)


def _user_and_chat(update: Update) -> tuple[User | None, int | None]:
    if update.message is not None:
        return update.message.from_user, update.message.chat.id
    if update.callback_query is not None:
        query = update.callback_query
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        return query.from_user, chat_id
    if update.pre_checkout_query is not None:
        return update.pre_checkout_query.from_user, update.pre_checkout_query.from_user.id
    return None, None


def _context(update: Update) -> dict[str, int | None]:
    user, _ = _user_and_chat(update)
    return {"update_id": update.update_id, "user_id": user.id if user else None}


async def on_not_modified(event: ErrorEvent) -> None:
    """A double press re-rendered the same screen: nothing went wrong for the user."""
    if event.update.callback_query is not None:
        with contextlib.suppress(Exception):
            await event.update.callback_query.answer()


async def on_outage(
    event: ErrorEvent,
    bot: Bot,
    outage: Outage,
    outages: FromDishka[OutageLog],
    settings: FromDishka[Settings],
    wallet: FromDishka[WalletService],
    i18n: Translator | None = None,
) -> None:
    outages.record(outage)
    await tell(event, bot, settings, wallet, i18n, UNAVAILABLE_TEXT)


def is_outage(event: ErrorEvent) -> dict[str, Outage] | bool:
    """Filter: the failure is PostgreSQL or Redis not answering (hands the handler `outage`)."""
    outage = classify(event.exception)
    return {"outage": outage} if outage is not None else False


async def on_domain_error(
    event: ErrorEvent,
    bot: Bot,
    settings: FromDishka[Settings],
    wallet: FromDishka[WalletService],
    i18n: Translator | None = None,
) -> None:
    log.warning("domain error escaped a handler %s: %r", _context(event.update), event.exception)
    assert isinstance(event.exception, DomainError)
    await tell(event, bot, settings, wallet, i18n, domain_text_key(event.exception))


async def on_unexpected(
    event: ErrorEvent,
    bot: Bot,
    settings: FromDishka[Settings],
    wallet: FromDishka[WalletService],
    i18n: Translator | None = None,
) -> None:
    log.error("unhandled error while handling %s", _context(event.update), exc_info=event.exception)
    await tell(event, bot, settings, wallet, i18n, UNEXPECTED_TEXT)


async def tell(
    event: ErrorEvent,
    bot: Bot,
    settings: Settings,
    wallet: WalletService,
    i18n: Translator | None,
    key: str,
) -> None:
    """Say `key` in the user's language (or what a failed payment's crediting says instead)."""
    update = event.update
    user, chat_id = _user_and_chat(update)
    translator = i18n or Translator(
        normalize_language(user.language_code if user else None) or settings.default_language
    )
    text = await credit_after_failure(update, settings, wallet, translator) or translator(key)
    try:
        if chat_id is not None:
            await bot.send_message(chat_id, text)
        if update.callback_query is not None:
            # Stops the button's spinner; the handler may have answered it already.
            await update.callback_query.answer()
    except Exception:  # telling the user is best effort; the failure is already logged
        log.warning("could not tell the user about the error %s", _context(update), exc_info=True)


def setup_router() -> Router:
    """Error handlers, most specific first (the last one takes any exception)."""
    router = Router(name="errors")
    router.errors.register(
        on_not_modified,
        ExceptionTypeFilter(TelegramBadRequest),
        ExceptionMessageFilter(r".*message is not modified"),
    )
    router.errors.register(on_outage, is_outage)
    router.errors.register(on_domain_error, ExceptionTypeFilter(DomainError))
    router.errors.register(on_unexpected)
    return router
