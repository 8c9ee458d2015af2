"""The catalog file sent in the chat: the same checks as `python -m bot catalog import`, then
a preview of what it would change (including the booked appointments it touches), then apply.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.catalog.checks import CatalogError, Issue, parse_catalog
from bot.catalog.exporter import export_catalog
from bot.catalog.schema import CatalogFile
from bot.catalog.yamlio import dump_catalog, load_yaml
from bot.domain.errors import NotFound
from bot.services.catalog_changes import CatalogChange, ImportCatalog
from bot.services.catalog_impact import CatalogImpactService, Impact
from db.repositories import catalog_edit
from db.repositories.stats import active_names

# A catalog of a few hundred entries is tens of kilobytes; anything bigger is a mistake.
MAX_FILE_BYTES = 1_000_000


class CatalogFileService:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        impact: CatalogImpactService,
        default_timezone: str,
    ) -> None:
        self._sessions = session_factory
        self._impact = impact
        self._default_timezone = default_timezone

    async def locations(self, language: str | None = None) -> list[tuple[int, str]]:
        """Active locations as (id, name in `language` where translated), by that name."""
        async with self._sessions() as session:
            locations, _ = await active_names(session, language)
        return locations

    async def location_name(self, location_id: int, language: str | None = None) -> str:
        """The active location's name in `language` where translated; `NotFound` for a
        missing or inactive one."""
        async with self._sessions() as session:
            locations, _ = await active_names(session, language)
        name = dict(locations).get(location_id)
        if name is None:
            raise NotFound(f"location {location_id}")
        return name

    async def specialists(self, language: str | None = None) -> list[tuple[int, str, bool]]:
        """Every specialist, active or not, as (id, name in `language` where translated,
        is_active), by that name."""
        async with self._sessions() as session:
            return await catalog_edit.with_state(session, "specialist", language)

    async def preview_change(self, change: CatalogChange, *, now: datetime) -> Impact:
        return await self._impact.preview(change, now=now)

    async def apply_change(
        self,
        change: CatalogChange,
        *,
        admin_tg_id: int,
        cancel_touched: bool,
        expected: frozenset[int],
        now: datetime,
    ) -> Impact:
        return await self._impact.apply(
            change,
            admin_tg_id=admin_tg_id,
            cancel_touched=cancel_touched,
            expected=expected,
            now=now,
        )

    async def export(self) -> bytes:
        """The current catalog as the YAML file `python -m bot catalog export` writes (UTF-8);
        importing it back changes nothing."""
        async with self._sessions() as session:
            catalog = await export_catalog(session)
        return dump_catalog(catalog).encode("utf-8")

    @staticmethod
    def read(raw: bytes) -> CatalogFile:
        """Validate the file; raises `CatalogError` listing every problem (as the CLI does)."""
        if len(raw) > MAX_FILE_BYTES:
            raise CatalogError([Issue("file", "", f"larger than {MAX_FILE_BYTES} bytes")])
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CatalogError([Issue("file", "", "not UTF-8 text")]) from None
        return parse_catalog(load_yaml(text))

    async def preview(self, raw: bytes, *, now: datetime) -> Impact:
        """What importing the file would change; nothing is written."""
        return await self.preview_change(self.change_of(raw), now=now)

    async def apply(
        self,
        raw: bytes,
        *,
        admin_tg_id: int,
        cancel_touched: bool,
        expected: frozenset[int],
        now: datetime,
    ) -> Impact:
        """Import the file in one transaction with its audit row (see
        `CatalogImpactService.apply`; `ImpactChanged` when the touched set moved)."""
        return await self.apply_change(
            self.change_of(raw),
            admin_tg_id=admin_tg_id,
            cancel_touched=cancel_touched,
            expected=expected,
            now=now,
        )

    def change_of(self, raw: bytes) -> ImportCatalog:
        """The import of the file as a change (raises `CatalogError` as `read` does)."""
        return ImportCatalog(self.read(raw), self._default_timezone)
