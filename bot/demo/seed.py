"""Make a database ready for the demo: migrate it, load the example catalog (with the demo
specialist's Telegram id), and register the demo personas, funding each client's wallet once
with a real top-up (a ledger row), so `balance == sum(ledger)` holds as everywhere else.

Idempotent: a restart on the same data changes nothing (the catalog import matches by name, and
a wallet that already has a ledger row is not funded again).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from alembic import command
from alembic.config import Config
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import bot
from bot.catalog.checks import CatalogError, parse_catalog
from bot.catalog.importer import import_catalog
from bot.catalog.yamlio import load_yaml
from bot.config import Settings
from bot.demo.services import DemoError
from bot.services.availability import invalidate_catalog
from bot.services.clients import ClientService, TelegramUser
from bot.services.wallet import WalletService

ROOT = Path(bot.__file__).resolve().parent.parent
CATALOG_FILE = ROOT / "examples" / "catalog.yaml"
# The example catalog's specialist the demo's specialist persona is.
DEMO_SPECIALIST = "Анна Смирнова"
OPENING_BALANCE = Decimal("10000")


@dataclass(frozen=True)
class Persona:
    """A simulated Telegram user of the demo; `role` is what the demo made of them."""

    tg_id: int
    first_name: str
    language_code: str
    role: str  # "client" | "specialist" | "admin"
    title: str  # what the persona list shows under the name


PERSONAS = (
    Persona(7001, "Ирина", "ru", "client", "клиент, RU"),
    Persona(7002, "Emma", "en", "client", "client, EN"),
    Persona(7003, DEMO_SPECIALIST, "ru", "specialist", "мастер / specialist"),
    Persona(7004, "Owner", "en", "admin", "admin (ADMIN_IDS)"),
)


def admin_ids() -> list[int]:
    return [p.tg_id for p in PERSONAS if p.role == "admin"]


def migrate(database_url: str) -> None:
    """`alembic upgrade head` on `database_url` (blocking: Alembic runs its own event loop, so
    call it from a worker thread)."""
    ini = ROOT / "alembic.ini"
    if not ini.exists():
        raise DemoError(f"migrations not found in {ROOT}: run the demo from a clone of the project")
    cfg = Config(str(ini))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    command.upgrade(cfg, "head")


async def load_catalog(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], redis: Redis
) -> str:
    """Import `examples/catalog.yaml` with the demo specialist's tg_id set; returns a summary."""
    try:
        data = load_yaml(CATALOG_FILE.read_text(encoding="utf-8"))
        catalog = parse_catalog(data)
    except (OSError, CatalogError) as exc:
        raise DemoError(f"cannot load {CATALOG_FILE}: {exc}") from None
    specialist_id = next(p.tg_id for p in PERSONAS if p.role == "specialist")
    specialists = [
        entry.model_copy(update={"tg_id": specialist_id})
        if entry.name == DEMO_SPECIALIST
        else entry
        for entry in catalog.specialists
    ]
    catalog = catalog.model_copy(update={"specialists": specialists})
    summary = await import_catalog(
        session_factory, catalog, default_timezone=settings.default_timezone
    )
    if summary.changes:
        await invalidate_catalog(redis, settings.redis_prefix)
    return (
        f"{len(catalog.locations)} locations, {len(catalog.services)} services, "
        f"{len(catalog.specialists)} specialists"
    )


async def register_personas(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    """Register every persona; fund each client's wallet once (a top-up ledger row)."""
    clients = ClientService(session_factory, redis, settings)
    wallet = WalletService(session_factory)
    for persona in PERSONAS:
        profile = await clients.register(
            TelegramUser(
                tg_id=persona.tg_id,
                first_name=persona.first_name,
                language_code=persona.language_code,
            ),
            now=datetime.now(UTC),  # before the demo clock is first moved, it is the wall's
        )
        if persona.role != "client":
            continue
        view = await wallet.balance_and_ledger(profile.client_id, limit=1)
        if not view.entries:
            await wallet.top_up(
                profile.client_id, OPENING_BALANCE, comment="demo opening balance", admin_id=None
            )


async def prepare(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], redis: Redis
) -> str:
    """Migrate, load the catalog, register the personas; returns the catalog summary."""
    await asyncio.to_thread(migrate, settings.database_url)
    summary = await load_catalog(settings, session_factory, redis)
    await register_personas(settings, session_factory, redis)
    return summary
