"""All routers, in the order the dispatcher tries them.

`common` comes first so /start, /cancel and /help work in the middle of any flow; feature
routers follow (each feature adds its router to `FEATURE_ROUTERS`); the fallback comes last and
answers whatever nobody understood (text where a button is expected, a stale button).
"""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Router


def _booking() -> Router:
    from bot.handlers.booking import router

    return router()


def _payments() -> Router:
    from bot.handlers.account import payments_router

    return payments_router()


def _account() -> Router:
    from bot.handlers.account import router

    return router()


def _notify() -> Router:
    from bot.handlers import reminders, specialist

    root = Router(name="notify")
    root.include_routers(specialist.router(), reminders.router())
    return root


# Feature routers, in order: each entry is a zero-argument callable returning a Router (imported
# lazily, so a feature module is only loaded when the dispatcher is built).
# Payments come first: a successful payment must reach the wallet whatever flow the client is in.
FEATURE_ROUTERS: list[Callable[[], Router]] = [_payments, _notify, _booking, _account]


def all_routers() -> list[Router]:
    """Fresh list of the routers to include: common, the features, the fallback."""
    from bot.handlers import common

    routers = [common.router]
    routers.extend(factory() for factory in FEATURE_ROUTERS)
    routers.append(common.fallback_router)
    return routers
