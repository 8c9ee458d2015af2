"""Money and cancellation policies (docs/rules.md#money). Pure: no I/O, the clock is passed in.

Money is `Decimal` rounded to kopecks (two places, half up), the same precision the database
keeps (`numeric(12, 2)`), so what the domain computes is exactly what the ledger stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

ActorKind = Literal["client", "admin", "specialist"]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def money(value: Decimal | int | str) -> Decimal:
    """Round an amount to kopecks (half up), the precision of the ledger."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Charge:
    """What the client pays for a service: `amount` is debited, `discount` is recorded.

    `amount + discount == price` always holds, so the ledger shows what was granted.
    """

    price: Decimal
    amount: Decimal
    discount: Decimal


def apply_discount(price: Decimal, discount_percent: Decimal | int) -> Charge:
    """The charge for `price` after a per-client discount of `discount_percent` (0..100)."""
    percent = Decimal(discount_percent)
    if not ZERO <= percent <= HUNDRED:
        raise ValueError(f"discount percent {percent} is outside 0..100")
    price = money(price)
    if price < ZERO:
        raise ValueError(f"price {price} is negative")
    discount = money(price * percent / HUNDRED)
    return Charge(price=price, amount=price - discount, discount=discount)


def free_cancel_deadline(start: datetime, free_cancel_hours: int) -> datetime:
    """The last instant at which a client may still cancel for free (or reschedule)."""
    return start - timedelta(hours=free_cancel_hours)


def is_free_cancel(start: datetime, now: datetime, free_cancel_hours: int) -> bool:
    """True when `now` is MORE than `free_cancel_hours` before `start`
    (docs/rules.md#cancel-and-refunds: "more than")."""
    return now < free_cancel_deadline(start, free_cancel_hours)


def refund_amount(
    *,
    charged: Decimal,
    start: datetime,
    now: datetime,
    actor: ActorKind,
    free_cancel_hours: int,
    late_cancel_refund_percent: int,
) -> Decimal:
    """How much of `charged` goes back to the wallet when the appointment is cancelled.

    An admin or the specialist cancelling refunds everything; a client refunds everything
    when cancelling more than `free_cancel_hours` ahead, else `late_cancel_refund_percent`
    of it (rounded to kopecks, never more than was charged).
    """
    charged = money(charged)
    if charged <= ZERO:
        return ZERO
    if actor != "client" or is_free_cancel(start, now, free_cancel_hours):
        return charged
    if not 0 <= late_cancel_refund_percent <= 100:
        raise ValueError(f"refund percent {late_cancel_refund_percent} is outside 0..100")
    return min(charged, money(charged * Decimal(late_cancel_refund_percent) / HUNDRED))


def reschedule_difference(*, already_charged: Decimal, new_charge: Decimal) -> Decimal:
    """The signed ledger amount that settles a move: negative = extra debit, positive = credit
    back. Zero means nothing is written (the ledger refuses zero amounts)."""
    return money(already_charged) - money(new_charge)
