"""`bot.ops.inline_filters`: every filter of the bot's routers runs in the event loop, and
a button filter with its prefix check answers exactly as aiogram's own."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import F, Router
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.types import CallbackQuery, Chat, Message, User

from bot.handlers import setup_routers
from bot.keyboards.booking import BookAction, BookCb, BookStep
from bot.ops.inline_filters import (
    ButtonGate,
    DataPrefix,
    PrefixedCallbackQueryFilter,
    gate_buttons_by_prefix,
    run_filters_inline,
)

USER = User(id=1, is_bot=False, first_name="Ann")
MESSAGE = Message(message_id=1, date=datetime.now(UTC), chat=Chat(id=1, type="private"), text="x")


def filters_of(router: Router) -> Iterator[FilterObject]:
    for observer in router.observers.values():
        for handler in [observer._handler, *observer.handlers]:
            yield from handler.filters or ()
    for sub_router in router.sub_routers:
        yield from filters_of(sub_router)


def button_filters() -> list[CallbackQueryFilter]:
    return [
        f.callback
        for f in filters_of(setup_routers())
        if isinstance(f.callback, CallbackQueryFilter)
    ]


def press(data: str | None) -> CallbackQuery:
    return CallbackQuery(id="1", from_user=USER, chat_instance="c", data=data, message=MESSAGE)


def data_corpus(filters: list[CallbackQueryFilter]) -> list[str | None]:
    """Data of every kind of button in the bot, well and badly formed, plus strangers."""
    values = ["0", "1", "ok", "pick", "d", "c", "abcd1234", "", "-5", "x:y"]
    out: list[str | None] = [None, "", ":", "zz", "zz:1:2"]
    for kind in {f.callback_data for f in filters}:
        prefix, sep = kind.__prefix__, kind.__separator__
        fields = len(kind.model_fields)
        out += [prefix, prefix + sep, prefix + "x" + sep + "1", "x" + prefix + sep + "1"]
        for count in {max(fields - 1, 0), fields, fields + 1}:
            for combo in itertools.islice(itertools.product(values, repeat=count), 0, 3000, 41):
                out.append(sep.join([prefix, *combo]))
    return out


def test_every_filter_of_the_bot_runs_in_the_loop() -> None:
    root = setup_routers()
    assert any(not f.awaitable for f in filters_of(root))  # what there is to adapt
    run_filters_inline(root)
    adapted = list(filters_of(root))
    assert adapted and all(f.awaitable for f in adapted)
    assert all(
        isinstance(f.callback, PrefixedCallbackQueryFilter)
        for f in adapted
        if isinstance(f.callback, CallbackQueryFilter)
    )


async def test_button_filters_answer_as_aiogram_s_own() -> None:
    filters = button_filters()
    corpus = data_corpus(filters)
    assert len(filters) > 30 and len(corpus) > 1000
    matched = 0
    for original in filters:
        prefixed = PrefixedCallbackQueryFilter(original)
        for data in corpus:
            query = press(data)
            expected = await original(query)
            assert await prefixed(query) == expected, (original.callback_data, data)
            matched += expected is not False
    assert matched > 0  # the corpus reaches real buttons too


async def test_a_filter_run_inline_gives_the_same_answer_without_a_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    router = Router()

    async def handler(query: CallbackQuery) -> None:
        return None

    router.callback_query.register(handler, F.data.startswith("bk:"))
    [before] = list(filters_of(router))
    originals = [await before.call(press(d)) for d in ("bk:1", "bn:1", None)]

    def no_thread(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a filter went to a thread")

    run_filters_inline(router)
    run_filters_inline(router)  # twice: nothing more changes
    monkeypatch.setattr(asyncio, "to_thread", no_thread)
    [after] = list(filters_of(router))
    assert [await after.call(press(d)) for d in ("bk:1", "bn:1", None)] == originals
    assert originals[0] and not originals[1]


def gates_of(router: Router) -> list[ButtonGate]:
    return [
        f.callback
        for f in router.callback_query._handler.filters or ()
        if isinstance(f.callback, ButtonGate)
    ]


def routers_of(router: Router) -> Iterator[Router]:
    yield router
    for sub_router in router.sub_routers:
        yield from routers_of(sub_router)


async def first_taker(router: Router, query: CallbackQuery, tried: list[str]) -> str | None:
    """The handler aiogram would pick for `query` (the first, in the routers' order, whose
    filters all pass, behind the routers' own filters); `tried` gets every handler checked."""
    for root_filter in router.callback_query._handler.filters or ():
        if not await root_filter.call(query):
            return None
    for handler in router.callback_query.handlers:
        tried.append(handler.callback.__name__)
        if all([await f.call(query) for f in handler.filters or ()]):
            return f"{router.name}.{handler.callback.__name__}"
    for sub_router in router.sub_routers:
        found = await first_taker(sub_router, query, tried)
        if found is not None:
            return found
    return None


def test_every_router_but_those_around_the_stale_button_handler_is_gated() -> None:
    root = setup_routers()
    gate_buttons_by_prefix(root)
    gate_buttons_by_prefix(root)  # twice: one gate each
    ungated = {r.name for r in routers_of(root) if not gates_of(r)}
    assert ungated == {"handlers", "fallback"}  # the fallback takes any button
    assert all(len(gates_of(r)) <= 1 for r in routers_of(root))
    [booking] = [r for r in routers_of(root) if r.name == "booking"]
    assert gates_of(booking)[0].prefixes == {"bk", "bn", "wlt", "menu", "appt"}


async def test_gated_routers_give_every_button_to_the_same_handler() -> None:
    """The handlers' button filters (`CallbackQueryFilter`, `DataPrefix`) are the only
    filters of the bot's button handlers, so the pick can be worked out without the
    dispatcher: with and without the gates, every kind of button, well and badly formed, goes
    to the same handler (or to none)."""
    plain, gated = setup_routers(), setup_routers()
    gate_buttons_by_prefix(gated)
    for router in (plain, gated):
        run_filters_inline(router)
    corpus = data_corpus(button_filters())
    taken = 0
    for data in corpus:
        query = press(data)
        expected = await first_taker(plain, query, [])
        assert await first_taker(gated, query, []) == expected, data
        taken += expected is not None and not expected.startswith("fallback.")
    assert taken > 100  # the corpus reaches real buttons of many kinds


async def test_a_booking_press_is_checked_only_by_the_booking_handlers() -> None:
    """Before the gates, a booking button was tried against 21 handlers of other features
    first (common, notifications, the admin desk)."""
    root = setup_routers()
    gate_buttons_by_prefix(root)
    run_filters_inline(root)
    data = BookCb(flow="abcd1234", step=BookStep.TIME, action=BookAction.PICK, value=5).pack()
    tried: list[str] = []
    assert await first_taker(root, press(data), tried) == "booking.on_pick"
    [booking] = [r for r in routers_of(root) if r.name == "booking"]
    assert set(tried) <= {h.callback.__name__ for h in booking.callback_query.handlers}


async def test_data_prefix_takes_what_startswith_takes() -> None:
    check = DataPrefix.of(BookCb)
    for data in (None, "", "bk", "bk:", "bk:1", "bkx:1", "xbk:1", "bn:1"):
        query = press(data)
        assert await check(query) == (data is not None and data.startswith("bk:")), data


def test_data_prefix_refuses_a_prefix_holding_its_separator() -> None:
    for prefix, separator in (("a:b", ":"), ("", ":"), ("bk", "")):
        with pytest.raises(ValueError):
            DataPrefix(prefix, separator)
