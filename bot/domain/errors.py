"""Domain errors. Services raise them; the conversation layer turns them into text in one place.

`NotAllowed`, `InvalidState` and `SlotTaken` carry a `reason` from a StrEnum: code tells errors
apart by `exc.reason is NotAllowedReason.TOO_LATE`, never by the message. `str(exc)` is the
reason's value (plus a detail after a colon when one is given), so a reason compared as text
still matches. `SlotUnavailable.reason` is the slot engine's refusal (`bot.domain.slots.Reason`
or a date refusal), also a StrEnum value.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class DomainError(Exception):
    """Base class for every rule the product refuses to break."""


class NotAllowedReason(StrEnum):
    NOT_ADMIN = "not_admin"  # an admin action by someone who is not an admin
    NOT_YOURS = "not_yours"  # another client's (or specialist's) appointment or entry
    NOT_YOUR_BOOKING = "not_your_booking"  # another client confirmed with this hold id
    TOO_LATE = "too_late"  # a client's move after the free-cancel deadline
    ALREADY_STARTED = "already_started"  # a client's cancel once the appointment started
    CLIENTS_CANNOT_MARK = "clients_cannot_mark"
    AMOUNT_NOT_POSITIVE = "amount_not_positive"
    AMOUNT_ZERO = "amount_zero"
    DISCOUNT_OUT_OF_RANGE = "discount_out_of_range"
    PERMANENT_ADMIN = "permanent_admin"  # an ADMIN_IDS admin cannot be removed in the bot
    CLIENT_BLOCKED = "client_blocked"  # an admin blocked this client: no booking
    ADMIN_ONLY = "admin_only"  # e.g. moving to another specialist or workplace
    NO_CHAT = "no_chat"  # a client without Telegram: no waitlist offer could reach them


class InvalidStateReason(StrEnum):
    NOT_BOOKED = "not_booked"
    NOT_UPCOMING = "not_upcoming"
    NOT_STARTED = "not_started"  # a mark before the appointment's start
    UNDO_TOO_LATE = "undo_too_late"  # undoing a mark after the appointment's day
    UNKNOWN_STATUS = "unknown_status"
    CHANGED_MEANWHILE = "changed_meanwhile"
    ALREADY_CANCELLED = "already_cancelled"
    ALREADY_REFUNDED = "already_refunded"
    NO_OFFER = "no_offer"
    OFFER_EXPIRED = "offer_expired"
    NOT_WAITING = "not_waiting"
    RETRY_JOIN = "retry_join"


class SlotTakenReason(StrEnum):
    NO_FREE_PAIR = "no_free_pair"  # no specialist and workplace free at this time
    HELD = "held"  # another client holds it
    JUST_TAKEN = "just_taken"  # lost the race under the lock
    AT_CAPACITY = "at_capacity"  # the location's cap of parallel appointments
    REFUSED_BY_DATABASE = "refused_by_database"  # an exclusion constraint refused the row
    PRICE_CHANGED = "price_changed"  # only a pair at another price than the quoted one is free


def _message(reason: StrEnum, detail: str | None) -> str:
    return str(reason) if detail is None else f"{reason}: {detail}"


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the asker)."""


class NotAllowed(DomainError):
    """The actor may not do this (another client's appointment, not an admin, ...)."""

    def __init__(self, reason: NotAllowedReason, detail: str | None = None) -> None:
        super().__init__(_message(reason, detail))
        self.reason = reason


class SlotTaken(DomainError):
    """The time is no longer free: lost race, hold of another client, or a constraint refused."""

    def __init__(
        self, reason: SlotTakenReason = SlotTakenReason.JUST_TAKEN, detail: str | None = None
    ) -> None:
        super().__init__(_message(reason, detail))
        self.reason = reason


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

    def __init__(self, reason: InvalidStateReason, detail: str | None = None) -> None:
        super().__init__(_message(reason, detail))
        self.reason = reason


class InputProblem(StrEnum):
    """Why an admin's typed value was refused (the reply names the rule)."""

    AMOUNT_FORMAT = "amount_format"
    AMOUNT_NOT_POSITIVE = "amount_not_positive"
    AMOUNT_ZERO = "amount_zero"
    AMOUNT_DECIMALS = "amount_decimals"
    AMOUNT_TOO_LARGE = "amount_too_large"
    PERCENT_RANGE = "percent_range"
    DATE_FORMAT = "date_format"
    TEXT_EMPTY = "text_empty"  # a comment (the default of `check_text`)
    NAME_EMPTY = "name_empty"
    REASON_EMPTY = "reason_empty"
    NOTES_EMPTY = "notes_empty"
    TEXT_TOO_LONG = "text_too_long"
    PHONE_INVALID = "phone_invalid"
    TG_ID = "tg_id"  # not a Telegram user id (a whole number 1..2^53)
    # Catalog and schedule values (bot.domain.catalog_input).
    TIME_FORMAT = "time_format"
    HOURS_ORDER = "hours_order"
    MINUTES_RANGE = "minutes_range"
    WHOLE_NUMBER = "whole_number"
    TIMEZONE_UNKNOWN = "timezone_unknown"
    NAME_TAKEN = "name_taken"
    WORKPLACE_UNKNOWN = "workplace_unknown"
    WORKPLACE_PINNED = "workplace_pinned"  # a move while specialists' schedules pin it


class InvalidInput(DomainError):
    """A typed value breaks an input rule (`reason`); `limit` is the bound when there is one."""

    def __init__(self, reason: InputProblem, limit: int | Decimal | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.limit = limit


class AccessDenied(NotAllowed):
    """The admin area refused: not an admin (checked on the server for every action), an
    `ADMIN_IDS` admin cannot be removed, or a blocked client tried to book."""

    def __init__(self, reason: NotAllowedReason) -> None:
        super().__init__(reason)


class InviteProblem(StrEnum):
    FORGED = "forged"
    USED = "used"
    EXPIRED = "expired"
    SPECIALIST_INACTIVE = "specialist_inactive"
    ACCOUNT_TAKEN = "account_taken"


class InviteRejected(DomainError):
    """A specialist invite token cannot be redeemed; nothing was changed."""

    def __init__(self, reason: InviteProblem) -> None:
        super().__init__(reason.value)
        self.reason = reason
