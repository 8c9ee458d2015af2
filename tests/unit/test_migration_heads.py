"""The start-up's migration heads come from the revision files without Alembic: the same heads
Alembic finds (the project's migrations, a branch, a merge), and no Alembic in the bot's
process (nor icalendar, imported only when a calendar file is asked for)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from bot.ops.startup import ROOT, heads_of, migration_heads, versions_folder


def revision_file(folder: Path, rev: str, down: str | tuple[str, ...] | None) -> None:
    (folder / f"{rev}_x.py").write_text(
        textwrap.dedent(
            f'''
            """{rev}"""
            from alembic import op

            revision: str = {rev!r}
            down_revision = {down!r}
            branch_labels = None
            depends_on = None
            helper = sorted(["not a literal"])


            def upgrade() -> None:
                pass


            def downgrade() -> None:
                pass
            '''
        )
    )


def alembic_heads(ini: Path) -> set[str]:
    return set(ScriptDirectory.from_config(Config(str(ini))).get_heads())


def test_the_projects_heads_are_alembics() -> None:
    assert versions_folder(ROOT / "alembic.ini") == ROOT / "migrations" / "versions"
    assert migration_heads() == alembic_heads(ROOT / "alembic.ini")
    assert len(migration_heads()) == 1


def test_a_branch_has_two_heads_and_a_merge_one(tmp_path: Path) -> None:
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "migrations" / "script.py.mako").write_text("")
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    versions = versions_folder(tmp_path / "alembic.ini")
    assert versions == tmp_path / "migrations" / "versions"
    revision_file(versions, "a1", None)
    revision_file(versions, "b1", "a1")
    revision_file(versions, "b2", "a1")
    assert heads_of(versions) == {"b1", "b2"} == alembic_heads(tmp_path / "alembic.ini")
    revision_file(versions, "c1", ("b1", "b2"))
    assert heads_of(versions) == {"c1"} == alembic_heads(tmp_path / "alembic.ini")
    # A file with no revision (Alembic refuses it) names no head.
    (versions / "notes.py").write_text("x = 1\n")
    assert heads_of(versions) == {"c1"}


def test_the_bot_process_does_not_import_alembic_or_icalendar() -> None:
    heavy = "{'alembic', 'mako', 'icalendar'}"
    code = (
        "import sys, bot.__main__, bot.app, bot.ops.http, bot.ops.startup; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout
