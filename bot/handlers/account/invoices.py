"""Telegram Payments invoices: amounts in minor units and a signed payload.

Two kinds: a wallet top-up, and the missing amount of a booking (pay at checkout), which also
names the booking flow it pays for. Either way the money is credited to the wallet; a booking
payment then confirms that flow's booking.

The payload names the client and the amount and is signed with a key derived from the bot
token, so a pre-checkout query or a successful payment is accepted only for the invoice this bot
issued to that very client for that very amount.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from decimal import Decimal

PAYLOAD_PREFIX = "topup"
BOOKING_PREFIX = "book"

# Telegram amounts are integers in the currency's smallest unit; most currencies have two
# decimals, these have none (Telegram's currencies.json "exp": 0).
_ZERO_DECIMAL = frozenset({"CLP", "COP", "HUF", "IDR", "ISK", "JPY", "KRW", "PYG", "UGX", "VND"})


def currency_exponent(currency: str) -> int:
    return 0 if currency.upper() in _ZERO_DECIMAL else 2


def to_minor(amount: Decimal | int, currency: str) -> int:
    return int(Decimal(amount).scaleb(currency_exponent(currency)).to_integral_value())


def from_minor(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-currency_exponent(currency)).quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class TopUpPayload:
    """`flow` is the booking flow token a pay-at-checkout invoice pays for (None: a top-up)."""

    client_id: int
    amount_minor: int
    currency: str
    flow: str | None = None


def _signature(
    secret: str, client_id: int, amount_minor: int, currency: str, flow: str | None
) -> str:
    key = hashlib.sha256(b"wallet-topup:" + secret.encode()).digest()
    message = f"{client_id}:{amount_minor}:{currency.upper()}"
    if flow is not None:
        message = f"{message}:{flow}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:32]


def make_payload(secret: str, payload: TopUpPayload) -> str:
    """`topup:<client>:<minor>:<currency>:<sig>`, or for a booking
    `book:<client>:<minor>:<currency>:<flow>:<sig>`: well under Telegram's 128-byte limit."""
    sig = _signature(
        secret, payload.client_id, payload.amount_minor, payload.currency, payload.flow
    )
    head = f"{payload.client_id}:{payload.amount_minor}:{payload.currency.upper()}"
    if payload.flow is None:
        return f"{PAYLOAD_PREFIX}:{head}:{sig}"
    return f"{BOOKING_PREFIX}:{head}:{payload.flow}:{sig}"


def parse_payload(secret: str, raw: str) -> TopUpPayload | None:
    """The payload if it is one this bot signed, else None (never raises)."""
    parts = raw.split(":")
    flow: str | None = None
    if len(parts) == 5 and parts[0] == PAYLOAD_PREFIX:
        _, client_raw, amount_raw, currency, sig = parts
    elif len(parts) == 6 and parts[0] == BOOKING_PREFIX:
        _, client_raw, amount_raw, currency, flow, sig = parts
    else:
        return None
    if not (
        f"{client_raw}{amount_raw}".isascii() and client_raw.isdigit() and amount_raw.isdigit()
    ):
        return None
    client_id, amount_minor = int(client_raw), int(amount_raw)
    expected = _signature(secret, client_id, amount_minor, currency, flow)
    if not hmac.compare_digest(expected, sig):
        return None
    return TopUpPayload(
        client_id=client_id, amount_minor=amount_minor, currency=currency, flow=flow
    )


def is_booking_payload(raw: str) -> bool:
    """True for a pay-at-checkout payload (the booking conversation completes it)."""
    return raw.startswith(BOOKING_PREFIX + ":")


def check_payment(
    secret: str,
    raw_payload: str,
    *,
    client_id: int | None,
    total_amount: int,
    currency: str,
    expected_currency: str,
) -> TopUpPayload | None:
    """The payload when the payment matches the invoice issued to `client_id`, else None."""
    payload = parse_payload(secret, raw_payload)
    if payload is None or client_id is None or payload.client_id != client_id:
        return None
    if payload.amount_minor != total_amount or payload.amount_minor <= 0:
        return None
    if currency.upper() != payload.currency or payload.currency != expected_currency.upper():
        return None
    return payload
