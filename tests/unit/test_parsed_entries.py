"""The slot cache's parsed entries kept in memory (`bot.services.availability._parsed_entry`):
the same text is parsed once, and what is kept stays within its bound of text."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.domain.slots import SlotCandidate
from bot.services import availability
from bot.services.availability import _DayEntry, _parsed_entry

START = dt.datetime(2030, 3, 5, 7, tzinfo=dt.UTC)


def entry_text(specialist_id: int, candidates: int) -> bytes:
    hour = dt.timedelta(hours=1)
    cands = tuple(
        SlotCandidate(
            specialist_id,
            1,
            START + i * hour,
            START + (i + 1) * hour,
            START + (i + 1) * hour,
            Decimal("1000.00"),
            60,
            0,
        )
        for i in range(candidates)
    )
    entry = _DayEntry("Europe/Moscow", None, (START, START + 8 * hour), True, cands, ())
    return entry.dumps()


@pytest.fixture
def small_cache(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(availability, "_PARSED", type(availability._PARSED)())
    monkeypatch.setattr(availability, "_parsed_bytes", 0)
    bound = 4 * len(entry_text(1, 3))
    monkeypatch.setattr(availability, "_PARSED_BYTES", bound)
    return bound


def test_the_same_text_is_parsed_once(small_cache: int) -> None:
    text = entry_text(1, 3)
    first = _parsed_entry(text)
    assert first == _DayEntry.loads(text)
    assert _parsed_entry(bytes(text)) is first  # another copy of the same text


def test_the_texts_kept_stay_within_the_bound_oldest_out_first(small_cache: int) -> None:
    texts = [entry_text(i, 3) for i in range(10)]
    parsed = [_parsed_entry(t) for t in texts]
    assert sum(len(t) for t in availability._PARSED) <= small_cache
    assert availability._parsed_bytes == sum(len(t) for t in availability._PARSED)
    assert list(availability._PARSED) == texts[-4:]
    assert _parsed_entry(texts[-1]) is parsed[-1]  # kept
    again = _parsed_entry(texts[0])  # dropped: parsed anew
    assert again == parsed[0] and again is not parsed[0]


def test_an_entry_larger_than_the_bound_is_still_parsed(small_cache: int) -> None:
    big = entry_text(1, 40)
    assert len(big) > small_cache
    assert _parsed_entry(big) == _DayEntry.loads(big)
    assert list(availability._PARSED) == [big]
