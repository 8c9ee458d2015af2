"""What the booking conversation offers before the slot engine takes over: which locations,
services and specialists can be chosen, and the client's discount and balance for the summary.
A menu made `in_language` names them in the client's language where a translated name exists.

Read-only: every method opens its own short session and commits nothing. A choice offered here
is only a menu; the slot engine and the booking service re-check everything authoritatively.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.repositories import booking_menu as repo


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
class _Combo:
    location_id: int
    service_id: int
    service_name: str
    specialist_id: int
    specialist_name: str
    price: Decimal
    duration: int


class BookingMenuService:
    """The choices of the /book conversation (see the module docstring)."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], language: str | None = None
    ) -> None:
        self._session_factory = session_factory
        self._language = language

    def in_language(self, language: str) -> BookingMenuService:
        """The same menu naming locations, services and specialists in `language` where a
        translated name exists (the base name otherwise)."""
        return BookingMenuService(self._session_factory, language)

    def _name(self, name: str, names: dict[str, str] | None) -> str:
        if self._language is None or not names:
            return name
        return names.get(self._language) or name

    async def _combos(self, location_id: int | None) -> list[_Combo]:
        async with self._session_factory() as session:
            rows = await repo.bookable_combos(session, location_id)
        combos = []
        for row in rows:
            (loc, sid, sname, pid, pname, snames, pnames) = row[:7]
            (s_price, w_price, c_price, s_dur, w_dur, c_dur) = row[7:]
            price = c_price if c_price is not None else w_price if w_price is not None else s_price
            duration = c_dur if c_dur is not None else w_dur if w_dur is not None else s_dur
            sname, pname = self._name(sname, snames), self._name(pname, pnames)
            combos.append(_Combo(loc, sid, sname, pid, pname, Decimal(price), int(duration)))
        return combos

    async def locations(self) -> list[LocationItem]:
        """Active locations where at least one service can be booked, by name."""
        ids = {c.location_id for c in await self._combos(None)}
        if not ids:
            return []
        async with self._session_factory() as session:
            rows = await repo.locations_by_name(session, ids)
        items = [
            LocationItem(r.id, self._name(r.name, r.name_i18n), r.address, r.timezone) for r in rows
        ]
        return sorted(items, key=lambda i: (i.name, i.id))

    async def location(self, location_id: int) -> LocationItem | None:
        """The location if it is active and has something bookable, else None."""
        for item in await self.locations():
            if item.id == location_id:
                return item
        return None

    async def services(self, location_id: int) -> list[ServiceItem]:
        """Services bookable at the location, by name, with their price and duration ranges."""
        grouped: dict[int, list[_Combo]] = defaultdict(list)
        for combo in await self._combos(location_id):
            grouped[combo.service_id].append(combo)
        items = [
            ServiceItem(
                id=sid,
                name=combos[0].service_name,
                min_price=min(c.price for c in combos),
                max_price=max(c.price for c in combos),
                min_duration=min(c.duration for c in combos),
                max_duration=max(c.duration for c in combos),
            )
            for sid, combos in grouped.items()
        ]
        return sorted(items, key=lambda i: (i.name, i.id))

    async def specialists(self, location_id: int, service_id: int) -> list[SpecialistItem]:
        """Specialists qualified for the service who work at the location, by name."""
        grouped: dict[int, list[_Combo]] = defaultdict(list)
        for combo in await self._combos(location_id):
            if combo.service_id == service_id:
                grouped[combo.specialist_id].append(combo)
        items = [
            SpecialistItem(
                id=pid,
                name=combos[0].specialist_name,
                min_price=min(c.price for c in combos),
                max_price=max(c.price for c in combos),
            )
            for pid, combos in grouped.items()
        ]
        return sorted(items, key=lambda i: (i.name, i.id))

    async def specialist_name(self, specialist_id: int) -> str | None:
        """The specialist's name in the menu's language (the base name without one)."""
        async with self._session_factory() as session:
            found = await repo.specialist_name(session, specialist_id)
        return None if found is None else self._name(*found)

    async def client_money(self, client_id: int) -> ClientMoney:
        """The client's discount percent and wallet balance (0 if no wallet row yet)."""
        async with self._session_factory() as session:
            row = await repo.client_money(session, client_id)
        if row is None:
            return ClientMoney(Decimal(0), Decimal(0))
        return ClientMoney(Decimal(row[0] or 0), Decimal(row[1] or 0))
