"""Expected money texts for tests: roubles as Russian and English readers write them, spelled
out here by hand rather than through Babel, so a screen that skips `bot.formats.money` (or
passes the wrong language) fails.

- Russian: `1 800 ₽`, `1 800,50 ₽`, `-5 000 ₽` (no-break spaces between groups and before the
  sign, a decimal comma);
- English: `₽1,800`, `₽1,800.50`, `-₽5,000`.

Two decimals only when the amount is not whole.
"""

from __future__ import annotations

from decimal import Decimal

NBSP = "\xa0"


def rub(amount: Decimal | int | str, lang: str) -> str:
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    minus = "-" if value < 0 else ""
    digits = f"{abs(value):,.0f}" if value == value.to_integral_value() else f"{abs(value):,.2f}"
    if lang == "en":
        return f"{minus}₽{digits}"
    grouped = digits.replace(",", NBSP).replace(".", ",")
    return f"{minus}{grouped}{NBSP}₽"
