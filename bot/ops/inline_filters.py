"""Handler filters checked in the event loop, and button filters that skip foreign buttons
without parsing them.

aiogram tries the handlers of an update in order and checks each one's filters until one
matches, so an update pays for the filters of every handler before its own (a booking press
passes about 25, a typed command about 30). Two things made that walk cost a noticeable part of
the bot's CPU (docs/bench-stack.md):

- aiogram runs every filter that is not a coroutine function (the `F...` magic filters, plain
  predicates, `State` objects) through `asyncio.to_thread`: a thread hop per check. Every such
  filter in the bot is a pure check of the update and its data, so `run_filters_inline` runs
  them in the event loop instead;
- a button filter (`SomeCb.filter(...)`) parses the pressed button's data with `unpack`, which
  raises (building its message) for every other kind of button. `run_filters_inline` puts a
  check of the data's prefix in front, so a foreign button is refused at the cost of a string
  comparison; the filter's answer is the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Literal

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.types import CallbackQuery


class PrefixedCallbackQueryFilter(CallbackQueryFilter):
    """`CallbackQueryFilter` that refuses, without parsing, data that cannot be its button's:
    `unpack` accepts only data whose part before the first separator is the prefix."""

    def __init__(self, original: CallbackQueryFilter) -> None:
        super().__init__(callback_data=original.callback_data, rule=original.rule)
        self._prefix = original.callback_data.__prefix__
        self._head = self._prefix + original.callback_data.__separator__

    async def __call__(self, query: CallbackQuery) -> Literal[False] | dict[str, Any]:
        data = query.data if isinstance(query, CallbackQuery) else None
        if not data or not (data.startswith(self._head) or data == self._prefix):
            return False
        return await super().__call__(query)


def _in_loop(check: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    async def in_loop(*args: Any, **kwargs: Any) -> Any:
        return check(*args, **kwargs)

    return in_loop


def _handler_objects(router: Router) -> Iterator[HandlerObject]:
    for observer in router.observers.values():
        yield observer._handler  # the observer's own filters (`router.message.filter(...)`)
        yield from observer.handlers
    for sub_router in router.sub_routers:
        yield from _handler_objects(sub_router)


def _adapt(event_filter: FilterObject) -> None:
    if isinstance(event_filter.callback, CallbackQueryFilter) and not isinstance(
        event_filter.callback, PrefixedCallbackQueryFilter
    ):
        event_filter.callback = PrefixedCallbackQueryFilter(event_filter.callback)
    if not event_filter.awaitable:
        # The keyword arguments it is given stay those of the original (`params`, `varkw`).
        event_filter.callback = _in_loop(event_filter.callback)
        event_filter.awaitable = True


def run_filters_inline(router: Router) -> None:
    """Adapt every filter of `router` and its sub-routers, in place (see the module): call it
    once the routers are complete. Raises nothing; running it twice changes nothing more."""
    for handler in _handler_objects(router):
        for event_filter in handler.filters or ():
            _adapt(event_filter)
