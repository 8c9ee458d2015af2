"""A catalog name in the reader's language: the translation where there is one, else the base
name (an empty translation counts as none)."""

from __future__ import annotations

import pytest

from bot.domain.names import localized_name


@pytest.mark.parametrize(
    ("names", "language", "expected"),
    [
        ({"en": "Haircut"}, "en", "Haircut"),
        ({"en": "Haircut"}, "ru", "Стрижка"),
        ({"en": ""}, "en", "Стрижка"),
        ({}, "en", "Стрижка"),
        (None, "en", "Стрижка"),
        ({"en": "Haircut"}, None, "Стрижка"),
    ],
)
def test_the_translated_name_or_the_base_one(
    names: dict[str, str] | None, language: str | None, expected: str
) -> None:
    assert localized_name("Стрижка", names, language) == expected
