"""A refusal whose reason has its own text says that reason, in the client, specialist and admin
areas alike (a visit marked before it started is not "the appointment has changed")."""

from __future__ import annotations

import pytest

from bot.domain.errors import InvalidState, InvalidStateReason
from bot.handlers.admin.render import refusal_text
from bot.handlers.errors import domain_text_key
from bot.i18n import Translator


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ru", "Отметить визит можно только после начала записи."),
        ("en", "A visit can be marked only after the appointment has started."),
    ],
)
def test_a_mark_before_the_start_says_so(lang: str, expected: str) -> None:
    i18n = Translator(lang)
    too_early = InvalidState(InvalidStateReason.NOT_STARTED)
    assert domain_text_key(too_early) == "errors.not_started"
    assert refusal_text(too_early, i18n) == expected


def test_other_state_refusals_keep_their_kinds_text() -> None:
    changed = InvalidState(InvalidStateReason.CHANGED_MEANWHILE)
    assert domain_text_key(changed) == "errors.invalid_state"
    assert refusal_text(changed, Translator("en")) is None
