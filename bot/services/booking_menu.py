"""What the booking conversation offers before the slot engine takes over: which locations,
services and specialists can be chosen, and the client's discount and balance for the summary.
A menu made `in_language` names them in the client's language where a translated name exists.

Read-only, and commits nothing. The catalog parts (the bookable combinations, the locations,
the specialists' names, in every language) come from the in-process catalog snapshot
(`CatalogCache`): read once per catalog version, not on every step. A choice offered here is
only a menu; the slot engine and the booking service re-check everything authoritatively.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.names import localized_name
from bot.services.catalog_cache import CatalogCache, CatalogSnapshot
from bot.services.transaction import read_session
from db.repositories import booking_menu as repo

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LocationItem:
    id: int
    name: str
    address: str | None
    timezone: str


@dataclass(frozen=True, slots=True)
class ServiceItem:
    """A service bookable at a location; price and duration vary by specialist and workplace."""

    id: int
    name: str
    min_price: Decimal
    max_price: Decimal
    min_duration: int
    max_duration: int


@dataclass(frozen=True, slots=True)
class SpecialistItem:
    id: int
    name: str
    min_price: Decimal
    max_price: Decimal


@dataclass(frozen=True, slots=True)
class ClientMoney:
    discount_percent: Decimal
    balance: Decimal


@dataclass(frozen=True, slots=True)
class ClientStart:
    """What the start of /book needs to know of the client: `blocked` by an admin (no new
    bookings, docs/rules.md#admin-rights), `first_booking` (no appointment yet, in any status:
    told up front that bookings are prepaid, docs/rules.md#top-up-and-payments)."""

    blocked: bool
    first_booking: bool


@dataclass(frozen=True, slots=True)
class _Combo:
    location_id: int
    service_id: int
    service_name: str
    specialist_id: int
    specialist_name: str
    price: Decimal
    duration: int


@dataclass(frozen=True, slots=True)
class _RawCombo:
    """A bookable combination as read, names in every language (the snapshot keeps these)."""

    location_id: int
    service_id: int
    service_name: str
    service_names: dict[str, str]
    specialist_id: int
    specialist_name: str
    specialist_names: dict[str, str]
    price: Decimal
    duration: int


@dataclass(frozen=True, slots=True)
class _RawLocation:
    id: int
    name: str
    names: dict[str, str]
    address: str | None
    timezone: str


class BookingMenuService:
    """The choices of the /book conversation (see the module docstring). Without a
    `catalog` cache every call reads the database afresh."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        language: str | None = None,
        catalog: CatalogCache | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._language = language
        self._catalog = catalog

    def in_language(self, language: str) -> BookingMenuService:
        """The same menu naming locations, services and specialists in `language` where a
        translated name exists (the base name otherwise)."""
        return BookingMenuService(self._session_factory, language, self._catalog)

    def _name(self, name: str, names: dict[str, str] | None) -> str:
        return localized_name(name, names, self._language)

    async def _snapshot(self) -> CatalogSnapshot:
        if self._catalog is None:
            return CatalogSnapshot(self._session_factory, None, 0.0)
        return await self._catalog.snapshot()

    async def _view(self, key: Hashable, build: Callable[[list[_Combo]], T]) -> T:
        """`build(every named combination)`, computed once per catalog snapshot and language
        (`key` tells the views apart): the menu's lists are drawn on every step of every
        booking, and the catalog changes only with a new snapshot."""
        snapshot = await self._snapshot()
        raw = await snapshot.get("menu.combos", _load_combos)

        def named() -> list[_Combo]:
            return [
                _Combo(
                    c.location_id,
                    c.service_id,
                    self._name(c.service_name, c.service_names),
                    c.specialist_id,
                    self._name(c.specialist_name, c.specialist_names),
                    c.price,
                    c.duration,
                )
                for c in raw
            ]

        combos = snapshot.memo(("menu.combos", self._language), named)
        return snapshot.memo((key, self._language), lambda: build(combos))

    async def _locations(self) -> dict[int, LocationItem]:
        """Active locations with something bookable, by name (id -> item), once per snapshot."""
        raw = await (await self._snapshot()).get("menu.locations", _load_locations)

        def build(combos: list[_Combo]) -> dict[int, LocationItem]:
            ids = {c.location_id for c in combos}
            items = [
                LocationItem(r.id, self._name(r.name, r.names), r.address, r.timezone)
                for r in raw
                if r.id in ids
            ]
            return {i.id: i for i in sorted(items, key=lambda i: (i.name, i.id))}

        return await self._view("menu.locations", build)

    async def locations(self) -> list[LocationItem]:
        """Active locations where at least one service can be booked, by name."""
        return list((await self._locations()).values())

    async def location(self, location_id: int) -> LocationItem | None:
        """The location if it is active and has something bookable, else None."""
        return (await self._locations()).get(location_id)

    async def services(self, location_id: int) -> list[ServiceItem]:
        """Services bookable at the location, by name, with their price and duration ranges."""

        def build(combos: list[_Combo]) -> list[ServiceItem]:
            grouped: dict[int, list[_Combo]] = defaultdict(list)
            for combo in combos:
                if combo.location_id == location_id:
                    grouped[combo.service_id].append(combo)
            items = [
                ServiceItem(
                    id=sid,
                    name=group[0].service_name,
                    min_price=min(c.price for c in group),
                    max_price=max(c.price for c in group),
                    min_duration=min(c.duration for c in group),
                    max_duration=max(c.duration for c in group),
                )
                for sid, group in grouped.items()
            ]
            return sorted(items, key=lambda i: (i.name, i.id))

        return list(await self._view(("menu.services", location_id), build))

    async def specialists(self, location_id: int, service_id: int) -> list[SpecialistItem]:
        """Specialists qualified for the service who work at the location, by name."""

        def build(combos: list[_Combo]) -> list[SpecialistItem]:
            grouped: dict[int, list[_Combo]] = defaultdict(list)
            for combo in combos:
                if combo.location_id == location_id and combo.service_id == service_id:
                    grouped[combo.specialist_id].append(combo)
            items = [
                SpecialistItem(
                    id=pid,
                    name=group[0].specialist_name,
                    min_price=min(c.price for c in group),
                    max_price=max(c.price for c in group),
                )
                for pid, group in grouped.items()
            ]
            return sorted(items, key=lambda i: (i.name, i.id))

        return list(await self._view(("menu.specialists", location_id, service_id), build))

    async def specialist_name(
        self, specialist_id: int, session: AsyncSession | None = None
    ) -> str | None:
        """The specialist's name in the menu's language (the base name without one); a cold
        catalog is read in `session` when given."""
        names = await (await self._snapshot()).get(
            "menu.specialist_names", repo.specialist_names, session
        )
        found = names.get(specialist_id)
        return None if found is None else self._name(*found)

    async def client_money(
        self, client_id: int, session: AsyncSession | None = None
    ) -> ClientMoney:
        """The client's discount percent and wallet balance (0 if no wallet row yet), read in
        `session` when given."""
        own = read_session(self._session_factory) if session is None else nullcontext(session)
        async with own as s:
            row = await repo.client_money(s, client_id)
        if row is None:
            return ClientMoney(Decimal(0), Decimal(0))
        return ClientMoney(Decimal(row[0] or 0), Decimal(row[1] or 0))

    async def client_start(self, client_id: int) -> ClientStart:
        """Blocked or not, and whether this is the client's first booking, in one query; an
        unknown client is neither (the confirm refuses it)."""
        async with read_session(self._session_factory) as session:
            row = await repo.client_start(session, client_id)
        if row is None:
            return ClientStart(blocked=False, first_booking=False)
        return ClientStart(blocked=row[0], first_booking=not row[1])


async def _load_combos(session: AsyncSession) -> list[_RawCombo]:
    """Every bookable combination at every location (docs/rules.md#duration-price-and-break)."""
    combos = []
    for row in await repo.bookable_combos(session, None):
        (loc, sid, sname, pid, pname, snames, pnames) = row[:7]
        (s_price, w_price, c_price, s_dur, w_dur, c_dur) = row[7:]
        price = c_price if c_price is not None else w_price if w_price is not None else s_price
        duration = c_dur if c_dur is not None else w_dur if w_dur is not None else s_dur
        combos.append(
            _RawCombo(
                loc,
                sid,
                sname,
                dict(snames or {}),
                pid,
                pname,
                dict(pnames or {}),
                Decimal(price),
                int(duration),
            )
        )
    return combos


async def _load_locations(session: AsyncSession) -> list[_RawLocation]:
    """Every location (the menu keeps those with something bookable)."""
    rows = await repo.locations_by_name(session, None)
    return [
        _RawLocation(r.id, r.name, dict(r.name_i18n or {}), r.address, r.timezone) for r in rows
    ]
