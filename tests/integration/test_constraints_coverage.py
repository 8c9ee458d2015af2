"""Every guard the migrations create is shown refusing a bad row.

The list comes from the migrated database itself (`pg_constraint` and the unique indexes in
`pg_index`), so a guard added by a later migration fails this test until a constraint test
names it. A guard counts as shown when its name appears in a constraint test module, where
`refused(...)` checks the SQLSTATE and the constraint name of the refused write.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

HERE = Path(__file__).parent
GUARDS = """
SELECT con.conname AS name
  FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
 WHERE n.nspname = 'public' AND con.contype IN ('c', 'u', 'x')
UNION
SELECT i.relname
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_namespace n ON n.oid = i.relnamespace
 WHERE n.nspname = 'public' AND x.indisunique AND NOT x.indisprimary
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
"""


def names_in_constraint_tests() -> set[str]:
    found: set[str] = set()
    for path in HERE.glob("test_constraints*.py"):
        if path.name == Path(__file__).name:
            continue
        found |= set(re.findall(r"\"((?:ck|uq|ex)_[a-z0-9_]+)\"", path.read_text()))
    return found


async def test_every_check_unique_and_exclusion_guard_has_a_test(session: AsyncSession) -> None:
    guards = set((await session.scalars(text(GUARDS))).all())
    assert len(guards) > 20, guards  # the query itself works
    missing = sorted(guards - names_in_constraint_tests())
    assert not missing, f"show these refusing a bad row in test_constraints*.py: {missing}"
