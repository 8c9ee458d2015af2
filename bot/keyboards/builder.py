"""The inline keyboard builder every keyboard of the bot is drawn with.

aiogram's `InlineKeyboardBuilder.as_markup()` deep-copies its rows of pydantic buttons before
it wraps them (`export()`), so that a builder can be edited again after drawing. That copy was
most of the cost of drawing a screen: 0.6 ms for the time picker's 24 buttons against 0.2 ms
without it (docs/bench-stack.md). No keyboard here is edited after it is drawn, so the rows
are handed over as they are (the row lists copied, the buttons shared).
"""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton
from aiogram.utils.keyboard import InlineKeyboardBuilder


class KeyboardBuilder(InlineKeyboardBuilder):
    """`InlineKeyboardBuilder` whose `export()` / `as_markup()` does not deep-copy the buttons:
    a button drawn into a markup must not be changed afterwards (none is)."""

    def export(self) -> list[list[InlineKeyboardButton]]:
        return [list(row) for row in self._markup]
