"""Catalog completeness: every text key used in `bot/` exists and is non-empty in both languages,
both catalogs have the same keys, and their placeholders match."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from bot import i18n
from bot.i18n import (
    SUPPORTED_LANGUAGES,
    CatalogError,
    Translator,
    load_catalog,
    normalize_language,
    translate,
)

BOT_DIR = Path(i18n.__file__).resolve().parent
# Call names that take a message id as their first argument.
TRANSLATING_CALLS = {"_", "__", "t", "tr", "i18n", "translate", "gettext", "lazy_gettext"}


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def used_keys() -> dict[str, list[str]]:
    """Literal keys passed to translating calls anywhere in `bot/` -> where they are used."""
    keys: dict[str, list[str]] = {}
    for path in sorted(BOT_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _call_name(node) not in TRANSLATING_CALLS:
                continue
            if not node.args:
                continue
            where = f"{path.relative_to(BOT_DIR.parent)}:{node.lineno}"
            for key in _literal_keys(node.args[0]):
                keys.setdefault(key, []).append(where)
    return keys


def _literal_keys(node: ast.expr) -> list[str]:
    """`"a.b"` -> ["a.b"]; `"a" if c else "b"` -> both; anything computed -> [] (the dynamic
    key families are checked one by one in `test_dynamic_key_families`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literal_keys(node.body) + _literal_keys(node.orelse)
    return []


def catalog_texts(locale: str) -> dict[str, str]:
    texts = {}
    for message in load_catalog(locale):
        if message.id:
            key = message.id if isinstance(message.id, str) else message.id[0]
            text = message.string if isinstance(message.string, str) else message.string[0]
            texts[key] = text
    return texts


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.fixture(scope="module")
def catalogs() -> dict[str, dict[str, str]]:
    return {locale: catalog_texts(locale) for locale in SUPPORTED_LANGUAGES}


def test_the_scan_finds_keys() -> None:
    keys = used_keys()
    # The scan itself must work, or the checks below pass vacuously.
    assert "start.greeting" in keys
    assert "help.text" in keys
    assert "cancel.nothing" in keys  # a conditional key


@pytest.mark.parametrize("locale", SUPPORTED_LANGUAGES)
def test_every_used_key_has_a_text(locale: str, catalogs: dict[str, dict[str, str]]) -> None:
    missing = {
        key: where
        for key, where in used_keys().items()
        if not catalogs[locale].get(key, "").strip()
    }
    assert not missing, f"keys missing or empty in the {locale} catalogs: {missing}"


def test_dynamic_key_families(catalogs: dict[str, dict[str, str]]) -> None:
    """Keys the code builds at run time (f-strings, tables) exist in both languages."""
    from bot.handlers.errors import ERROR_TEXTS
    from bot.keyboards.common import BOT_COMMANDS, MenuAction
    from bot.keyboards.notify import AgendaMark, ScheduleView
    from bot.keyboards.times import DayPart

    keys = [
        *(f"commands.{name}" for name in BOT_COMMANDS),
        *(f"language.btn.{lang}" for lang in SUPPORTED_LANGUAGES),
        *(f"menu.btn.{action.value}" for action in MenuAction),
        *ERROR_TEXTS,
        *(f"notify.schedule.{view.value}" for view in ScheduleView),
        *(f"notify.mark.{mark.value}" for mark in AgendaMark if mark is not AgendaMark.undo),
        *(f"notify.home.count.{form}" for form in ("one", "few", "many", "other")),
        *(f"booking.part.{part.name.lower()}" for part in DayPart),
    ]
    for locale in SUPPORTED_LANGUAGES:
        missing = [k for k in keys if not catalogs[locale].get(k, "").strip()]
        assert not missing, f"{locale}: {missing}"


def test_catalogs_have_the_same_keys(catalogs: dict[str, dict[str, str]]) -> None:
    ru, en = set(catalogs["ru"]), set(catalogs["en"])
    assert ru - en == set(), "only in ru"
    assert en - ru == set(), "only in en"


def test_no_empty_texts(catalogs: dict[str, dict[str, str]]) -> None:
    for locale, texts in catalogs.items():
        empty = [k for k, v in texts.items() if not v.strip()]
        assert not empty, f"empty texts in {locale}: {empty}"


def test_placeholders_match(catalogs: dict[str, dict[str, str]]) -> None:
    mismatched = {
        key: (placeholders(catalogs["ru"][key]), placeholders(catalogs["en"].get(key, "")))
        for key in catalogs["ru"]
        if placeholders(catalogs["ru"][key]) != placeholders(catalogs["en"].get(key, ""))
    }
    assert not mismatched


def test_translate_formats_and_falls_back() -> None:
    assert translate("start.greeting", "en", name="Ann").startswith("Hello, Ann!")
    assert translate("start.greeting", "ru", name="Аня").startswith("Здравствуйте, Аня!")
    # An unsupported locale gets the default language.
    assert translate("menu.title", "de") == translate("menu.title", "ru")
    # A missing key is visible, not an exception.
    assert translate("no.such.key", "en") == "no.such.key"
    assert Translator("en")("menu.title") == "Main menu"


@pytest.mark.parametrize(
    ("code", "expected"),
    [("ru", "ru"), ("en-US", "en"), ("EN", "en"), ("ru_RU", "ru"), ("de", None), (None, None)],
)
def test_normalize_language(code: str | None, expected: str | None) -> None:
    assert normalize_language(code) == expected


def _po(entries: dict[str, str]) -> str:
    body = "".join(f'msgid "{k}"\nmsgstr "{v}"\n\n' for k, v in entries.items())
    return 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n' + body


def test_every_po_file_is_merged(tmp_path: Path) -> None:
    folder = tmp_path / "en" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_text(_po({"a.one": "One"}), encoding="utf-8")
    (folder / "booking.po").write_text(_po({"b.two": "Two {n}"}), encoding="utf-8")
    translations = i18n.compile_catalog(load_catalog("en", tmp_path))
    assert translations.gettext("a.one") == "One"
    assert translations.gettext("b.two") == "Two {n}"


def test_conflicting_definitions_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ru" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "a.po").write_text(_po({"x.key": "Раз"}), encoding="utf-8")
    (folder / "b.po").write_text(_po({"x.key": "Два"}), encoding="utf-8")
    with pytest.raises(CatalogError, match="x.key"):
        load_catalog("ru", tmp_path)
