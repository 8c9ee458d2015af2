"""One way to write dates, times, time zones and money on every screen, per language.

Formats come from the CLDR data shipped with Babel (`babel.dates`, `babel.numbers`) rather than
hand-written patterns, so weekday and month abbreviations, digit grouping, decimal signs and the
currency's place are each language's own. The only texts of our own are "Today", "Tomorrow" and
the phrase around a time zone's name (the `formats.po` catalogs).

- `money(Decimal("1800"), "RUB", "ru")` -> `1 800 ₽`; in English `₽1,800`; two decimals only when
  the amount is not whole (`1 800,50 ₽`, `₽1,800.50`). The sign is the currency's narrow symbol
  (the one its home country writes) when the language's own symbol is just the ISO code.
- `day(date(2026, 12, 2), "en")` -> `Wed 2 Dec`; `ru` -> `ср, 2 дек.`; with `today` given, the
  day itself is `Today` / `Сегодня` and the next one `Tomorrow` / `Завтра`.
- `hhmm(instant, tz)` -> `16:30`: 24-hour, in the location's zone.
- `day_time(instant, tz, lang, today=...)` -> `Today 16:30`, `Wed 2 Dec 10:00`.
- `zone_note(zones, home, lang)` -> `Moscow Time` / `время: Москва`, or "" when every time on the
  screen is in `home` (the client's own zone): a screen names its zone once, and only when it
  could be misread (docs/rules.md#time-zones).

Pure functions of their arguments: the clock (`today`) is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date, format_skeleton, get_timezone_name
from babel.numbers import format_currency, get_currency_symbol

from bot.i18n import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES, translate

CENT = Decimal("0.01")
FAR_DAYS = 183  # a date further than this from today names its year

# The CLDR locale behind each language: British English writes the day before the month
# ("Wed 2 Dec"), as `DD.MM` buttons and Russian do.
CLDR_LOCALES = {"ru": "ru", "en": "en_GB"}


def _lang(lang: str | None) -> str:
    return lang if lang in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def _locale(lang: str | None) -> str:
    return CLDR_LOCALES[_lang(lang)]


@cache
def narrow_symbol(currency: str) -> str:
    """The sign the currency's own country writes (`RUB` -> `₽`, `USD` -> `$`), or the code
    when no locale has a shorter sign for it."""
    territories: Mapping[str, list[tuple[str, object, object, bool]]]
    territories = get_global("territory_currencies")
    languages: Mapping[str, dict[str, dict[str, Any]]] = get_global("territory_languages")
    for territory, currencies in sorted(territories.items()):
        current = [c[0] for c in currencies if c[2] is None and c[3]]
        if currency not in current[:1]:
            continue
        spoken = languages.get(territory, {})
        by_speakers = sorted(spoken.items(), key=lambda kv: -kv[1].get("population_percent", 0))
        official = [lang for lang, info in by_speakers if info.get("official_status")]
        for lang in official:
            try:
                symbol = get_currency_symbol(currency, Locale(lang, territory))
            except (UnknownLocaleError, ValueError):
                continue
            if symbol != currency:
                return symbol
    return currency


# Babel's formatting costs tens of microseconds a call, and a screen shows dozens of prices and
# dates out of a few hundred distinct ones: the texts are kept (pure functions of arguments).
_FORMATTED = 4096


@lru_cache(maxsize=_FORMATTED)
def money(amount: Decimal | int | str, currency: str, lang: str | None) -> str:
    """The amount with the language's digit grouping and the currency's sign in its place;
    two decimals only when not whole. An amount that is not a number is shown as given."""
    try:
        value = Decimal(str(amount)).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return f"{amount} {currency}"
    locale = Locale.parse(_locale(lang))
    pattern = locale.currency_formats["standard"].pattern
    if value == value.to_integral_value():
        pattern = pattern.replace(".00", "")
    text = format_currency(value, currency, format=pattern, locale=locale, currency_digits=False)
    own = get_currency_symbol(currency, locale)
    if own == currency:
        sign = narrow_symbol(currency)
        if sign != currency:
            text = text.replace(currency, sign).replace("\xa0" + sign, sign)
    return text


def money_from(amount: Decimal | int | str, currency: str, lang: str | None) -> str:
    """`from 1 800 ₽`: the lowest of several prices."""
    return translate("formats.from", _lang(lang), price=money(amount, currency, lang))


def count(n: int, key: str, lang: str | None) -> str:
    """`n` with the noun of the catalog entry `key.<plural form>` (CLDR plural rules:
    `one`/`other` in English, `one`/`few`/`many`/`other` in Russian): `3 appointments`,
    `3 записи`, `5 записей`. The entry's text has a `{n}` placeholder."""
    form = Locale.parse(_locale(lang)).plural_form(n)
    return translate(f"{key}.{form}", _lang(lang), n=n)


def weekday(day: date, lang: str | None) -> str:
    """The weekday's abbreviation: `Wed`, `ср`."""
    return format_date(day, "EEE", locale=_locale(lang))


@lru_cache(maxsize=_FORMATTED)
def day(value: date, lang: str | None, *, today: date | None = None) -> str:
    """`Today`, `Tomorrow` (when `today` is given), else `Wed 2 Dec` / `ср, 2 дек.`; a date
    more than half a year away from `today` also names the year (`Sat, 2 Jan 2027`)."""
    if today is not None:
        if value == today:
            return translate("formats.today", _lang(lang))
        if value == today + timedelta(days=1):
            return translate("formats.tomorrow", _lang(lang))
    far = today is not None and abs((value - today).days) > FAR_DAYS
    skeleton = "yMMMEd" if far else "MMMEd"
    return format_skeleton(skeleton, value, locale=_locale(lang))


def hhmm(instant: datetime, tz: ZoneInfo | str) -> str:
    """The wall-clock time in `tz`, 24-hour: `09:05`, `16:30`."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return instant.astimezone(zone).strftime("%H:%M")


def day_time(
    instant: datetime, tz: ZoneInfo | str, lang: str | None, *, today: date | None = None
) -> str:
    """`Today 16:30`, `Wed 2 Dec 10:00` in `tz`."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    local = instant.astimezone(zone)
    return f"{day(local.date(), lang, today=today)} {hhmm(local, zone)}"


def zone_name(tz: ZoneInfo | str, lang: str | None) -> str:
    """The zone in words: `Moscow Time` / `время: Москва`."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    name = get_timezone_name(zone, "long", zone_variant="generic", locale=_locale(lang))
    return translate("formats.zone", _lang(lang), zone=name)


def zone_note(
    zones: Iterable[ZoneInfo | str], home: ZoneInfo | str | None, lang: str | None
) -> str:
    """The zone to name once on a screen whose times are in `zones`: "" when they all are in
    `home` (the client's own zone), else the zone of the screen's times in words; a screen
    whose times span several zones names none here (each time then carries its own note)."""
    keys = {str(z) for z in zones}
    if not keys or (home is not None and keys == {str(home)}):
        return ""
    if len(keys) > 1:
        return ""
    return zone_name(next(iter(keys)), lang)


def today_in(tz: ZoneInfo | str, now: datetime) -> date:
    """The local date of `now` in `tz` (what "Today" means on a screen of that location)."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return now.astimezone(zone).date()
