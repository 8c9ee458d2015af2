"""Handler filters checked in the event loop, button filters that skip foreign buttons
without parsing them, and routers that skip foreign buttons at once.

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
  comparison; the filter's answer is the same;
- a router still tries each of its handlers (and its nested routers') in turn, each try
  copying the update's keyword arguments, for a button none of them takes: a booking press
  passed 21 handlers of other features first. `gate_buttons_by_prefix` gives each router
  whose every button handler names its buttons' prefix one check of the prefix in front of
  them all (`ButtonGate`); a router with a handler of any button (the fallback for stale
  buttons) stays ungated, and so the routers around it. Which handler takes a button does
  not change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Literal

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject
from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
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


class DataPrefix(Filter):
    """Passes a pressed button whose data starts with `prefix` and `separator` (as
    `F.data.startswith(prefix + separator)`), saying which buttons it takes so that its router
    can be gated (`gate_buttons_by_prefix`): for the handlers of data of a kind that its button
    filter cannot parse (a stale or forged button)."""

    def __init__(self, prefix: str, separator: str = ":") -> None:
        if not prefix or not separator or separator in prefix:
            # As aiogram's button data: the prefix is what comes before the first separator.
            raise ValueError(f"a prefix without its separator, not {prefix!r} / {separator!r}")
        self.prefix = prefix
        self.separator = separator
        self._head = prefix + separator

    @classmethod
    def of(cls, kind: type[CallbackData]) -> DataPrefix:
        """The data of `kind`'s buttons, parsable or not."""
        return cls(kind.__prefix__, kind.__separator__)

    async def __call__(self, query: CallbackQuery) -> bool:
        data = query.data if isinstance(query, CallbackQuery) else None
        return data is not None and data.startswith(self._head)


class ButtonGate(Filter):
    """A router's filter of pressed buttons: passes only data whose part before `separator` is
    one of `prefixes` (each the prefix of buttons some handler of the router takes)."""

    def __init__(self, prefixes: frozenset[str], separator: str) -> None:
        self.prefixes = prefixes
        self.separator = separator

    async def __call__(self, query: CallbackQuery) -> bool:
        data = query.data if isinstance(query, CallbackQuery) else None
        return data is not None and data.partition(self.separator)[0] in self.prefixes


def _button_prefix(handler: HandlerObject) -> tuple[str, str] | None:
    """(prefix, separator) of the buttons `handler` takes, from its button filter or its
    `DataPrefix`; None when it names none (it may take any button)."""
    for event_filter in handler.filters or ():
        check = event_filter.callback
        if isinstance(check, CallbackQueryFilter):
            return check.callback_data.__prefix__, check.callback_data.__separator__
        if isinstance(check, DataPrefix):
            return check.prefix, check.separator
    return None


def _gate(router: Router) -> set[tuple[str, str]] | None:
    """Gate `router`'s nested routers, then `router` itself where it can be; the (prefix,
    separator) pairs of every button `router` takes, or None when it may take any button."""
    taken: set[tuple[str, str]] | None = set()
    for sub_router in router.sub_routers:
        found = _gate(sub_router)
        taken = None if taken is None or found is None else taken | found
    for handler in router.callback_query.handlers:
        prefix = _button_prefix(handler)
        taken = None if taken is None or prefix is None else taken | {prefix}
    if taken is None:
        return None
    separators = {separator for _, separator in taken}
    if len(separators) <= 1 and not any(
        isinstance(f.callback, ButtonGate) for f in router.callback_query._handler.filters or ()
    ):
        separator = separators.pop() if separators else ":"
        router.callback_query.filter(ButtonGate(frozenset(p for p, _ in taken), separator))
    return taken


def gate_buttons_by_prefix(router: Router) -> None:
    """Put a `ButtonGate` on `router` and on each of its nested routers whose every button
    handler (nested routers' included) names the prefix of its buttons (a button filter, or
    `DataPrefix`), in place; call it once the routers are complete. The gate goes after any
    button filter the router already has of its own; a router that has its gate already is
    left alone. Which handler takes a button does not change: a gate refuses only data whose
    prefix no handler of its router (nested routers included) takes. An outer middleware of
    buttons on a nested router no longer sees the buttons its parent's gate refuses (the bot
    has none)."""
    _gate(router)


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
