"""The dispatcher's routers, built fresh by setup functions, in the order they are tried.

Errors first (a router of error handlers by exception type), then `common` so /start, /cancel
and /help work in the middle of any flow, then the features, then the fallback that answers
whatever nobody understood (text where a button is expected, a stale button, a menu section no
feature serves). Payments come first among the features: a successful payment must reach the
wallet whatever flow the client is in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiogram import Router

from bot.handlers import (
    account,
    admin,
    booking,
    catalog_edit,
    catalog_file,
    common,
    errors,
    reminders,
    specialist,
    stats,
)
from bot.handlers.account import payments

# A feature: a zero-argument function returning a fresh router.
Feature = Callable[[], Router]


def setup_notify_router() -> Router:
    """The buttons of notifications: the specialist's agenda marks and the client's reminders."""
    router = Router(name="notify")
    specialist.register(router)
    reminders.register(router)
    return router


FEATURES: tuple[Feature, ...] = (
    payments.setup_router,
    setup_notify_router,
    admin.setup_router,
    booking.setup_router,
    account.setup_router,
    stats.setup_router,
    catalog_file.setup_router,
    catalog_edit.setup_router,
)


def setup_routers(features: Sequence[Feature] = FEATURES) -> Router:
    """One fresh router holding every handler: errors, common, `features` in order, fallback."""
    root = Router(name="handlers")
    root.include_routers(
        errors.setup_router(),
        common.setup_router(),
        *(feature() for feature in features),
        common.setup_fallback_router(),
    )
    return root
