"""Layering: `bot/domain` is pure booking rules. It imports no framework, no driver and no outer
layer, and it never reads the clock itself (the clock is passed in), so it can be tested without
I/O and reused by every service.

The handler side (`bot/handlers`, `bot/keyboards`, `bot/middlewares`) reaches the data only
through services: no SQL, no `db`, no holds and no policies (holds, the free-cancel rule, prices
and discounts are decided in services); handlers declare their dependencies as typed parameters,
never `**data`."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT / "bot" / "domain"

FORBIDDEN_IMPORTS = (
    "aiogram",
    "sqlalchemy",
    "redis",
    "asyncpg",
    "alembic",
    "aiohttp",
    "psycopg",
    "db",
    "bot.services",
    "bot.handlers",
    "bot.notify",
    "bot.keyboards",
    "bot.middlewares",
    "bot.app",
)

# Reading the clock inside the domain makes rules untestable across DST and deadlines.
FORBIDDEN_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
}


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str | None, level: int, current: str, is_package: bool) -> str:
    """Absolute name of `from <level dots><module> import ...` inside `current`."""
    if level == 0:
        return module or ""
    package = current.split(".") if is_package else current.split(".")[:-1]
    base = package[: len(package) - (level - 1)] if level > 1 else package
    return ".".join([*base, module] if module else base)


def _is_forbidden(name: str, forbidden: tuple[str, ...] = FORBIDDEN_IMPORTS) -> bool:
    return any(name == bad or name.startswith(bad + ".") for bad in forbidden)


def _callee_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def imported_modules(tree: ast.AST, current: str, is_package: bool) -> list[tuple[int, str]]:
    """Every module a source imports, wherever the import sits (functions, TYPE_CHECKING)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module, node.level, current, is_package)
            found.append((node.lineno, base))
            # `from bot import services` imports bot.services too.
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and _callee_name(node.func) in {"__import__", "import_module"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def clock_reads(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name | ast.Attribute)
        ):
            owner = node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else owner.attr
            if (owner_name, node.func.attr) in FORBIDDEN_CALLS:
                found.append((node.lineno, f"{owner_name}.{node.func.attr}()"))
    return found


def check_source(source: str, path: Path) -> list[Violation]:
    tree = ast.parse(source, filename=str(path))
    rel = str(path.relative_to(ROOT))
    current = _module_name(path)
    is_package = path.name == "__init__.py"
    violations = [
        Violation(rel, line, f"imports {name}")
        for line, name in imported_modules(tree, current, is_package)
        if _is_forbidden(name)
    ]
    violations += [
        Violation(rel, line, f"reads the clock: {call}") for line, call in clock_reads(tree)
    ]
    return violations


def domain_modules() -> list[Path]:
    return sorted(DOMAIN.rglob("*.py"))


def test_domain_package_exists() -> None:
    # Guards against the check passing vacuously after a move or rename.
    assert (DOMAIN / "__init__.py").is_file()
    assert len(domain_modules()) >= 2


def test_domain_is_pure() -> None:
    violations = [
        v for path in domain_modules() for v in check_source(path.read_text("utf-8"), path)
    ]
    assert not violations, "bot/domain must stay pure:\n" + "\n".join(map(str, violations))


FAKE = DOMAIN / "slots_example.py"


@pytest.mark.parametrize(
    "source",
    [
        "import sqlalchemy",
        "import redis.asyncio as r",
        "from aiogram.types import Message",
        "from db.models import Appointment",
        "import db",
        "from bot.services.booking import BookingService",
        "from bot import handlers",
        "from ..services import booking",
        "from .. import services",
        "def f():\n    import asyncpg\n",
        "if TYPE_CHECKING:\n    from sqlalchemy.orm import Session\n",
        "import importlib\nimportlib.import_module('redis')",
        "__import__('aiogram')",
        "from datetime import datetime\nx = datetime.now()",
        "import datetime\nx = datetime.datetime.now()",
        "from datetime import date\nx = date.today()",
        "import time\nx = time.time()",
    ],
)
def test_checker_catches_violations(source: str) -> None:
    assert check_source(source, FAKE), source


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import datetime, timedelta",
        "from zoneinfo import ZoneInfo",
        "from bot.domain.errors import SlotTaken",
        "from .errors import SlotTaken",
        "from . import types",
        "import dbm",  # only the `db` package itself is off limits
        "def f(now):\n    return now.date()",
        "from datetime import datetime\nx = datetime.combine(d, t)",
    ],
)
def test_checker_allows_pure_code(source: str) -> None:
    assert not check_source(source, FAKE), source


# --- the handler side -------------------------------------------------------------------------

HANDLER_SIDE = [ROOT / "bot" / "handlers", ROOT / "bot" / "keyboards", ROOT / "bot" / "middlewares"]
HANDLER_FORBIDDEN_IMPORTS = (
    "db",
    "sqlalchemy",
    "asyncpg",
    "bot.services.holds",
    "bot.domain.policies",
)


def handler_side_modules() -> list[Path]:
    return sorted(p for package in HANDLER_SIDE for p in package.rglob("*.py"))


def handler_violations(source: str, path: Path) -> list[Violation]:
    """Forbidden imports, and dependencies looked up by name: a `**kwargs` parameter on a
    function or a `data[...]` subscript."""
    tree = ast.parse(source, filename=str(path))
    rel = str(path.relative_to(ROOT))
    current = _module_name(path)
    found = [
        Violation(rel, line, f"imports {name}")
        for line, name in imported_modules(tree, current, path.name == "__init__.py")
        if _is_forbidden(name, HANDLER_FORBIDDEN_IMPORTS)
    ]
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.args.kwarg:
            found.append(Violation(rel, node.lineno, f"{node.name}(**{node.args.kwarg.arg})"))
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == "data"
        ):
            found.append(Violation(rel, node.lineno, "looks a dependency up in data[...]"))
    return found


def test_handler_side_exists() -> None:
    assert len(handler_side_modules()) >= 10


def test_handlers_reach_data_only_through_typed_services() -> None:
    middlewares = ROOT / "bot" / "middlewares"
    violations = [
        v
        for path in handler_side_modules()
        for v in handler_violations(path.read_text("utf-8"), path)
        # Middlewares are aiogram's `(handler, event, data)` callables: data is theirs to fill.
        if not (path.is_relative_to(middlewares) and "data[" in v.what)
    ]
    assert not violations, "handler side:\n" + "\n".join(map(str, violations))


HANDLER_FAKE = ROOT / "bot" / "handlers" / "example.py"


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy import select",
        "from db.repositories import appointments",
        "async def on_x(message, **data):\n    pass",
        "def f(data):\n    return data['booking']",
        "from bot.services.holds import HoldStore",
        "from bot.domain.policies import apply_discount",
        "from bot.domain import policies",
    ],
)
def test_handler_checker_catches_violations(source: str) -> None:
    assert handler_violations(source, HANDLER_FAKE), source


def test_handler_checker_allows_typed_handlers() -> None:
    source = (
        "from dishka import FromDishka\n"
        "from bot.services.booking import BookingService\n"
        "async def on_x(query, callback_data, booking: FromDishka[BookingService]):\n"
        "    return callback_data.appointment_id\n"
    )
    assert not handler_violations(source, HANDLER_FAKE)
