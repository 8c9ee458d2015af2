"""Override order of duration, price and break (SPEC 3)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.domain.pricing import ServiceTerms, SpecialistLink, Terms, WorkplaceLink, resolve_terms

SERVICE = ServiceTerms(1, duration_min=60, break_min=10, price=Decimal("1000"))


@pytest.mark.parametrize(
    ("workplace", "specialist", "expected"),
    [
        (WorkplaceLink(1), SpecialistLink(1), Terms(60, 10, Decimal("1000"))),
        (
            WorkplaceLink(1, price=Decimal("1200"), duration_min=45, break_min=5),
            SpecialistLink(1),
            Terms(45, 5, Decimal("1200")),
        ),
        (
            WorkplaceLink(1, price=Decimal("1200"), duration_min=45, break_min=5),
            SpecialistLink(1, custom_price=Decimal("800"), custom_duration=30),
            Terms(30, 5, Decimal("800")),
        ),
        (
            WorkplaceLink(1),
            SpecialistLink(1, custom_price=Decimal("0"), custom_duration=None),
            Terms(60, 10, Decimal("0")),  # a zero custom price is a price, not "unset"
        ),
        (WorkplaceLink(1, break_min=0), SpecialistLink(1), Terms(60, 0, Decimal("1000"))),
    ],
)
def test_override_order(
    workplace: WorkplaceLink, specialist: SpecialistLink, expected: Terms
) -> None:
    assert resolve_terms(SERVICE, workplace, specialist) == expected
