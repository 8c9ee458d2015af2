"""Expected date texts for tests, spelled out here by hand rather than through Babel (as
`tests/money.py` does for money), so a screen that skips `bot.formats.day` (or passes the wrong
language) fails.

- English (British order): `Mon 3 Mar`, `Sun 16 Mar`;
- Russian: `пн, 3 мар.`, `вс, 16 мар.` (weekday, comma, the month's genitive abbreviation).

Dates within half a year of the screen's today; the year is not written.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

WEEKDAYS = {
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    "ru": ["пн", "вт", "ср", "чт", "пт", "сб", "вс"],
}
MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sept", "Oct", "Nov", "Dec"],
    "ru": [
        "янв.",
        "февр.",
        "мар.",
        "апр.",
        "мая",
        "июн.",
        "июл.",
        "авг.",
        "сент.",
        "окт.",
        "нояб.",
        "дек.",
    ],
}


def day(value: date | datetime, lang: str, zone: ZoneInfo | None = None) -> str:
    """`Mon 3 Mar` / `пн, 3 мар.`; an instant is read in `zone` first."""
    if isinstance(value, datetime):
        value = value.astimezone(zone).date() if zone is not None else value.date()
    weekday, month = WEEKDAYS[lang][value.weekday()], MONTHS[lang][value.month - 1]
    if lang == "en":
        return f"{weekday} {value.day} {month}"
    return f"{weekday}, {value.day} {month}"
