"""Domain errors. Services raise them; the conversation layer turns them into text in one place."""

from __future__ import annotations

from decimal import Decimal


class DomainError(Exception):
    """Base class for every rule the product refuses to break."""


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the asker)."""


class NotAllowed(DomainError):
    """The actor may not do this (another client's appointment, not an admin, ...)."""


class SlotTaken(DomainError):
    """The time is no longer free: lost race, hold of another client, or a constraint refused."""


class SlotUnavailable(DomainError):
    """The requested start is not a bookable slot at all (closed, notice, horizon, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HoldExpired(DomainError):
    """The hold is gone and the time could not be re-taken."""


class InsufficientFunds(DomainError):
    """The wallet does not cover the charge. Nothing was written."""

    def __init__(self, price: Decimal, balance: Decimal) -> None:
        self.price = price
        self.balance = balance
        self.missing = max(price - balance, Decimal("0"))
        super().__init__(f"price {price}, balance {balance}, missing {self.missing}")


class InvalidState(DomainError):
    """The appointment (or entry) is not in a state that allows this (already cancelled, ...)."""
