"""The import contracts in pyproject.toml (`lint-imports`, run by .ci/run) hold on the tree, and
they really fail the build on a wrong import: each case below copies the code to a temporary
directory, adds one forbidden import and expects `lint-imports` to exit non-zero naming the
contract it breaks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    # The copy's packages come first on the path, ahead of the installed (editable) ones.
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "locales")
    for package in ("bot", "db"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_copy_alone_is_clean(tree_copy: Path) -> None:
    """The baseline for the cases below: the copy passes before anything is added."""
    result = lint_imports(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "bad_import", "broken"),
    [
        (
            "bot/services/wallet.py",
            "import bot.notify.render  # noqa",
            "One direction of imports",
        ),
        ("db/repositories/wallets.py", "import bot.services.wallet  # noqa", "One direction"),
        ("bot/domain/pricing.py", "import sqlalchemy  # noqa", "The domain is pure"),
        ("bot/domain/pricing.py", "import bot.config  # noqa", "The domain is pure"),
        ("bot/handlers/errors.py", "import db.models  # noqa", "reach the database only"),
        ("bot/handlers/common.py", "import bot.services.holds  # noqa", "holds, refund rules"),
        ("bot/keyboards/booking.py", "import bot.domain.policies  # noqa", "holds, refund rules"),
        ("bot/services/holds.py", "import bot.services.wallet  # noqa", "No import cycles"),
    ],
    ids=[
        "service-imports-notify",
        "db-imports-services",
        "domain-sql",
        "domain-config",
        "handler-imports-db",
        "handler-imports-holds",
        "keyboard-imports-policies",
        "cycle",
    ],
)
def test_a_wrong_import_breaks_the_build(
    tree_copy: Path, module: str, bad_import: str, broken: str
) -> None:
    if broken == "No import cycles":
        # Close a loop: wallet -> holds, while holds -> wallet is added below.
        append(tree_copy / "bot/services/wallet.py", "import bot.services.holds  # noqa")
    append(tree_copy / module, bad_import)
    result = lint_imports(tree_copy)
    assert result.returncode != 0, result.stdout
    broken_section = result.stdout.split("Broken contracts", 1)[-1]
    assert broken in broken_section, result.stdout
