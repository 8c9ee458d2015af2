"""Every setting is in the README's configuration table, with the default the code uses.

Each row's default is read back through `Settings` itself (so `24h,2h`, `09:00` and `true` are
parsed the way an environment variable would be) and compared with the field's default.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `(?P<name>[A-Z0-9_]+)` \| (?P<default>[^|]+) \|", re.MULTILINE)
VALUE = re.compile(r"^`(?P<value>[^`]*)`$")


def readme_rows() -> dict[str, str]:
    return {m["name"]: m["default"].strip() for m in ROW.finditer((ROOT / "README.md").read_text())}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.lower() in Settings.model_fields:
            monkeypatch.delenv(key)


def code_default(name: str) -> Any:
    field = Settings.model_fields[name]
    return field.get_default(call_default_factory=True)


def plain(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def test_every_setting_has_a_row_in_the_readme_table() -> None:
    rows = readme_rows()
    names = {name.upper() for name in Settings.model_fields}
    assert not names - set(rows), f"add to the README table: {sorted(names - set(rows))}"
    assert not set(rows) - names, f"not a setting: {sorted(set(rows) - names)}"


@pytest.mark.parametrize("env_name", sorted(readme_rows()))
def test_readme_default_is_the_code_default(env_name: str) -> None:
    shown = readme_rows()[env_name]
    name = env_name.lower()
    field = Settings.model_fields[name]
    if shown == "(required)":
        assert field.is_required(), f"{env_name} has a default in the code"
        return
    assert not field.is_required(), f"{env_name} is required in the code"
    if shown == "unset":
        assert code_default(name) is None
        return
    if shown == "empty":
        assert code_default(name) in ([], "")
        return
    match = VALUE.match(shown)
    assert match, f"{env_name}: write the default as `value`, `unset`, `empty` or `(required)`"
    parsed = load_settings(_env_file=None, bot_token="1:readme", **{name: match["value"]})
    assert plain(getattr(parsed, name)) == plain(code_default(name)), env_name


def test_the_check_notices_a_wrong_default() -> None:
    """The comparison above can fail: a README value unlike the code's does not parse equal."""
    parsed = load_settings(_env_file=None, bot_token="1:readme", reminder_offsets="24h,1h")
    assert parsed.reminder_offsets != code_default("reminder_offsets")
