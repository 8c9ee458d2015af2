"""Every setting is in the README's configuration table, with the default the code uses."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `(?P<name>[A-Z0-9_]+)` \| (?P<default>[^|]+) \|", re.MULTILINE)


def readme_rows() -> dict[str, str]:
    return {m["name"]: m["default"].strip() for m in ROW.finditer((ROOT / "README.md").read_text())}


def test_every_setting_has_a_row_in_the_readme_table() -> None:
    rows = readme_rows()
    names = {name.upper() for name in Settings.model_fields}
    assert not names - set(rows), f"add to the README table: {sorted(names - set(rows))}"
    assert not set(rows) - names, f"not a setting: {sorted(set(rows) - names)}"


def test_the_worker_knobs_show_their_real_defaults() -> None:
    rows = readme_rows()
    fields = Settings.model_fields
    for name in ("outbox_lease_seconds", "outbox_batch_size", "outbox_max_attempts"):
        assert rows[name.upper()] == f"`{fields[name].default}`", name
