"""Matching a typed catalog name in any language: the base `name` or one of the translations
in `name_i18n` (an admin may type either). Query pieces only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select


def any_name(
    model: Any, test: Callable[[ColumnElement[str]], ColumnElement[bool]]
) -> ColumnElement[bool]:
    """True when `test` holds for the row's base name or for one of its translated names
    (`model` has `name` and `name_i18n`: a location, workplace, service or specialist)."""
    translated = func.jsonb_each_text(model.name_i18n).table_valued("key", "value")
    return or_(
        test(model.name),
        select(translated.c.value).where(test(translated.c.value)).exists(),
    )


def escape_like(text: str) -> str:
    """`text` for a LIKE pattern with `\\` as the escape character."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def name_contains(model: Any, query: str) -> ColumnElement[bool]:
    """A name of the row, in any language, contains `query` (case-insensitive)."""
    pattern = f"%{escape_like(query)}%"
    return any_name(model, lambda name: name.ilike(pattern, escape="\\"))


def name_is(model: Any, name: str) -> ColumnElement[bool]:
    """A name of the row, in any language, is `name` (case-insensitive)."""
    lowered = name.lower()
    return any_name(model, lambda column: func.lower(column) == lowered)
