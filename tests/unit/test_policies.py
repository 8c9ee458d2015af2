"""Money and cancellation policies: exact kopecks, the free-cancel boundary, refund shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.policies import (
    apply_discount,
    free_cancel_deadline,
    is_free_cancel,
    money,
    refund_amount,
    reschedule_difference,
)

START = datetime(2031, 3, 4, 7, 0, tzinfo=UTC)

prices = st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2)
percents = st.decimals(min_value=0, max_value=100, places=2)


def test_money_rounds_half_up_to_kopecks() -> None:
    assert money(Decimal("10.005")) == Decimal("10.01")
    assert money(Decimal("10.004")) == Decimal("10.00")
    assert money(7) == Decimal("7.00")


def test_discount_is_recorded_and_rounded() -> None:
    charge = apply_discount(Decimal("999.99"), Decimal("15"))
    assert charge.discount == Decimal("150.00")  # 149.9985 -> 150.00
    assert charge.amount == Decimal("849.99")


@given(price=prices, percent=percents)
def test_discount_never_loses_or_invents_money(price: Decimal, percent: Decimal) -> None:
    charge = apply_discount(price, percent)
    assert charge.amount + charge.discount == price
    assert Decimal(0) <= charge.amount <= price
    assert charge.amount.as_tuple().exponent == -2


def test_discount_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        apply_discount(Decimal("100"), Decimal("101"))


def test_free_cancel_boundary_is_strict() -> None:
    deadline = free_cancel_deadline(START, 24)
    assert deadline == START - timedelta(hours=24)
    assert is_free_cancel(START, deadline - timedelta(seconds=1), 24)
    # Exactly 24 h before is no longer "more than 24 h".
    assert not is_free_cancel(START, deadline, 24)


@pytest.mark.parametrize(
    ("hours_before", "actor", "percent", "expected"),
    [
        (25, "client", 0, "1000.00"),
        (23, "client", 0, "0.00"),
        (23, "client", 50, "500.00"),
        (1, "admin", 0, "1000.00"),
        (1, "specialist", 0, "1000.00"),
    ],
)
def test_refund_share(hours_before: int, actor: str, percent: int, expected: str) -> None:
    refund = refund_amount(
        charged=Decimal("1000.00"),
        start=START,
        now=START - timedelta(hours=hours_before),
        actor=actor,  # type: ignore[arg-type]
        free_cancel_hours=24,
        late_cancel_refund_percent=percent,
    )
    assert refund == Decimal(expected)


@given(charged=prices, percent=st.integers(0, 100), hours=st.integers(0, 72))
def test_refund_never_exceeds_the_charge(charged: Decimal, percent: int, hours: int) -> None:
    refund = refund_amount(
        charged=charged,
        start=START,
        now=START - timedelta(hours=hours),
        actor="client",
        free_cancel_hours=24,
        late_cancel_refund_percent=percent,
    )
    assert Decimal(0) <= refund <= charged


def test_reschedule_difference_sign() -> None:
    assert reschedule_difference(already_charged=Decimal("1000"), new_charge=Decimal("1500")) == (
        Decimal("-500.00")
    )
    assert reschedule_difference(already_charged=Decimal("1000"), new_charge=Decimal("800")) == (
        Decimal("200.00")
    )
    assert reschedule_difference(already_charged=Decimal("1000"), new_charge=Decimal("1000")) == 0
