"""Catalog names in a reader's language: a location, workplace, service or specialist has a
base `name` and optional translations (`name_i18n`, `{"en": "Haircut"}`). Every screen, notice,
chart and report that shows a name to a person picks it here."""

from __future__ import annotations

from collections.abc import Mapping


def localized_name(base: str, names: Mapping[str, str] | None, language: str | None) -> str:
    """The name in `language` when a translation exists, the base name otherwise."""
    if not language or not names:
        return base
    return names.get(language) or base
