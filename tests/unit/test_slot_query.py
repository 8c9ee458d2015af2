"""SlotQuery: the one value that says what the slot engine is asked about."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from bot.domain.types import SlotQuery
from bot.services.booking_types import BookingRequest


def test_a_query_is_a_frozen_hashable_value() -> None:
    query = SlotQuery(location_id=1, service_id=2, specialist_id=3)
    assert query == SlotQuery(1, 2, 3)
    assert len({query, SlotQuery(1, 2, 3), SlotQuery(1, 2)}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.location_id = 9  # type: ignore[misc]


def test_no_specialist_means_any() -> None:
    assert SlotQuery(1, 2).any_specialist
    assert not SlotQuery(1, 2, 3).any_specialist


def test_a_booking_request_names_its_query() -> None:
    request = BookingRequest(
        client_id=5,
        location_id=1,
        service_id=2,
        specialist_id=None,
        start=datetime(2031, 1, 1, 10, tzinfo=UTC),
        hold_id="h",
    )
    assert request.query == SlotQuery(1, 2, None)
