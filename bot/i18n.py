"""Texts: gettext catalogs with symbolic message ids (`start.greeting`), Russian and English.

The `.po` files under `bot/locales/<lang>/LC_MESSAGES/` are the source of truth; every file there
is read (each feature owns its own file, e.g. `booking.po`, `notify.po`) and merged into one
catalog per language, compiled in memory, so no `.mo` file is ever needed.

Placeholders use `str.format` syntax: `translate("start.greeting", "en", name="Ann")`.

Two ways to get a text:
- `translate(key, locale, **kwargs)` anywhere (the notification worker renders with it);
- in handlers, the `i18n` object (a `Translator`) that the i18n middleware injects, or the
  context-aware `gettext` / `_` helper, which uses the language of the update being handled.
"""

from __future__ import annotations

import gettext as _gettext
import io
import logging
from collections.abc import Iterable
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
SUPPORTED_LANGUAGES: tuple[str, ...] = ("ru", "en")
DEFAULT_LANGUAGE = "ru"

log = logging.getLogger(__name__)

# The language of the update being handled; the i18n middleware sets it.
current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LANGUAGE)


class CatalogError(RuntimeError):
    """A catalog is malformed or two files define the same message id differently."""


def normalize_language(code: str | None) -> str | None:
    """Map a Telegram `language_code` (`en-US`, `ru`) to a supported language, or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].lower()
    return base if base in SUPPORTED_LANGUAGES else None


def _merge_catalogs(locale: str, files: Iterable[Path]) -> Catalog:
    merged = Catalog(locale=locale)
    owners: dict[str, Path] = {}
    for path in files:
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        for message in catalog:
            if not message.id:
                continue  # the header entry
            key = message.id if isinstance(message.id, str) else message.id[0]
            if key in owners and merged[message.id].string != message.string:
                raise CatalogError(
                    f"{locale}: message id {key!r} is defined in both "
                    f"{owners[key].name} and {path.name} with different texts"
                )
            owners[key] = path
            merged[message.id] = message
    return merged


def load_catalog(locale: str, root: Path = LOCALES_DIR) -> Catalog:
    """Every `*.po` of one language, merged (sorted by file name so loading is deterministic)."""
    files = sorted((root / locale / "LC_MESSAGES").glob("*.po"))
    return _merge_catalogs(locale, files)


def compile_catalog(catalog: Catalog) -> _gettext.GNUTranslations:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


@cache
def _translations(locale: str) -> _gettext.GNUTranslations:
    return compile_catalog(load_catalog(locale))


def reload_catalogs() -> None:
    """Forget compiled catalogs (tests that write catalogs call this)."""
    _translations.cache_clear()


def translate(key: str, locale: str | None = None, /, **kwargs: object) -> str:
    """The text for `key` in `locale` (unknown locale -> default), formatted with `kwargs`.

    A key missing from the catalog falls back to the default language, then to the key itself,
    so a gap shows up as a visible id instead of an exception in front of a user.
    """
    lang = locale if locale in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE
    text = _translations(lang).gettext(key)
    if text == key and lang != DEFAULT_LANGUAGE:
        text = _translations(DEFAULT_LANGUAGE).gettext(key)
    if text == key:
        log.warning("missing text %r for locale %s", key, lang)
    if not kwargs:
        return text
    try:
        return text.format(**kwargs)
    except (KeyError, IndexError, ValueError):
        log.exception("cannot format text %r for locale %s", key, lang)
        return text


class Translator:
    """Texts bound to one language; handlers receive one as `i18n` (call it like a function)."""

    __slots__ = ("locale",)

    def __init__(self, locale: str) -> None:
        self.locale = locale if locale in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE

    def __call__(self, key: str, /, **kwargs: object) -> str:
        return translate(key, self.locale, **kwargs)

    def gettext(self, key: str, /, **kwargs: object) -> str:
        return translate(key, self.locale, **kwargs)

    def __repr__(self) -> str:
        return f"Translator({self.locale!r})"


def gettext(key: str, /, **kwargs: object) -> str:
    """The text for `key` in the language of the update being handled."""
    return translate(key, current_locale.get(), **kwargs)


_ = gettext
