"""Telegram Payments invoices for wallet top-ups: amounts in minor units and a signed payload.

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
    client_id: int
    amount_minor: int
    currency: str


def _signature(secret: str, client_id: int, amount_minor: int, currency: str) -> str:
    key = hashlib.sha256(b"wallet-topup:" + secret.encode()).digest()
    message = f"{client_id}:{amount_minor}:{currency.upper()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def make_payload(secret: str, payload: TopUpPayload) -> str:
    """`topup:<client>:<minor>:<currency>:<sig>`: well under Telegram's 128-byte limit."""
    sig = _signature(secret, payload.client_id, payload.amount_minor, payload.currency)
    return (
        f"{PAYLOAD_PREFIX}:{payload.client_id}:{payload.amount_minor}:"
        f"{payload.currency.upper()}:{sig}"
    )


def parse_payload(secret: str, raw: str) -> TopUpPayload | None:
    """The payload if it is one this bot signed, else None (never raises)."""
    parts = raw.split(":")
    if len(parts) != 5 or parts[0] != PAYLOAD_PREFIX:
        return None
    _, client_raw, amount_raw, currency, sig = parts
    if not (client_raw.isdigit() and amount_raw.isdigit()):
        return None
    client_id, amount_minor = int(client_raw), int(amount_raw)
    expected = _signature(secret, client_id, amount_minor, currency)
    if not hmac.compare_digest(expected, sig):
        return None
    return TopUpPayload(client_id=client_id, amount_minor=amount_minor, currency=currency)


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
